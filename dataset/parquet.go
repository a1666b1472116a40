package dataset

import (
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"runtime"
	"strconv"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"

	"driftwatch/fastfloat"
)

// Parquet is read with parquet-go rather than arrow-go's pqarrow: the
// driftwatch binary stays ~15 MB instead of ~50 MB (measured on a probe
// binary reading one file each way), and only flat columns are needed.
// Columns are read in parallel; plain-encoded numeric pages are copied from
// their decoded buffers, everything else goes value by value.
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
	fields := f.Schema().Fields()
	cols := make([]*pqColumn, len(fields))
	for ci, field := range fields {
		if !field.Leaf() || field.Repeated() {
			return nil, wrap(fmt.Errorf("column %q is nested or repeated; only flat columns are read", field.Name()))
		}
		c := newPQColumn(field, opt.Kinds[field.Name()], t.Rows)
		cols[ci] = c
	}
	errs := make([]error, len(cols))
	forEach(len(cols), runtime.GOMAXPROCS(0), func(ci int) {
		errs[ci] = cols[ci].read(f, ci)
	})
	for ci, c := range cols {
		if errs[ci] != nil {
			return nil, wrap(errs[ci])
		}
		if n := max(len(c.col.Num), len(c.col.Str)); n != t.Rows {
			return nil, wrap(fmt.Errorf("column %q has %d values for %d rows", c.col.Name, n, t.Rows))
		}
		t.Columns = append(t.Columns, c.col)
	}
	return t, nil
}

// pqColumn converts one Parquet column.
type pqColumn struct {
	col      *Column
	phys     parquet.Kind
	scale    int  // decimal scale
	decimal  bool // a decimal logical type
	unsigned bool // an unsigned integer logical type
	float16  bool
	optional bool
	intern   map[string]string
}

func newPQColumn(field parquet.Field, forced Kind, rows int) *pqColumn {
	typ := field.Type()
	c := &pqColumn{phys: typ.Kind(), optional: field.Optional(), intern: map[string]string{}}
	kind := KindCategorical
	switch c.phys {
	case parquet.Int32, parquet.Int64, parquet.Float, parquet.Double:
		kind = KindNumeric
	}
	if lt := typ.LogicalType(); lt != nil {
		switch v := lt.Value.(type) {
		case *format.StringType, *format.EnumType, *format.JsonType, *format.UUIDType, *format.BsonType:
			kind = KindCategorical
		case *format.DecimalType:
			kind, c.decimal, c.scale = KindNumeric, true, int(v.Scale)
		case *format.IntType:
			c.unsigned = !v.IsSigned
		case *format.Float16Type:
			kind, c.float16 = KindNumeric, true
		}
	}
	if forced != KindAuto {
		kind = forced
	}
	c.col = &Column{Name: field.Name(), Kind: kind}
	if kind == KindNumeric {
		c.col.Num = make([]float64, 0, rows)
	} else {
		c.col.Str = make([]string, 0, rows)
	}
	return c
}

func (c *pqColumn) read(f *parquet.File, ci int) error {
	buf := make([]parquet.Value, 1024)
	for _, rg := range f.RowGroups() {
		pages := rg.ColumnChunks()[ci].Pages()
		for {
			p, err := pages.ReadPage()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				pages.Close()
				return err
			}
			if !c.fastPage(p) {
				vr := p.Values()
				for {
					n, err := vr.ReadValues(buf)
					for _, v := range buf[:n] {
						c.add(v)
					}
					if errors.Is(err, io.EOF) {
						break
					}
					if err != nil {
						parquet.Release(p)
						pages.Close()
						return err
					}
				}
			}
			parquet.Release(p)
		}
		pages.Close()
	}
	return nil
}

// fastPage copies a plain-encoded numeric page from its decoded values and
// definition levels; it reports false (having done nothing) for any page it
// does not handle.
func (c *pqColumn) fastPage(p parquet.Page) bool {
	if c.col.Kind != KindNumeric || c.decimal || c.unsigned || c.float16 || p.Dictionary() != nil {
		return false
	}
	n := int(p.NumValues())
	defs := p.DefinitionLevels()
	present := n
	if c.optional {
		if len(defs) != n {
			return false
		}
		present = 0
		for _, d := range defs {
			present += int(d)
		}
	} else if len(defs) != 0 {
		return false
	}
	data := p.Data()
	switch c.phys {
	case parquet.Double:
		return scatter(c.col, data.Double(), defs, n, present)
	case parquet.Float:
		return scatter(c.col, data.Float(), defs, n, present)
	case parquet.Int64:
		return scatter(c.col, data.Int64(), defs, n, present)
	case parquet.Int32:
		return scatter(c.col, data.Int32(), defs, n, present)
	}
	return false
}

// scatter appends n rows: dense holds the present values in order, defs
// (when not empty) marks each row present (1) or null (0).
func scatter[T int32 | int64 | float32 | float64](col *Column, dense []T, defs []byte, n, present int) bool {
	if len(dense) != present {
		return false
	}
	start := len(col.Num)
	col.Num = append(col.Num, make([]float64, n)...)
	out := col.Num[start:]
	if len(defs) == 0 {
		for i, v := range dense {
			out[i] = float64(v)
		}
	} else {
		j := 0
		for i, d := range defs {
			if d != 0 {
				out[i] = float64(dense[j])
				j++
			} else {
				out[i] = math.NaN()
			}
		}
	}
	for _, x := range out {
		if x != x {
			col.Nulls++ // a null row or a NaN value
		}
	}
	return true
}

// add appends one value.
func (c *pqColumn) add(v parquet.Value) {
	col := c.col
	if col.Kind == KindNumeric {
		x := math.NaN()
		switch {
		case v.IsNull():
			col.Nulls++
		case v.Kind() == parquet.ByteArray && !c.decimal:
			x = textNumber(v.ByteArray(), &col.Nulls, &col.Invalid)
		default:
			if f, ok := c.number(v); ok {
				x = f
				if x != x {
					col.Nulls++
				}
			} else {
				col.Invalid++
			}
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
	col.Str = append(col.Str, c.text(v))
	if col.Null != nil {
		col.Null = append(col.Null, false)
	}
}

// number reads a value that holds a number.
func (c *pqColumn) number(v parquet.Value) (float64, bool) {
	switch v.Kind() {
	case parquet.Double:
		return v.Double(), true
	case parquet.Float:
		return float64(v.Float()), true
	case parquet.Int32:
		switch {
		case c.decimal:
			return scaledInt(int64(v.Int32()), c.scale), true
		case c.unsigned:
			return float64(v.Uint32()), true
		}
		return float64(v.Int32()), true
	case parquet.Int64:
		switch {
		case c.decimal:
			return scaledInt(v.Int64(), c.scale), true
		case c.unsigned:
			return float64(v.Uint64()), true
		}
		return float64(v.Int64()), true
	case parquet.ByteArray, parquet.FixedLenByteArray:
		b := v.ByteArray()
		switch {
		case c.decimal:
			return scaled(twosComplement(b), c.scale), true
		case c.float16 && len(b) == 2:
			return float16(uint16(b[0]) | uint16(b[1])<<8), true
		}
	}
	return 0, false
}

// text formats a value for a categorical column.
func (c *pqColumn) text(v parquet.Value) string {
	switch v.Kind() {
	case parquet.ByteArray, parquet.FixedLenByteArray:
		if c.decimal || c.float16 {
			break
		}
		b := v.ByteArray()
		if s, ok := c.intern[string(b)]; ok {
			return s
		}
		s := string(b)
		c.intern[s] = s
		return s
	case parquet.Boolean:
		return strconv.FormatBool(v.Boolean())
	case parquet.Double:
		return strconv.FormatFloat(v.Double(), 'g', -1, 64)
	case parquet.Float:
		return strconv.FormatFloat(float64(v.Float()), 'g', -1, 32)
	case parquet.Int32, parquet.Int64:
		if !c.decimal {
			switch {
			case c.unsigned && v.Kind() == parquet.Int32:
				return strconv.FormatUint(uint64(v.Uint32()), 10)
			case c.unsigned:
				return strconv.FormatUint(v.Uint64(), 10)
			case v.Kind() == parquet.Int32:
				return strconv.FormatInt(int64(v.Int32()), 10)
			}
			return strconv.FormatInt(v.Int64(), 10)
		}
	}
	if f, ok := c.number(v); ok {
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	return v.String()
}

// scaledInt is unscaled / 10^scale, correctly rounded: by one exact
// division when both are exact in float64, else by big.Rat.
func scaledInt(unscaled int64, scale int) float64 {
	if scale >= 0 && scale < len(fastfloat.Pow10) && -1<<53 <= unscaled && unscaled <= 1<<53 {
		return float64(unscaled) / fastfloat.Pow10[scale]
	}
	return scaled(big.NewInt(unscaled), scale)
}

// scaled is unscaled / 10^scale, correctly rounded.
func scaled(unscaled *big.Int, scale int) float64 {
	if scale == 0 && unscaled.IsInt64() {
		return float64(unscaled.Int64())
	}
	den := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(max(scale, -scale))), nil)
	r := new(big.Rat)
	if scale >= 0 {
		r.SetFrac(unscaled, den)
	} else {
		r.SetInt(new(big.Int).Mul(unscaled, den))
	}
	f, _ := r.Float64()
	return f
}

// twosComplement reads a big-endian two's complement integer.
func twosComplement(b []byte) *big.Int {
	x := new(big.Int).SetBytes(b)
	if len(b) > 0 && b[0]&0x80 != 0 {
		x.Sub(x, new(big.Int).Lsh(big.NewInt(1), uint(len(b))*8))
	}
	return x
}

// float16 converts IEEE 754 half-precision bits.
func float16(h uint16) float64 {
	sign := 1.0
	if h&0x8000 != 0 {
		sign = -1
	}
	exp := int(h>>10) & 0x1f
	frac := float64(h & 0x3ff)
	switch exp {
	case 0:
		return sign * math.Ldexp(frac, -24)
	case 0x1f:
		if frac != 0 {
			return math.NaN()
		}
		return math.Inf(int(sign))
	}
	return sign * math.Ldexp(1+frac/1024, exp-15)
}
