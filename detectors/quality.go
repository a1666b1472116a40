package detectors

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"driftwatch/cbpe"
	"driftwatch/dataset"
	"driftwatch/stats"
	"driftwatch/vocab"
)

// TaskAuto infers the task from the label (see InferTask).
const TaskAuto vocab.Task = ""

// QualityColumns names the current data's columns that carry outcomes.
type QualityColumns struct {
	Label, Prediction, Score string
	Task                     vocab.Task // TaskAuto infers it (see InferTask)
	Positive                 string     // positive class; the larger of two class names when empty
}

// maxClassesAuto is how many distinct integer label values a numeric label
// may have and still be read as classes when the task is inferred.
const maxClassesAuto = 20

// InferTask decides classification vs regression: a categorical label, or a
// score column, means classification; a numeric label with few distinct
// integer values too; anything else is regression.
func InferTask(label *dataset.Column, hasScore bool) vocab.Task {
	if label.Kind == dataset.KindCategorical || hasScore {
		return vocab.TaskClassification
	}
	distinct := map[float64]bool{}
	for _, v := range label.Num {
		if v != v {
			continue
		}
		if v != math.Trunc(v) {
			return vocab.TaskRegression
		}
		distinct[v] = true
		if len(distinct) > maxClassesAuto {
			return vocab.TaskRegression
		}
	}
	return vocab.TaskClassification
}

// ComputeQuality computes model quality on t.
func ComputeQuality(t *dataset.Table, qc QualityColumns) (*Quality, error) {
	label := t.Column(qc.Label)
	if label == nil {
		return nil, fmt.Errorf("detectors: label column %q not found in %q", qc.Label, t.Path)
	}
	var pred, score *dataset.Column
	if qc.Prediction != "" {
		if pred = t.Column(qc.Prediction); pred == nil {
			return nil, fmt.Errorf("detectors: prediction column %q not found in %q", qc.Prediction, t.Path)
		}
	}
	if qc.Score != "" {
		if score = t.Column(qc.Score); score == nil {
			return nil, fmt.Errorf("detectors: score column %q not found in %q", qc.Score, t.Path)
		}
		if score.Kind != dataset.KindNumeric {
			return nil, fmt.Errorf("detectors: score column %q is not numeric", qc.Score)
		}
	}
	if pred == nil && score == nil {
		return nil, fmt.Errorf("detectors: quality needs a prediction or a score column besides the label %q", qc.Label)
	}
	task := qc.Task
	if task == TaskAuto {
		task = InferTask(label, score != nil)
	}
	if task == vocab.TaskRegression {
		if pred == nil || pred.Kind != dataset.KindNumeric || label.Kind != dataset.KindNumeric {
			return nil, fmt.Errorf("detectors: regression needs numeric label and prediction columns")
		}
		r := stats.RegressionMetrics(label.Num, pred.Num)
		zt := r.ZeroTargets
		return &Quality{Task: task, Rows: r.Rows, MAE: ptr(r.MAE), RMSE: ptr(r.RMSE), MAPE: ptr(r.MAPE),
			MeanError: ptr(r.MeanError), R2: ptr(r.R2), ZeroTargets: &zt}, nil
	}

	labels := classNames(label)
	classes := distinctNonEmpty(labels)
	var preds []string
	if pred != nil {
		preds = classNames(pred)
		classes = distinctNonEmpty(append(slices.Clone(classes), preds...))
	}
	positive := qc.Positive
	if positive == "" && len(classes) >= 1 && len(classes) <= 2 {
		positive = classes[len(classes)-1]
	}
	var scores []float64
	if score != nil {
		if len(classes) > 2 {
			return nil, fmt.Errorf("detectors: a score column needs a binary label, %q has %d classes", qc.Label, len(classes))
		}
		scores = score.Num
		if preds == nil {
			// Without a prediction column the score decides at 0.5.
			negative := ""
			for _, c := range classes {
				if c != positive {
					negative = c
				}
			}
			preds = make([]string, len(scores))
			for i, s := range scores {
				switch {
				case s != s:
				case s >= 0.5:
					preds[i] = positive
				default:
					preds[i] = negative
				}
			}
		}
	}
	c := stats.ClassificationMetrics(labels, preds, scores, positive)
	q := &Quality{Task: task, Rows: c.Rows, Accuracy: ptr(c.Accuracy), PrecisionMacro: ptr(c.PrecisionMacro),
		RecallMacro: ptr(c.RecallMacro), F1Macro: ptr(c.F1Macro)}
	if scores != nil {
		q.ROCAUC, q.LogLoss, q.Brier, q.ECE = ptr(c.ROCAUC), ptr(c.LogLoss), ptr(c.Brier), ptr(c.ECE)
	}
	for _, pc := range c.PerClass {
		q.PerClass = append(q.PerClass, ClassQuality{Class: pc.Class, Precision: Float(pc.Precision),
			Recall: Float(pc.Recall), F1: Float(pc.F1), Support: pc.Support})
	}
	return q, nil
}

// classNames renders a label or prediction column as class names; null
// becomes "" which the metrics skip.
func classNames(c *dataset.Column) []string {
	out := make([]string, 0, max(len(c.Str), len(c.Num)))
	if c.Kind == dataset.KindCategorical {
		for i, s := range c.Str {
			if c.Null != nil && c.Null[i] {
				s = ""
			}
			out = append(out, s)
		}
		return out
	}
	for _, v := range c.Num {
		s := ""
		if v == v {
			s = strconv.FormatFloat(v, 'g', -1, 64)
		}
		out = append(out, s)
	}
	return out
}

func distinctNonEmpty(xs []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range xs {
		if x != "" && !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	slices.Sort(out)
	return out
}

// Gate is a parsed --require expression: metric op value.
type Gate struct {
	Expr, Metric, Op string
	Value            float64
}

var gateOps = []string{">=", "<=", "==", "!=", ">", "<"}

// gateMetrics are the names a gate may use besides the quality metrics.
var gateMetrics = []string{"accuracy", "precision_macro", "recall_macro", "f1_macro", "roc_auc", "log_loss",
	"brier", "ece", "mae", "rmse", "mape", "mean_error", "r2", "drifted_features", "drift_share", GateMultivariate}

// GateMultivariate alone ("--require multivariate") passes when the report has
// a multivariate section that did not drift; as a metric ("multivariate<=1.5")
// it is the current data's reconstruction error.
const GateMultivariate = "multivariate"

// ParseGate parses "f1_macro>=0.85".
func ParseGate(expr string) (Gate, error) {
	if strings.TrimSpace(expr) == GateMultivariate {
		return Gate{Expr: expr, Metric: GateMultivariate}, nil
	}
	for _, op := range gateOps {
		i := strings.Index(expr, op)
		if i < 0 {
			continue
		}
		g := Gate{Expr: expr, Metric: strings.TrimSpace(expr[:i]), Op: op}
		if !slices.Contains(gateMetrics, g.Metric) && !isEstimatedMetric(g.Metric) {
			return Gate{}, fmt.Errorf("detectors: gate %q: unknown metric %q (want one of %s, or estimated.METRIC with METRIC one of %s)",
				expr, g.Metric, strings.Join(gateMetrics, ", "), strings.Join(cbpe.Names, ", "))
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(expr[i+len(op):]), 64)
		if err != nil || math.IsNaN(v) {
			return Gate{}, fmt.Errorf("detectors: gate %q: %q is not a number", expr, strings.TrimSpace(expr[i+len(op):]))
		}
		g.Value = v
		return g, nil
	}
	return Gate{}, fmt.Errorf("detectors: gate %q: want METRIC OP VALUE with OP one of %s", expr, strings.Join(gateOps, " "))
}

// ApplyGates evaluates gates against the report and records the results. A
// gate on a metric the report lacks (no labels, no scores) fails.
func ApplyGates(r *Report, gates []Gate) (pass bool) {
	m := map[string]float64{}
	if r.Quality != nil {
		m = r.Quality.Metrics()
	}
	m["drifted_features"] = float64(r.DriftedFeatures)
	m["drift_share"] = float64(r.DriftShare)
	if r.Multivariate != nil {
		m[GateMultivariate] = float64(r.Multivariate.Value)
	}
	pass = true
	for _, g := range gates {
		v, ok := m[g.Metric]
		if !ok {
			v = math.NaN()
		}
		ok = false
		switch g.Op {
		case ">=":
			ok = v >= g.Value
		case "<=":
			ok = v <= g.Value
		case ">":
			ok = v > g.Value
		case "<":
			ok = v < g.Value
		case "==":
			ok = v == g.Value
		case "!=":
			ok = v != g.Value && v == v
		case "": // bare multivariate gate
			ok = r.Multivariate != nil && !r.Multivariate.Drift
		}
		r.Gates = append(r.Gates, GateResult{Expr: g.Expr, Value: Float(v), Pass: ok})
		pass = pass && ok
	}
	return pass
}
