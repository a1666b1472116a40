package stats

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// With 200 reference-quantile bins (the streaming default) the binned KS is
// within 0.005 of the exact statistic, and the exact value lies inside the
// reported bound; Wasserstein-1 stays within its bound too.
func TestBinnedApproximations(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	gens := map[string]func(shift float64) float64{
		"normal":      func(s float64) float64 { return r.NormFloat64() + s },
		"lognormal":   func(s float64) float64 { return math.Exp(r.NormFloat64() + s) },
		"exponential": func(s float64) float64 { return r.ExpFloat64() * (1 + s) },
		"ties":        func(s float64) float64 { return float64(r.IntN(30)) + math.Round(s*10) },
	}
	for name, gen := range gens {
		for _, shift := range []float64{0, 0.05, 0.2, 1} {
			ref, cur := make([]float64, 50000), make([]float64, 20000)
			for i := range ref {
				ref[i] = gen(0)
			}
			for i := range cur {
				cur[i] = gen(shift)
			}
			slices.Sort(ref)
			slices.Sort(cur)
			edges := QuantileEdges(nil, ref, 200)
			rc, cc := make([]float64, 200), make([]float64, 200)
			HistogramSorted(rc, edges, ref)
			HistogramSorted(cc, edges, cur)
			exact := KSStatistic(ref, cur)
			d, bound := KSBinned(rc, cc)
			if exact < d-1e-12 || exact > d+bound+1e-12 {
				t.Errorf("%s shift %g: exact D %g outside [%g, %g]", name, shift, exact, d, d+bound)
			}
			if shift < 1 && exact-d > 0.005 {
				t.Errorf("%s shift %g: binned D %g is %g below exact %g", name, shift, d, exact-d, exact)
			}
			lo, hi := math.Min(ref[0], cur[0]), math.Max(ref[len(ref)-1], cur[len(cur)-1])
			w, wb := Wasserstein1(ref, cur), WassersteinBinned(edges, rc, cc, lo, hi)
			var limit float64
			left := lo
			for i := range rc {
				right := hi
				if i < len(edges) {
					right = edges[i]
				}
				limit += (right - left) * math.Max(rc[i]/50000, cc[i]/20000)
				left = right
			}
			if math.Abs(w-wb) > limit+1e-12 {
				t.Errorf("%s shift %g: binned W %g vs exact %g beyond bound %g", name, shift, wb, w, limit)
			}
		}
	}
}

func TestAbsLinearIntegral(t *testing.T) {
	f := func(d0, d1, w, want float64) {
		t.Helper()
		if got := absLinearIntegral(d0, d1, w); math.Abs(got-want) > 1e-15 {
			t.Fatalf("(%g, %g, %g) = %g, want %g", d0, d1, w, got, want)
		}
	}
	f(1, 1, 2, 2)
	f(-1, 1, 2, 1) // two triangles of area 0.5
	f(0, 2, 1, 1)
	f(-2, 0, 1, 1)
	f(1, -3, 4, (1+9)*4/8.0)
}
