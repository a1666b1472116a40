package calibrate

import (
	"math"

	"gonum.org/v1/gonum/mathext"

	"driftwatch/vocab"
)

// A transform puts one feature's statistic on a common scale: the
// approximate p-value of a badness (the statistic, or −p for chi_square_p)
// for a window of nNom values against nRef reference values. Any monotone
// transform would do, because the level is chosen by simulation; these
// asymptotic ones make the level mean about the same for every feature, so
// the budget is spread evenly instead of going to the noisiest feature.
//
//	psi:            PSI/(1/nRef + 1/nNom) ~ χ²(dof)     (Yurdakul 2018)
//	jensen_shannon: 8·ln2·JS²/(1/nRef + 1/nNom) ~ χ²(dof)
//	hellinger:      8·H²/(1/nRef + 1/nNom) ~ χ²(dof)
//	chi_square:     χ²(dof)
//	chi_square_p:   the p-value itself
//	ks:             Kolmogorov's limit of √(nRef·nNom/(nRef+nNom))·D
//
// dof is the number of bins with reference values, less one. A badness of
// −Inf (no verdict) maps to 2, above every level.
type transform struct {
	stat  vocab.Statistic
	dof   float64
	scale float64 // 1/nRef + 1/nNom
	en    float64 // nRef·nNom/(nRef+nNom)
}

// p returns the approximate p-value of badness s.
func (t *transform) p(s float64) float64 {
	if math.IsInf(s, -1) || math.IsNaN(s) {
		return 2
	}
	switch t.stat {
	case vocab.ChiSquareP:
		return -s
	case vocab.KS:
		return kolmogorovSF(s * math.Sqrt(t.en))
	}
	return chi2SF(t.chiSquare(s), t.dof)
}

// chiSquare maps a divergence to its χ² scale.
func (t *transform) chiSquare(s float64) float64 {
	switch t.stat {
	case vocab.PSI:
		return s / t.scale
	case vocab.JS:
		return 8 * math.Ln2 * s * s / t.scale
	case vocab.Hellinger:
		return 8 * s * s / t.scale
	}
	return s // chi_square
}

// threshold is the statistic's value at level alpha, in the statistic's
// own terms (what rules compare): p(badness) ≤ alpha exactly when the
// statistic is at or beyond it.
func (t *transform) threshold(alpha float64) float64 {
	switch t.stat {
	case vocab.ChiSquareP:
		return alpha
	case vocab.KS:
		return kolmogorovISF(alpha) / math.Sqrt(t.en)
	}
	x := 2 * mathext.GammaIncRegCompInv(t.dof/2, alpha)
	switch t.stat {
	case vocab.PSI:
		return x * t.scale
	case vocab.JS:
		return math.Sqrt(x * t.scale / (8 * math.Ln2))
	case vocab.Hellinger:
		return math.Sqrt(x * t.scale / 8)
	}
	return x
}

// badness is what the transform ranks: high is bad.
func badness(stat vocab.Statistic, v float64) float64 {
	if math.IsNaN(v) {
		return math.Inf(-1)
	}
	if stat == vocab.ChiSquareP {
		return -v
	}
	return v
}

func chi2SF(x, dof float64) float64 {
	if x <= 0 {
		return 1
	}
	return mathext.GammaIncRegComp(dof/2, x/2)
}

// kolmogorovSF is P(K > x) for Kolmogorov's distribution.
func kolmogorovSF(x float64) float64 {
	if x <= 0 {
		return 1
	}
	if x < 1 {
		// P(K ≤ x) = √(2π)/x · Σ exp(−(2k−1)²π²/(8x²)), fast for small x.
		s := 0.0
		for k := 1; k < 50; k++ {
			t := math.Exp(-float64((2*k-1)*(2*k-1)) * math.Pi * math.Pi / (8 * x * x))
			s += t
			if t < 1e-17*s {
				break
			}
		}
		return 1 - math.Sqrt(2*math.Pi)/x*s
	}
	s, sign := 0.0, 1.0
	for k := 1; k < 100; k++ {
		t := math.Exp(-2 * float64(k*k) * x * x)
		s += sign * t
		sign = -sign
		if t < 1e-17*s {
			break
		}
	}
	return math.Min(1, 2*s)
}

// kolmogorovISF inverts kolmogorovSF by bisection.
func kolmogorovISF(alpha float64) float64 {
	lo, hi := 0.0, 10.0
	for range 200 {
		mid := (lo + hi) / 2
		if kolmogorovSF(mid) > alpha {
			lo = mid
		} else {
			hi = mid
		}
	}
	return hi
}
