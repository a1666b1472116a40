package multivariate_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"driftwatch/multivariate"
)

// BenchmarkRowError is the streaming hot loop's cost per event: one
// standardised row's reconstruction error, allocation-free.
func BenchmarkRowError(b *testing.B) {
	for _, d := range []int{8, 20} {
		b.Run(fmt.Sprintf("d=%d", d), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 2))
			n := 2000
			cols := make([]multivariate.Column, d)
			base := make([]float64, n)
			for i := range base {
				base[i] = rng.NormFloat64()
			}
			for j := range cols {
				x := make([]float64, n)
				for i := range x {
					x[i] = base[i] + rng.NormFloat64()*float64(j+1)/4
				}
				cols[j] = multivariate.Column{Name: fmt.Sprint("f", j), Kind: multivariate.Numeric, Num: x}
			}
			m, err := multivariate.Fit(cols, 0.65)
			if err != nil {
				b.Fatal(err)
			}
			z := make([]float64, m.D())
			for j := range z {
				z[j] = m.Features[j].Standardize(cols[j].Num[0])
			}
			proj := make([]float64, m.K())
			b.ReportAllocs()
			b.ResetTimer()
			s := 0.0
			for b.Loop() {
				s += m.RowError(z, proj)
			}
			b.ReportMetric(float64(m.K()), "components")
			_ = s
		})
		// An event as the stream sees it: raw values standardised (missing
		// ones imputed), then the error.
		b.Run(fmt.Sprintf("event/d=%d", d), func(b *testing.B) {
			cols := benchColumns(2000, d)
			m, err := multivariate.Fit(cols, 0.65)
			if err != nil {
				b.Fatal(err)
			}
			x := make([]float64, m.D())
			for j := range x {
				x[j] = cols[j].Num[1]
			}
			x[0] = math.NaN()
			z, proj := make([]float64, m.D()), make([]float64, m.K())
			b.ReportAllocs()
			s := 0.0
			for b.Loop() {
				for j := range z {
					z[j] = m.Features[j].Standardize(x[j])
				}
				s += m.RowError(z, proj)
			}
			b.ReportMetric(float64(m.K()), "components")
			_ = s
		})
	}
}

func TestRowErrorAllocates0(t *testing.T) {
	cols := []multivariate.Column{
		{Name: "a", Kind: multivariate.Numeric, Num: []float64{1, 2, 3, 4, 5}},
		{Name: "b", Kind: multivariate.Numeric, Num: []float64{2, 1, 4, 3, 6}},
		{Name: "c", Kind: multivariate.Numeric, Num: []float64{0, 1, 0, 1, 0}},
	}
	m, err := multivariate.Fit(cols, 0.65)
	if err != nil {
		t.Fatal(err)
	}
	z, proj := []float64{0.1, -0.2, 0.3}, make([]float64, m.K())
	if a := testing.AllocsPerRun(100, func() { m.RowError(z, proj) }); a != 0 {
		t.Errorf("RowError allocates %v times per row", a)
	}
}
