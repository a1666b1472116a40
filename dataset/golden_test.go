package dataset

import (
	"encoding/json"
	"math"
	"os"
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
