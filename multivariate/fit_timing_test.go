package multivariate_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"driftwatch/multivariate"
)

func benchColumns(n, d int) []multivariate.Column {
	rng := rand.New(rand.NewPCG(3, 4))
	base := make([]float64, n)
	for i := range base {
		base[i] = rng.NormFloat64()
	}
	cols := make([]multivariate.Column, d)
	for j := range cols {
		x := make([]float64, n)
		for i := range x {
			x[i] = base[i]*float64(j%3) + rng.NormFloat64()
		}
		cols[j] = multivariate.Column{Name: fmt.Sprint("f", j), Kind: multivariate.Numeric, Num: x}
	}
	return cols
}

// BenchmarkFit and BenchmarkErrors are the batch costs of `check` on a
// 1M-row, 10-feature reference.
func BenchmarkFit(b *testing.B) {
	cols := benchColumns(1_000_000, 10)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := multivariate.Fit(cols, 0.65); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkErrors(b *testing.B) {
	cols := benchColumns(1_000_000, 10)
	m, err := multivariate.Fit(cols, 0.65)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ReportMetric(float64(m.K()), "components")
	for b.Loop() {
		if _, _, err := m.Errors(cols); err != nil {
			b.Fatal(err)
		}
	}
}
