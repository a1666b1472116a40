package service

import (
	"context"
	"driftwatch/metrics"
	"driftwatch/vocab"
	"fmt"
	"math"
	"os"
	"strings"
	"time"

	"driftwatch/alerting"
	"driftwatch/config"
	"driftwatch/flag"
	"driftwatch/rollout"
)

// The hook between a model's rollout and package flag: a rollout with a
// flag gets a flag.Controller, built at Start and started once the
// service runs; each evaluation hands it the latched decision and its own
// (evaluateRollout); its history and state are served with the rollout;
// Close and Kill stop it. Everything else about the ramp is package
// flag's.

// newFlag builds the controller of a rollout's flag (nil without one).
func (s *Service) newFlag(m *model, rc *config.Rollout) (*flag.Controller, error) {
	if rc.Flag == nil {
		return nil, nil
	}
	t := rc.Flag
	token, ok := os.LookupEnv(t.TokenEnv)
	if !ok || token == "" {
		return nil, fmt.Errorf("service: model %q: rollout.flag.token_env: environment variable %q is not set", m.name, t.TokenEnv)
	}
	p := &flag.Unleash{URL: t.URL, Token: token, Project: t.Project, Environment: t.Environment, Feature: t.Feature, Strategy: t.Strategy}
	id := fmt.Sprintf("%s %s→%s", m.name, rc.Stable, rc.Candidate)
	if !rc.Start.IsZero() {
		id += " from " + rc.Start.UTC().Format(time.RFC3339)
	}
	m.ro.rampSteps = rc.Ramp
	c := flag.NewController(rc.FlagRamp(), p, flag.Options{Rollout: id, Model: m.name, Now: s.opt.Now, Logger: s.log,
		Metrics: &flag.Metrics{
			Changes: s.metrics.FlagChangesTotal.Counter(metrics.Labels("model", m.name)),
			Errors:  s.metrics.FlagErrorsTotal.Counter(metrics.Labels("model", m.name)),
			Up:      s.metrics.FlagUp.Gauge(metrics.Labels("model", m.name)),
			Percent: s.metrics.FlagRolloutPercent.Gauge(metrics.Labels("model", m.name)),
		}})
	return c, nil
}

// observeFlag hands an evaluation to the rollout's flag controller.
func (s *Service) observeFlag(ro *modelRollout, r *rolloutResult, d decision) {
	if ro.flag == nil {
		return
	}
	in := flag.Input{At: r.at, Latched: rollout.Continue, Current: r.verdict.Decision, Reason: r.verdict.Reason}
	if !d.At.IsZero() {
		in.Latched, in.LatchedAt = d.Decision, d.At
		if in.Current != rollout.Rollback { // the latched decision's reason, unless this evaluation rolls back
			in.Reason = d.Reason
		}
	}
	ro.flag.Observe(in)
}

// flagLine is the status page's line on the rollout's flag ("" without).
func (ro *modelRollout) flagLine() string {
	if ro.flag == nil {
		return ""
	}
	st := ro.flag.Status()
	var b strings.Builder
	b.WriteString(st.Provider)
	switch {
	case !st.Known:
		b.WriteString(": not read yet")
	case st.Enabled:
		fmt.Fprintf(&b, ": on at %d%%", st.Percent)
	default:
		fmt.Fprintf(&b, ": off (%d%%)", st.Percent)
	}
	if st.Plan != "" {
		b.WriteString("; " + st.Plan)
	}
	if st.DryRun {
		b.WriteString(" (dry run: nothing is changed)")
	}
	if st.Error != "" {
		fmt.Fprintf(&b, "; failing (%d in a row, retrying): %s", st.Failures, st.Error)
	}
	return b.String()
}

// flagSamples are the rollout's flag changes as alert samples, 1 each:
// rollout_stepped per step the flag has reached (feature "step 2/4", so
// each step is its own alert, announced once), rollout_rolled_back once
// driftwatch has rolled it back. They come from the flag as last read,
// so a restart announces nothing again.
func (s *Service) flagSamples(m *model) []alerting.Sample {
	ro := m.ro
	if ro.flag == nil {
		return nil
	}
	st := ro.flag.Status()
	if !st.Known {
		return nil
	}
	sample := func(stat vocab.Statistic, feature, reason string) alerting.Sample {
		return alerting.Sample{Model: m.name, Version: ro.cand.name, Feature: feature, Statistic: stat, Value: 1, Samples: math.Inf(1),
			Labels:      map[string]string{"stable": ro.stable.name, "candidate": ro.cand.name, "mode": string(ro.cfg.Mode)},
			Annotations: map[string]string{"flag": st.Provider, "reason": reason}}
	}
	var out []alerting.Sample
	if st.RolledBack {
		return append(out, sample(vocab.RolloutRolledBack, "", fmt.Sprintf("the flag is set to 0%%%s", map[bool]string{true: " and off", false: ""}[!st.Enabled])))
	}
	ramp := ro.rampSteps
	for i := 1; i <= st.Step && i <= len(ramp); i++ {
		out = append(out, sample(vocab.RolloutStepped, fmt.Sprintf("step %d/%d", i, len(ramp)), fmt.Sprintf("the flag reached %d%% (step %d of %d)", ramp[i-1], i, len(ramp))))
	}
	return out
}

// startFlags starts the flag controllers.
func (s *Service) startFlags() {
	for _, m := range s.rolloutModels() {
		if m.ro.flag != nil {
			m.ro.flag.Start()
		}
	}
}

// closeFlags stops the flag controllers, waiting for a change in flight
// within ctx.
func (s *Service) closeFlags(ctx context.Context) {
	for _, m := range s.rolloutModels() {
		if m.ro.flag != nil {
			if err := m.ro.flag.Close(ctx); err != nil {
				s.log.Warn("service: flag controller", "model", m.name, "err", err)
			}
		}
	}
}
