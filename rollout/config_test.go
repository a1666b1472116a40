package rollout

import (
	"bytes"
	"math"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// A rollout section as the service config will carry it, decoded strictly
// over DefaultConfig the way package config fills defaults.
func TestYAML(t *testing.T) {
	src := `
stable: v1
candidate: v2
mode: shadow
criteria:
  - metric: auc
    tolerance: 0.01
  - metric: latency_p95
    ratio: 1.25
  - metric: error_rate
    ratio: 1.2
    tolerance: 0.001
min_period: 1h
min_samples: 500
`
	cfg := DefaultConfig()
	dec := yaml.NewDecoder(bytes.NewReader([]byte(src)))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	want := []Criterion{{Metric: AUC, Tolerance: 0.01}, {Metric: LatencyP95, Ratio: 1.25}, {Metric: ErrorRate, Ratio: 1.2, Tolerance: 0.001}}
	if cfg.Mode != Shadow || cfg.MinPeriod != time.Hour || cfg.MinSamples != 500 || cfg.Alpha != 0.05 || len(cfg.Criteria) != 3 {
		t.Fatalf("decoded %+v", cfg)
	}
	for i, c := range cfg.Criteria {
		if c != want[i] {
			t.Errorf("criteria[%d] = %+v, want %+v", i, c, want[i])
		}
	}
	if got := cfg.Criteria[2].String(); got != "error_rate ≤ 1.2 × stable + 0.001" {
		t.Errorf("String() = %q", got)
	}
	if got := cfg.Criteria[0].Limit(0.9); math.Abs(got-0.89) > 1e-15 {
		t.Errorf("auc limit at 0.9 = %g", got)
	}
	if got := cfg.Criteria[2].Limit(0.01); math.Abs(got-0.013) > 1e-15 {
		t.Errorf("error rate limit at 0.01 = %g", got)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Config)
		err    string
	}{
		{"default", func(*Config) {}, ""},
		{"no stable", func(c *Config) { c.Stable = "" }, `rollout: stable: a version is required`},
		{"no candidate", func(c *Config) { c.Candidate = "" }, `rollout: candidate: a version is required`},
		{"same versions", func(c *Config) { c.Candidate = "v1" }, `rollout: candidate: "v1" is also the stable version`},
		{"unknown mode", func(c *Config) { c.Mode = "blue-green" }, `rollout: mode: "blue-green" is neither "canary" nor "shadow"`},
		{"no criteria", func(c *Config) { c.Criteria = nil }, `rollout: criteria: at least one is required`},
		{"unknown metric", func(c *Config) { c.Criteria[1].Metric = "p99" },
			`rollout: criteria[1].metric: unknown metric "p99" (one of accuracy, f1, auc, mae, rmse, latency_p95, error_rate)`},
		{"duplicate metric", func(c *Config) { c.Criteria[2].Metric = Accuracy }, `rollout: criteria[2].metric: "accuracy" appears twice`},
		{"negative tolerance", func(c *Config) { c.Criteria[0].Tolerance = -0.02 }, `rollout: criteria[0].tolerance: -0.02 is not a finite number ≥ 0`},
		{"NaN tolerance", func(c *Config) { c.Criteria[0].Tolerance = math.NaN() }, `rollout: criteria[0].tolerance: NaN is not a finite number ≥ 0`},
		{"infinite tolerance", func(c *Config) { c.Criteria[0].Tolerance = math.Inf(1) }, `rollout: criteria[0].tolerance: +Inf is not a finite number ≥ 0`},
		{"ratio below 1 for latency", func(c *Config) { c.Criteria[1].Ratio = 0.9 },
			`rollout: criteria[1].ratio: 0.9 for latency_p95, where lower is better, must be a finite number ≥ 1`},
		{"negative ratio", func(c *Config) { c.Criteria[2].Ratio = -1.2 },
			`rollout: criteria[2].ratio: -1.2 for error_rate, where lower is better, must be a finite number ≥ 1`},
		{"ratio above 1 for accuracy", func(c *Config) { c.Criteria[0].Ratio = 1.02 },
			`rollout: criteria[0].ratio: 1.02 for accuracy, where higher is better, must be in (0, 1]`},
		{"ratio 0.98 for accuracy", func(c *Config) { c.Criteria[0].Ratio = 0.98 }, ""},
		{"negative period", func(c *Config) { c.MinPeriod = -time.Minute }, `rollout: min_period: -1m0s is negative`},
		{"zero period", func(c *Config) { c.MinPeriod = 0 }, ""},
		{"max period within min period", func(c *Config) { c.MaxPeriod = 30 * time.Minute }, `rollout: max_period: 30m0s must be 0 (no maximum) or longer than min_period 30m0s`},
		{"negative max period", func(c *Config) { c.MaxPeriod = -time.Minute }, `rollout: max_period: -1m0s must be 0 (no maximum) or longer than min_period 30m0s`},
		{"max period", func(c *Config) { c.MaxPeriod = 2 * time.Hour }, ""},
		{"no samples", func(c *Config) { c.MinSamples = 0 }, `rollout: min_samples: 0, want at least 1`},
		{"alpha 0", func(c *Config) { c.Alpha = 0 }, `rollout: alpha: 0 is not in (0, 1)`},
		{"alpha 1", func(c *Config) { c.Alpha = 1 }, `rollout: alpha: 1 is not in (0, 1)`},
		{"alpha 5", func(c *Config) { c.Alpha = 5 }, `rollout: alpha: 5 is not in (0, 1)`},
		{"alpha NaN", func(c *Config) { c.Alpha = math.NaN() }, `rollout: alpha: NaN is not in (0, 1)`},
	}
	for _, tc := range tests {
		cfg := named()
		tc.change(&cfg)
		err := cfg.Validate()
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.err != "" && (err == nil || err.Error() != tc.err):
			t.Errorf("%s: error %v, want %s", tc.name, err, tc.err)
		}
		// Compare refuses what Validate refuses, names aside.
		if tc.err != "" && !strings.HasPrefix(tc.err, "rollout: stable") && !strings.HasPrefix(tc.err, "rollout: candidate") && !strings.HasPrefix(tc.err, "rollout: mode") {
			v := Compare(Arm{}, Arm{}, cfg, time.Hour)
			if v.Decision != Continue || v.Reason != "invalid config: "+tc.err {
				t.Errorf("%s: Compare gave %s: %s", tc.name, v.Decision, v.Reason)
			}
		}
	}
}
