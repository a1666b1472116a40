package calibrate

import (
	"fmt"
	"io"
	"strings"
	"time"

	"driftwatch/alerting"
	"driftwatch/profile"
	"driftwatch/vocab"
)

// TableOptions describe the README's detection-power table: a synthetic
// model (Synthetic: 16 numeric and 4 categorical features), calibrated for
// each window size at one event rate, and shifts of one numeric and one
// categorical feature.
type TableOptions struct {
	Rate      float64           // events per second
	Windows   []int             // window sizes in events (at Rate)
	Shifts    []Shift           // numeric shifts apply to x01, share shifts to c01
	Stats     []vocab.Statistic // calibrated together
	Budget    alerting.Budget
	Rows      int    // reference rows
	Seed      uint64 // the model's and the calibrations'
	Alerts    float64
	Sims      int // per row
	PowerSeed uint64
}

// DefaultTable is the README's table.
func DefaultTable() TableOptions {
	return TableOptions{Rate: 10, Windows: []int{1000, 10000, 100000},
		Shifts: []Shift{{Kind: "mean", Size: 0.05}, {Kind: "mean", Size: 0.1}, {Kind: "mean", Size: 0.25},
			{Kind: "variance", Size: 1.2}, {Kind: "share", Category: "b", Size: 0.05}},
		Stats: []vocab.Statistic{vocab.PSI, vocab.KS, vocab.ChiSquareP}, Budget: alerting.DefaultBudget, Rows: 200000, Seed: 1,
		Alerts: 100, Sims: 2000, PowerSeed: 2}
}

// TableWindow is one window size's calibration and its rows.
type TableWindow struct {
	Events      int
	Calibration *profile.Calibration
	// FalseAlarms is the alert count of a no-drift simulation on a seed
	// apart from the calibration's, over Evaluated time; Budgeted what the
	// budget allows over that time.
	FalseAlarms, Budgeted float64
	Evaluated             time.Duration
	Rows                  []*Power
}

// Table is the detection-power table.
type Table struct {
	Options TableOptions
	Windows []*TableWindow
}

// TableModel is the profile the table is measured on.
func TableModel(opt TableOptions) (*profile.Profile, error) {
	return Synthetic(16, 4, opt.Rows, opt.Seed)
}

// WindowOptions are the calibration options of a window of events at the
// table's rate: 20 panes, one evaluation per pane.
func (opt TableOptions) WindowOptions(events int) Options {
	window := time.Duration(float64(events) / opt.Rate * float64(time.Second)).Round(20 * time.Millisecond)
	pane := window / 20
	return Options{Rate: opt.Rate, Window: window, Pane: pane, EvaluateEvery: pane, MinSamples: 500,
		Budgets: []alerting.Budget{opt.Budget}, Statistics: opt.Stats, Null: NullPopulation, Alerts: opt.Alerts, Seed: opt.Seed}
}

// MeasureTable calibrates the model for each window size, checks the false
// alarms on a new seed, and measures every shift; progress (with timings)
// goes to log.
func MeasureTable(opt TableOptions, log io.Writer) (*Table, error) {
	p, err := TableModel(opt)
	if err != nil {
		return nil, err
	}
	t := &Table{Options: opt}
	for _, events := range opt.Windows {
		start := time.Now()
		o := opt.WindowOptions(events)
		c, err := Calibrate(p, o)
		if err != nil {
			return nil, err
		}
		p.Calibration = c
		fmt.Fprintf(log, "window %d events (%s, pane %s): calibrated in %.1fs, level %.3g\n", events, o.Window, o.Pane, time.Since(start).Seconds(), c.Levels[0].Alpha)
		w := &TableWindow{Events: events, Calibration: c}
		w.FalseAlarms, w.Evaluated, err = MeasureFalseAlarms(p, &c.Levels[0], c.Simulated, opt.Seed+1000)
		if err != nil {
			return nil, err
		}
		w.Budgeted = opt.Budget.Rate() * w.Evaluated.Seconds()
		for _, s := range opt.Shifts {
			feature := "x01"
			if s.Kind == "share" {
				feature = "c01"
			}
			start := time.Now()
			pw, err := MeasurePower(p, &c.Levels[0], feature, s, PowerOptions{Sims: opt.Sims, Seed: opt.PowerSeed})
			if err != nil {
				return nil, err
			}
			fmt.Fprintf(log, "  %s: %.1fs\n", s, time.Since(start).Seconds())
			w.Rows = append(w.Rows, pw)
		}
		t.Windows = append(t.Windows, w)
	}
	return t, nil
}

// Markdown writes the table as the README shows it.
func (t *Table) Markdown(w io.Writer) {
	fmt.Fprintf(w, "| window | shift | alert within one window: PSI | KS / χ² p | either | median time to detect | reproduce |\n")
	fmt.Fprintf(w, "| --- | --- | ---: | ---: | ---: | ---: | --- |\n")
	for _, tw := range t.Windows {
		for _, r := range tw.Rows {
			other := r.WithinWindow[vocab.KS]
			if r.Shift.Kind == "share" {
				other = r.WithinWindow[vocab.ChiSquareP]
			}
			med := "> " + dur(10*tw.Calibration.Window)
			if m := r.Median; m <= 10*tw.Calibration.Window {
				med = dur(m)
			}
			fmt.Fprintf(w, "| %s events (%s) | %s | %s | %s | %s | %s | `-windows %d -shifts %s` |\n",
				thousands(tw.Events), dur(tw.Calibration.Window), r.Shift, pct(r.WithinWindow[vocab.PSI]), pct(other),
				pct(r.WithinWindow["any"]), med, tw.Events, r.Shift.flag())
		}
	}
}

// Summary writes each window's thresholds and false-alarm check.
func (t *Table) Summary(w io.Writer) {
	for _, tw := range t.Windows {
		c := tw.Calibration
		l := c.Levels[0]
		fmt.Fprintf(w, "%s events: window %s, pane and evaluation every %s; thresholds for %s: PSI %.4g (x01), %.4g (c01), KS %.4g, χ² p %.3g; no-drift check on a new seed: %.0f false alerts in %s where the budget allows %.1f\n",
			thousands(tw.Events), dur(c.Window), dur(c.Pane), alerting.Budget{Alerts: l.Alerts, Per: l.Per},
			l.Thresholds[vocab.PSI]["x01"], l.Thresholds[vocab.PSI]["c01"], l.Thresholds[vocab.KS]["x01"], l.Thresholds[vocab.ChiSquareP]["c01"],
			tw.FalseAlarms, dur(tw.Evaluated.Round(time.Hour)), tw.Budgeted)
	}
}

func (s Shift) flag() string {
	if s.Kind == "share" {
		return fmt.Sprintf("share:%s:%g", s.Category, s.Size)
	}
	return fmt.Sprintf("%s:%g", s.Kind, s.Size)
}

func pct(x float64) string {
	switch {
	case x >= 0.9995:
		return "100%"
	case x < 0.0005:
		return "0%"
	case x < 0.01:
		return fmt.Sprintf("%.1f%%", 100*x)
	}
	return fmt.Sprintf("%.0f%%", 100*x)
}

func thousands(n int) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
