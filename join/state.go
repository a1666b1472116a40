package join

import (
	"cmp"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"slices"
	"unsafe"

	"driftwatch/wire"
)

func newKey() [2]uint64 {
	var b [16]byte
	rand.Read(b[:])
	return [2]uint64{binary.LittleEndian.Uint64(b[:]), binary.LittleEndian.Uint64(b[8:])}
}

// hashID is a keyed 64-bit hash in the style of wyhash: 8 bytes at a time,
// each folded in by a 64×64→128-bit multiply. The key is random per join
// (ids from outside cannot be chosen to collide) and part of its state.
func hashID(key [2]uint64, id string) uint64 {
	const p0, p1 = 0xa0761d6478bd642f, 0xe7037ed1a0b428db
	b := unsafe.Slice(unsafe.StringData(id), len(id))
	h := key[0] ^ uint64(len(b))*p0
	for len(b) >= 8 {
		h = mix(h^binary.LittleEndian.Uint64(b), key[1]^p1)
		b = b[8:]
	}
	var tail uint64
	for i, c := range b {
		tail |= uint64(c) << (8 * i)
	}
	return mix(mix(h^tail, key[1]^p0), p1)
}

func mix(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

// AppendState appends the join's key, counters and entries (oldest first,
// with their arrival times) to dst; RestoreState on a join with the same
// bounds continues exactly where this one stood.
func (j *Join) AppendState(dst []byte) []byte {
	j.settle()
	dst = binary.LittleEndian.AppendUint64(dst, j.key[0])
	dst = binary.LittleEndian.AppendUint64(dst, j.key[1])
	for _, c := range []uint64{j.stats.EvictedPending, j.stats.EvictedEarly, j.stats.ExpiredPending,
		j.stats.ExpiredEarly, j.stats.Joined, j.stats.DuplicatePredictions} {
		dst = binary.AppendUvarint(dst, c)
	}
	dst = appendFIFO(dst, &j.pending, func(dst []byte, h *kept) []byte {
		p := j.prediction(h)
		dst = wire.AppendString(dst, p.Version)
		dst = binary.AppendVarint(dst, p.TS)
		dst = wire.AppendString(dst, p.Class)
		var flags byte
		if p.HasScore {
			flags = 1
		}
		dst = append(dst, flags)
		dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(p.Score))
		return binary.LittleEndian.AppendUint64(dst, math.Float64bits(p.Value))
	})
	return appendFIFO(dst, &j.early, func(dst []byte, o *Outcome) []byte {
		dst = wire.AppendString(dst, o.Label)
		return binary.LittleEndian.AppendUint64(dst, math.Float64bits(o.Value))
	})
}

// appendFIFO writes the live entries in arrival order, each with its
// sequence number (readFIFO also accepts them in any order: states written
// before the queue held the entries came in map order).
func appendFIFO[T any](dst []byte, f *fifo[T], enc func([]byte, *T) []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(f.len()))
	for k := f.head; k < f.tail; k++ {
		if e := f.at(k); e.live {
			dst = binary.LittleEndian.AppendUint64(dst, e.id)
			dst = binary.AppendUvarint(dst, f.base+uint64(k)+1)
			dst = binary.AppendVarint(dst, e.at)
			dst = enc(dst, &e.v)
		}
	}
	return dst
}

// RestoreState replaces the join's state with one AppendState wrote and
// returns the bytes after it.
func (j *Join) RestoreState(src []byte) ([]byte, error) {
	d := wire.Reader{B: src}
	key := [2]uint64{d.Uint64(), d.Uint64()}
	var st Stats
	for _, c := range []*uint64{&st.EvictedPending, &st.EvictedEarly, &st.ExpiredPending,
		&st.ExpiredEarly, &st.Joined, &st.DuplicatePredictions} {
		*c = d.Uvarint()
	}
	var pending fifo[kept]
	var early fifo[Outcome]
	var nm names
	in := interner{}
	readFIFO(&d, &pending, func(h *kept) {
		h.version, h.ts, h.class = nm.add(in.string(d.Bytes()), 0), d.Varint(), nm.add(in.string(d.Bytes()), 1)
		h.hasScore = d.Byte() == 1
		h.score, h.value = math.Float64frombits(d.Uint64()), math.Float64frombits(d.Uint64())
	})
	nm.limit = 2 * len(nm.list)
	readFIFO(&d, &early, func(o *Outcome) {
		o.Label, o.Value = in.string(d.Bytes()), math.Float64frombits(d.Uint64())
	})
	if d.Err != nil {
		return nil, fmt.Errorf("join: state: %w", d.Err)
	}
	j.key, j.stats, j.pending, j.names, j.early = key, st, pending, nm, early
	return d.B, nil
}

func readFIFO[T any](d *wire.Reader, f *fifo[T], dec func(*T)) {
	n := d.Count()
	ents, seqs := make([]entry[T], n), make([]uint64, n)
	for k := range ents {
		e := &ents[k]
		e.id, seqs[k], e.at, e.live = d.Uint64(), d.Uvarint(), d.Varint(), true
		dec(&e.v)
		if d.Err != nil {
			return
		}
	}
	if !slices.IsSorted(seqs) {
		perm := make([]int, n)
		for k := range perm {
			perm[k] = k
		}
		slices.SortFunc(perm, func(a, b int) int { return cmp.Compare(seqs[a], seqs[b]) })
		sorted := make([]entry[T], n)
		for k, p := range perm {
			sorted[k] = ents[p]
		}
		ents = sorted
	}
	for _, e := range ents {
		f.append(e)
	}
	f.n = n
	f.reindex()
	for k, e := range ents {
		if i, _ := f.find(e.id); f.index[i].seq != uint64(k)+1 {
			d.Err = fmt.Errorf("entry %x twice", e.id)
			return
		}
	}
}

// interner shares the strings a restore reads many times over (model,
// version, class), up to a bound: a regression model's classes are its
// predicted values.
type interner map[string]string

func (in interner) string(b []byte) string {
	if s, ok := in[string(b)]; ok {
		return s
	}
	s := string(b)
	if len(in) < 4096 {
		in[s] = s
	}
	return s
}
