package cbpe

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
)

// Num is a float64 that travels through JSON as null when it is NaN or
// infinite (a sampling-error component that cannot be computed).
type Num float64

// MarshalJSON implements json.Marshaler.
func (n Num) MarshalJSON() ([]byte, error) {
	v := float64(n)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, v, 'g', -1, 64), nil
}

// UnmarshalJSON implements json.Unmarshaler.
func (n *Num) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		*n = Num(math.NaN())
		return nil
	}
	v, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("cbpe: %q is not a number: %w", b, err)
	}
	*n = Num(v)
	return nil
}

// Components are NannyML's sampling-error components, computed once on the
// reference (nannyml/sampling_error/binary_classification.py). A chunk of n
// rows then has, for precision, recall, specificity, F1 and ROC AUC,
// std / sqrt(n × fraction); for accuracy std / sqrt(n); for each
// confusion-matrix cell std × sqrt(n) (counts, not rates); for average
// precision std × sqrt(sample / n).
type Components struct {
	AccuracyStd         Num `json:"accuracy_std"`
	PrecisionStd        Num `json:"precision_std"`
	PrecisionFraction   Num `json:"precision_fraction"`
	RecallStd           Num `json:"recall_std"`
	RecallFraction      Num `json:"recall_fraction"`
	SpecificityStd      Num `json:"specificity_std"`
	SpecificityFraction Num `json:"specificity_fraction"`
	F1Std               Num `json:"f1_std"`
	F1Fraction          Num `json:"f1_fraction"`
	ROCAUCStd           Num `json:"roc_auc_std"`
	ROCAUCFraction      Num `json:"roc_auc_fraction"`
	// Average precision: the standard deviation of the reference's AP over
	// bootstrap samples of APSample rows.
	APStd    Num `json:"average_precision_std"`
	APSample int `json:"average_precision_sample"`
	TPStd    Num `json:"true_positive_std"`
	FPStd    Num `json:"false_positive_std"`
	FNStd    Num `json:"false_negative_std"`
	TNStd    Num `json:"true_negative_std"`
}

// Reference is everything estimation needs from the labelled reference:
// the calibrator (when calibrated) and the sampling-error components. It
// is small (at most one threshold per distinct reference score) and is what
// a profile stores.
type Reference struct {
	// Rows are the reference rows fitted on; Invalid those left out (score
	// outside [0, 1] or NaN, label or prediction missing).
	Rows    int `json:"rows"`
	Invalid int `json:"invalid"`
	// Mode is the --calibration asked for, Calibrated what it decided.
	Mode       Calibration `json:"mode"`
	Calibrated bool        `json:"calibrated"`
	Calibrator *Isotonic   `json:"calibrator,omitempty"`
	Components Components  `json:"sampling_error"`
}

// Bootstrap settings of the average-precision sampling error, NannyML's
// N_EXPERIMENTS and MAX_RESAMPLE_SIZE. NannyML draws from numpy's unseeded
// global generator, so its AP sampling error varies from run to run;
// driftwatch draws from a PCG with apSeed, so its own is repeatable.
const (
	apExperiments = 50
	apMaxSample   = 50_000
	apSeed        = 20
)

// Fit fits the estimator on a labelled reference: scores, labels and
// predictions row by row (labels and predictions 1 positive, 0 negative,
// NaN missing). Rows with a score outside [0, 1], NaN, or a missing label
// or prediction are left out and counted. A reference without both classes
// is an error: nothing could be calibrated or estimated from it.
func Fit(scores, labels, preds []float64, mode Calibration) (*Reference, error) {
	if len(scores) != len(labels) || len(scores) != len(preds) {
		return nil, fmt.Errorf("cbpe: reference columns differ in length: %d scores, %d labels, %d predictions",
			len(scores), len(labels), len(preds))
	}
	if _, err := ParseCalibration(string(mode)); err != nil {
		return nil, err
	}
	s := make([]float64, 0, len(scores))
	y := make([]float64, 0, len(scores))
	p := make([]float64, 0, len(scores))
	for i := range scores {
		if !ValidScore(scores[i]) || !isClass(labels[i]) || !isClass(preds[i]) {
			continue
		}
		s, y, p = append(s, scores[i]), append(y, labels[i]), append(p, preds[i])
	}
	ref := &Reference{Rows: len(s), Invalid: len(scores) - len(s), Mode: mode}
	if len(s) == 0 {
		return nil, fmt.Errorf("cbpe: reference has no valid rows (all %d have a missing label or prediction or a score outside [0, 1])", len(scores))
	}
	pos := 0
	for _, v := range y {
		if v == 1 {
			pos++
		}
	}
	if pos == 0 || pos == len(y) {
		cls := "negative"
		if pos > 0 {
			cls = "positive"
		}
		return nil, fmt.Errorf("cbpe: reference labels hold one class only (all %d valid rows are %s)", len(y), cls)
	}
	switch mode {
	case CalibrationAlways:
		ref.Calibrated = true
	case CalibrationAuto:
		ref.Calibrated = NeedsCalibration(s, y)
	}
	if ref.Calibrated {
		iso, err := FitIsotonic(s, y)
		if err != nil {
			return nil, err
		}
		ref.Calibrator = iso
	}
	ref.Components = components(s, y, p)
	return ref, nil
}

// Validate checks a Reference decoded from a file.
func (r *Reference) Validate() error {
	if _, err := ParseCalibration(string(r.Mode)); err != nil {
		return err
	}
	if r.Calibrated {
		if r.Calibrator == nil {
			return fmt.Errorf("cbpe: reference is marked calibrated but holds no calibrator")
		}
		return r.Calibrator.validate()
	}
	return nil
}

// Calibrate maps a raw score to the probability the estimate uses (the raw
// score when not calibrated), for a stream that calibrates per event.
func (r *Reference) Calibrate(s float64) float64 {
	if r.Calibrated {
		return r.Calibrator.Calibrate(s)
	}
	return s
}

func isClass(v float64) bool { return v == 0 || v == 1 }

// binaryStd is numpy.std of a vector of ones ones and zeros zeros.
func binaryStd(ones, zeros int) float64 {
	n := float64(ones + zeros)
	if n == 0 {
		return math.NaN()
	}
	mean := float64(ones) / n
	return math.Sqrt((float64(ones)*(1-mean)*(1-mean) + float64(zeros)*mean*mean) / n)
}

// components computes NannyML's sampling-error components on valid rows.
func components(s, y, p []float64) Components {
	var tp, fp, fn, tn, predPos, labelPos int
	for i := range y {
		switch {
		case y[i] == 1 && p[i] == 1:
			tp++
		case y[i] == 0 && p[i] == 1:
			fp++
		case y[i] == 1 && p[i] == 0:
			fn++
		default:
			tn++
		}
		if p[i] == 1 {
			predPos++
		}
		if y[i] == 1 {
			labelPos++
		}
	}
	n := len(y)
	fn64 := float64(n)
	c := Components{
		AccuracyStd:         Num(binaryStd(tp+tn, fp+fn)),
		PrecisionStd:        Num(binaryStd(tp, fp)),
		PrecisionFraction:   Num(float64(predPos) / fn64),
		RecallStd:           Num(binaryStd(tp, fn)),
		RecallFraction:      Num(float64(labelPos) / fn64),
		SpecificityStd:      Num(binaryStd(tn, fp)),
		SpecificityFraction: Num(float64(tn+fp) / fn64),
		TPStd:               Num(binaryStd(tp, n-tp)),
		FPStd:               Num(binaryStd(fp, n-fp)),
		FNStd:               Num(binaryStd(fn, n-fn)),
		TNStd:               Num(binaryStd(tn, n-tn)),
	}
	// F1: TP ones, FN and FP zeros, scaled by len / (TP + (FN+FP)/2).
	if rel := tp + fn + fp; rel > 0 {
		cf := float64(rel) / (float64(fn+fp)*0.5 + float64(tp))
		c.F1Std = Num(binaryStd(tp, fn+fp) * cf)
		c.F1Fraction = Num(float64(rel) / fn64)
	} else {
		c.F1Std, c.F1Fraction = Num(math.NaN()), 0
	}
	c.ROCAUCStd, c.ROCAUCFraction = aucComponents(s, y)
	c.APStd, c.APSample = apComponents(s, y)
	return c
}

// aucComponents is NannyML's auroc_sampling_error_components: the AUC as a
// Mann-Whitney statistic, the spread of each positive's share of negatives
// ranked below it. Ranks come from numpy's (unstable) argsort, as NannyML's.
func aucComponents(s, y []float64) (Num, Num) {
	n := len(y)
	var pos float64
	for _, v := range y {
		pos += v
	}
	ys, ss := y, s
	if pos/float64(n) > 0.5 {
		ys = make([]float64, n)
		ss = make([]float64, n)
		for i := range y {
			ys[i] = math.Abs(y[i] - 1)
			ss[i] = 1 - s[i]
		}
		pos = float64(n) - pos
	}
	order := argsort(ss)
	// np.unique(y * rank)[1:]: the positives' ranks, without the smallest
	// value of the set (0, from the negatives or a positive ranked first).
	var ser []float64
	for rank, i := range order {
		if ys[i] == 1 && rank > 0 {
			ser = append(ser, float64(rank-len(ser)))
		}
	}
	neg := float64(n) - pos
	var sum float64
	for i := range ser {
		ser[i] /= neg
		sum += ser[i]
	}
	mean := sum / float64(len(ser))
	var ss2 float64
	for _, v := range ser {
		ss2 += (v - mean) * (v - mean)
	}
	return Num(math.Sqrt(ss2 / float64(len(ser)))), Num(pos / float64(n))
}

// apComponents is NannyML's ap_sampling_error_components: the standard
// deviation of the average precision over bootstrap samples of half the
// reference (at most apMaxSample rows). A sample is drawn as a count per
// reference row, so its AP is one pass over the reference sorted once.
func apComponents(s, y []float64) (Num, int) {
	return apComponentsRNG(s, y, rand.New(rand.NewPCG(apSeed, uint64(len(y)))))
}

func apComponentsRNG(s, y []float64, rng *rand.Rand) (Num, int) {
	size := min(len(y)/2, apMaxSample)
	if size == 0 {
		return Num(math.NaN()), 0
	}
	// Rows grouped by distinct score, highest first; a draw of row i
	// counts in its group's negative or positive tally, code[i] =
	// 2·group + label.
	code := scoreGroups(s, y)
	groups := 0
	for _, c := range code {
		groups = max(groups, int(c)/2+1)
	}
	counts := make([]int32, 2*groups)
	aps := make([]float64, apExperiments)
	for e := range aps {
		clear(counts)
		for range size {
			counts[code[rng.IntN(len(y))]]++
		}
		aps[e] = weightedAP(counts)
	}
	var sum float64
	for _, v := range aps {
		sum += v
	}
	mean := sum / float64(len(aps))
	var ss2 float64
	for _, v := range aps {
		ss2 += (v - mean) * (v - mean)
	}
	return Num(math.Sqrt(ss2 / float64(len(aps)))), size
}

// scoreGroups numbers the distinct scores from the highest (0) down and
// returns 2·group + label for every row.
func scoreGroups(s, y []float64) []int32 {
	order := make([]int32, len(s))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int {
		switch {
		case s[a] > s[b]:
			return -1
		case s[a] < s[b]:
			return 1
		}
		return 0
	})
	code := make([]int32, len(s))
	g := int32(0)
	for k, i := range order {
		if k > 0 && s[i] != s[order[k-1]] {
			g++
		}
		code[i] = 2*g + int32(y[i])
	}
	return code
}

// weightedAP is averagePrecision of a sample given as tallies per distinct
// score, highest first: counts[2g] negatives and counts[2g+1] positives of
// group g.
func weightedAP(counts []int32) float64 {
	var P float64
	for g := 1; g < len(counts); g += 2 {
		P += float64(counts[g])
	}
	if P == 0 {
		return 0
	}
	var tp, fp, ap, prevR float64
	for g := 0; g+1 < len(counts); g += 2 {
		tp += float64(counts[g+1])
		fp += float64(counts[g])
		if tp+fp == 0 {
			continue // no sampled row this high yet
		}
		r := tp / P
		ap += (r - prevR) * (tp / (tp + fp))
		prevR = r
		if tp == P {
			break
		}
	}
	return ap
}
