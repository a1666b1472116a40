package stats

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// kernelEdgeSets are the edge sets the column kernels must bin exactly:
// none, one, ties, ±0, ±Inf, a range that overflows, one too narrow for a
// scale, magnitudes across 1e±300, and realistic quantile edges.
func kernelEdgeSets() [][]float64 {
	r := rand.New(rand.NewPCG(41, 41))
	sets := [][]float64{
		nil,
		{0},
		{1, 1, 1},
		{math.Copysign(0, -1), 0},
		{-1, 0, 0, 0, 1e-300, 2, 3},
		{math.Inf(-1), 0, 1},
		{0, 1, math.Inf(1)},
		{math.Inf(-1), math.Inf(1)},
		{math.Inf(-1)},
		{math.Inf(1), math.Inf(1)},
		{-math.MaxFloat64, math.MaxFloat64},
		{0, 5e-324},
		{-1e300, -1e-300, 0, 1e-300, 1e300},
		{1, 1, 1, 1, 1, 2, 2, 2, 3},
	}
	wide := make([]float64, 60) // log-uniform magnitudes, both signs
	for i := range wide {
		wide[i] = math.Copysign(math.Pow(10, r.Float64()*600-300), r.Float64()-0.5)
	}
	sets = append(sets, wide)
	for range 10 {
		e := make([]float64, 1+r.IntN(300))
		for i := range e {
			e[i] = math.Round(r.NormFloat64()*50) / 10 // many repeated edges
		}
		sets = append(sets, e)
	}
	sample := make([]float64, 20000)
	for i := range sample {
		sample[i] = r.NormFloat64()
	}
	slices.Sort(sample)
	sets = append(sets, QuantileEdges(nil, sample, 400)) // more bins than the interleaved histograms take
	sets = append(sets, QuantileEdges(nil, sample, 200))
	for i := range sample {
		sample[i] = math.Exp(sample[i] * 2) // lognormal: dense near 0, long tail
	}
	sets = append(sets, QuantileEdges(nil, sample, 200))
	// More skew: shifted below 0, mirrored (dense at the top), σ = 3,
	// exponential.
	shifted, mirrored, wider, expo := slices.Clone(sample), slices.Clone(sample), slices.Clone(sample), slices.Clone(sample)
	for i, x := range sample {
		shifted[i], mirrored[i] = x-5, -x
		wider[i] = math.Pow(x, 1.5)
		expo[i] = r.ExpFloat64()
	}
	for _, s := range [][]float64{shifted, mirrored, wider, expo} {
		slices.Sort(s)
		sets = append(sets, QuantileEdges(nil, s, 200))
	}
	for _, e := range sets {
		slices.Sort(e)
	}
	return sets
}

// kernelColumn mixes the special values, every edge and its neighbours, and
// random data, shuffled so that each lands in every vector lane.
func kernelColumn(r *rand.Rand, edges []float64) []float64 {
	xs := []float64{math.NaN(), math.Inf(-1), math.Inf(1), 0, math.Copysign(0, -1), 5e-324, -5e-324,
		1e300, -1e300, math.MaxFloat64, -math.MaxFloat64, math.NaN(), math.NaN()}
	for _, e := range edges {
		xs = append(xs, e, math.Nextafter(e, math.Inf(-1)), math.Nextafter(e, math.Inf(1)))
	}
	for range 3000 {
		xs = append(xs, math.Round(r.NormFloat64()*60)/10, r.NormFloat64()*10, math.Exp(r.NormFloat64()*2), -math.Exp(r.NormFloat64()*2))
		if len(edges) > 0 {
			xs = append(xs, edges[r.IntN(len(edges))])
		}
	}
	r.Shuffle(len(xs), func(i, j int) { xs[i], xs[j] = xs[j], xs[i] })
	return xs
}

// allKernels are every kernel, whether or not this build and CPU run it.
var allKernels = []Kernel{KernelPureGo, KernelAVX2, KernelAVX512}

// kernels are the column kernels this build runs on this CPU, each forced
// through addColumn, and the dispatching AddColumn.
func kernels(t testing.TB) map[string]func(*Binner, []float64, []float64, float64, float64) (int, int) {
	ks := map[string]func(*Binner, []float64, []float64, float64, float64) (int, int){
		"AddColumn": (*Binner).AddColumn,
	}
	for _, k := range allKernels {
		if !kernelAvailable(k) {
			t.Logf("no %v kernel in this build or on this CPU", k)
			continue
		}
		ks[k.String()] = func(b *Binner, bins, xs []float64, lo, hi float64) (int, int) {
			return b.addColumn(bins, xs, lo, hi, k)
		}
	}
	return ks
}

func TestAddColumnMatchesBinLoop(t *testing.T) {
	r := rand.New(rand.NewPCG(43, 43))
	ks := kernels(t)
	for _, e := range kernelEdgeSets() {
		b := NewBinner(e)
		xs := kernelColumn(r, e)
		// Ranges across the grid, around it (counted in the clamp's
		// branches), and exactly its ends.
		ranges := [][2]float64{{-1.5, 2}, {math.Inf(-1), math.Inf(1)}, {0, 0}, {-1e6, 1e6}}
		if i0, i1 := finiteRange(e); i0 <= i1 {
			ranges = append(ranges, [2]float64{e[i0], e[i1]})
		}
		for _, rng := range ranges {
			lo, hi := rng[0], rng[1]
			// Lengths around vectors and blocks, and the full length:
			// past subMinLen and odd.
			for _, n := range []int{0, 1, 7, 8, 9, 15, 17, 101, kernelBlock - 1, kernelBlock + 1, len(xs)} {
				col := xs[:min(n, len(xs))]
				want := make([]float64, len(e)+1)
				wantNulls, wantOut := 0, 0
				for _, x := range col {
					if x != x {
						wantNulls++
						continue
					}
					if x < lo || x > hi {
						wantOut++
					}
					i := BinIndex(e, x)
					if j := b.Bin(x); j != i {
						t.Fatalf("edges %v: Bin(%v) = %d, BinIndex %d", e, x, j, i)
					}
					want[i]++
				}
				for name, k := range ks {
					got := make([]float64, len(e)+1)
					nulls, out := k(b, got, col, lo, hi)
					if nulls != wantNulls || out != wantOut || !slices.Equal(got, want) {
						t.Fatalf("%s edges %v range %v n %d: nulls %d out %d bins %v, want %d %d %v",
							name, e, rng, n, nulls, out, got, wantNulls, wantOut, want)
					}
				}
			}
		}
	}
}

// TestAddColumnKernelsAgree holds every kernel this CPU runs to the
// pure-Go one on larger random columns with NaN (normal, and skewed like the
// lognormal edge sets), counts accumulated over several calls.
func TestAddColumnKernelsAgree(t *testing.T) {
	ks := kernels(t)
	r := rand.New(rand.NewPCG(47, 47))
	for _, e := range kernelEdgeSets() {
		b := NewBinner(e)
		got := map[string][]float64{}
		for name := range ks {
			got[name] = make([]float64, len(e)+1)
		}
		for n := range 12 {
			xs := make([]float64, 1000+n*797) // across subMinLen and blocks
			for i := range xs {
				switch x := r.Float64(); {
				case x < 0.05:
					xs[i] = math.NaN()
				case x < 0.4 && len(e) > 0:
					xs[i] = e[r.IntN(len(e))]
				case x < 0.7:
					xs[i] = math.Copysign(math.Exp(r.NormFloat64()*2), r.Float64()-0.5)
				default:
					xs[i] = r.NormFloat64() * 3
				}
			}
			wn, wo := b.addColumn(got["purego"], xs, -2, 2, KernelPureGo)
			for name, k := range ks {
				if name == "purego" {
					continue
				}
				gn, gout := k(b, got[name], xs, -2, 2)
				if gn != wn || gout != wo || !slices.Equal(got[name], got["purego"]) {
					t.Fatalf("edges %v: %s %d %d %v, purego %d %d %v", e, name, gn, gout, got[name], wn, wo, got["purego"])
				}
			}
		}
	}
}

// TestKernelGridFineBins guards the speed assumption: on the default 200
// fine bins of normal data and of the skewed sets no cell needs the
// multi-edge fallback; the normal ones take the linear grid, the lognormal
// ones (dense at the bottom or, mirrored, at the top) the logarithmic one.
func TestKernelGridFineBins(t *testing.T) {
	sets := kernelEdgeSets()
	for i, want := range map[int]gridMode{
		len(sets) - 6: gridLinear, // normal
		len(sets) - 5: gridLog,    // lognormal
		len(sets) - 4: gridLog,    // shifted lognormal
		len(sets) - 3: gridLog,    // mirrored lognormal (sgn −1)
		len(sets) - 2: gridLog,    // lognormal σ = 3
	} {
		g := newKernelGrid(sets[i])
		if g.search != 0 || g.mode != want {
			t.Errorf("set %d: mode %d, a cell holds %d edges of several values; want mode %d, none",
				i, g.mode, g.search, want)
		}
	}
}

func TestAddColumnAllocatesNothing(t *testing.T) {
	xs := benchColumn(10001)
	sorted := slices.Clone(xs)
	slices.Sort(sorted)
	b := NewBinner(QuantileEdges(nil, sorted, 200))
	bins := make([]float64, 200)
	for name, k := range kernels(t) {
		for _, col := range [][]float64{xs, xs[:100]} { // both histogram paths
			if a := testing.AllocsPerRun(10, func() { k(b, bins, col, -1, 1) }); a != 0 {
				t.Fatalf("%s, %d values: %v allocs", name, len(col), a)
			}
		}
	}
}

// TestActiveKernel: start-up picks the fastest kernel this build and CPU
// run, and every kernel has a name for version output and metrics.
func TestActiveKernel(t *testing.T) {
	a := ActiveKernel()
	if !kernelAvailable(a) {
		t.Fatalf("active kernel %v is not available", a)
	}
	for _, k := range allKernels {
		if k > a && kernelAvailable(k) {
			t.Errorf("%v runs here but %v was chosen", k, a)
		}
		if k.String() == "unknown" {
			t.Errorf("kernel %d has no name", k)
		}
	}
	t.Logf("active kernel: %v", a)
}
