package stats

import (
	"math"
	"slices"
	"sort"
)

// ClassMetrics is one class's one-vs-rest precision, recall and F1.
type ClassMetrics struct {
	Class     string  `json:"class"`
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	F1        float64 `json:"f1"`
	Support   int     `json:"support"`
}

// Classification holds classification quality; score-based metrics are NaN
// when not computable (no scores, or a single class present for AUC).
type Classification struct {
	Rows                                           int
	Accuracy, PrecisionMacro, RecallMacro, F1Macro float64
	PerClass                                       []ClassMetrics // sorted by class name
	ROCAUC, LogLoss, Brier, ECE                    float64
}

// logLossEps is scikit-learn 1.2's clip: float64 machine epsilon.
const logLossEps = 2.220446049250313e-16

// eceBins is the number of equal-width score bins of the ECE.
const eceBins = 10

// ClassificationMetrics computes scikit-learn's accuracy, per-class and macro
// precision/recall/F1 (zero_division=0, classes = sorted union of labels and
// predictions), and, given scores (the probability of class positive, binary
// only), ROC AUC, log loss, Brier score and ECE. Rows whose label or
// prediction is "" (null) are skipped, and so are rows with a NaN score.
func ClassificationMetrics(labels, preds []string, scores []float64, positive string) Classification {
	nan := math.NaN()
	c := Classification{ROCAUC: nan, LogLoss: nan, Brier: nan, ECE: nan}
	type tally struct{ tp, fp, fn float64 }
	per := map[string]*tally{}
	get := func(k string) *tally {
		t := per[k]
		if t == nil {
			t = &tally{}
			per[k] = t
		}
		return t
	}
	correct := 0
	for i := range labels {
		y, p := labels[i], preds[i]
		if y == "" || p == "" {
			continue
		}
		c.Rows++
		if y == p {
			correct++
			get(y).tp++
		} else {
			get(p).fp++
			get(y).fn++
		}
	}
	if c.Rows == 0 {
		c.Accuracy, c.PrecisionMacro, c.RecallMacro, c.F1Macro = nan, nan, nan, nan
	} else {
		c.Accuracy = float64(correct) / float64(c.Rows)
		classes := make([]string, 0, len(per))
		for k := range per {
			classes = append(classes, k)
		}
		sort.Strings(classes)
		k := float64(len(classes))
		for _, name := range classes {
			t := per[name]
			prec, rec, f1 := 0.0, 0.0, 0.0
			if t.tp+t.fp > 0 {
				prec = t.tp / (t.tp + t.fp)
			}
			if t.tp+t.fn > 0 {
				rec = t.tp / (t.tp + t.fn)
			}
			if prec+rec > 0 {
				f1 = 2 * prec * rec / (prec + rec)
			}
			c.PerClass = append(c.PerClass, ClassMetrics{Class: name, Precision: prec, Recall: rec, F1: f1, Support: int(t.tp + t.fn)})
			c.PrecisionMacro += prec
			c.RecallMacro += rec
			c.F1Macro += f1
		}
		c.PrecisionMacro /= k
		c.RecallMacro /= k
		c.F1Macro /= k
	}
	if scores != nil {
		c.ROCAUC, c.LogLoss, c.Brier, c.ECE = scoreMetrics(labels, scores, positive)
	}
	return c
}

// scoreMetrics computes the binary score-based metrics over rows with a label
// and a finite score.
func scoreMetrics(labels []string, scores []float64, positive string) (auc, logLoss, brier, ece float64) {
	type row struct {
		s float64
		y float64
	}
	rows := make([]row, 0, len(scores))
	var npos float64
	for i, s := range scores {
		if labels[i] == "" || math.IsNaN(s) {
			continue
		}
		y := 0.0
		if labels[i] == positive {
			y = 1
			npos++
		}
		rows = append(rows, row{s, y})
	}
	n := float64(len(rows))
	if n == 0 {
		nan := math.NaN()
		return nan, nan, nan, nan
	}
	var ll, br, llc, brc float64
	var binN, binY, binS [eceBins]float64
	for _, r := range rows {
		p := math.Min(math.Max(r.s, logLossEps), 1-logLossEps)
		l := -(r.y*math.Log(p) + (1-r.y)*math.Log(1-p))
		ll, llc = kahanAdd(ll, llc, l)
		d := r.y - r.s
		br, brc = kahanAdd(br, brc, d*d)
		b := eceBin(r.s)
		binN[b]++
		binY[b] += r.y
		binS[b] += r.s
	}
	logLoss, brier = ll/n, br/n
	for b := range eceBins {
		if binN[b] > 0 {
			ece += binN[b] / n * math.Abs(binY[b]/binN[b]-binS[b]/binN[b])
		}
	}
	auc = math.NaN()
	if nneg := n - npos; npos > 0 && nneg > 0 {
		// Mann–Whitney U with average ranks for ties: equal to the area
		// under scikit-learn's trapezoidal ROC curve.
		slices.SortFunc(rows, func(a, b row) int {
			switch {
			case a.s < b.s:
				return -1
			case a.s > b.s:
				return 1
			}
			return 0
		})
		var rankSum float64
		for i := 0; i < len(rows); {
			j := i
			var pos float64
			for j < len(rows) && rows[j].s == rows[i].s {
				pos += rows[j].y
				j++
			}
			avg := float64(i+j+1) / 2 // ranks i+1 … j averaged
			rankSum += pos * avg
			i = j
		}
		auc = (rankSum - npos*(npos+1)/2) / (npos * nneg)
	}
	return auc, logLoss, brier, ece
}

// eceBin is the bin [k/10, (k+1)/10) of score s, with 1.0 in the last bin.
func eceBin(s float64) int { return EqualWidthBin(s, eceBins) }

// EqualWidthBin is the bin [k/n, (k+1)/n) of s in [0, 1] (values outside
// go to the outer bins, 1.0 to the last). It compares with the correctly
// rounded edges k/n rather than trusting floor(n·s), which misplaces scores
// such as 0.3 that sit on an edge; since k/n and (mk)/(mn) round to the
// same float64, a bin of n·m bins lies inside bin k of n exactly when its
// index divided by m is k.
func EqualWidthBin(s float64, n int) int {
	b := min(max(int(s*float64(n)), 0), n-1)
	if b+1 < n && float64(b+1)/float64(n) <= s {
		b++
	}
	if b > 0 && float64(b)/float64(n) > s {
		b--
	}
	return b
}

// kahanAdd adds x to a compensated sum (Kahan): long columns keep their
// last digits, which the golden tests check to 1e-9.
func kahanAdd(sum, comp, x float64) (float64, float64) {
	y := x - comp
	t := sum + y
	return t, (t - sum) - y
}

// Regression holds regression quality.
type Regression struct {
	Rows                           int
	MAE, RMSE, MAPE, MeanError, R2 float64
	ZeroTargets                    int // rows with y == 0, skipped by MAPE only
}

// RegressionMetrics computes scikit-learn's MAE, RMSE and R², MAPE over
// non-zero targets, and the mean error mean(pred − y); rows where either
// value is NaN are skipped.
func RegressionMetrics(y, pred []float64) Regression {
	var r Regression
	var sy, syc float64
	for i := range y {
		if math.IsNaN(y[i]) || math.IsNaN(pred[i]) {
			continue
		}
		r.Rows++
		sy, syc = kahanAdd(sy, syc, y[i])
	}
	if r.Rows == 0 {
		nan := math.NaN()
		return Regression{MAE: nan, RMSE: nan, MAPE: nan, MeanError: nan, R2: nan}
	}
	n := float64(r.Rows)
	ybar := sy / n
	var ae, aec, se, sec, pe, pec, me, mec, st, stc float64
	for i := range y {
		if math.IsNaN(y[i]) || math.IsNaN(pred[i]) {
			continue
		}
		d := pred[i] - y[i]
		ae, aec = kahanAdd(ae, aec, math.Abs(d))
		se, sec = kahanAdd(se, sec, d*d)
		me, mec = kahanAdd(me, mec, d)
		t := y[i] - ybar
		st, stc = kahanAdd(st, stc, t*t)
		if y[i] == 0 {
			r.ZeroTargets++
		} else {
			pe, pec = kahanAdd(pe, pec, math.Abs(d)/math.Abs(y[i]))
		}
	}
	r.MAE, r.RMSE, r.MeanError = ae/n, math.Sqrt(se/n), me/n
	r.MAPE = math.NaN()
	if nz := r.Rows - r.ZeroTargets; nz > 0 {
		r.MAPE = pe / float64(nz)
	}
	// scikit-learn 1.2 r2_score (force_finite): a constant target scores
	// 1 when predicted perfectly and 0 otherwise.
	switch {
	case st != 0:
		r.R2 = 1 - se/st
	case se == 0:
		r.R2 = 1
	default:
		r.R2 = 0
	}
	return r
}
