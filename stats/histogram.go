package stats

import "sort"

// BinIndex returns the bin of x for interior edges: the number of edges ≤ x
// (numpy searchsorted side="right"), so bin i is [e(i−1), e(i)) with open
// outer bins; −Inf goes to bin 0 and +Inf to bin len(edges). x must not be
// NaN.
func BinIndex(edges []float64, x float64) int {
	// Branch-free lower bound: the loop runs log2(len) times whatever x is,
	// and the comparison feeds arithmetic, not a branch, so random data
	// does not mispredict.
	base, n := 0, len(edges)
	for n > 1 {
		half := n >> 1
		mid := base + half
		base += half * b2i(edges[mid-1] <= x)
		n -= half
	}
	if n == 1 {
		base += b2i(edges[base] <= x)
	}
	return base
}

// b2i compiles to SETcc: no branch on the comparison.
func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Histogram adds the bin counts of xs over edges to counts (len(edges)+1),
// skipping NaN, and returns how many NaN it skipped. It does not allocate.
func Histogram(counts []float64, edges, xs []float64) (nulls int) {
	_ = counts[len(edges)]
	for _, x := range xs {
		if x != x {
			nulls++
			continue
		}
		counts[BinIndex(edges, x)]++
	}
	return nulls
}

// HistogramSorted adds the bin counts of sorted, NaN-free xs to counts in
// O(len(edges)·log n): on sorted data each edge is one binary search.
func HistogramSorted(counts []float64, edges, sorted []float64) {
	_ = counts[len(edges)]
	prev := 0
	for i, e := range edges {
		// Values < e fall in bins ≤ i (bin i is [e(i−1), e(i))).
		at := prev + sort.Search(len(sorted)-prev, func(j int) bool { return sorted[prev+j] >= e })
		counts[i] += float64(at - prev)
		prev = at
	}
	counts[len(edges)] += float64(len(sorted) - prev)
}
