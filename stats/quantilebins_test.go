package stats

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestQuantileBinsMatchesSortedPath(t *testing.T) {
	r := rand.New(rand.NewPCG(12, 12))
	gens := []func() float64{
		func() float64 { return r.NormFloat64() },
		func() float64 { return math.Exp(2 * r.NormFloat64()) },
		func() float64 { return float64(r.IntN(4)) },
		func() float64 { return math.Round(r.NormFloat64()*10) / 10 },
		func() float64 {
			if r.IntN(50) == 0 {
				return math.Inf(r.IntN(2)*2 - 1)
			}
			return r.NormFloat64()
		},
		func() float64 { return 7 },
		// A range wider than float64 (hi − lo overflows): no grid.
		func() float64 { return float64(r.IntN(3)-1) * 1.5e308 * r.Float64() },
	}
	gens = append(gens, kswGens(r)...)
	for gi, gen := range gens {
		for _, n := range []int{1, 2, 3, 10, 999, 50000} {
			xs := make([]float64, n)
			for i := range xs {
				xs[i] = gen()
			}
			edges, counts := QuantileBins(xs, 10, 200)
			sorted := slices.Clone(xs)
			slices.Sort(sorted)
			for bi, b := range []int{10, 200} {
				want := QuantileEdges(nil, sorted, b)
				wantC := make([]float64, b)
				Histogram(wantC, want, xs)
				if !slices.EqualFunc(edges[bi], want, func(a, b float64) bool { return a == b || a != a && b != b }) {
					t.Fatalf("gen %d n %d bins %d: edges %v, want %v", gi, n, b, edges[bi], want)
				}
				if !slices.Equal(counts[bi], wantC) {
					t.Fatalf("gen %d n %d bins %d: counts %v, want %v", gi, n, b, counts[bi], wantC)
				}
			}
		}
	}
}

func BenchmarkQuantileBins(b *testing.B) {
	xs := benchColumn(1_000_000)
	b.Run("buckets", func(b *testing.B) {
		for b.Loop() {
			QuantileBins(xs, 10, 200)
		}
	})
	b.Run("sort", func(b *testing.B) {
		s := make([]float64, len(xs))
		scratch := make([]uint64, 2*len(xs))
		for b.Loop() {
			copy(s, xs)
			SortFloat64s(s, scratch)
			e := QuantileEdges(nil, s, 10)
			HistogramSorted(make([]float64, 10), e, s)
			e = QuantileEdges(nil, s, 200)
			HistogramSorted(make([]float64, 200), e, s)
		}
	})
}
