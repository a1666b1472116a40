package stats

import "math"

// The column kernel (AddColumn) bins a whole column through its own grid,
// built so that one comparison settles most values without any loop:
//
//	cell(x) = int((clamp(x, g0, g1) − g0) · scale)
//
// is monotone in x (clamping, rounded subtraction and multiplication, and
// truncation all are), so an edge whose cell is below x's is ≤ x and one whose
// cell is above is > x. Only edges in x's own cell need comparing, and a cell
// whose edges share one value needs one comparison, whatever the rounding.
// Cells holding several distinct values (edges closer than a cell, ±Inf
// edges) fall back to a binary search over their edges. The AVX-512 path
// computes the same cell with the same IEEE operations, so both paths agree
// bit for bit.

// gridCell is one cell of the kernel's grid. bin[0] counts the edges in
// lower cells: a value in the cell falls in bin[0] if it is below thr (the
// value of the cell's edges, +Inf when it has none), else in bin[1] (bin[0]
// plus the cell's edges). A cell whose edges have several distinct values
// has thr NaN, so that the comparison picks bin[0], and bin[1] = ^end
// (negative): its edges are edges[bin[0]:end]. 16 bytes, so a cell never
// straddles a cache line.
type gridCell struct {
	bin [2]int32
	thr float64
}

// kernelGrid is the part of a Binner the column kernel reads.
type kernelGrid struct {
	edges  []float64
	cells  []gridCell
	g0, g1 float64 // finite edge range the grid covers
	scale  float64 // cells per unit; 0 when there is no grid (one cell)
	multi  bool    // some cell has several distinct edge values
}

// newKernelGrid lays binnerCellsPerEdge cells per edge over the finite edge
// range. Without a usable range (no finite edges, all equal, or a width that
// overflows or underflows the scale) every value maps to cell 0.
func newKernelGrid(edges []float64) kernelGrid {
	n := len(edges)
	g := kernelGrid{edges: edges}
	first, last := 0, n-1
	for first < n && math.IsInf(edges[first], -1) {
		first++
	}
	for last >= first && math.IsInf(edges[last], 1) {
		last--
	}
	cells := 0
	if first <= last {
		g.g0, g.g1 = edges[first], edges[last]
		cells = binnerCellsPerEdge * n
		// Inf for equal ends or a subnormal width, 0 for a width that
		// overflows.
		g.scale = float64(cells) / (g.g1 - g.g0)
		if g.scale == 0 || math.IsInf(g.scale, 0) {
			g.g1, g.scale, cells = g.g0, 0, 0
		}
	}
	// v ≤ cells·(1+2⁻⁵²) at x = g1, so truncation never passes cells.
	g.cells = make([]gridCell, cells+1)
	j := 0 // edges[:j] lie in cells before c
	for c := range g.cells {
		start := j
		for j < n && g.cell(edges[j]) == c {
			j++
		}
		switch {
		case start == j:
			g.cells[c] = gridCell{[2]int32{int32(start), int32(j)}, math.Inf(1)}
		case edges[start] == edges[j-1]:
			g.cells[c] = gridCell{[2]int32{int32(start), int32(j)}, edges[start]}
		default:
			g.cells[c] = gridCell{[2]int32{int32(start), ^int32(j)}, math.NaN()}
			g.multi = true
		}
	}
	return g
}

// cell is the grid cell of a non-NaN x. Both kernels repeat exactly these
// operations. The clamp branches only mispredict at the ends of the edge
// range; Go's min and max would also order ±0 and NaN, three times the work.
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

// bin finishes x's bin from its cell.
func (g *kernelGrid) bin(c *gridCell, x float64) int {
	if c.bin[1] < 0 {
		return int(c.bin[0]) + BinIndex(g.edges[c.bin[0]:^c.bin[1]], x)
	}
	return int(c.bin[b2i(x >= c.thr)])
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
	// would otherwise wait for the previous one to the same counter (1.7×
	// slower measured in Go, 2.7× on AVX-512). Shorter columns skip them:
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
		if g.multi {
			for k, c := range ids {
				bins[g.bin(&g.cells[c], col[k])]++
			}
			continue
		}
		binCells(h, stride, g.cells, ids, col)
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

// binCells is stage 2 for values without NaN or multi-edge cells: value k is
// counted in h[(k mod 4)·stride+bin]. The bin is picked by indexing with the
// comparison, not by a branch, which would mispredict on half the values
// near an edge.
func binCells(h []float64, stride int, cells []gridCell, idx []int32, xs []float64) {
	s2, s3 := 2*stride, 3*stride
	xs = xs[:len(idx)]
	k := 0
	for ; k+4 <= len(idx) && k+4 <= len(xs); k += 4 {
		i, x := (*[4]int32)(idx[k:k+4]), (*[4]float64)(xs[k:k+4])
		c0, c1, c2, c3 := &cells[i[0]], &cells[i[1]], &cells[i[2]], &cells[i[3]]
		h[c0.bin[b2i(x[0] >= c0.thr)]]++
		h[stride+int(c1.bin[b2i(x[1] >= c1.thr)])]++
		h[s2+int(c2.bin[b2i(x[2] >= c2.thr)])]++
		h[s3+int(c3.bin[b2i(x[3] >= c3.thr)])]++
	}
	for ; k < len(idx); k++ {
		c := &cells[idx[k]]
		h[c.bin[b2i(xs[k] >= c.thr)]]++
	}
}
