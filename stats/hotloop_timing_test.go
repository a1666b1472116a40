package stats

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// hotLoopRef returns the default 200 fine bins' Binner for a reference
// sample drawn by draw (199 quantile edges), and the sample's min and max.
func hotLoopRef(draw func(*rand.Rand) float64) (*Binner, float64, float64) {
	r := rand.New(rand.NewPCG(5, 5))
	ref := make([]float64, 100_000)
	for i := range ref {
		ref[i] = draw(r)
	}
	slices.Sort(ref)
	return NewBinner(QuantileEdges(nil, ref, 200)), ref[0], ref[len(ref)-1]
}

// hotLoopRun runs loop as the sub-benchmark name over n values, reporting
// ns per value on average and in the fastest single pass (min-ns/value): on
// a machine shared with other work, the pass least disturbed, whose ratios
// to the sum's hold where the averages' swing 2×. loop is a closure of its
// own so that its locals live in registers: inlined under b.Loop, the sum's
// accumulator was spilled to the stack (6× slower).
func hotLoopRun(b *testing.B, name string, n int, loop func()) {
	b.Run(name, func(b *testing.B) {
		b.SetBytes(int64(8 * n))
		b.ReportAllocs()
		best := time.Duration(math.MaxInt64)
		for b.Loop() {
			t0 := time.Now()
			loop()
			best = min(best, time.Since(t0))
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/value")
		b.ReportMetric(float64(best.Nanoseconds())/float64(n), "min-ns/value")
	})
}

// benchHotLoop runs the baseline and the kernels over xs: sum, a plain
// loop summing xs with one accumulator (the yardstick: binning at
// ≥ 1/4 of its speed in pure Go, 1/3 on AVX2), today's Bin loop (scalar),
// and each kernel this CPU runs.
func benchHotLoop(b *testing.B, bn *Binner, lo, hi float64, xs []float64) {
	bins := make([]float64, len(bn.edges)+1)
	run := func(name string, loop func()) { hotLoopRun(b, name, len(xs), loop) }
	var sum float64
	run("sum", func() {
		s := 0.0
		for _, x := range xs {
			s += x
		}
		sum += s
	})
	var nulls, outOfRange int
	run("scalar", func() { // monitor.AddBatch's loop before the kernel
		n, o := 0, 0
		for _, x := range xs {
			if x != x {
				n++
				continue
			}
			if x < lo || x > hi {
				o++
			}
			bins[bn.Bin(x)]++
		}
		nulls, outOfRange = nulls+n, outOfRange+o
	})
	for _, k := range allKernels {
		if !kernelAvailable(k) {
			b.Run(k.String(), func(b *testing.B) { b.Skipf("no %v kernel in this build or on this CPU", k) })
			continue
		}
		run(k.String(), func() { bn.addColumn(bins, xs, lo, hi, k) })
	}
	_ = sum
}

// BenchmarkHotLoop bins one 64Ki-value column of normal data into the
// default 200 fine bins of another normal sample, range check included.
func BenchmarkHotLoop(b *testing.B) {
	bn, lo, hi := hotLoopRef((*rand.Rand).NormFloat64)
	benchHotLoop(b, bn, lo, hi, benchColumn(1<<16))
}

// BenchmarkHotLoopShapes covers what the normal column does not: every
// value in the top bin (drift far out of range: repeated counters), 10%
// nulls, and lognormal data on lognormal edges (σ = 2: a linear grid of
// even 32 cells per edge leaves up to 8 edges in a cell; the logarithmic one
// needs 8).
func BenchmarkHotLoopShapes(b *testing.B) {
	bn, lo, hi := hotLoopRef((*rand.Rand).NormFloat64)
	xs := benchColumn(1 << 16)
	shifted, nulls := make([]float64, len(xs)), make([]float64, len(xs))
	for i, x := range xs {
		shifted[i] = x + 10
		nulls[i] = x
		if i%10 == 3 {
			nulls[i] = math.NaN()
		}
	}
	b.Run("shifted", func(b *testing.B) { benchHotLoop(b, bn, lo, hi, shifted) })
	b.Run("nulls", func(b *testing.B) { benchHotLoop(b, bn, lo, hi, nulls) })
	logn := func(r *rand.Rand) float64 { return math.Exp(2 * r.NormFloat64()) }
	bn, lo, hi = hotLoopRef(logn)
	skewed := make([]float64, len(xs))
	for i, x := range xs {
		skewed[i] = math.Exp(2 * x)
	}
	b.Run("lognormal", func(b *testing.B) { benchHotLoop(b, bn, lo, hi, skewed) })
}

// BenchmarkHotLoopShort bins the same 64Ki values as BenchmarkHotLoop in
// columns of 1,000, the rows of one Arrow message, as monitor.AddBatch
// receives them: the per-call costs (the interleaved histograms' zeroing and
// sum) against the binning. drifted is +10σ, every value in one bin.
func BenchmarkHotLoopShort(b *testing.B) {
	bn, lo, hi := hotLoopRef((*rand.Rand).NormFloat64)
	xs := benchColumn(1 << 16)
	drifted := make([]float64, len(xs))
	for i, x := range xs {
		drifted[i] = x + 10
	}
	bins := make([]float64, len(bn.edges)+1)
	for _, shape := range []struct {
		name string
		xs   []float64
	}{{"normal", xs}, {"drifted", drifted}} {
		b.Run(shape.name, func(b *testing.B) {
			for _, k := range allKernels {
				if !kernelAvailable(k) {
					continue
				}
				hotLoopRun(b, k.String(), len(shape.xs), func() {
					for c := shape.xs; len(c) > 0; c = c[min(len(c), 1000):] {
						bn.addColumn(bins, c[:min(len(c), 1000)], lo, hi, k)
					}
				})
			}
		})
	}
}
