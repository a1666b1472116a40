package calibrate

import (
	"fmt"
	"math/rand/v2"

	"driftwatch/dataset"
	"driftwatch/profile"
)

// Shares of the categories of Synthetic's categorical features.
var syntheticShares = []float64{0.40, 0.25, 0.15, 0.12, 0.08}

// Synthetic builds the profile of a synthetic reference of rows rows:
// numeric features x01… drawn from N(0, 1) and categorical features c01…
// with five categories a–e at 40/25/15/12/8 %, from a fixed seed. The
// README's power table, the tests and the benchmark use it.
func Synthetic(numeric, categorical, rows int, seed uint64) (*profile.Profile, error) {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	t := &dataset.Table{Path: fmt.Sprintf("synthetic(%d numeric, %d categorical, %d rows, seed %d)", numeric, categorical, rows, seed), Rows: rows}
	for i := range numeric {
		c := &dataset.Column{Name: fmt.Sprintf("x%02d", i+1), Kind: dataset.KindNumeric, Num: make([]float64, rows)}
		for j := range c.Num {
			c.Num[j] = r.NormFloat64()
		}
		t.Columns = append(t.Columns, c)
	}
	names := []string{"a", "b", "c", "d", "e"}
	for i := range categorical {
		c := &dataset.Column{Name: fmt.Sprintf("c%02d", i+1), Kind: dataset.KindCategorical, Str: make([]string, rows)}
		for j := range c.Str {
			u, k := r.Float64(), 0
			for k < len(syntheticShares)-1 && u >= syntheticShares[k] {
				u -= syntheticShares[k]
				k++
			}
			c.Str[j] = names[k]
		}
		t.Columns = append(t.Columns, c)
	}
	return profile.Build(t, profile.Options{})
}
