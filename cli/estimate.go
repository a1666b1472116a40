package cli

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"

	"driftwatch/cbpe"
	"driftwatch/chunk"
	"driftwatch/dataset"
	"driftwatch/detectors"
	"driftwatch/profile"
	"driftwatch/report"
)

// estimateOptions are the flags of `driftwatch estimate`.
type estimateOptions struct {
	Reference, Current, InputFormat string
	Label, Score, Prediction        string
	Positive, Calibration           string
	ChunkSize, Chunks               int
	Require                         []string
	Format, Out                     string
}

func runEstimate(args []string, env Env) (int, error) {
	o := estimateOptions{Calibration: string(cbpe.CalibrationAuto), Format: "json"}
	fs := newFlags("estimate", env)
	fs.StringVar(&o.Reference, "reference", "", "labelled reference data (CSV, Parquet, Arrow IPC, JSON Lines) or a profile built with --label --score --prediction")
	fs.StringVar(&o.Current, "current", "", "current data: score and prediction columns, the label when known")
	fs.StringVar(&o.InputFormat, "input-format", "", "csv, parquet, arrow or jsonl (default: by file extension)")
	fs.StringVar(&o.Label, "label", "", "label column (of the reference; of the current data for realized metrics)")
	fs.StringVar(&o.Score, "score", "", "score column: probability of the positive class")
	fs.StringVar(&o.Prediction, "prediction", "", "predicted class column")
	fs.StringVar(&o.Positive, "positive", "", "positive class (default: the larger of the reference's two class names)")
	fs.StringVar(&o.Calibration, "calibration", o.Calibration, "calibrate scores on the reference: auto, always or never")
	fs.IntVar(&o.ChunkSize, "chunk-size", 0, "chunks of this many consecutive rows (the last may be shorter)")
	fs.IntVar(&o.Chunks, "chunks", 0, "this many chunks of ⌊rows/K⌋ rows, the remainder as a last chunk")
	fs.Func("require", "gate on an estimated metric in every chunk, such as 'estimated.roc_auc>=0.8' (repeatable)", func(v string) error {
		o.Require = append(o.Require, v)
		return nil
	})
	fs.StringVar(&o.Format, "format", o.Format, "report format: json, markdown or html")
	fs.StringVar(&o.Out, "out", "", "write the report to this file instead of stdout")
	if err := parse(fs, args); err != nil {
		return ExitUsage, err
	}
	return estimate(o, env)
}

// estimator is a fitted reference with the column names and classes it
// was fitted on.
type estimator struct {
	profile.Estimation
}

// binaryColumns are the columns estimation reads, with the classes mapped.
type binaryColumns struct {
	Scores, Preds, Labels []float64 // Labels nil when the label column is absent
}

func estimate(o estimateOptions, env Env) (int, error) {
	if o.Format != "json" && o.Format != "markdown" && o.Format != "md" && o.Format != "html" {
		return ExitUsage, usagef("estimate: unknown --format %q (want json, markdown or html)", o.Format)
	}
	if o.Reference == "" || o.Current == "" {
		return ExitUsage, usagef("estimate: --reference and --current are required")
	}
	if o.ChunkSize < 0 || o.Chunks < 0 || (o.ChunkSize > 0 && o.Chunks > 0) {
		return ExitUsage, usagef("estimate: give at most one of --chunk-size and --chunks, positive (got %d and %d)", o.ChunkSize, o.Chunks)
	}
	mode, err := cbpe.ParseCalibration(o.Calibration)
	if err != nil {
		return ExitUsage, usageError{err.Error()}
	}
	var gates []detectors.Gate
	for _, expr := range o.Require {
		g, err := detectors.ParseGate(expr)
		if err != nil {
			return ExitUsage, err
		}
		if !slices.Contains(estimateGateNames, g.Metric) {
			return ExitUsage, usagef("estimate: gate %q: estimate gates name an estimated metric, such as estimated.roc_auc", expr)
		}
		gates = append(gates, g)
	}
	est, err := loadEstimator(o.Reference, o.InputFormat, o.Label, o.Score, o.Prediction, o.Positive, mode)
	if err != nil {
		return ExitUsage, err
	}
	cur, err := dataset.Read(o.Current, dataset.Options{Format: o.InputFormat})
	if err != nil {
		return ExitUsage, err
	}
	cols, err := est.columns(cur, true)
	if err != nil {
		return ExitUsage, err
	}
	n := len(cols.Scores)
	var ranges []chunk.Range
	switch {
	case o.ChunkSize > 0:
		ranges, err = chunk.BySize(n, o.ChunkSize)
	case o.Chunks > 0:
		ranges, err = chunk.ByCount(n, o.Chunks)
	default:
		ranges = chunk.Whole(n)
	}
	if err != nil {
		return ExitUsage, usageError{fmt.Sprintf("estimate: %v", err)}
	}
	r := &detectors.EstimateReport{Method: detectors.MethodCBPE, Calibrated: est.Model.Calibrated,
		Positive: est.Positive, ReferenceRows: est.Model.Rows + est.Model.Invalid, CurrentRows: n,
		Chunks: make([]detectors.EstimateChunk, 0, len(ranges))}
	for _, rg := range ranges {
		lo, hi := rg.Start, rg.End+1
		c := est.Model.Estimate(cols.Scores[lo:hi], cols.Preds[lo:hi])
		ec := detectors.EstimateChunk{Index: rg.Index, Start: rg.Start, End: rg.End, Rows: rg.Rows(), Invalid: c.Invalid,
			Estimated: detectors.PerfOf(c.Estimated), SamplingError: detectors.PerfOf(c.SamplingError)}
		if cols.Labels != nil {
			m, labelled := cbpe.Realized(cols.Scores[lo:hi], cols.Preds[lo:hi], cols.Labels[lo:hi])
			rm := detectors.PerfOf(m)
			ec.Realized, ec.Labelled = &rm, &labelled
		}
		r.Chunks = append(r.Chunks, ec)
	}
	pass := detectors.ApplyEstimateGates(r, gates)
	if err := writeOut(o.Out, "estimate", func(w io.Writer) error { return report.WriteEstimate(w, r, o.Format) }, env); err != nil {
		return ExitUsage, err
	}
	if !pass {
		return ExitDrift, nil
	}
	return ExitOK, nil
}

// estimateGateNames are the metrics an estimate gate may name.
var estimateGateNames = func() []string {
	out := make([]string, len(cbpe.Names))
	for i, n := range cbpe.Names {
		out[i] = "estimated." + n
	}
	return out
}()

// writeOut renders to stdout, or to a file when out is set.
func writeOut(out, cmd string, render func(io.Writer) error, env Env) error {
	if out == "" {
		return render(env.Stdout)
	}
	var buf bytes.Buffer
	if err := render(&buf); err != nil {
		return err
	}
	if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("%s: cannot write report: %w", cmd, err)
	}
	return nil
}

// loadEstimator returns the fitted estimator: from a profile's estimation
// section, or fitted on a labelled reference file. Column flags left empty
// default to the profile's.
func loadEstimator(path, format, label, score, pred, positive string, mode cbpe.Calibration) (*estimator, error) {
	if isProfileFile(path) {
		p, err := profile.Load(path)
		if err != nil {
			return nil, err
		}
		if p.Estimation == nil {
			return nil, usagef("estimate: profile %q holds no estimator; build it with profile build --label --score --prediction", path)
		}
		e := &estimator{*p.Estimation}
		if err := e.Validate(); err != nil {
			return nil, fmt.Errorf("estimate: profile %q: %w", path, err)
		}
		if positive != "" && positive != e.Positive {
			return nil, usagef("estimate: --positive %q differs from the profile's positive class %q", positive, e.Positive)
		}
		for _, c := range []struct{ flag, name, stored string }{{"label", label, e.Label}, {"score", score, e.Score}, {"prediction", pred, e.Prediction}} {
			if c.name != "" && c.name != c.stored {
				return nil, usagef("estimate: --%s %q differs from the profile's %q", c.flag, c.name, c.stored)
			}
		}
		return e, nil
	}
	if label == "" || score == "" || pred == "" {
		return nil, usagef("estimate: --label, --score and --prediction are required with a reference data file")
	}
	t, err := dataset.Read(path, dataset.Options{Format: format})
	if err != nil {
		return nil, err
	}
	return fitEstimator(t, label, score, pred, positive, mode)
}

// fitEstimator fits CBPE on a labelled table: the two classes come from its
// label column.
func fitEstimator(t *dataset.Table, label, score, pred, positive string, mode cbpe.Calibration) (*estimator, error) {
	lc := t.Column(label)
	if lc == nil {
		return nil, fmt.Errorf("estimate: label column %q not found in %q", label, t.Path)
	}
	classes := distinctClasses(lc)
	switch {
	case len(classes) == 0:
		return nil, fmt.Errorf("estimate: label column %q of %q has no values", label, t.Path)
	case len(classes) == 1:
		return nil, fmt.Errorf("estimate: label column %q of %q holds one class only (%q): nothing to calibrate against", label, t.Path, classes[0])
	case len(classes) > 2:
		return nil, fmt.Errorf("estimate: label column %q of %q has %d classes; only binary classification is estimated", label, t.Path, len(classes))
	}
	e := &estimator{profile.Estimation{Label: label, Score: score, Prediction: pred, Positive: classes[1], Negative: classes[0]}}
	if positive != "" {
		if !slices.Contains(classes, positive) {
			return nil, fmt.Errorf("estimate: positive class %q is not a class of label column %q (classes %q, %q)", positive, label, classes[0], classes[1])
		}
		e.Positive = positive
		if classes[0] == positive {
			e.Negative = classes[1]
		}
	}
	cols, err := e.columns(t, false)
	if err != nil {
		return nil, err
	}
	if e.Model, err = cbpe.Fit(cols.Scores, cols.Labels, cols.Preds, mode); err != nil {
		return nil, fmt.Errorf("estimate: reference %q: %w", t.Path, err)
	}
	return e, nil
}

// columns maps t's score, prediction and label columns: classes to 1
// (positive) and 0, anything else to NaN. The label is optional in current
// data (optionalLabel), required in the reference.
func (e *estimator) columns(t *dataset.Table, optionalLabel bool) (binaryColumns, error) {
	var out binaryColumns
	sc := t.Column(e.Score)
	if sc == nil {
		return out, fmt.Errorf("estimate: score column %q not found in %q", e.Score, t.Path)
	}
	if sc.Kind != dataset.KindNumeric {
		return out, fmt.Errorf("estimate: score column %q of %q is not numeric", e.Score, t.Path)
	}
	pc := t.Column(e.Prediction)
	if pc == nil {
		return out, fmt.Errorf("estimate: prediction column %q not found in %q", e.Prediction, t.Path)
	}
	out.Scores = sc.Num
	out.Preds = e.binary(pc)
	if lc := t.Column(e.Label); lc != nil && e.Label != "" {
		out.Labels = e.binary(lc)
	} else if !optionalLabel {
		return out, fmt.Errorf("estimate: label column %q not found in %q", e.Label, t.Path)
	}
	return out, nil
}

// binary maps a class column to 1 (positive), 0 (negative) or NaN.
func (e *estimator) binary(c *dataset.Column) []float64 {
	out := make([]float64, c.Len())
	if c.Kind == dataset.KindNumeric {
		// Compare numbers, not their names, when both classes are numbers
		// written in shortest form (as className writes them).
		pos, perr := strconv.ParseFloat(e.Positive, 64)
		neg, nerr := strconv.ParseFloat(e.Negative, 64)
		if perr == nil && nerr == nil && strconv.FormatFloat(pos, 'g', -1, 64) == e.Positive &&
			strconv.FormatFloat(neg, 'g', -1, 64) == e.Negative {
			for i, v := range c.Num {
				switch v {
				case pos:
					out[i] = 1
				case neg:
					out[i] = 0
				default:
					out[i] = math.NaN()
				}
			}
			return out
		}
	}
	for i := range out {
		switch className(c, i) {
		case e.Positive:
			out[i] = 1
		case e.Negative:
			out[i] = 0
		default:
			out[i] = math.NaN()
		}
	}
	return out
}

// className renders row i of a label or prediction column as a class name
// ("" when null), numbers in their shortest form so 1 and 1.0 are one class.
func className(c *dataset.Column, i int) string {
	if c.Kind == dataset.KindCategorical {
		if c.Null != nil && c.Null[i] {
			return ""
		}
		return c.Str[i]
	}
	v := c.Num[i]
	if v != v {
		return ""
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// distinctClasses returns a class column's distinct names, sorted.
func distinctClasses(c *dataset.Column) []string {
	seen := map[string]bool{}
	var out []string
	if c.Kind == dataset.KindNumeric {
		// Distinct numbers first, formatted once each.
		nums := map[float64]bool{}
		for _, v := range c.Num {
			if v == v && !nums[v] {
				nums[v] = true
				if s := strconv.FormatFloat(v, 'g', -1, 64); !seen[s] {
					seen[s] = true
					out = append(out, s)
				}
				if len(out) > 1000 {
					break
				}
			}
		}
		slices.Sort(out)
		return out
	}
	for i := range c.Len() {
		if s := className(c, i); s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
			if len(out) > 1000 {
				break
			}
		}
	}
	slices.Sort(out)
	return out
}

// estimateColumnFlags are `profile build`'s flags that store an estimator
// in the profile.
type estimateColumnFlags struct {
	Label, Score, Prediction, Positive, Calibration string
}

func (f *estimateColumnFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.Label, "label", "", "label column: with --score and --prediction, store a performance estimator (CBPE) in the profile")
	fs.StringVar(&f.Score, "score", "", "score column: probability of the positive class")
	fs.StringVar(&f.Prediction, "prediction", "", "predicted class column")
	fs.StringVar(&f.Positive, "positive", "", "positive class (default: the larger of the two class names)")
	fs.StringVar(&f.Calibration, "calibration", string(cbpe.CalibrationAuto), "calibrate scores: auto, always or never")
}

// fit returns the estimation section for the profile, nil when no column
// flag was given.
func (f *estimateColumnFlags) fit(t *dataset.Table) (*profile.Estimation, error) {
	if f.Label == "" && f.Score == "" && f.Prediction == "" {
		return nil, nil
	}
	if f.Label == "" || f.Score == "" || f.Prediction == "" {
		return nil, usagef("profile build: --label, --score and --prediction go together (got %q, %q, %q)", f.Label, f.Score, f.Prediction)
	}
	mode, err := cbpe.ParseCalibration(f.Calibration)
	if err != nil {
		return nil, usageError{err.Error()}
	}
	e, err := fitEstimator(t, f.Label, f.Score, f.Prediction, f.Positive, mode)
	if err != nil {
		return nil, err
	}
	return &e.Estimation, nil
}

// estimatedQuality is `check`'s quality when the current data has scores
// and predictions but not the label: CBPE over the whole file, fitted on the
// reference profile's estimator or on the labelled reference file (read
// again: the profile built for drift keeps no labels).
func estimatedQuality(ref *profile.Profile, cur *dataset.Table, o checkOptions) (*detectors.Quality, error) {
	var est *estimator
	if ref.Estimation != nil {
		e := &estimator{*ref.Estimation}
		if err := e.Validate(); err != nil {
			return nil, fmt.Errorf("check: %w", err)
		}
		if e.Score != o.Score || e.Prediction != o.Prediction || (o.Positive != "" && o.Positive != e.Positive) {
			return nil, usagef("check: the profile's estimator was fitted on score %q, prediction %q, positive %q; got %q, %q, %q",
				e.Score, e.Prediction, e.Positive, o.Score, o.Prediction, o.Positive)
		}
		est = e
	} else {
		if isProfileFile(o.Reference) {
			return nil, usagef("check: current data %q has no label column %q and profile %q holds no estimator; build it with --label --score --prediction",
				cur.Path, o.Label, o.Reference)
		}
		t, err := dataset.Read(o.Reference, dataset.Options{Format: o.InputFormat})
		if err != nil {
			return nil, err
		}
		if est, err = fitEstimator(t, o.Label, o.Score, o.Prediction, o.Positive, cbpe.CalibrationAuto); err != nil {
			return nil, err
		}
	}
	cols, err := est.columns(cur, true)
	if err != nil {
		return nil, err
	}
	c := est.Model.Estimate(cols.Scores, cols.Preds)
	return &detectors.Quality{Task: detectors.TaskClassification, Rows: len(cols.Scores),
		Estimated: &detectors.EstimatedQuality{PerfMetrics: detectors.PerfOf(c.Estimated), Calibrated: est.Model.Calibrated,
			Rows: c.Rows, Invalid: c.Invalid, SamplingError: detectors.PerfOf(c.SamplingError)}}, nil
}
