package rollout

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// estimate is one arm's value of a metric with the variance of the
// estimator, from the arm's counters alone.
type estimate struct {
	show     float64 // the metric as reported
	value    float64 // the estimate the test uses (Agresti–Caffo adjusted for proportions)
	variance float64 // of value
	n        float64 // observations behind it (what min_samples counts)
	unit     string  // what n counts
	missing  string  // why there is no estimate yet, if there is none
	test     string  // the method, for Check.Test
}

// estimateOf computes metric m on arm a.
func estimateOf(m Metric, a *Arm) estimate {
	switch m {
	case Accuracy:
		return proportion(a.Correct, a.Joined, "outcomes")
	case ErrorRate:
		return proportion(a.Errors, a.Events, "events")
	case F1:
		return f1Estimate(a.TP, a.FP, a.FN, a.Joined)
	case AUC:
		return aucEstimate(a.ScoreByLabel)
	case MAE:
		return maeEstimate(a.AbsErr, a.SqErr, a.Joined)
	case RMSE:
		return rmseEstimate(a.SqErr, a.QuadErr, a.Joined)
	case LatencyP95:
		return quantileEstimate(a.Latency, latencyEdges, 0.95)
	}
	panic("rollout: unknown metric " + string(m))
}

// proportion is x/n with the Agresti–Caffo estimate (x+1)/(n+2) and its
// variance p(1−p)/(n+2) for the test: a difference of two such estimates
// has near-nominal coverage down to small counts, and an arm with no
// errors (or all correct) still has a variance, so its z stays finite.
// statsmodels' test_proportions_2indep(method="agresti-caffo") is the
// golden counterpart.
func proportion(x, n float64, of string) estimate {
	e := estimate{show: math.NaN(), n: n, unit: of, test: "Agresti–Caffo z on the difference of proportions"}
	if n == 0 {
		e.missing = "no " + of
		return e
	}
	e.show = x / n
	e.value = (x + 1) / (n + 2)
	e.variance = e.value * (1 - e.value) / (n + 2)
	return e
}

// f1Estimate is the positive class's F1 = 2TP/(2TP+FP+FN) with the
// delta-method variance under the multinomial of the joined outcomes.
// F1 is homogeneous of degree 0 in the cell shares, so the gradient's
// mean term vanishes and, with S = TP+FP+FN and D = 2TP+FP+FN,
//
//	Var(F1) = 4·TP·(FP+FN)·S / D⁴
//
// in counts alone (the number of true negatives cancels).
func f1Estimate(tp, fp, fn, joined float64) estimate {
	e := estimate{show: math.NaN(), n: joined, unit: "outcomes", test: "delta-method z on the F1 difference"}
	d := 2*tp + fp + fn
	if d == 0 {
		e.missing = "no positives predicted or labelled"
		return e
	}
	e.show = 2 * tp / d
	e.value = e.show
	e.variance = 4 * tp * (fp + fn) * (tp + fp + fn) / (d * d * d * d)
	return e
}

// aucEstimate is the AUC from score histograms by label (negatives then
// positives, ScoreBins each) with DeLong's variance, exact for the binned
// scores: a score bin is a tie, counted half concordant, as package
// monitor's AUC does. Each positive's placement is the share of negatives
// below it (half of those in its bin), each negative's the share of
// positives above it; Var = s²(positives)/P + s²(negatives)/N.
func aucEstimate(hist []float64) estimate {
	e := estimate{show: math.NaN(), unit: "scored outcomes", test: "DeLong z on the AUC difference (binned scores)"}
	if hist == nil {
		e.missing = "no scored outcomes"
		return e
	}
	k := len(hist) / 2
	neg, pos := hist[:k], hist[k:2*k]
	var nn, np float64
	for b := range k {
		nn += neg[b]
		np += pos[b]
	}
	e.n = nn + np
	if nn < 2 || np < 2 {
		e.missing = "fewer than two outcomes of each class"
		return e
	}
	// Placements: v10 of a positive in bin b, v01 of a negative in bin b.
	var below, auc float64
	for b := range k {
		auc += pos[b] * (below + neg[b]/2) / nn
		below += neg[b]
	}
	auc /= np
	var s10, s01 float64 // Σ count·(placement − auc)²
	below, above := 0.0, np
	for b := range k {
		above -= pos[b]
		v10 := (below + neg[b]/2) / nn
		v01 := (above + pos[b]/2) / np
		s10 += pos[b] * (v10 - auc) * (v10 - auc)
		s01 += neg[b] * (v01 - auc) * (v01 - auc)
		below += neg[b]
	}
	e.show, e.value = auc, auc
	e.variance = s10/(np-1)/np + s01/(nn-1)/nn
	return e
}

// maeEstimate is Σ|e|/n with the variance of a mean: (mean e² − MAE²)/n.
func maeEstimate(abs, sq, n float64) estimate {
	e := estimate{show: math.NaN(), n: n, unit: "outcomes", test: "z on the MAE difference"}
	if n == 0 {
		e.missing = "no outcomes"
		return e
	}
	e.show = abs / n
	e.value = e.show
	e.variance = math.Max(sq/n-e.show*e.show, 0) / n
	return e
}

// rmseEstimate is √(Σe²/n) with the delta-method variance
// Var(mean e²)/(4·mean e²), Var(mean e²) = (mean e⁴ − (mean e²)²)/n.
func rmseEstimate(sq, quad, n float64) estimate {
	e := estimate{show: math.NaN(), n: n, unit: "outcomes", test: "delta-method z on the RMSE difference"}
	if n == 0 {
		e.missing = "no outcomes"
		return e
	}
	m2 := sq / n
	e.show = math.Sqrt(m2)
	e.value = e.show
	if m2 > 0 {
		e.variance = math.Max(quad/n-m2*m2, 0) / n / (4 * m2)
	}
	return e
}

// quantileEstimate is the p-quantile of a histogram with the asymptotic
// variance of a sample quantile, p(1−p)/n · s², where the sparsity s =
// 1/f(ξ) is estimated by the difference quotient (ξ(p+h) − ξ(p−h))/2h
// (Siddiqui; Bloch and Gastwirth) with Bofinger's bandwidth h, the
// MSE-optimal one for the sparsity, from the normal reference.
func quantileEstimate(counts, edges []float64, p float64) estimate {
	e := estimate{show: math.NaN(), unit: "latencies", test: fmt.Sprintf("z on the p%g difference, Siddiqui–Bofinger variance", 100*p)}
	for _, c := range counts {
		e.n += c
	}
	if e.n == 0 {
		e.missing = "no latencies"
		return e
	}
	h := bofinger(e.n, p)
	qs := [3]float64{math.Max(p-h, 0), p, math.Min(p+h, 1)}
	var q [3]float64
	quantiles(q[:], counts, edges, qs[:], true)
	e.show, e.value = q[1], q[1]
	s := (q[2] - q[0]) / (qs[2] - qs[0])
	e.variance = p * (1 - p) / e.n * s * s
	return e
}

// bofinger is Bofinger's (1975) bandwidth for the sparsity at p:
// n^(−1/5)·(4.5·φ(z)⁴/(2z²+1)²)^(1/5) with z = Φ⁻¹(p).
func bofinger(n, p float64) float64 {
	z := distuv.UnitNormal.Quantile(p)
	f := distuv.UnitNormal.Prob(z)
	return math.Pow(n, -0.2) * math.Pow(4.5*f*f*f*f/((2*z*z+1)*(2*z*z+1)), 0.2)
}
