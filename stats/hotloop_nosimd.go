//go:build !(goexperiment.simd && amd64)

package stats

// hasSIMD is false without GOEXPERIMENT=simd on amd64: AddColumn always
// takes the pure-Go kernel.
const hasSIMD = false

// cellsSIMD only runs when hasSIMD; this keeps addColumn building.
func (g *kernelGrid) cellsSIMD(idx []int32, xs []float64, lo, hi float64) (nulls, outOfRange int) {
	return g.cellsGo(idx, xs, lo, hi)
}
