package calibrate

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"driftwatch/profile"
	"driftwatch/stats"
	"driftwatch/vocab"
)

// Shift is a drift of one feature's distribution.
type Shift struct {
	// Kind is "mean" (values move by Size reference standard deviations),
	// "variance" (deviations from the mean scale so the variance is ×Size)
	// or "share" (Category's share rises by Size, the other categories
	// shrink in proportion).
	Kind     string
	Size     float64
	Category string // share: default the most frequent category
}

// ParseShift reads "mean:0.1", "variance:1.2" or "share:b:0.05".
func ParseShift(s string) (Shift, error) {
	parts := strings.Split(s, ":")
	var sh Shift
	var err error
	switch {
	case len(parts) == 2 && (parts[0] == "mean" || parts[0] == "variance"):
		sh.Kind = parts[0]
		sh.Size, err = strconv.ParseFloat(parts[1], 64)
	case len(parts) == 3 && parts[0] == "share":
		sh.Kind, sh.Category = parts[0], parts[1]
		sh.Size, err = strconv.ParseFloat(parts[2], 64)
	default:
		err = fmt.Errorf("want mean:SIGMAS, variance:FACTOR or share:CATEGORY:POINTS")
	}
	if err != nil || math.IsNaN(sh.Size) || sh.Kind == "variance" && !(sh.Size > 0) {
		return Shift{}, fmt.Errorf("calibrate: bad shift %q: %v", s, err)
	}
	return sh, nil
}

func (s Shift) String() string {
	switch s.Kind {
	case "mean":
		return fmt.Sprintf("mean %+gσ", s.Size)
	case "variance":
		return fmt.Sprintf("variance ×%g", s.Size)
	}
	return fmt.Sprintf("share of %q %+g points", s.Category, 100*s.Size)
}

// shifted returns the distribution of the feature's simulated bins after
// the shift. A numeric feature's values are the profile's Sample, shifted
// and binned, when it has one (exact for a full sample; a sampled profile's
// evenly spaced order statistics stand for the distribution); otherwise
// each fine bin is taken as uniform between its edges (the outer ones
// between min and max), and the mass each shifted bin puts in each bin is
// its overlap.
func (m *feature) shifted(s Shift) ([]float64, error) {
	f := m.f
	if f.Kind == profile.Categorical {
		if s.Kind != "share" {
			return nil, fmt.Errorf("calibrate: %s is categorical: only share shifts apply", f.Name)
		}
		k := slices.Index(f.Categories, s.Category)
		if s.Category == "" {
			k = 0
			for i, c := range f.CatCounts {
				if c > f.CatCounts[k] {
					k = i
				}
			}
		}
		if k < 0 {
			return nil, fmt.Errorf("calibrate: %s has no category %q", f.Name, s.Category)
		}
		q := slices.Clone(m.prob)
		if q[k]+s.Size > 1 || q[k]+s.Size < 0 {
			return nil, fmt.Errorf("calibrate: the share of %q would leave [0, 1]", f.Categories[k])
		}
		rest := 1 - q[k]
		for i := range q {
			if i != k && rest > 0 {
				q[i] *= (rest - s.Size) / rest
			}
		}
		q[k] += s.Size
		return q, nil
	}
	mu, sd := f.Summary.Mean, f.Summary.Std
	var tr func(float64) float64
	switch s.Kind {
	case "mean":
		tr = func(x float64) float64 { return x + s.Size*sd }
	case "variance":
		k := math.Sqrt(s.Size)
		tr = func(x float64) float64 { return mu + k*(x-mu) }
	default:
		return nil, fmt.Errorf("calibrate: %s is numeric: only mean and variance shifts apply", f.Name)
	}
	fine := make([]float64, len(f.FineCounts))
	if len(f.Sample) > 0 {
		for _, x := range f.Sample {
			fine[stats.BinIndex(f.FineEdges, tr(x))]++
		}
	} else {
		lo, hi := f.Summary.Min, f.Summary.Max
		for i, w := range f.FineCounts {
			a, b := lo, hi
			if i > 0 {
				a = f.FineEdges[i-1]
			}
			if i < len(f.FineEdges) {
				b = f.FineEdges[i]
			}
			spread(fine, f.FineEdges, tr(a), tr(max(a, b)), w)
		}
	}
	total := 0.0
	for _, c := range fine {
		total += c
	}
	for i := range fine {
		fine[i] /= total
	}
	if m.fine {
		return fine, nil
	}
	coarse := make([]float64, len(f.Counts))
	per := len(fine) / len(coarse)
	for i, c := range fine {
		coarse[i/per] += c
	}
	return coarse, nil
}

// spread adds mass w, uniform on [a, b], to the bins of edges.
func spread(dst, edges []float64, a, b, w float64) {
	if !(b > a) {
		dst[stats.BinIndex(edges, a)] += w
		return
	}
	for i := stats.BinIndex(edges, a); i <= stats.BinIndex(edges, b) && i < len(dst); i++ {
		l, r := a, b
		if i > 0 {
			l = max(l, edges[i-1])
		}
		if i < len(edges) {
			r = min(r, edges[i])
		}
		if r > l {
			dst[i] += w * (r - l) / (b - a)
		}
	}
}

// PowerOptions say how to measure detection.
type PowerOptions struct {
	Sims int // simulated drifts; default 1000
	// MaxWindows bounds each simulation: a drift not detected within this
	// many window lengths counts as not detected (time +Inf). Default 10.
	MaxWindows int
	Seed       uint64
}

// Power is how well one level's thresholds detect a shift of one feature.
type Power struct {
	Feature string
	Shift   Shift
	Sims    int
	// WithinWindow is, per statistic and for any of them ("any"), the share
	// of simulations that alerted within one window length of the shift's
	// start (by when the window holds only shifted events).
	WithinWindow map[vocab.Statistic]float64
	// Median is the median time to the first alert of any statistic
	// (math.MaxInt64 when fewer than half the simulations alerted within
	// MaxWindows); Times are all of them, sorted.
	Median time.Duration
	Times  []time.Duration `json:"-"`
}

// MeasurePower simulates a shift of feature name starting on a window full
// of reference events, with events drawn from the reference (the
// "reference" null) before it and from the shifted distribution after, at
// the rate and window the calibration is for, and alerts at level l's
// thresholds, as rules with `for: 0` would.
func MeasurePower(p *profile.Profile, l *profile.Level, name string, shift Shift, opt PowerOptions) (*Power, error) {
	c := p.Calibration
	if c == nil || l == nil {
		return nil, fmt.Errorf("calibrate: the profile has no calibration")
	}
	if opt.Sims == 0 {
		opt.Sims = 1000
	}
	if opt.MaxWindows == 0 {
		opt.MaxWindows = 10
	}
	o := optionsOf(c)
	g, err := o.geometry()
	if err != nil {
		return nil, err
	}
	idx := slices.IndexFunc(p.Features, func(f *profile.Feature) bool { return f.Name == name })
	if idx < 0 {
		return nil, fmt.Errorf("calibrate: no feature %q", name)
	}
	m := newFeature(p.Features[idx], idx, c.Statistics, o.nominal(), NullReference)
	if m == nil {
		return nil, fmt.Errorf("calibrate: %s has none of the calibrated statistics", name)
	}
	q, err := m.shifted(shift)
	if err != nil {
		return nil, err
	}
	limits := make([]float64, len(m.stats))
	for k, st := range m.stats {
		t, ok := l.Thresholds[st][name]
		if !ok {
			return nil, fmt.Errorf("calibrate: no %s threshold for %s", st, name)
		}
		limits[k] = badness(st, t)
	}
	tick := time.Duration(gcd(o.Pane.Milliseconds(), o.EvaluateEvery.Milliseconds())) * time.Millisecond
	maxEvals := opt.MaxWindows * int(math.Ceil(float64(o.Window)/float64(o.EvaluateEvery)))
	windowTicks := g.panes * g.perPane
	const inf = time.Duration(math.MaxInt64)
	first := make([][]time.Duration, opt.Sims) // per simulation, per statistic
	stats.Parallel(opt.Sims, func(i int) {
		s := newStream(m, g, o.PSIEpsilon, o.MinSamples)
		s.rng.Seed(opt.Seed, seedOf(streamPower, idx, i))
		s.reset(m.prob)
		for range g.warmTicks {
			s.step()
		}
		s.setProb(q)
		bad := make([]float64, len(m.stats))
		times := make([]time.Duration, len(m.stats))
		for k := range times {
			times[k] = inf
		}
		left := len(times)
		for e := 1; e <= maxEvals && left > 0; e++ {
			for range g.perEval {
				s.step()
			}
			s.evaluate(bad)
			for k, b := range bad {
				if times[k] == inf && b >= limits[k] {
					times[k] = time.Duration(e*g.perEval) * tick
					left--
				}
			}
		}
		first[i] = times
	})
	pw := &Power{Feature: name, Shift: shift, Sims: opt.Sims, WithinWindow: map[vocab.Statistic]float64{}}
	window := time.Duration(windowTicks) * tick
	for _, times := range first {
		best := slices.Min(times)
		pw.Times = append(pw.Times, best)
		if best <= window {
			pw.WithinWindow["any"]++
		}
		for k, st := range m.stats {
			if times[k] <= window {
				pw.WithinWindow[st]++
			}
		}
	}
	for k := range pw.WithinWindow {
		pw.WithinWindow[k] /= float64(opt.Sims)
	}
	for _, st := range append(slices.Clone(m.stats), "any") {
		if _, ok := pw.WithinWindow[st]; !ok {
			pw.WithinWindow[st] = 0
		}
	}
	sort.Slice(pw.Times, func(i, j int) bool { return pw.Times[i] < pw.Times[j] })
	pw.Median = pw.Times[(len(pw.Times)-1)/2]
	return pw, nil
}

// optionsOf returns the Options a calibration was made with.
func optionsOf(c *profile.Calibration) Options {
	return Options{Rate: c.Rate, Window: c.Window, Pane: c.Pane, EvaluateEvery: c.EvaluateEvery,
		MinSamples: c.MinSamples, PSIEpsilon: c.PSIEpsilon, Statistics: c.Statistics, Null: c.Null, Seed: c.Seed}
}
