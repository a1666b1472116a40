package stats

import "math"

// lnSqrt2Pi is log √(2π).
var lnSqrt2Pi = 0.5 * math.Log(2*math.Pi)

// LogNormCDF is log Φ(x), the log of the standard normal CDF, accurate to
// a few ulps for every x (scipy.special.log_ndtr). It never takes the log
// of a number that can be subnormal: Φ(x) underflows to subnormals below
// x ≈ −37.5, and math.Log is wrong there on amd64 (golang/go#56600), which
// made a comfortably passing criterion look failed.
//
//   - x ≥ 0: log(1 − q) with q = Φ(−x) = erfc(x/√2)/2, as log1p(−q), so a
//     Φ close to 1 keeps its relative accuracy;
//   - −20 < x < 0: log of erfc(−x/√2)/2, which is ≥ 2.7e−89 here;
//   - x ≤ −20: the asymptotic expansion Φ(x) = φ(x)/|x| · Σ (−1)^k
//     (2k−1)!!/x^{2k}, summed in log space; its terms fall below 1e−17 of
//     the sum within ten terms at x = −20 and faster beyond.
func LogNormCDF(x float64) float64 {
	switch {
	case x != x:
		return math.NaN()
	case x >= 0:
		return math.Log1p(-0.5 * math.Erfc(x/math.Sqrt2))
	case x > -20:
		return math.Log(0.5 * math.Erfc(-x/math.Sqrt2))
	case math.IsInf(x, -1):
		return math.Inf(-1)
	}
	x2 := x * x
	sum, term := 1.0, 1.0
	for k := 1; k < 100; k++ {
		term *= -float64(2*k-1) / x2
		sum += term
		if math.Abs(term) < 1e-17*sum {
			break
		}
	}
	return -x2/2 - math.Log(-x) - lnSqrt2Pi + math.Log(sum)
}

// NormPDFOverCDF is φ(x)/Φ(x) (the inverse Mills ratio of −x), computed
// through LogNormCDF so that it stays finite where Φ(x) underflows.
func NormPDFOverCDF(x float64) float64 {
	return math.Exp(-x*x/2 - lnSqrt2Pi - LogNormCDF(x))
}
