package stats

import (
	"math"
	"slices"
)

// The column kernel (AddColumn) bins a whole column through its own grid,
// built so that one comparison settles a value without any loop:
//
//	cell(x) = int((clamp(x, g0, g1) − g0) · scale)
//
// is monotone in x (clamping, rounded subtraction and multiplication, and
// truncation all are; ±0 share a cell), so an edge in a lower cell than x's
// is ≤ x and one in a higher cell is > x. Only the edges in x's own cell need
// comparing, and when they share one value that is one comparison, whatever
// the rounding. If some cell holds several distinct values (edges closer
// than a cell: heavy tails, ±Inf edges), every value takes a binary search
// of fixed depth over the edges from its cell's first instead. The AVX-512
// path computes the same cells with the same IEEE operations, so both paths
// agree bit for bit.

// kernelGrid is the part of a Binner the column kernel reads.
type kernelGrid struct {
	edges  []float64
	g0, g1 float64 // finite edge range the grid covers
	scale  float64 // cells per unit; 0 when there is no grid (one cell)
	// first[c] counts the edges in cells below c: a value in cell c falls
	// in bin first[c] if it is below ext[first[c]] (the value of the cell's
	// edges, when it has any), else in bin first[c+1]. 4 bytes a cell, the
	// size of Binner's own table.
	first []int32
	// ext is edges followed by max(1, search) NaN, which no value is ≥ or
	// ≤ to: an empty cell may compare against any edge or the padding,
	// since its two bins are the same.
	ext []float64
	// search > 0 is the most edges in a cell, when some cell holds several
	// distinct values: every value then takes the fixed-depth search.
	search int
}

// newKernelGrid lays binnerCellsPerEdge cells per edge over the finite edge
// range, or 2 or 4 times as many if that spares every value the search (a
// few distinct edges in one cell would cost all values of the column).
// Without a usable range (no finite edges, all equal, or a width that
// overflows or underflows the scale) every value maps to cell 0, which then
// holds all edges.
func newKernelGrid(edges []float64) kernelGrid {
	var g kernelGrid
	for per := binnerCellsPerEdge; per <= 4*binnerCellsPerEdge; per *= 2 {
		if g = newKernelGridOf(edges, per); g.search == 0 {
			break
		}
	}
	return g
}

func newKernelGridOf(edges []float64, perEdge int) kernelGrid {
	n := len(edges)
	g := kernelGrid{edges: edges}
	i0, i1 := 0, n-1 // the finite edges
	for i0 < n && math.IsInf(edges[i0], -1) {
		i0++
	}
	for i1 >= i0 && math.IsInf(edges[i1], 1) {
		i1--
	}
	cells := 0
	if i0 <= i1 {
		g.g0, g.g1 = edges[i0], edges[i1]
		cells = perEdge * n
		// Inf for equal ends or a subnormal width, 0 for a width that
		// overflows.
		g.scale = float64(cells) / (g.g1 - g.g0)
		if g.scale == 0 || math.IsInf(g.scale, 0) {
			g.g1, g.scale, cells = g.g0, 0, 0
		}
	}
	// v ≤ cells·(1+2⁻⁵²) at x = g1, so truncation never passes cells.
	g.first = make([]int32, cells+2)
	j, most, multi := 0, 1, false // edges[:j] lie in cells before c
	for c := range cells + 1 {
		g.first[c] = int32(j)
		start := j
		for j < n && g.cell(edges[j]) == c {
			j++
		}
		if start < j {
			multi = multi || edges[j-1] != edges[start]
			most = max(most, j-start)
		}
	}
	g.first[cells+1] = int32(n)
	if multi {
		g.search = most
	}
	g.ext = append(slices.Clip(edges), make([]float64, max(1, g.search))...)
	for i := n; i < len(g.ext); i++ {
		g.ext[i] = math.NaN()
	}
	return g
}

// cell is the grid cell of a non-NaN x. Both kernels repeat exactly these
// operations. The clamp branches only mispredict at the ends of the edge
// range; Go's min and max would also order ±0 and NaN, three times the
// instructions.
func (g *kernelGrid) cell(x float64) int { return gridCellOf(x, g.g0, g.g1, g.scale) }

func gridCellOf(x, g0, g1, scale float64) int {
	if x < g0 {
		x = g0
	}
	if x > g1 {
		x = g1
	}
	return int((x - g0) * scale)
}

// AddColumn adds 1 to bins[BinIndex(edges, x)] for every non-NaN x of xs
// and returns how many were NaN and how many of the others lay outside
// [lo, hi] (±Inf count as out of range). bins must have len(edges)+1
// entries. It allocates nothing and gives exactly the counts of a Bin loop;
// on amd64 CPUs with AVX-512 a GOEXPERIMENT=simd build computes 8 cells at a
// time.
func (b *Binner) AddColumn(bins, xs []float64, lo, hi float64) (nulls, outOfRange int) {
	return b.addColumn(bins, xs, lo, hi, hasSIMD)
}

// addColumnGo and addColumnSIMD are the twins the tests compare: the kernel
// in pure Go, and with stage 1 on AVX-512 (only when hasSIMD).
func (b *Binner) addColumnGo(bins, xs []float64, lo, hi float64) (nulls, outOfRange int) {
	return b.addColumn(bins, xs, lo, hi, false)
}

func (b *Binner) addColumnSIMD(bins, xs []float64, lo, hi float64) (nulls, outOfRange int) {
	return b.addColumn(bins, xs, lo, hi, true)
}

const (
	// kernelBlock values have their cells computed (stage 1) before they
	// are counted (stage 2): two small loops keep their state in registers
	// where one big loop spills, and stage 1 vectorises. Small, because Go
	// zeroes the block's arrays on every call.
	kernelBlock = 128
	// Columns of at least subMinLen values, binned into at most subMaxBins
	// bins (the default is 200), are counted into 4 interleaved histograms
	// summed at the end: on a constant or far-drifted column each increment
	// would otherwise wait for the previous one to the same counter (1.6×
	// slower measured in Go, 2× on AVX-512). Shorter columns skip them:
	// zeroing and summing costs as much as binning a few hundred values.
	subMinLen  = 4096
	subMaxBins = 256
)

// addColumn runs the kernel on blocks of xs, with stage 1 on AVX-512 if
// vector is set.
func (b *Binner) addColumn(bins, xs []float64, lo, hi float64, vector bool) (nulls, outOfRange int) {
	_ = bins[len(b.edges)]
	g := &b.grid
	nb := len(g.edges) + 1
	bins = bins[:nb] // after the index check, not up to the capacity
	h, stride := bins, 0
	if len(xs) >= subMinLen && nb <= subMaxBins {
		var sub [4 * subMaxBins]float64 // zeroed only here: short runs are common
		h, stride = sub[:4*nb], nb
	}
	var idx [kernelBlock]int32
	for start := 0; start < len(xs); start += kernelBlock {
		col := xs[start:min(start+kernelBlock, len(xs))]
		ids := idx[:len(col)]
		var n, o int
		if vector {
			n, o = g.cellsSIMD(ids, col, lo, hi)
		} else {
			n, o = g.cellsGo(ids, col, lo, hi)
		}
		nulls, outOfRange = nulls+n, outOfRange+o
		if n != 0 {
			// Squeeze out the NaN, without branches.
			var buf [kernelBlock]float64
			j := 0
			for k, x := range col {
				buf[j], ids[j] = x, ids[k]
				j += b2i(x == x)
			}
			col, ids = buf[:j], ids[:j]
		}
		if g.search > 0 {
			searchCells(h, g.first, g.ext, g.search, ids, col)
			continue
		}
		binCells(h, stride, g.first, g.ext, ids, col)
	}
	if stride != 0 {
		for i := range bins {
			// Integers below 2⁵³: the sum is exact.
			bins[i] += h[i] + h[nb+i] + h[2*nb+i] + h[3*nb+i]
		}
	}
	return nulls, outOfRange
}

// cellsGo is stage 1 in Go: the cells of xs into idx (any value for NaN),
// and the NaN and out-of-range counts. Free of data-dependent branches but
// the clamp's.
func (g *kernelGrid) cellsGo(idx []int32, xs []float64, lo, hi float64) (nulls, outOfRange int) {
	g0, g1, scale := g.g0, g.g1, g.scale
	idx = idx[:len(xs)]
	for k, x := range xs {
		nulls += b2i(x != x)
		outOfRange += b2i(x < lo) | b2i(x > hi) // false for NaN
		idx[k] = int32(gridCellOf(x, g0, g1, scale))
	}
	return nulls, outOfRange
}

// searchCells is stage 2 for values without NaN when some cell holds
// several distinct edge values: a binary search over the w edges from each
// value's cell's first, like BinIndex's but with the same depth for every
// value, so that the loop's exit is never mispredicted. Edges of higher
// cells and the NaN padding are not ≤ x, so they do not count.
func searchCells(h []float64, first []int32, ext []float64, w int, idx []int32, xs []float64) {
	xs = xs[:len(idx)]
	for k, c := range idx {
		x := xs[k]
		base, n := int(first[c]), w
		for n > 1 {
			half := n >> 1
			base += half * b2i(ext[base+half-1] <= x)
			n -= half
		}
		h[base+b2i(ext[base] <= x)]++
	}
}

// binCells is stage 2 for values without NaN when every cell's edges share
// one value: value k is counted in h[(k mod 4)·stride+bin]. The bin is
// picked by indexing with the comparison, not by a branch, which would
// mispredict on half the values near an edge.
func binCells(h []float64, stride int, first []int32, ext []float64, idx []int32, xs []float64) {
	s2, s3 := 2*stride, 3*stride
	xs = xs[:len(idx)]
	k := 0
	for ; k+4 <= len(idx) && k+4 <= len(xs); k += 4 {
		i, x := (*[4]int32)(idx[k:k+4]), (*[4]float64)(xs[k:k+4])
		c0, c1, c2, c3 := int(i[0]), int(i[1]), int(i[2]), int(i[3])
		h[first[c0+b2i(x[0] >= ext[first[c0]])]]++
		h[stride+int(first[c1+b2i(x[1] >= ext[first[c1]])])]++
		h[s2+int(first[c2+b2i(x[2] >= ext[first[c2]])])]++
		h[s3+int(first[c3+b2i(x[3] >= ext[first[c3]])])]++
	}
	for ; k < len(idx); k++ {
		c := int(idx[k])
		h[first[c+b2i(xs[k] >= ext[first[c]])]]++
	}
}
