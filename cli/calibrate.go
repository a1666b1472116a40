package cli

import (
	"flag"
	"fmt"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"driftwatch/alerting"
	"driftwatch/calibrate"
	"driftwatch/config"
	"driftwatch/profile"
	"driftwatch/vocab"
)

// runProfileCalibrate implements `profile calibrate`: it simulates the
// service's window on the profile and stores thresholds for rules with
// `threshold: auto` in it.
func runProfileCalibrate(args []string, env Env) error {
	var (
		file, out, cfgPath, model, version, rate, null, statistics string
		opt                                                        calibrate.Options
		budgets                                                    []alerting.Budget
	)
	fs := newFlags("profile calibrate", env)
	fs.StringVar(&file, "profile", "", "profile to calibrate (written back unless --out)")
	fs.StringVar(&out, "out", "", "write the calibrated profile here instead")
	fs.StringVar(&cfgPath, "config", "", "take the window, evaluate_every, min_samples, psi_epsilon, budgets and statistics from this service config")
	fs.StringVar(&model, "model", "", "with --config: the model")
	fs.StringVar(&version, "version", "", "with --config: the model version whose profile to calibrate (default: the only one)")
	fs.StringVar(&rate, "rate", "", "expected events per second of the model version: 50, 50/s, 3000/m, 180000/h (required)")
	d := config.Default().Defaults
	fs.DurationVar(&opt.Window, "window", d.Window.Length, "window length (the model's window.length)")
	fs.DurationVar(&opt.Pane, "pane", d.Window.Pane, "pane length (window.pane)")
	fs.DurationVar(&opt.EvaluateEvery, "evaluate-every", d.EvaluateEvery, "evaluation interval (evaluate_every)")
	fs.IntVar(&opt.MinSamples, "min-samples", d.MinSamples, "no verdict on windows with fewer values (min_samples)")
	fs.Float64Var(&opt.PSIEpsilon, "psi-epsilon", d.Drift.PSIEpsilon, "PSI proportion floor (drift.psi_epsilon)")
	fs.Func("budget", "false-alarm budget ALERTS/DURATION, repeatable (default 1/168h)", func(v string) error {
		b, err := alerting.ParseBudget(v)
		budgets = append(budgets, b)
		return err
	})
	fs.StringVar(&statistics, "statistics", string(vocab.PSI), "statistics calibrated together: "+vocab.Join(alerting.AutoStatistics(), ","))
	fs.StringVar(&null, "null", calibrate.NullPopulation, "population: the reference is a sample of the events' population; reference: events are drawn from the reference")
	fs.Float64Var(&opt.Alerts, "alerts", 30, "false alerts the simulation should see at the strictest budget (precision about 1/sqrt)")
	fs.Uint64Var(&opt.Seed, "seed", 1, "random seed")
	if err := parse(fs, args); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	opt.Statistics, opt.Null, opt.Budgets = statisticsFlag(statistics), null, budgets
	if cfgPath != "" {
		var err error
		if file, err = fromConfig(cfgPath, model, version, file, set, &opt); err != nil {
			return err
		}
	}
	if file == "" || rate == "" {
		return usagef("profile calibrate: --profile (or --config and --model) and --rate are required")
	}
	r, err := parseRate(rate)
	if err != nil {
		return err
	}
	opt.Rate = r
	p, err := profile.Load(file)
	if err != nil {
		return err
	}
	start := time.Now()
	c, err := calibrate.Calibrate(p, opt)
	if err != nil {
		return err
	}
	elapsed := time.Since(start)
	p.Calibration = c
	if out == "" {
		out = file
	}
	if err := p.WriteFile(out); err != nil {
		return err
	}
	printCalibration(env, p, elapsed)
	fmt.Fprintf(env.Stderr, "driftwatch: wrote the calibration to %s\n", out)
	return nil
}

// fromConfig fills the options the command line did not set from a model
// of the service config and its auto rules, and returns the profile path.
func fromConfig(cfgPath, model, version, file string, set map[string]bool, opt *calibrate.Options) (string, error) {
	cfg, err := config.Load(cfgPath)
	if err != nil {
		return "", err
	}
	var m *config.Model
	for i := range cfg.Models {
		if cfg.Models[i].Name == model {
			m = &cfg.Models[i]
		}
	}
	if m == nil {
		return "", usagef("profile calibrate: --model %q is not in %s", model, cfgPath)
	}
	if file == "" {
		var v *config.Version
		for i := range m.Versions {
			if m.Versions[i].Name == version || version == "" && len(m.Versions) == 1 {
				v = &m.Versions[i]
			}
		}
		if v == nil {
			return "", usagef("profile calibrate: name the version of model %q with --version", model)
		}
		file, version = v.Reference, v.Name
		if !filepath.IsAbs(file) {
			file = filepath.Join(cfg.Dir, file)
		}
	}
	if m.Window.Count > 0 {
		return "", usagef("profile calibrate: model %q has a count window; calibration simulates time windows (give --window and --pane)", model)
	}
	fill := func(name string, f func()) {
		if !set[name] {
			f()
		}
	}
	fill("window", func() { opt.Window = m.Window.Length })
	fill("pane", func() { opt.Pane = m.Window.Pane })
	fill("evaluate-every", func() { opt.EvaluateEvery = m.EvaluateEvery })
	fill("min-samples", func() { opt.MinSamples = m.MinSamples })
	fill("psi-epsilon", func() { opt.PSIEpsilon = m.Drift.PSIEpsilon })
	var stats []vocab.Statistic
	var budgets []alerting.Budget
	for _, r := range cfg.Alerting.Rules {
		if r.Threshold != alerting.ThresholdAuto || !glob(r.Model, model) || !glob(r.Version, version) {
			continue
		}
		if !slices.Contains(stats, r.Statistic) {
			stats = append(stats, r.Statistic)
		}
		for _, b := range []*alerting.Budget{r.FalseAlarms.Critical, r.FalseAlarms.Warning} {
			if b != nil && !slices.ContainsFunc(budgets, func(x alerting.Budget) bool { return x.Rate() == b.Rate() }) {
				budgets = append(budgets, *b)
			}
		}
	}
	fill("statistics", func() {
		if len(stats) > 0 {
			opt.Statistics = stats
		}
	})
	fill("budget", func() { opt.Budgets = budgets })
	return file, nil
}

// glob matches like alert rules do; an unknown version (--profile with
// --config) matches every pattern.
func glob(pattern, s string) bool {
	if pattern == "" || s == "" {
		return true
	}
	ok, _ := path.Match(pattern, s)
	return ok
}

// parseRate reads events per second: "50", "50/s", "3000/m", "180000/h".
func parseRate(s string) (float64, error) {
	n, unit, _ := strings.Cut(s, "/")
	x, err := strconv.ParseFloat(n, 64)
	per := map[string]float64{"": 1, "s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}[unit]
	if err != nil || per == 0 || !(x > 0) {
		return 0, usagef("profile calibrate: --rate %q must be events per second or N/s, N/m, N/h", s)
	}
	return x / per, nil
}

// printCalibration writes the levels and each feature's thresholds.
func printCalibration(env Env, p *profile.Profile, elapsed time.Duration) {
	c := p.Calibration
	fmt.Fprintf(env.Stdout, "calibrated %d features for %g events/s, window %s of %s panes, evaluated every %s, min_samples %d, %s null: %s simulated per feature in %.1fs\n",
		len(p.Features), c.Rate, c.Window, c.Pane, c.EvaluateEvery, c.MinSamples, c.Null, c.Simulated, elapsed.Seconds())
	for _, l := range c.Levels {
		b := alerting.Budget{Alerts: l.Alerts, Per: l.Per}
		fmt.Fprintf(env.Stdout, "budget %s: level %.3g per evaluation and feature, %.0f false alerts simulated (±%.0f%%)\n",
			b, l.Alpha, l.SimulatedAlerts, 100*l.StdErr)
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "feature\t")
	for _, l := range c.Levels {
		for _, s := range c.Statistics {
			fmt.Fprintf(tw, "%s @ %s\t", s, alerting.Budget{Alerts: l.Alerts, Per: l.Per})
		}
	}
	fmt.Fprintln(tw)
	for _, f := range p.Features {
		fmt.Fprintf(tw, "%s\t", f.Name)
		for _, l := range c.Levels {
			for _, s := range c.Statistics {
				if t, ok := l.Thresholds[s][f.Name]; ok {
					fmt.Fprintf(tw, "%.4g\t", t)
				} else {
					fmt.Fprint(tw, "–\t")
				}
			}
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
}

// statisticsFlag splits a comma-separated list of statistics; calibrate
// says which it cannot calibrate.
func statisticsFlag(v string) []vocab.Statistic {
	var out []vocab.Statistic
	for _, s := range listFlag(v) {
		out = append(out, vocab.Statistic(s))
	}
	return out
}
