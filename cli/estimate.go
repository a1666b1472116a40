package cli

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"

	"driftwatch/cbpe"
	"driftwatch/chunk"
	"driftwatch/dataset"
	"driftwatch/detectors"
	"driftwatch/profile"
	"driftwatch/report"
	"driftwatch/vocab"
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
	fs.StringVar(&o.Score, "score", "", "score column: probability of the positive class; multiclass: CLASS=COLUMN,... for every class")
	fs.StringVar(&o.Prediction, "prediction", "", "predicted class column")
	fs.StringVar(&o.Positive, "positive", "", "positive class (default: the larger of the reference's two class names)")
	fs.StringVar(&o.Calibration, "calibration", o.Calibration, "calibrate scores on the reference: auto, always or never (a profile REF keeps the choice it was built with)")
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

// estColumns are the columns estimation reads, with the classes mapped to
// numbers (binary: 1 positive, 0 negative; multiclass: the class's index),
// NaN for anything else.
type estColumns struct {
	Scores        []float64   // binary
	Multi         [][]float64 // multiclass: scores per class
	Preds, Labels []float64   // Labels nil when the label column is absent
}

// slice returns rows lo..hi-1.
func (c estColumns) slice(lo, hi int) estColumns {
	out := estColumns{Preds: c.Preds[lo:hi]}
	if c.Scores != nil {
		out.Scores = c.Scores[lo:hi]
	}
	for _, m := range c.Multi {
		out.Multi = append(out.Multi, m[lo:hi])
	}
	if c.Labels != nil {
		out.Labels = c.Labels[lo:hi]
	}
	return out
}

// multi reports whether the estimator is multiclass.
func (e *estimator) multi() bool { return e.Multi != nil }

func (e *estimator) calibrated() bool {
	if e.multi() {
		for _, c := range e.Multi.Calibrators {
			if c != nil {
				return true
			}
		}
		return false
	}
	return e.Model.Calibrated
}

func (e *estimator) referenceRows() int {
	if e.multi() {
		return e.Multi.Rows + e.Multi.Invalid
	}
	return e.Model.Rows + e.Model.Invalid
}

// estimate estimates one chunk of cols.
func (e *estimator) estimate(cols estColumns) cbpe.Chunk {
	if e.multi() {
		return e.Multi.Estimate(cols.Multi, cols.Preds)
	}
	return e.Model.Estimate(cols.Scores, cols.Preds)
}

// realized computes one chunk's realized metrics (cols has labels).
func (e *estimator) realized(cols estColumns) (cbpe.Metrics, int) {
	if e.multi() {
		return cbpe.RealizedMulti(cols.Multi, cols.Preds, cols.Labels)
	}
	return cbpe.Realized(cols.Scores, cols.Preds, cols.Labels)
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
	// The current file is read while the reference is fitted; the receive
	// below always waits for it, so nothing outlives the call.
	type read struct {
		t   *dataset.Table
		err error
	}
	curc := make(chan read, 1)
	go func() {
		t, err := dataset.Read(o.Current, dataset.Options{Format: o.InputFormat})
		curc <- read{t, err}
	}()
	est, err := loadEstimator(o.Reference, o.InputFormat, o.Label, o.Score, o.Prediction, o.Positive, mode)
	got := <-curc
	if err != nil {
		return ExitUsage, err
	}
	if got.err != nil {
		return ExitUsage, got.err
	}
	cur := got.t
	cols, err := est.columns(cur, true)
	if err != nil {
		return ExitUsage, err
	}
	n := len(cols.Preds)
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
	r := &detectors.EstimateReport{Method: detectors.MethodCBPE, Calibrated: est.calibrated(),
		Positive: est.Positive, Classes: est.Classes, ReferenceRows: est.referenceRows(), CurrentRows: n,
		Chunks: make([]detectors.EstimateChunk, 0, len(ranges))}
	for _, rg := range ranges {
		lo, hi := rg.Start, rg.End+1
		part := cols.slice(lo, hi)
		c := est.estimate(part)
		ec := detectors.EstimateChunk{Index: rg.Index, Start: rg.Start, End: rg.End, Rows: rg.Rows(), Invalid: c.Invalid,
			Estimated: detectors.PerfOf(c.Estimated), SamplingError: detectors.PerfOf(c.SamplingError)}
		if cols.Labels != nil {
			m, labelled := est.realized(part)
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
		for _, c := range []struct{ flag, name, stored string }{{"label", label, e.Label}, {"score", canonicalScore(score), e.Score}, {"prediction", pred, e.Prediction}} {
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

// fitEstimator fits CBPE on a labelled table: the classes come from its
// label column. score is a column (binary) or CLASS=COLUMN,... naming every
// class's score column (multiclass).
func fitEstimator(t *dataset.Table, label, score, pred, positive string, mode cbpe.Calibration) (*estimator, error) {
	lc := t.Column(label)
	if lc == nil {
		return nil, fmt.Errorf("estimate: label column %q not found in %q", label, t.Path)
	}
	classes := distinctClasses(lc)
	if strings.Contains(score, "=") {
		return fitMulti(t, classes, label, score, pred, positive, mode)
	}
	switch {
	case len(classes) == 0:
		return nil, fmt.Errorf("estimate: label column %q of %q has no values", label, t.Path)
	case len(classes) == 1:
		return nil, fmt.Errorf("estimate: label column %q of %q holds one class only (%q): nothing to calibrate against", label, t.Path, classes[0])
	case len(classes) > 2:
		return nil, fmt.Errorf("estimate: label column %q of %q has %d classes; give --score as CLASS=COLUMN,... for multiclass", label, t.Path, len(classes))
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

// fitMulti fits multiclass CBPE: the --score classes must be the label
// column's classes.
func fitMulti(t *dataset.Table, classes []string, label, score, pred, positive string, mode cbpe.Calibration) (*estimator, error) {
	if positive != "" {
		return nil, usagef("estimate: --positive is for binary classification; --score %q names classes", score)
	}
	byClass := map[string]string{}
	for _, item := range listFlag(score) {
		cl, col, ok := strings.Cut(item, "=")
		cl, col = strings.TrimSpace(cl), strings.TrimSpace(col)
		if !ok || cl == "" || col == "" {
			return nil, usagef("estimate: --score item %q is not CLASS=COLUMN", item)
		}
		if _, dup := byClass[cl]; dup {
			return nil, usagef("estimate: --score names class %q twice", cl)
		}
		byClass[cl] = col
	}
	names := slices.Sorted(maps.Keys(byClass))
	if !slices.Equal(names, classes) {
		return nil, fmt.Errorf("estimate: --score names classes %q but label column %q of %q holds %q", names, label, t.Path, classes)
	}
	if len(names) < 3 {
		return nil, usagef("estimate: multiclass --score needs at least 3 classes, got %d (give one column for binary)", len(names))
	}
	e := &estimator{profile.Estimation{Label: label, Score: canonicalScore(score), Prediction: pred, Classes: names}}
	for _, cl := range names {
		e.Scores = append(e.Scores, byClass[cl])
	}
	cols, err := e.columns(t, false)
	if err != nil {
		return nil, err
	}
	if e.Multi, err = cbpe.FitMulti(cols.Multi, cols.Labels, cols.Preds, mode); err != nil {
		return nil, fmt.Errorf("estimate: reference %q: %w", t.Path, err)
	}
	return e, nil
}

// scoreColumn returns t's named numeric column.
func scoreColumn(t *dataset.Table, name string) ([]float64, error) {
	sc := t.Column(name)
	if sc == nil {
		return nil, fmt.Errorf("estimate: score column %q not found in %q", name, t.Path)
	}
	if sc.Kind != dataset.KindNumeric {
		return nil, fmt.Errorf("estimate: score column %q of %q is not numeric", name, t.Path)
	}
	return sc.Num, nil
}

// columns maps t's score, prediction and label columns. The label is
// optional in current data (optionalLabel), required in the reference.
func (e *estimator) columns(t *dataset.Table, optionalLabel bool) (estColumns, error) {
	var out estColumns
	var err error
	if e.Classes != nil {
		for _, name := range e.Scores {
			s, err := scoreColumn(t, name)
			if err != nil {
				return out, err
			}
			out.Multi = append(out.Multi, s)
		}
	} else if out.Scores, err = scoreColumn(t, e.Score); err != nil {
		return out, err
	}
	pc := t.Column(e.Prediction)
	if pc == nil {
		return out, fmt.Errorf("estimate: prediction column %q not found in %q", e.Prediction, t.Path)
	}
	out.Preds = e.classNumbers(pc)
	if lc := t.Column(e.Label); lc != nil && e.Label != "" {
		out.Labels = e.classNumbers(lc)
	} else if !optionalLabel {
		return out, fmt.Errorf("estimate: label column %q not found in %q", e.Label, t.Path)
	}
	return out, nil
}

// classNumbers maps a class column to class numbers: binary 1 (positive)
// and 0, multiclass the class's index; NaN for anything else.
func (e *estimator) classNumbers(c *dataset.Column) []float64 {
	if e.Classes == nil {
		return e.binary(c)
	}
	index := map[string]float64{}
	for i, cl := range e.Classes {
		index[cl] = float64(i)
	}
	out := make([]float64, c.Len())
	for i := range out {
		if k, ok := index[className(c, i)]; ok {
			out[i] = k
		} else {
			out[i] = math.NaN()
		}
	}
	return out
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
	fs.StringVar(&f.Label, "label", "", "label column (default: label); with --score and --prediction, store a performance estimator (CBPE) in the profile")
	fs.StringVar(&f.Score, "score", "", "score column: probability of the positive class")
	fs.StringVar(&f.Prediction, "prediction", "", "predicted class column (default: prediction)")
	fs.StringVar(&f.Positive, "positive", "", "positive class (default: the larger of the two class names)")
	fs.StringVar(&f.Calibration, "calibration", string(cbpe.CalibrationAuto), "calibrate scores: auto, always or never")
}

// fit returns the estimation section for the profile, nil when no column
// flag was given.
func (f *estimateColumnFlags) fit(t *dataset.Table) (*profile.Estimation, error) {
	if f.Score == "" { // --label and --prediction alone only name the outcome columns
		return nil, nil
	}
	if f.Label == "" || f.Prediction == "" {
		return nil, usagef("profile build: --score needs --label and --prediction to fit an estimator (got %q, %q)", f.Label, f.Prediction)
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
		if e.Score != canonicalScore(o.Score) || e.Prediction != o.Prediction || (o.Positive != "" && o.Positive != e.Positive) {
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
	c := est.estimate(cols)
	return &detectors.Quality{Task: vocab.TaskClassification, Rows: len(cols.Preds),
		Estimated: &detectors.EstimatedQuality{PerfMetrics: detectors.PerfOf(c.Estimated), Calibrated: est.calibrated(),
			Rows: c.Rows, Invalid: c.Invalid, SamplingError: detectors.PerfOf(c.SamplingError)}}, nil
}

// canonicalScore writes a CLASS=COLUMN,... --score value sorted by class,
// as profiles store it, so the order given does not matter.
func canonicalScore(score string) string {
	if !strings.Contains(score, "=") {
		return score
	}
	items := listFlag(score)
	for i := range items {
		cl, col, _ := strings.Cut(items[i], "=")
		items[i] = strings.TrimSpace(cl) + "=" + strings.TrimSpace(col)
	}
	slices.Sort(items)
	return strings.Join(items, ",")
}

// scoreColumns lists the columns a --score value names: itself, or the
// columns of a CLASS=COLUMN,... list.
func scoreColumns(score string) []string {
	if !strings.Contains(score, "=") {
		return []string{score}
	}
	var out []string
	for _, item := range listFlag(score) {
		if _, col, ok := strings.Cut(item, "="); ok {
			out = append(out, strings.TrimSpace(col))
		}
	}
	return out
}
