package detectors

import (
	"math"
	"testing"

	"driftwatch/profile"
	"driftwatch/vocab"
)

// DecidingTest is the one rule `check` and the stream decide by.
func TestDecidingTest(t *testing.T) {
	cfg := DefaultConfig() // small_sample 1000
	cfg.Features = map[string]FeatureConfig{"a": {Test: TestHellinger}, "b": {Test: TestZ}}
	for _, c := range []struct {
		feature string
		kind    profile.Kind
		rows    int
		binary  bool
		want    vocab.Statistic
	}{
		{"x", profile.Numeric, 1001, false, TestWasserstein},
		{"x", profile.Numeric, 1000, false, TestKS},
		{"x", profile.Categorical, 1001, true, TestJS},
		{"x", profile.Categorical, 1000, true, TestZ},
		{"x", profile.Categorical, 1000, false, TestChiSquare},
		{"a", profile.Numeric, 5000, false, TestHellinger},
		{"b", profile.Categorical, 5000, true, TestZ},
		{"b", profile.Categorical, 5000, false, TestChiSquare}, // Z needs two categories
	} {
		if got := cfg.DecidingTest(c.feature, c.kind, c.rows, c.binary); got != c.want {
			t.Errorf("%s %s rows %d binary %v: %s, want %s", c.feature, c.kind, c.rows, c.binary, got, c.want)
		}
	}
	// A model-wide test decides the features without their own.
	cfg.Test = TestPSI
	if got := cfg.DecidingTest("x", profile.Numeric, 5000, false); got != TestPSI {
		t.Errorf("model-wide psi: %s", got)
	}
	if got := cfg.DecidingTest("a", profile.Numeric, 5000, false); got != TestHellinger {
		t.Errorf("feature test under model-wide psi: %s", got)
	}
}

func TestDrifts(t *testing.T) {
	for _, c := range []struct {
		test   vocab.Statistic
		x, thr float64
		want   bool
	}{
		{TestKS, 0.01, 0.05, true}, {TestKS, 0.05, 0.05, false}, {TestZ, 0.2, 0.05, false},
		{TestWasserstein, 0.1, 0.1, true}, {TestJS, 0.09, 0.1, false},
		{TestPSI, math.NaN(), 0.2, false}, {TestChiSquare, math.NaN(), 0.05, false},
	} {
		if got := Drifts(c.test, c.x, c.thr); got != c.want {
			t.Errorf("%s %g vs %g: %v", c.test, c.x, c.thr, got)
		}
	}
}
