package stats

import (
	"math"
	"slices"
)

// The column kernel (AddColumn) bins a whole column through its own grid,
// built so that one comparison settles a value without any loop:
//
//	cell(x) = int((t(clamp(x, g0, g1)) − t0) · scale)
//
// where t is either the identity (a linear grid) or, for skewed edges, a
// logarithm-like map read off the float's bits:
//
//	t(y) = s·(2⁵² + bits(s·y + off)>>11)   (computed exactly as a float64)
//
// which for positive s·y + off is monotone, and linear within each power of
// two: as many cells per octave at 0.01 as at 100; s = 1 spreads edges dense
// at the bottom (lognormal), s = −1 edges dense at the top. Every step (the
// clamp, rounded addition, subtraction and multiplication, the bits of a
// positive float, truncation) is monotone and ±0 share a cell, so an edge in
// a lower cell than x's is ≤ x and one in a higher cell is > x. Only the
// edges in x's own cell need comparing, and when they share one value that
// is one comparison, whatever the rounding. If some cell holds several
// distinct values (heavy tails no map spreads, ±Inf edges), every value
// takes a binary search of fixed depth over the edges from its cell's first
// instead. NaN is clamped to g0, so it lands in cell 0 and bin 0, where
// addColumn takes it out again. The AVX2 and AVX-512 paths compute the same
// cells with the same IEEE operations, and pure Go's integer shortcut for
// the logarithmic grid gives exactly the same numbers, so all paths agree
// bit for bit.

// Kernel names the implementation of AddColumn's cell computation.
type Kernel uint8

// The kernels, from the slowest. AddColumn runs ActiveKernel.
const (
	KernelPureGo Kernel = iota // any build, any architecture
	KernelAVX2                 // amd64, GOEXPERIMENT=simd, CPU with AVX2
	KernelAVX512               // amd64, GOEXPERIMENT=simd, CPU with AVX-512 F/CD/BW/DQ/VL
)

// String returns the kernel's name, as in the driftwatch_build_info metric.
func (k Kernel) String() string {
	switch k {
	case KernelPureGo:
		return "purego"
	case KernelAVX2:
		return "avx2"
	case KernelAVX512:
		return "avx512"
	}
	return "unknown"
}

// ActiveKernel returns the kernel AddColumn runs in this build on this CPU,
// chosen once at start-up.
func ActiveKernel() Kernel { return activeKernel }

// gridMode is how a kernelGrid maps values before its uniform grid.
type gridMode uint8

const (
	gridLinear gridMode = iota // t(y) = y
	gridLog                    // t(y) = sgn·(2⁵² + bits(sgn·y + off)>>11)
)

// A kernelGrid cell's packing: the bins below it, and its edges (as many
// as cellCountMax without the search).
const (
	cellCountShift = 24
	cellLowMask    = 1<<cellCountShift - 1
	cellCountMax   = 255
)

// logMagic is the bits of 2⁵²: OR-ing a 52-bit integer into its mantissa
// gives exactly 2⁵² plus that integer.
const logMagic = 0x4330000000000000

// kernelGrid is the part of a Binner the column kernel reads.
type kernelGrid struct {
	edges  []float64
	g0, g1 float64 // finite edge range the grid covers
	mode   gridMode
	off    float64 // gridLog: added to sgn times the clamped value, so that it is > 0
	sgn    float64 // gridLog: 1, or −1 to spread edges dense at the top
	t0     float64 // t(g0)
	scale  float64 // cells per unit of t; 0 when there is no grid (one cell)
	// gridLog with scale 2^−intShift ≤ 1: cell(x) is sgn·(bits(sgn·y +
	// off)>>11 − intT0) >> intShift for the clamped y, exactly.
	intShift uint
	intT0    uint64
	intOK    bool
	// cells[c] packs the number of edges in cells below c (low 24 bits)
	// and in c (high 8 bits): a value in cell c falls in bin lo if it is
	// below ext[lo] (the value of the cell's edges, when it has any), else
	// in bin lo + count. 4 bytes a cell, the size of Binner's own table,
	// and one dependent load fewer than a table of the lows alone.
	cells []uint32
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
// few distinct edges in one cell would cost all values of the column): on a
// linear grid if one does, else on a logarithmic one from a few origins
// (skewed edges: lognormal, exponential, counts), else on whichever leaves
// the fewest edges in a cell. Without a usable range (no finite edges, all
// equal, or a width that overflows or underflows the scale) every value
// maps to cell 0, which then holds all edges.
func newKernelGrid(edges []float64) kernelGrid {
	var best kernelGrid
	try := func(mode gridMode, sgn, off float64) bool {
		for per := binnerCellsPerEdge; per <= 4*binnerCellsPerEdge; per *= 2 {
			g, ok := newKernelGridOf(edges, per, mode, sgn, off)
			if !ok {
				return false
			}
			if best.cells == nil || g.search < best.search {
				best = g
			}
			if g.search == 0 {
				return true
			}
		}
		return false
	}
	if try(gridLinear, 1, 0) {
		return best
	}
	for _, sgn := range []float64{1, -1} {
		for _, off := range logOffsets(edges, sgn) {
			if try(gridLog, sgn, off) {
				return best
			}
		}
	}
	return best
}

// logOffsets are the offsets a logarithmic grid of sign sgn is tried with:
// none when the edges times sgn are positive (a grid over log x or
// log −x), else origins just below the lowest of them at the scale of the
// finest and of the mean edge spacing.
func logOffsets(edges []float64, sgn float64) []float64 {
	i0, i1 := finiteRange(edges)
	if i0 >= i1 {
		return nil
	}
	g0, g1 := edges[i0], edges[i1]
	low := g0
	if sgn < 0 {
		low = -g1
	}
	var offs []float64
	if low > 0 {
		offs = append(offs, 0)
	}
	gap := math.Inf(1)
	for i := i0 + 1; i <= i1; i++ {
		if d := edges[i] - edges[i-1]; d > 0 {
			gap = min(gap, d)
		}
	}
	for _, a := range []float64{gap, (g1 - g0) / float64(i1-i0)} {
		if a > 0 && !math.IsInf(a, 0) {
			offs = append(offs, a-low)
		}
	}
	return offs
}

// finiteRange returns the indices of the first and last finite edges
// (i0 > i1 when there are none).
func finiteRange(edges []float64) (i0, i1 int) {
	n := len(edges)
	i0, i1 = 0, n-1
	for i0 < n && math.IsInf(edges[i0], -1) {
		i0++
	}
	for i1 >= i0 && math.IsInf(edges[i1], 1) {
		i1--
	}
	return i0, i1
}

// newKernelGridOf builds the grid of perEdge cells per edge in mode; false
// if the mode does not apply (gridLog with sgn·y + off not positive on the
// edge range).
func newKernelGridOf(edges []float64, perEdge int, mode gridMode, sgn, off float64) (kernelGrid, bool) {
	n := len(edges)
	g := kernelGrid{edges: edges, mode: mode, off: off, sgn: sgn}
	i0, i1 := finiteRange(edges)
	cells := 0
	if i0 <= i1 {
		g.g0, g.g1 = edges[i0], edges[i1]
		if mode == gridLog && !(sgn*g.g0+off > 0 && sgn*g.g1+off > 0) {
			return kernelGrid{}, false
		}
		g.t0 = g.t(g.g0)
		cells = perEdge * n
		// Inf for equal ends or a subnormal width, 0 for a width that
		// overflows.
		g.scale = float64(cells) / (g.t(g.g1) - g.t0)
		if g.scale == 0 || math.IsInf(g.scale, 0) {
			g.g1, g.scale, cells = g.g0, 0, 0
		} else if mode == gridLog {
			// A power of two at most the asked scale: t − t0 is an
			// integer below 2⁵², so the cell is exactly that integer
			// shifted right, which cellsGo computes without floats.
			_, exp := math.Frexp(g.scale)
			g.scale = math.Ldexp(1, exp-1)
			cells = int((g.t(g.g1) - g.t0) * g.scale)
			if exp-1 <= 0 {
				g.intShift = uint(1 - exp)
				g.intT0 = math.Float64bits(sgn*g.g0+off) >> 11
				g.intOK = true
			}
		}
	}
	if n > cellLowMask {
		// Not a grid of this size: one cell, searched.
		g.g1, g.scale, cells = g.g0, 0, 0
	}
	// v ≤ cells·(1+2⁻⁵²) at x = g1, so truncation never passes cells.
	g.cells = make([]uint32, cells+2)
	j, most, multi := 0, 1, false // edges[:j] lie in cells before c
	for c := range cells + 2 {
		start := j
		for j < n && (c > cells || g.cell(edges[j]) == c) {
			j++
		}
		if start < j {
			multi = multi || edges[j-1] != edges[start] || j-start > cellCountMax
			most = max(most, j-start)
		}
		g.cells[c] = uint32(start) | uint32(min(j-start, cellCountMax))<<cellCountShift
	}
	if multi {
		g.search = most
	}
	g.ext = append(slices.Clip(edges), make([]float64, max(1, g.search))...)
	for i := n; i < len(g.ext); i++ {
		g.ext[i] = math.NaN()
	}
	return g, true
}

// t is the grid's map of a value already clamped to [g0, g1].
func (g *kernelGrid) t(y float64) float64 {
	if g.mode == gridLog {
		return g.sgn * logT(g.sgn*y, g.off)
	}
	return y
}

// logT is gridLog's map for sgn = 1: y + off > 0, so its bits grow with it,
// and below 2⁶³ shifted right by 11 they fit the mantissa of 2⁵².
func logT(y, off float64) float64 {
	return math.Float64frombits(math.Float64bits(y+off)>>11 | logMagic)
}

// cell is the grid cell of x (cell 0 for NaN). All kernels repeat exactly
// these operations. The clamp branches only mispredict at the ends of the
// edge range; Go's min and max would also order ±0 and NaN, three times the
// instructions.
func (g *kernelGrid) cell(x float64) int {
	x = clampCell(x, g.g0, g.g1)
	return int((g.t(x) - g.t0) * g.scale)
}

// clampCell clamps x to [g0, g1], NaN to g0.
func clampCell(x, g0, g1 float64) float64 {
	if !(x >= g0) {
		x = g0
	}
	if x > g1 {
		x = g1
	}
	return x
}

// AddColumn adds 1 to bins[BinIndex(edges, x)] for every non-NaN x of xs
// and returns how many were NaN and how many of the others lay outside
// [lo, hi] (±Inf count as out of range). bins must have len(edges)+1
// entries. It allocates nothing and gives exactly the counts of a Bin loop;
// on amd64 CPUs with AVX2 or AVX-512 a GOEXPERIMENT=simd build computes 4 or
// 8 cells at a time (ActiveKernel).
func (b *Binner) AddColumn(bins, xs []float64, lo, hi float64) (nulls, outOfRange int) {
	return b.addColumn(bins, xs, lo, hi, activeKernel)
}

const (
	// kernelBlock values have their cells computed (stage 1) before they
	// are counted (stage 2): two small loops keep their state in registers
	// where one big loop spills, and stage 1 vectorises. Small, because Go
	// zeroes the block's arrays on every call.
	kernelBlock = 256
	// Columns binned into at most subMaxBins bins (the default is 200) are
	// counted into 4 interleaved integer histograms summed at the end: on a
	// constant or far-drifted column each increment would otherwise wait
	// for the previous one to the same counter, and an integer increment
	// is one instruction where a float one is three. Columns shorter than
	// subMinLen count straight into bins: zeroing the 4 KiB and summing
	// 4 counters a bin would be a sizeable share of their work.
	subMinLen  = 512
	subMaxBins = 256
	// subMaxLen values at most go through the integer histograms at once,
	// so that no uint32 counter can wrap.
	subMaxLen = 1 << 31
)

// addColumn runs the kernel on blocks of xs, with stage 1 on kernel k,
// which must be available (kernelAvailable).
func (b *Binner) addColumn(bins, xs []float64, lo, hi float64, k Kernel) (nulls, outOfRange int) {
	_ = bins[len(b.edges)]
	g := &b.grid
	nb := len(g.edges) + 1
	bins = bins[:nb] // after the index check, not up to the capacity
	if len(xs) < subMinLen || nb > subMaxBins {
		nulls, outOfRange = addBlocks(g, bins, xs, lo, hi, k)
	} else {
		for len(xs) > 0 {
			part := xs[:min(len(xs), subMaxLen)]
			xs = xs[len(part):]
			// Bin i's 4 counters are h[4i:4i+4]. 4 KiB, zeroed only here.
			var sub [4 * subMaxBins]uint32
			h := sub[:4*nb]
			n, o := addBlocks(g, h, part, lo, hi, k)
			nulls, outOfRange = nulls+n, outOfRange+o
			for i := range bins {
				// At most subMaxLen in all: the sum fits a uint32.
				bins[i] += float64(h[i] + h[nb+i] + h[2*nb+i] + h[3*nb+i])
			}
		}
	}
	// Every NaN was counted in bin 0.
	bins[0] -= float64(nulls)
	return nulls, outOfRange
}

// addBlocks runs both stages on blocks of xs, counting into bins (float64)
// or 4 interleaved integer histograms (uint32, see binCells). NaN are
// counted in bin 0.
func addBlocks[C uint32 | float64](g *kernelGrid, h []C, xs []float64, lo, hi float64, k Kernel) (nulls, outOfRange int) {
	var idx [kernelBlock]int32
	for start := 0; start < len(xs); start += kernelBlock {
		col := xs[start:min(start+kernelBlock, len(xs))]
		ids := idx[:len(col)]
		var n, o int
		switch k {
		case KernelAVX512:
			n, o = g.cellsAVX512(ids, col, lo, hi)
		case KernelAVX2:
			n, o = g.cellsAVX2(ids, col, lo, hi)
		default:
			n, o = g.cellsGo(ids, col, lo, hi)
		}
		nulls, outOfRange = nulls+n, outOfRange+o
		switch h := any(h).(type) {
		case []uint32:
			if g.search > 0 {
				searchCellsLanes(h, g.cells, g.ext, g.search, ids, col)
			} else {
				binCells(h, g.cells, g.ext, ids, col)
			}
		case []float64:
			if g.search > 0 {
				searchCells(h, 0, g.cells, g.ext, g.search, ids, col)
			} else {
				binCellsDirect(h, g.cells, g.ext, ids, col)
			}
		}
	}
	return nulls, outOfRange
}

// cellsGo is stage 1 in Go: the cells of xs into idx, and the NaN and
// out-of-range counts. When [lo, hi] covers the grid's range, as with a
// reference sample's extremes and its quantile edges, only values the clamp
// moves can be NaN or out of range, so the counts ride on the clamp's
// branches, which mispredict only around the ends of the edge range. Each
// variant is a function of its own, so that each loop gets the registers.
func (g *kernelGrid) cellsGo(idx []int32, xs []float64, lo, hi float64) (nulls, outOfRange int) {
	idx = idx[:len(xs)]
	switch {
	case !(lo <= g.g0 && g.g1 <= hi):
		return g.cellsGoAny(idx, xs, lo, hi)
	case g.mode == gridLinear:
		return cellsGoLinear(idx, xs, lo, hi, g.g0, g.g1, g.t0, g.scale)
	case g.intOK && g.sgn > 0:
		return cellsGoLogInt(idx, xs, lo, hi, g.g0, g.g1, g.off, g.intT0, g.intShift&63)
	case g.intOK:
		return cellsGoLogIntMirror(idx, xs, lo, hi, g.g0, g.g1, g.off, g.intT0, g.intShift&63)
	}
	return g.cellsGoAny(idx, xs, lo, hi)
}

// cellsGoAny is cellsGo for any grid and range.
func (g *kernelGrid) cellsGoAny(idx []int32, xs []float64, lo, hi float64) (nulls, outOfRange int) {
	g0, g1, t0, scale := g.g0, g.g1, g.t0, g.scale
	idx = idx[:len(xs)]
	for k, x := range xs {
		nulls += b2i(x != x)
		outOfRange += b2i(x < lo) | b2i(x > hi) // false for NaN
		idx[k] = int32((g.t(clampCell(x, g0, g1)) - t0) * scale)
	}
	return nulls, outOfRange
}

// cellsGoLinear is cellsGo for a linear grid within [lo, hi].
func cellsGoLinear(idx []int32, xs []float64, lo, hi, g0, g1, t0, scale float64) (nulls, outOfRange int) {
	idx = idx[:len(xs)]
	for k, x := range xs {
		if !(x >= g0) { // below the grid, or NaN
			nulls += b2i(x != x)
			outOfRange += b2i(x < lo)
			x = g0
		} else if x > g1 {
			outOfRange += b2i(x > hi)
			x = g1
		}
		idx[k] = int32((x - t0) * scale)
	}
	return nulls, outOfRange
}

// cellsGoLogInt is cellsGo for a logarithmic grid of sign 1 and scale
// 2^−sh within [lo, hi], in integers.
func cellsGoLogInt(idx []int32, xs []float64, lo, hi, g0, g1, off float64, u0 uint64, sh uint) (nulls, outOfRange int) {
	idx = idx[:len(xs)]
	for k, x := range xs {
		if !(x >= g0) { // below the grid, or NaN
			nulls += b2i(x != x)
			outOfRange += b2i(x < lo)
			x = g0
		} else if x > g1 {
			outOfRange += b2i(x > hi)
			x = g1
		}
		idx[k] = int32((math.Float64bits(x+off)>>11 - u0) >> (sh & 63))
	}
	return nulls, outOfRange
}

// cellsGoLogIntMirror is cellsGoLogInt for sign −1.
func cellsGoLogIntMirror(idx []int32, xs []float64, lo, hi, g0, g1, off float64, u0 uint64, sh uint) (nulls, outOfRange int) {
	idx = idx[:len(xs)]
	for k, x := range xs {
		if !(x >= g0) { // below the grid, or NaN
			nulls += b2i(x != x)
			outOfRange += b2i(x < lo)
			x = g0
		} else if x > g1 {
			outOfRange += b2i(x > hi)
			x = g1
		}
		idx[k] = int32((u0 - math.Float64bits(-x+off)>>11) >> (sh & 63))
	}
	return nulls, outOfRange
}

// searchCells is stage 2 when some cell holds several distinct edge values:
// a binary search over the w edges from each value's cell's first, like
// BinIndex's but with the same depth for every value, so that the loop's
// exit is never mispredicted. Edges of higher cells and the NaN padding are
// not ≤ x, so they do not count; NaN (cell 0) ends in bin 0. Bin i of value
// k is counted in h[i<<shift | k mod 2^shift].
func searchCells[C uint32 | float64](h []C, shift uint, cells []uint32, ext []float64, w int, idx []int32, xs []float64) {
	xs = xs[:len(idx)]
	lane := 1<<shift - 1
	for k, c := range idx {
		x := xs[k]
		base, n := int(cells[c]&cellLowMask), w
		for n > 1 {
			half := n >> 1
			base += half * b2i(ext[base+half-1] <= x)
			n -= half
		}
		h[(base+b2i(ext[base] <= x))<<shift|k&lane]++
	}
}

// searchCellsLanes is searchCells into the 4 histograms of binCells.
func searchCellsLanes(h []uint32, cells []uint32, ext []float64, w int, idx []int32, xs []float64) {
	xs = xs[:len(idx)]
	stride := len(h) / 4
	for k, c := range idx {
		x := xs[k]
		base, n := int(cells[c]&cellLowMask), w
		for n > 1 {
			half := n >> 1
			base += half * b2i(ext[base+half-1] <= x)
			n -= half
		}
		h[(k&3)*stride+base+b2i(ext[base] <= x)]++
	}
}

// binCells is stage 2 when every cell's edges share one value: bin i of
// value k is counted in h[4i + k mod 4], so that a constant or far-drifted
// column does not wait on each increment of one counter. The bin is picked
// by masking with the comparison, not by a branch, which would mispredict
// on half the values near an edge. NaN (cell 0, not ≥ any edge) ends in
// bin 0.
func binCells(h []uint32, cells []uint32, ext []float64, idx []int32, xs []float64) {
	xs = xs[:len(idx)]
	stride := len(h) / 4
	s2, s3 := 2*stride, 3*stride
	k := 0
	for ; k+4 <= len(idx) && k+4 <= len(xs); k += 4 {
		i, x := (*[4]int32)(idx[k:k+4]), (*[4]float64)(xs[k:k+4])
		e := cells[i[0]]
		l := int(e & cellLowMask)
		h[l+int(e>>cellCountShift)&-b2i(x[0] >= ext[l])]++
		e = cells[i[1]]
		l = int(e & cellLowMask)
		h[stride+l+int(e>>cellCountShift)&-b2i(x[1] >= ext[l])]++
		e = cells[i[2]]
		l = int(e & cellLowMask)
		h[s2+l+int(e>>cellCountShift)&-b2i(x[2] >= ext[l])]++
		e = cells[i[3]]
		l = int(e & cellLowMask)
		h[s3+l+int(e>>cellCountShift)&-b2i(x[3] >= ext[l])]++
	}
	for ; k < len(idx); k++ {
		e := cells[idx[k]]
		l := int(e & cellLowMask)
		h[l+int(e>>cellCountShift)&-b2i(xs[k] >= ext[l])]++
	}
}

// binCellsDirect is binCells counting straight into bins.
func binCellsDirect(bins []float64, cells []uint32, ext []float64, idx []int32, xs []float64) {
	xs = xs[:len(idx)]
	for k, c := range idx {
		e := cells[c]
		l := int(e & cellLowMask)
		bins[l+int(e>>cellCountShift)&-b2i(xs[k] >= ext[l])]++
	}
}
