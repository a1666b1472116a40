package cli

import (
	"bytes"
	"cmp"
	"fmt"
	"io"
	"math"
	"os"
	"slices"

	"driftwatch/config"
	"driftwatch/dataset"
	"driftwatch/detectors"
	"driftwatch/multivariate"
	"driftwatch/profile"
	"driftwatch/report"
	"driftwatch/vocab"
)

// checkOptions are the flags of `driftwatch check`.
type checkOptions struct {
	Reference, Current, Config string
	InputFormat                string
	Label, Prediction, Score   string
	Task                       vocab.Task
	Positive                   string
	Categorical                []string
	Require                    []string
	Format, Out                string
	DriftShare                 float64
	Chunking                   detectors.Chunking
}

func runCheck(args []string, env Env) (int, error) {
	var o checkOptions
	fs := newFlags("check", env)
	fs.StringVar(&o.Reference, "reference", "", "reference data (CSV, Parquet, Arrow IPC, JSON Lines) or a profile file")
	fs.StringVar(&o.Current, "current", "", "current data (CSV, Parquet, Arrow IPC, JSON Lines)")
	fs.StringVar(&o.Config, "config", "", "YAML file with thresholds and per-feature overrides")
	fs.StringVar(&o.InputFormat, "input-format", "", "csv, parquet, arrow or jsonl (default: by file extension)")
	fs.StringVar(&o.Label, "label", "", "label column of the current data (enables quality metrics)")
	fs.StringVar(&o.Prediction, "prediction", "", "prediction column")
	fs.StringVar(&o.Score, "score", "", "score column: probability of the positive class (binary)")
	fs.StringVar((*string)(&o.Task), "task", "", "classification or regression (default: inferred from the label)")
	fs.StringVar(&o.Positive, "positive", "", "positive class for scores (default: the larger of two class names)")
	fs.Func("categorical", "comma-separated columns to treat as categorical", func(v string) error {
		o.Categorical = append(o.Categorical, listFlag(v)...)
		return nil
	})
	fs.Func("require", "quality gate such as 'f1_macro>=0.85' (repeatable)", func(v string) error {
		o.Require = append(o.Require, v)
		return nil
	})
	fs.StringVar(&o.Format, "format", "json", "report format: json, markdown or html")
	fs.StringVar(&o.Out, "out", "", "write the report to this file instead of stdout")
	fs.Float64Var(&o.DriftShare, "drift-share", 0, "report drift only when at least this share of features drifts")
	fs.IntVar(&o.Chunking.Size, "chunk-size", 0, "split reference and current data into chunks of this many rows (multivariate drift per chunk)")
	fs.IntVar(&o.Chunking.Count, "chunks", 0, "split reference and current data into this many chunks each")
	if err := parse(fs, args); err != nil {
		return ExitUsage, err
	}
	if o.Reference == "" || o.Current == "" {
		return ExitUsage, usagef("check: --reference and --current are required")
	}
	return check(o, env)
}

func check(o checkOptions, env Env) (int, error) {
	if o.Format != "json" && o.Format != "markdown" && o.Format != "md" && o.Format != "html" {
		return ExitUsage, usagef("check: unknown --format %q (want json, markdown or html)", o.Format)
	}
	switch o.Task {
	case detectors.TaskAuto, vocab.TaskClassification, vocab.TaskRegression:
	default:
		return ExitUsage, usagef("check: unknown --task %q (want classification or regression)", o.Task)
	}
	if o.Label == "" && (o.Prediction != "" || o.Score != "") {
		return ExitUsage, usagef("check: --prediction and --score need --label")
	}
	if o.DriftShare < 0 || o.DriftShare > 1 {
		return ExitUsage, usagef("check: --drift-share must be in [0, 1], got %g", o.DriftShare)
	}
	if o.Chunking.Size < 0 || o.Chunking.Count < 0 || o.Chunking.Size > 0 && o.Chunking.Count > 0 {
		return ExitUsage, usagef("check: --chunk-size and --chunks take a positive number and exclude each other, got %d and %d", o.Chunking.Size, o.Chunking.Count)
	}
	gates, err := parseGates(o.Require)
	if err != nil {
		return ExitUsage, err
	}
	cfg := detectors.DefaultConfig()
	if o.Config != "" {
		if cfg, err = config.LoadCheck(o.Config); err != nil {
			return ExitUsage, err
		}
	}
	if o.DriftShare > 0 {
		cfg.DriftShare = o.DriftShare
	}
	// Outcome columns are not features.
	if cfg.Features == nil {
		cfg.Features = map[string]detectors.FeatureConfig{}
	}
	for _, c := range append([]string{o.Label, o.Prediction}, scoreColumns(o.Score)...) {
		if c != "" {
			fc := cfg.Features[c]
			fc.Ignore = true
			cfg.Features[c] = fc
		}
	}
	kinds := map[string]dataset.Kind{}
	for name, fc := range cfg.Features {
		switch fc.Kind {
		case "numeric":
			kinds[name] = dataset.KindNumeric
		case "categorical":
			kinds[name] = dataset.KindCategorical
		}
	}
	for _, c := range o.Categorical {
		kinds[c] = dataset.KindCategorical
	}

	ref, err := loadReference(o.Reference, o.InputFormat, kinds, cfg)
	if err != nil {
		return ExitUsage, err
	}
	// The current data is read with the reference's kinds, so a value that
	// does not parse in a numeric feature is counted, not re-typed.
	for _, f := range ref.Features {
		if f.Kind == profile.Numeric {
			kinds[f.Name] = dataset.KindNumeric
		} else {
			kinds[f.Name] = dataset.KindCategorical
		}
	}
	cur, err := dataset.Read(o.Current, dataset.Options{Format: o.InputFormat, Kinds: kinds})
	if err != nil {
		return ExitUsage, err
	}
	return finish(ref, cur, cfg, o, gates, env)
}

func parseGates(exprs []string) ([]detectors.Gate, error) {
	var gates []detectors.Gate
	for _, expr := range exprs {
		g, err := detectors.ParseGate(expr)
		if err != nil {
			return nil, err
		}
		gates = append(gates, g)
	}
	return gates, nil
}

// finish compares, computes quality and gates, and writes the report.
func finish(ref *profile.Profile, cur *dataset.Table, cfg detectors.Config, o checkOptions, gates []detectors.Gate, env Env) (int, error) {
	r := detectors.Compare(ref, cur, cfg)
	if err := detectors.CompareMultivariate(r, ref, cur, cfg, o.Chunking); err != nil {
		return ExitUsage, fmt.Errorf("check: %w", err)
	}
	if o.Label != "" {
		var q *detectors.Quality
		var err error
		if cur.Column(o.Label) == nil && o.Score != "" && o.Prediction != "" {
			q, err = estimatedQuality(ref, cur, o)
		} else {
			q, err = detectors.ComputeQuality(cur, detectors.QualityColumns{
				Label: o.Label, Prediction: o.Prediction, Score: o.Score, Task: o.Task, Positive: o.Positive})
		}
		if err != nil {
			return ExitUsage, err
		}
		r.Quality = q
	}
	pass := detectors.ApplyGates(r, gates)

	var w io.Writer = env.Stdout
	var buf bytes.Buffer
	if o.Out != "" {
		w = &buf
	}
	if err := report.Write(w, r, o.Format); err != nil {
		return ExitUsage, err
	}
	if o.Out != "" {
		if err := os.WriteFile(o.Out, buf.Bytes(), 0o644); err != nil {
			return ExitUsage, fmt.Errorf("check: cannot write report: %w", err)
		}
	}
	if r.DriftDetected || !pass {
		return ExitDrift, nil
	}
	return ExitOK, nil
}

// loadReference returns the reference profile: loaded when path is a
// profile file, built in memory from raw data otherwise. Both paths give
// identical results when the profile holds the full sample.
func loadReference(path, format string, kinds map[string]dataset.Kind, cfg detectors.Config) (*profile.Profile, error) {
	if isProfileFile(path) {
		return profile.Load(path)
	}
	t, err := dataset.Read(path, dataset.Options{Format: format, Kinds: kinds})
	if err != nil {
		return nil, err
	}
	exclude := map[string]bool{}
	for name, fc := range cfg.Features {
		if fc.Ignore {
			exclude[name] = true
		}
	}
	return profile.Build(t, profile.Options{Bins: cfg.Bins, Exclude: exclude,
		MultivariateVariance: cfg.Multivariate.Variance, NoMultivariate: !cfg.Multivariate.Enabled})
}

func isProfileFile(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false // dataset.Read reports the error with the file name
	}
	defer f.Close()
	head := make([]byte, 8)
	n, _ := io.ReadFull(f, head)
	return profile.IsProfile(head[:n])
}

// binary reports whether c is numeric with at most two distinct integer
// values (nulls aside).
func binary(c *dataset.Column) bool {
	if c.Kind != dataset.KindNumeric {
		return false
	}
	var seen []float64
	for _, x := range c.Num {
		switch {
		case x != x || slices.Contains(seen, x):
		case x != math.Trunc(x) || len(seen) == 2:
			return false
		default:
			seen = append(seen, x)
		}
	}
	return len(seen) > 0
}

func runProfileBuild(args []string, env Env) error {
	var (
		in, out, format string
		categorical     []string
		numeric         []string
		exclude         []string
		bins, maxSample int
		est             estimateColumnFlags
		variance        float64
	)
	fs := newFlags("profile build", env)
	fs.StringVar(&in, "input", "", "reference data (CSV, Parquet, Arrow IPC, JSON Lines)")
	fs.StringVar(&out, "out", "", "profile file to write")
	fs.StringVar(&format, "input-format", "", "csv, parquet, arrow or jsonl (default: by file extension)")
	fs.Func("categorical", "comma-separated columns to treat as categorical", func(v string) error {
		categorical = append(categorical, listFlag(v)...)
		return nil
	})
	fs.Func("numeric", "comma-separated columns to keep numeric (a 0/1 prediction or label column is otherwise a class)", func(v string) error {
		numeric = append(numeric, listFlag(v)...)
		return nil
	})
	fs.Func("exclude", "comma-separated columns that are not features (labels, predictions)", func(v string) error {
		exclude = append(exclude, listFlag(v)...)
		return nil
	})
	fs.IntVar(&bins, "bins", profile.DefaultBins, "equal-frequency bins per numeric feature")
	fs.IntVar(&maxSample, "max-sample", 0, "store at most this many order statistics per numeric feature (0: all values, exact tests)")
	est.register(fs)
	fs.Float64Var(&variance, "multivariate-variance", multivariate.DefaultVariance, "share of the variance the multivariate drift PCA keeps, in (0, 1)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if in == "" || out == "" {
		return usagef("profile build: --input and --out are required")
	}
	if !(variance > 0 && variance < 1) {
		return usagef("profile build: --multivariate-variance must be in (0, 1), got %g", variance)
	}
	kinds := map[string]dataset.Kind{}
	for _, c := range numeric {
		kinds[c] = dataset.KindNumeric
	}
	for _, c := range categorical {
		kinds[c] = dataset.KindCategorical
	}
	t, err := dataset.Read(in, dataset.Options{Format: format, Kinds: kinds})
	if err != nil {
		return err
	}
	// A predicted class or label stored as 0/1 reads as a number, but serve
	// compares it with the class text of events ("1"), and its drift is a
	// change in class shares: read such a column as categorical, as
	// --categorical would, unless --numeric names it. The columns are
	// serve's default field names unless --prediction and --label name them.
	outputs := []string{cmp.Or(est.Prediction, "prediction"), cmp.Or(est.Label, "label")}
	var classes []string
	for _, c := range t.Columns {
		if slices.Contains(outputs, c.Name) && !slices.Contains(exclude, c.Name) && kinds[c.Name] == dataset.KindAuto && binary(c) {
			kinds[c.Name] = dataset.KindCategorical
			classes = append(classes, c.Name)
		}
	}
	if len(classes) > 0 {
		if t, err = dataset.Read(in, dataset.Options{Format: format, Kinds: kinds}); err != nil {
			return err
		}
		for _, c := range classes {
			fmt.Fprintf(env.Stderr, "driftwatch: profile build: column %q holds two integer values at most: profiled as categorical (a class); --numeric %s keeps it numeric\n", c, c)
		}
	}
	ex := map[string]bool{}
	for _, c := range exclude {
		ex[c] = true
	}
	if est.Score != "" { // an estimator: the outcome columns are not features
		for _, c := range append([]string{est.Label, est.Prediction}, scoreColumns(est.Score)...) {
			ex[c] = true
		}
	}
	p, err := profile.Build(t, profile.Options{Bins: bins, MaxSample: maxSample, Exclude: ex, MultivariateVariance: variance})
	if err != nil {
		return err
	}
	if p.Estimation, err = est.fit(t); err != nil {
		return err
	}
	if err := p.WriteFile(out); err != nil {
		return err
	}
	fmt.Fprintf(env.Stderr, "driftwatch: wrote profile of %d features over %d rows to %s\n", len(p.Features), p.Rows, out)
	if mv := p.Multivariate; mv != nil && mv.Model != nil {
		fmt.Fprintf(env.Stderr, "driftwatch: multivariate drift: %d principal components of %d features explain %.1f%% of the variance\n",
			mv.Model.K(), mv.Model.D(), 100*mv.Model.VarianceExplained())
	} else if mv != nil {
		fmt.Fprintf(env.Stderr, "driftwatch: multivariate drift: no model: %s\n", mv.Skipped)
	}
	return nil
}
