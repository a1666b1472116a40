package rollout

import (
	"strings"
	"testing"
	"time"
)

// The three cases, each one simulated rollout evaluated every
// simulated minute with DefaultConfig (30 min, 1000 per arm, alpha 0.05):
// a canary 5 points less accurate is rolled back as soon as the minimum
// period and samples allow and not before; an equal canary is promoted; a
// canary exactly at the tolerance stays undecided at moderate sizes.
func TestScenarios(t *testing.T) {
	worse := base.with(func(s *armSpec) { s.accuracy = 0.85 })
	atLimit := base.with(func(s *armSpec) { s.accuracy = 0.88 })
	fewOutcomes := func(s *armSpec) { s.joinShare = 0.25 }
	tests := []struct {
		name           string
		stable, canary armSpec
		perMinute      int
		minSamples     int
		minutes        int
		// The first decision other than continue must be want, at most
		// late minutes after both min_period and min_samples are reached;
		// before, every verdict is continue and says what it waits for.
		want Decision
		late int
	}{
		// 200 outcomes a minute: 1000 per arm by minute 5, so the period
		// binds, and at 6000 per arm the difference is 5 standard errors.
		{"worse canary, period binds", base, worse, 200, 1000, 60, Rollback, 0},
		// 50 outcomes a minute and min_samples 2000: the samples bind at
		// minute ~40, where the difference is ~2.9 standard errors and the
		// boundary ~3.3, so the rollback follows within minutes.
		{"worse canary, samples bind", base.with(fewOutcomes), worse.with(fewOutcomes), 200, 2000, 120, Rollback, 30},
		// An equal canary must show all three criteria; the error rate
		// (2%, within 1.2×) takes the most events, ~40000 per arm.
		{"equal canary", base.with(fewOutcomes), base.with(fewOutcomes), 2000, 1000, 120, Promote, 30},
		{"canary at the tolerance", base, atLimit, 200, 1000, 60, Continue, 0},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := named()
			cfg.MinSamples = tc.minSamples
			var got Verdict
			at, ready := 0, 0
			rollout(uint64(100+i), tc.stable, tc.canary, [2]int{tc.perMinute, tc.perMinute}, tc.minutes, func(m int, s, c *Arm) bool {
				v := Compare(*s, *c, cfg, time.Duration(m)*time.Minute)
				period := m >= 30
				samples := min(s.Joined, c.Joined) >= float64(tc.minSamples)
				if period && samples && ready == 0 {
					ready = m
				}
				switch {
				case v.Decision != Continue:
					got, at = v, m
					return false
				case !period && !strings.HasPrefix(v.Reason, "waiting: min_period"):
					t.Errorf("minute %d: reason %q, want it to wait for min_period", m, v.Reason)
				case period && !samples && !strings.HasPrefix(v.Reason, "waiting: accuracy (min_samples"):
					t.Errorf("minute %d: reason %q, want it to wait for min_samples", m, v.Reason)
				}
				return true
			})
			if tc.want == Continue {
				if at != 0 {
					t.Fatalf("%s at minute %d: %s", got.Decision, at, got.Reason)
				}
				return
			}
			if got.Decision != tc.want || at < ready || at > ready+tc.late {
				t.Fatalf("%s at minute %d (%s), want %s from minute %d to %d", got.Decision, at, got.Reason, tc.want, ready, ready+tc.late)
			}
			t.Logf("%s at minute %d, min_period and min_samples at %d: %s", got.Decision, at, ready, got.Reason)
		})
	}
}

// At the tolerance the accuracy check itself is undecided, and the reason
// says so with its numbers.
func TestAtToleranceIsUndecided(t *testing.T) {
	cfg := named()
	cfg.Criteria = cfg.Criteria[:1]
	atLimit := base.with(func(s *armSpec) { s.accuracy = 0.88 })
	rollout(7, base, atLimit, [2]int{200, 200}, 60, func(m int, s, c *Arm) bool {
		if m < 60 {
			return true
		}
		v := Compare(*s, *c, cfg, time.Hour)
		if v.Decision != Continue || v.Checks[0].Status != Undecided || !strings.HasPrefix(v.Reason, "undecided: accuracy (candidate ") {
			t.Errorf("at 12000 outcomes per arm: %s, %s: %s", v.Decision, v.Checks[0].Status, v.Reason)
		}
		return false
	})
}

// Every metric, alone in the criteria: a candidate clearly worse on it is
// rolled back, naming it, and an equal one is promoted.
func TestEachMetric(t *testing.T) {
	classifier := base.with(func(s *armSpec) { s.accuracy, s.posRate, s.sep = 0, 0.3, 2 })
	regression := base.with(func(s *armSpec) { s.accuracy, s.errSD = 0, 1 })
	tests := []struct {
		crit          Criterion
		stable, worse armSpec
	}{
		{Criterion{Metric: Accuracy, Tolerance: 0.02}, base, base.with(func(s *armSpec) { s.accuracy = 0.85 })},
		{Criterion{Metric: F1, Tolerance: 0.02}, classifier, classifier.with(func(s *armSpec) { s.sep = 1.6 })},
		{Criterion{Metric: AUC, Tolerance: 0.01}, classifier, classifier.with(func(s *armSpec) { s.sep = 1.6 })},
		{Criterion{Metric: MAE, Ratio: 1.05}, regression, regression.with(func(s *armSpec) { s.errSD = 1.15 })},
		{Criterion{Metric: RMSE, Ratio: 1.05}, regression, regression.with(func(s *armSpec) { s.errSD = 1.15 })},
		{Criterion{Metric: LatencyP95, Ratio: 1.1}, base, base.with(func(s *armSpec) { s.latMedian = 60 })},
		{Criterion{Metric: ErrorRate, Ratio: 1.2}, base, base.with(func(s *armSpec) { s.errRate = 0.03 })},
	}
	for i, tc := range tests {
		for _, worse := range []bool{true, false} {
			canary, want := tc.stable, Promote
			if worse {
				canary, want = tc.worse, Rollback
			}
			cfg := named()
			cfg.Criteria = []Criterion{tc.crit}
			var v Verdict
			at := 0
			rollout(uint64(200+i), tc.stable, canary, [2]int{500, 500}, 120, func(m int, s, c *Arm) bool {
				v, at = Compare(*s, *c, cfg, time.Duration(m)*time.Minute), m
				return v.Decision == Continue
			})
			if v.Decision != want || !strings.HasPrefix(v.Reason, string(tc.crit.Metric)) && want == Rollback {
				t.Errorf("%s, worse %v: %s after %d minutes (%s), want %s", tc.crit, worse, v.Decision, at, v.Reason, want)
				continue
			}
			t.Logf("%s, worse %v: %s after %d minutes: %s", tc.crit, worse, v.Decision, at, v.Reason)
		}
	}
}
