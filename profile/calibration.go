package profile

import (
	"errors"
	"fmt"
	"math"
	"time"

	"driftwatch/vocab"
)

// Calibration caches what `driftwatch profile calibrate` found for this
// reference: per-feature thresholds for alert rules with `threshold: auto`,
// one set per false-alarm budget, and the stream and service settings they
// assume. Package calibrate computes it; the file stores it in the JSON
// header, so profiles without it load as before and older driftwatch
// versions load calibrated profiles (they ignore the key).
type Calibration struct {
	// What the thresholds assume: the event rate (events per second), the
	// window and its panes, the evaluation interval, min_samples and the PSI
	// epsilon, and the null model ("population": the reference is a sample
	// of the population the events come from; "reference": events are drawn
	// from the reference itself).
	Rate          float64       `json:"rate"`
	Window        time.Duration `json:"window"`
	Pane          time.Duration `json:"pane"`
	EvaluateEvery time.Duration `json:"evaluate_every"`
	MinSamples    int           `json:"min_samples"`
	PSIEpsilon    float64       `json:"psi_epsilon"`
	Null          string        `json:"null"`
	// Statistics were calibrated together: a budget covers alerts on all of
	// them and on every feature.
	Statistics []vocab.Statistic `json:"statistics"`
	// Simulated is the evaluated stream time simulated per feature; Seed
	// makes the run repeatable.
	Simulated time.Duration `json:"simulated"`
	Seed      uint64        `json:"seed"`
	Levels    []Level       `json:"levels"`
}

// Level is the thresholds for one budget: at most Alerts false alerts per
// Per, summed over features and statistics, with no drift.
type Level struct {
	Alerts float64       `json:"alerts"`
	Per    time.Duration `json:"per"`
	// Alpha is the per-evaluation significance level every feature's
	// statistic is held to (see package calibrate).
	Alpha float64 `json:"alpha"`
	// SimulatedAlerts is how many false alerts the thresholds gave in the
	// simulation (about Alerts × Simulated / Per), StdErr the relative
	// standard error of that rate.
	SimulatedAlerts float64 `json:"simulated_alerts"`
	StdErr          float64 `json:"std_err"`
	// Thresholds by statistic, then feature.
	Thresholds map[vocab.Statistic]map[string]float64 `json:"thresholds"`
}

// Rate is the level's budget in false alerts per second.
func (l *Level) Rate() float64 { return l.Alerts / l.Per.Seconds() }

// Level returns the level calibrated for a budget of alerts per per, or
// nil. Budgets are compared as rates, so 1/24h is 7/168h.
func (c *Calibration) Level(alerts float64, per time.Duration) *Level {
	if c == nil || per <= 0 {
		return nil
	}
	want := alerts / per.Seconds()
	for i := range c.Levels {
		if l := &c.Levels[i]; math.Abs(l.Rate()-want) <= 1e-9*want {
			return l
		}
	}
	return nil
}

func (c *Calibration) validate() error {
	if !(c.Rate > 0) || c.Pane <= 0 || c.Window < c.Pane || c.EvaluateEvery <= 0 {
		return errors.New("calibration has a bad rate, window, pane or evaluation interval")
	}
	for i, l := range c.Levels {
		if !(l.Alerts > 0) || l.Per <= 0 {
			return fmt.Errorf("calibration level %d has budget %v/%s", i, l.Alerts, l.Per)
		}
		for stat, byFeature := range l.Thresholds {
			for f, t := range byFeature {
				if math.IsNaN(t) {
					return fmt.Errorf("calibration level %d: %s threshold of %q is NaN", i, stat, f)
				}
			}
		}
	}
	return nil
}
