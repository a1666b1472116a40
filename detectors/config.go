// Package detectors applies the drift tests of package stats to a reference
// profile and current data, compares each statistic with its threshold, and
// decides per feature and overall whether the data drifted. It also computes
// model quality and evaluates quality gates. It reads no files and renders no
// output: inputs come from packages dataset and profile, rendering is left to
// package report.
package detectors

import (
	"fmt"
	"sort"

	"driftwatch/multivariate"
	"driftwatch/profile"
	"driftwatch/vocab"
)

// Test names, as they appear in configs and in the report's "test" field.
const (
	TestPSI         = vocab.PSI
	TestKS          = vocab.KS
	TestWasserstein = vocab.Wasserstein
	TestJS          = vocab.JS
	TestHellinger   = vocab.Hellinger
	TestChiSquare   = vocab.ChiSquare
	TestZ           = vocab.Z
	// TestMissing is schema drift: the feature is absent from current data.
	TestMissing vocab.Statistic = "missing"
)

var numericTests = map[vocab.Statistic]bool{TestPSI: true, TestKS: true, TestWasserstein: true, TestJS: true, TestHellinger: true}
var categoricalTests = map[vocab.Statistic]bool{TestPSI: true, TestChiSquare: true, TestZ: true, TestJS: true}

// Thresholds per statistic. For p-value tests (ks, chi_square, z) drift is
// p < threshold; for the others drift is value >= threshold.
type Thresholds struct {
	PSI         float64 `yaml:"psi"`
	KS          float64 `yaml:"ks"`
	Wasserstein float64 `yaml:"wasserstein"` // on the normalized distance
	JS          float64 `yaml:"jensen_shannon"`
	Hellinger   float64 `yaml:"hellinger"`
	ChiSquare   float64 `yaml:"chi_square"`
	Z           float64 `yaml:"z"`
}

func (t Thresholds) of(test vocab.Statistic) float64 {
	switch test {
	case TestPSI:
		return t.PSI
	case TestKS:
		return t.KS
	case TestWasserstein:
		return t.Wasserstein
	case TestJS:
		return t.JS
	case TestHellinger:
		return t.Hellinger
	case TestChiSquare:
		return t.ChiSquare
	case TestZ:
		return t.Z
	}
	return 0
}

func (t *Thresholds) set(test vocab.Statistic, v float64) {
	switch test {
	case TestPSI:
		t.PSI = v
	case TestKS:
		t.KS = v
	case TestWasserstein:
		t.Wasserstein = v
	case TestJS:
		t.JS = v
	case TestHellinger:
		t.Hellinger = v
	case TestChiSquare:
		t.ChiSquare = v
	case TestZ:
		t.Z = v
	}
}

// FeatureConfig overrides the defaults for one feature.
type FeatureConfig struct {
	Kind       string                      `yaml:"kind"`       // numeric | categorical; inferred when empty
	Test       vocab.Statistic             `yaml:"test"`       // deciding test; default rule when empty
	Thresholds map[vocab.Statistic]float64 `yaml:"thresholds"` // per-test threshold overrides
	Ignore     bool                        `yaml:"ignore"`     // not a feature: no drift tests
}

// Config is the drift-check configuration (the `check --config` file, and the
// drift part of the service config); package config parses it.
type Config struct {
	// Bins is the number of reference-quantile bins for PSI, JS and Hellinger.
	Bins int `yaml:"bins"`
	// PSIEpsilon floors bin proportions before the PSI log ratio.
	PSIEpsilon float64 `yaml:"psi_epsilon"`
	// PSIAuto replaces the fixed PSI threshold by the sample-size-aware
	// χ²(1−PSIAlpha; B−1)·(1/n_ref + 1/n_cur) bound.
	PSIAuto  bool    `yaml:"psi_auto"`
	PSIAlpha float64 `yaml:"psi_alpha"`
	// SmallSample is the reference size up to which the default decision
	// uses a p-value test (KS, chi-square, Z) rather than a distance.
	SmallSample int `yaml:"small_sample"`
	// Test, when set, decides every feature a test of its own does not:
	// psi or jensen_shannon (the tests both kinds have). Empty: the default
	// rule of DecidingTest.
	Test vocab.Statistic `yaml:"test"`
	// DriftShare, when > 0, makes drift_detected require at least this share
	// of features to drift instead of any one.
	DriftShare float64                  `yaml:"drift_share"`
	Thresholds Thresholds               `yaml:"thresholds"`
	Features   map[string]FeatureConfig `yaml:"features"`
	// Multivariate configures PCA reconstruction-error drift.
	Multivariate MultivariateConfig `yaml:"multivariate"`
}

// DefaultConfig returns the documented defaults.
func DefaultConfig() Config {
	return Config{
		Bins:        10,
		PSIEpsilon:  1e-4,
		PSIAlpha:    0.05,
		SmallSample: 1000,
		Thresholds: Thresholds{
			PSI:         0.2,
			KS:          0.05,
			Wasserstein: 0.1,
			JS:          0.1,
			Hellinger:   0.1,
			ChiSquare:   0.05,
			Z:           0.05,
		},
		Multivariate: MultivariateConfig{Enabled: true, Variance: multivariate.DefaultVariance, ThresholdSigmas: multivariate.DefaultSigmas},
	}
}

// Validate checks ranges and names; it is the only place config is checked.
func (c *Config) Validate() error {
	if c.Bins < 2 || c.Bins > 1000 {
		return fmt.Errorf("bins must be in [2, 1000], got %d", c.Bins)
	}
	if !(c.PSIEpsilon > 0 && c.PSIEpsilon < 1) {
		return fmt.Errorf("psi_epsilon must be in (0, 1), got %g", c.PSIEpsilon)
	}
	if !(c.PSIAlpha > 0 && c.PSIAlpha < 1) {
		return fmt.Errorf("psi_alpha must be in (0, 1), got %g", c.PSIAlpha)
	}
	if c.SmallSample < 0 {
		return fmt.Errorf("small_sample must not be negative, got %d", c.SmallSample)
	}
	if !(c.DriftShare >= 0 && c.DriftShare <= 1) {
		return fmt.Errorf("drift_share must be in [0, 1], got %g", c.DriftShare)
	}
	for _, test := range []vocab.Statistic{TestKS, TestChiSquare, TestZ} {
		if v := c.Thresholds.of(test); !(v > 0 && v < 1) {
			return fmt.Errorf("thresholds.%s is a p-value level and must be in (0, 1), got %g", test, v)
		}
	}
	for _, test := range []vocab.Statistic{TestPSI, TestWasserstein, TestJS, TestHellinger} {
		if v := c.Thresholds.of(test); !(v > 0) {
			return fmt.Errorf("thresholds.%s must be positive, got %g", test, v)
		}
	}
	if c.Test != "" && !(numericTests[c.Test] && categoricalTests[c.Test]) {
		return fmt.Errorf("test must be psi or jensen_shannon (a test for both kinds of feature), got %q", c.Test)
	}
	if err := c.Multivariate.validate(); err != nil {
		return err
	}
	names := make([]string, 0, len(c.Features))
	for name := range c.Features {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		fc := c.Features[name]
		switch fc.Kind {
		case "", "numeric", "categorical":
		default:
			return fmt.Errorf("features.%s.kind must be numeric or categorical, got %q", name, fc.Kind)
		}
		if fc.Test != "" && !numericTests[fc.Test] && !categoricalTests[fc.Test] {
			return fmt.Errorf("features.%s.test: unknown test %q", name, fc.Test)
		}
		if fc.Kind == "numeric" && fc.Test != "" && !numericTests[fc.Test] {
			return fmt.Errorf("features.%s.test: %q does not apply to a numeric feature", name, fc.Test)
		}
		if fc.Kind == "categorical" && fc.Test != "" && !categoricalTests[fc.Test] {
			return fmt.Errorf("features.%s.test: %q does not apply to a categorical feature", name, fc.Test)
		}
		for test, v := range fc.Thresholds {
			if !numericTests[test] && !categoricalTests[test] {
				return fmt.Errorf("features.%s.thresholds: unknown test %q", name, test)
			}
			if !(v > 0) {
				return fmt.Errorf("features.%s.thresholds.%s must be positive, got %g", name, test, v)
			}
		}
	}
	return nil
}

// thresholds returns the thresholds in force for one feature.
func (c *Config) thresholds(feature string) Thresholds {
	t := c.Thresholds
	for test, v := range c.Features[feature].Thresholds {
		t.set(test, v)
	}
	return t
}

// Threshold returns the threshold in force for one test on one feature: the
// feature's override, else the config's.
func (c *Config) Threshold(feature string, test vocab.Statistic) float64 {
	return c.thresholds(feature).of(test)
}

// DecidingTest returns the test that decides drift on a feature, for `check`
// and the stream alike: the feature's own test, else the config's Test, else
// the default rule. The default rule takes a distance for a large reference
// (more than SmallSample rows: normalized Wasserstein for a numeric
// feature, Jensen-Shannon for a categorical one), where any p-value test
// flags differences too small to matter, and a p-value test for a small one
// (KS; Z for a binary categorical feature, chi-square for the others). Z on
// a categorical feature without exactly two categories is chi-square.
func (c *Config) DecidingTest(feature string, kind profile.Kind, refRows int, binary bool) vocab.Statistic {
	test := c.Features[feature].Test
	if test == "" {
		test = c.Test
	}
	switch {
	case test == TestZ && !binary:
		return TestChiSquare
	case test != "":
		return test
	case kind == profile.Numeric && refRows <= c.SmallSample:
		return TestKS
	case kind == profile.Numeric:
		return TestWasserstein
	case refRows > c.SmallSample:
		return TestJS
	case binary:
		return TestZ
	}
	return TestChiSquare
}

// Drifts reports whether a test's statistic crosses its threshold: a
// p-value (ks, chi_square, z) below it, a distance at or above it. NaN (not
// computable) never drifts.
func Drifts(test vocab.Statistic, x, threshold float64) bool {
	switch test {
	case TestKS, TestChiSquare, TestZ:
		return pBelow(x, threshold)
	}
	return above(x, threshold)
}
