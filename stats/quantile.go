package stats

import "math"

// Quantile returns numpy.quantile(sorted, q) with the default "linear"
// method; sorted is ascending, NaN-free and non-empty.
func Quantile(sorted []float64, q float64) float64 {
	n := len(sorted)
	h := q * float64(n-1)
	lo := math.Floor(h)
	i := int(lo)
	if i >= n-1 {
		return sorted[n-1]
	}
	a, b := sorted[i], sorted[i+1]
	g := h - lo
	// numpy's _lerp: a + (b−a)·g, computed from the upper end when g ≥ ½ so
	// the result is monotone and exact at the ends.
	if g >= 0.5 {
		return b - (b-a)*(1-g)
	}
	return a + (b-a)*g
}

// QuantileEdges appends to dst the bins−1 interior edges at levels k/bins,
// k = 1…bins−1.
func QuantileEdges(dst, sorted []float64, bins int) []float64 {
	for k := 1; k < bins; k++ {
		dst = append(dst, Quantile(sorted, float64(k)/float64(bins)))
	}
	return dst
}
