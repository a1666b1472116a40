package rollout

import (
	"math"

	"driftwatch/stats"
)

// The service evaluates a rollout every few seconds for hours, each time
// on more data; a fixed-sample test repeated that often would roll back a
// good canary sooner or later. The tests are therefore sequential: the
// p-value of a z statistic is the reciprocal of Robbins' normal-mixture
// martingale, which is a valid p-value simultaneously at every evaluation
// (Ville's inequality), so the chance that any evaluation ever crosses the
// level is at most the level.
//
// In information time t (t ∝ 1/SE², so that W = z·√t behaves as a
// standard Brownian motion), mixing exp(λW − λ²t/2) over λ ≥ 0 with a
// half-normal of precision ρ gives
//
//	M(W, t) = 2·√(ρ/(t+ρ)) · exp(W²/2(t+ρ)) · Φ(W/√(t+ρ)).
//
// It is a supermartingale whenever the drift is ≤ 0 (λ ≥ 0 only: the test
// is one-sided, its null composite), and p = min(1, 1/M).

// mixtureP is the anytime-valid one-sided p-value of H0: drift ≤ 0, given
// the z statistic (large when the drift is positive) at information t.
func mixtureP(z, t, rho float64) float64 {
	switch {
	case z != z || !(t > 0):
		return 1
	case math.IsInf(z, 1):
		return 0
	case math.IsInf(z, -1):
		return 1
	}
	s := t + rho
	u := z * math.Sqrt(t/s) // W/√(t+ρ)
	// log Φ(u) in log space: Φ(u) is subnormal below u ≈ −37.5, where a
	// plain math.Log is wrong on amd64 and a passing criterion's p-value
	// of "it is violated" collapsed.
	logM := math.Ln2 + 0.5*math.Log(rho/s) + u*u/2 + stats.LogNormCDF(u)
	if !(logM > 0) {
		return 1
	}
	return math.Exp(-logM)
}

// mixtureRho is the mixing precision that makes the level-a boundary
// tightest at t = 1, where both arms have min_samples: minimising the
// two-sided normal mixture's boundary (1+ρ/t)(log(1+t/ρ) + 2 log(1/a))
// over ρ gives t/ρ = x with x = 2 log(1/a) + log(1+x). The one-sided
// boundary's minimum is a little earlier (t ≈ 0.9) and 0.1% lower: not
// worth a numerical search per evaluation. The boundary then grows like
// √log t, so evaluations long after min_samples cost little power.
func mixtureRho(a float64) float64 {
	l := 2 * math.Log(1/a)
	x := l
	for {
		next := l + math.Log1p(x)
		if math.Abs(next-x) < 1e-12*x {
			return 1 / next
		}
		x = next
	}
}

// mixtureZ is the z at information t where mixtureP reaches level a: the
// boundary a statistic must cross. With u = z·√(t/(t+ρ)) that is the root
// of f(u) = u²/2 + log Φ(u) − c, c = log(1/a) − log 2 − log(ρ/(t+ρ))/2,
// which is convex and increasing for u ≥ 0: Newton's method from the
// right (f(√(2c + 2 log 2)) ≥ 0) converges monotonically. Levels ≥ 1/2
// can put the root below 0, where bisection on mixtureP takes over.
func mixtureZ(a, t, rho float64) float64 {
	s := t + rho
	c := math.Log(1/a) - math.Ln2 - 0.5*math.Log(rho/s)
	if !(c > 0) {
		lo, hi := -40.0, 0.0
		for range 100 {
			mid := (lo + hi) / 2
			if mixtureP(mid, t, rho) > a {
				lo = mid
			} else {
				hi = mid
			}
		}
		return hi
	}
	u := math.Sqrt(2*c + 2*math.Ln2)
	for range 50 {
		f := u*u/2 + stats.LogNormCDF(u) - c
		step := f / (u + stats.NormPDFOverCDF(u))
		u -= step
		if step < 1e-14*u {
			break
		}
	}
	return u * math.Sqrt(s/t)
}
