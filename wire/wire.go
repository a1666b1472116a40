// Package wire reads and writes the varint-framed binary fields that
// checkpoints are made of (window panes, join entries, the service's
// checkpoint records). It knows no record layouts; each package owns its
// own and uses Reader to decode it without panicking on truncated or
// hostile input.
package wire

import (
	"encoding/binary"
	"errors"
)

// ErrShort is the error for input that ends inside a field.
var ErrShort = errors.New("truncated")

// AppendString appends s with its length.
func AppendString(dst []byte, s string) []byte {
	return append(binary.AppendUvarint(dst, uint64(len(s))), s...)
}

// AppendBytes appends b with its length.
func AppendBytes(dst, b []byte) []byte {
	return append(binary.AppendUvarint(dst, uint64(len(b))), b...)
}

// AppendFramed appends what enc appends, framed as AppendBytes frames it,
// encoding straight into dst: a large state (a join of a million pending
// predictions) is not built in a buffer of its own, grown anew on fresh
// memory at every checkpoint, and then copied. The body moves once, by the
// few bytes its length did not need.
func AppendFramed(dst []byte, enc func([]byte) []byte) []byte {
	start := len(dst)
	dst = enc(append(dst, make([]byte, binary.MaxVarintLen64)...))
	n := len(dst) - start - binary.MaxVarintLen64
	h := len(binary.AppendUvarint(dst[start:start], uint64(n)))
	copy(dst[start+h:], dst[start+binary.MaxVarintLen64:])
	return dst[:start+h+n]
}

// Reader decodes fields in order, remembering the first error: after one,
// every read returns zero, so a decoder checks Err once at the end.
type Reader struct {
	B   []byte // what is left
	Err error
}

func (r *Reader) fail() { r.Err = ErrShort }

// Uvarint reads an unsigned varint.
func (r *Reader) Uvarint() uint64 { return readVarint(r, binary.Uvarint) }

// Varint reads a signed varint.
func (r *Reader) Varint() int64 { return readVarint(r, binary.Varint) }

func readVarint[T uint64 | int64](r *Reader, dec func([]byte) (T, int)) T {
	if r.Err != nil {
		return 0
	}
	x, n := dec(r.B)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.B = r.B[n:]
	return x
}

// Uint64 reads 8 little-endian bytes.
func (r *Reader) Uint64() uint64 {
	if r.Err != nil || len(r.B) < 8 {
		r.fail()
		return 0
	}
	x := binary.LittleEndian.Uint64(r.B)
	r.B = r.B[8:]
	return x
}

// Byte reads one byte.
func (r *Reader) Byte() byte {
	if r.Err != nil || len(r.B) < 1 {
		r.fail()
		return 0
	}
	c := r.B[0]
	r.B = r.B[1:]
	return c
}

// Bytes reads a length-prefixed byte string, without copying.
func (r *Reader) Bytes() []byte {
	n := r.Uvarint()
	if r.Err != nil || n > uint64(len(r.B)) {
		r.fail()
		return nil
	}
	b := r.B[:n:n]
	r.B = r.B[n:]
	return b
}

// String reads a length-prefixed string.
func (r *Reader) String() string { return string(r.Bytes()) }

// Count reads a count of entries that each take at least one byte, so a
// hostile count cannot make the caller allocate more than the input.
func (r *Reader) Count() int {
	n := r.Uvarint()
	if n > uint64(len(r.B)) {
		r.fail()
		return 0
	}
	return int(n)
}
