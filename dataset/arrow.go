package dataset

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"driftwatch/events"
)

// readArrow reads an Arrow IPC file ("ARROW1" magic) or stream.
func readArrow(data []byte, name string, opt Options) (t *Table, err error) {
	wrap := func(err error) error { return fmt.Errorf("dataset: %q: cannot read arrow: %w", name, err) }
	// arrow-go panics on some corrupt inputs; a bad file must be an error.
	// A compressed buffer with a misdeclared length fails far from the
	// cause (a short buffer), so that cause is looked for and named.
	defer func() {
		if r := recover(); r != nil {
			t, err = nil, wrap(fmt.Errorf("corrupt input: %v", r))
		}
		if err != nil {
			var le *events.BufferLengthError
			if errors.As(events.CheckCompressedLengths(data, min(256*len(data)+1<<20, 1<<30)), &le) {
				t, err = nil, wrap(le)
			}
		}
	}()
	var (
		schema  *arrow.Schema
		records []arrow.RecordBatch
	)
	if bytes.HasPrefix(data, []byte("ARROW1")) {
		fr, err := ipc.NewFileReader(bytes.NewReader(data), ipc.WithAllocator(memory.DefaultAllocator))
		if err != nil {
			return nil, wrap(err)
		}
		defer fr.Close()
		schema = fr.Schema()
		for i := range fr.NumRecords() {
			rec, err := fr.RecordBatch(i)
			if err != nil {
				return nil, wrap(err)
			}
			rec.Retain()
			records = append(records, rec)
		}
	} else {
		sr, err := ipc.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, wrap(err)
		}
		defer sr.Release()
		schema = sr.Schema()
		for sr.Next() {
			rec := sr.RecordBatch()
			rec.Retain()
			records = append(records, rec)
		}
		if err := sr.Err(); err != nil && !errors.Is(err, io.EOF) {
			return nil, wrap(err)
		}
	}
	defer func() {
		for _, r := range records {
			r.Release()
		}
	}()
	t = &Table{Path: name}
	for _, r := range records {
		t.Rows += int(r.NumRows())
	}
	if t.Rows == 0 {
		return nil, fmt.Errorf("dataset: %q has a header but no rows", name)
	}
	for ci, f := range schema.Fields() {
		kind := arrowKind(f.Type)
		if forced := opt.Kinds[f.Name]; forced != KindAuto {
			kind = forced
		}
		col := &Column{Name: f.Name, Kind: kind}
		if kind == KindNumeric {
			col.Num = make([]float64, 0, t.Rows)
		} else {
			col.Str = make([]string, 0, t.Rows)
		}
		intern := map[string]string{}
		for _, r := range records {
			appendArrow(col, r.Column(ci), intern)
		}
		t.Columns = append(t.Columns, col)
	}
	return t, nil
}

// arrowKind maps a type to a kind: integers, floats and decimals (and
// dictionaries of them) are numeric; strings, booleans and everything else
// categorical.
func arrowKind(dt arrow.DataType) Kind {
	if d, ok := dt.(*arrow.DictionaryType); ok {
		return arrowKind(d.ValueType)
	}
	switch dt.ID() {
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64, arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64,
		arrow.FLOAT16, arrow.FLOAT32, arrow.FLOAT64,
		arrow.DECIMAL32, arrow.DECIMAL64, arrow.DECIMAL128, arrow.DECIMAL256:
		return KindNumeric
	}
	return KindCategorical
}

// appendArrow appends one array's values to col. Null slots are null; in a
// numeric column a NaN value is null too, and a value that is not a number
// (a string that does not parse, a boolean) is invalid.
func appendArrow(col *Column, arr arrow.Array, intern map[string]string) {
	if col.Kind == KindNumeric {
		switch a := arr.(type) {
		case *array.Float64:
			appendNums(col, arr, a.Values())
		case *array.Float32:
			appendNums(col, arr, a.Values())
		case *array.Int64:
			appendNums(col, arr, a.Values())
		case *array.Int32:
			appendNums(col, arr, a.Values())
		case *array.Int16:
			appendNums(col, arr, a.Values())
		case *array.Int8:
			appendNums(col, arr, a.Values())
		case *array.Uint64:
			appendNums(col, arr, a.Values())
		case *array.Uint32:
			appendNums(col, arr, a.Values())
		case *array.Uint16:
			appendNums(col, arr, a.Values())
		case *array.Uint8:
			appendNums(col, arr, a.Values())
		default:
			for i := range arr.Len() {
				col.Num = append(col.Num, arrowNumber(col, arr, i))
			}
		}
		return
	}
	for i := range arr.Len() {
		s, null := arrowText(arr, i, intern)
		if null {
			if col.Null == nil {
				col.Null = make([]bool, len(col.Str), cap(col.Str))
			}
			col.Null = append(col.Null, true)
			col.Str = append(col.Str, "")
			col.Nulls++
			continue
		}
		col.Str = append(col.Str, s)
		if col.Null != nil {
			col.Null = append(col.Null, false)
		}
	}
}

func appendNums[T int8 | int16 | int32 | int64 | uint8 | uint16 | uint32 | uint64 | float32 | float64](col *Column, arr arrow.Array, vals []T) {
	start := len(col.Num)
	col.Num = slices.Grow(col.Num, len(vals))[:start+len(vals)]
	out := col.Num[start:]
	for i, v := range vals {
		out[i] = float64(v)
	}
	if arr.NullN() > 0 {
		for i := range out {
			if arr.IsNull(i) {
				out[i] = math.NaN()
			}
		}
	}
	for _, x := range out {
		if x != x {
			col.Nulls++
		}
	}
}

// arrowNumber converts slot i of a numeric column's array.
func arrowNumber(col *Column, arr arrow.Array, i int) float64 {
	if arr.IsNull(i) {
		col.Nulls++
		return math.NaN()
	}
	var x float64
	switch a := arr.(type) {
	case *array.Dictionary:
		return arrowNumber(col, a.Dictionary(), a.GetValueIndex(i))
	case *array.Float16:
		x = float64(a.Value(i).Float32())
	case *array.Decimal32:
		x = a.Value(i).ToFloat64(a.DataType().(*arrow.Decimal32Type).Scale)
	case *array.Decimal64:
		x = a.Value(i).ToFloat64(a.DataType().(*arrow.Decimal64Type).Scale)
	case *array.Decimal128:
		x = a.Value(i).ToFloat64(a.DataType().(*arrow.Decimal128Type).Scale)
	case *array.Decimal256:
		x = a.Value(i).ToFloat64(a.DataType().(*arrow.Decimal256Type).Scale)
	case *array.String:
		return textNumber(bytesOf(a.Value(i)), &col.Nulls, &col.Invalid)
	case *array.LargeString:
		return textNumber(bytesOf(a.Value(i)), &col.Nulls, &col.Invalid)
	case *array.StringView:
		return textNumber(bytesOf(a.Value(i)), &col.Nulls, &col.Invalid)
	default:
		if f, ok := arrowFloat(arr, i); ok {
			x = f
		} else {
			col.Invalid++
			return math.NaN()
		}
	}
	if x != x {
		col.Nulls++
	}
	return x
}

// arrowFloat reads slot i of a primitive numeric array (a dictionary's
// values, say).
func arrowFloat(arr arrow.Array, i int) (float64, bool) {
	switch a := arr.(type) {
	case *array.Float64:
		return a.Value(i), true
	case *array.Float32:
		return float64(a.Value(i)), true
	case *array.Int64:
		return float64(a.Value(i)), true
	case *array.Int32:
		return float64(a.Value(i)), true
	case *array.Int16:
		return float64(a.Value(i)), true
	case *array.Int8:
		return float64(a.Value(i)), true
	case *array.Uint64:
		return float64(a.Value(i)), true
	case *array.Uint32:
		return float64(a.Value(i)), true
	case *array.Uint16:
		return float64(a.Value(i)), true
	case *array.Uint8:
		return float64(a.Value(i)), true
	}
	return 0, false
}

// arrowText reads slot i of a categorical column's array as text: strings
// as they are (copied once per distinct value, so the table does not keep
// the file's buffers), booleans as "true"/"false", floats by strconv 'g' -1,
// anything else by its ValueStr.
func arrowText(arr arrow.Array, i int, intern map[string]string) (string, bool) {
	if arr.IsNull(i) {
		return "", true
	}
	var s string
	switch a := arr.(type) {
	case *array.Dictionary:
		return arrowText(a.Dictionary(), a.GetValueIndex(i), intern)
	case *array.String:
		s = a.Value(i)
	case *array.LargeString:
		s = a.Value(i)
	case *array.StringView:
		s = a.Value(i)
	case *array.Boolean:
		return strconv.FormatBool(a.Value(i)), false
	default:
		return arr.ValueStr(i), false
	}
	if v, ok := intern[s]; ok {
		return v, false
	}
	v := strings.Clone(s)
	intern[v] = v
	return v, false
}
