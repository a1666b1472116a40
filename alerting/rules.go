package alerting

import (
	"fmt"
	"math"
	"path"
	"slices"
	"sort"
	"strings"
	"time"
)

// Rule says when an alert fires. Model, Version and Feature are glob
// patterns (path.Match: "*", "credit-*"); empty matches everything. A
// statistic that is not per feature ignores Feature.
type Rule struct {
	Name      string `yaml:"name"`
	Model     string `yaml:"model"`
	Version   string `yaml:"version"`
	Feature   string `yaml:"feature"`
	Statistic string `yaml:"statistic"`
	Op        string `yaml:"op"` // ">=" or "<="; empty: the statistic's own direction
	// Warning and Critical thresholds; at least one is required.
	Warning  *float64 `yaml:"warning"`
	Critical *float64 `yaml:"critical"`
	// For is how long the condition must hold before the alert fires;
	// KeepFiringFor how long a firing alert stays firing after it stops
	// holding (against flapping), as in Prometheus rules.
	For           time.Duration `yaml:"for"`
	KeepFiringFor time.Duration `yaml:"keep_firing_for"`
	// MinSamples: no verdict while the window has fewer values (outcomes
	// for quality statistics); 0 takes the model's min_samples.
	MinSamples  int               `yaml:"min_samples"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
	// Actions name the notifiers that get this rule's alerts.
	Actions []string `yaml:"actions"`
}

// Statistics a rule can watch, and whether a high value is the bad side.
// Per-feature statistics come with a feature; the others describe the
// model version (or, for consumer_lag, an input topic, named as Feature).
var statistics = map[string]struct {
	high, perFeature bool
}{
	"psi": {true, true}, "ks": {true, true}, "wasserstein": {true, true}, "jensen_shannon": {true, true},
	"hellinger": {true, true}, "chi_square": {true, true}, "chi_square_p": {false, true},
	"null_rate": {true, true}, "missing_rate": {true, true}, "invalid_rate": {true, true},
	"out_of_range_rate": {true, true}, "unseen_share": {true, true},
	"accuracy": {false, false}, "f1": {false, false}, "auc": {false, false}, "ece": {true, false},
	"mae": {true, false}, "rmse": {true, false}, "high_confidence_share": {true, false},
	"volume": {false, false}, "no_data": {true, false}, "consumer_lag": {true, false},
}

// Statistics lists the statistics rules accept.
func Statistics() []string {
	out := make([]string, 0, len(statistics))
	for s := range statistics {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

// PerFeature reports whether a statistic is computed per feature.
func PerFeature(stat string) bool { return statistics[stat].perFeature }

// Validate checks the rule against the notifier names in use and fills its
// defaults.
func (r *Rule) Validate(notifiers []string) error {
	if r.Name == "" {
		return fmt.Errorf("name is required")
	}
	st, ok := statistics[r.Statistic]
	if !ok {
		return fmt.Errorf("rule %q: unknown statistic %q (one of %s)", r.Name, r.Statistic, strings.Join(Statistics(), ", "))
	}
	switch r.Op {
	case "":
		r.Op = "<="
		if st.high {
			r.Op = ">="
		}
	case ">=", "<=":
	default:
		return fmt.Errorf("rule %q: op must be >= or <=, got %q", r.Name, r.Op)
	}
	if r.Warning == nil && r.Critical == nil {
		return fmt.Errorf("rule %q: needs a warning or a critical threshold", r.Name)
	}
	if r.Warning != nil && r.Critical != nil && r.worse(*r.Warning, *r.Critical) {
		return fmt.Errorf("rule %q: critical %v must be at least as bad as warning %v for op %s", r.Name, *r.Critical, *r.Warning, r.Op)
	}
	for _, p := range []string{r.Model, r.Version, r.Feature} {
		if _, err := path.Match(p, ""); err != nil {
			return fmt.Errorf("rule %q: bad pattern %q: %w", r.Name, p, err)
		}
	}
	if r.For < 0 || r.KeepFiringFor < 0 || r.MinSamples < 0 {
		return fmt.Errorf("rule %q: for, keep_firing_for and min_samples must not be negative", r.Name)
	}
	for _, a := range r.Actions {
		if !slices.Contains(notifiers, a) {
			return fmt.Errorf("rule %q: action %q names no notifier (have %s)", r.Name, a, strings.Join(notifiers, ", "))
		}
	}
	return nil
}

// worse reports whether a is strictly worse than b under the rule's op.
func (r *Rule) worse(a, b float64) bool {
	if r.Op == ">=" {
		return a > b
	}
	return a < b
}

// crosses reports whether v is on the bad side of t.
func (r *Rule) crosses(v, t float64) bool {
	if r.Op == ">=" {
		return v >= t
	}
	return v <= t
}

// judge returns the severity v deserves and the threshold it crossed, or
// "" when it crosses none. NaN crosses nothing: no data is no verdict.
func (r *Rule) judge(v float64) (string, float64) {
	switch {
	case math.IsNaN(v):
	case r.Critical != nil && r.crosses(v, *r.Critical):
		return SeverityCritical, *r.Critical
	case r.Warning != nil && r.crosses(v, *r.Warning):
		return SeverityWarning, *r.Warning
	}
	return "", 0
}

func match(pattern, s string) bool {
	if pattern == "" {
		return true
	}
	ok, _ := path.Match(pattern, s)
	return ok
}

// matches reports whether the rule applies to the sample.
func (r *Rule) matches(s *Sample) bool {
	if s.Statistic != r.Statistic || !match(r.Model, s.Model) || !match(r.Version, s.Version) {
		return false
	}
	return !statistics[r.Statistic].perFeature && r.Statistic != "consumer_lag" || match(r.Feature, s.Feature)
}

// Sample is one statistic of one model version (and feature, or input topic
// for consumer_lag) at one evaluation.
type Sample struct {
	Model, Version, Feature, Statistic string
	Value                              float64 // NaN: not computable now (no verdict)
	// Samples is how many values or outcomes stand behind Value (+Inf for
	// statistics where that does not apply); MinSamples is the model's
	// default minimum.
	Samples, MinSamples    float64
	WindowStart, WindowEnd time.Time
}
