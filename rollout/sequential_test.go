package rollout

import (
	"math"
	"testing"
)

// TestMixturePMonotone: the p-value of a one-sided test cannot rise as the
// evidence against its null grows, nor fall as it shrinks. On a grid of z
// from −80 to 80 at the information times a long rollout reaches, it is
// non-increasing in z and 1 for every z ≤ 0; a subnormal Φ once made it
// collapse near z = −38 (p 7.95e−05 at t = 100), failing passing
// criteria at high traffic.
func TestMixturePMonotone(t *testing.T) {
	for _, level := range []float64{0.05, 0.05 / 3} {
		rho := mixtureRho(level)
		for _, info := range []float64{1, 10, 100, 1000, 1e4} {
			prev := math.Inf(1)
			for i := -8000; i <= 8000; i++ {
				z := float64(i) / 100
				p := mixtureP(z, info, rho)
				if p > prev {
					t.Fatalf("level %g, t %g: mixtureP rises from %g to %g at z = %g", level, info, prev, p, z)
				}
				if z <= 0 && p != 1 {
					t.Fatalf("level %g, t %g: mixtureP(%g) = %g, want 1", level, info, z, p)
				}
				prev = p
			}
		}
	}
	// The case of the report: a criterion that passes with z = 38 at
	// t = 100 is not failing.
	if p := mixtureP(-38, 100, mixtureRho(0.05/3)); p != 1 {
		t.Fatalf("p of failing at z = 38, t = 100: %g, want 1", p)
	}
}
