package cbpe

import (
	"math"
	"math/rand/v2"
	"testing"
)

// benchData is n rows of scores with 4 decimals, labels drawn with P(1) =
// score^1.5 and predictions at 0.5, as bench/estimate/gen.py writes them.
func benchData(n int, seed uint64) (s, y, p []float64) {
	r := rand.New(rand.NewPCG(seed, 2))
	s, y, p = make([]float64, n), make([]float64, n), make([]float64, n)
	for i := range s {
		s[i] = math.Round(r.Float64()*1e4) / 1e4
		if r.Float64() < math.Pow(s[i], 1.5) {
			y[i] = 1
		}
		if s[i] >= 0.5 {
			p[i] = 1
		}
	}
	return s, y, p
}

// BenchmarkFit fits on a 100k-row reference (calibration always: one
// isotonic fit, the sampling-error components with their bootstrap).
func BenchmarkFit(b *testing.B) {
	s, y, p := benchData(100_000, 1)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Fit(s, y, p, CalibrationAlways); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEstimate estimates one chunk of 1M rows.
func BenchmarkEstimate(b *testing.B) {
	s, y, p := benchData(100_000, 1)
	ref, err := Fit(s, y, p, CalibrationAlways)
	if err != nil {
		b.Fatal(err)
	}
	cs, _, cp := benchData(1_000_000, 2)
	b.ReportAllocs()
	for b.Loop() {
		ref.Estimate(cs, cp)
	}
}
