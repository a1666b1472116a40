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
	if s.Mean > -inf && s.Mean < inf {
		for _, x := range xs {
			if x > -inf && x < inf {
				d := x - s.Mean
				ss, comp = kahanAdd(ss, comp, d*d)
			}
		}
		s.Std = math.Sqrt(ss / float64(s.N))
	} else {
		s.Std = inf
	}
	if !(s.Std < inf) {
		// The sum or the squares overflowed (values beyond ~1e154): the
		// same two passes over the values divided by a power of two near
		// the largest magnitude (an exact division), scaled back. This is
		// numpy's mean and std of the scaled values times the scale.
		s.Mean, s.Std = scaledMeanStd(xs, s.N, math.Max(math.Abs(s.Min), math.Abs(s.Max)))
	}
	return s
}

// scaledMeanStd is the compensated two-pass mean and population std of
// the n finite values of xs computed on x/2^e, where 2^e is the power of
// two at or above big (the largest magnitude): nothing overflows.
func scaledMeanStd(xs []float64, n int, big float64) (mean, std float64) {
	_, e := math.Frexp(big)
	inf := math.Inf(1)
	var sum, comp float64
	for _, x := range xs {
		if x > -inf && x < inf {
			sum, comp = kahanAdd(sum, comp, math.Ldexp(x, -e))
		}
	}
	m := sum / float64(n)
	var ss float64
	comp = 0
	for _, x := range xs {
		if x > -inf && x < inf {
			d := math.Ldexp(x, -e) - m
			ss, comp = kahanAdd(ss, comp, d*d)
		}
	}
	return math.Ldexp(m, e), math.Ldexp(math.Sqrt(ss/float64(n)), e)
}
