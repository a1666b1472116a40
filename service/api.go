package service

import (
	"io"
	"net/http"
	"time"

	"driftwatch/alerting"
	"driftwatch/api"
	"driftwatch/rollout"
	"driftwatch/statuspage"
)

// routes is the service's HTTP handler: the api package's routes over
// the service's state.
func routes(s *Service) http.Handler {
	return api.Handler(backend{s}, api.Options{Alerts: s.alertAPI, Now: s.opt.Now, GrafanaURL: s.opt.GrafanaURL, Logger: s.log})
}

// backend answers the api package's questions from the service's state.
type backend struct{ s *Service }

func (b backend) WriteMetrics(w io.Writer) {
	b.s.observeProgress()
	b.s.metrics.WritePrometheus(w)
}

// NotReady: ready once started, the group has assigned the partitions and
// their state is restored, and while the brokers answer fetches and no
// partition stalls.
func (b backend) NotReady() []string {
	s := b.s
	select {
	case <-s.ready:
	default:
		return []string{"starting"}
	}
	switch {
	case s.cons == nil || !s.assignedOnce.Load():
		return []string{"waiting for partition assignment"}
	case !s.cons.Healthy():
		return []string{"fetching from the brokers fails; retrying"}
	}
	_, stalls := s.observeProgress()
	var out []string
	for _, st := range stalls {
		out = append(out, st.String()+" (stall_timeout "+s.cfg.StallTimeout.String()+")")
	}
	return out
}

func (b backend) ModelNames() []string { return sortedKeys(b.s.models) }

func (b backend) Status() []statuspage.Version { return b.s.Status() }

// Model is the latest evaluation of every version of a model.
func (b backend) Model(name string) (api.Model, error) {
	s := b.s
	m := s.models[name]
	if m == nil {
		return api.Model{}, api.NotFound("unknown model %q", name)
	}
	out := api.Model{Model: name}
	firing := firingAlerts(s.alerts, s.opt.Now())
	for _, vn := range sortedKeys(m.versions) {
		v := m.versions[vn]
		v.mu.Lock()
		ev, verdicts, lastEvent := v.last, v.lastVerdicts, v.lastEvent
		v.mu.Unlock()
		av := api.Version{Version: vn, Role: v.role(), AlertsFiring: []string{}, Events: ev.Events, Late: ev.Late,
			Output:  api.Output{Scored: ev.Scored, HighConfidenceShare: api.Float(ev.HighConfidenceShare)},
			Quality: api.Quality{Joined: ev.Joined}}
		for i, f := range ev.Features {
			d := verdicts[i]
			av.Features = append(av.Features, api.Feature{Name: f.Name, Kind: f.Kind, Values: f.Values, State: d.State,
				Decision:              api.Decision{Test: d.Test, Value: api.Float(d.Value), Threshold: api.Float(d.Threshold), Calibrated: d.Calibrated},
				WassersteinNormalized: api.Float(f.WassersteinNormalized),
				PSI:                   api.Float(f.PSI), JensenShannon: api.Float(f.JS), KS: api.Float(f.KS), KSBound: api.Float(f.KSBound),
				Wasserstein: api.Float(f.Wasserstein), ChiSquare: api.Float(f.ChiSquare), ChiSquareP: api.Float(f.ChiSquareP),
				NullRate: api.Float(f.NullRate), MissingRate: api.Float(f.MissingRate), InvalidRate: api.Float(f.InvalidRate),
				OutOfRangeRate: api.Float(f.OutOfRangeRate), UnseenShare: api.Float(f.UnseenShare)})
		}
		if m.regression {
			av.Quality.MAE, av.Quality.RMSE = api.FloatPtr(ev.MAE), api.FloatPtr(ev.RMSE)
		} else {
			av.Quality.Accuracy = api.FloatPtr(ev.Accuracy)
		}
		if v.cfg.Window.Count > 0 {
			av.Window.Count = v.cfg.Window.Count
		} else {
			av.Window.Start, av.Window.End = &ev.Start, &ev.End
		}
		if !lastEvent.IsZero() {
			t := lastEvent.UTC()
			av.LastEventAt = &t
		}
		if f := firing[name+"/"+vn]; f != nil {
			av.AlertsFiring = f
		}
		out.Versions = append(out.Versions, av)
	}
	return out, nil
}

// Rollout is the API's view of a model's rollout.
func (b backend) Rollout(name string) (api.Rollout, error) {
	m := b.s.models[name]
	switch {
	case m == nil:
		return api.Rollout{}, api.NotFound("unknown model %q", name)
	case m.ro == nil:
		return api.Rollout{}, api.NotFound("model %q has no rollout configured", name)
	}
	ro := m.ro
	r, d := ro.snapshot()
	out := api.Rollout{Model: m.name, Stable: ro.stable.name, Candidate: ro.cand.name, Mode: ro.cfg.Mode,
		Decision: d.Decision, Reason: d.Reason, Latched: !d.At.IsZero(), Criteria: make([]api.Criterion, len(ro.cfg.Criteria)),
		MinPeriod: ro.cfg.MinPeriod.String(), MaxPeriod: ro.cfg.MaxPeriod.String(), MinSamples: ro.cfg.MinSamples, Alpha: ro.cfg.Alpha}
	for i, c := range ro.cfg.Criteria {
		out.Criteria[i] = api.Criterion{Metric: c.Metric, Tolerance: c.Tolerance, Ratio: c.Ratio, Condition: c.String()}
	}
	if !d.At.IsZero() {
		t := d.At.UTC()
		out.DecidedAt = &t
	}
	if ro.flag != nil {
		out.Flag = &api.Flag{Status: ro.flag.Status(), History: ro.flag.History()}
	}
	if !r.evaluated {
		return out, nil
	}
	v := &r.verdict
	out.EvaluatedAt = r.at.UTC()
	if !d.At.IsZero() {
		// After the decision the comparison goes on, for information: the
		// decision stands whatever it says (see evaluateRollout).
		out.SinceDecision = &api.SinceDecision{Decision: v.Decision, Reason: v.Reason}
	}
	if r.active {
		out.StartedAt = time.UnixMilli(r.start).UTC()
		observed := float64(r.end-r.start) / 1e3
		out.Observed = &observed
	}
	out.Checks = make([]api.Check, len(v.Checks))
	for i, c := range v.Checks {
		out.Checks[i] = api.Check{Metric: c.Criterion.Metric, Criterion: c.Criterion.String(), Status: c.Status,
			Stable: api.Float(c.Stable), Candidate: api.Float(c.Candidate), Limit: api.Float(c.Limit),
			StableN: c.StableN, CandidateN: c.CandidateN, Unit: c.Unit, Test: c.Test,
			Z: api.Float(c.Z), Information: api.Float(c.Information), PFail: api.Float(c.PFail), PPass: api.Float(c.PPass),
			FailLevel: c.FailLevel, PassLevel: c.PassLevel, ZFail: api.Float(c.ZFail), ZPass: api.Float(c.ZPass), Waiting: c.Waiting}
	}
	arm := func(a *rollout.Arm) api.Arm { return api.Arm{Events: a.Events, Errors: a.Errors, Outcomes: a.Joined} }
	out.Arms = map[string]api.Arm{ro.stable.name: arm(&r.stable), ro.cand.name: arm(&r.cand)}
	out.Drift = make([]api.Drift, len(v.Drift))
	for i, d := range v.Drift {
		out.Drift[i] = api.Drift{Name: d.Name, PSI: api.Float(d.PSI), ChiSquare: api.Float(d.ChiSquare), ChiSquareP: api.Float(d.ChiSquareP),
			StableN: d.StableN, CandidateN: d.CandidateN}
	}
	if sh := v.Shadow; sh != nil {
		out.Shadow = &api.Shadow{Pairs: sh.Pairs, Classified: sh.Classified, Agreement: api.Float(sh.Rate),
			AgreementLow: api.Float(sh.RateLow), AgreementHigh: api.Float(sh.RateHigh), Scored: sh.Scored,
			MeanDiff: api.Float(sh.MeanDiff), MeanAbsDiff: api.Float(sh.MeanAbsDiff),
			AbsDiffP50: api.Float(sh.AbsDiffP50), AbsDiffP90: api.Float(sh.AbsDiffP90), AbsDiffP99: api.Float(sh.AbsDiffP99)}
	}
	return out, nil
}

// firingAlerts lists the firing alerts per "model/version" as
// "rule feature (severity)".
func firingAlerts(e *alerting.Engine, now time.Time) map[string][]string {
	out := map[string][]string{}
	if e == nil {
		return out
	}
	for _, a := range e.Alerts(now) {
		if a.State != alerting.StateFiring {
			continue
		}
		what := a.Rule
		if a.Feature != "" {
			what += " " + a.Feature
		}
		k := a.Model + "/" + a.Version
		out[k] = append(out[k], what+" ("+string(a.Severity)+")")
	}
	return out
}
