package cbpe

import (
	"math"
	"slices"

	"driftwatch/stats"
)

// Calibration decision (CalibrationAuto), NannyML's needs_calibration
// exactly, deterministic because its randomness is seeded:
//
//  1. Labels of one class: no calibration. A reference ROC AUC of the raw
//     scores above 0.999: none either.
//  2. StratifiedShuffleSplit(n_splits=10, test_size=0.1, random_state=42)
//     over the reference rows in file order, reproduced with numpy's legacy
//     MT19937 generator (numpy.go). On each split an isotonic calibrator is
//     fitted on the train rows and applied to the test rows; the ten test
//     sets are concatenated.
//  3. The concatenation is sorted by score (numpy's argsort, ties in its
//     order) and cut into 10 bins of equal row count (the last takes the
//     remainder); the expected calibration error is Σ weight × |mean score −
//     mean label| over the bins, once for the raw scores and once for the
//     calibrated ones.
//  4. Calibrate when the raw error is strictly larger. When the split is
//     impossible (a class with fewer than two rows, fewer than twenty test
//     rows in all) the scores are not calibrated.
const (
	calibrationSplits   = 10
	calibrationTestSize = 0.1
	calibrationSeed     = 42
	calibrationBins     = 10
	calibrationMaxAUC   = 0.999
)

// NeedsCalibration reports whether calibrating scores (labels 0/1, no NaN)
// lowers the expected calibration error, as NannyML decides it (see above).
func NeedsCalibration(scores, labels []float64) bool {
	pos := 0
	for _, v := range labels {
		if v == 1 {
			pos++
		}
	}
	if pos == 0 || pos == len(labels) {
		return false
	}
	if rocAUC(scores, labels) > calibrationMaxAUC {
		return false
	}
	before, after := eceOfSplits(scores, labels)
	return before > after
}

// eceOfSplits returns the expected calibration errors of the raw and the
// calibrated scores over NannyML's ten test splits; NaN when the split or
// the bins are impossible (NaN > NaN is false: no calibration).
func eceOfSplits(scores, labels []float64) (before, after float64) {
	cls := make([]int, len(labels))
	for i, v := range labels {
		if v == 1 {
			cls[i] = 1
		}
	}
	trains, tests, ok := stratifiedShuffleSplit(cls, 2, calibrationSplits, calibrationTestSize, calibrationSeed)
	if !ok {
		return math.NaN(), math.NaN()
	}
	var yt, raw, cal []float64
	for k := range tests {
		xs := make([]float64, len(trains[k]))
		ys := make([]float64, len(trains[k]))
		for j, i := range trains[k] {
			xs[j], ys[j] = scores[i], labels[i]
		}
		iso, err := FitIsotonic(xs, ys)
		if err != nil {
			return math.NaN(), math.NaN()
		}
		for _, i := range tests[k] {
			yt = append(yt, labels[i])
			raw = append(raw, scores[i])
			cal = append(cal, iso.Calibrate(scores[i]))
		}
	}
	edges, ok := binEdges(len(yt), calibrationBins)
	if !ok {
		return math.NaN(), math.NaN()
	}
	return ece(yt, raw, edges), ece(yt, cal, edges)
}

// binEdges is NannyML's _get_bin_index_edges: multiples of n/bins (floor)
// up to n, the last replaced by n.
func binEdges(n, bins int) ([]int, bool) {
	if n <= 2*bins {
		bins = n / 2
		if bins < 2 {
			return nil, false
		}
	}
	w := n / bins
	var edges []int
	for e := 0; e <= n; e += w {
		edges = append(edges, e)
	}
	edges[len(edges)-1] = n
	return edges, true
}

// ece is NannyML's _calculate_expected_calibration_error over row-count
// bins of the rows sorted by probability.
func ece(y, p []float64, edges []int) float64 {
	order := argsort(p)
	var total float64
	for b := 1; b < len(edges); b++ {
		lo, hi := edges[b-1], edges[b]
		var sp, sy float64
		for _, i := range order[lo:hi] {
			sp += p[i]
			sy += y[i]
		}
		k := float64(hi - lo)
		total += k / float64(len(p)) * math.Abs(sp/k-sy/k)
	}
	return total
}

// Chunk is one chunk's estimate.
type Chunk struct {
	// Rows are the chunk's valid rows, Invalid the ones left out (score
	// outside [0, 1] or NaN, prediction missing or not one of the classes).
	Rows, Invalid int
	Estimated     Metrics
	// SamplingError is NannyML's standard error of each estimate for a
	// chunk of Rows rows.
	SamplingError Metrics
}

// Estimate estimates the metrics of one chunk from its scores and
// predictions (1 positive, 0 negative, NaN missing).
func (r *Reference) Estimate(scores, preds []float64) Chunk {
	// Raw scores of predicted positives and negatives, each sorted once:
	// calibrating a sorted run is one walk over the thresholds, the
	// expected matrix sums each side, and merging the two gives NannyML's
	// order by raw score for ROC AUC and AP. Equal raw scores have equal
	// calibrated ones, so the order within ties changes nothing.
	var np, nn int
	for i, s := range scores {
		switch {
		case !ValidScore(s):
		case preds[i] == 1:
			np++
		case preds[i] == 0:
			nn++
		}
	}
	pos, neg := make([]float64, 0, np), make([]float64, 0, nn)
	for i, s := range scores {
		switch {
		case !ValidScore(s):
		case preds[i] == 1:
			pos = append(pos, s)
		case preds[i] == 0:
			neg = append(neg, s)
		}
	}
	n := len(pos) + len(neg)
	c := Chunk{Rows: n, Invalid: len(scores) - n}
	if n == 0 {
		c.Estimated, c.SamplingError = NaNMetrics(), NaNMetrics()
		return c
	}
	scratch := stats.SortFloat64s(pos, make([]uint64, 2*max(np, nn)))
	stats.SortFloat64s(neg, scratch)
	calPos, calNeg := r.calibrateDescending(pos), r.calibrateDescending(neg)
	var e Expected
	for _, p := range calPos {
		e.Add(p, true)
	}
	for _, p := range calNeg {
		e.Add(p, false)
	}
	e.Fill(&c.Estimated)
	cal := make([]float64, 0, n)
	i, j := len(pos)-1, len(neg)-1 // pos[i] is calPos[len(pos)-1-i]
	for i >= 0 || j >= 0 {
		if j < 0 || (i >= 0 && pos[i] >= neg[j]) {
			cal = append(cal, calPos[len(pos)-1-i])
			i--
		} else {
			cal = append(cal, calNeg[len(neg)-1-j])
			j--
		}
	}
	c.Estimated.ROCAUC = EstimatedROCAUC(cal)
	c.Estimated.AveragePrecision = EstimatedAveragePrecision(cal)
	c.SamplingError = r.SamplingError(n)
	return c
}

// calibrateDescending returns the calibrated values of asc (sorted
// ascending), from the highest score down.
func (r *Reference) calibrateDescending(asc []float64) []float64 {
	out := make([]float64, len(asc))
	if r.Calibrated {
		r.Calibrator.calibrateDescending(out, asc)
		return out
	}
	for i := range out {
		out[i] = asc[len(asc)-1-i]
	}
	return out
}

// SamplingError is NannyML's sampling error of each metric for a chunk or
// window of n rows.
func (r *Reference) SamplingError(n int) Metrics {
	c := r.Components
	nf := float64(n)
	univ := func(std, frac Num) float64 { return float64(std) / math.Sqrt(nf*float64(frac)) }
	cell := func(std Num) float64 { return float64(std) / math.Sqrt(nf) * nf }
	return Metrics{
		ROCAUC:           univ(c.ROCAUCStd, c.ROCAUCFraction),
		Accuracy:         float64(c.AccuracyStd) / math.Sqrt(nf),
		F1:               univ(c.F1Std, c.F1Fraction),
		Precision:        univ(c.PrecisionStd, c.PrecisionFraction),
		Recall:           univ(c.RecallStd, c.RecallFraction),
		Specificity:      univ(c.SpecificityStd, c.SpecificityFraction),
		AveragePrecision: float64(c.APStd) * math.Sqrt(float64(c.APSample)/nf),
		TruePositive:     cell(c.TPStd),
		FalsePositive:    cell(c.FPStd),
		FalseNegative:    cell(c.FNStd),
		TrueNegative:     cell(c.TNStd),
	}
}

// round5 is numpy.round(x, 5): scale, round half to even, unscale.
func round5(x float64) float64 { return math.RoundToEven(x*1e5) / 1e5 }

// EstimatedROCAUC is NannyML's estimate_roc_auc over calibrated scores
// already ordered by raw score, descending: expected true positives are the
// running sum of the calibrated scores, expected false positives the rows
// so far minus that, both from a leading 0, rounded to 5 decimals and
// divided by their last value; the area is the trapezoid rule's. NaN when
// either last value is 0 (every score 0 or every score 1).
func EstimatedROCAUC(cal []float64) float64 {
	var tps, prevTPR, prevFPR, area float64
	n := len(cal)
	if n == 0 {
		return math.NaN()
	}
	// The last (rounded) values normalise every point.
	for _, p := range cal {
		tps += p
	}
	tpsN := round5(tps)
	fpsN := round5(float64(n) - tps)
	tps = 0
	for i, p := range cal {
		tps += p
		tpr := round5(tps) / tpsN
		fpr := round5(float64(i+1)-tps) / fpsN
		if fpr < prevFPR {
			// scikit-learn's auc refuses a non-monotonic x.
			return math.NaN()
		}
		area += (fpr - prevFPR) * (tpr + prevTPR) / 2
		prevTPR, prevFPR = tpr, fpr
	}
	return area
}

// EstimatedAveragePrecision is NannyML's estimate_ap over calibrated scores
// ordered by raw score, descending: precision at k is the rounded running
// sum of calibrated scores over k, recall that sum over its total, and the
// AP Σ (recall_k − recall_(k−1)) × precision_k.
func EstimatedAveragePrecision(cal []float64) float64 {
	n := len(cal)
	if n == 0 {
		return math.NaN()
	}
	var total float64
	for _, p := range cal {
		total += p
	}
	tpsN := round5(total)
	var tps, prevRecall, ap float64
	for i, p := range cal {
		tps += p
		t := round5(tps)
		recall := t / tpsN
		ap += (recall - prevRecall) * (t / float64(i+1))
		prevRecall = recall
	}
	return ap
}

// Realized computes the metrics of a chunk from its labels, as NannyML's
// realized performance (scikit-learn's metrics): rows with a valid score and
// prediction (as for Estimate) and a label. Precision, recall and F1 are NaN
// when labels or predictions hold one class, specificity when there is no
// negative label, ROC AUC with one class of labels, average precision
// without a positive label. labelled is the number of rows used.
func Realized(scores, preds, labels []float64) (m Metrics, labelled int) {
	var s, y []float64
	var tp, fp, fn, tn int
	for i := range scores {
		if !ValidScore(scores[i]) || !isClass(preds[i]) || !isClass(labels[i]) {
			continue
		}
		s, y = append(s, scores[i]), append(y, labels[i])
		switch {
		case labels[i] == 1 && preds[i] == 1:
			tp++
		case labels[i] == 0 && preds[i] == 1:
			fp++
		case labels[i] == 1 && preds[i] == 0:
			fn++
		default:
			tn++
		}
	}
	n := len(y)
	if n == 0 {
		return NaNMetrics(), 0
	}
	m = NaNMetrics()
	m.TruePositive, m.FalsePositive, m.FalseNegative, m.TrueNegative = float64(tp), float64(fp), float64(fn), float64(tn)
	m.Accuracy = float64(tp+tn) / float64(n)
	labelsBoth := tp+fn > 0 && fp+tn > 0
	predsBoth := tp+fp > 0 && fn+tn > 0
	if labelsBoth && predsBoth {
		m.Precision = ratio(float64(tp), float64(tp+fp))
		m.Recall = ratio(float64(tp), float64(tp+fn))
		m.F1 = ratio(2*m.Precision*m.Recall, m.Precision+m.Recall)
	}
	if tn+fp > 0 {
		m.Specificity = float64(tn) / float64(tn+fp)
	}
	if labelsBoth {
		m.ROCAUC = rocAUC(s, y)
	}
	if tp+fn > 0 {
		m.AveragePrecision = averagePrecision(s, y)
	}
	return m, n
}

// curve is scikit-learn's _binary_clf_curve: cumulative true and false
// positives at each distinct score, from the highest.
func curve(s, y []float64) (tps, fps []float64) {
	type row struct{ s, y float64 }
	rows := make([]row, len(s))
	for i := range s {
		rows[i] = row{s[i], y[i]}
	}
	// Labels are 0 or 1, so sums within a tie are exact in any order.
	slices.SortFunc(rows, func(a, b row) int {
		switch {
		case a.s > b.s:
			return -1
		case a.s < b.s:
			return 1
		}
		return 0
	})
	var tp, fp float64
	for k, r := range rows {
		tp += r.y
		fp += 1 - r.y
		if k == len(rows)-1 || rows[k+1].s != r.s {
			tps, fps = append(tps, tp), append(fps, fp)
		}
	}
	return tps, fps
}

// rocAUC is scikit-learn's roc_auc_score for binary labels: the trapezoid
// area under the ROC curve through the distinct scores (ties count half).
func rocAUC(s, y []float64) float64 {
	tps, fps := curve(s, y)
	P, N := tps[len(tps)-1], fps[len(fps)-1]
	if P == 0 || N == 0 {
		return math.NaN()
	}
	var area, prevT, prevF float64
	for i := range tps {
		t, f := tps[i]/P, fps[i]/N
		area += (f - prevF) * (t + prevT) / 2
		prevT, prevF = t, f
	}
	return area
}

// averagePrecision is scikit-learn's average_precision_score: Σ (R_k −
// R_(k−1)) P_k over the distinct scores from the highest, stopping at full
// recall. 0 without a positive label (scikit-learn warns and its recall is
// undefined; NannyML does not ask).
func averagePrecision(s, y []float64) float64 {
	tps, fps := curve(s, y)
	P := tps[len(tps)-1]
	if P == 0 {
		return 0
	}
	var ap, prevR float64
	for i := range tps {
		r := tps[i] / P
		ap += (r - prevR) * (tps[i] / (tps[i] + fps[i]))
		prevR = r
		if tps[i] == P {
			break
		}
	}
	return ap
}
