package stats

import (
	"math"
	"slices"
	"sync"
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
// the bucket's counts and sums. A bucket holding one value only (integer
// data) is walked in one step, unsorted. Most buckets need nothing but two
// reading passes, which is what makes it faster than sorting 2·n values. A
// grid too coarse for the data (an extreme outlier) only means bigger
// buckets to sort; a range that overflows float64 falls back to sorting
// everything.
func KSWasserstein(a, b []float64) (d, w float64) {
	return KSWassersteinHistogram(a, b, nil, nil)
}

// KSWassersteinHistogram is KSWasserstein that also adds the histogram of b
// over edges to counts (len(edges)+1), exactly as Histogram(counts, edges, b)
// does, from the bucket counts b's pass takes anyway: the values below an
// edge are those of the buckets below its bucket plus those of its own
// bucket below it, which are collected with the buckets the walk needs.
// Edges that are unsorted or not finite are counted by Histogram.
func KSWassersteinHistogram(a, b, edges, counts []float64) (d, w float64) {
	if len(edges) > 0 {
		_ = counts[len(edges)]
	}
	if len(a) == 0 || len(b) == 0 {
		if len(edges) > 0 {
			Histogram(counts, edges, b)
		}
		return math.NaN(), math.NaN()
	}
	// The bucket counts give the histogram for sorted, finite edges.
	var marks []float64
	if len(edges) > 0 && slices.IsSorted(edges) &&
		!slices.ContainsFunc(edges, func(e float64) bool { return math.IsInf(e, 0) || e != e }) {
		marks = edges
	}
	sc := kswPool.Get().(*kswScratch)
	defer kswPool.Put(sc)
	d, w, ok := sc.run(a, b, marks)
	if len(edges) > 0 {
		if ok && marks != nil {
			sc.histogram(counts, edges, len(b))
		} else {
			Histogram(counts, edges, b)
		}
	}
	if ok {
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

// grid maps finite values to 1<<kswBits buckets of equal width.
type grid struct {
	lo, scale, step float64 // origin, buckets per unit, unit per bucket
}

func (g *grid) bucket(x float64) int {
	return min(int((x-g.lo)*g.scale), 1<<kswBits-1)
}

// edge is the grid value of bucket j's lower edge; sums are kept relative to
// it so they stay small (any reference point works algebraically).
func (g *grid) edge(j int) float64 { return g.lo + float64(j)*g.step }

type kswSide struct {
	n      float64   // all values
	nf     float64   // finite values
	negInf float64   // −Inf count
	cells  []kswCell // per bucket
	col    collector // values of the buckets walked exactly (and, on b, of the edges' buckets)
}

// kswCell keeps one bucket's accumulators together: one cache line per
// value instead of three.
type kswCell struct {
	count float64
	sum   float64 // Σ (v − grid edge of its bucket): small, so a plain sum is exact enough
	min   float64 // smallest value
}

// kswScratch is one computation's state. It is pooled: its tables take
// 3.5 MiB, and fresh memory costs a page fault per 4 KiB, which measured
// more than the passes that fill it.
type kswScratch struct {
	grid
	a, b kswSide
	need []bool  // buckets walked exactly
	hi   float64 // largest finite value (lo is the grid's)
}

var kswPool = sync.Pool{New: func() any {
	const nb = 1 << kswBits
	sc := &kswScratch{need: make([]bool, nb)}
	for _, s := range []*kswSide{&sc.a, &sc.b} {
		s.cells = make([]kswCell, nb)
		s.col.init(nb)
	}
	return sc
}}

func (sc *kswScratch) run(a, b, edges []float64) (float64, float64, bool) {
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
	sc.lo, sc.scale, sc.hi = lo, 0, hi
	if hi > lo {
		sc.scale, sc.step = nb/(hi-lo), (hi-lo)/nb
		if math.IsInf(sc.scale, 0) || math.IsInf(hi-lo, 0) {
			return 0, 0, false
		}
	}
	sc.a.fill(a, &sc.grid)
	sc.b.fill(b, &sc.grid)

	A, B := &sc.a, &sc.b
	Ac, Bc := A.cells, B.cells
	d := 0.0
	ca, cb := A.negInf, B.negInf // counts below the current bucket (KS: all values)
	for j := range nb {
		if Ac[j].count == 0 && Bc[j].count == 0 {
			continue
		}
		if ca > 0 || cb > 0 {
			d = math.Max(d, math.Abs(ca/A.n-cb/B.n))
		}
		ca += Ac[j].count
		cb += Bc[j].count
	}
	if ca > 0 || cb > 0 {
		d = math.Max(d, math.Abs(ca/A.n-cb/B.n)) // after the last finite bucket
	}
	// Buckets whose range could exceed d (KS), or whose finite-ECDF
	// difference could change sign (Wasserstein), are walked exactly.
	need := sc.need
	clear(need)
	A.col.reset()
	B.col.reset()
	ca, cb = A.negInf, B.negInf
	fa, fb := 0.0, 0.0 // finite counts below
	for j := range nb {
		if Ac[j].count == 0 && Bc[j].count == 0 {
			continue
		}
		delta := ca/A.n - cb/B.n
		up, down := delta+Ac[j].count/A.n, delta-Bc[j].count/B.n
		fdelta := fa/A.nf - fb/B.nf
		fup, fdown := fdelta+Ac[j].count/A.nf, fdelta-Bc[j].count/B.nf
		// The 1e-12 margin keeps rounding in these bounds from skipping a
		// bucket whose exact walk would matter.
		if math.Max(math.Abs(up), math.Abs(down)) > d-1e-12 || (fup > 0 && fdown < 0) {
			need[j] = true
			A.col.mark(j, int(Ac[j].count))
			B.col.mark(j, int(Bc[j].count))
		}
		ca += Ac[j].count
		cb += Bc[j].count
		fa += Ac[j].count
		fb += Bc[j].count
	}
	for _, e := range edges {
		if e > lo && e <= hi {
			if j := sc.bucket(e); Bc[j].count > 0 && !B.col.marked(j) {
				B.col.mark(j, int(Bc[j].count))
			}
		}
	}
	A.col.gather(a, &sc.grid)
	B.col.gather(b, &sc.grid)

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
		if Ac[j].count == 0 && Bc[j].count == 0 {
			continue
		}
		if !need[j] {
			// The bucket's span starts at its smallest value.
			start := math.Min(Ac[j].min, Bc[j].min)
			flush(start)
			open = kswPiece{active: true, summed: true, start: start, edge: sc.edge(j),
				fa: fa, fb: fb, ca: Ac[j].count, cb: Bc[j].count, sa: Ac[j].sum, sb: Bc[j].sum}
		} else if x, i, k, ok := sameValue(&A.col, &B.col, j); ok {
			// The walk below, which takes one step here.
			flush(x)
			d = math.Max(d, math.Abs((ca+float64(i))/A.n-(cb+float64(k))/B.n))
			open = kswPiece{active: true, start: x,
				diff: math.Abs((fa+float64(i))/A.nf - (fb+float64(k))/B.nf)}
		} else {
			va, vb := A.col.values(j), B.col.values(j)
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
		ca += Ac[j].count
		cb += Bc[j].count
		fa += Ac[j].count
		fb += Bc[j].count
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

// sameValue reports whether bucket j holds one value on both sides (on one
// side, when the other has none): that value as the walk would take it (a's
// when both have it) and the counts.
func sameValue(a, b *collector, j int) (x float64, na, nb int, ok bool) {
	xa, na, ua := a.uniform(j)
	xb, nb, ub := b.uniform(j)
	switch {
	case !ua || !ub:
		return 0, 0, 0, false
	case na == 0:
		return xb, na, nb, true
	case nb == 0 || xa == xb:
		return xa, na, nb, true
	}
	return 0, 0, 0, false
}

// histogram adds b's bin counts over sorted, finite edges to counts, after
// run marked and collected the edges' buckets; nb is len(b).
func (sc *kswScratch) histogram(counts, edges []float64, nb int) {
	B := &sc.b
	prev, j0, below := 0, 0, int(B.negInf) // below: values in buckets < j0
	for k, e := range edges {
		at := int(B.negInf)
		switch {
		case e <= sc.lo:
		case e > sc.hi:
			at += int(B.nf)
		default:
			j := sc.bucket(e)
			for ; j0 < j; j0++ {
				below += int(B.cells[j0].count)
			}
			at = below
			if B.cells[j].count > 0 {
				if x, n, ok := B.col.uniform(j); ok {
					at += n * b2i(x < e)
				} else {
					for _, x := range B.col.values(j) {
						at += b2i(x < e)
					}
				}
			}
		}
		counts[k] += float64(at - prev)
		prev = at
	}
	counts[len(edges)] += float64(nb - prev)
}

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

func (s *kswSide) fill(xs []float64, g *grid) {
	const nb = 1 << kswBits
	s.n, s.nf, s.negInf = float64(len(xs)), 0, 0
	cells := s.cells[:nb]
	for j := range cells {
		cells[j] = kswCell{min: math.Inf(1)}
	}
	lo, scale, step := g.lo, g.scale, g.step
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
	for j := range cells {
		s.nf += cells[j].count
	}
}

// collector gathers the finite values of a few marked buckets into one
// buffer, in input order. A bucket whose values have all been the same, bit
// for bit, keeps just that value and their number, and takes room in the
// buffer only once a different value arrives: integer-valued data would
// otherwise be copied whole and sorted for nothing.
type collector struct {
	slot  []int32 // bucket → index in runs, −1 when not marked
	runs  []bucketRun
	vals  []float64
	used  []int32 // marked buckets, to reset slot
	size  int     // length of vals in use
	total int     // values in the marked buckets
}

type bucketRun struct {
	count int     // the bucket's values
	n     int     // values gathered so far
	off   int     // once mixed, the values are vals[off:off+n]
	first float64 // until mixed, every value
	mixed bool
}

func (c *collector) init(nb int) {
	c.slot = make([]int32, nb)
	for j := range c.slot {
		c.slot[j] = -1
	}
}

func (c *collector) reset() {
	for _, j := range c.used {
		c.slot[j] = -1
	}
	c.used, c.runs, c.size, c.total = c.used[:0], c.runs[:0], 0, 0
}

func (c *collector) marked(j int) bool { return c.slot[j] >= 0 }

// mark has gather collect bucket j, which holds count values.
func (c *collector) mark(j, count int) {
	c.slot[j] = int32(len(c.runs))
	c.runs = append(c.runs, bucketRun{count: count})
	c.used = append(c.used, int32(j))
	c.total += count
}

// gather collects the values of the marked buckets from xs, whose bucket
// counts on g the marks were given.
func (c *collector) gather(xs []float64, g *grid) {
	if len(c.runs) == 0 {
		return
	}
	slot, runs, vals := c.slot, c.runs, c.vals
	for _, x := range xs {
		if math.IsInf(x, 0) {
			continue
		}
		s := slot[g.bucket(x)]
		if s < 0 {
			continue
		}
		r := &runs[s]
		switch {
		case r.mixed:
			vals[r.off+r.n] = x
		case r.n == 0:
			r.first = x
		case math.Float64bits(x) != math.Float64bits(r.first):
			vals = c.spill(r)
			vals[r.off+r.n] = x
		}
		r.n++
	}
}

// spill gives run r room for all its values in vals, writes out the copies
// of its first value gathered so far and returns vals.
func (c *collector) spill(r *bucketRun) []float64 {
	if need := c.size + r.count; need > len(c.vals) {
		// Room for every marked bucket: one bucket with two values makes
		// it likely that most have. Offsets, not slices, point into vals,
		// so it can move.
		vals := make([]float64, max(need, c.total))
		copy(vals, c.vals[:c.size])
		c.vals = vals
	}
	r.off, r.mixed = c.size, true
	c.size += r.count
	v := c.vals[r.off : r.off+r.n]
	for i := range v {
		v[i] = r.first
	}
	return c.vals
}

// uniform returns the one value bucket j holds and how many times, or ok
// false when its values differ.
func (c *collector) uniform(j int) (x float64, n int, ok bool) {
	r := &c.runs[c.slot[j]]
	return r.first, r.n, !r.mixed
}

// values returns bucket j's values in input order.
func (c *collector) values(j int) []float64 {
	r := &c.runs[c.slot[j]]
	if !r.mixed {
		c.spill(r)
	}
	return c.vals[r.off : r.off+r.n]
}
