// Package calibrate turns a false-alarm budget ("at most one false alert a
// week") into per-feature thresholds for alert rules with `threshold:
// auto`, by simulating the streaming window from the reference profile, and
// measures how much drift those thresholds detect.
//
// The simulation draws what the service would see with no drift: events
// arrive as a Poisson process at the configured rate, each feature's values
// fall in the profile's bins with the reference's probabilities, panes of
// bin counts slide through the window as in package window, and every
// evaluation computes the statistics exactly as monitor.Window.Evaluate
// does (PSI, Jensen–Shannon and Hellinger on the PSI bins, the binned KS on
// the fine bins, chi-square on the categories). It needs only bin counts,
// never values: drawing a value from the reference and binning it is
// drawing a bin with the reference's share, so per tick and bin one
// Poisson count stands for all the events.
//
// Each feature's statistic is put on a common scale by an asymptotic
// p-value (see transform), and one level alpha is chosen for all of them
// so that the expected number of alerts (onsets: the condition starts
// holding), summed over features and statistics, equals the budget. This
// is the max-statistic approach on p-values rather than Bonferroni: the
// simulation counts alerts over consecutive, overlapping windows as they
// happen, so the heavy correlation between evaluations (a 1 h window
// evaluated every 30 s changes by 1/120 each time) is paid for once, not
// 120 times. Expected counts add up whatever the features' correlation, so
// simulating features independently (the profile keeps only marginals) is
// exact for the expectation.
//
// Reading configs, writing profiles and applying thresholds are left to
// the callers: package cli, the profile file and package alerting.
package calibrate

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sort"
	"time"

	"driftwatch/alerting"
	"driftwatch/config"
	"driftwatch/profile"
	"driftwatch/stats"
	"driftwatch/vocab"
)

// Null models: what "no drift" means.
const (
	// NullPopulation: the reference is a sample of the population the
	// events come from, so its own sampling error is part of the null (each
	// simulated run draws a population from the reference by the Poisson
	// bootstrap). This is the null of two-sample tests and of Yurdakul's
	// 1/nRef + 1/nCur, and the right one unless the reference is much
	// larger than a window.
	NullPopulation = "population"
	// NullReference: events are drawn from the reference itself.
	NullReference = "reference"
)

// Options say what to calibrate for: the stream and the service's window,
// the budgets and the statistics.
type Options struct {
	Rate          float64       // events per second
	Window, Pane  time.Duration // default 1h of 1m panes
	EvaluateEvery time.Duration // default 30s
	MinSamples    int           // no verdict on windows with fewer values
	PSIEpsilon    float64       // default 1e-4
	// Budgets to find thresholds for; default alerting.DefaultBudget.
	Budgets []alerting.Budget
	// Statistics calibrated together; default psi.
	Statistics []vocab.Statistic
	Null       string // NullPopulation (default) or NullReference
	// Alerts is how many false alerts the simulation should expect at the
	// strictest budget; it sets the simulated time (Alerts / rate) and the
	// precision, about 1/√Alerts. Default 30.
	Alerts float64
	Seed   uint64
}

func (o *Options) defaults() error {
	d := config.Default().Defaults // the service's, so a bare calibration matches a bare config
	if o.Window == 0 {
		o.Window = d.Window.Length
	}
	if o.Pane == 0 {
		o.Pane = d.Window.Pane
	}
	if o.EvaluateEvery == 0 {
		o.EvaluateEvery = d.EvaluateEvery
	}
	if o.PSIEpsilon == 0 {
		o.PSIEpsilon = d.Drift.PSIEpsilon
	}
	if len(o.Budgets) == 0 {
		o.Budgets = []alerting.Budget{alerting.DefaultBudget}
	}
	if len(o.Statistics) == 0 {
		o.Statistics = []vocab.Statistic{vocab.PSI}
	}
	if o.Null == "" {
		o.Null = NullPopulation
	}
	if o.Alerts == 0 {
		o.Alerts = 30
	}
	switch {
	case !(o.Rate > 0) || math.IsInf(o.Rate, 0):
		return fmt.Errorf("calibrate: the event rate must be positive, got %v", o.Rate)
	case o.Pane < time.Millisecond || o.Window < o.Pane || o.Window%o.Pane != 0:
		return fmt.Errorf("calibrate: window %s must be a positive multiple of pane %s", o.Window, o.Pane)
	case o.EvaluateEvery < time.Millisecond:
		return fmt.Errorf("calibrate: evaluate every %s is too short", o.EvaluateEvery)
	case o.Null != NullPopulation && o.Null != NullReference:
		return fmt.Errorf("calibrate: null must be %s or %s, got %q", NullPopulation, NullReference, o.Null)
	case !(o.Alerts >= 1):
		return fmt.Errorf("calibrate: alerts must be at least 1, got %v", o.Alerts)
	case o.MinSamples < 0 || o.PSIEpsilon < 0:
		return fmt.Errorf("calibrate: min samples and psi epsilon must not be negative")
	}
	for _, s := range o.Statistics {
		if !slices.Contains(alerting.AutoStatistics(), s) {
			return fmt.Errorf("calibrate: cannot calibrate %q (one of %s)", s, vocab.Join(alerting.AutoStatistics(), ", "))
		}
	}
	for _, b := range o.Budgets {
		if !(b.Alerts > 0) || b.Per <= 0 {
			return fmt.Errorf("calibrate: bad budget %s", b)
		}
	}
	return nil
}

func (o *Options) geometry() (geometry, error) {
	tick := gcd(o.Pane.Milliseconds(), o.EvaluateEvery.Milliseconds())
	g := geometry{panes: int(o.Window / o.Pane), perPane: int(o.Pane.Milliseconds() / tick),
		perEval: int(o.EvaluateEvery.Milliseconds() / tick), tickRate: o.Rate * float64(tick) / 1000}
	if g.perPane*g.panes > 1<<20 || g.perEval > 1<<20 {
		return g, fmt.Errorf("calibrate: pane %s and evaluate every %s have too small a common divisor (%dms) to simulate", o.Pane, o.EvaluateEvery, tick)
	}
	g.warmTicks = (g.panes*g.perPane + g.perEval - 1) / g.perEval * g.perEval
	return g, nil
}

func gcd(a, b int64) int64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// runLength is how many evaluations a run counts. Runs are independent
// streams of one warm-up window and then the counted evaluations. Under the
// population null each run draws its population, and a population that
// happens to sit near a threshold alerts again and again: runs are short so
// that there are many populations (two windows: a third of the time is
// warm-up, and the standard error is smaller than with longer runs for the
// same time). Otherwise runs are long (little warm-up).
func (o *Options) runLength() int {
	windowEvals := int(math.Ceil(float64(o.Window) / float64(o.EvaluateEvery)))
	if o.Null == NullPopulation {
		return max(2*windowEvals, 64)
	}
	return max(32*windowEvals, 64)
}

// nominal is the window's expected number of events at an evaluation (the
// newest pane is half full on average).
func (o *Options) nominal() float64 {
	return o.Rate * (o.Window - o.Pane/2).Seconds()
}

// keep bounds the onset candidates kept per feature, statistic and chunk:
// only the lowest-p ones can matter, and the level is checked to fall
// below what was kept.
const keep = 1 << 13

// Calibrate simulates the window on p's features and returns thresholds
// for every budget. It runs on GOMAXPROCS goroutines; the result depends
// only on p and opt (seeds are per feature and run).
func Calibrate(p *profile.Profile, opt Options) (*profile.Calibration, error) {
	if err := opt.defaults(); err != nil {
		return nil, err
	}
	g, err := opt.geometry()
	if err != nil {
		return nil, err
	}
	var feats []*feature
	for i, f := range p.Features {
		if m := newFeature(f, i, opt.Statistics, opt.nominal(), opt.Null); m != nil {
			feats = append(feats, m)
		}
	}
	if len(feats) == 0 {
		return nil, fmt.Errorf("calibrate: no feature of the profile has any of %s", vocab.Join(opt.Statistics, ", "))
	}
	perRun := opt.runLength()
	strictest := math.Inf(1)
	for _, b := range opt.Budgets {
		strictest = min(strictest, b.Rate())
	}
	runSeconds := float64(perRun) * opt.EvaluateEvery.Seconds()
	runs := int(math.Ceil(opt.Alerts / (strictest * runSeconds)))
	if runs > 1<<22 {
		return nil, fmt.Errorf("calibrate: %d runs of %d evaluations would be needed; raise the budget or lower --alerts", runs, perRun)
	}
	// Chunks of runs per feature, enough to keep every core busy.
	per := max(1, min(runs, (4*runtime.GOMAXPROCS(0)+len(feats)-1)/len(feats)))
	var chunks []*chunk
	for _, m := range feats {
		for c := range per {
			chunks = append(chunks, &chunk{m: m, r0: c * runs / per, r1: (c + 1) * runs / per})
		}
	}
	stats.Parallel(len(chunks), func(i int) {
		chunks[i].run(g, &opt, perRun)
	})

	simulated := time.Duration(float64(runs) * runSeconds * float64(time.Second))
	c := &profile.Calibration{Rate: opt.Rate, Window: opt.Window, Pane: opt.Pane, EvaluateEvery: opt.EvaluateEvery,
		MinSamples: opt.MinSamples, PSIEpsilon: opt.PSIEpsilon, Null: opt.Null, Statistics: slices.Clone(opt.Statistics),
		Simulated: simulated, Seed: opt.Seed}
	onsets, limit := collect(chunks)
	for _, b := range opt.Budgets {
		target := b.Rate() * float64(runs) * runSeconds
		alpha, n, se, err := level(onsets, limit, target)
		if err != nil {
			return nil, err
		}
		l := profile.Level{Alerts: b.Alerts, Per: b.Per, Alpha: alpha, SimulatedAlerts: n, StdErr: se,
			Thresholds: map[vocab.Statistic]map[string]float64{}}
		for _, m := range feats {
			for k, st := range m.stats {
				if l.Thresholds[st] == nil {
					l.Thresholds[st] = map[string]float64{}
				}
				l.Thresholds[st][m.f.Name] = m.tf[k].threshold(alpha)
			}
		}
		c.Levels = append(c.Levels, l)
	}
	return c, nil
}

// chunk simulates runs [r0, r1) of one feature and keeps, per statistic,
// the onset candidates: evaluations where the badness rose, with the badness
// before and after. An onset happens at level alpha exactly when
// p(after) ≤ alpha < p(before).
type chunk struct {
	m      *feature
	r0, r1 int
	cands  [][]candidate // per statistic
	floor  []float64     // per statistic: badness above which all are kept (−Inf: all)
}

type candidate struct {
	after, before float64
	run           int32
}

func (c *chunk) run(g geometry, opt *Options, perRun int) {
	m := c.m
	ns := len(m.stats)
	c.cands = make([][]candidate, ns)
	c.floor = make([]float64, ns)
	for k := range c.floor {
		c.floor[k] = math.Inf(-1)
	}
	s := newStream(m, g, opt.PSIEpsilon, opt.MinSamples)
	prev, cur := make([]float64, ns), make([]float64, ns)
	var pop []float64
	for r := c.r0; r < c.r1; r++ {
		s.rng.Seed(opt.Seed, seedOf(streamCalibrate, m.index, r))
		prob := m.prob
		if opt.Null == NullPopulation {
			pop = bootstrap(s.rng, m.ref, pop)
			prob = pop
		}
		s.reset(prob)
		for range g.warmTicks {
			s.step()
		}
		s.evaluate(prev)
		for range perRun {
			for range g.perEval {
				s.step()
			}
			s.evaluate(cur)
			for k, b := range cur {
				if b > prev[k] && b >= c.floor[k] {
					c.add(k, candidate{after: b, before: prev[k], run: int32(r)})
				}
			}
			prev, cur = cur, prev
		}
	}
}

// add keeps a candidate; past 2·keep it keeps the keep highest and raises
// the floor to the lowest of them.
func (c *chunk) add(k int, x candidate) {
	c.cands[k] = append(c.cands[k], x)
	if len(c.cands[k]) < 2*keep {
		return
	}
	cs := c.cands[k]
	sort.Slice(cs, func(i, j int) bool { return cs[i].after > cs[j].after })
	c.cands[k] = cs[:keep]
	c.floor[k] = cs[keep-1].after
}

// Seed namespaces: calibration, power and verification streams never share
// random numbers.
const (
	streamCalibrate = iota + 1
	streamPower
	streamVerify
)

func seedOf(ns, feature, run int) uint64 {
	return uint64(ns)<<56 | uint64(feature)<<32 | uint64(uint32(run))
}

// onset is a candidate on the common scale: alerts start at level alpha
// when lo ≤ alpha < hi. cluster identifies the run (for the standard error).
type onset struct {
	lo, hi  float64
	cluster int
}

// collect maps every chunk's candidates to p-values and returns them with
// the level below which nothing was dropped.
func collect(chunks []*chunk) ([]onset, float64) {
	var out []onset
	limit := math.Inf(1)
	for ci, c := range chunks {
		for k, cs := range c.cands {
			tf := &c.m.tf[k]
			if !math.IsInf(c.floor[k], -1) {
				limit = min(limit, tf.p(c.floor[k]))
			}
			for _, x := range cs {
				lo, hi := tf.p(x.after), tf.p(x.before)
				if lo < hi {
					out = append(out, onset{lo: lo, hi: hi, cluster: ci<<24 | int(x.run)})
				}
			}
		}
	}
	return out, limit
}

// level finds the largest alpha below which the simulated number of alerts
// never exceeds target (the count is not monotone in alpha: raising alpha
// also merges alerts), with that count and its relative standard error from
// the spread between runs.
func level(onsets []onset, limit, target float64) (alpha, n, se float64, err error) {
	type edge struct {
		at float64
		d  int
	}
	edges := make([]edge, 0, 2*len(onsets))
	for _, o := range onsets {
		edges = append(edges, edge{o.lo, +1}, edge{o.hi, -1})
	}
	sort.Slice(edges, func(i, j int) bool { return edges[i].at < edges[j].at })
	count, prevAt := 0, 0.0
	alpha = math.NaN()
	for i := 0; i < len(edges); {
		at := edges[i].at
		if at >= limit {
			break
		}
		next := count
		for ; i < len(edges) && edges[i].at == at; i++ {
			next += edges[i].d
		}
		if float64(next) > target {
			alpha = at / 2
			if prevAt > 0 {
				alpha = math.Sqrt(prevAt * at)
			}
			break
		}
		count, prevAt = next, at
	}
	if math.IsNaN(alpha) {
		if math.IsInf(limit, 1) {
			return 0, 0, 0, errors.New("calibrate: the simulation never reached the budget (too few evaluations?)")
		}
		// Conservative: the level is capped where candidates were dropped.
		alpha = limit * (1 - 1e-9)
	}
	per := map[int]float64{}
	for _, o := range onsets {
		if o.lo <= alpha && alpha < o.hi {
			per[o.cluster]++
			n++
		}
	}
	if n == 0 {
		return alpha, 0, math.Inf(1), nil
	}
	// Runs without alerts count as zeros in the spread.
	var ss float64
	for _, c := range per {
		ss += c * c
	}
	return alpha, n, math.Sqrt(ss) / n, nil
}
