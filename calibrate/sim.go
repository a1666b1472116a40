package calibrate

import (
	"math"
	"math/rand/v2"
	"slices"

	"driftwatch/profile"
	"driftwatch/stats"
	"driftwatch/vocab"
)

// feature is what the simulation needs of one profile feature: the bins it
// draws counts on, their probabilities with no drift, and the statistics
// to compute, exactly as monitor.Window.Evaluate computes them.
type feature struct {
	f     *profile.Feature
	index int
	stats []vocab.Statistic
	tf    []transform
	// Numeric features are simulated on the 200 fine bins when a statistic
	// needs them (ks), else on the PSI bins (a sum of Poisson counts is a
	// Poisson count, so the PSI bins' counts have the same law).
	fine bool
	// ref: reference counts on the simulated bins (categorical: the
	// categories and an empty "unseen" bin, as the monitor compares).
	ref  []float64
	prob []float64 // ref normalised: the no-drift distribution
	// share is the non-null share of events, nRef the reference's values.
	share, nRef float64
	// refCum: the reference's cumulative fine-bin shares as stats.KSBinned
	// accumulates them.
	refCum []float64
}

// applies reports whether the service computes stat for a feature kind.
func applies(stat vocab.Statistic, k profile.Kind) bool {
	switch stat {
	case vocab.PSI, vocab.JS:
		return true
	case vocab.KS, vocab.Hellinger:
		return k == profile.Numeric
	case vocab.ChiSquare, vocab.ChiSquareP:
		return k == profile.Categorical
	}
	return false
}

// newFeature returns nil for a feature none of the statistics apply to, or
// one the service cannot compute them for (no reference values).
//
// The transforms' scale is the null's variance: 1/nRef + 1/nNom under the
// population null, 1/nNom when events come from the reference itself.
func newFeature(f *profile.Feature, index int, statistics []vocab.Statistic, nNom float64, null string) *feature {
	m := &feature{f: f, index: index}
	switch f.Kind {
	case profile.Numeric:
		if f.Values == 0 || len(f.FineCounts) == 0 || f.Rows == 0 {
			return nil
		}
		m.fine = slices.Contains(statistics, vocab.KS)
		m.ref = f.Counts
		if m.fine {
			m.ref = f.FineCounts
			rt, rc := 0.0, 0.0
			for _, c := range f.FineCounts {
				rt += c
			}
			for _, c := range f.FineCounts {
				rc += c / rt
				m.refCum = append(m.refCum, rc)
			}
		}
		m.nRef = float64(f.Values)
	case profile.Categorical:
		if len(f.Categories) == 0 || f.Rows == 0 {
			return nil
		}
		m.ref = append(slices.Clone(f.CatCounts), 0)
		for _, c := range f.CatCounts {
			m.nRef += c
		}
	default:
		return nil
	}
	m.share = m.nRef / float64(f.Rows)
	m.prob = make([]float64, len(m.ref))
	for i, c := range m.ref {
		m.prob[i] = c / m.nRef
	}
	// Degrees of freedom: bins holding reference values, less one.
	dof := -1.0
	psiBins := f.Counts
	if f.Kind == profile.Categorical {
		psiBins = f.CatCounts
	}
	for _, c := range psiBins {
		if c > 0 {
			dof++
		}
	}
	nNom *= m.share
	scale := 1 / nNom
	if null == NullPopulation {
		scale += 1 / m.nRef
	}
	for _, s := range statistics {
		if !applies(s, f.Kind) || dof < 1 {
			continue
		}
		m.stats = append(m.stats, s)
		m.tf = append(m.tf, transform{stat: s, dof: dof, scale: scale, en: 1 / scale})
	}
	if len(m.stats) == 0 {
		return nil
	}
	return m
}

// geometry is the window as the service keeps it, in ticks: a tick is the
// greatest common divisor of the pane and the evaluation interval, so pane
// starts and evaluations fall on tick boundaries.
type geometry struct {
	panes     int     // panes in the window
	perPane   int     // ticks per pane
	perEval   int     // ticks per evaluation
	tickRate  float64 // expected events per tick
	warmTicks int     // ticks that fill the window, a multiple of perEval
}

// stream simulates one feature's window: a ring of panes of bin counts,
// filled tick by tick with Poisson counts (events arrive as a Poisson
// process at the configured rate), evaluated every perEval ticks.
type stream struct {
	m      *feature
	g      geometry
	rng    *rand.PCG
	ring   []float64 // panes × bins
	sums   []float64 // per pane: Σ of its bins
	totals []float64
	values float64 // Σ totals
	tick   int
	eps    float64
	min    float64 // min_samples

	// Sampling: per-bin Poisson draws, or when a tick has fewer events than
	// there are bins, a Poisson number of events each put in a bin.
	perBin     []poisson
	events     poisson
	pick       aliasTable
	eventsMode bool

	coarse []float64
}

func newStream(m *feature, g geometry, eps float64, minSamples int) *stream {
	b := len(m.ref)
	s := &stream{m: m, g: g, eps: eps, min: float64(minSamples), rng: rand.NewPCG(0, 0),
		ring: make([]float64, g.panes*b), sums: make([]float64, g.panes), totals: make([]float64, b)}
	if m.fine {
		s.coarse = make([]float64, len(m.f.Counts))
	}
	return s
}

// reset empties the window and draws from prob from now on.
func (s *stream) reset(prob []float64) {
	clear(s.ring)
	clear(s.sums)
	clear(s.totals)
	s.values, s.tick = 0, 0
	s.setProb(prob)
}

// setProb changes the distribution events are drawn from (a drift), the
// window kept.
func (s *stream) setProb(prob []float64) {
	lambda := s.g.tickRate * s.m.share
	s.eventsMode = lambda < float64(len(prob))
	if s.eventsMode {
		s.events.set(lambda)
		s.pick.build(prob)
		return
	}
	if len(s.perBin) != len(prob) {
		s.perBin = make([]poisson, len(prob))
	}
	for i, p := range prob {
		s.perBin[i].set(lambda * p)
	}
}

// step adds one tick of events, first expiring the pane that a new pane
// replaces in the ring.
func (s *stream) step() {
	b := len(s.totals)
	slot := (s.tick / s.g.perPane) % s.g.panes
	pane := s.ring[slot*b : (slot+1)*b]
	if s.tick%s.g.perPane == 0 {
		totals := s.totals[:len(pane)]
		for i, c := range pane {
			totals[i] -= c
		}
		clear(pane)
		s.values -= s.sums[slot]
		s.sums[slot] = 0
	}
	s.tick++
	if s.eventsMode {
		n := int(s.events.draw(s.rng))
		for range n {
			i := s.pick.draw(s.rng.Uint64())
			pane[i]++
			s.totals[i]++
		}
		s.values += float64(n)
		s.sums[slot] += float64(n)
		return
	}
	_ = pane[len(s.perBin)-1]
	added := 0.0
	for i := range s.perBin {
		p := &s.perBin[i]
		var k float64
		if !p.big { // the table's draw, inlined
			k = float64(p.lo + p.table.draw(s.rng.Uint64()))
		} else {
			k = p.ptrs.draw(s.rng)
		}
		pane[i] += k
		s.totals[i] += k
		added += k
	}
	s.values += added
	s.sums[slot] += added
}

// evaluate writes each statistic's badness over the window into out:
// −Inf when the service would give no verdict (no values, or fewer than
// min_samples).
func (s *stream) evaluate(out []float64) {
	m := s.m
	if s.values == 0 || s.values < s.min {
		for i := range out {
			out[i] = math.Inf(-1)
		}
		return
	}
	if m.f.Kind == profile.Categorical {
		var chi, p float64
		if slices.Contains(m.stats, vocab.ChiSquare) || slices.Contains(m.stats, vocab.ChiSquareP) {
			chi, _, p = stats.ChiSquareHomogeneity(m.ref, s.totals)
		}
		for i, st := range m.stats {
			var v float64
			switch st {
			case vocab.PSI:
				v = stats.PSI(m.ref, s.totals, s.eps)
			case vocab.JS:
				v = stats.JensenShannon(m.ref, s.totals)
			case vocab.ChiSquare:
				v = chi
			case vocab.ChiSquareP:
				v = p
			}
			out[i] = badness(st, v)
		}
		return
	}
	coarse := s.totals
	if m.fine {
		per := len(s.totals) / len(s.coarse)
		for j := range s.coarse {
			sum := 0.0
			for _, c := range s.totals[j*per : (j+1)*per] {
				sum += c
			}
			s.coarse[j] = sum
		}
		coarse = s.coarse
	}
	ref := m.f.Counts
	for i, st := range m.stats {
		if st == vocab.KS {
			out[i] = ksBinned(m.refCum, s.totals, s.values)
			continue
		}
		var v float64
		switch st {
		case vocab.PSI:
			v = stats.PSI(ref, coarse, s.eps)
		case vocab.JS:
			v = stats.JensenShannon(ref, coarse)
		case vocab.Hellinger:
			v = stats.Hellinger(ref, coarse)
		}
		out[i] = badness(st, v)
	}
}

// bootstrap returns a population drawn from the reference: each bin's
// count redrawn as Poisson(count) (the Poisson bootstrap), normalised.
func bootstrap(r *rand.PCG, ref []float64, dst []float64) []float64 {
	dst = dst[:0]
	total := 0.0
	for _, c := range ref {
		x := poissonOnce(r, c)
		dst = append(dst, x)
		total += x
	}
	if total == 0 { // a tiny reference can redraw as nothing: keep it
		dst = append(dst[:0], ref...)
		for _, c := range ref {
			total += c
		}
	}
	for i := range dst {
		dst[i] /= total
	}
	return dst
}

// ksBinned is stats.KSBinned's statistic (bit for bit: the same operations
// in the same order; a test holds them equal) from the reference's
// precomputed cumulative shares, without the error bound and math.Max,
// which cost four times the rest in the simulation's hot loop. total is
// Σ cur.
func ksBinned(refCum, cur []float64, total float64) float64 {
	var d, cc float64
	last := len(cur) - 1
	_ = refCum[last]
	for i, c := range cur[:last] {
		cc += c / total
		if v := math.Abs(refCum[i] - cc); v > d {
			d = v
		}
	}
	return d
}
