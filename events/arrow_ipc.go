package events

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync/atomic"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// This file frames an Arrow IPC stream held in a byte slice for arrow-go's
// ipc.Reader without copying it, and checks each message's flatbuffer
// metadata before arrow-go reads it.
//
// ipc.NewReader over a bytes.Reader copies every message body into memory
// from its allocator, and trusts the lengths it reads: its size limits
// (WithBodySizeLimit, WithMetadataSizeLimit) reach only NewMessageReader,
// so a corrupt metadata length allocates up to 2 GiB and a corrupt body
// length whatever it claims (measured: 1 GiB allocated for a 2 KiB message
// claiming a 1 GiB body) before the short read is noticed. Framing the
// slice here (ipc.NewReaderFromMessageReader) lets body buffers alias the
// message and bounds every length by the bytes actually present.
//
// arrow-go also trusts flatbuffer vector lengths (make([]arrow.Field, n)
// with n read from the input) and follows offsets with uint32 arithmetic
// that wraps, so a crafted message can ask for hundreds of gigabytes or
// point a field's children back at itself (unbounded recursion: a fatal
// stack overflow, not a panic). verifyMessage walks every table, vector and
// string arrow-go will follow and rejects what does not fit.

// memLimit bounds the memory arrow-go may take from the decoder's allocator
// for one message: only decompressed bodies (IPC body compression) and
// concatenated dictionary deltas are allocated, since uncompressed bodies
// alias the message. The limit is 256 times the message (LZ4's greatest
// ratio is 255), at least 4 MiB and at most 64 MiB, so a corrupt size
// prefix cannot make arrow-go allocate what it claims.
func memLimit(msgLen int) int { return min(64<<20, max(4<<20, 256*msgLen)) }

// unalignedOK reports whether the CPU loads misaligned float64 and int64
// values without faulting or trapping. Elsewhere a body whose address is not
// 8-byte aligned is copied into aligned scratch before Arrow arrays view it.
// (checkptr, enabled by -race, accepts misaligned pointers to pointer-free
// types.)
const unalignedOK = runtime.GOARCH == "amd64" || runtime.GOARCH == "arm64"

// limitAllocator is a memory.Allocator that panics (arrow-go recovers
// panics while reading into errors) rather than exceed its limit.
type limitAllocator struct {
	mem   memory.Allocator
	live  int
	limit int
}

// errAllocLimit is what limitAllocator panics with; arrow-go turns it into
// an error.
type errAllocLimit struct{ n, live, limit int }

func (e errAllocLimit) Error() string {
	return fmt.Sprintf("allocating %d bytes beyond the %d in use exceeds the limit of %d", e.n, e.live, e.limit)
}

func (a *limitAllocator) Allocate(n int) []byte {
	if n < 0 || n > a.limit-a.live {
		panic(errAllocLimit{n, a.live, a.limit})
	}
	a.live += n
	return a.mem.Allocate(n)
}

func (a *limitAllocator) Reallocate(n int, b []byte) []byte {
	if n < 0 || n-len(b) > a.limit-a.live {
		panic(errAllocLimit{n, a.live, a.limit})
	}
	a.live += n - len(b)
	return a.mem.Reallocate(n, b)
}

func (a *limitAllocator) Free(b []byte) {
	a.live -= len(b)
	a.mem.Free(b)
}

// IPC framing.
const (
	ipcContinuation = 0xFFFFFFFF
	maxMetadataLen  = 1 << 30
)

// Message header types (the MessageHeader union in Message.fbs).
const (
	fbSchema          = 1
	fbDictionaryBatch = 2
	fbRecordBatch     = 3
)

// sliceReader is an ipc.MessageReader over one IPC stream in memory. Message
// bodies alias buf (or, when misaligned on CPUs that need alignment, the
// decoder's aligned scratch). It requires the end-of-stream marker, so a
// stream truncated at a message boundary is an error rather than fewer rows.
type sliceReader struct {
	buf   []byte
	pos   int // next message
	start int // offset of the current message, for errors
	eos   bool
	msg   *ipc.Message
	refs  atomic.Int64
	align *alignScratch // nil: misaligned bodies are used in place
	// compressed is set when a message of the stream uses body compression.
	compressed bool
}

func (r *sliceReader) reset(buf []byte, align *alignScratch) {
	r.release()
	r.buf, r.pos, r.start, r.eos, r.align, r.compressed = buf, 0, 0, false, align, false
	r.refs.Store(1)
}

func (r *sliceReader) Retain() { r.refs.Add(1) }

func (r *sliceReader) Release() {
	if r.refs.Add(-1) == 0 {
		r.release()
	}
}

func (r *sliceReader) release() {
	if r.msg != nil {
		r.msg.Release()
		r.msg = nil
	}
}

// Message returns the next message, valid until the next call; io.EOF at
// the end-of-stream marker.
func (r *sliceReader) Message() (*ipc.Message, error) {
	r.release()
	if r.eos {
		return nil, io.EOF
	}
	r.start = r.pos
	rest := r.buf[r.pos:]
	if len(rest) == 0 {
		return nil, errors.New("stream ends without an end-of-stream marker")
	}
	if len(rest) < 4 {
		return nil, errors.New("truncated message length")
	}
	n, prefix := binary.LittleEndian.Uint32(rest), 4
	if n == ipcContinuation {
		if len(rest) < 8 {
			return nil, errors.New("truncated message length")
		}
		n, prefix = binary.LittleEndian.Uint32(rest[4:]), 8
	}
	if n == 0 {
		r.eos = true
		r.pos += prefix
		return nil, io.EOF
	}
	if n > maxMetadataLen || int(n) > len(rest)-prefix {
		return nil, fmt.Errorf("message metadata length %d exceeds the %d bytes left", n, len(rest)-prefix)
	}
	meta := rest[prefix : prefix+int(n)]
	info, err := verifyMessage(meta)
	if err != nil {
		return nil, fmt.Errorf("invalid message metadata: %w", err)
	}
	bodyLen := info.bodyLen
	left := len(rest) - prefix - int(n)
	if bodyLen < 0 || bodyLen > int64(left) {
		return nil, fmt.Errorf("message body length %d exceeds the %d bytes left", bodyLen, left)
	}
	body := rest[prefix+int(n) : prefix+int(n)+int(bodyLen)]
	r.compressed = r.compressed || info.codec >= 0
	if info.codec == codecZSTD {
		if err := checkZstdBuffers(meta, info, body); err != nil {
			return nil, err
		}
	}
	if len(body) > 0 && uintptr(unsafe.Pointer(unsafe.SliceData(body)))%8 != 0 && r.align != nil {
		body = r.align.copy(body)
	}
	r.pos += prefix + int(n) + int(bodyLen)
	r.msg = ipc.NewMessage(memory.NewBufferBytes(meta), memory.NewBufferBytes(body))
	return r.msg, nil
}

// fbVerifier checks a flatbuffer against the parts of the Arrow schema that
// arrow-go reads. Offsets are computed in int, so nothing wraps; every
// target must lie inside the buffer and after its referrer, table visits
// and string bytes are budgeted (a tree of distinct tables and strings, as
// every Arrow writer builds, always fits; a DAG that shares subtrees to
// multiply arrow-go's work does not), and nesting is limited.
type fbVerifier struct {
	b       []byte
	tables  int // table visits left
	strings int // string bytes left
}

type fbTable struct{ pos, vt, vtLen int }

const maxFieldDepth = 32

func le16(b []byte, i int) int { return int(binary.LittleEndian.Uint16(b[i:])) }
func le32(b []byte, i int) int { return int(binary.LittleEndian.Uint32(b[i:])) }

var errFlatbuffer = errors.New("flatbuffer out of bounds")

// msgInfo is what the reader needs from a message's metadata.
type msgInfo struct {
	bodyLen     int64
	codec       int // body compression (codecZSTD, ...), -1 for none
	bufs, nbufs int // the record batch's Buffer structs in the metadata
}

// BodyCompression codecs (Message.fbs).
const (
	codecLZ4  = 0
	codecZSTD = 1
)

// verifyMessage checks an IPC Message flatbuffer.
func verifyMessage(b []byte) (msgInfo, error) {
	info := msgInfo{codec: -1}
	if len(b) < 8 {
		return info, errors.New("metadata too short")
	}
	v := fbVerifier{b: b, tables: len(b)/4 + 4, strings: 2*len(b) + 64}
	m, err := v.table(le32(b, 0))
	if err != nil {
		return info, err
	}
	typ, err := v.scalar(m, 1, 1)
	if err != nil {
		return info, err
	}
	if err := v.keyValues(m, 4); err != nil {
		return info, err
	}
	bodyLen, err := v.scalar(m, 3, 8)
	if err != nil {
		return info, err
	}
	info.bodyLen = int64(bodyLen)
	h, ok, err := v.tableField(m, 2)
	if err != nil {
		return info, err
	}
	if !ok {
		return info, errors.New("message without a header")
	}
	switch typ {
	case fbSchema:
		err = v.schema(h)
	case fbRecordBatch:
		err = v.recordBatch(h, &info)
	case fbDictionaryBatch:
		if _, err = v.scalar(h, 0, 8); err != nil {
			break
		}
		var data fbTable
		if data, ok, err = v.tableField(h, 1); err == nil && ok {
			err = v.recordBatch(data, &info)
		}
	default:
		err = fmt.Errorf("unsupported message type %d", typ)
	}
	return info, err
}

func (v *fbVerifier) table(pos int) (fbTable, error) {
	if v.tables--; v.tables < 0 {
		return fbTable{}, errors.New("too many flatbuffer tables")
	}
	b := v.b
	if pos < 0 || pos > len(b)-4 {
		return fbTable{}, errFlatbuffer
	}
	vt := pos - int(int32(binary.LittleEndian.Uint32(b[pos:])))
	if vt < 0 || vt > len(b)-4 {
		return fbTable{}, errFlatbuffer
	}
	vtLen, objLen := le16(b, vt), le16(b, vt+2)
	if vtLen < 4 || vtLen%2 != 0 || vt+vtLen > len(b) || pos+objLen > len(b) {
		return fbTable{}, errFlatbuffer
	}
	return fbTable{pos, vt, vtLen}, nil
}

// field returns the position of field i of t, or 0 when absent.
func (v *fbVerifier) field(t fbTable, i int) int {
	o := 4 + 2*i
	if o >= t.vtLen {
		return 0
	}
	if off := le16(v.b, t.vt+o); off != 0 {
		return t.pos + off
	}
	return 0
}

// scalar reads field i of t as a little-endian integer of size bytes (0
// when absent).
func (v *fbVerifier) scalar(t fbTable, i, size int) (uint64, error) {
	p := v.field(t, i)
	if p == 0 {
		return 0, nil
	}
	if p > len(v.b)-size {
		return 0, errFlatbuffer
	}
	switch size {
	case 1:
		return uint64(v.b[p]), nil
	case 2:
		return uint64(binary.LittleEndian.Uint16(v.b[p:])), nil
	case 4:
		return uint64(binary.LittleEndian.Uint32(v.b[p:])), nil
	}
	return binary.LittleEndian.Uint64(v.b[p:]), nil
}

// ref follows the offset stored at p.
func (v *fbVerifier) ref(p int) (int, error) {
	if p > len(v.b)-4 {
		return 0, errFlatbuffer
	}
	target := p + le32(v.b, p)
	if target > len(v.b)-4 {
		return 0, errFlatbuffer
	}
	return target, nil
}

func (v *fbVerifier) tableField(t fbTable, i int) (fbTable, bool, error) {
	p := v.field(t, i)
	if p == 0 {
		return fbTable{}, false, nil
	}
	target, err := v.ref(p)
	if err != nil {
		return fbTable{}, false, err
	}
	tt, err := v.table(target)
	return tt, err == nil, err
}

// vector checks field i of t as a vector of n elements of elem bytes and
// returns where its elements start.
func (v *fbVerifier) vector(t fbTable, i, elem int) (start, n int, err error) {
	p := v.field(t, i)
	if p == 0 {
		return 0, 0, nil
	}
	at, err := v.ref(p)
	if err != nil {
		return 0, 0, err
	}
	n, start = le32(v.b, at), at+4
	if n > (len(v.b)-start)/elem {
		return 0, 0, fmt.Errorf("flatbuffer vector of %d elements exceeds the buffer", n)
	}
	return start, n, nil
}

func (v *fbVerifier) str(t fbTable, i int) error {
	_, n, err := v.vector(t, i, 1)
	if err != nil {
		return err
	}
	if v.strings -= n; v.strings < 0 {
		return errors.New("flatbuffer strings exceed the buffer")
	}
	return nil
}

// tableVec calls fn for each table of the vector in field i of t.
func (v *fbVerifier) tableVec(t fbTable, i int, fn func(fbTable) error) error {
	start, n, err := v.vector(t, i, 4)
	if err != nil {
		return err
	}
	for j := range n {
		target, err := v.ref(start + 4*j)
		if err != nil {
			return err
		}
		tt, err := v.table(target)
		if err != nil {
			return err
		}
		if err := fn(tt); err != nil {
			return err
		}
	}
	return nil
}

func (v *fbVerifier) keyValues(t fbTable, i int) error {
	return v.tableVec(t, i, func(kv fbTable) error {
		if err := v.str(kv, 0); err != nil {
			return err
		}
		return v.str(kv, 1)
	})
}

func (v *fbVerifier) schema(s fbTable) error {
	if err := v.tableVec(s, 1, func(f fbTable) error { return v.field1(f, 0) }); err != nil {
		return err
	}
	if err := v.keyValues(s, 2); err != nil {
		return err
	}
	_, _, err := v.vector(s, 3, 8)
	return err
}

// Type union members with offset fields (Schema.fbs).
const (
	fbTypeTimestamp = 10
	fbTypeUnion     = 14
)

func (v *fbVerifier) field1(f fbTable, depth int) error {
	if depth > maxFieldDepth {
		return fmt.Errorf("fields nested deeper than %d", maxFieldDepth)
	}
	if err := v.str(f, 0); err != nil {
		return err
	}
	typ, err := v.scalar(f, 2, 1)
	if err != nil {
		return err
	}
	if tt, ok, err := v.tableField(f, 3); err != nil {
		return err
	} else if ok {
		switch typ {
		case fbTypeTimestamp:
			err = v.str(tt, 1)
		case fbTypeUnion:
			_, _, err = v.vector(tt, 1, 4)
		}
		if err != nil {
			return err
		}
	}
	if dict, ok, err := v.tableField(f, 4); err != nil {
		return err
	} else if ok {
		if _, _, err := v.tableField(dict, 1); err != nil {
			return err
		}
	}
	if err := v.tableVec(f, 5, func(c fbTable) error { return v.field1(c, depth+1) }); err != nil {
		return err
	}
	return v.keyValues(f, 6)
}

func (v *fbVerifier) recordBatch(rb fbTable, info *msgInfo) error {
	if _, _, err := v.vector(rb, 1, 16); err != nil { // nodes
		return err
	}
	var err error
	if info.bufs, info.nbufs, err = v.vector(rb, 2, 16); err != nil {
		return err
	}
	if c, ok, err := v.tableField(rb, 3); err != nil {
		return err
	} else if ok {
		codec, err := v.scalar(c, 0, 1)
		if err != nil {
			return err
		}
		info.codec = int(codec)
	}
	_, _, err = v.vector(rb, 4, 8) // variadic buffer counts
	return err
}

// maxZstdWindow is the largest zstd window accepted regardless of the
// buffer's size. klauspost/compress, which arrow-go decompresses with,
// allocates a frame's whole window up front (512 MiB for a 17-byte frame
// that claims it) outside the allocator arrow-go is given, so windows are
// checked here: at most the buffer's uncompressed size or 8 MiB (what
// streaming encoders use up to level 19).
const maxZstdWindow = 8 << 20

// checkZstdBuffers checks the zstd frames of every compressed buffer of a
// record batch body. Buffers out of the body's range are left to arrow-go.
func checkZstdBuffers(meta []byte, info msgInfo, body []byte) error {
	for i := range info.nbufs {
		at := info.bufs + 16*i
		off, n := int64(binary.LittleEndian.Uint64(meta[at:])), int64(binary.LittleEndian.Uint64(meta[at+8:]))
		if off < 0 || n < 8 || off > int64(len(body)) || n > int64(len(body))-off {
			continue
		}
		buf := body[off : off+n]
		size := int64(binary.LittleEndian.Uint64(buf))
		if size == -1 { // stored uncompressed
			continue
		}
		if err := zstdWindows(buf[8:], uint64(max(size, maxZstdWindow))); err != nil {
			return fmt.Errorf("buffer %d: %w", i, err)
		}
	}
	return nil
}

// zstdWindows walks the frames of b (RFC 8878) and checks each window
// against limit. Malformed frames are left to the decoder.
func zstdWindows(b []byte, limit uint64) error {
	for len(b) >= 4 {
		magic := binary.LittleEndian.Uint32(b)
		if magic&0xFFFFFFF0 == 0x184D2A50 { // skippable frame
			if len(b) < 8 {
				return nil
			}
			n := uint64(binary.LittleEndian.Uint32(b[4:]))
			if n > uint64(len(b)-8) {
				return nil
			}
			b = b[8+n:]
			continue
		}
		if magic != 0xFD2FB528 || len(b) < 6 {
			return nil
		}
		fhd, p := b[4], 5
		single := fhd&0x20 != 0
		var window uint64
		if !single {
			wd := b[p]
			p++
			base := uint64(1) << (10 + wd>>3)
			window = base + base/8*uint64(wd&7)
		}
		p += [...]int{0, 1, 2, 4}[fhd&3] // dictionary id
		fcs := [...]int{0, 2, 4, 8}[fhd>>6]
		if single && fcs == 0 {
			fcs = 1
		}
		if p+fcs > len(b) {
			return nil
		}
		if single {
			var v uint64
			for i := fcs - 1; i >= 0; i-- {
				v = v<<8 | uint64(b[p+i])
			}
			if fcs == 2 {
				v += 256
			}
			window = v
		}
		p += fcs
		if window > limit {
			return fmt.Errorf("zstd window of %d bytes exceeds %d", window, limit)
		}
		for last := false; !last; {
			if p+3 > len(b) {
				return nil
			}
			h := int(b[p]) | int(b[p+1])<<8 | int(b[p+2])<<16
			p += 3
			last = h&1 != 0
			switch (h >> 1) & 3 {
			case 1: // RLE: one byte repeated
				p++
			case 3:
				return nil
			default:
				p += h >> 3
			}
		}
		if fhd&4 != 0 { // content checksum
			p += 4
		}
		if p > len(b) {
			return nil
		}
		b = b[p:]
	}
	return nil
}
