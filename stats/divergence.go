package stats

import "math"

func sumCounts(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s
}

// PSI is the population stability index of two count vectors of equal
// length: proportions r = ref/Σref and c = cur/Σcur, each floored at eps
// with no renormalization, PSI = Σ (c − r)·ln(c/r).
func PSI(ref, cur []float64, eps float64) float64 {
	rt, ct := sumCounts(ref), sumCounts(cur)
	s := 0.0
	for i := range ref {
		r := math.Max(ref[i]/rt, eps)
		c := math.Max(cur[i]/ct, eps)
		s += (c - r) * math.Log(c/r)
	}
	return s
}

// PSIThreshold is the sample-size-aware PSI bound
// χ²(1 − alpha; bins − 1)·(1/nRef + 1/nCur) (Yurdakul 2018).
func PSIThreshold(alpha float64, bins int, nRef, nCur float64) float64 {
	return ChiSquareQuantile(1-alpha, bins-1) * (1/nRef + 1/nCur)
}

// JensenShannon is scipy.spatial.distance.jensenshannon(ref, cur, base=2)
// on count vectors (each normalised to sum 1).
func JensenShannon(ref, cur []float64) float64 {
	rt, ct := sumCounts(ref), sumCounts(cur)
	s := 0.0
	for i := range ref {
		p, q := ref[i]/rt, cur[i]/ct
		m := (p + q) / 2
		s += relEntr(p, m) + relEntr(q, m)
	}
	return math.Sqrt(s / math.Ln2 / 2)
}

// relEntr is scipy.special.rel_entr.
func relEntr(x, y float64) float64 {
	switch {
	case x > 0 && y > 0:
		return x * math.Log(x/y)
	case x == 0 && y >= 0:
		return 0
	}
	return math.Inf(1)
}

// Hellinger is the Hellinger distance sqrt(½·Σ(√p − √q)²) of two count
// vectors normalised to proportions.
func Hellinger(ref, cur []float64) float64 {
	rt, ct := sumCounts(ref), sumCounts(cur)
	s := 0.0
	for i := range ref {
		d := math.Sqrt(ref[i]/rt) - math.Sqrt(cur[i]/ct)
		s += d * d
	}
	return math.Sqrt(0.5 * s)
}
