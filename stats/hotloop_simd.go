//go:build goexperiment.simd && amd64

package stats

import (
	"math/bits"
	"simd/archsimd"
)

// hasSIMD is decided once at start-up: archsimd's AVX512 means F, CD, BW,
// DQ and VL, which the kernel's compares, min/max and conversion need.
var hasSIMD = archsimd.X86.AVX512()

// cellsSIMD is cellsGo 8 values at a time: the same IEEE operations lane by
// lane, so the same cells. archsimd has no gather, so the cell table is read
// in stage 2, in scalar code.
func (g *kernelGrid) cellsSIMD(idx []int32, xs []float64, lo, hi float64) (nulls, outOfRange int) {
	loV, hiV := archsimd.BroadcastFloat64x8(lo), archsimd.BroadcastFloat64x8(hi)
	g0V, g1V := archsimd.BroadcastFloat64x8(g.g0), archsimd.BroadcastFloat64x8(g.g1)
	scaleV := archsimd.BroadcastFloat64x8(g.scale)
	idx = idx[:len(xs)]
	n := len(xs) &^ 7
	for i := 0; i < n; i += 8 {
		x := archsimd.LoadFloat64x8((*[8]float64)(xs[i : i+8]))
		nulls += bits.OnesCount8(x.IsNaN().ToBits())
		outOfRange += bits.OnesCount8(x.Less(loV).ToBits() | x.Greater(hiV).ToBits())
		// VMAXPD/VMINPD differ from the clamp's branches only on ±0
		// (same cell) and NaN (any cell).
		x.Max(g0V).Min(g1V).Sub(g0V).Mul(scaleV).ConvertToInt32().Store((*[8]int32)(idx[i : i+8]))
	}
	// Scalar SSE code after 512-bit code with dirty upper halves merges
	// into the old registers: stage 2's every load would wait for the
	// previous increment (5–6× slower measured without this).
	archsimd.ClearAVXUpperBits()
	tn, to := g.cellsGo(idx[n:], xs[n:], lo, hi)
	return nulls + tn, outOfRange + to
}
