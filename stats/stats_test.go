package stats

import (
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
)

func randomColumn(n int, seed uint64) []float64 {
	r := rand.New(rand.NewPCG(seed, 7))
	xs := make([]float64, n)
	for i := range xs {
		switch r.IntN(10) {
		case 0:
			xs[i] = math.Inf(1 - 2*r.IntN(2))
		case 1:
			xs[i] = float64(r.IntN(5)) // ties
		case 2:
			xs[i] = 5e-324 * float64(r.IntN(3)-1) // subnormals and ±0
		default:
			xs[i] = r.NormFloat64() * math.Pow(10, float64(r.IntN(40)-20))
		}
	}
	return xs
}

func TestSortFloat64sMatchesSlicesSort(t *testing.T) {
	for _, n := range []int{0, 1, 10, 255, 256, 1000, 100000} {
		xs := randomColumn(n, uint64(n))
		want := slices.Clone(xs)
		slices.Sort(want)
		SortFloat64s(xs, nil)
		for i := range xs {
			// −0 and +0 may swap; they are equal as numbers.
			if xs[i] != want[i] {
				t.Fatalf("n=%d: index %d: %g != %g", n, i, xs[i], want[i])
			}
		}
	}
}

func TestBinIndexMatchesLinearScan(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	for _, ne := range []int{1, 2, 3, 9, 10, 99} {
		edges := make([]float64, ne)
		for i := range edges {
			edges[i] = float64(r.IntN(20)) // repeated edges on purpose
		}
		slices.Sort(edges)
		for range 2000 {
			x := float64(r.IntN(44)-2) / 2
			if r.IntN(50) == 0 {
				x = math.Inf(1 - 2*r.IntN(2))
			}
			want := 0
			for _, e := range edges {
				if e <= x {
					want++
				}
			}
			if got := BinIndex(edges, x); got != want {
				t.Fatalf("edges %v x %g: bin %d, want %d", edges, x, got, want)
			}
		}
	}
}

func TestHotPathsDoNotAllocate(t *testing.T) {
	xs := randomColumn(10000, 3)
	finite := slices.DeleteFunc(slices.Clone(xs), func(x float64) bool { return math.IsInf(x, 0) })
	slices.Sort(finite)
	edges := QuantileEdges(nil, finite, 10)
	counts := make([]float64, 10)
	other := slices.Clone(counts)
	scratch := make([]uint64, 2*len(xs))
	work := slices.Clone(xs)
	f := func(name string, fn func()) {
		if a := testing.AllocsPerRun(20, fn); a != 0 {
			t.Errorf("%s allocates %.0f times per run", name, a)
		}
	}
	f("Histogram", func() { Histogram(counts, edges, xs) })
	Histogram(other, edges, finite[:5000])
	f("PSI", func() { PSI(counts, other, 1e-4) })
	f("JensenShannon", func() { JensenShannon(counts, other) })
	f("Hellinger", func() { Hellinger(counts, other) })
	f("Wasserstein1", func() { Wasserstein1(finite[:5000], finite[5000:]) })
	f("KSStatistic", func() { KSStatistic(finite[:5000], finite[5000:]) })
	f("KS2SampPValue asymptotic", func() { KS2SampPValue(0.01, 50000, 80000) })
	f("SortFloat64s", func() { copy(work, finite); SortFloat64s(work[:len(finite)], scratch) })
	f("Summarize", func() { Summarize(xs) })
}

func TestEdgeCases(t *testing.T) {
	if d, p := KS2Samp(nil, []float64{1}); !math.IsNaN(d) || !math.IsNaN(p) {
		t.Fatalf("empty KS: %g %g", d, p)
	}
	if d, p := KS2Samp([]float64{1, 2, 3}, []float64{1, 2, 3}); d != 0 || p != 1 {
		t.Fatalf("identical KS: %g %g", d, p)
	}
	if w := Wasserstein1([]float64{1}, nil); !math.IsNaN(w) {
		t.Fatalf("empty Wasserstein: %g", w)
	}
	if s, dof, p := ChiSquareHomogeneity([]float64{5, 0}, []float64{7, 0}); s != 0 || dof != 0 || p != 1 {
		t.Fatalf("single column chi-square: %g %d %g", s, dof, p)
	}
	if z, p := TwoProportionZ(0, 10, 0, 20); z != 0 || p != 1 {
		t.Fatalf("degenerate z: %g %g", z, p)
	}
	if s := Summarize([]float64{math.NaN(), math.Inf(1)}); s.N != 0 || !math.IsNaN(s.Mean) {
		t.Fatalf("empty summary: %+v", s)
	}
}

func benchColumn(n int) []float64 {
	r := rand.New(rand.NewPCG(9, 9))
	xs := make([]float64, n)
	for i := range xs {
		xs[i] = r.NormFloat64()
	}
	return xs
}

// BenchmarkSumColumn is the baseline the hot loop is compared with: a plain
// loop summing the column with one accumulator.
func BenchmarkSumColumn(b *testing.B) {
	xs := benchColumn(1 << 20)
	b.SetBytes(int64(8 * len(xs)))
	b.ReportAllocs()
	var s float64
	for b.Loop() {
		for _, x := range xs {
			s += x
		}
	}
	_ = s
}

func BenchmarkHistogram(b *testing.B) {
	xs := benchColumn(1 << 20)
	sorted := slices.Clone(xs)
	slices.Sort(sorted)
	for _, bins := range []int{10, 100} {
		edges := QuantileEdges(nil, sorted, bins)
		counts := make([]float64, bins)
		b.Run("bins="+itoa(bins), func(b *testing.B) {
			b.SetBytes(int64(8 * len(xs)))
			b.ReportAllocs()
			for b.Loop() {
				Histogram(counts, edges, xs)
			}
		})
	}
}

func BenchmarkSort(b *testing.B) {
	xs := benchColumn(1_000_000)
	work := make([]float64, len(xs))
	scratch := make([]uint64, 2*len(xs))
	b.Run("radix", func(b *testing.B) {
		b.SetBytes(int64(8 * len(xs)))
		b.ReportAllocs()
		for b.Loop() {
			copy(work, xs)
			SortFloat64s(work, scratch)
		}
	})
	b.Run("slices.Sort", func(b *testing.B) {
		b.SetBytes(int64(8 * len(xs)))
		b.ReportAllocs()
		for b.Loop() {
			copy(work, xs)
			slices.Sort(work)
		}
	})
}

func BenchmarkTests(b *testing.B) {
	a, c := benchColumn(1_000_000), benchColumn(1_000_000)
	for i := range c {
		c[i] += 0.01
	}
	slices.Sort(a)
	slices.Sort(c)
	edges := QuantileEdges(nil, a, 10)
	ra, rc := make([]float64, 10), make([]float64, 10)
	Histogram(ra, edges, a)
	Histogram(rc, edges, c)
	bench := func(name string, f func()) {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				f()
			}
		})
	}
	bench("KS2Samp/1e6", func() { KS2Samp(a, c) })
	bench("KS2Samp/exact-5000", func() { KS2Samp(a[:5000], c[:4000]) })
	bench("Wasserstein1/1e6", func() { Wasserstein1(a, c) })
	bench("PSI", func() { PSI(ra, rc, 1e-4) })
	bench("JensenShannon", func() { JensenShannon(ra, rc) })
	bench("Hellinger", func() { Hellinger(ra, rc) })
	bench("ChiSquareHomogeneity", func() { ChiSquareHomogeneity(ra, rc) })
	bench("TwoProportionZ", func() { TwoProportionZ(300, 1000, 350, 1000) })
	labels, preds := make([]string, 100000), make([]string, 100000)
	scores := make([]float64, 100000)
	for i := range labels {
		labels[i], preds[i] = "0", "1"
		if i%3 == 0 {
			labels[i] = "1"
		}
		scores[i] = float64(i%1000) / 1000
	}
	bench("ClassificationMetrics/1e5", func() { ClassificationMetrics(labels, preds, scores, "1") })
	bench("RegressionMetrics/1e6", func() { RegressionMetrics(a, c) })
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestHistogramSortedMatchesHistogram(t *testing.T) {
	xs := slices.DeleteFunc(randomColumn(5000, 11), func(x float64) bool { return x != x })
	slices.Sort(xs)
	for _, edges := range [][]float64{{0}, {-1, 0, 0, 1, 2}, QuantileEdges(nil, xs, 10), {math.Inf(-1), math.Inf(1)}} {
		a, b := make([]float64, len(edges)+1), make([]float64, len(edges)+1)
		Histogram(a, edges, xs)
		HistogramSorted(b, edges, xs)
		if !slices.Equal(a, b) {
			t.Fatalf("edges %v: %v != %v", edges, a, b)
		}
	}
}
