package rollout

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"driftwatch/stats"
)

// The constant-time bucket functions are stats.BinIndex (numpy's
// searchsorted(side="right")) exactly: on every edge, next to it on both
// sides, far out and on random values; NaN counts nowhere.
func TestBuckets(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	tests := []struct {
		name   string
		edges  []float64
		bucket func(float64) int
		random func() float64
	}{
		{"latency", LatencyEdges(), LatencyBucket, func() float64 { return math.Exp(r.NormFloat64() * 5) }},
		{"score difference", DiffEdges(), DiffBucket, func() float64 { return r.NormFloat64() * 0.6 }},
	}
	for _, tc := range tests {
		xs := []float64{0, math.Copysign(0, -1), -1, -1e300, 1e300, math.Inf(1), math.Inf(-1), math.SmallestNonzeroFloat64}
		for _, e := range tc.edges {
			xs = append(xs, e, math.Nextafter(e, math.Inf(-1)), math.Nextafter(e, math.Inf(1)))
		}
		for range 100000 {
			xs = append(xs, tc.random())
		}
		for _, x := range xs {
			if got, want := tc.bucket(x), stats.BinIndex(tc.edges, x); got != want {
				t.Fatalf("%s: bucket(%g) = %d, BinIndex %d", tc.name, x, got, want)
			}
		}
		if got := tc.bucket(math.NaN()); got != -1 {
			t.Errorf("%s: bucket(NaN) = %d", tc.name, got)
		}
	}
	e := LatencyEdges()
	if len(e) != LatencyBuckets-1 || e[0] != 0.1 || e[100] != 1 || e[300] != 100 || e[len(e)-1] != 1e5 || len(DiffEdges()) != DiffBuckets-1 {
		t.Fatalf("latency edges: %d from %g, 1 ms at %g, last %g", len(e), e[0], e[100], e[len(e)-1])
	}
	for i := 1; i < len(e); i++ {
		if w := e[i]/e[i-1] - 1; w < 0.0232 || w > 0.0234 {
			t.Fatalf("latency bucket %d is %.4f wide", i, w)
		}
	}
}

// Quantiles from the latency buckets stay within a tenth of a bucket
// (0.23%) of the sample's own on a million lognormal latencies, and one
// pass over several quantiles gives each one's value.
func TestQuantiles(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	xs := make([]float64, 1_000_000)
	h := make([]float64, LatencyBuckets)
	for i := range xs {
		xs[i] = math.Exp(math.Log(50) + 0.7*r.NormFloat64())
		h[LatencyBucket(xs[i])]++
	}
	slices.Sort(xs)
	qs := []float64{0.01, 0.5, 0.9, 0.95, 0.99, 0.999}
	got := make([]float64, len(qs))
	quantiles(got, h, latencyEdges, qs, true)
	for i, q := range qs {
		exact := xs[int(q*float64(len(xs)))]
		if math.Abs(got[i]/exact-1) > 0.0023 {
			t.Errorf("p%g: %g from buckets, %g exact", 100*q, got[i], exact)
		}
		if one := quantile(h, latencyEdges, q, true); one != got[i] {
			t.Errorf("p%g: %g alone, %g in one pass", 100*q, one, got[i])
		}
	}
	// Linear interpolation, the underflow bucket from 0, the overflow
	// bucket's lower edge, and no values.
	edges := []float64{1, 2, 3}
	for _, c := range []struct{ q, want float64 }{{0, 0}, {0.125, 0.5}, {0.25, 1}, {0.3125, 1.5}, {0.5, 3}, {0.75, 3}, {1, 3}} {
		if got := quantile([]float64{2, 1, 1, 4}, edges, c.q, false); got != c.want {
			t.Errorf("q %g: %g, want %g", c.q, got, c.want)
		}
	}
	if got := quantile([]float64{0, 0, 0, 0}, edges, 0.5, false); !math.IsNaN(got) {
		t.Errorf("empty: %g", got)
	}
}

// An arm is the sum of its panes: adding the panes of a simulated rollout
// gives the arm the whole rollout built, and the same verdict.
func TestArmAdd(t *testing.T) {
	spec := armSpec{errRate: 0.05, latMedian: 50, latSD: 0.5, joinShare: 0.5, posRate: 0.3, sep: 2, errSD: 1}
	r := rand.New(rand.NewPCG(5, 6))
	var whole, sum Arm
	for range 10 {
		var pane Arm
		spec.add(r, &pane, 1000)
		pane.Agreement = Agreement{Pairs: 10, Classified: 9, Agree: 8, Scored: 10, SumDiff: 0.1, SumAbsDiff: 0.3, Diff: make([]float64, DiffBuckets)}
		pane.Agreement.Diff[DiffBucket(0.01)] = 10
		pane.Scores = slices.Clone(pane.ScoreByLabel[:ScoreBins])
		sum.Add(&pane)
		whole.Add(&pane)
		whole.Add(&Arm{})
	}
	if sum.Events != 10000 || sum.Agreement.Pairs != 100 || sum.Agreement.Diff[DiffBucket(0.01)] != 100 {
		t.Fatalf("sum: %g events, %g pairs", sum.Events, sum.Agreement.Pairs)
	}
	var c Arm
	spec.add(r, &c, 10000)
	cfg := named()
	cfg.Criteria = append(cfg.Criteria, Criterion{Metric: AUC, Tolerance: 0.01}, Criterion{Metric: RMSE, Ratio: 1.1})
	a, b := Compare(sum, c, cfg, time.Hour), Compare(whole, c, cfg, time.Hour)
	if a.Reason != b.Reason || len(a.Drift) != 0 {
		t.Errorf("verdicts differ: %s / %s", a.Reason, b.Reason)
	}
	c.Scores = slices.Clone(c.ScoreByLabel[:ScoreBins])
	v := Compare(sum, c, cfg, time.Hour)
	if len(v.Drift) != 1 || v.Drift[0].Name != "output" || !(v.Drift[0].ChiSquareP > 0.01) || v.Drift[0].StableN != sum.Joined-sum.TP-sum.FN {
		t.Errorf("output drift: %+v", v.Drift)
	}
	if v.Shadow != nil {
		t.Errorf("canary without pairs, shadow summary %+v", v.Shadow)
	}
	c.Agreement = sum.Agreement
	if v := Compare(sum, c, cfg, time.Hour); v.Shadow == nil || v.Shadow.Pairs != 100 || v.Shadow.Rate != 0.8/0.9 {
		t.Errorf("shadow summary of the candidate's agreement: %+v", v.Shadow)
	}
}

// What a verdict reports before there is anything to compare.
func TestWaiting(t *testing.T) {
	cfg := named()
	cfg.Criteria = append(cfg.Criteria, Criterion{Metric: F1}, Criterion{Metric: AUC})
	var c Arm
	base.add(rand.New(rand.NewPCG(1, 1)), &c, 300)
	v := Compare(Arm{}, c, cfg, time.Hour)
	want := []string{
		"stable: no outcomes",
		"stable: no latencies",
		"stable: no events",
		"stable: no positives predicted or labelled",
		"stable: no scored outcomes",
	}
	for i, ch := range v.Checks {
		if ch.Status != Waiting || ch.Waiting != want[i] || !math.IsNaN(ch.Stable) || !math.IsNaN(ch.Z) || ch.PFail != 1 {
			t.Errorf("%s: %s %q, stable %g, z %g", ch.Criterion.Metric, ch.Status, ch.Waiting, ch.Stable, ch.Z)
		}
	}
	v = Compare(c, c, named(), time.Hour)
	if v.Decision != Continue || v.Reason != "waiting: accuracy (min_samples: stable has 300 of 1000 outcomes); latency_p95 (min_samples: stable has 300 of 1000 latencies); error_rate (min_samples: stable has 300 of 1000 events)" {
		t.Errorf("%s: %s", v.Decision, v.Reason)
	}
	if v.Checks[0].Candidate != c.Correct/c.Joined || math.IsNaN(v.Checks[0].Z) {
		t.Errorf("a waiting check still shows its numbers: %+v", v.Checks[0])
	}
	if v.Shadow != nil {
		t.Error("canary verdict with a shadow summary")
	}
}

// Perfectly separated scores give the AUC no variance: the z is infinite
// on the side of the margin, and a tie with no margin stays undecided.
func TestNoVariance(t *testing.T) {
	hist := make([]float64, 2*ScoreBins)
	hist[10], hist[ScoreBins+90] = 1000, 1000
	a := Arm{ScoreByLabel: hist}
	cfg := named()
	cfg.Criteria = []Criterion{{Metric: AUC, Tolerance: 0.01}}
	if v := Compare(a, a, cfg, time.Hour); v.Decision != Promote || !math.IsInf(v.Checks[0].Z, 1) {
		t.Errorf("%s: %s", v.Decision, v.Reason)
	}
	cfg.Criteria[0].Tolerance = 0
	if v := Compare(a, a, cfg, time.Hour); v.Decision != Continue || v.Checks[0].Z != 0 || !strings.HasPrefix(v.Reason, "undecided: auc") {
		t.Errorf("%s: %s", v.Decision, v.Reason)
	}
}

// The boundary is where the p-value reaches the level; it is tightest
// near t = 1 (both arms at min_samples: within 0.2% of its minimum) and
// grows slowly after.
func TestBoundary(t *testing.T) {
	ts := []float64{0.5, 0.7, 0.8, 0.9, 1, 1.1, 1.3, 2, 10, 1000}
	for _, a := range []float64{0.05, 0.05 / 3, 0.001, 0.6} {
		rho := mixtureRho(a)
		var at []float64
		for _, tt := range ts {
			z := mixtureZ(a, tt, rho)
			if p := mixtureP(z, tt, rho); math.Abs(p-a) > 1e-9*a {
				t.Errorf("level %g, t %g: p %g at the boundary %g", a, tt, p, z)
			}
			at = append(at, z)
		}
		if a < 0.5 && (at[4] > 1.002*slices.Min(at) || !slices.IsSorted(at[6:])) {
			t.Errorf("level %g: boundaries %v at t %v", a, at, ts)
		}
	}
}

// Shadow summaries: the Wilson interval is golden; |d| quantiles from the
// folded buckets are within a bucket (0.01) of the exact ones.
func TestAgreementSummary(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	a := Agreement{Diff: make([]float64, DiffBuckets)}
	var abs []float64
	for range 100000 {
		d := r.NormFloat64() * 0.05
		if r.IntN(100) == 0 {
			d = (r.Float64() - 0.5) * 4 // beyond ±1 now and then
		}
		a.Pairs++
		a.Scored++
		a.SumDiff += d
		a.SumAbsDiff += math.Abs(d)
		a.Diff[DiffBucket(d)]++
		abs = append(abs, math.Abs(d))
	}
	slices.Sort(abs)
	s := a.Summary(0.05)
	if !math.IsNaN(s.Rate) || s.MeanAbsDiff != a.SumAbsDiff/a.Scored {
		t.Errorf("rate %g without classes, mean |d| %g", s.Rate, s.MeanAbsDiff)
	}
	for _, c := range []struct{ q, got float64 }{{0.5, s.AbsDiffP50}, {0.9, s.AbsDiffP90}, {0.99, s.AbsDiffP99}} {
		if exact := abs[int(c.q*float64(len(abs)))]; math.Abs(c.got-exact) > 0.01 {
			t.Errorf("|d| p%g: %g from buckets, %g exact", 100*c.q, c.got, exact)
		}
	}
	if s := (&Agreement{}).Summary(0.05); !math.IsNaN(s.MeanAbsDiff) || !math.IsNaN(s.AbsDiffP50) || !math.IsNaN(s.RateLow) {
		t.Errorf("empty: %+v", s)
	}
	cfg := named()
	cfg.Mode = Shadow
	if v := Compare(Arm{}, Arm{}, cfg, 0); v.Shadow == nil {
		t.Error("shadow verdict without its summary")
	}
}
