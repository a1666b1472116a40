package rollout

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// LatencyBucket is on the service's per-event path: constant time, no
// allocations.
func BenchmarkLatencyBucket(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	xs := make([]float64, 4096)
	for i := range xs {
		xs[i] = math.Exp(math.Log(50) + r.NormFloat64())
	}
	counts := make([]float64, LatencyBuckets)
	b.ReportAllocs()
	b.SetBytes(8 * int64(len(xs)))
	for b.Loop() {
		for _, x := range xs {
			counts[LatencyBucket(x)]++
		}
	}
}

// Compare runs once per rollout per evaluation.
func BenchmarkCompare(b *testing.B) {
	var s, c Arm
	r := rand.New(rand.NewPCG(1, 1))
	spec := base.with(func(s *armSpec) { s.accuracy, s.sep, s.posRate, s.errSD = 0, 1.5, 0.3, 1 })
	spec.add(r, &s, 20000)
	spec.add(r, &c, 20000)
	cfg := named()
	cfg.Criteria = append(cfg.Criteria, Criterion{Metric: F1, Tolerance: 0.02}, Criterion{Metric: AUC, Tolerance: 0.01}, Criterion{Metric: RMSE, Ratio: 1.05})
	b.ReportAllocs()
	for b.Loop() {
		Compare(s, c, cfg, time.Hour)
	}
}
