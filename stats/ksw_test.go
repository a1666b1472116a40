package stats

import (
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
)

// KSWasserstein equals the sorted merge walks: D bit for bit, W to 1e-10 relative (the bucket sums round differently from the walk).
func TestKSWassersteinMatchesSortedWalks(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	gens := []func() float64{
		func() float64 { return r.NormFloat64() },
		func() float64 { return 50 + 10*r.NormFloat64() },
		func() float64 { return math.Exp(3 * r.NormFloat64()) },
		func() float64 { return float64(r.IntN(7)) },
		func() float64 { return math.Round(r.NormFloat64()*100) / 100 },
		func() float64 { // zeros of both signs, infinities, huge and tiny values
			switch r.IntN(8) {
			case 0:
				return math.Copysign(0, float64(r.IntN(2)*2-1))
			case 1:
				return math.Inf(r.IntN(2)*2 - 1)
			case 2:
				return r.NormFloat64() * 1e300
			case 3:
				return r.NormFloat64() * 1e-300
			}
			return r.NormFloat64()
		},
	}
	sizes := [][2]int{{1, 1}, {3, 5}, {100, 80}, {5000, 7000}, {200000, 150000}}
	if testing.Short() {
		sizes = sizes[:4] // the race run: the large case adds nothing concurrent
	}
	for gi, gen := range gens {
		for _, n := range sizes {
			for _, shift := range []float64{0, 0.01, 0.5} {
				a, b := make([]float64, n[0]), make([]float64, n[1])
				for i := range a {
					a[i] = gen()
				}
				for i := range b {
					b[i] = gen() + shift
				}
				d, w := KSWasserstein(a, b)
				sa, sb := slices.Clone(a), slices.Clone(b)
				slices.Sort(sa)
				slices.Sort(sb)
				wantD := KSStatistic(sa, sb)
				fin := func(s []float64) []float64 {
					return slices.DeleteFunc(slices.Clone(s), func(x float64) bool { return math.IsInf(x, 0) })
				}
				wantW := Wasserstein1(fin(sa), fin(sb))
				if d != wantD {
					t.Errorf("gen %d n %v shift %g: D %v, want %v", gi, n, shift, d, wantD)
				}
				if !(math.Abs(w-wantW) <= 1e-10*math.Max(1, math.Abs(wantW))) && !(math.IsNaN(w) && math.IsNaN(wantW)) {
					t.Errorf("gen %d n %v shift %g: W %v, want %v", gi, n, shift, w, wantW)
				}
			}
		}
	}
}

func BenchmarkKSWasserstein(b *testing.B) {
	x, y := benchColumn(1_000_000), benchColumn(1_000_000)
	for i := range y {
		y[i] += 0.01
	}
	b.Run("buckets", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			KSWasserstein(x, y)
		}
	})
	b.Run("sort+walks", func(b *testing.B) {
		sx, sy := make([]float64, len(x)), make([]float64, len(y))
		scratch := make([]uint64, 2*len(x))
		b.ReportAllocs()
		for b.Loop() {
			copy(sx, x)
			copy(sy, y)
			SortFloat64s(sx, scratch)
			SortFloat64s(sy, scratch)
			KSStatistic(sx, sy)
			Wasserstein1(sx, sy)
		}
	})
}

// kswGens are the samples TestKSWMatchesPrevious and
// TestQuantileBinsMatchesPrevious draw: ties, one value per bucket, both
// zeros, infinities and ranges that overflow the grid.
func kswGens(r *rand.Rand) []func() float64 {
	return []func() float64{
		func() float64 { return r.NormFloat64() },
		func() float64 { return math.Exp(2 * r.NormFloat64()) },
		func() float64 { return float64(r.IntN(20)) },
		func() float64 { return float64(r.IntN(3)) * 1e6 },
		func() float64 { return math.Round(r.NormFloat64()*100) / 100 },
		func() float64 { return 7 },
		func() float64 {
			if r.IntN(3) == 0 {
				return float64(r.IntN(4))
			}
			return r.NormFloat64()
		},
		func() float64 {
			switch r.IntN(8) {
			case 0:
				return math.Copysign(0, float64(r.IntN(2)*2-1))
			case 1:
				return math.Inf(r.IntN(2)*2 - 1)
			case 2:
				return r.NormFloat64() * 1e300
			case 3:
				return r.NormFloat64() * 1e-300
			}
			return r.NormFloat64()
		},
		func() float64 { return math.Copysign(float64(r.IntN(2)), float64(r.IntN(2)*2-1)) },
	}
}

// KSWasserstein and KSWassersteinHistogram agree bit for bit, and the
// latter's counts are Histogram's, on every generator and edge set (the
// sorted walks of TestKSWassersteinMatchesSortedWalks hold D and W).
func TestKSWassersteinHistogramMatches(t *testing.T) {
	if testing.Short() {
		t.Skip("every call walks all 65,536 buckets, which the race detector makes slow; TestKSWConcurrent covers the pool")
	}
	r := rand.New(rand.NewPCG(31, 31))
	for gi, gen := range kswGens(r) {
		for _, n := range [][2]int{{1, 1}, {3, 5}, {100, 80}, {5000, 7000}, {60000, 50000}} {
			for _, shift := range []float64{0, 0.01} {
				a, b := make([]float64, n[0]), make([]float64, n[1])
				for i := range a {
					a[i] = gen()
				}
				for i := range b {
					b[i] = gen() + shift
				}
				d, w := KSWasserstein(a, b)
				sorted := slices.Clone(a)
				slices.Sort(sorted)
				edgeSets := [][]float64{
					QuantileEdges(nil, sorted, 10),
					{sorted[0], sorted[0], sorted[len(sorted)-1]},
					{math.Inf(-1), 0, 1},           // not finite: Histogram
					{1, 0},                         // unsorted: Histogram
					{-1e308, b[0], b[0] + 1e-9, 5}, // outside the range, at a value
				}
				for _, edges := range edgeSets {
					got, want := make([]float64, len(edges)+1), make([]float64, len(edges)+1)
					d2, w2 := KSWassersteinHistogram(a, b, edges, got)
					Histogram(want, edges, b)
					if !slices.Equal(got, want) || math.Float64bits(d2) != math.Float64bits(d) || math.Float64bits(w2) != math.Float64bits(w) {
						t.Fatalf("gen %d n %v shift %g edges %v: counts %v, want %v", gi, n, shift, edges, got, want)
					}
				}
			}
		}
	}
}

// Calls on several goroutines share the pooled scratch safely and give the
// sequential results.
func TestKSWConcurrent(t *testing.T) {
	r := rand.New(rand.NewPCG(33, 33))
	gens := kswGens(r)
	type result struct{ d, w, c0 float64 }
	in := make([][2][]float64, 8)
	want := make([]result, len(in))
	edges := []float64{-1, 0, 1}
	for i := range in {
		gen := gens[i%len(gens)]
		a, b := make([]float64, 3000), make([]float64, 2000)
		for j := range a {
			a[j] = gen()
		}
		for j := range b {
			b[j] = gen() + 0.1
		}
		in[i] = [2][]float64{a, b}
		c := make([]float64, 4)
		d, w := KSWassersteinHistogram(a, b, edges, c)
		want[i] = result{d, w, c[0]}
	}
	var wg sync.WaitGroup
	for i := range in {
		wg.Go(func() {
			for range 3 {
				c := make([]float64, 4)
				d, w := KSWassersteinHistogram(in[i][0], in[i][1], edges, c)
				if got := (result{d, w, c[0]}); math.Float64bits(got.d) != math.Float64bits(want[i].d) ||
					math.Float64bits(got.w) != math.Float64bits(want[i].w) || got.c0 != want[i].c0 {
					t.Errorf("input %d: got %+v, want %+v", i, got, want[i])
				}
			}
		})
	}
	wg.Wait()
}

func TestKSWassersteinHistogramEmpty(t *testing.T) {
	counts := make([]float64, 3)
	d, w := KSWassersteinHistogram(nil, []float64{1, 2, 3}, []float64{1.5, 2.5}, counts)
	if !math.IsNaN(d) || !math.IsNaN(w) || !slices.Equal(counts, []float64{1, 1, 1}) {
		t.Fatalf("D %v W %v counts %v", d, w, counts)
	}
}
