package rollout

import (
	"math"
	"math/rand/v2"
	"testing"
)

// The sequential boundary is only as good as the standard errors under
// it. With arms exactly at a criterion's limit, the z of every metric is
// about N(0, 1) at a fixed size: mean within 4 standard errors of 0, sd
// within 12% of 1 (about 3.4 standard errors of an sd from 400 draws), and
// each one-sided 5% tail between 1.5% and 9%. Equal arms sit at the limit
// of zero-margin criteria; the ratio and tolerance cases move the
// candidate to the limit.
func TestStandardErrors(t *testing.T) {
	sims, n := 400, 2000
	if testing.Short() {
		sims = 200
	}
	full := armSpec{errRate: 0.05, latMedian: 50, latSD: 0.5, joinShare: 1, posRate: 0.3, sep: 2, errSD: 1}
	var zeroMargin []Criterion
	for _, m := range metrics {
		zeroMargin = append(zeroMargin, Criterion{Metric: m.m})
	}
	cases := []struct {
		name           string
		stable, canary armSpec
		criteria       []Criterion
	}{
		{"equal arms", full, full, zeroMargin},
		{"latency at 1.1×", full, full.with(func(s *armSpec) { s.latMedian *= 1.1 }), []Criterion{{Metric: LatencyP95, Ratio: 1.1}}},
		{"errors at 1.2×", full, full.with(func(s *armSpec) { s.errRate *= 1.2 }), []Criterion{{Metric: ErrorRate, Ratio: 1.2}}},
		{"mae at 1.1×", full, full.with(func(s *armSpec) { s.errSD *= 1.1 }), []Criterion{{Metric: MAE, Ratio: 1.1}, {Metric: RMSE, Ratio: 1.1}}},
		{"accuracy 0.02 below", base, base.with(func(s *armSpec) { s.accuracy -= 0.02 }), []Criterion{{Metric: Accuracy, Tolerance: 0.02}}},
	}
	for ci, tc := range cases {
		zs := make([][]float64, len(tc.criteria))
		for i := range sims {
			r := rand.New(rand.NewPCG(uint64(ci), uint64(i)))
			var s, c Arm
			tc.stable.add(r, &s, n)
			tc.canary.add(r, &c, n)
			for j, cr := range tc.criteria {
				zs[j] = append(zs[j], compareOne(cr, &s, &c, float64(n)).Z)
			}
		}
		for j, cr := range tc.criteria {
			var sum, sq, low, high float64
			for _, z := range zs[j] {
				sum += z
				sq += z * z
				if z < -1.645 {
					low++
				}
				if z > 1.645 {
					high++
				}
			}
			k := float64(sims)
			mean := sum / k
			sd := math.Sqrt(sq/k - mean*mean)
			low, high = low/k, high/k
			t.Logf("%s, %s: z mean %+.3f sd %.3f, tails %.3f %.3f", tc.name, cr, mean, sd, low, high)
			if math.Abs(mean) > 4/math.Sqrt(k) || math.Abs(sd-1) > 0.12 || low < 0.015 || low > 0.09 || high < 0.015 || high > 0.09 {
				t.Errorf("%s, %s: z mean %+.3f sd %.3f, tails %.3f %.3f: not N(0, 1)", tc.name, cr, mean, sd, low, high)
			}
		}
	}
}
