package calibrate

import (
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"driftwatch/alerting"
	"driftwatch/config"
	"driftwatch/profile"
	"driftwatch/vocab"
)

// Thresholds are a model version's calibrated thresholds, as the alerting
// engine asks for them (alerting.AutoThresholds).
type Thresholds struct {
	cal *profile.Calibration
}

// Threshold returns the threshold of a statistic and feature for budget b.
func (t *Thresholds) Threshold(statistic vocab.Statistic, feature string, b alerting.Budget) (float64, bool) {
	if t == nil {
		return 0, false
	}
	l := t.cal.Level(b.Alerts, b.Per)
	if l == nil {
		return 0, false
	}
	x, ok := l.Thresholds[statistic][feature]
	return x, ok
}

// Resolve checks that the profile of a model version (loaded from file) is
// calibrated for every `threshold: auto` rule that applies to the version,
// and returns its thresholds, or nil when no such rule applies. A missing
// calibration, statistic or budget is an error that says what to run; a
// model whose window, evaluation interval, min_samples or PSI epsilon
// differ from what the profile was calibrated for gets warnings (the
// thresholds still apply, but the false-alarm rate will not be the budget).
func Resolve(p *profile.Profile, file string, m *config.Model, version string, rules []alerting.Rule) (*Thresholds, []string, error) {
	var auto []*alerting.Rule
	for i := range rules {
		r := &rules[i]
		if r.Threshold == alerting.ThresholdAuto && globMatch(r.Model, m.Name) && globMatch(r.Version, version) {
			auto = append(auto, r)
		}
	}
	if len(auto) == 0 {
		return nil, nil, nil
	}
	c := p.Calibration
	var stats []vocab.Statistic
	var budgets []alerting.Budget
	for _, r := range auto {
		if !slices.Contains(stats, r.Statistic) {
			stats = append(stats, r.Statistic)
		}
		for _, b := range []*alerting.Budget{r.FalseAlarms.Critical, r.FalseAlarms.Warning} {
			if b != nil && !slices.ContainsFunc(budgets, func(x alerting.Budget) bool { return x.Rate() == b.Rate() }) {
				budgets = append(budgets, *b)
			}
		}
	}
	for _, r := range auto {
		var missing string
		switch {
		case c == nil:
			missing = "has no false-alarm calibration"
		case !slices.Contains(c.Statistics, r.Statistic):
			missing = fmt.Sprintf("is calibrated for %s, not %s", vocab.Join(c.Statistics, ", "), r.Statistic)
		default:
			for _, b := range []*alerting.Budget{r.FalseAlarms.Critical, r.FalseAlarms.Warning} {
				if b != nil && c.Level(b.Alerts, b.Per) == nil {
					missing = fmt.Sprintf("has no thresholds for a budget of %s", b)
					break
				}
			}
		}
		if missing != "" {
			if c != nil { // keep what it was calibrated for
				for _, s := range c.Statistics {
					if !slices.Contains(stats, s) {
						stats = append(stats, s)
					}
				}
			}
			return nil, nil, fmt.Errorf("profile %q %s, which rule %q (threshold: auto) needs; run: %s",
				file, missing, r.Name, command(file, m, stats, budgets, c))
		}
	}
	var warnings []string
	if diff := differences(c, m, auto); diff != "" {
		warnings = append(warnings, fmt.Sprintf("profile %q was calibrated for %s; false-alarm rates will differ from the budget: run %s",
			file, diff, command(file, m, c.Statistics, budgets, c)))
	}
	return &Thresholds{cal: c}, warnings, nil
}

func globMatch(pattern, s string) bool {
	if pattern == "" {
		return true
	}
	ok, _ := path.Match(pattern, s)
	return ok
}

// differences lists the calibration's settings that the model's differ
// from, "" when none.
func differences(c *profile.Calibration, m *config.Model, auto []*alerting.Rule) string {
	var d []string
	cmp := func(key, calibrated, configured string) {
		if calibrated != configured {
			d = append(d, fmt.Sprintf("%s %s (the model has %s)", key, calibrated, configured))
		}
	}
	if m.Window.Count > 0 {
		d = append(d, fmt.Sprintf("a time window of %s (the model has a count window of %d events)", dur(c.Window), m.Window.Count))
	} else {
		cmp("window", dur(c.Window), dur(m.Window.Length))
		cmp("pane", dur(c.Pane), dur(m.Window.Pane))
	}
	cmp("evaluate_every", dur(c.EvaluateEvery), dur(m.EvaluateEvery))
	for _, r := range auto {
		min := m.MinSamples
		if r.MinSamples > 0 {
			min = r.MinSamples
		}
		cmp("min_samples", strconv.Itoa(c.MinSamples), strconv.Itoa(min))
	}
	cmp("psi_epsilon", strconv.FormatFloat(c.PSIEpsilon, 'g', -1, 64), strconv.FormatFloat(m.Drift.PSIEpsilon, 'g', -1, 64))
	return strings.Join(slices.Compact(d), ", ")
}

// command is the `driftwatch profile calibrate` command line that
// calibrates file for model m's settings, the statistics and budgets; the
// rate comes from an earlier calibration or is left for the user to fill.
func command(file string, m *config.Model, stats []vocab.Statistic, budgets []alerting.Budget, prev *profile.Calibration) string {
	rate := "EVENTS_PER_SECOND"
	if prev != nil {
		rate = strconv.FormatFloat(prev.Rate, 'g', -1, 64)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "driftwatch profile calibrate --profile %s --rate %s", file, rate)
	if m.Window.Count == 0 {
		fmt.Fprintf(&b, " --window %s --pane %s", dur(m.Window.Length), dur(m.Window.Pane))
	}
	fmt.Fprintf(&b, " --evaluate-every %s --min-samples %d", dur(m.EvaluateEvery), m.MinSamples)
	if m.Drift.PSIEpsilon != 1e-4 {
		fmt.Fprintf(&b, " --psi-epsilon %g", m.Drift.PSIEpsilon)
	}
	for _, x := range budgets {
		fmt.Fprintf(&b, " --budget %s", x)
	}
	fmt.Fprintf(&b, " --statistics %s", vocab.Join(stats, ","))
	return b.String()
}

// dur prints a duration without zero units: 1h, 1m30s, 168h.
func dur(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
