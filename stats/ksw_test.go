package stats

import (
	"math"
	"math/rand/v2"
	"slices"
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
