package dataset

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// readArrow reads an Arrow IPC file ("ARROW1" magic) or stream.
func readArrow(data []byte, name string, opt Options) (t *Table, err error) {
	wrap := func(err error) error { return fmt.Errorf("dataset: %q: cannot read arrow: %w", name, err) }
	// arrow-go panics on some corrupt inputs; a bad file must be an error.
	defer func() {
		if r := recover(); r != nil {
			t, err = nil, wrap(fmt.Errorf("corrupt input: %v", r))
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
		for _, r := range records {
			appendArrow(col, r.Column(ci))
		}
		t.Columns = append(t.Columns, col)
	}
	return t, nil
}

func arrowKind(dt arrow.DataType) Kind {
	switch dt.ID() {
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64, arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64,
		arrow.FLOAT16, arrow.FLOAT32, arrow.FLOAT64, arrow.DECIMAL128, arrow.DECIMAL256:
		return KindNumeric
	}
	return KindCategorical
}

// appendArrow appends one array's values to col.
func appendArrow(col *Column, arr arrow.Array) {
	n := arr.Len()
	if col.Kind == KindNumeric {
		if f, ok := arr.(*array.Float64); ok && arr.NullN() == 0 {
			col.Num = append(col.Num, f.Float64Values()...) // the common case: one copy
			return
		}
		for i := range n {
			x := math.NaN()
			if arr.IsNull(i) {
				col.Nulls++
			} else if v, ok := arrowNumber(arr, i); ok {
				x = v
			} else {
				col.Invalid++
			}
			col.Num = append(col.Num, x)
		}
		return
	}
	for i := range n {
		if arr.IsNull(i) {
			if col.Null == nil {
				col.Null = make([]bool, len(col.Str), len(col.Str)+n)
			}
			col.Null = append(col.Null, true)
			col.Str = append(col.Str, "")
			col.Nulls++
			continue
		}
		var s string
		switch a := arr.(type) {
		case *array.String:
			s = a.Value(i)
		case *array.LargeString:
			s = a.Value(i)
		case *array.Boolean:
			s = strconv.FormatBool(a.Value(i))
		case *array.Float64:
			s = strconv.FormatFloat(a.Value(i), 'g', -1, 64)
		case *array.Dictionary:
			s = a.Dictionary().ValueStr(a.GetValueIndex(i))
		default:
			s = arr.ValueStr(i)
		}
		col.Str = append(col.Str, s)
		if col.Null != nil {
			col.Null = append(col.Null, false)
		}
	}
}

func arrowNumber(arr arrow.Array, i int) (float64, bool) {
	switch a := arr.(type) {
	case *array.Float64:
		return a.Value(i), true
	case *array.Float32:
		return float64(a.Value(i)), true
	case *array.Float16:
		return float64(a.Value(i).Float32()), true
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
	case *array.Decimal128:
		return a.Value(i).ToFloat64(a.DataType().(*arrow.Decimal128Type).Scale), true
	case *array.String:
		return parseFloat(trimSpace([]byte(a.Value(i))))
	case *array.LargeString:
		return parseFloat(trimSpace([]byte(a.Value(i))))
	}
	return 0, false
}
