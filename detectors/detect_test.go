package detectors

import (
	"math"
	"math/rand/v2"
	"testing"

	"driftwatch/dataset"
	"driftwatch/profile"
	"driftwatch/vocab"
)

func numCol(name string, xs []float64) *dataset.Column {
	return &dataset.Column{Name: name, Kind: dataset.KindNumeric, Num: xs}
}

func normal(n int, mean, sd float64, seed uint64) []float64 {
	r := rand.New(rand.NewPCG(seed, 3))
	xs := make([]float64, n)
	for i := range xs {
		xs[i] = mean + sd*r.NormFloat64()
	}
	return xs
}

func mustProfile(t *testing.T, cols ...*dataset.Column) *profile.Profile {
	t.Helper()
	n := 0
	for _, c := range cols {
		n = max(n, len(c.Num), len(c.Str))
	}
	p, err := profile.Build(&dataset.Table{Rows: n, Columns: cols}, profile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaultDecisionRule(t *testing.T) {
	cfg := DefaultConfig()
	f := func(refN int, shift float64, wantTest vocab.Statistic, wantDrift bool) {
		t.Helper()
		ref := mustProfile(t, numCol("x", normal(refN, 0, 1, 1)))
		cur := &dataset.Table{Rows: 2000, Columns: []*dataset.Column{numCol("x", normal(2000, shift, 1, 2))}}
		r := Compare(ref, cur, cfg)
		got := r.Features[0]
		if got.Test != wantTest || got.Drift != wantDrift || r.DriftDetected != wantDrift {
			t.Fatalf("refN %d shift %g: test %s drift %v, want %s %v", refN, shift, got.Test, got.Drift, wantTest, wantDrift)
		}
	}
	f(1000, 0, TestKS, false)
	f(1000, 0.5, TestKS, true)
	f(1001, 0, TestWasserstein, false)
	f(5000, 0.5, TestWasserstein, true)
}

func TestOverrideTestAndThreshold(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Features = map[string]FeatureConfig{"x": {Test: TestPSI, Thresholds: map[vocab.Statistic]float64{TestPSI: 1e-9}}}
	ref := mustProfile(t, numCol("x", normal(5000, 0, 1, 1)))
	cur := &dataset.Table{Rows: 5000, Columns: []*dataset.Column{numCol("x", normal(5000, 0, 1, 2))}}
	r := Compare(ref, cur, cfg)
	if f := r.Features[0]; f.Test != TestPSI || !f.Drift || float64(f.Statistics.PSI.Threshold) != 1e-9 {
		t.Fatalf("override: %+v", f)
	}
}

func TestPSIAutoThreshold(t *testing.T) {
	cfg := DefaultConfig()
	cfg.PSIAuto = true
	ref := mustProfile(t, numCol("x", normal(4000, 0, 1, 1)))
	cur := &dataset.Table{Rows: 1000, Columns: []*dataset.Column{numCol("x", normal(1000, 0, 1, 2))}}
	got := float64(Compare(ref, cur, cfg).Features[0].Statistics.PSI.Threshold)
	// χ²(0.95; 9) = 16.918977604620448
	want := 16.918977604620448 * (1.0/4000 + 1.0/1000)
	if math.Abs(got-want) > 1e-9 {
		t.Fatalf("auto PSI threshold %g, want %g", got, want)
	}
}

func TestDriftShare(t *testing.T) {
	cfg := DefaultConfig()
	cfg.DriftShare = 0.5
	ref := mustProfile(t, numCol("a", normal(3000, 0, 1, 1)), numCol("b", normal(3000, 0, 1, 2)), numCol("c", normal(3000, 0, 1, 3)))
	cur := &dataset.Table{Rows: 3000, Columns: []*dataset.Column{
		numCol("a", normal(3000, 1, 1, 4)), numCol("b", normal(3000, 0, 1, 5)), numCol("c", normal(3000, 0, 1, 6))}}
	r := Compare(ref, cur, cfg)
	if r.DriftedFeatures != 1 || r.DriftDetected {
		t.Fatalf("1 of 3 drifted must not meet share 0.5: %d %v", r.DriftedFeatures, r.DriftDetected)
	}
	cfg.DriftShare = 0.3
	if r := Compare(ref, cur, cfg); !r.DriftDetected {
		t.Fatal("1 of 3 drifted meets share 0.3")
	}
}

func TestAllNullCurrentIsDrift(t *testing.T) {
	ref := mustProfile(t, numCol("x", normal(100, 0, 1, 1)))
	nan := []float64{math.NaN(), math.NaN()}
	r := Compare(ref, &dataset.Table{Rows: 2, Columns: []*dataset.Column{numCol("x", nan)}}, DefaultConfig())
	if f := r.Features[0]; !f.Drift || f.DataQuality.NullRate != 1 || !math.IsNaN(float64(f.Statistics.KS.PValue)) {
		t.Fatalf("all-null: %+v", f)
	}
}

func TestInferTask(t *testing.T) {
	f := func(c *dataset.Column, score bool, want vocab.Task) {
		t.Helper()
		if got := InferTask(c, score); got != want {
			t.Fatalf("%s: got %s want %s", c.Name, got, want)
		}
	}
	f(numCol("binary", []float64{0, 1, 1, 0, math.NaN()}), false, vocab.TaskClassification)
	f(numCol("real", []float64{0.5, 1, 2}), false, vocab.TaskRegression)
	many := make([]float64, 30)
	for i := range many {
		many[i] = float64(i)
	}
	f(numCol("counts", many), false, vocab.TaskRegression)
	f(numCol("counts", many), true, vocab.TaskClassification)
	f(&dataset.Column{Name: "cat", Kind: dataset.KindCategorical, Str: []string{"a"}}, false, vocab.TaskClassification)
}

func TestParseGate(t *testing.T) {
	g, err := ParseGate("f1_macro >= 0.85")
	if err != nil || g.Metric != "f1_macro" || g.Op != ">=" || g.Value != 0.85 {
		t.Fatalf("%+v %v", g, err)
	}
	for _, bad := range []string{"f1_macro", "f1_macro>=x", "nope<1"} {
		if _, err := ParseGate(bad); err == nil {
			t.Fatalf("%q accepted", bad)
		}
	}
	r := &Report{DriftedFeatures: 2, DriftShare: 0.5}
	if ApplyGates(r, []Gate{{Expr: "drifted_features<=2", Metric: "drifted_features", Op: "<=", Value: 2}}) != true {
		t.Fatal("drifted_features<=2 must pass")
	}
	if ApplyGates(r, []Gate{{Expr: "accuracy>=0", Metric: "accuracy", Op: ">=", Value: 0}}) {
		t.Fatal("a gate on an absent metric must fail")
	}
}
