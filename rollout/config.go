package rollout

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// Mode is how the candidate sees traffic.
type Mode string

const (
	// Canary: the candidate serves a share of the requests.
	Canary Mode = "canary"
	// Shadow: the candidate scores the stable version's requests without
	// serving them; its predictions are paired with stable's by request id.
	Shadow Mode = "shadow"
)

// Metric is what a criterion compares.
type Metric string

// Metrics a criterion can compare. Quality metrics are over joined
// outcomes: accuracy, F1 (the positive class) and AUC for classification,
// MAE and RMSE for regression.
const (
	Accuracy   Metric = "accuracy"
	F1         Metric = "f1"
	AUC        Metric = "auc"
	MAE        Metric = "mae"
	RMSE       Metric = "rmse"
	LatencyP95 Metric = "latency_p95" // milliseconds, from the latency histogram
	ErrorRate  Metric = "error_rate"  // failed predictions over events
)

// metrics lists every Metric with its direction.
var metrics = []struct {
	m            Metric
	higherBetter bool
}{
	{Accuracy, true}, {F1, true}, {AUC, true}, {MAE, false}, {RMSE, false}, {LatencyP95, false}, {ErrorRate, false},
}

// HigherIsBetter tells the metric's direction; ok is false for an unknown
// metric.
func (m Metric) HigherIsBetter() (higher, ok bool) {
	for _, x := range metrics {
		if x.m == m {
			return x.higherBetter, true
		}
	}
	return false, false
}

// Criterion is one condition the candidate must meet, relative to stable:
//
//	higher is better (accuracy, f1, auc): candidate ≥ Ratio × stable − Tolerance
//	lower is better (mae, rmse, latency_p95, error_rate): candidate ≤ Ratio × stable + Tolerance
//
// Tolerance is absolute (in the metric's unit: milliseconds for latency);
// Ratio is relative, 0 meaning 1. "Accuracy within 0.02" is {accuracy,
// tolerance 0.02}; "p95 latency at most 10% slower" is {latency_p95, ratio
// 1.1}. Both may be set: a ratio on a rate near zero can never be shown to
// hold, and a small tolerance beside it can (error rate ≤ 1.2 × stable +
// 0.001).
type Criterion struct {
	Metric    Metric  `yaml:"metric"`
	Tolerance float64 `yaml:"tolerance"`
	Ratio     float64 `yaml:"ratio"`
}

// ratio is Ratio with 0 meaning 1.
func (c Criterion) ratio() float64 {
	if c.Ratio == 0 {
		return 1
	}
	return c.Ratio
}

// Limit is the value the candidate must reach (higher is better) or stay
// within (lower is better), given stable's value.
func (c Criterion) Limit(stable float64) float64 {
	if higher, _ := c.Metric.HigherIsBetter(); higher {
		return c.ratio()*stable - c.Tolerance
	}
	return c.ratio()*stable + c.Tolerance
}

// String is the criterion as a condition, e.g. "accuracy ≥ stable − 0.02".
func (c Criterion) String() string {
	higher, _ := c.Metric.HigherIsBetter()
	op, sign := "≤", "+"
	if higher {
		op, sign = "≥", "−"
	}
	s := fmt.Sprintf("%s %s ", c.Metric, op)
	if r := c.ratio(); r != 1 {
		s += fmt.Sprintf("%g × ", r)
	}
	s += "stable"
	if c.Tolerance != 0 {
		s += fmt.Sprintf(" %s %g", sign, c.Tolerance)
	}
	return s
}

// Config is a model's rollout: which version is stable, which is the
// candidate, and what the candidate must show before it is promoted. The
// service's model config embeds it; DefaultConfig holds the defaults.
type Config struct {
	Stable    string      `yaml:"stable"`
	Candidate string      `yaml:"candidate"`
	Mode      Mode        `yaml:"mode"`
	Criteria  []Criterion `yaml:"criteria"`
	// No verdict but "continue" before the rollout has run this long,
	// whatever the data: a canary must see a full traffic cycle's worth
	// of request mix, not only the first minutes' volume.
	MinPeriod time.Duration `yaml:"min_period"`
	// MaxPeriod ends a rollout that has not decided after this much
	// observed time as Inconclusive, with its numbers: a candidate too
	// close to its limits to tell apart never holds the rollout open for
	// ever. Zero means no maximum.
	MaxPeriod time.Duration `yaml:"max_period"`
	// A criterion is decided only once each arm has this many
	// observations of it: outcomes for quality metrics, events with a
	// latency for latency_p95, events for error_rate.
	MinSamples int `yaml:"min_samples"`
	// Alpha bounds the probability that a rollout whose candidate meets
	// every criterion is rolled back, and that one whose candidate misses
	// one is promoted, however often the service evaluates (see the
	// package doc).
	Alpha float64 `yaml:"alpha"`
	// Start is when the rollout began, in event time; zero: at the
	// candidate's first event. Compare does not use it: the caller counts
	// both arms from it and passes the time observed since.
	Start time.Time `yaml:"start"`
}

// DefaultConfig is the usual written-down policy: quality at most 0.02
// below stable, p95 latency at most 10% above it, error rate at most 20%
// above it, over at least 30 minutes and 1000 observations per arm, with
// alpha 0.05. The quality metric is accuracy; a regression model's rollout
// names mae or rmse instead. Stable and Candidate are left empty.
func DefaultConfig() Config {
	return Config{
		Mode: Canary,
		Criteria: []Criterion{
			{Metric: Accuracy, Tolerance: 0.02},
			{Metric: LatencyP95, Ratio: 1.1},
			{Metric: ErrorRate, Ratio: 1.2},
		},
		MinPeriod:  30 * time.Minute,
		MinSamples: 1000,
		Alpha:      0.05,
	}
}

// Validate checks the config; errors name the field and quote the bad
// value. It changes nothing: defaults come from DefaultConfig.
func (c *Config) Validate() error {
	switch {
	case c.Stable == "":
		return fmt.Errorf("rollout: stable: a version is required")
	case c.Candidate == "":
		return fmt.Errorf("rollout: candidate: a version is required")
	case c.Stable == c.Candidate:
		return fmt.Errorf("rollout: candidate: %q is also the stable version", c.Candidate)
	}
	if c.Mode != Canary && c.Mode != Shadow {
		return fmt.Errorf("rollout: mode: %q is neither %q nor %q", c.Mode, Canary, Shadow)
	}
	return c.validateCriteria()
}

// validateCriteria checks what Compare uses: everything but the names and
// the mode.
func (c *Config) validateCriteria() error {
	if len(c.Criteria) == 0 {
		return fmt.Errorf("rollout: criteria: at least one is required")
	}
	seen := map[Metric]bool{}
	for i, cr := range c.Criteria {
		higher, ok := cr.Metric.HigherIsBetter()
		if !ok {
			return fmt.Errorf("rollout: criteria[%d].metric: unknown metric %q (one of %s)", i, cr.Metric, metricNames())
		}
		if seen[cr.Metric] {
			return fmt.Errorf("rollout: criteria[%d].metric: %q appears twice", i, cr.Metric)
		}
		seen[cr.Metric] = true
		if !(cr.Tolerance >= 0) || math.IsInf(cr.Tolerance, 1) {
			return fmt.Errorf("rollout: criteria[%d].tolerance: %g is not a finite number ≥ 0", i, cr.Tolerance)
		}
		r := cr.Ratio
		switch {
		case r == 0:
		case higher && !(r > 0 && r <= 1):
			return fmt.Errorf("rollout: criteria[%d].ratio: %g for %s, where higher is better, must be in (0, 1]", i, r, cr.Metric)
		case !higher && !(r >= 1 && !math.IsInf(r, 1)):
			return fmt.Errorf("rollout: criteria[%d].ratio: %g for %s, where lower is better, must be a finite number ≥ 1", i, r, cr.Metric)
		}
	}
	if c.MinPeriod < 0 {
		return fmt.Errorf("rollout: min_period: %s is negative", c.MinPeriod)
	}
	if c.MaxPeriod < 0 || c.MaxPeriod != 0 && c.MaxPeriod <= c.MinPeriod {
		return fmt.Errorf("rollout: max_period: %s must be 0 (no maximum) or longer than min_period %s", c.MaxPeriod, c.MinPeriod)
	}
	if c.MinSamples < 1 {
		return fmt.Errorf("rollout: min_samples: %d, want at least 1", c.MinSamples)
	}
	if !(c.Alpha > 0 && c.Alpha < 1) {
		return fmt.Errorf("rollout: alpha: %g is not in (0, 1)", c.Alpha)
	}
	return nil
}

// metricNames lists the metrics a criterion can name, for errors.
func metricNames() string {
	names := make([]string, len(metrics))
	for i, m := range metrics {
		names[i] = string(m.m)
	}
	return strings.Join(names, ", ")
}
