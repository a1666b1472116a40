//go:build !(goexperiment.simd && amd64)

package stats

// Without GOEXPERIMENT=simd on amd64, AddColumn always takes the pure-Go
// kernel.
const activeKernel = KernelPureGo

// kernelAvailable reports whether this build and CPU can run kernel k.
func kernelAvailable(k Kernel) bool { return k == KernelPureGo }

// cellsAVX512 and cellsAVX2 never run in this build; they keep addBlocks
// building.
func (g *kernelGrid) cellsAVX512(idx []int32, xs []float64, lo, hi float64) (nulls, outOfRange int) {
	return g.cellsGo(idx, xs, lo, hi)
}

func (g *kernelGrid) cellsAVX2(idx []int32, xs []float64, lo, hi float64) (nulls, outOfRange int) {
	return g.cellsGo(idx, xs, lo, hi)
}
