package events

// Conversions from Arrow arrays to the Columns' slices. Every loop reads
// buffers arrow-go has sized (fixed-width values, string offsets) or that
// are checked here (validity bitmaps, booleans, each string offset,
// dictionary indices and lengths), so corrupt input is an error rather
// than a panic.

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal"
)

// Validity bitmaps.

var errBitmap = errors.New("validity bitmap shorter than the column")

// validity returns a's validity bitmap and bit offset, nil when a has no
// nulls, checking it covers n rows.
func validity(a arrow.Array, n int) ([]byte, int, error) {
	bm := a.NullBitmapBytes()
	if len(bm) == 0 {
		return nil, 0, nil
	}
	off := a.Data().Offset()
	if off < 0 || (off+n+7)/8 > len(bm) {
		return nil, 0, errBitmap
	}
	return bm, off, nil
}

func valid(bm []byte, i int) bool { return bm[i>>3]>>(i&7)&1 != 0 }

// Dictionaries: the values are converted once per dictionary (cached by
// identity: batches and columns that share a dictionary share its table),
// then rows gather from the table by index.

type dictKey struct {
	data arrow.ArrayData
	kind uint8 // what the table holds
	blob bool
}

const (
	tableText uint8 = iota
	tableFloat
	tableMillis
	tableFlag
)

type dictRef struct{ start, n int }

// indices checks the first n indices of a against the dictionary length
// and returns them with -1 for null.
func (d *ArrowDecoder) indices(a *array.Dictionary, n, dictLen int) ([]int32, error) {
	out := grow(d.idx, n)
	d.idx = out
	bm, off, err := validity(a, n)
	if err != nil {
		return nil, err
	}
	switch x := a.Indices().(type) {
	case *array.Int8:
		err = normIndices(x.Int8Values(), out, bm, off, dictLen)
	case *array.Int16:
		err = normIndices(x.Int16Values(), out, bm, off, dictLen)
	case *array.Int32:
		err = normIndices(x.Int32Values(), out, bm, off, dictLen)
	case *array.Int64:
		err = normIndices(x.Int64Values(), out, bm, off, dictLen)
	case *array.Uint8:
		err = normIndices(x.Uint8Values(), out, bm, off, dictLen)
	case *array.Uint16:
		err = normIndices(x.Uint16Values(), out, bm, off, dictLen)
	case *array.Uint32:
		err = normIndices(x.Uint32Values(), out, bm, off, dictLen)
	case *array.Uint64:
		err = normIndices(x.Uint64Values(), out, bm, off, dictLen)
	default:
		err = fmt.Errorf("unsupported dictionary index type %s", x.DataType())
	}
	return out, err
}

func normIndices[I int8 | int16 | int32 | int64 | uint8 | uint16 | uint32 | uint64](src []I, out []int32, bm []byte, off, dictLen int) error {
	src = src[:len(out)]
	for i, v := range src {
		if uint64(v) < uint64(dictLen) { // negative indices wrap to huge
			out[i] = int32(v)
			continue
		}
		if bm == nil || valid(bm, off+i) {
			return fmt.Errorf("row %d: dictionary index %d out of range [0, %d)", i, v, dictLen)
		}
		out[i] = -1
	}
	if bm != nil {
		for i := range out {
			if !valid(bm, off+i) {
				out[i] = -1
			}
		}
	}
	return nil
}

// dictionary returns a's dictionary values and the cache key for them. Its
// length is checked against the message: every supported value takes at
// least a byte, and tables are sized by it.
func (d *ArrowDecoder) dictionary(a *array.Dictionary, kind uint8, blob bool) (arrow.Array, dictKey, error) {
	dd := a.Data().Dictionary()
	if dd == nil {
		return nil, dictKey{}, errors.New("dictionary column without a dictionary")
	}
	if n := dd.Len(); n < 0 || n > d.budget {
		return nil, dictKey{}, fmt.Errorf("dictionary of %d values in a %d-byte message", n, d.budget)
	}
	return a.Dictionary(), dictKey{dd, kind, blob}, nil
}

// textCol converts a's first len(dst) values to text (see texts), looking
// through a dictionary.
func (d *ArrowDecoder) textCol(a arrow.Array, dst []string, null []bool, blob bool) (bool, error) {
	da, ok := a.(*array.Dictionary)
	if !ok {
		return d.texts(a, dst, null, blob)
	}
	dict, key, err := d.dictionary(da, tableText, blob)
	if err != nil {
		return false, err
	}
	ref, ok := d.dicts[key]
	if !ok {
		ref = dictRef{len(d.tabS), dict.Len()}
		d.tabS, d.tabN = extend(d.tabS, ref.n), extend(d.tabN, ref.n)
		if _, err := d.texts(dict, d.tabS[ref.start:], d.tabN[ref.start:], blob); err != nil {
			return false, fmt.Errorf("dictionary: %w", err)
		}
		d.dicts[key] = ref
	}
	tab, tabNull := d.tabS[ref.start:ref.start+ref.n], d.tabN[ref.start:ref.start+ref.n]
	idx, err := d.indices(da, len(dst), ref.n)
	if err != nil {
		return false, err
	}
	has := false
	for i, k := range idx {
		if k < 0 || tabNull[k] {
			dst[i], null[i], has = "", true, true
			continue
		}
		// Interned strings repeat from message to message: skipping the
		// write when the slot already holds the same string saves the GC
		// write barrier, which dominates this loop while a GC is marking.
		if v := tab[k]; dst[i] != v {
			dst[i] = v
		}
		null[i] = false
	}
	return has, nil
}

// floatCol converts a's first len(dst) values to float64, NaN for null,
// looking through a dictionary.
func (d *ArrowDecoder) floatCol(a arrow.Array, dst []float64) error {
	da, ok := a.(*array.Dictionary)
	if !ok {
		return floats(a, dst)
	}
	dict, key, err := d.dictionary(da, tableFloat, false)
	if err != nil {
		return err
	}
	ref, ok := d.dicts[key]
	if !ok {
		ref = dictRef{len(d.tabF), dict.Len()}
		d.tabF = extend(d.tabF, ref.n)
		if err := floats(dict, d.tabF[ref.start:]); err != nil {
			return fmt.Errorf("dictionary: %w", err)
		}
		d.dicts[key] = ref
	}
	tab := d.tabF[ref.start : ref.start+ref.n]
	idx, err := d.indices(da, len(dst), ref.n)
	if err != nil {
		return err
	}
	for i, k := range idx {
		if k < 0 {
			dst[i] = math.NaN()
			continue
		}
		dst[i] = tab[k]
	}
	return nil
}

// millisCol converts a's first len(dst) timestamps to Unix milliseconds,
// marking nulls, looking through a dictionary.
func (d *ArrowDecoder) millisCol(a arrow.Array, dst []int64, null []bool) error {
	da, ok := a.(*array.Dictionary)
	if !ok {
		return millis(a, dst, null)
	}
	dict, key, err := d.dictionary(da, tableMillis, false)
	if err != nil {
		return err
	}
	ref, ok := d.dicts[key]
	if !ok {
		ref = dictRef{len(d.tabT), dict.Len()}
		d.tabT, d.dictN = extend(d.tabT, ref.n), grow(d.dictN, ref.n)
		if err := millis(dict, d.tabT[ref.start:], d.dictN); err != nil {
			var re *rowError
			if errors.As(err, &re) { // a dictionary entry: no row to name
				return &rowError{-1, fmt.Errorf("dictionary entry %d: %w", re.row, re.err)}
			}
			return err
		}
		for i, n := range d.dictN {
			if n {
				d.tabT[ref.start+i] = math.MinInt64 // null marker
			}
		}
		d.dicts[key] = ref
	}
	tab := d.tabT[ref.start : ref.start+ref.n]
	idx, err := d.indices(da, len(dst), ref.n)
	if err != nil {
		return err
	}
	for i, k := range idx {
		if k < 0 || tab[k] == math.MinInt64 {
			null[i] = true
			continue
		}
		dst[i], null[i] = tab[k], false
	}
	return nil
}

// flagCol converts a's first len(dst) values to error flags (see flags),
// looking through a dictionary.
func (d *ArrowDecoder) flagCol(a arrow.Array, dst []bool) error {
	da, ok := a.(*array.Dictionary)
	if !ok {
		return d.flags(a, dst)
	}
	dict, key, err := d.dictionary(da, tableFlag, false)
	if err != nil {
		return err
	}
	ref, ok := d.dicts[key]
	if !ok {
		ref = dictRef{len(d.tabB), dict.Len()}
		d.tabB = extend(d.tabB, ref.n)
		if err := d.flags(dict, d.tabB[ref.start:]); err != nil {
			return fmt.Errorf("dictionary: %w", err)
		}
		d.dicts[key] = ref
	}
	tab := d.tabB[ref.start : ref.start+ref.n]
	idx, err := d.indices(da, len(dst), ref.n)
	if err != nil {
		return err
	}
	for i, k := range idx {
		dst[i] = k >= 0 && tab[k]
	}
	return nil
}

// Conversions of arrays that are not dictionaries. Each converts the first
// len(dst) values; the record batch guarantees arrays have at least that
// many (arrow-go checks buffer sizes for fixed-width and string arrays;
// bitmaps and booleans are checked here).

func floats(a arrow.Array, dst []float64) error {
	switch a := a.(type) {
	case *array.Float64:
		copy(dst, a.Float64Values()[:len(dst)])
	case *array.Float32:
		convert(a.Float32Values(), dst)
	case *array.Int8:
		convert(a.Int8Values(), dst)
	case *array.Int16:
		convert(a.Int16Values(), dst)
	case *array.Int32:
		convert(a.Int32Values(), dst)
	case *array.Int64:
		convert(a.Int64Values(), dst)
	case *array.Uint8:
		convert(a.Uint8Values(), dst)
	case *array.Uint16:
		convert(a.Uint16Values(), dst)
	case *array.Uint32:
		convert(a.Uint32Values(), dst)
	case *array.Uint64:
		convert(a.Uint64Values(), dst)
	case *array.Float16:
		for i := range dst {
			dst[i] = float64(a.Value(i).Float32())
		}
	case *array.Decimal32:
		decimals(a.Values(), a.DataType().(arrow.DecimalType).GetScale(), dst)
	case *array.Decimal64:
		decimals(a.Values(), a.DataType().(arrow.DecimalType).GetScale(), dst)
	case *array.Decimal128:
		decimals(a.Values(), a.DataType().(arrow.DecimalType).GetScale(), dst)
	case *array.Decimal256:
		decimals(a.Values(), a.DataType().(arrow.DecimalType).GetScale(), dst)
	case *array.Null:
		for i := range dst {
			dst[i] = math.NaN()
		}
		return nil
	default:
		return fmt.Errorf("cannot read %s as numbers", a.DataType())
	}
	bm, off, err := validity(a, len(dst))
	if err != nil {
		return err
	}
	if bm != nil {
		for i := range dst {
			if !valid(bm, off+i) {
				dst[i] = math.NaN()
			}
		}
	}
	return nil
}

func convert[T int8 | int16 | int32 | int64 | uint8 | uint16 | uint32 | uint64 | float32](src []T, dst []float64) {
	src = src[:len(dst)]
	for i, v := range src {
		dst[i] = float64(v)
	}
}

func decimals[T interface {
	decimal.DecimalTypes
	decimal.Num[T]
}](src []T, scale int32, dst []float64) {
	src = src[:len(dst)]
	for i, v := range src {
		dst[i] = v.ToFloat64(scale)
	}
}

// texts converts a's first len(dst) values to text, setting null[i] for
// nulls ("" in dst), and reports whether there were any. Text is interned,
// or with blob (for ids, which rarely repeat) copied into one string that
// all rows share.
func (d *ArrowDecoder) texts(a arrow.Array, dst []string, null []bool, blob bool) (bool, error) {
	bm, off, err := validity(a, len(dst))
	if err != nil {
		return false, err
	}
	has := false
	switch a := a.(type) {
	case *array.String:
		has, err = textRows(d, a.ValueOffsets(), a.ValueBytes(), bm, off, dst, null, blob)
	case *array.LargeString:
		has, err = textRows(d, a.ValueOffsets(), a.ValueBytes(), bm, off, dst, null, blob)
	case *array.Boolean:
		if vals := a.Data().Buffers()[1]; vals == nil || vals.Len()*8 < a.Data().Offset()+len(dst) {
			return false, errors.New("boolean values shorter than the column")
		}
		for i := range dst {
			null[i] = bm != nil && !valid(bm, off+i)
			switch {
			case null[i]:
				dst[i], has = "", true
			case a.Value(i):
				dst[i] = "true"
			default:
				dst[i] = "false"
			}
		}
		return has, nil
	case *array.Int8:
		has = intTexts(d, a.Int8Values(), bm, off, dst, null, blob)
	case *array.Int16:
		has = intTexts(d, a.Int16Values(), bm, off, dst, null, blob)
	case *array.Int32:
		has = intTexts(d, a.Int32Values(), bm, off, dst, null, blob)
	case *array.Int64:
		has = intTexts(d, a.Int64Values(), bm, off, dst, null, blob)
	case *array.Uint8:
		has = intTexts(d, a.Uint8Values(), bm, off, dst, null, blob)
	case *array.Uint16:
		has = intTexts(d, a.Uint16Values(), bm, off, dst, null, blob)
	case *array.Uint32:
		has = intTexts(d, a.Uint32Values(), bm, off, dst, null, blob)
	case *array.Uint64:
		has = intTexts(d, a.Uint64Values(), bm, off, dst, null, blob)
	case *array.Null:
		for i := range dst {
			dst[i], null[i] = "", true
		}
		return len(dst) > 0, nil
	default:
		// Floats, float16 and decimals: through their float64 value.
		num := grow(d.num, len(dst))
		d.num = num
		if err := floats(a, num); err != nil {
			return false, err
		}
		for i, x := range num {
			null[i] = x != x
			if null[i] {
				dst[i], has = "", true
				continue
			}
			dst[i] = d.floatText(x)
		}
		return has, nil
	}
	return has, err
}

// textRows reads utf8 values through their offsets, checking them
// (arrow-go checks only the last offset). A run of equal values is
// interned once; with blob the values are copied into one string at once.
func textRows[O int32 | int64](d *ArrowDecoder, offsets []O, data []byte, bm []byte, off int, dst []string, null []bool, blob bool) (bool, error) {
	n := len(dst)
	offsets = offsets[:n+1]
	if blob {
		return blobRows(offsets, data, bm, off, dst, null)
	}
	has := false
	var last string
	haveLast := false
	for i := range n {
		if bm != nil && !valid(bm, off+i) {
			dst[i], null[i], has = "", true, true
			continue
		}
		null[i] = false
		lo, hi := int64(offsets[i]), int64(offsets[i+1])
		if lo < 0 || hi < lo || hi > int64(len(data)) {
			return false, fmt.Errorf("row %d: string offsets [%d, %d) out of range [0, %d)", i, lo, hi, len(data))
		}
		s := data[lo:hi]
		if haveLast && string(s) == last {
			dst[i] = last
			continue
		}
		last, haveLast = d.intern(s), true
		dst[i] = last
	}
	return has, nil
}

// blobRows copies the values' bytes into one string and slices it per row.
// Offsets must be monotonic, null slots included, as Arrow requires.
func blobRows[O int32 | int64](offsets []O, data []byte, bm []byte, off int, dst []string, null []bool) (bool, error) {
	first, prev := int64(offsets[0]), int64(offsets[0])
	for i, o := range offsets {
		if int64(o) < prev || first < 0 {
			return false, fmt.Errorf("row %d: string offsets not increasing", i)
		}
		prev = int64(o)
	}
	if prev > int64(len(data)) {
		return false, fmt.Errorf("string offsets end at %d, beyond the %d bytes of values", prev, len(data))
	}
	s := string(data[first:prev])
	has := false
	for i := range dst {
		if bm != nil && !valid(bm, off+i) {
			dst[i], null[i], has = "", true, true
			continue
		}
		dst[i], null[i] = s[int64(offsets[i])-first:int64(offsets[i+1])-first], false
	}
	return has, nil
}

func intTexts[T int8 | int16 | int32 | int64 | uint8 | uint16 | uint32 | uint64](d *ArrowDecoder, vals []T, bm []byte, off int, dst []string, null []bool, blob bool) bool {
	vals = vals[:len(dst)]
	has := false
	for i := range vals {
		null[i] = bm != nil && !valid(bm, off+i)
		has = has || null[i]
	}
	if blob { // digits of all rows in one string
		buf, ends := d.blob[:0], grow(d.ends, len(dst))
		for i, v := range vals {
			switch {
			case null[i]:
			case v > 0 && int64(v) < 0: // a uint64 beyond int64
				buf = strconv.AppendUint(buf, uint64(v), 10)
			default:
				buf = strconv.AppendInt(buf, int64(v), 10)
			}
			ends[i] = len(buf)
		}
		s, start := string(buf), 0
		for i, end := range ends {
			dst[i], start = s[start:end], end
		}
		d.blob, d.ends = buf, ends
		return has
	}
	for i, v := range vals {
		switch {
		case null[i]:
			dst[i] = ""
		case v > 0 && int64(v) < 0:
			dst[i] = strconv.FormatUint(uint64(v), 10)
		default:
			dst[i] = d.intText(int64(v))
		}
	}
	return has
}

// maxInterned bounds each intern table; a full table is cleared, so
// high-cardinality text allocates per value but never grows the table.
const maxInterned = 1 << 14

func (d *ArrowDecoder) intern(b []byte) string {
	if s, ok := d.names[string(b)]; ok {
		return s
	}
	if len(d.names) >= maxInterned {
		clear(d.names)
	}
	s := string(b)
	d.names[s] = s
	return s
}

func (d *ArrowDecoder) intText(v int64) string {
	if s, ok := d.ints[v]; ok {
		return s
	}
	if len(d.ints) >= maxInterned {
		clear(d.ints)
	}
	s := strconv.FormatInt(v, 10)
	d.ints[v] = s
	return s
}

func (d *ArrowDecoder) floatText(x float64) string {
	k := math.Float64bits(x)
	if s, ok := d.floats[k]; ok {
		return s
	}
	if len(d.floats) >= maxInterned {
		clear(d.floats)
	}
	s := strconv.FormatFloat(x, 'g', -1, 64)
	d.floats[k] = s
	return s
}

// flags converts a's first len(dst) values to error flags: a boolean as it
// is, text when non-empty, a number when neither zero nor NaN; null is
// false. Text is judged by its offsets alone, so nothing is copied.
func (d *ArrowDecoder) flags(a arrow.Array, dst []bool) error {
	bm, off, err := validity(a, len(dst))
	if err != nil {
		return err
	}
	switch a := a.(type) {
	case *array.Boolean:
		if vals := a.Data().Buffers()[1]; vals == nil || vals.Len()*8 < a.Data().Offset()+len(dst) {
			return errors.New("boolean values shorter than the column")
		}
		for i := range dst {
			dst[i] = (bm == nil || valid(bm, off+i)) && a.Value(i)
		}
		return nil
	case *array.String:
		return textFlags(a.ValueOffsets(), a.ValueBytes(), bm, off, dst)
	case *array.LargeString:
		return textFlags(a.ValueOffsets(), a.ValueBytes(), bm, off, dst)
	}
	// Numbers of every width through float64 (nulls become NaN): a
	// non-zero integer, float16 or decimal stays non-zero there.
	num := grow(d.num, len(dst))
	d.num = num
	if err := floats(a, num); err != nil {
		return err
	}
	for i, x := range num {
		dst[i] = x != 0 && x == x
	}
	return nil
}

// textFlags sets dst[i] for non-null, non-empty values, checking the
// offsets as textRows does.
func textFlags[O int32 | int64](offsets []O, data []byte, bm []byte, off int, dst []bool) error {
	offsets = offsets[:len(dst)+1]
	for i := range dst {
		if bm != nil && !valid(bm, off+i) {
			dst[i] = false
			continue
		}
		lo, hi := int64(offsets[i]), int64(offsets[i+1])
		if lo < 0 || hi < lo || hi > int64(len(data)) {
			return fmt.Errorf("row %d: string offsets [%d, %d) out of range [0, %d)", i, lo, hi, len(data))
		}
		dst[i] = hi > lo
	}
	return nil
}

// maxMillis bounds epoch milliseconds, as for JSON.
const maxMillis = 1_000_000_000_000_000

// millis converts a's first len(dst) values to Unix milliseconds: a
// timestamp of any unit (rounded down), a date (Date64 is epoch
// milliseconds, Date32 epoch days), an integer as epoch milliseconds, or
// RFC 3339 text.
func millis(a arrow.Array, dst []int64, null []bool) error {
	bm, off, err := validity(a, len(dst))
	if err != nil {
		return err
	}
	switch a := a.(type) {
	case *array.Timestamp:
		unit := a.DataType().(*arrow.TimestampType).Unit
		vals := a.TimestampValues()[:len(dst)]
		for i, v := range vals {
			if null[i] = bm != nil && !valid(bm, off+i); null[i] {
				continue
			}
			ms, ok := unitMillis(int64(v), unit)
			if !ok {
				return &rowError{i, fmt.Errorf("timestamp %d%s out of range", v, unit)}
			}
			dst[i] = ms
		}
		return nil
	case *array.Date64: // epoch milliseconds
		return epochMillis(a.Date64Values(), bm, off, dst, null)
	case *array.Date32: // epoch days
		vals := a.Date32Values()[:len(dst)]
		for i, v := range vals {
			if null[i] = bm != nil && !valid(bm, off+i); null[i] {
				continue
			}
			dst[i] = int64(v) * 86_400_000 // within ±2^31 days: no overflow, within maxMillis
		}
		return nil
	case *array.Int8:
		return epochMillis(a.Int8Values(), bm, off, dst, null)
	case *array.Int16:
		return epochMillis(a.Int16Values(), bm, off, dst, null)
	case *array.Int32:
		return epochMillis(a.Int32Values(), bm, off, dst, null)
	case *array.Int64:
		return epochMillis(a.Int64Values(), bm, off, dst, null)
	case *array.Uint8:
		return epochMillis(a.Uint8Values(), bm, off, dst, null)
	case *array.Uint16:
		return epochMillis(a.Uint16Values(), bm, off, dst, null)
	case *array.Uint32:
		return epochMillis(a.Uint32Values(), bm, off, dst, null)
	case *array.Uint64:
		return epochMillis(a.Uint64Values(), bm, off, dst, null)
	case *array.String:
		return textMillis(a.ValueOffsets(), a.ValueBytes(), bm, off, dst, null)
	case *array.LargeString:
		return textMillis(a.ValueOffsets(), a.ValueBytes(), bm, off, dst, null)
	case *array.Null:
		for i := range null {
			null[i] = true
		}
		return nil
	}
	return fmt.Errorf("cannot read %s as timestamps", a.DataType())
}

func unitMillis(v int64, unit arrow.TimeUnit) (int64, bool) {
	var ms int64
	switch unit {
	case arrow.Second:
		if v < -maxMillis/1000 || v > maxMillis/1000 {
			return 0, false
		}
		ms = v * 1000
	case arrow.Millisecond:
		ms = v
	case arrow.Microsecond:
		ms = floorDiv(v, 1e3)
	default:
		ms = floorDiv(v, 1e6)
	}
	return ms, ms >= -maxMillis && ms <= maxMillis
}

func floorDiv(v, d int64) int64 {
	q := v / d
	if v%d != 0 && v < 0 {
		q--
	}
	return q
}

func epochMillis[T int8 | int16 | int32 | int64 | uint8 | uint16 | uint32 | uint64 | arrow.Date64](vals []T, bm []byte, off int, dst []int64, null []bool) error {
	vals = vals[:len(dst)]
	for i, v := range vals {
		if null[i] = bm != nil && !valid(bm, off+i); null[i] {
			continue
		}
		if x := int64(v); x > maxMillis || x < -maxMillis || (v > 0 && x < 0) {
			return &rowError{i, fmt.Errorf("epoch milliseconds %d out of range", v)}
		}
		dst[i] = int64(v)
	}
	return nil
}

// textMillis parses RFC 3339 text as the JSON decoder does; a run of equal
// values is parsed once.
func textMillis[O int32 | int64](offsets []O, data []byte, bm []byte, off int, dst []int64, null []bool) error {
	offsets = offsets[:len(dst)+1]
	var last []byte
	var lastMS int64
	have := false
	for i := range dst {
		if null[i] = bm != nil && !valid(bm, off+i); null[i] {
			continue
		}
		lo, hi := int64(offsets[i]), int64(offsets[i+1])
		if lo < 0 || hi < lo || hi > int64(len(data)) {
			return fmt.Errorf("row %d: string offsets [%d, %d) out of range [0, %d)", i, lo, hi, len(data))
		}
		s := data[lo:hi]
		if have && string(s) == string(last) {
			dst[i] = lastMS
			continue
		}
		// The string views the message only for the call: time.Parse keeps
		// nothing of it on success, and the error quotes a copy.
		t, err := time.Parse(time.RFC3339Nano, unsafe.String(unsafe.SliceData(s), len(s)))
		if err != nil {
			return &rowError{i, fmt.Errorf("cannot parse %q as RFC 3339", string(s))}
		}
		last, lastMS, have = s, t.UnixMilli(), true
		dst[i] = lastMS
	}
	return nil
}
