package stats

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestBinnerMatchesBinIndex(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 31))
	edgeSets := [][]float64{nil, {0}, {1, 1, 1}, {-1, 0, 0, 0, 2, 1e-300, 3}, {math.Inf(-1), 0, 1}, {0, 1, math.Inf(1)}, {0, 5e-324}}
	for range 20 {
		n := 1 + r.IntN(300)
		e := make([]float64, n)
		for i := range e {
			e[i] = math.Round(r.NormFloat64()*50) / 10 // repeated edges
		}
		edgeSets = append(edgeSets, e)
	}
	xs := []float64{math.Inf(-1), math.Inf(1), 0, math.Copysign(0, -1), 5e-324, -5e-324, 1e300, -1e300}
	for range 20000 {
		xs = append(xs, math.Round(r.NormFloat64()*60)/10, r.NormFloat64()*10)
	}
	for _, e := range edgeSets {
		slices.Sort(e)
		b := NewBinner(e)
		for _, x := range xs {
			if got, want := b.Bin(x), BinIndex(e, x); got != want {
				t.Fatalf("edges %v x %v: %d, want %d", e, x, got, want)
			}
		}
	}
}

func TestBinnerHistogramAllocatesNothing(t *testing.T) {
	xs := benchColumn(10000)
	sorted := slices.Clone(xs)
	slices.Sort(sorted)
	b := NewBinner(QuantileEdges(nil, sorted, 200))
	counts := make([]float64, 200)
	if a := testing.AllocsPerRun(10, func() { b.Histogram(counts, xs) }); a != 0 {
		t.Fatalf("%v allocs", a)
	}
}

func BenchmarkBinner(b *testing.B) {
	xs := benchColumn(1 << 20)
	sorted := slices.Clone(xs)
	slices.Sort(sorted)
	for _, bins := range []int{10, 200} {
		edges := QuantileEdges(nil, sorted, bins)
		bn := NewBinner(edges)
		counts := make([]float64, bins)
		b.Run("bins="+itoa(bins), func(b *testing.B) {
			b.SetBytes(int64(8 * len(xs)))
			b.ReportAllocs()
			for b.Loop() {
				bn.Histogram(counts, xs)
			}
		})
	}
}
