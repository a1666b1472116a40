package alerting

import (
	"fmt"
	"maps"
	"math"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"driftwatch/alerting/notify"
	"driftwatch/vocab"
)

// Rule says when an alert fires. Model, Version and Feature are glob
// patterns (path.Match: "*", "credit-*"); empty matches everything. A
// statistic that is not per feature ignores Feature.
type Rule struct {
	Name      string          `yaml:"name"`
	Model     string          `yaml:"model"`
	Version   string          `yaml:"version"`
	Feature   string          `yaml:"feature"`
	Statistic vocab.Statistic `yaml:"statistic"`
	Op        notify.Op       `yaml:"op"` // ">=" or "<="; empty: the statistic's own direction
	// Warning and Critical thresholds; at least one is required, unless
	// Threshold is "auto".
	Warning  *float64 `yaml:"warning"`
	Critical *float64 `yaml:"critical"`
	// Threshold "auto" takes both thresholds, per feature, from the
	// calibration in the model version's reference profile (`driftwatch
	// profile calibrate`) for the FalseAlarms budgets.
	Threshold   string      `yaml:"threshold"`
	FalseAlarms FalseAlarms `yaml:"false_alarms"`
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
var statistics = map[vocab.Statistic]struct {
	high, perFeature bool
}{
	vocab.PSI: {true, true}, vocab.KS: {true, true}, vocab.Wasserstein: {true, true}, vocab.JS: {true, true},
	vocab.Hellinger: {true, true}, vocab.ChiSquare: {true, true}, vocab.ChiSquareP: {false, true},
	vocab.NullRate: {true, true}, vocab.MissingRate: {true, true}, vocab.InvalidRate: {true, true},
	vocab.OutOfRangeRate: {true, true}, vocab.UnseenShare: {true, true},
	vocab.Accuracy: {false, false}, vocab.F1: {false, false}, vocab.AUC: {false, false}, vocab.ECE: {true, false},
	vocab.MAE: {true, false}, vocab.RMSE: {true, false}, vocab.HighConfidenceShare: {true, false},
	vocab.Volume: {false, false}, vocab.NoData: {true, false}, vocab.ConsumerLag: {true, false},
	// 1 once a model's rollout is decided so, else 0; Version is the
	// candidate.
	vocab.RolloutRollback: {true, false}, vocab.RolloutPromote: {true, false}, vocab.RolloutInconclusive: {true, false},
	// 1 per ramp step a rollout's feature flag has reached (Feature "step
	// 2/4": one alert per step), and once driftwatch has rolled the flag
	// back (package flag).
	vocab.RolloutStepped: {true, false}, vocab.RolloutRolledBack: {true, false},
}

// ThresholdAuto is the Threshold of rules whose thresholds are calibrated.
const ThresholdAuto = "auto"

// autoStatistics can have calibrated thresholds.
var autoStatistics = []vocab.Statistic{vocab.ChiSquare, vocab.ChiSquareP, vocab.Hellinger, vocab.JS, vocab.KS, vocab.PSI}

// AutoStatistics lists the statistics `threshold: auto` accepts.
func AutoStatistics() []vocab.Statistic { return slices.Clone(autoStatistics) }

// FalseAlarms are the budgets of an auto rule's severities: Critical
// defaults to DefaultBudget; without Warning the rule raises no warnings.
type FalseAlarms struct {
	Critical *Budget `yaml:"critical"`
	Warning  *Budget `yaml:"warning"`
}

// DefaultBudget is one false critical alert a week per model version.
var DefaultBudget = Budget{Alerts: 1, Per: 168 * time.Hour}

// Budget is a false-alarm budget, written "1/168h": at most Alerts false
// alerts per Per with no drift.
type Budget struct {
	Alerts float64
	Per    time.Duration
}

// ParseBudget parses "ALERTS/DURATION", e.g. "1/168h" or "0.5/24h".
func ParseBudget(s string) (Budget, error) {
	a, p, ok := strings.Cut(s, "/")
	n, err := strconv.ParseFloat(a, 64)
	if !ok || err != nil || !(n > 0) || math.IsInf(n, 0) {
		return Budget{}, fmt.Errorf("false-alarm budget %q must be ALERTS/DURATION, e.g. 1/168h", s)
	}
	d, err := time.ParseDuration(p)
	if err != nil || d <= 0 {
		return Budget{}, fmt.Errorf("false-alarm budget %q must be ALERTS/DURATION, e.g. 1/168h", s)
	}
	return Budget{Alerts: n, Per: d}, nil
}

// UnmarshalYAML reads "1/168h"; errors name the line.
func (b *Budget) UnmarshalYAML(n *yaml.Node) error {
	v, err := ParseBudget(n.Value)
	if err != nil || n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: false-alarm budget %q must be ALERTS/DURATION, e.g. 1/168h", n.Line, n.Value)
	}
	*b = v
	return nil
}

// String is "1/168h".
func (b Budget) String() string {
	d := b.Per.String()
	for _, zero := range []string{"0s", "0m"} {
		if strings.HasSuffix(d, "m"+zero) || strings.HasSuffix(d, "h"+zero) {
			d = strings.TrimSuffix(d, zero)
		}
	}
	return strconv.FormatFloat(b.Alerts, 'g', -1, 64) + "/" + d
}

// Rate is the budget in alerts per second.
func (b Budget) Rate() float64 { return b.Alerts / b.Per.Seconds() }

// AutoThresholds gives a model version's calibrated thresholds to rules
// with `threshold: auto`; ok is false when it has none for the statistic,
// feature and budget (no verdict).
type AutoThresholds interface {
	Threshold(statistic vocab.Statistic, feature string, b Budget) (t float64, ok bool)
}

// Statistics lists the statistics rules accept.
func Statistics() []vocab.Statistic {
	return slices.Sorted(maps.Keys(statistics))
}

// PerFeature reports whether a statistic is computed per feature.
func PerFeature(stat vocab.Statistic) bool { return statistics[stat].perFeature }

// Validate checks the rule against the notifier names in use and fills its
// defaults.
func (r *Rule) Validate(notifiers []string) error {
	if r.Name == "" {
		return fmt.Errorf("name is required")
	}
	st, ok := statistics[r.Statistic]
	if !ok {
		return fmt.Errorf("rule %q: unknown statistic %q (one of %s)", r.Name, r.Statistic, vocab.Join(Statistics(), ", "))
	}
	switch r.Op {
	case "":
		r.Op = notify.OpAtMost
		if st.high {
			r.Op = notify.OpAtLeast
		}
	case notify.OpAtLeast, notify.OpAtMost:
	default:
		return fmt.Errorf("rule %q: op must be >= or <=, got %q", r.Name, r.Op)
	}
	if err := r.validateAuto(st.high); err != nil {
		return err
	}
	if r.Warning == nil && r.Critical == nil && r.Threshold != ThresholdAuto {
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

// validateAuto checks `threshold: auto` and fills the default budget.
func (r *Rule) validateAuto(high bool) error {
	fa := &r.FalseAlarms
	switch {
	case r.Threshold == "":
		if fa.Critical != nil || fa.Warning != nil {
			return fmt.Errorf("rule %q: false_alarms needs threshold: auto", r.Name)
		}
		return nil
	case r.Threshold != ThresholdAuto:
		return fmt.Errorf("rule %q: threshold must be auto, got %q", r.Name, r.Threshold)
	case r.Warning != nil || r.Critical != nil:
		return fmt.Errorf("rule %q: threshold: auto takes warning and critical from the profile's calibration; remove them", r.Name)
	case !slices.Contains(autoStatistics, r.Statistic):
		return fmt.Errorf("rule %q: threshold: auto works for %s, not %q", r.Name, vocab.Join(autoStatistics, ", "), r.Statistic)
	case high && r.Op != notify.OpAtLeast || !high && r.Op != notify.OpAtMost:
		return fmt.Errorf("rule %q: threshold: auto needs the statistic's own op", r.Name)
	}
	if fa.Critical == nil {
		b := DefaultBudget
		fa.Critical = &b
	}
	if fa.Warning != nil && fa.Warning.Rate() < fa.Critical.Rate() {
		return fmt.Errorf("rule %q: the warning budget %s must allow at least as many alerts as the critical %s", r.Name, fa.Warning, fa.Critical)
	}
	return nil
}

// worse reports whether a is strictly worse than b under the rule's op.
func (r *Rule) worse(a, b float64) bool {
	if r.Op == notify.OpAtLeast {
		return a > b
	}
	return a < b
}

// crosses reports whether v is on the bad side of t.
func (r *Rule) crosses(v, t float64) bool {
	if r.Op == notify.OpAtLeast {
		return v >= t
	}
	return v <= t
}

// judge returns the severity the sample's value deserves and the threshold
// it crossed, or "" when it crosses none. NaN crosses nothing: no data is no
// verdict. An auto rule takes the sample's calibrated thresholds.
func (r *Rule) judge(s *Sample) (notify.Severity, float64) {
	v, warning, critical := s.Value, r.Warning, r.Critical
	if r.Threshold == ThresholdAuto {
		warning, critical = nil, nil
		auto := func(b *Budget) *float64 {
			if b == nil {
				return nil
			}
			if t, ok := s.Auto.Threshold(s.Statistic, s.Feature, *b); ok {
				return &t
			}
			return nil
		}
		if s.Auto != nil {
			warning, critical = auto(r.FalseAlarms.Warning), auto(r.FalseAlarms.Critical)
		}
	}
	switch {
	case math.IsNaN(v):
	case critical != nil && r.crosses(v, *critical):
		return notify.SeverityCritical, *critical
	case warning != nil && r.crosses(v, *warning):
		return notify.SeverityWarning, *warning
	}
	return "", 0
}

// lowest returns the threshold at which the rule starts firing (warning,
// else critical) for the sample s (nil: an auto rule's is unknown).
func (r *Rule) lowest(s *Sample) (float64, bool) {
	warning, critical := r.Warning, r.Critical
	if r.Threshold == ThresholdAuto {
		if s == nil || s.Auto == nil {
			return 0, false
		}
		for _, b := range []*Budget{r.FalseAlarms.Warning, r.FalseAlarms.Critical} {
			if b == nil {
				continue
			}
			if t, ok := s.Auto.Threshold(s.Statistic, s.Feature, *b); ok {
				return t, true
			}
		}
		return 0, false
	}
	if warning != nil {
		return *warning, true
	}
	if critical != nil {
		return *critical, true
	}
	return 0, false
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
	return !statistics[r.Statistic].perFeature && r.Statistic != vocab.ConsumerLag || match(r.Feature, s.Feature)
}

// Sample is one statistic of one model version (and feature, or input topic
// for consumer_lag) at one evaluation.
type Sample struct {
	Model, Version, Feature string
	Statistic               vocab.Statistic
	Value                   float64 // NaN: not computable now (no verdict)
	// Samples is how many values or outcomes stand behind Value (+Inf for
	// statistics where that does not apply); MinSamples is the model's
	// default minimum.
	Samples, MinSamples    float64
	WindowStart, WindowEnd time.Time
	// Auto holds the model version's calibrated thresholds (nil: none).
	Auto AutoThresholds
	// Labels and Annotations are added to the alert's (the rule's own
	// win), e.g. a rollout's stable version and its decision's reason.
	Labels, Annotations map[string]string
}

// AutoThreshold returns the calibrated threshold at which the first
// `threshold: auto` rule that applies to the sample starts firing (its
// warning level, else its critical one); ok is false when no such rule
// applies or the sample has no calibration for it. Verdicts outside the
// rules (the status page, the drift gauge) use it so they agree with the
// alerts.
func AutoThreshold(rules []Rule, s *Sample) (t float64, ok bool) {
	for i := range rules {
		r := &rules[i]
		if r.Threshold != ThresholdAuto || !r.matches(s) {
			continue
		}
		return r.lowest(s)
	}
	return 0, false
}
