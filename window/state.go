package window

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"driftwatch/wire"
)

// AppendState appends the ring's panes to dst in a compact form: the head,
// then per live pane its index and its counters, each a zero-run length
// and a value. Counts are whole numbers and take a varint; other values
// (sums of errors, scores) keep their exact bits. Restoring gives a ring
// whose every counter is bit-identical.
func (r *Ring) AppendState(dst []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(r.width))
	dst = binary.AppendUvarint(dst, uint64(r.n))
	if !r.started {
		return append(dst, 0)
	}
	dst = append(dst, 1)
	dst = binary.AppendVarint(dst, r.head)
	live := 0
	for _, idx := range r.index {
		if idx != noPane {
			live++
		}
	}
	dst = binary.AppendUvarint(dst, uint64(live))
	for s, idx := range r.index {
		if idx == noPane {
			continue
		}
		dst = binary.AppendVarint(dst, idx)
		dst = appendCounters(dst, r.counts[s*r.width:(s+1)*r.width])
	}
	return dst
}

// appendCounters writes (zeros before, value) pairs and a final zero run:
// a value v ≥ 0 that is a whole number below 2^52 is written as 2v, any
// other as 1 followed by its 8 bytes.
func appendCounters(dst []byte, c []float64) []byte {
	zeros := 0
	for _, v := range c {
		if v == 0 && !math.Signbit(v) {
			zeros++
			continue
		}
		dst = binary.AppendUvarint(dst, uint64(zeros))
		zeros = 0
		if v >= 0 && v < 1<<52 && v == math.Trunc(v) {
			dst = binary.AppendUvarint(dst, uint64(v)<<1)
		} else {
			dst = binary.AppendUvarint(dst, 1)
			dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(v))
		}
	}
	return binary.AppendUvarint(dst, uint64(zeros)|1<<62) // the end marker carries the trailing zeros
}

// RestoreState replaces the ring's panes with a state AppendState wrote
// for a ring of the same shape and returns the bytes after it.
func (r *Ring) RestoreState(src []byte) ([]byte, error) { return r.restore(src, r.width, nil) }

// RestoreStateFrom is RestoreState for a state written by a ring of the
// same panes with width counters each: convert moves each of its panes
// (old) into the ring's layout (dst, zeroed). A caller that changed its
// counter layout keeps the states written with the old one readable.
func (r *Ring) RestoreStateFrom(src []byte, width int, convert func(dst, old []float64)) ([]byte, error) {
	return r.restore(src, width, convert)
}

// StateWidth is the number of counters per pane of a state AppendState
// wrote (0 when src is too short to tell).
func StateWidth(src []byte) int {
	d := wire.Reader{B: src}
	return int(d.Uvarint())
}

func (r *Ring) restore(src []byte, want int, convert func(dst, old []float64)) ([]byte, error) {
	d := wire.Reader{B: src}
	width, n := d.Uvarint(), d.Uvarint()
	if d.Err == nil && (width != uint64(want) || n != uint64(r.n)) {
		return nil, fmt.Errorf("window: state of %d panes × %d counters, ring has %d × %d", n, width, r.n, want)
	}
	var old []float64
	if convert != nil {
		old = make([]float64, want)
	}
	started := d.Byte()
	clear(r.counts)
	for i := range r.index {
		r.index[i] = noPane
	}
	r.started, r.head = false, 0
	if d.Err != nil || started == 0 {
		return d.B, d.Err
	}
	r.head, r.started = d.Varint(), true
	live := d.Uvarint()
	if live > uint64(r.n) {
		return nil, fmt.Errorf("window: state has %d panes, ring %d", live, r.n)
	}
	for range live {
		idx := d.Varint()
		if d.Err != nil {
			break
		}
		if idx <= r.head-int64(r.n) || idx > r.head {
			return nil, fmt.Errorf("window: state pane %d outside the window of head %d", idx, r.head)
		}
		s := r.slot(idx)
		r.index[s] = idx
		c := r.counts[s*r.width : (s+1)*r.width]
		if convert != nil {
			clear(old)
			c = old
		}
		for i := 0; d.Err == nil; {
			z := d.Uvarint()
			if z&(1<<62) != 0 {
				if i+int(z&^(1<<62)) != len(c) {
					return nil, errors.New("window: state pane has the wrong number of counters")
				}
				break
			}
			if i += int(z); i >= len(c) || z > uint64(len(c)) {
				return nil, errors.New("window: state pane has too many counters")
			}
			if x := d.Uvarint(); x&1 == 0 {
				c[i] = float64(x >> 1)
			} else {
				c[i] = math.Float64frombits(d.Uint64())
			}
			i++
		}
		if convert != nil && d.Err == nil {
			convert(r.counts[s*r.width:(s+1)*r.width], old)
		}
	}
	return d.B, d.Err
}
