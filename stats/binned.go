package stats

import "math"

// The streaming monitor keeps histograms, not values. These functions give
// the KS statistic and Wasserstein-1 from two count vectors over the same
// bins (interior edges e_0 < … < e_{k−2}, open outer bins), with how far the
// result can be from the exact statistic on the raw values.

// KSBinned returns the largest difference of the two cumulative shares at
// the bin edges, and a bound on its error: inside a bin each CDF rises by at
// most that bin's share, so the exact D lies in [d, d + bound] with bound =
// max over bins of max(ref share, cur share). With quantile bins of the
// reference the ref shares are ~1/k; the bound grows only where the current
// data piles into one bin, i.e. where D is large anyway.
func KSBinned(ref, cur []float64) (d, bound float64) {
	rt, ct := sumCounts(ref), sumCounts(cur)
	var rc, cc float64
	for i := range ref {
		r, c := ref[i]/rt, cur[i]/ct
		bound = math.Max(bound, math.Max(r, c))
		rc += r
		cc += c
		if i < len(ref)-1 {
			d = math.Max(d, math.Abs(rc-cc))
		}
	}
	return d, bound
}

// WassersteinBinned approximates ∫|F_ref − F_cur| with both CDFs linear
// inside each bin (values spread evenly); lo and hi close the outer bins
// (the smallest and largest value seen on either side). The integral of the
// piecewise-linear difference is exact, including where it changes sign
// within a bin; the approximation error is at most Σ bin width × max(ref
// share, cur share).
func WassersteinBinned(edges, ref, cur []float64, lo, hi float64) float64 {
	rt, ct := sumCounts(ref), sumCounts(cur)
	var w, rc, cc float64
	left := lo
	for i := range ref {
		right := hi
		if i < len(edges) {
			right = edges[i]
		}
		if right < left {
			right = left // lo/hi inside the edge range: an empty outer span
		}
		d0 := rc - cc
		rc += ref[i] / rt
		cc += cur[i] / ct
		d1 := rc - cc
		w += absLinearIntegral(d0, d1, right-left)
		left = right
	}
	return w
}

// absLinearIntegral is ∫₀^width |d0 + (d1−d0)·t/width| dt.
func absLinearIntegral(d0, d1, width float64) float64 {
	if width <= 0 {
		return 0
	}
	if d0*d1 >= 0 {
		return width * math.Abs(d0+d1) / 2
	}
	// The line crosses zero at t = width·|d0|/(|d0|+|d1|): two triangles.
	a, b := math.Abs(d0), math.Abs(d1)
	return width * (a*a + b*b) / (2 * (a + b))
}
