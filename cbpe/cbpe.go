// Package cbpe estimates a classifier's performance from its scores alone,
// before the labels arrive: confidence-based performance estimation as
// NannyML 0.13.1 computes it, binary (Reference) and multiclass one-vs-rest
// (MultiReference). It owns the isotonic calibration of scores on a
// labelled reference (and the decision whether to calibrate), the expected
// confusion matrix and the metrics derived from it, the estimated ROC AUC
// and average precision, NannyML's sampling errors, the realized metrics
// for when labels are there, and the additive accumulators (Expected,
// Bins) a streaming window needs.
//
// It is pure math on slices (package stats sorts): reading files, mapping
// class names to numbers, chunking rows and rendering reports are left to
// the callers (cli, report). Binary labels and predictions are 1 for the
// positive class, 0 for the negative one and NaN when missing; multiclass
// ones are class numbers.
package cbpe

import (
	"fmt"
	"math"
)

// Calibration says whether scores are calibrated before estimation.
type Calibration string

// Calibration modes.
const (
	// CalibrationAuto calibrates when NannyML would (see NeedsCalibration).
	CalibrationAuto Calibration = "auto"
	// CalibrationAlways fits the isotonic calibrator whatever the scores.
	CalibrationAlways Calibration = "always"
	// CalibrationNever estimates from the raw scores.
	CalibrationNever Calibration = "never"
)

// ParseCalibration parses a --calibration value.
func ParseCalibration(s string) (Calibration, error) {
	switch c := Calibration(s); c {
	case CalibrationAuto, CalibrationAlways, CalibrationNever:
		return c, nil
	}
	return "", fmt.Errorf("cbpe: unknown calibration %q (want auto, always or never)", s)
}

// ValidScore reports whether s is a usable score: a probability in [0, 1].
func ValidScore(s float64) bool { return s >= 0 && s <= 1 }

// Metrics are one chunk's metrics, estimated or realized. A metric that
// cannot be computed is NaN.
type Metrics struct {
	ROCAUC           float64
	Accuracy         float64
	F1               float64
	Precision        float64
	Recall           float64
	Specificity      float64
	AveragePrecision float64
	TruePositive     float64
	FalsePositive    float64
	FalseNegative    float64
	TrueNegative     float64
}

// NaNMetrics has every metric NaN (nothing to compute on).
func NaNMetrics() Metrics {
	n := math.NaN()
	return Metrics{n, n, n, n, n, n, n, n, n, n, n}
}

// Names are the metrics' JSON names, in Metrics' field order.
var Names = []string{"roc_auc", "accuracy", "f1", "precision", "recall", "specificity", "average_precision",
	"true_positive", "false_positive", "false_negative", "true_negative"}

// Values returns the metrics in Names' order.
func (m Metrics) Values() []float64 {
	return []float64{m.ROCAUC, m.Accuracy, m.F1, m.Precision, m.Recall, m.Specificity, m.AveragePrecision,
		m.TruePositive, m.FalsePositive, m.FalseNegative, m.TrueNegative}
}

// Expected is the expected confusion matrix of calibrated scores p: a
// predicted positive adds p to TP and 1-p to FP, a predicted negative p to
// FN and 1-p to TN. It is a sum, so windows and partitions merge by adding.
type Expected struct {
	TP, FP, FN, TN float64
	N              int
}

// Add counts one row: calibrated score p, predicted positive or not.
func (e *Expected) Add(p float64, predictedPositive bool) {
	if predictedPositive {
		e.TP += p
		e.FP += 1 - p
	} else {
		e.FN += p
		e.TN += 1 - p
	}
	e.N++
}

// Merge adds o to e.
func (e *Expected) Merge(o Expected) {
	e.TP += o.TP
	e.FP += o.FP
	e.FN += o.FN
	e.TN += o.TN
	e.N += o.N
}

// ratio is NannyML's estimate convention: 0 when the denominator is 0.
func ratio(num, den float64) float64 {
	if den == 0 {
		return 0
	}
	return num / den
}

// Fill sets the confusion-matrix metrics of m from e, as NannyML's
// estimate_* functions do (a zero denominator gives 0, not NaN); no rows
// gives NaN.
func (e Expected) Fill(m *Metrics) {
	if e.N == 0 {
		n := math.NaN()
		m.Accuracy, m.F1, m.Precision, m.Recall, m.Specificity = n, n, n, n, n
		m.TruePositive, m.FalsePositive, m.FalseNegative, m.TrueNegative = n, n, n, n
		return
	}
	m.TruePositive, m.FalsePositive, m.FalseNegative, m.TrueNegative = e.TP, e.FP, e.FN, e.TN
	m.Accuracy = (e.TP + e.TN) / float64(e.N)
	m.Precision = ratio(e.TP, e.TP+e.FP)
	m.Recall = ratio(e.TP, e.TP+e.FN)
	m.Specificity = ratio(e.TN, e.TN+e.FP)
	m.F1 = ratio(e.TP, e.TP+0.5*(e.FP+e.FN))
}
