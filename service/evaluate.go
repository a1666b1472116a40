package service

import (
	"context"
	"driftwatch/vocab"
	"math"
	"time"

	"driftwatch/alerting"
	"driftwatch/api"
	"driftwatch/config"
	"driftwatch/detectors"
	"driftwatch/join"
	"driftwatch/metrics"
	"driftwatch/monitor"
	"driftwatch/profile"
	"driftwatch/stats"
	"driftwatch/statuspage"
)

// evaluateLoop evaluates each model on its own evaluate_every.
func (s *Service) evaluateLoop(ctx context.Context) {
	runEvery(ctx, s.cfg.Models, s.opt.Now, s.evaluate)
}

// runEvery ticks at the shortest interval and calls eval with the models
// whose own interval has passed since they were last evaluated (half a
// tick of slack absorbs ticker jitter).
func runEvery(ctx context.Context, models []config.Model, now func() time.Time, eval func(due map[string]bool)) {
	tick := time.Duration(math.MaxInt64)
	for _, m := range models {
		tick = min(tick, m.EvaluateEvery)
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	last := map[string]time.Time{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		at := now()
		due := map[string]bool{}
		for _, m := range models {
			if at.Sub(last[m.Name]) >= m.EvaluateEvery-tick/2 {
				due[m.Name], last[m.Name] = true, at
			}
		}
		eval(due)
	}
}

// Evaluate evaluates every model version now and updates the metrics.
func (s *Service) Evaluate() { s.evaluate(nil) }

// evaluate evaluates the due models (all when due is nil) and runs the
// alert rules on the latest samples of every model: a model not due keeps
// its last samples, so its alerts neither resolve nor re-fire in between.
func (s *Service) evaluate(due map[string]bool) {
	s.evalMu.Lock() // the loop and callers of Evaluate
	defer s.evalMu.Unlock()
	start := s.opt.Now()
	s.deadLog.flush(s.log)
	var samples []alerting.Sample
	remote := s.remoteParts()
	for _, m := range s.models {
		for _, v := range m.versions {
			if due != nil && !due[m.name] {
				samples = append(samples, v.lastSamples...)
				continue
			}
			ev := s.merge(v, remote)
			v.mu.Lock()
			v.last, v.lastVerdicts = ev, v.verdicts(&ev)
			v.record(start, &ev, v.lastVerdicts)
			verdicts := v.lastVerdicts
			lastEvent := v.lastEvent
			v.mu.Unlock()
			v.lastSamples = v.samples(v.lastSamples[:0], &ev, lastEvent, s.started, start)
			samples = append(samples, v.lastSamples...)
			s.versionMetrics(v, &ev, verdicts, lastEvent)
		}
	}
	for _, m := range s.rolloutModels() {
		// After the versions: the input drift between arms reads their
		// evaluations.
		if due == nil || due[m.name] {
			m.roSamples = s.evaluateRollout(m, remote, start)
		}
		samples = append(samples, m.roSamples...)
	}
	for _, m := range s.models {
		var st join.Stats
		for _, p := range s.ownedParts() {
			p.mu.Lock()
			js := p.joins[m].Stats()
			p.mu.Unlock()
			st.Pending += js.Pending
			st.EvictedPending += js.EvictedPending
			st.EvictedEarly += js.EvictedEarly
			st.ExpiredPending += js.ExpiredPending
			st.ExpiredEarly += js.ExpiredEarly
		}
		l := metrics.Labels("model", m.name)
		s.metrics.JoinPending.Gauge(l).Set(float64(st.Pending))
		s.metrics.JoinEvicted.Gauge(l).Set(float64(st.EvictedPending + st.EvictedEarly + st.ExpiredPending + st.ExpiredEarly))
	}
	s.observeProgress()
	var lag map[string]int64
	if s.cons != nil {
		ctx, cancel := context.WithTimeout(context.Background(), progressTimeout)
		var err error
		if lag, err = s.cons.GroupLag(ctx); err != nil {
			s.log.Warn("service: consumer group lag", "err", err)
		}
		cancel()
	}
	for _, topic := range sortedKeys(lag) {
		samples = append(samples, alerting.Sample{Feature: topic, Statistic: vocab.ConsumerLag, Value: float64(lag[topic]), Samples: math.Inf(1)})
	}
	if s.alerts != nil && s.leader() {
		release, held := s.alerts.EvalHeld(start, samples)
		send := true
		if p := s.owned(0); held > 0 && p != nil && s.ckpt != nil {
			// Partition 0's checkpoint carries the alert states: saved
			// before sending, a successor never pages twice.
			ctx, cancel := context.WithTimeout(context.Background(), alertCheckpointTimeout)
			switch err := s.checkpoint(ctx, p, true); {
			case err != nil && s.killed.Load():
				// A crashed process sends nothing more; its successor
				// restores the states before these and sends them.
				send = false
			case err != nil:
				s.log.Warn("service: alert states not checkpointed before sending", "err", err)
			}
			cancel()
		}
		// The state file, too, holds the notifications before they are
		// sent: a crash while a receiver is down loses none.
		s.saveAlerts()
		if send {
			release()
		}
		firing, pending := 0, 0
		for _, a := range s.alerts.Alerts(start) {
			if a.State == alerting.StateFiring {
				firing++
			} else {
				pending++
			}
		}
		s.metrics.Alerts.Gauge(metrics.Labels("state", string(alerting.StateFiring))).Set(float64(firing))
		s.metrics.Alerts.Gauge(metrics.Labels("state", string(alerting.StatePending))).Set(float64(pending))
	}
	s.metrics.EvaluationDurationSeconds.Gauge("").Set(s.opt.Now().Sub(start).Seconds())
}

// samples appends what the alert rules can watch of one evaluation.
func (v *version) samples(dst []alerting.Sample, ev *monitor.Evaluation, lastEvent, started, now time.Time) []alerting.Sample {
	inf, min := math.Inf(1), float64(v.cfg.MinSamples)
	add := func(feature string, stat vocab.Statistic, x, n float64) {
		dst = append(dst, alerting.Sample{Model: v.model.name, Version: v.name, Feature: feature, Statistic: stat,
			Value: x, Samples: n, MinSamples: min, WindowStart: ev.Start, WindowEnd: ev.End, Auto: v.auto})
	}
	for _, f := range ev.Features {
		add(f.Name, vocab.PSI, f.PSI, f.Values)
		add(f.Name, vocab.JS, f.JS, f.Values)
		if f.Kind == profile.Numeric {
			add(f.Name, vocab.Hellinger, f.Hellinger, f.Values)
			add(f.Name, vocab.KS, f.KS, f.Values)
			add(f.Name, vocab.Wasserstein, f.Wasserstein, f.Values)
			add(f.Name, vocab.OutOfRangeRate, f.OutOfRangeRate, f.Values)
		} else {
			add(f.Name, vocab.ChiSquare, f.ChiSquare, f.Values)
			add(f.Name, vocab.ChiSquareP, f.ChiSquareP, f.Values)
			add(f.Name, vocab.UnseenShare, f.UnseenShare, f.Values)
		}
		add(f.Name, vocab.NullRate, f.NullRate, ev.Events)
		add(f.Name, vocab.MissingRate, f.MissingRate, ev.Events)
		add(f.Name, vocab.InvalidRate, f.InvalidRate, ev.Events)
	}
	if v.model.regression {
		add("", vocab.MAE, ev.MAE, ev.Joined)
		add("", vocab.RMSE, ev.RMSE, ev.Joined)
	} else {
		add("", vocab.Accuracy, ev.Accuracy, ev.Joined)
		add("", vocab.F1, ev.F1, ev.Joined)
		add("", vocab.AUC, ev.AUC, ev.Joined)
		add("", vocab.ECE, ev.ECE, ev.Joined)
	}
	add("", vocab.HighConfidenceShare, ev.HighConfidenceShare, ev.Scored)
	add("", vocab.Volume, ev.Events, inf)
	if lastEvent.IsZero() {
		lastEvent = started
	}
	add("", vocab.NoData, now.Sub(lastEvent).Seconds(), inf)
	return dst
}

// verdict is the streaming decision on one feature: the deciding test (the
// rule of `check`, detectors.DecidingTest), its statistic in the window,
// the threshold in force and the state.
type verdict struct {
	statuspage.Verdict
	State api.State
	// PSIThreshold is PSI's threshold in force, for its chart.
	PSIThreshold float64
}

func (d verdict) drift() bool { return d.State == api.StateDrift }

// verdicts decides every feature of an evaluation. Below min_samples
// values there is no verdict. Sustained drift, `for` durations and
// notifications are the alerting rules' concern.
func (v *version) verdicts(ev *monitor.Evaluation) []verdict {
	out := make([]verdict, len(ev.Features))
	for i := range ev.Features {
		out[i] = v.decide(&ev.Features[i])
	}
	return out
}

// decide applies `check`'s decision rule to one feature's window
// statistics. A rule with `threshold: auto` on the deciding statistic
// (psi, jensen_shannon, hellinger; chi_square_p for chi_square) replaces
// the configured threshold by its calibrated one, so the verdict agrees with
// the alerts.
func (v *version) decide(f *monitor.FeatureStats) verdict {
	drift := &v.cfg.Drift
	ref := v.prof.Feature(f.Name)
	rows, refValues, binary := 0, 0, false
	if ref != nil {
		rows, refValues, binary = ref.Rows, ref.Values, len(ref.Categories) == 2
		if ref.Kind == profile.Categorical {
			refValues = int(sum(f.Reference))
		}
	}
	d := verdict{Verdict: statuspage.Verdict{Test: drift.DecidingTest(f.Name, f.Kind, rows, binary)}}
	d.PSIThreshold = drift.Threshold(f.Name, detectors.TestPSI)
	d.Threshold = drift.Threshold(f.Name, d.Test)
	nan := math.NaN()
	nCur := sum(f.Current)
	if f.Kind == profile.Numeric {
		nCur = f.Values
	}
	auto := d.Test
	switch d.Test {
	case detectors.TestPSI:
		d.Value = f.PSI
		if drift.PSIAuto && refValues > 0 && nCur > 0 {
			d.Threshold = stats.PSIThreshold(drift.PSIAlpha, len(f.Reference), float64(refValues), nCur)
		}
	case detectors.TestJS:
		d.Value = f.JS
	case detectors.TestHellinger:
		d.Value = f.Hellinger
	case detectors.TestWasserstein:
		d.Value = f.WassersteinNormalized
	case detectors.TestKS:
		d.Value = nan
		if refValues > 0 && f.Values > 0 && !math.IsNaN(f.KS) {
			_, d.Value = stats.KS2SampPValue(f.KS, refValues, int(f.Values))
		}
	case detectors.TestChiSquare:
		d.Value, auto = f.ChiSquareP, vocab.ChiSquareP
	case detectors.TestZ:
		d.Value = nan
		if len(f.Reference) > 1 && refValues > 0 && nCur > 0 {
			_, d.Value = stats.TwoProportionZ(f.Current[1], nCur, f.Reference[1], float64(refValues))
		}
	}
	if v.auto != nil && auto != detectors.TestKS {
		s := alerting.Sample{Model: v.model.name, Version: v.name, Feature: f.Name, Statistic: auto, Auto: v.auto}
		if t, ok := alerting.AutoThreshold(v.rules, &s); ok {
			d.Threshold, d.Calibrated = t, true
		}
		s.Statistic = vocab.PSI
		if t, ok := alerting.AutoThreshold(v.rules, &s); ok {
			d.PSIThreshold = t
		}
	}
	if d.Test == detectors.TestPSI {
		d.PSIThreshold = d.Threshold
	}
	switch {
	case f.Values < float64(max(v.cfg.MinSamples, 1)):
		d.State = api.StateInsufficientData
	case d.Calibrated && auto == vocab.ChiSquareP && d.Value <= d.Threshold,
		!(d.Calibrated && auto == vocab.ChiSquareP) && detectors.Drifts(d.Test, d.Value, d.Threshold):
		// A calibrated chi_square_p level is the rule's own (p <= t).
		d.State = api.StateDrift
	default:
		d.State = api.StateOK
	}
	return d
}

func sum(xs []float64) float64 {
	var t float64
	for _, x := range xs {
		t += x
	}
	return t
}

// role is the version's part in its model's rollout: "stable", the
// candidate's mode, or "" outside one.
func (v *version) role() string {
	switch ro := v.model.ro; {
	case ro == nil:
		return ""
	case v == ro.stable:
		return "stable"
	case v == ro.cand:
		return string(ro.cfg.Mode)
	}
	return ""
}

// Latest returns the last evaluation of a model version.
func (s *Service) Latest(model, version string) (monitor.Evaluation, bool) {
	m := s.models[model]
	if m == nil || m.versions[version] == nil {
		return monitor.Evaluation{}, false
	}
	v := m.versions[version]
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.last, true
}
