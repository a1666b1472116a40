package dataset

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
)

// Parquet is read with parquet-go rather than arrow-go's pqarrow: the
// driftwatch binary stays ~15 MB instead of ~50 MB (measured on a probe
// binary reading one file each way), and only flat columns are needed.
func readParquet(r io.ReaderAt, size int64, name string, opt Options) (*Table, error) {
	wrap := func(err error) error { return fmt.Errorf("dataset: %q: cannot read parquet: %w", name, err) }
	f, err := parquet.OpenFile(r, size)
	if err != nil {
		return nil, wrap(err)
	}
	t := &Table{Path: name, Rows: int(f.NumRows())}
	if t.Rows == 0 {
		return nil, fmt.Errorf("dataset: %q has a header but no rows", name)
	}
	buf := make([]parquet.Value, 4096)
	for ci, field := range f.Schema().Fields() {
		if !field.Leaf() || field.Repeated() {
			return nil, wrap(fmt.Errorf("column %q is nested or repeated; only flat columns are read", field.Name()))
		}
		kind, scale := parquetKind(field.Type())
		if forced := opt.Kinds[field.Name()]; forced != KindAuto {
			kind = forced
		}
		col := &Column{Name: field.Name(), Kind: kind}
		if kind == KindNumeric {
			col.Num = make([]float64, 0, t.Rows)
		} else {
			col.Str = make([]string, 0, t.Rows)
		}
		intern := map[string]string{}
		for _, rg := range f.RowGroups() {
			pages := rg.ColumnChunks()[ci].Pages()
			for {
				p, err := pages.ReadPage()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					pages.Close()
					return nil, wrap(err)
				}
				vr := p.Values()
				for {
					n, err := vr.ReadValues(buf)
					for _, v := range buf[:n] {
						appendParquetValue(col, v, scale, intern)
					}
					if errors.Is(err, io.EOF) {
						break
					}
					if err != nil {
						pages.Close()
						return nil, wrap(err)
					}
				}
				parquet.Release(p)
			}
			pages.Close()
		}
		if n := max(len(col.Num), len(col.Str)); n != t.Rows {
			return nil, wrap(fmt.Errorf("column %q has %d values for %d rows", col.Name, n, t.Rows))
		}
		t.Columns = append(t.Columns, col)
	}
	return t, nil
}

// parquetKind maps a physical and logical type to a kind; scale is the
// decimal scale of integer-backed decimals.
func parquetKind(typ parquet.Type) (Kind, int) {
	if lt := typ.LogicalType(); lt != nil {
		switch v := lt.Value.(type) {
		case *format.StringType, *format.EnumType, *format.JsonType, *format.UUIDType:
			return KindCategorical, 0
		case *format.DecimalType:
			if typ.Kind() == parquet.Int32 || typ.Kind() == parquet.Int64 {
				return KindNumeric, int(v.Scale)
			}
			return KindCategorical, 0
		}
	}
	switch typ.Kind() {
	case parquet.Int32, parquet.Int64, parquet.Float, parquet.Double:
		return KindNumeric, 0
	}
	return KindCategorical, 0
}

func appendParquetValue(col *Column, v parquet.Value, scale int, intern map[string]string) {
	if col.Kind == KindNumeric {
		x := math.NaN()
		switch {
		case v.IsNull():
			col.Nulls++
		case v.Kind() == parquet.Int32:
			x = float64(v.Int32()) / math.Pow10(scale)
		case v.Kind() == parquet.Int64:
			x = float64(v.Int64()) / math.Pow10(scale)
		case v.Kind() == parquet.Float:
			x = float64(v.Float())
		case v.Kind() == parquet.Double:
			x = v.Double()
		case v.Kind() == parquet.ByteArray || v.Kind() == parquet.FixedLenByteArray:
			var err error
			if x, err = strconv.ParseFloat(string(v.ByteArray()), 64); err != nil {
				x = math.NaN()
				col.Invalid++
			}
		default:
			col.Invalid++
		}
		col.Num = append(col.Num, x)
		return
	}
	if v.IsNull() {
		if col.Null == nil {
			col.Null = make([]bool, len(col.Str), cap(col.Str))
		}
		col.Null = append(col.Null, true)
		col.Str = append(col.Str, "")
		col.Nulls++
		return
	}
	var s string
	switch v.Kind() {
	case parquet.ByteArray, parquet.FixedLenByteArray:
		b := v.ByteArray()
		if interned, ok := intern[string(b)]; ok {
			s = interned
		} else {
			s = string(b)
			intern[s] = s
		}
	case parquet.Boolean:
		s = strconv.FormatBool(v.Boolean())
	case parquet.Double:
		s = strconv.FormatFloat(v.Double(), 'g', -1, 64)
	case parquet.Float:
		s = strconv.FormatFloat(float64(v.Float()), 'g', -1, 32)
	default:
		s = v.String()
	}
	col.Str = append(col.Str, s)
	if col.Null != nil {
		col.Null = append(col.Null, false)
	}
}
