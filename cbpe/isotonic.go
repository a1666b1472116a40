package cbpe

import (
	"fmt"
	"math"
	"slices"
	"sort"

	"driftwatch/stats"
)

// Isotonic is a fitted increasing isotonic regression, as scikit-learn's
// IsotonicRegression(increasing=True, out_of_bounds="clip") leaves it after
// fit: the thresholds X (strictly increasing) and their values Y
// (non-decreasing). Between thresholds the function is linear, outside it is
// clipped to the first and last value. It is a plain piecewise-linear map, so
// a streaming window can calibrate each score as it arrives, or a histogram's
// bin edges once.
type Isotonic struct {
	X []float64 `json:"x"`
	Y []float64 `json:"y"`

	// grid[c] is the last threshold at or below the start of cell c of
	// gridCells equal cells over [X[0], X[last]]: a lookup starts there
	// instead of a binary search (see prepare).
	grid    []int32
	gridInv float64
}

// gridCells is the lookup grid's size: with thresholds spread evenly a
// lookup scans a few of them.
const gridCells = 4096

// prepare builds the lookup grid. FitIsotonic and Validate call it; an
// Isotonic without it calibrates by binary search, with the same values.
func (c *Isotonic) prepare() {
	n := len(c.X)
	span := c.X[n-1] - c.X[0]
	if n < 16 || !(span > 0) {
		return
	}
	c.grid = make([]int32, gridCells)
	c.gridInv = gridCells / span
	j := 0
	for k := range c.grid {
		lo := c.X[0] + float64(k)/c.gridInv
		for j+1 < n && c.X[j+1] <= lo {
			j++
		}
		c.grid[k] = int32(j)
	}
}

// below returns the last threshold index j with X[j] <= s, for X[0] < s <
// X[last].
func (c *Isotonic) below(s float64) int {
	if c.grid == nil {
		return sort.Search(len(c.X), func(i int) bool { return c.X[i] > s }) - 1
	}
	k := min(max(int((s-c.X[0])*c.gridInv), 0), gridCells-1)
	j := int(c.grid[k])
	for j > 0 && c.X[j] > s { // rounding put s below its cell's start
		j--
	}
	for j+1 < len(c.X) && c.X[j+1] <= s {
		j++
	}
	return j
}

// uniqueEps is numpy's finfo(float64).resolution: scikit-learn's
// _make_unique treats x values closer than this as one.
const uniqueEps = 1e-15

// FitIsotonic fits y on x with unit weights. Ties in x are averaged (their
// weight is their count), the pool-adjacent-violators algorithm makes the
// values non-decreasing, and thresholds whose value equals both neighbours
// are dropped as scikit-learn does (they change no prediction). x and y must
// be equally long, finite and non-empty.
func FitIsotonic(x, y []float64) (*Isotonic, error) {
	if len(x) != len(y) {
		return nil, fmt.Errorf("cbpe: isotonic fit needs equally long x and y, got %d and %d", len(x), len(y))
	}
	if len(x) == 0 {
		return nil, fmt.Errorf("cbpe: isotonic fit needs at least one value")
	}
	for i := range x {
		if math.IsNaN(x[i]) || math.IsInf(x[i], 0) || math.IsNaN(y[i]) || math.IsInf(y[i], 0) {
			return nil, fmt.Errorf("cbpe: isotonic fit: row %d is not finite (x %v, y %v)", i, x[i], y[i])
		}
	}
	xs, ys := lexsorted(x, y)
	// _make_unique: average y over runs of equal x, weight = run length.
	ux := make([]float64, 0, len(x))
	uy := make([]float64, 0, len(x))
	uw := make([]float64, 0, len(x))
	curX, curY, curW := xs[0], 0.0, 0.0
	for i, v := range xs {
		if v-curX >= uniqueEps {
			ux, uy, uw = append(ux, curX), append(uy, curY/curW), append(uw, curW)
			curX, curY, curW = v, ys[i], 1
			continue
		}
		curW++
		curY += ys[i]
	}
	ux, uy, uw = append(ux, curX), append(uy, curY/curW), append(uw, curW)
	pava(uy, uw)
	// Keep the first and last point and every point whose value differs
	// from one of its neighbours.
	iso := &Isotonic{X: make([]float64, 0, len(ux)), Y: make([]float64, 0, len(ux))}
	for i := range ux {
		if i == 0 || i == len(ux)-1 || uy[i] != uy[i-1] || uy[i] != uy[i+1] {
			iso.X = append(iso.X, ux[i])
			iso.Y = append(iso.Y, uy[i])
		}
	}
	iso.prepare()
	return iso, nil
}

// lexsorted returns x and y ordered as np.lexsort((y, x)): by x, then y.
// Equal (x, y) rows are interchangeable, so any sort gives the same fit.
// Labels of 0 and 1 (CBPE's case) take two radix sorts and a merge, the
// zeros first among equal x.
func lexsorted(x, y []float64) (xs, ys []float64) {
	binary := true
	for _, v := range y {
		if v != 0 && v != 1 {
			binary = false
			break
		}
	}
	if binary {
		var zeros, ones []float64
		for i, v := range y {
			if v == 0 {
				zeros = append(zeros, x[i])
			} else {
				ones = append(ones, x[i])
			}
		}
		scratch := stats.SortFloat64s(zeros, nil)
		stats.SortFloat64s(ones, scratch)
		xs, ys = make([]float64, 0, len(x)), make([]float64, 0, len(x))
		i, j := 0, 0
		for i < len(zeros) || j < len(ones) {
			if j == len(ones) || (i < len(zeros) && zeros[i] <= ones[j]) {
				xs, ys = append(xs, zeros[i]), append(ys, 0)
				i++
			} else {
				xs, ys = append(xs, ones[j]), append(ys, 1)
				j++
			}
		}
		return xs, ys
	}
	type xy struct{ x, y float64 }
	rows := make([]xy, len(x))
	for i := range x {
		rows[i] = xy{x[i], y[i]}
	}
	slices.SortFunc(rows, func(a, b xy) int {
		switch {
		case a.x < b.x:
			return -1
		case a.x > b.x:
			return 1
		case a.y < b.y:
			return -1
		case a.y > b.y:
			return 1
		}
		return 0
	})
	xs, ys = make([]float64, len(x)), make([]float64, len(x))
	for i, r := range rows {
		xs[i], ys[i] = r.x, r.y
	}
	return xs, ys
}

// pava replaces y in place by its weighted increasing isotonic fit: the
// single-pass pool-adjacent-violators of scikit-learn's
// _inplace_contiguous_isotonic_regression (equal neighbours are pooled too).
// w is overwritten.
func pava(y, w []float64) {
	n := len(y)
	// target[i] = j and target[j] = i when [i..j] is a block; block starts
	// hold the block's weight and weighted mean.
	target := make([]int, n)
	for i := range target {
		target[i] = i
	}
	i := 0
	for i < n {
		k := target[i] + 1
		if k == n {
			break
		}
		if y[i] < y[k] {
			i = k
			continue
		}
		sumWY := w[i] * y[i]
		sumW := w[i]
		for {
			prevY := y[k]
			sumWY += w[k] * y[k]
			sumW += w[k]
			k = target[k] + 1
			if k == n || prevY < y[k] {
				y[i] = sumWY / sumW
				w[i] = sumW
				target[i] = k - 1
				target[k-1] = i
				if i > 0 {
					i = target[i-1]
				}
				break
			}
		}
	}
	for i := 0; i < n; {
		k := target[i] + 1
		for j := i + 1; j < k; j++ {
			y[j] = y[i]
		}
		i = k
	}
}

// Calibrate maps a score through the fit: clipped to [X[0], X[last]], then
// numpy.interp between the thresholds (a score equal to a threshold gets
// that threshold's value). NaN stays NaN.
func (c *Isotonic) Calibrate(s float64) float64 {
	n := len(c.X)
	if n == 1 || math.IsNaN(s) {
		if math.IsNaN(s) {
			return s
		}
		return c.Y[0]
	}
	if s <= c.X[0] {
		return c.Y[0]
	}
	if s >= c.X[n-1] {
		return c.Y[n-1]
	}
	// j: the last threshold <= s, so X[j] <= s < X[j+1].
	j := c.below(s)
	if c.X[j] == s {
		return c.Y[j]
	}
	slope := (c.Y[j+1] - c.Y[j]) / (c.X[j+1] - c.X[j])
	return slope*(s-c.X[j]) + c.Y[j]
}

// calibrateDescending sets dst[i] to the calibrated value of
// asc[len(asc)-1-i]: the scores sorted ascending, calibrated from the
// highest down in one walk over the thresholds (same values as Calibrate).
func (c *Isotonic) calibrateDescending(dst, asc []float64) {
	n := len(c.X)
	j := n - 1 // the last threshold <= s, for s from the highest down
	for i := range dst {
		s := asc[len(asc)-1-i]
		switch {
		case n == 1 || s <= c.X[0]:
			dst[i] = c.Y[0]
			continue
		case s >= c.X[n-1]:
			dst[i] = c.Y[n-1]
			continue
		}
		for c.X[j] > s {
			j--
		}
		if c.X[j] == s {
			dst[i] = c.Y[j]
			continue
		}
		slope := (c.Y[j+1] - c.Y[j]) / (c.X[j+1] - c.X[j])
		dst[i] = slope*(s-c.X[j]) + c.Y[j]
	}
}

// CalibrateAll appends the calibrated value of every score to dst.
func (c *Isotonic) CalibrateAll(dst, scores []float64) []float64 {
	for _, s := range scores {
		dst = append(dst, c.Calibrate(s))
	}
	return dst
}

// validate checks a decoded calibrator (from a profile file).
func (c *Isotonic) validate() error {
	if len(c.X) == 0 || len(c.X) != len(c.Y) {
		return fmt.Errorf("cbpe: calibrator has %d thresholds and %d values", len(c.X), len(c.Y))
	}
	for i := range c.X {
		if math.IsNaN(c.X[i]) || math.IsNaN(c.Y[i]) || (i > 0 && (c.X[i] <= c.X[i-1] || c.Y[i] < c.Y[i-1])) {
			return fmt.Errorf("cbpe: calibrator threshold %d (x %v, y %v) is not increasing", i, c.X[i], c.Y[i])
		}
	}
	c.prepare()
	return nil
}
