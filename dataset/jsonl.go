package dataset

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
)

// jsonCell is one decoded JSON Lines value.
type jsonCell struct {
	num   float64
	str   string
	isNum bool
	null  bool
	raw   bool // an object or array: kept as text, invalid when numeric
}

func readJSONL(data []byte, name string, opt Options) (*Table, error) {
	var (
		names []string
		index = map[string]int{}
		cols  [][]jsonCell
		rows  int
	)
	line := 0
	for len(data) > 0 {
		line++
		var l []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			l, data = data[:i], data[i+1:]
		} else {
			l, data = data, nil
		}
		l = bytes.TrimSpace(l)
		if len(l) == 0 {
			continue
		}
		var err error
		rows, err = decodeJSONLine(l, &names, index, &cols, rows)
		if err != nil {
			return nil, fmt.Errorf("dataset: %q line %d: %v", name, line, err)
		}
	}
	if rows == 0 {
		return nil, fmt.Errorf("dataset: %q is empty", name)
	}
	t := &Table{Path: name, Rows: rows}
	for ci, n := range names {
		t.Columns = append(t.Columns, jsonColumn(n, cols[ci], opt.Kinds[n]))
	}
	return t, nil
}

// decodeJSONLine appends one object's values to the columns, creating new
// columns (null in earlier rows) on first sight of a key, and returns the new
// row count.
func decodeJSONLine(l []byte, names *[]string, index map[string]int, colsp *[][]jsonCell, rows int) (int, error) {
	cols := *colsp
	defer func() { *colsp = cols }()
	dec := json.NewDecoder(bytes.NewReader(l))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return rows, jsonErr(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return rows, errors.New("expected a JSON object")
	}
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return rows, jsonErr(err)
		}
		key := kt.(string)
		var v any
		if err := dec.Decode(&v); err != nil {
			return rows, jsonErr(err)
		}
		ci, ok := index[key]
		if !ok {
			ci = len(*names)
			index[key] = ci
			*names = append(*names, key)
			col := make([]jsonCell, rows) // earlier rows: missing = null
			for r := range col {
				col[r].null = true
			}
			cols = append(cols, col)
		}
		if len(cols[ci]) > rows {
			continue // a repeated key: the first value wins
		}
		cols[ci] = append(cols[ci], toCell(v))
	}
	if _, err := dec.Token(); err != nil {
		return rows, jsonErr(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return rows, errors.New("unexpected data after the object")
	}
	rows++
	for ci := range cols {
		if len(cols[ci]) < rows {
			cols[ci] = append(cols[ci], jsonCell{null: true})
		}
	}
	return rows, nil
}

// jsonErr names a line that ends inside a value.
func jsonErr(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

func toCell(v any) jsonCell {
	switch x := v.(type) {
	case nil:
		return jsonCell{null: true}
	case json.Number:
		f, err := strconv.ParseFloat(string(x), 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			return jsonCell{str: string(x)}
		}
		return jsonCell{num: f, isNum: true, str: string(x)}
	case string:
		return jsonCell{str: x}
	case bool:
		return jsonCell{str: strconv.FormatBool(x)}
	}
	b, _ := json.Marshal(v)
	return jsonCell{str: string(b), raw: true}
}

func jsonColumn(name string, cells []jsonCell, kind Kind) *Column {
	if kind == KindAuto {
		numeric, nonNull := 0, 0
		for _, c := range cells[:min(inferRows, len(cells))] {
			if c.null {
				continue
			}
			nonNull++
			if c.isNum {
				numeric++
			}
		}
		kind = kindVote(numeric, nonNull)
	}
	col := &Column{Name: name, Kind: kind}
	if kind == KindNumeric {
		col.Num = make([]float64, len(cells))
		for i, c := range cells {
			x := math.NaN()
			switch {
			case c.null:
				col.Nulls++
			case c.isNum:
				x = c.num
			case !c.raw:
				// A string holding a number counts as that number.
				if v, ok := parseFloat(trimSpace([]byte(c.str))); ok {
					x = v
				} else {
					col.Invalid++
				}
			default:
				col.Invalid++
			}
			col.Num[i] = x
		}
		return col
	}
	col.Str = make([]string, len(cells))
	for i, c := range cells {
		if c.null {
			if col.Null == nil {
				col.Null = make([]bool, len(cells))
			}
			col.Null[i] = true
			col.Nulls++
			continue
		}
		col.Str[i] = c.str
	}
	return col
}
