package stats

import "math"

// Binner bins values by fixed interior edges like BinIndex, in O(1) per
// value: a uniform grid over [first edge, last edge] maps a value to a
// table entry holding the bin of its cell's lower end, and at most a few
// comparisons fix the entry up where edges fall inside a cell. The fix-up
// makes the result exactly BinIndex's whatever the grid resolution; the grid
// only decides how many comparisons that takes. Build one per set of edges
// (reference profile) and reuse it: binning allocates nothing. AddColumn
// bins whole columns through a second grid (hotloop.go). A Binner is
// read-only once built and safe for concurrent use.
type Binner struct {
	edges  []float64
	lo     float64
	scale  float64
	table  []int32
	single bool       // all edges equal (or one edge): no grid
	grid   kernelGrid // AddColumn's
}

// binnerCellsPerEdge sizes the grid: with 8 cells per edge a cell holds an
// edge only rarely, so most values need one comparison.
const binnerCellsPerEdge = 8

// NewBinner returns a Binner for sorted interior edges (no NaN).
func NewBinner(edges []float64) *Binner {
	b := &Binner{edges: edges, grid: newKernelGrid(edges)}
	n := len(edges)
	if n == 0 {
		return b
	}
	lo, hi := edges[0], edges[n-1]
	if !(hi > lo) || math.IsInf(lo, 0) || math.IsInf(hi, 0) || math.IsInf(hi-lo, 0) {
		b.single = true
		return b
	}
	cells := binnerCellsPerEdge * n
	b.lo, b.scale = lo, float64(cells)/(hi-lo)
	if math.IsInf(b.scale, 0) {
		// A subnormal width: (lo − lo)·Inf would be NaN, not cell 0.
		b.single = true
		return b
	}
	b.table = make([]int32, cells+1)
	for c := range b.table {
		b.table[c] = int32(BinIndex(edges, lo+float64(c)/b.scale))
	}
	return b
}

// Bin returns BinIndex(edges, x); x must not be NaN.
func (b *Binner) Bin(x float64) int {
	edges := b.edges
	if b.single || len(edges) == 0 {
		return BinIndex(edges, x)
	}
	var i int
	switch {
	case x < b.lo:
		return 0 // below the first edge
	case x >= edges[len(edges)-1]:
		return len(edges)
	default:
		c := int((x - b.lo) * b.scale)
		i = int(b.table[min(c, len(b.table)-1)])
	}
	// Exact fix-up: the table entry is within a few edges of the answer.
	for i > 0 && edges[i-1] > x {
		i--
	}
	for i < len(edges) && edges[i] <= x {
		i++
	}
	return i
}

// Histogram adds the bin counts of xs to counts (len(edges)+1), skipping
// NaN, and returns how many NaN it skipped.
func (b *Binner) Histogram(counts, xs []float64) (nulls int) {
	_ = counts[len(b.edges)]
	for _, x := range xs {
		if x != x {
			nulls++
			continue
		}
		counts[b.Bin(x)]++
	}
	return nulls
}
