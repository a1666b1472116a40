package cbpe

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// Multiclass estimation, NannyML's one-vs-rest: class k's scores get their
// own calibrator (decided as for binary on "label is k" against score k),
// every row's calibrated scores are divided by their sum (1/K each when the
// sum is 0), and each metric is the mean over classes of the binary
// estimate for "class k" (accuracy: the mean calibrated score of the
// predicted class). Classes are numbered 0..K-1 by the caller (NannyML
// sorts them by name); scores are given per class, scores[k][row].

// VarFrac is one class's sampling-error component: a variance and the
// fraction of rows it applies to (for average precision, Fraction is the
// bootstrap sample size).
type VarFrac struct {
	Var      Num `json:"var"`
	Fraction Num `json:"fraction"`
}

// MultiComponents are NannyML's multiclass sampling-error components
// (nannyml/sampling_error/multiclass_classification.py): per class for
// ROC AUC, F1, precision, recall, specificity and average precision, one
// standard deviation for accuracy.
type MultiComponents struct {
	ROCAUC      []VarFrac `json:"roc_auc"`
	F1          []VarFrac `json:"f1"`
	Precision   []VarFrac `json:"precision"`
	Recall      []VarFrac `json:"recall"`
	Specificity []VarFrac `json:"specificity"`
	AP          []VarFrac `json:"average_precision"`
	AccuracyStd Num       `json:"accuracy_std"`
}

// MultiReference is the fitted multiclass estimator.
type MultiReference struct {
	Classes int         `json:"classes"`
	Rows    int         `json:"rows"`
	Invalid int         `json:"invalid"`
	Mode    Calibration `json:"mode"`
	// Calibrators[k] is nil when class k's scores are not calibrated.
	Calibrators []*Isotonic     `json:"calibrators"`
	Components  MultiComponents `json:"sampling_error"`
}

// isClassOf reports whether v is a class number below k.
func isClassOf(v float64, k int) bool { return v >= 0 && v < float64(k) && v == math.Trunc(v) }

// validMultiRow reports whether row i has a valid score for every class.
func validMultiRow(scores [][]float64, i int) bool {
	for _, s := range scores {
		if !ValidScore(s[i]) {
			return false
		}
	}
	return true
}

// FitMulti fits the multiclass estimator on a labelled reference: scores
// per class, labels and predictions as class numbers (NaN missing). Rows
// with any score outside [0, 1], or a label or prediction missing or out of
// range, are left out and counted. Every class must occur among the labels.
func FitMulti(scores [][]float64, labels, preds []float64, mode Calibration) (*MultiReference, error) {
	k := len(scores)
	if k < 3 {
		return nil, fmt.Errorf("cbpe: multiclass estimation needs at least 3 classes, got %d", k)
	}
	if _, err := ParseCalibration(string(mode)); err != nil {
		return nil, err
	}
	n := len(labels)
	for c, s := range scores {
		if len(s) != n {
			return nil, fmt.Errorf("cbpe: class %d has %d scores for %d labels", c, len(s), n)
		}
	}
	if len(preds) != n {
		return nil, fmt.Errorf("cbpe: %d predictions for %d labels", len(preds), n)
	}
	var rows []int
	for i := range n {
		if validMultiRow(scores, i) && isClassOf(labels[i], k) && isClassOf(preds[i], k) {
			rows = append(rows, i)
		}
	}
	r := &MultiReference{Classes: k, Rows: len(rows), Invalid: n - len(rows), Mode: mode, Calibrators: make([]*Isotonic, k)}
	if len(rows) == 0 {
		return nil, fmt.Errorf("cbpe: reference has no valid rows (all %d have a missing label or prediction or a score outside [0, 1])", n)
	}
	y := make([]float64, len(rows))
	pr := make([]float64, len(rows))
	ys := make([][]float64, k) // binarized labels per class
	ss := make([][]float64, k)
	ps := make([][]float64, k)
	for c := range k {
		ys[c], ss[c], ps[c] = make([]float64, len(rows)), make([]float64, len(rows)), make([]float64, len(rows))
	}
	for j, i := range rows {
		y[j], pr[j] = labels[i], preds[i]
		for c := range k {
			ss[c][j] = scores[c][i]
			if labels[i] == float64(c) {
				ys[c][j] = 1
			}
			if preds[i] == float64(c) {
				ps[c][j] = 1
			}
		}
	}
	for c := range k {
		if !slices.Contains(ys[c], 1) {
			return nil, fmt.Errorf("cbpe: reference labels never hold class %d of %d", c, k)
		}
	}
	for c := range k {
		calibrate := mode == CalibrationAlways || (mode == CalibrationAuto && NeedsCalibration(ss[c], ys[c]))
		if calibrate {
			iso, err := FitIsotonic(ss[c], ys[c])
			if err != nil {
				return nil, err
			}
			r.Calibrators[c] = iso
		}
	}
	r.Components = multiComponents(ss, ys, ps, y, pr)
	return r, nil
}

// Validate checks a MultiReference decoded from a file.
func (r *MultiReference) Validate() error {
	if _, err := ParseCalibration(string(r.Mode)); err != nil {
		return err
	}
	if r.Classes < 3 || len(r.Calibrators) != r.Classes {
		return fmt.Errorf("cbpe: multiclass reference has %d classes and %d calibrators", r.Classes, len(r.Calibrators))
	}
	for _, c := range r.Calibrators {
		if c != nil {
			if err := c.validate(); err != nil {
				return err
			}
		}
	}
	for _, vs := range [][]VarFrac{r.Components.ROCAUC, r.Components.F1, r.Components.Precision, r.Components.Recall,
		r.Components.Specificity, r.Components.AP} {
		if len(vs) != r.Classes {
			return fmt.Errorf("cbpe: multiclass sampling-error components for %d classes, want %d", len(vs), r.Classes)
		}
	}
	return nil
}

func binaryVar(ones, zeros int) Num {
	s := binaryStd(ones, zeros)
	return Num(s * s)
}

func multiComponents(ss, ys, ps [][]float64, y, pr []float64) MultiComponents {
	k, n := len(ss), len(y)
	nf := float64(n)
	var m MultiComponents
	correct := 0
	for i := range y {
		if y[i] == pr[i] {
			correct++
		}
	}
	m.AccuracyStd = Num(binaryStd(correct, n-correct))
	for c := range k {
		var tp, fp, fn, tn, predPos, labelPos int
		for i := range y {
			yt, yp := ys[c][i] == 1, ps[c][i] == 1
			switch {
			case yt && yp:
				tp++
			case !yt && yp:
				fp++
			case yt && !yp:
				fn++
			default:
				tn++
			}
			if yp {
				predPos++
			}
			if yt {
				labelPos++
			}
		}
		m.F1 = append(m.F1, VarFrac{binaryVar(tp, fn+fp), Num(float64(tp+fn+fp) / nf)})
		m.Precision = append(m.Precision, VarFrac{binaryVar(tp, fp), Num(float64(predPos) / nf)})
		m.Recall = append(m.Recall, VarFrac{binaryVar(tp, fn), Num(float64(labelPos) / nf)})
		m.Specificity = append(m.Specificity, VarFrac{binaryVar(tn, fp), Num(float64(tn+fp) / nf)})
		std, frac := aucComponents(ss[c], ys[c])
		m.ROCAUC = append(m.ROCAUC, VarFrac{std * std, frac})
		apStd, size := apComponentsSeeded(ss[c], ys[c], uint64(c))
		m.AP = append(m.AP, VarFrac{apStd * apStd, Num(size)})
	}
	return m
}

// calibrateRow sets dst to row i's calibrated scores divided by their sum.
func (r *MultiReference) calibrateRow(dst []float64, scores [][]float64, i int) {
	var sum float64
	for c := range dst {
		v := scores[c][i]
		if cal := r.Calibrators[c]; cal != nil {
			v = cal.Calibrate(v)
		}
		dst[c] = v
		sum += v
	}
	for c := range dst {
		if sum != 0 {
			dst[c] /= sum
		} else {
			dst[c] = 1 / float64(len(dst))
		}
	}
}

// Estimate estimates one chunk's macro metrics from per-class scores and
// predictions (class numbers, NaN missing). The confusion-matrix counts
// are binary-only and stay NaN.
func (r *MultiReference) Estimate(scores [][]float64, preds []float64) Chunk {
	k := r.Classes
	var rows []int
	for i := range preds {
		if validMultiRow(scores, i) && isClassOf(preds[i], k) {
			rows = append(rows, i)
		}
	}
	c := Chunk{Rows: len(rows), Invalid: len(preds) - len(rows), Estimated: NaNMetrics(), SamplingError: NaNMetrics()}
	if len(rows) == 0 {
		return c
	}
	n := len(rows)
	cal := make([][]float64, k) // calibrated, normalised: cal[class][row]
	raw := make([][]float64, k)
	for cl := range k {
		cal[cl], raw[cl] = make([]float64, n), make([]float64, n)
	}
	row := make([]float64, k)
	var acc float64
	for j, i := range rows {
		r.calibrateRow(row, scores, i)
		for cl := range k {
			cal[cl][j], raw[cl][j] = row[cl], scores[cl][i]
		}
		acc += row[int(preds[i])]
	}
	m := &c.Estimated
	m.Accuracy = acc / float64(n)
	m.ROCAUC, m.F1, m.Precision, m.Recall, m.Specificity, m.AveragePrecision = 0, 0, 0, 0, 0, 0
	ordered := make([]float64, n)
	for cl := range k {
		var e Expected
		for j, i := range rows {
			e.Add(cal[cl][j], preds[i] == float64(cl))
		}
		var bm Metrics
		e.Fill(&bm)
		m.F1 += bm.F1 / float64(k)
		m.Precision += bm.Precision / float64(k)
		m.Recall += bm.Recall / float64(k)
		m.Specificity += bm.Specificity / float64(k)
		// NannyML orders by np.argsort(raw)[::-1]: after normalisation
		// equal raw scores can have different calibrated ones, so the tie
		// order is numpy's.
		order := argsort(raw[cl])
		for j := range ordered {
			ordered[j] = cal[cl][order[n-1-j]]
		}
		m.ROCAUC += EstimatedROCAUC(ordered) / float64(k)
		m.AveragePrecision += EstimatedAveragePrecision(ordered) / float64(k)
	}
	c.SamplingError = r.SamplingError(n)
	return c
}

// SamplingError is NannyML's multiclass sampling error for n rows.
func (r *MultiReference) SamplingError(n int) Metrics {
	nf := float64(n)
	k := float64(r.Classes)
	sdv := func(vs []VarFrac) float64 { // _standard_deviation_of_variances
		var sum float64
		for _, v := range vs {
			sum += float64(v.Var) / (nf * float64(v.Fraction))
		}
		return math.Sqrt(sum) / k
	}
	var ap float64
	for _, v := range r.Components.AP {
		ap += float64(v.Var) * float64(v.Fraction) / nf
	}
	m := NaNMetrics()
	m.ROCAUC = sdv(r.Components.ROCAUC) * 1.2 // NannyML's adjustment for underestimation
	m.F1 = sdv(r.Components.F1)
	m.Precision = sdv(r.Components.Precision)
	m.Recall = sdv(r.Components.Recall)
	m.Specificity = sdv(r.Components.Specificity)
	m.Accuracy = float64(r.Components.AccuracyStd) / math.Sqrt(nf)
	m.AveragePrecision = math.Sqrt(ap / k)
	return m
}

// RealizedMulti computes a chunk's macro metrics from its labels as NannyML
// does (scikit-learn's, one-vs-rest): rows valid for Estimate with a label.
// Accuracy, F1, precision and recall are NaN when labels or predictions
// hold one class; ROC AUC and average precision unless every class occurs
// among the labels (and ROC AUC unless each row's scores sum to 1, as
// scikit-learn requires).
func RealizedMulti(scores [][]float64, preds, labels []float64) (m Metrics, labelled int) {
	k := len(scores)
	var rows []int
	for i := range labels {
		if validMultiRow(scores, i) && isClassOf(preds[i], k) && isClassOf(labels[i], k) {
			rows = append(rows, i)
		}
	}
	m = NaNMetrics()
	if len(rows) == 0 {
		return m, 0
	}
	n := len(rows)
	labelSeen, predSeen := make([]int, k), make([]int, k)
	tp := make([]int, k)
	correct := 0
	sumsToOne := true
	for _, i := range rows {
		l, p := int(labels[i]), int(preds[i])
		labelSeen[l]++
		predSeen[p]++
		if l == p {
			tp[l]++
			correct++
		}
		var sum float64
		for c := range k {
			sum += scores[c][i]
		}
		if math.Abs(sum-1) > 1e-8+1e-5 { // numpy.allclose(1, sum)
			sumsToOne = false
		}
	}
	distinct := func(counts []int) int {
		d := 0
		for _, c := range counts {
			if c > 0 {
				d++
			}
		}
		return d
	}
	if distinct(labelSeen) > 1 && distinct(predSeen) > 1 {
		m.Accuracy = float64(correct) / float64(n)
		var f1, prec, rec, spec float64
		for c := range k {
			p := ratio(float64(tp[c]), float64(predSeen[c]))
			r := ratio(float64(tp[c]), float64(labelSeen[c]))
			prec += p / float64(k)
			rec += r / float64(k)
			f1 += ratio(2*p*r, p+r) / float64(k)
			fp := predSeen[c] - tp[c]
			tn := n - labelSeen[c] - fp
			spec += float64(tn) / float64(tn+fp) / float64(k)
		}
		m.F1, m.Precision, m.Recall, m.Specificity = f1, prec, rec, spec
	}
	if distinct(labelSeen) == k {
		var auc, ap float64
		s := make([]float64, n)
		y := make([]float64, n)
		for c := range k {
			for j, i := range rows {
				s[j] = scores[c][i]
				y[j] = 0
				if labels[i] == float64(c) {
					y[j] = 1
				}
			}
			auc += rocAUC(s, y) / float64(k)
			ap += averagePrecision(s, y) / float64(k)
		}
		m.AveragePrecision = ap
		if sumsToOne {
			m.ROCAUC = auc
		}
	}
	return m, n
}

// apComponentsSeeded is apComponents with the class number in the seed, so
// classes draw different samples.
func apComponentsSeeded(s, y []float64, class uint64) (Num, int) {
	return apComponentsRNG(s, y, rand.New(rand.NewPCG(apSeed+class+1, uint64(len(y)))))
}
