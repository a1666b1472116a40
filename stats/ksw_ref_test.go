package stats

// The KSWasserstein and QuantileBins of commit 22227a7, before the shared
// bucket collector, scratch reuse and the histogram pass: the reference
// TestKSWMatchesPrevious and TestQuantileBinsMatchesPrevious hold the current
// code to bit for bit.

import (
	"math"
	"slices"
)

// ksWassersteinRef returns the two-sample KS statistic (as KSStatistic) and
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
func ksWassersteinRef(a, b []float64) (d, w float64) {
	if len(a) == 0 || len(b) == 0 {
		return math.NaN(), math.NaN()
	}
	var sc kswScratchRef
	if d, w, ok := sc.run(a, b); ok {
		return d, w
	}
	sa, sb := slices.Clone(a), slices.Clone(b)
	scratch := SortFloat64s(sa, nil)
	SortFloat64s(sb, scratch)
	return KSStatistic(sa, sb), Wasserstein1(finiteSortedRef(sa), finiteSortedRef(sb))
}

// finiteSortedRef trims the ±Inf ends of a sorted slice.
func finiteSortedRef(s []float64) []float64 {
	lo, hi := 0, len(s)
	for lo < hi && math.IsInf(s[lo], -1) {
		lo++
	}
	for hi > lo && math.IsInf(s[hi-1], 1) {
		hi--
	}
	return s[lo:hi]
}

type kswSideRef struct {
	n           float64     // all values
	nf          float64     // finite values
	negInf      float64     // −Inf count
	count       []float64   // finite values per bucket
	sum         []float64   // Σ (v − grid edge of its bucket): small, so a plain sum is exact enough
	min         []float64   // smallest value per bucket
	refine      [][]float64 // values of buckets that need an exact walk
	refineIndex []int32     // bucket → index in refine, −1 if none
}

type kswScratchRef struct {
	a, b            kswSideRef
	lo, scale, step float64 // grid origin, buckets per unit, unit per bucket
}

func (sc *kswScratchRef) bucket(x float64) int {
	return min(int((x-sc.lo)*sc.scale), 1<<kswBits-1)
}

func (sc *kswScratchRef) run(a, b []float64) (float64, float64, bool) {
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
	var open kswPieceRef
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
			open = kswPieceRef{active: true, summed: true, start: start, edge: sc.edge(j),
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
				open = kswPieceRef{active: true, start: x,
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
func (sc *kswScratchRef) edge(j int) float64 { return sc.lo + float64(j)*sc.step }

// kswPieceRef is a span of the Wasserstein integral that starts at start and
// runs to the next span's start: either a constant |F_a − F_b| (inside an
// exactly walked bucket) or a whole bucket integrated from its sums.
type kswPieceRef struct {
	active, summed bool
	start, diff    float64
	edge           float64 // reference point of the bucket's sums
	fa, fb         float64 // finite counts below the bucket
	ca, cb, sa, sb float64 // the bucket's counts and Σ(v − edge)
}

// integral of |F_a − F_b| from start to t. For a summed bucket
// ∫ F_a = [fa·(t−start) + Σ_v (t − v)] / nf, all v in [start, t), and the
// difference keeps one sign, so |∫(F_a − F_b)| = ∫|F_a − F_b|.
func (p *kswPieceRef) integral(t, nfa, nfb float64) float64 {
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

// kswCellRef keeps one bucket's accumulators together: one cache line per
// value instead of three.
type kswCellRef struct{ count, sum, min float64 }

func (s *kswSideRef) fill(xs []float64, sc *kswScratchRef) {
	const nb = 1 << kswBits
	s.n = float64(len(xs))
	cells := make([]kswCellRef, nb)
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
func (s *kswSideRef) collect(xs []float64, need []bool, sc *kswScratchRef) {
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

// quantileBinsRef returns, for each bin number b in bins, the b−1 interior
// edges at levels k/b (exactly QuantileEdges on the sorted data) and the
// counts of xs in the b bins (exactly Histogram), for unsorted, NaN-free xs,
// without sorting them.
//
// One pass buckets the finite values on a uniform grid over their range;
// each needed order statistic is then found in its bucket, and only those
// buckets are collected and sorted. An edge lies between two consecutive
// order statistics, so its bucket is one of theirs or holds no value: the
// values below an edge are the buckets before it plus a count inside a
// sorted bucket. Cost: two reading passes plus sorting a few small buckets.
func quantileBinsRef(xs []float64, bins ...int) (edges, counts [][]float64) {
	n := len(xs)
	if n == 0 {
		return make([][]float64, len(bins)), make([][]float64, len(bins))
	}
	var g kswScratchRef
	lo, hi := math.Inf(1), math.Inf(-1)
	negInf, posInf := 0, 0
	for _, x := range xs {
		switch {
		case x == math.Inf(-1):
			negInf++
		case x == math.Inf(1):
			posInf++
		default:
			if x < lo {
				lo = x
			}
			if x > hi {
				hi = x
			}
		}
	}
	const nb = 1 << kswBits
	g.lo = lo
	if hi > lo && !math.IsInf(hi-lo, 0) {
		g.scale, g.step = nb/(hi-lo), (hi-lo)/nb
	}
	// below[j] = values before bucket j (−Inf included).
	below := make([]int, nb+1)
	if negInf+posInf < n {
		for _, x := range xs {
			if !math.IsInf(x, 0) {
				below[g.bucket(x)+1]++
			}
		}
	}
	below[0] = negInf
	for j := 1; j <= nb; j++ {
		below[j] += below[j-1]
	}
	finiteEnd := n - posInf // ranks ≥ finiteEnd are +Inf

	// Buckets holding the needed order statistics.
	need := map[int][]float64{}
	bucketOf := func(r int) int {
		// First j with below[j+1] > r.
		j, _ := slices.BinarySearch(below[1:], r+1)
		return j
	}
	rank := func(r int) float64 {
		switch {
		case r < negInf:
			return math.Inf(-1)
		case r >= finiteEnd:
			return math.Inf(1)
		}
		j := bucketOf(r)
		return need[j][r-below[j]]
	}
	for _, b := range bins {
		for k := 1; k < b; k++ {
			i := int(math.Floor(float64(k) / float64(b) * float64(n-1)))
			for _, r := range []int{i, min(i+1, n-1)} {
				if r >= negInf && r < finiteEnd {
					need[bucketOf(r)] = nil
				}
			}
		}
	}
	for j := range need {
		need[j] = make([]float64, 0, below[j+1]-below[j])
	}
	if len(need) > 0 {
		// A dense flag per bucket: a map lookup per value would cost more
		// than the rest of the pass.
		flag := make([]bool, nb)
		for j := range need {
			flag[j] = true
		}
		for _, x := range xs {
			if !math.IsInf(x, 0) {
				if j := g.bucket(x); flag[j] {
					need[j] = append(need[j], x)
				}
			}
		}
		for _, v := range need {
			slices.Sort(v)
		}
	}
	edges = make([][]float64, len(bins))
	counts = make([][]float64, len(bins))
	for bi, b := range bins {
		e := make([]float64, 0, b-1)
		for k := 1; k < b; k++ {
			// Quantile's arithmetic on the two order statistics.
			h := float64(k) / float64(b) * float64(n-1)
			fl := math.Floor(h)
			i := int(fl)
			if i >= n-1 {
				e = append(e, rank(n-1))
				continue
			}
			a, c := rank(i), rank(i+1)
			if gg := h - fl; gg >= 0.5 {
				e = append(e, c-(c-a)*(1-gg))
			} else {
				e = append(e, a+(c-a)*gg)
			}
		}
		cnt := make([]float64, b)
		if slices.ContainsFunc(e, func(x float64) bool { return math.IsInf(x, 0) || x != x }) {
			// Infinite order statistics at the edges (or ∞ − ∞): count the
			// plain way, which also defines the result for a NaN edge.
			Histogram(cnt, e, xs)
		} else {
			prev := 0
			for k, edge := range e {
				at := g.countBelow(edge, below, need)
				cnt[k] = float64(at - prev)
				prev = at
			}
			cnt[b-1] = float64(n - prev)
		}
		edges[bi], counts[bi] = e, cnt
	}
	return edges, counts
}

// countBelow is the number of values < e for a finite edge e within the
// finite range.
func (g *kswScratchRef) countBelow(e float64, below []int, need map[int][]float64) int {
	j := g.bucket(e)
	v, ok := need[j]
	if !ok {
		// An edge between two consecutive order statistics lies in an
		// empty bucket unless it shares one with them (collected).
		return below[j+1]
	}
	i, _ := slices.BinarySearch(v, e) // first value ≥ e
	return below[j] + i
}
