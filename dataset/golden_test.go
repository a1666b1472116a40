package dataset

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strings"
	"testing"
)

// A one-column CSV whose line holds only "" has a row with a null there,
// as pandas.read_csv reads it (testdata/golden/gen_golden.py); only a line
// with nothing on it is no row. Both the quote-aware parser and kind
// inference see it.
func TestGoldenCSVQuotedEmptyIsNullRow(t *testing.T) {
	data, err := os.ReadFile("../testdata/golden/golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		CSV []struct {
			Name    string
			Text    string
			Rows    int
			Nulls   int
			Numeric bool
			Values  []any
		}
	}
	if err := json.Unmarshal(data, &g); err != nil {
		t.Fatal(err)
	}
	if len(g.CSV) == 0 {
		t.Fatal("golden.json has no csv cases")
	}
	for _, c := range g.CSV {
		tab := mustRead(t, c.Name+".csv", c.Text, Options{})
		col := tab.Columns[0]
		if tab.Rows != c.Rows || col.Nulls != c.Nulls || (col.Kind == KindNumeric) != c.Numeric {
			t.Errorf("%s: rows %d nulls %d kind %v, pandas %d %d numeric %v", c.Name, tab.Rows, col.Nulls, col.Kind, c.Rows, c.Nulls, c.Numeric)
			continue
		}
		for i, want := range c.Values {
			switch {
			case col.Kind == KindNumeric && want == nil:
				if !math.IsNaN(col.Num[i]) {
					t.Errorf("%s row %d: %v, pandas null", c.Name, i, col.Num[i])
				}
			case col.Kind == KindNumeric:
				if col.Num[i] != want.(float64) {
					t.Errorf("%s row %d: %v, pandas %v", c.Name, i, col.Num[i], want)
				}
			case want == nil:
				if col.Null == nil || !col.Null[i] {
					t.Errorf("%s row %d: %q, pandas null", c.Name, i, col.Str[i])
				}
			default:
				if col.Str[i] != want.(string) || col.Null != nil && col.Null[i] {
					t.Errorf("%s row %d: %q, pandas %q", c.Name, i, col.Str[i], want)
				}
			}
		}
	}
}

// The parallel quote-aware parse keeps the quoted empty lines as rows, in
// any number of chunks.
func TestParallelQuotedEmptyLines(t *testing.T) {
	var b strings.Builder
	b.WriteString("x\n")
	rows, nulls := 0, 0
	for i := range 60_000 {
		switch {
		case i%7 == 0:
			b.WriteString("\"\"\n")
			rows++
			nulls++
		case i%11 == 0:
			b.WriteString("\n") // blank: no row
		default:
			fmt.Fprintf(&b, "%d\n", i)
			rows++
		}
	}
	data := []byte(b.String())
	for _, cfg := range []csvConfig{{workers: 1, chunks: 1}, {workers: 2, chunks: 3}, {workers: 4, chunks: 16}} {
		tab, err := readCSVBytes(t, data, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if c := tab.Columns[0]; tab.Rows != rows || c.Nulls != nulls || !math.IsNaN(c.Num[0]) || c.Num[1] != 1 {
			t.Fatalf("%+v: rows %d nulls %d, want %d %d", cfg, tab.Rows, c.Nulls, rows, nulls)
		}
	}
}
