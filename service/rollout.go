package service

import (
	"driftwatch/flag"
	"driftwatch/vocab"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"driftwatch/alerting"
	"driftwatch/ingest"
	"driftwatch/join"
	"driftwatch/metrics"
	"driftwatch/monitor"
	"driftwatch/rollout"
	"driftwatch/statuspage"
)

// A rollout compares a model's candidate version with its stable one on
// counters since the rollout started (package rollout needs evidence that
// only grows), not on the sliding windows: every partition keeps both arms
// beside its windows, checkpointed with them, and an evaluation adds the
// arms of all partitions up as it merges the windows. The rollout starts at
// the configured start or, in each partition, at its first candidate
// event in event time. Until then a partition counts stable's events
// provisionally, over at most one pane of event time (older counts are
// dropped as newer ones come), since a fetch may bring stable's events of
// the rollout's first moments before the candidate's first: the arms are
// aligned to within a pane.

// modelRollout is a model's rollout: its config and what the last
// evaluation decided.
type modelRollout struct {
	cfg          rollout.Config
	stable, cand *version
	shadow       bool
	start        int64 // configured start, Unix ms; noStart when unset
	grace        int64 // the span of stable's provisional counts, ms: one pane
	mu           sync.Mutex
	last         rolloutResult
	decided      decision         // the first promote or rollback, kept: see evaluateRollout
	flag         *flag.Controller // the feature flag the rollout moves; nil: none (service/flag.go)
	rampSteps    []int            // the flag's ramp
}

// decision is a final verdict as it is kept and checkpointed.
type decision struct {
	Decision rollout.Decision
	At       time.Time // evaluation time
	Reason   string
}

// rolloutResult is one evaluation of a rollout.
type rolloutResult struct {
	at                time.Time
	verdict           rollout.Verdict
	stable, cand      rollout.Arm
	start, end        int64 // event-time span of the arms, Unix ms (start noStart: not started)
	evaluated, active bool
}

const noStart = math.MaxInt64

// arms are one partition's counters of a rollout.
type arms struct {
	start, last int64 // event time of the first counted and the last event, Unix ms
	// started: the rollout has started (the candidate's first event, or
	// the configured start); until then stable's counts are provisional.
	started      bool
	stable, cand rollout.Arm
}

func (s *Service) newRollout(m *model, cfg rollout.Config) *modelRollout {
	ro := &modelRollout{cfg: cfg, stable: m.versions[cfg.Stable], cand: m.versions[cfg.Candidate],
		shadow: cfg.Mode == rollout.Shadow, start: noStart, grace: m.versions[cfg.Stable].cfg.Window.Pane.Milliseconds()}
	if !cfg.Start.IsZero() {
		ro.start = cfg.Start.UnixMilli()
	}
	return ro
}

func (ro *modelRollout) newArms() *arms {
	return &arms{start: ro.start, last: math.MinInt64, started: ro.start != noStart}
}

// arm returns the arm of version v for an event at ts, starting the
// rollout at the candidate's first event; nil when the event is not
// counted (another version, or before the start).
func (a *arms) arm(ro *modelRollout, v *version, ts int64) *rollout.Arm {
	switch {
	case v != ro.stable && v != ro.cand:
		return nil
	case a.started:
		if ts < a.start {
			return nil
		}
	case v == ro.cand: // the rollout starts; stable's provisional counts are within a pane of it
		a.started, a.start = true, min(a.start, ts)
	case a.start == noStart || ts > a.start+ro.grace: // stable before the start: only the last pane counts
		a.stable, a.start = rollout.Arm{}, ts
	case ts < a.start:
		return nil
	}
	a.last = max(a.last, ts)
	if v == ro.cand {
		return &a.cand
	}
	return &a.stable
}

// countEvent adds one prediction to its rollout arm. The caller holds
// p.mu.
func (s *Service) countEvent(p *partitionState, ro *modelRollout, v *version, e *ingest.Prediction) {
	arm := p.arms[v.model].arm(ro, v, e.Pred.TS)
	if arm == nil {
		return
	}
	arm.Events++
	if e.Failed {
		arm.Errors++
	}
	if b := rollout.LatencyBucket(e.LatencyMS); b >= 0 {
		if arm.Latency == nil {
			arm.Latency = make([]float64, rollout.LatencyBuckets)
		}
		arm.Latency[b]++
	}
	if e.Pred.HasScore {
		if arm.Scores == nil {
			arm.Scores = make([]float64, rollout.ScoreBins)
		}
		arm.Scores[rollout.ScoreBin(e.Pred.Score)]++
	}
}

// countOutcome adds a joined outcome to the arm of its prediction's
// version. The caller holds p.mu.
func (s *Service) countOutcome(p *partitionState, m *model, v *version, pair *join.Pair, positive, predictedPositive bool) {
	ro := m.ro
	if ro == nil || v != ro.stable && v != ro.cand {
		return
	}
	a := p.arms[m]
	if a.start == noStart || pair.Prediction.TS < a.start {
		return
	}
	arm := &a.stable
	if v == ro.cand {
		arm = &a.cand
	}
	arm.Joined++
	if m.regression {
		e := pair.Prediction.Value - pair.Outcome.Value
		arm.AbsErr += math.Abs(e)
		arm.SqErr += e * e
		arm.QuadErr += e * e * e * e
		return
	}
	if pair.Prediction.Class == pair.Outcome.Label {
		arm.Correct++
	}
	switch {
	case positive && predictedPositive:
		arm.TP++
	case predictedPositive:
		arm.FP++
	case positive:
		arm.FN++
	}
	if pair.Prediction.HasScore {
		if arm.ScoreByLabel == nil {
			arm.ScoreByLabel = make([]float64, 2*rollout.ScoreBins)
		}
		b := rollout.ScoreBin(pair.Prediction.Score)
		if positive {
			b += rollout.ScoreBins
		}
		arm.ScoreByLabel[b]++
	}
}

// Shadow mode: both versions score the same request and log it under the
// same id. The candidate's predictions wait for their outcome in the
// model's join under shadowKey, so the two never collide, and an outcome
// is offered to both. Pairing the candidate's prediction with stable's is
// a second join (partitionState.pairs): stable's prediction waits as the prediction,
// the candidate's stands in as the outcome (its class as the label, its
// score — a regression model's value — as the value), which gives the
// pairing join's bounds, expiry and checkpoints for free.

// shadowKey is the join key of a shadow candidate's prediction.
func shadowKey(id, version string) string { return id + "\x00" + version }

// joinKey is the key a prediction of v waits under in its model's join.
func joinKey(v *version, id string) string {
	if ro := v.model.ro; ro != nil && ro.shadow && v == ro.cand {
		return shadowKey(id, v.name)
	}
	return id
}

// joinOutcome offers an outcome to the model's join: under its id, and
// under the shadow candidate's key too. The caller holds p.mu.
func (s *Service) joinOutcome(p *partitionState, m *model, id string, o join.Outcome, now time.Time) {
	j := p.joins[m]
	if pair, ok := j.AddOutcome(id, o, now); ok {
		s.credit(p, m, pair)
	}
	if ro := m.ro; ro != nil && ro.shadow {
		if pair, ok := j.AddOutcome(shadowKey(id, ro.cand.name), o, now); ok {
			pair.ID = id
			s.credit(p, m, pair)
		}
	}
}

// pairShadow pairs a shadow rollout's predictions of one request and
// counts their agreement. The caller holds p.mu.
func (s *Service) pairShadow(p *partitionState, ro *modelRollout, v *version, e *ingest.Prediction, now time.Time) {
	j := p.pairs[v.model]
	var pair join.Pair
	var ok bool
	switch v {
	case ro.stable:
		pair, ok = j.AddPrediction(e.ID, e.Pred, now)
	case ro.cand:
		x := e.Pred.Score
		if !e.Pred.HasScore {
			x = e.Pred.Value // regression; NaN for a class without a score
		}
		pair, ok = j.AddOutcome(e.ID, join.Outcome{Label: e.Pred.Class, Value: x}, now)
	}
	if !ok {
		return
	}
	a := p.arms[v.model]
	if a.start == noStart || pair.Prediction.TS < a.start {
		return
	}
	g := &a.cand.Agreement
	g.Pairs++
	st := pair.Prediction
	if !v.model.regression && st.Class != "" && pair.Outcome.Label != "" {
		g.Classified++
		if st.Class == pair.Outcome.Label {
			g.Agree++
		}
	}
	x := st.Score
	if !st.HasScore {
		x = st.Value
	}
	if d := pair.Outcome.Value - x; d == d {
		g.Scored++
		g.SumDiff += d
		g.SumAbsDiff += math.Abs(d)
		if g.Diff == nil {
			g.Diff = make([]float64, rollout.DiffBuckets)
		}
		g.Diff[rollout.DiffBucket(d)]++
	}
}

// evaluateRollout compares the arms of all partitions — owned ones as
// they are, remote ones as of their checkpoints — and latches the first
// final decision. The caller holds evalMu.
func (s *Service) evaluateRollout(m *model, remote []*partitionState, now time.Time) []alerting.Sample {
	ro := m.ro
	r := rolloutResult{at: now, start: noStart, end: math.MinInt64, evaluated: true}
	add := func(a *arms) {
		if a == nil || !a.started {
			return
		}
		r.start, r.end = min(r.start, a.start), max(r.end, a.last)
		r.stable.Add(&a.stable)
		r.cand.Add(&a.cand)
	}
	for _, p := range s.ownedParts() {
		p.mu.Lock()
		add(p.arms[m])
		p.mu.Unlock()
	}
	for _, p := range remote {
		add(p.arms[m])
	}
	var observed time.Duration
	if r.active = r.start != noStart; r.active {
		observed = time.Duration(max(r.end-r.start, 0)) * time.Millisecond
	}
	r.verdict = rollout.Compare(r.stable, r.cand, ro.cfg, observed)
	r.verdict.Drift = append(r.verdict.Drift, inputDrift(ro)...)

	ro.mu.Lock()
	// The first promote or rollback stands: the anytime-valid guarantee
	// is for stopping at the first crossing, and a receiver acts on it
	// once. A new rollout is a new config (candidate or start).
	if ro.decided.Decision == "" && r.verdict.Decision.Final() {
		ro.decided = decision{Decision: r.verdict.Decision, At: now, Reason: r.verdict.Reason}
		s.log.Warn("service: rollout decided", "model", m.name, "stable", ro.stable.name, "candidate", ro.cand.name,
			"decision", r.verdict.Decision, "reason", r.verdict.Reason)
	}
	ro.last = r
	ro.mu.Unlock()

	_, d := ro.snapshot()
	s.observeFlag(ro, &r, d)
	s.rolloutMetrics(m, &r, d)
	verdict := func(want rollout.Decision) float64 {
		if d.Decision == want {
			return 1
		}
		return 0
	}
	sample := func(stat vocab.Statistic, want rollout.Decision) alerting.Sample {
		smp := alerting.Sample{Model: m.name, Version: ro.cand.name, Statistic: stat, Value: verdict(want), Samples: math.Inf(1),
			Labels: map[string]string{"stable": ro.stable.name, "candidate": ro.cand.name, "mode": string(ro.cfg.Mode)}}
		if r.active { // the events the arms compared, by event time
			smp.WindowStart, smp.WindowEnd = time.UnixMilli(r.start).UTC(), time.UnixMilli(r.end).UTC()
		}
		if d.Decision == want {
			smp.Annotations = map[string]string{"decision": string(d.Decision), "reason": d.Reason}
		}
		return smp
	}
	return append([]alerting.Sample{sample(vocab.RolloutRollback, rollout.Rollback), sample(vocab.RolloutPromote, rollout.Promote),
		sample(vocab.RolloutInconclusive, rollout.Inconclusive)}, s.flagSamples(m)...)
}

// inputDrift compares the candidate's window with stable's per input
// feature, where both versions bin the feature alike: information beside
// the verdict, on the windows' latest evaluations.
func inputDrift(ro *modelRollout) []rollout.DriftCheck {
	ro.stable.mu.Lock()
	st := ro.stable.last
	ro.stable.mu.Unlock()
	ro.cand.mu.Lock()
	ca := ro.cand.last
	ro.cand.mu.Unlock()
	var out []rollout.DriftCheck
	for _, f := range st.Features {
		i := slices.IndexFunc(ca.Features, func(g monitor.FeatureStats) bool { return g.Name == f.Name })
		if i < 0 {
			continue
		}
		g := ca.Features[i]
		if g.Kind != f.Kind || !slices.Equal(g.Edges, f.Edges) || !slices.Equal(g.Categories, f.Categories) || len(g.Current) != len(f.Current) {
			continue
		}
		out = append(out, rollout.Drift(f.Name, f.Current, g.Current, ro.stable.cfg.Drift.PSIEpsilon))
	}
	return out
}

// snapshot returns the last evaluation and the decision in force: the
// latched one (At set), else the last evaluation's, and continue before
// any evaluation.
func (ro *modelRollout) snapshot() (rolloutResult, decision) {
	ro.mu.Lock()
	defer ro.mu.Unlock()
	d := ro.decided
	switch {
	case d.Decision != "":
	case ro.last.evaluated:
		d = decision{Decision: ro.last.verdict.Decision, Reason: ro.last.verdict.Reason}
	default:
		d = decision{Decision: rollout.Continue, Reason: "not evaluated yet"}
	}
	return ro.last, d
}

// rolloutMetrics exports a rollout's evaluation: the decision in force,
// each criterion's values per arm and its p-values, and the arms' sizes.
func (s *Service) rolloutMetrics(m *model, r *rolloutResult, d decision) {
	ro := m.ro
	lbl := metrics.Labels("model", m.name)
	for _, dec := range []rollout.Decision{rollout.Promote, rollout.Rollback, rollout.Continue, rollout.Inconclusive} {
		x := 0.0
		if dec == d.Decision {
			x = 1
		}
		s.metrics.RolloutDecision.Gauge(lbl + "," + metrics.Labels("stable", ro.stable.name, "candidate", ro.cand.name, "decision", string(dec))).Set(x)
	}
	set := func(f *metrics.Family, labels string, x float64) {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			f.Gauge(labels).Set(x)
		}
	}
	if r.active {
		set(s.metrics.RolloutObservedSeconds, lbl, float64(r.end-r.start)/1e3)
	}
	for _, a := range []struct {
		v   *version
		arm *rollout.Arm
	}{{ro.stable, &r.stable}, {ro.cand, &r.cand}} {
		al := fmt.Sprintf(`%s,version=%q`, lbl, a.v.name)
		set(s.metrics.RolloutEvents, al, a.arm.Events)
		set(s.metrics.RolloutOutcomes, al, a.arm.Joined)
	}
	for _, c := range r.verdict.Checks {
		ml := fmt.Sprintf(`%s,metric=%q`, lbl, c.Criterion.Metric)
		set(s.metrics.RolloutMetric, fmt.Sprintf(`%s,version=%q`, ml, ro.stable.name), c.Stable)
		set(s.metrics.RolloutMetric, fmt.Sprintf(`%s,version=%q`, ml, ro.cand.name), c.Candidate)
		set(s.metrics.RolloutLimit, ml, c.Limit)
		set(s.metrics.RolloutPFail, ml, c.PFail)
		set(s.metrics.RolloutPPass, ml, c.PPass)
	}
	if sh := r.verdict.Shadow; sh != nil {
		set(s.metrics.RolloutShadowAgreement, lbl, sh.Rate)
		set(s.metrics.RolloutShadowMeanAbsDiff, lbl, sh.MeanAbsDiff)
	}
}

// status is the status page's view of the rollout.
func (ro *modelRollout) status() *statuspage.Rollout {
	r, d := ro.snapshot()
	nan := math.NaN()
	st := &statuspage.Rollout{Stable: ro.stable.name, Candidate: ro.cand.name, Mode: string(ro.cfg.Mode), MinPeriod: ro.cfg.MinPeriod,
		Decision: string(d.Decision), Reason: d.Reason, DecidedAt: d.At, Agreement: nan, MeanAbsDiff: nan, Flag: ro.flagLine()}
	if !r.evaluated {
		return st
	}
	v := &r.verdict
	if !d.At.IsZero() {
		st.SinceDecision = string(v.Decision)
	}
	if r.active {
		st.Started = time.UnixMilli(r.start)
		st.Observed = time.Duration(r.end-r.start) * time.Millisecond
	}
	for _, c := range v.Checks {
		st.Checks = append(st.Checks, statuspage.RolloutCheck{Criterion: c.Criterion.String(), Status: string(c.Status), Waiting: c.Waiting,
			Stable: c.Stable, Candidate: c.Candidate, Limit: c.Limit, StableN: c.StableN, CandidateN: c.CandidateN,
			PFail: c.PFail, PPass: c.PPass, Unit: c.Unit})
	}
	if sh := v.Shadow; sh != nil {
		st.Pairs, st.Agreement, st.MeanAbsDiff = sh.Pairs, sh.Rate, sh.MeanAbsDiff
	}
	return st
}

// rolloutKey tells one rollout from another: a new candidate or start is
// a new rollout, with fresh arms.
func rolloutKey(ro *modelRollout) string {
	return fmt.Sprintf("%s\x00%s\x00%s\x00%d", ro.stable.model.name, ro.stable.name, ro.cand.name, ro.start)
}

// rolloutsByKey indexes the configured rollouts by rolloutKey, for
// checkpoint readers.
func (s *Service) rolloutsByKey() map[string]*model {
	keys := map[string]*model{}
	for _, m := range s.rolloutModels() {
		keys[rolloutKey(m.ro)] = m
	}
	return keys
}

// rolloutModels lists the models with a rollout, by name.
func (s *Service) rolloutModels() []*model {
	var out []*model
	for _, name := range sortedKeys(s.models) {
		if m := s.models[name]; m.ro != nil {
			out = append(out, m)
		}
	}
	return out
}

// Rollout returns a model's rollout decision and its reason (the latched
// one once decided); ok is false for a model without a rollout.
func (s *Service) Rollout(model string) (decision rollout.Decision, reason string, ok bool) {
	m := s.models[model]
	if m == nil || m.ro == nil {
		return "", "", false
	}
	_, d := m.ro.snapshot()
	return d.Decision, d.Reason, true
}
