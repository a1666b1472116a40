package stats

import "math"

// Wasserstein1 is scipy.stats.wasserstein_distance(a, b): ∫|F_a − F_b| for
// sorted, NaN-free, finite samples, by one merge walk with compensated
// summation and no allocation. Callers drop ±Inf first: the distance is
// undefined with them.
func Wasserstein1(a, b []float64) float64 {
	na, nb := len(a), len(b)
	if na == 0 || nb == 0 {
		return math.NaN()
	}
	fa, fb := float64(na), float64(nb)
	i, j := 0, 0
	var sum, comp float64
	prev := math.Min(a[0], b[0])
	for i < na || j < nb {
		x := math.Inf(1)
		if i < na {
			x = a[i]
		}
		if j < nb && b[j] < x {
			x = b[j]
		}
		// Between prev and x both CDFs are constant at i/na and j/nb.
		sum, comp = kahanAdd(sum, comp, math.Abs(float64(i)/fa-float64(j)/fb)*(x-prev))
		prev = x
		for i < na && a[i] == x {
			i++
		}
		for j < nb && b[j] == x {
			j++
		}
	}
	return sum
}

// StdFloor keeps the normalized Wasserstein distance finite for a constant
// reference.
const StdFloor = 1e-3

// NormalizedWasserstein is the Wasserstein distance in units of the
// reference's standard deviation (floored at StdFloor), the distance `check`
// and the stream decide numeric drift by.
func NormalizedWasserstein(w, refStd float64) float64 {
	return w / math.Max(refStd, StdFloor)
}
