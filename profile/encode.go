package profile

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"unsafe"

	"driftwatch/dataset"
)

// File layout, all integers little endian:
//
//	magic   [8]byte "DWPROFIL"
//	version uint32  (FormatVersion)
//	hdrLen  uint32
//	header  [hdrLen]byte JSON of Profile (without the values)
//	values  for each numeric feature in header order: stored × float64
//	crc     uint32 CRC-32C of everything before it
//
// The values are raw float64 so loading is a memcpy, not a parse. Optional
// header keys (calibration) need no new version: files without them load as
// before, and older readers skip keys they do not know. The optional
// "multivariate" key adds its reference row errors after the features'
// values: files without it load as before, but a reader older than the key
// refuses a file with it (trailing bytes).
const (
	magic = "DWPROFIL"
	// FormatVersion is bumped on any incompatible change; Load refuses others.
	FormatVersion = 1
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// header is the JSON part; Stored records len(Sample) per feature.
type header struct {
	Profile
	Stored []int `json:"stored"`
}

// Encode writes p to w.
func (p *Profile) Encode(w io.Writer) error {
	js, err := p.header()
	if err != nil {
		return err
	}
	return p.encode(w, js)
}

// header returns the JSON header.
func (p *Profile) header() ([]byte, error) {
	h := header{Profile: *p, Stored: make([]int, len(p.Features))}
	for i, f := range p.Features {
		h.Stored[i] = len(f.Sample)
	}
	js, err := json.Marshal(h)
	if err != nil {
		return nil, fmt.Errorf("profile: cannot encode header: %w", err)
	}
	return js, nil
}

// encode writes the file around the JSON header js; the values go out from
// the samples in place.
func (p *Profile) encode(w io.Writer, js []byte) error {
	crc := crc32.New(castagnoli)
	mw := io.MultiWriter(w, crc)
	var pre [16]byte
	copy(pre[:], magic)
	binary.LittleEndian.PutUint32(pre[8:], FormatVersion)
	binary.LittleEndian.PutUint32(pre[12:], uint32(len(js)))
	if _, err := mw.Write(pre[:]); err != nil {
		return err
	}
	if _, err := mw.Write(js); err != nil {
		return err
	}
	for _, f := range p.Features {
		if _, err := mw.Write(floatBytes(f.Sample)); err != nil {
			return err
		}
	}
	if mv := p.Multivariate; mv != nil {
		if _, err := mw.Write(floatBytes(mv.Errors[:mv.Rows])); err != nil {
			return err
		}
	}
	return binary.Write(w, binary.LittleEndian, crc.Sum32())
}

// WriteFile writes p to path atomically (temporary file, then rename). It
// encodes straight into the file: buffering the whole file first (80 MB for
// 1M rows × 10 features) cost more in page faults than the writes.
func (p *Profile) WriteFile(path string) error {
	js, err := p.header()
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("profile: cannot write %q: %w", path, err)
	}
	err = p.encode(f, js)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("profile: cannot write %q: %w", path, err)
	}
	return nil
}

// IsProfile reports whether data starts with the profile magic.
func IsProfile(data []byte) bool { return bytes.HasPrefix(data, []byte(magic)) }

// Load reads a profile file written by WriteFile. The file is read into
// float64s (on huge pages, as columns are), placed so that its values fall
// on 8-byte boundaries, and the samples are views of them: copying them out
// would touch as much fresh memory again.
func Load(path string) (*Profile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("profile: cannot open %q: %w", path, err)
	}
	defer f.Close()
	data, view, err := readProfile(f)
	if err != nil {
		return nil, fmt.Errorf("profile: cannot open %q: %w", path, err)
	}
	p, err := decode(data, view)
	if err != nil {
		return nil, fmt.Errorf("profile: %q: %w", path, err)
	}
	return p, nil
}

// readProfile reads a profile file; view reports that its values are
// aligned for float64 (a regular file is read so that they are).
func readProfile(f *os.File) (data []byte, view bool, err error) {
	st, err := f.Stat()
	if err != nil {
		return nil, false, err
	}
	if !st.Mode().IsRegular() || st.Size() > 1<<40 {
		data, err := io.ReadAll(f)
		return data, false, err
	}
	// The values start after the 16-byte prefix and the header.
	var pre [16]byte
	pad := 0
	if _, err := f.ReadAt(pre[:], 0); err == nil {
		pad = int(-(16 + uint64(binary.LittleEndian.Uint32(pre[12:]))) % 8)
	}
	size := int(st.Size())
	words := dataset.MakeFloats((pad + size + 7) / 8)
	buf := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(words))), len(words)*8)[pad : pad+size]
	n, err := f.ReadAt(buf, 0)
	if err == io.EOF {
		err = nil // the file shrank: decode says what is missing
	}
	return buf[:n], true, err
}

var errTruncated = errors.New("truncated profile")

// Decode parses an encoded profile, verifying magic, version and checksum.
// The profile does not refer to data.
func Decode(data []byte) (*Profile, error) { return decode(data, false) }

// decode is Decode; with view, the samples are views of data where it is
// aligned for float64.
func decode(data []byte, view bool) (*Profile, error) {
	if len(data) < 20 || !IsProfile(data) {
		return nil, errors.New("not a driftwatch profile (bad magic)")
	}
	if v := binary.LittleEndian.Uint32(data[8:]); v != FormatVersion {
		return nil, fmt.Errorf("unsupported profile format version %d (want %d)", v, FormatVersion)
	}
	body, sum := data[:len(data)-4], binary.LittleEndian.Uint32(data[len(data)-4:])
	if got := crc32.Checksum(body, castagnoli); got != sum {
		return nil, fmt.Errorf("checksum mismatch (file is corrupt): stored %08x, computed %08x", sum, got)
	}
	hdrLen := uint64(binary.LittleEndian.Uint32(data[12:]))
	if 16+hdrLen > uint64(len(body)) {
		return nil, errTruncated
	}
	var h header
	if err := json.Unmarshal(body[16:16+hdrLen], &h); err != nil {
		return nil, fmt.Errorf("cannot decode header: %w", err)
	}
	if len(h.Stored) != len(h.Features) {
		return nil, errors.New("header lists values for a different number of features")
	}
	rest := body[16+hdrLen:]
	for i, f := range h.Features {
		if f == nil {
			return nil, fmt.Errorf("feature %d is null", i)
		}
		n := uint64(h.Stored[i])
		if h.Stored[i] < 0 || n > uint64(len(rest))/8 {
			return nil, errTruncated
		}
		switch {
		case n == 0:
		case view && uintptr(unsafe.Pointer(&rest[0]))%8 == 0:
			f.Sample = unsafe.Slice((*float64)(unsafe.Pointer(&rest[0])), n)
		default:
			f.Sample = make([]float64, n)
			copy(floatBytes(f.Sample), rest[:n*8])
		}
		rest = rest[n*8:]
		if err := f.validate(h.Bins); err != nil {
			return nil, fmt.Errorf("feature %q: %w", f.Name, err)
		}
	}
	if mv := h.Multivariate; mv != nil {
		n := uint64(mv.Rows)
		if mv.Rows < 0 || n > uint64(len(rest))/8 {
			return nil, errTruncated
		}
		if n > 0 {
			mv.Errors = make([]float64, n)
			copy(floatBytes(mv.Errors), rest[:n*8])
		}
		rest = rest[n*8:]
		if err := mv.validate(h.Rows); err != nil {
			return nil, err
		}
	}
	if len(rest) != 0 {
		return nil, fmt.Errorf("%d trailing bytes after the values", len(rest))
	}
	if h.Calibration != nil {
		if err := h.Calibration.validate(); err != nil {
			return nil, err
		}
	}
	p := h.Profile
	return &p, nil
}

func (f *Feature) validate(bins int) error {
	switch f.Kind {
	case Numeric:
		if f.Values > 0 && (len(f.Edges) != bins-1 || len(f.Counts) != bins ||
			len(f.FineEdges) != bins*FineFactor-1 || len(f.FineCounts) != bins*FineFactor) {
			return fmt.Errorf("has %d edges, %d counts, %d fine edges and %d fine counts for %d bins",
				len(f.Edges), len(f.Counts), len(f.FineEdges), len(f.FineCounts), bins)
		}
		if len(f.Sample) > f.Values {
			return fmt.Errorf("stores %d values but stands for %d", len(f.Sample), f.Values)
		}
	case Categorical:
		if len(f.Categories) != len(f.CatCounts) {
			return fmt.Errorf("has %d categories and %d counts", len(f.Categories), len(f.CatCounts))
		}
	default:
		return fmt.Errorf("unknown kind %q", f.Kind)
	}
	return nil
}

// floatBytes views xs as bytes; the format is little endian and so is every
// platform driftwatch builds for (amd64, arm64).
func floatBytes(xs []float64) []byte {
	if len(xs) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&xs[0])), len(xs)*8)
}
