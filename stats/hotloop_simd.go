//go:build goexperiment.simd && amd64

package stats

import "simd/archsimd"

// activeKernel is decided once at start-up: archsimd's AVX512 means F, CD,
// BW, DQ and VL, which the 512-bit kernel's compares, min/max, mask moves
// and conversion need; the 256-bit one needs AVX2.
var activeKernel = func() Kernel {
	switch {
	case archsimd.X86.AVX512():
		return KernelAVX512
	case archsimd.X86.AVX2():
		return KernelAVX2
	}
	return KernelPureGo
}()

// kernelAvailable reports whether this build and CPU can run kernel k.
func kernelAvailable(k Kernel) bool {
	switch k {
	case KernelAVX512:
		return archsimd.X86.AVX512()
	case KernelAVX2:
		return archsimd.X86.AVX2()
	}
	return k == KernelPureGo
}

// cellsAVX512 is cellsGo 8 values at a time: the same IEEE operations lane
// by lane, so the same cells. archsimd has no gather, so the cell table is
// read in stage 2, in scalar code. The counts add up in vectors (a true
// mask lane is −1).
func (g *kernelGrid) cellsAVX512(idx []int32, xs []float64, lo, hi float64) (nulls, outOfRange int) {
	loV, hiV := archsimd.BroadcastFloat64x8(lo), archsimd.BroadcastFloat64x8(hi)
	g0V, g1V := archsimd.BroadcastFloat64x8(g.g0), archsimd.BroadcastFloat64x8(g.g1)
	t0V, scaleV := archsimd.BroadcastFloat64x8(g.t0), archsimd.BroadcastFloat64x8(g.scale)
	offV, magic := archsimd.BroadcastFloat64x8(g.off), archsimd.BroadcastUint64x8(logMagic)
	sgnV := archsimd.BroadcastFloat64x8(g.sgn)
	var nullV, outV archsimd.Int64x8
	idx = idx[:len(xs)]
	n := len(xs) &^ 7
	logGrid := g.mode == gridLog
	for i := 0; i < n; i += 8 {
		x := archsimd.LoadFloat64x8((*[8]float64)(xs[i : i+8]))
		nan := x.IsNaN().ToInt64x8()
		nullV = nullV.Sub(nan)
		outV = outV.Sub(x.Less(loV).Or(x.Greater(hiV)).ToInt64x8())
		// VMAXPD/VMINPD differ from the clamp's branches only on ±0
		// (same cell) and NaN, whose lanes are zeroed below (cell 0)
		// rather than left to the operand order VMAXPD returns for NaN.
		y := x.Max(g0V).Min(g1V)
		if logGrid {
			y = y.Mul(sgnV).Add(offV).AsUint64x8().ShiftAllRight(11).Or(magic).AsFloat64x8().Mul(sgnV)
		}
		v := y.Sub(t0V).Mul(scaleV).AsInt64x8().AndNot(nan).AsFloat64x8()
		v.ConvertToInt32().Store((*[8]int32)(idx[i : i+8]))
	}
	var nv, ov [8]int64
	nullV.Store(&nv)
	outV.Store(&ov)
	// Scalar SSE code after 512-bit code with dirty upper halves merges
	// into the old registers: stage 2's every load would wait for the
	// previous increment (5–6× slower measured without this).
	archsimd.ClearAVXUpperBits()
	for l := range nv {
		nulls, outOfRange = nulls+int(nv[l]), outOfRange+int(ov[l])
	}
	tn, to := g.cellsGo(idx[n:], xs[n:], lo, hi)
	return nulls + tn, outOfRange + to
}

// cellsAVX2 is cellsAVX512 on 256-bit vectors, 4 values at a time, two
// vectors per iteration.
func (g *kernelGrid) cellsAVX2(idx []int32, xs []float64, lo, hi float64) (nulls, outOfRange int) {
	loV, hiV := archsimd.BroadcastFloat64x4(lo), archsimd.BroadcastFloat64x4(hi)
	g0V, g1V := archsimd.BroadcastFloat64x4(g.g0), archsimd.BroadcastFloat64x4(g.g1)
	t0V, scaleV := archsimd.BroadcastFloat64x4(g.t0), archsimd.BroadcastFloat64x4(g.scale)
	offV, magic := archsimd.BroadcastFloat64x4(g.off), archsimd.BroadcastUint64x4(logMagic)
	sgnV := archsimd.BroadcastFloat64x4(g.sgn)
	var nullV, outV archsimd.Int64x4
	idx = idx[:len(xs)]
	n := len(xs) &^ 3
	logGrid := g.mode == gridLog
	for i := 0; i < n; i += 4 {
		x := archsimd.LoadFloat64x4((*[4]float64)(xs[i : i+4]))
		nan := x.IsNaN().ToInt64x4()
		nullV = nullV.Sub(nan)
		outV = outV.Sub(x.Less(loV).Or(x.Greater(hiV)).ToInt64x4())
		y := x.Max(g0V).Min(g1V)
		if logGrid {
			y = y.Mul(sgnV).Add(offV).AsUint64x4().ShiftAllRight(11).Or(magic).AsFloat64x4().Mul(sgnV)
		}
		v := y.Sub(t0V).Mul(scaleV).AsInt64x4().AndNot(nan).AsFloat64x4()
		v.ConvertToInt32().Store((*[4]int32)(idx[i : i+4]))
	}
	var nv, ov [4]int64
	nullV.Store(&nv)
	outV.Store(&ov)
	archsimd.ClearAVXUpperBits()
	for l := range nv {
		nulls, outOfRange = nulls+int(nv[l]), outOfRange+int(ov[l])
	}
	tn, to := g.cellsGo(idx[n:], xs[n:], lo, hi)
	return nulls + tn, outOfRange + to
}
