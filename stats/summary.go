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
	// Plain comparisons rather than math.Min/IsInf: this runs over every
	// reference value, and NaN fails every comparison on its own.
	inf := math.Inf(1)
	for _, x := range xs {
		if !(x > -inf && x < inf) {
			continue
		}
		s.N++
		sum, comp = kahanAdd(sum, comp, x)
		if x < s.Min {
			s.Min = x
		}
		if x > s.Max {
			s.Max = x
		}
	}
	if s.N == 0 {
		nan := math.NaN()
		return Summary{Min: nan, Max: nan, Mean: nan, Std: nan}
	}
	s.Mean = sum / float64(s.N)
	var ss float64
	comp = 0
	for _, x := range xs {
		if x > -inf && x < inf {
			d := x - s.Mean
			ss, comp = kahanAdd(ss, comp, d*d)
		}
	}
	s.Std = math.Sqrt(ss / float64(s.N))
	return s
}
