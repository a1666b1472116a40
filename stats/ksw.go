package stats

import (
	"math"
	"slices"
)

// KSWasserstein returns the two-sample KS statistic (as KSStatistic) and
// Wasserstein-1 distance (as Wasserstein1, over the finite values) of two
// unsorted, NaN-free samples without sorting them.
//
// Both samples are bucketed by value on a uniform grid over their finite
// range (bucket = ⌊(x − min)·scale⌋ is monotone in x, so buckets are ordered
// and equal values share one). At
// bucket boundaries the two ECDFs are known exactly from the counts below,
// and they are attained values, so they bound D from below. Inside a bucket
// each ECDF rises by at most its share of the bucket, so the difference
// stays within [Δ − b/nb, Δ + a/na]: a bucket is sorted and walked exactly
// only when that range could beat the D found so far (KS) or could change
// sign (Wasserstein); elsewhere ∫(F_a − F_b) over the bucket follows from
// the bucket's counts and sums. Most buckets need nothing but two reading
// passes, which is what makes it faster than sorting 2·n values. A grid too
// coarse for the data (an extreme outlier) only means bigger buckets to
// sort; a range that overflows float64 falls back to sorting everything.
func KSWasserstein(a, b []float64) (d, w float64) {
	if len(a) == 0 || len(b) == 0 {
		return math.NaN(), math.NaN()
	}
	var sc kswScratch
	if d, w, ok := sc.run(a, b); ok {
		return d, w
	}
	sa, sb := slices.Clone(a), slices.Clone(b)
	scratch := SortFloat64s(sa, nil)
	SortFloat64s(sb, scratch)
	return KSStatistic(sa, sb), Wasserstein1(finiteSorted(sa), finiteSorted(sb))
}

// finiteSorted trims the ±Inf ends of a sorted slice.
func finiteSorted(s []float64) []float64 {
	lo, hi := 0, len(s)
	for lo < hi && math.IsInf(s[lo], -1) {
		lo++
	}
	for hi > lo && math.IsInf(s[hi-1], 1) {
		hi--
	}
	return s[lo:hi]
}

// kswBits is log2 of the bucket count.
const kswBits = 16

type kswSide struct {
	n           float64     // all values
	nf          float64     // finite values
	negInf      float64     // −Inf count
	count       []float64   // finite values per bucket
	sum         []float64   // Σ (v − grid edge of its bucket): small, so a plain sum is exact enough
	min         []float64   // smallest value per bucket
	refine      [][]float64 // values of buckets that need an exact walk
	refineIndex []int32     // bucket → index in refine, −1 if none
}

type kswScratch struct {
	a, b            kswSide
	lo, scale, step float64 // grid origin, buckets per unit, unit per bucket
}

func (sc *kswScratch) bucket(x float64) int {
	return min(int((x-sc.lo)*sc.scale), 1<<kswBits-1)
}

func (sc *kswScratch) run(a, b []float64) (float64, float64, bool) {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, xs := range [][]float64{a, b} {
		for _, x := range xs {
			// Plain comparisons: math.Min/Max handle NaN and ±0, which
			// cost a call per value and cannot occur here (±Inf never wins:
			// they are skipped).
			if x < lo && x > math.Inf(-1) {
				lo = x
			}
			if x > hi && x < math.Inf(1) {
				hi = x
			}
		}
	}
	const nb = 1 << kswBits
	sc.lo, sc.scale = lo, 0
	if hi > lo {
		sc.scale, sc.step = nb/(hi-lo), (hi-lo)/nb
		if math.IsInf(sc.scale, 0) || math.IsInf(hi-lo, 0) {
			return 0, 0, false
		}
	}
	sc.a.fill(a, sc)
	sc.b.fill(b, sc)

	A, B := &sc.a, &sc.b
	d := 0.0
	ca, cb := A.negInf, B.negInf // counts below the current bucket (KS: all values)
	for j := range nb {
		if A.count[j] == 0 && B.count[j] == 0 {
			continue
		}
		if ca > 0 || cb > 0 {
			d = math.Max(d, math.Abs(ca/A.n-cb/B.n))
		}
		ca += A.count[j]
		cb += B.count[j]
	}
	if ca > 0 || cb > 0 {
		d = math.Max(d, math.Abs(ca/A.n-cb/B.n)) // after the last finite bucket
	}
	// Buckets whose range could exceed d (KS), or whose finite-ECDF
	// difference could change sign (Wasserstein), are walked exactly.
	need := make([]bool, nb)
	refine := false
	ca, cb = A.negInf, B.negInf
	fa, fb := 0.0, 0.0 // finite counts below
	for j := range nb {
		if A.count[j] == 0 && B.count[j] == 0 {
			continue
		}
		delta := ca/A.n - cb/B.n
		up, down := delta+A.count[j]/A.n, delta-B.count[j]/B.n
		fdelta := fa/A.nf - fb/B.nf
		fup, fdown := fdelta+A.count[j]/A.nf, fdelta-B.count[j]/B.nf
		// The 1e-12 margin keeps rounding in these bounds from skipping a
		// bucket whose exact walk would matter.
		if math.Max(math.Abs(up), math.Abs(down)) > d-1e-12 || (fup > 0 && fdown < 0) {
			need[j] = true
			refine = true
		}
		ca += A.count[j]
		cb += B.count[j]
		fa += A.count[j]
		fb += B.count[j]
	}
	if refine {
		A.collect(a, need, sc)
		B.collect(b, need, sc)
	}

	// Final pass in key order: exact walks where needed, sums elsewhere.
	ca, cb = A.negInf, B.negInf
	fa, fb = 0, 0
	var wsum, wcomp float64
	var open kswPiece
	flush := func(t float64) {
		if open.active {
			wsum, wcomp = kahanAdd(wsum, wcomp, open.integral(t, A.nf, B.nf))
			open.active = false
		}
	}
	for j := range nb {
		if A.count[j] == 0 && B.count[j] == 0 {
			continue
		}
		if !need[j] {
			// The bucket's span starts at its smallest value.
			start := math.Min(A.min[j], B.min[j])
			flush(start)
			open = kswPiece{active: true, summed: true, start: start, edge: sc.edge(j),
				fa: fa, fb: fb, ca: A.count[j], cb: B.count[j], sa: A.sum[j], sb: B.sum[j]}
		} else {
			va := A.refine[A.refineIndex[j]]
			vb := B.refine[B.refineIndex[j]]
			slices.Sort(va)
			slices.Sort(vb)
			i, k := 0, 0
			for i < len(va) || k < len(vb) {
				x := math.Inf(1)
				if i < len(va) {
					x = va[i]
				}
				if k < len(vb) && vb[k] < x {
					x = vb[k]
				}
				flush(x)
				for i < len(va) && va[i] == x {
					i++
				}
				for k < len(vb) && vb[k] == x {
					k++
				}
				d = math.Max(d, math.Abs((ca+float64(i))/A.n-(cb+float64(k))/B.n))
				// From x to the next value the finite-ECDF difference is constant.
				open = kswPiece{active: true, start: x,
					diff: math.Abs((fa+float64(i))/A.nf - (fb+float64(k))/B.nf)}
			}
		}
		ca += A.count[j]
		cb += B.count[j]
		fa += A.count[j]
		fb += B.count[j]
	}
	// Past the largest finite value both finite ECDFs are 1: closing the
	// last span there adds nothing beyond it.
	if lo <= hi {
		flush(hi)
	}
	w := wsum
	if A.nf == 0 || B.nf == 0 {
		w = math.NaN()
	}
	return d, w, true
}

// edge is the grid value of bucket j's lower edge; sums are kept relative to
// it so they stay small (any reference point works algebraically).
func (sc *kswScratch) edge(j int) float64 { return sc.lo + float64(j)*sc.step }

// kswPiece is a span of the Wasserstein integral that starts at start and
// runs to the next span's start: either a constant |F_a − F_b| (inside an
// exactly walked bucket) or a whole bucket integrated from its sums.
type kswPiece struct {
	active, summed bool
	start, diff    float64
	edge           float64 // reference point of the bucket's sums
	fa, fb         float64 // finite counts below the bucket
	ca, cb, sa, sb float64 // the bucket's counts and Σ(v − edge)
}

// integral of |F_a − F_b| from start to t. For a summed bucket
// ∫ F_a = [fa·(t−start) + Σ_v (t − v)] / nf, all v in [start, t), and the
// difference keeps one sign, so |∫(F_a − F_b)| = ∫|F_a − F_b|.
func (p *kswPiece) integral(t, nfa, nfb float64) float64 {
	w := t - p.start
	if !p.summed {
		return p.diff * w
	}
	// Σ_v (t − v) = c·(t − edge) − Σ(v − edge).
	te := t - p.edge
	ia := (p.fa*w + p.ca*te - p.sa) / nfa
	ib := (p.fb*w + p.cb*te - p.sb) / nfb
	return math.Abs(ia - ib)
}

// kswCell keeps one bucket's accumulators together: one cache line per
// value instead of three.
type kswCell struct{ count, sum, min float64 }

func (s *kswSide) fill(xs []float64, sc *kswScratch) {
	const nb = 1 << kswBits
	s.n = float64(len(xs))
	cells := make([]kswCell, nb)
	for j := range cells {
		cells[j].min = math.Inf(1)
	}
	lo, scale, step := sc.lo, sc.scale, sc.step
	for _, x := range xs {
		if math.IsInf(x, 0) {
			if x < 0 {
				s.negInf++
			}
			continue
		}
		j := min(int((x-lo)*scale), nb-1)
		c := &cells[j]
		c.count++
		c.sum += x - (lo + float64(j)*step)
		if x < c.min {
			c.min = x
		}
	}
	s.count = make([]float64, nb)
	s.sum = make([]float64, nb)
	s.min = make([]float64, nb)
	for j, c := range cells {
		s.count[j], s.sum[j], s.min[j] = c.count, c.sum, c.min
		s.nf += c.count
	}
}

// collect gathers the values of the buckets marked in need.
func (s *kswSide) collect(xs []float64, need []bool, sc *kswScratch) {
	s.refineIndex = make([]int32, len(need))
	for j := range s.refineIndex {
		s.refineIndex[j] = -1
	}
	for j, n := range need {
		if n {
			s.refineIndex[j] = int32(len(s.refine))
			s.refine = append(s.refine, make([]float64, 0, int(s.count[j])))
		}
	}
	for _, x := range xs {
		if math.IsInf(x, 0) {
			continue
		}
		if j := sc.bucket(x); need[j] {
			r := s.refineIndex[j]
			s.refine[r] = append(s.refine[r], x)
		}
	}
}
