package stats

import (
	"math"
	"slices"
	"sync"
)

// QuantileBins returns, for each bin number b in bins, the b−1 interior
// edges at levels k/b (exactly QuantileEdges on the sorted data) and the
// counts of xs in the b bins (exactly Histogram), for unsorted, NaN-free xs,
// without sorting them.
//
// One pass buckets the finite values on a uniform grid over their range;
// each needed order statistic is then found in its bucket, and only those
// buckets are collected and sorted (a bucket of one repeated value is
// neither). An edge lies between two consecutive order statistics, so its
// bucket is one of theirs or holds no value: the values below an edge are
// the buckets before it plus a count inside a sorted bucket. Cost: two
// reading passes plus sorting a few small buckets.
func QuantileBins(xs []float64, bins ...int) (edges, counts [][]float64) {
	n := len(xs)
	if n == 0 {
		return make([][]float64, len(bins)), make([][]float64, len(bins))
	}
	sc := qbPool.Get().(*qbScratch)
	defer qbPool.Put(sc)
	var g grid
	lo, hi := math.Inf(1), math.Inf(-1)
	negInf, posInf := 0, 0
	for _, x := range xs {
		switch {
		case x == math.Inf(-1):
			negInf++
		case x == math.Inf(1):
			posInf++
		default:
			if x < lo {
				lo = x
			}
			if x > hi {
				hi = x
			}
		}
	}
	if hi > lo && math.IsInf(hi-lo, 0) {
		// A range beyond float64 (values near ±1.8e308 on both sides) has
		// no grid: sort a copy instead.
		return quantileBinsSorted(xs, bins)
	}
	const nb = 1 << kswBits
	g.lo = lo
	if hi > lo && !math.IsInf(hi-lo, 0) {
		g.scale, g.step = nb/(hi-lo), (hi-lo)/nb
	}
	// below[j] = values before bucket j (−Inf included).
	below := sc.below
	clear(below)
	if negInf+posInf < n {
		for _, x := range xs {
			if !math.IsInf(x, 0) {
				below[g.bucket(x)+1]++
			}
		}
	}
	below[0] = negInf
	for j := 1; j <= nb; j++ {
		below[j] += below[j-1]
	}
	finiteEnd := n - posInf // ranks ≥ finiteEnd are +Inf

	// Buckets holding the needed order statistics.
	col := &sc.col
	col.reset()
	bucketOf := func(r int) int {
		// First j with below[j+1] > r.
		j, _ := slices.BinarySearch(below[1:], r+1)
		return j
	}
	for _, b := range bins {
		for k := 1; k < b; k++ {
			i := int(math.Floor(float64(k) / float64(b) * float64(n-1)))
			for _, r := range []int{i, min(i+1, n-1)} {
				if r >= negInf && r < finiteEnd {
					if j := bucketOf(r); !col.marked(j) {
						col.mark(j, below[j+1]-below[j])
					}
				}
			}
		}
	}
	col.gather(xs, &g)
	for _, j := range col.used {
		if _, _, ok := col.uniform(int(j)); !ok {
			slices.Sort(col.values(int(j)))
		}
	}
	rank := func(r int) float64 {
		switch {
		case r < negInf:
			return math.Inf(-1)
		case r >= finiteEnd:
			return math.Inf(1)
		}
		j := bucketOf(r)
		if x, _, ok := col.uniform(j); ok {
			return x
		}
		return col.values(j)[r-below[j]]
	}
	edges = make([][]float64, len(bins))
	counts = make([][]float64, len(bins))
	for bi, b := range bins {
		e := make([]float64, 0, b-1)
		for k := 1; k < b; k++ {
			// Quantile's arithmetic on the two order statistics.
			h := float64(k) / float64(b) * float64(n-1)
			fl := math.Floor(h)
			i := int(fl)
			if i >= n-1 {
				e = append(e, rank(n-1))
				continue
			}
			a, c := rank(i), rank(i+1)
			if gg := h - fl; gg >= 0.5 {
				e = append(e, c-(c-a)*(1-gg))
			} else {
				e = append(e, a+(c-a)*gg)
			}
		}
		cnt := make([]float64, b)
		if slices.ContainsFunc(e, func(x float64) bool { return math.IsInf(x, 0) || x != x }) {
			// Infinite order statistics at the edges (or ∞ − ∞): count the
			// plain way, which also defines the result for a NaN edge.
			Histogram(cnt, e, xs)
		} else {
			prev := 0
			for k, edge := range e {
				at := countBelow(&g, col, edge, below)
				cnt[k] = float64(at - prev)
				prev = at
			}
			cnt[b-1] = float64(n - prev)
		}
		edges[bi], counts[bi] = e, cnt
	}
	return edges, counts
}

// quantileBinsSorted is QuantileBins by sorting a copy of xs.
func quantileBinsSorted(xs []float64, bins []int) (edges, counts [][]float64) {
	sorted := slices.Clone(xs)
	SortFloat64s(sorted, nil)
	edges, counts = make([][]float64, len(bins)), make([][]float64, len(bins))
	for i, b := range bins {
		edges[i] = QuantileEdges(nil, sorted, b)
		counts[i] = make([]float64, b)
		Histogram(counts[i], edges[i], xs)
	}
	return edges, counts
}

// qbScratch is QuantileBins' pooled state (see kswScratch).
type qbScratch struct {
	below []int
	col   collector
}

var qbPool = sync.Pool{New: func() any {
	sc := &qbScratch{below: make([]int, 1<<kswBits+1)}
	sc.col.init(1 << kswBits)
	return sc
}}

// countBelow is the number of values < e for a finite edge e within the
// finite range.
func countBelow(g *grid, col *collector, e float64, below []int) int {
	j := g.bucket(e)
	if !col.marked(j) {
		// An edge between two consecutive order statistics lies in an
		// empty bucket unless it shares one with them (collected).
		return below[j+1]
	}
	if x, n, ok := col.uniform(j); ok {
		return below[j] + n*b2i(x < e)
	}
	i, _ := slices.BinarySearch(col.values(j), e) // first value ≥ e
	return below[j] + i
}
