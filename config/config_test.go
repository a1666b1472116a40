package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"driftwatch/detectors"
	"driftwatch/flag"
	"driftwatch/rollout"
)

func TestExampleIsValidAndShowsTheDefaults(t *testing.T) {
	c, err := Parse(Example)
	if err != nil {
		t.Fatalf("example: %v", err)
	}
	d := Default()
	if c.Kafka.EmbeddedAddr != d.Kafka.EmbeddedAddr || c.Join != d.Join || c.Defaults.Window != d.Defaults.Window ||
		c.Defaults.EvaluateEvery != d.Defaults.EvaluateEvery || c.Fields != d.Fields || c.Topics != d.Topics ||
		c.Defaults.Drift.Thresholds != d.Defaults.Drift.Thresholds || c.MaxMessageBytes != d.MaxMessageBytes ||
		c.StallTimeout != d.StallTimeout {
		t.Fatalf("the example must show the defaults:\n%+v\n%+v", c, d)
	}
	if len(c.Alerting.Rules) != len(d.Alerting.Rules) || c.Alerting.Delivery != d.Alerting.Delivery {
		t.Fatalf("the example must show the default alerting:\n%+v\n%+v", c.Alerting, d.Alerting)
	}
	for i, r := range c.Alerting.Rules {
		w := d.Alerting.Rules[i]
		if r.Name != w.Name || r.Statistic != w.Statistic || *r.Warning != *w.Warning || *r.Critical != *w.Critical ||
			r.For != w.For || r.KeepFiringFor != w.KeepFiringFor || r.MinSamples != w.MinSamples {
			t.Fatalf("rule %d: example %+v, default %+v", i, r, w)
		}
	}
	m := c.Models[0]
	if m.Window.Length != time.Hour || m.Drift.Bins != 10 || m.MinSamples != 500 || len(m.Features) != 3 {
		t.Fatalf("model defaults not filled: %+v", m)
	}
}

func TestModelOverrides(t *testing.T) {
	c, err := Parse([]byte(`
defaults: {window: {length: 2h, pane: 5m}}
models:
  - {name: a, task: classification, versions: [{name: v1, reference: a.dwprof}]}
  - {name: b, task: regression, versions: [{name: v1, reference: b.dwprof}], window: {length: 10m, pane: 10s}, drift: {bins: 20}}
  - {name: c, task: classification, positive: "yes", versions: [{name: v1, reference: a.dwprof}]}
`))
	if err != nil {
		t.Fatal(err)
	}
	if c.Models[0].PositiveClass() != DefaultPositive || c.Models[2].PositiveClass() != "yes" {
		t.Fatalf("positive classes %q, %q; want %q, yes", c.Models[0].PositiveClass(), c.Models[2].PositiveClass(), DefaultPositive)
	}
	if c.Models[0].Window.Length != 2*time.Hour || c.Models[1].Window.Pane != 10*time.Second ||
		c.Models[1].Drift.Bins != 20 || c.Models[1].Drift.Thresholds.KS != 0.05 || c.Models[0].Drift.Bins != 10 {
		t.Fatalf("overrides: %+v %+v", c.Models[0], c.Models[1])
	}
}

// wantErrors parses every file matching glob, each starting with
// "# want: <exact error>", and checks the error.
func wantErrors(t *testing.T, glob string, atLeast int, parse func([]byte) error) {
	t.Helper()
	files, _ := filepath.Glob(glob)
	if len(files) < atLeast {
		t.Fatalf("%s: only %d files", glob, len(files))
	}
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		first, _, _ := strings.Cut(string(data), "\n")
		want := strings.TrimPrefix(first, "# want: ")
		if err := parse(data); err == nil || err.Error() != want {
			t.Errorf("%s:\n got %v\nwant %s", p, err, want)
		}
	}
}

func TestInvalid(t *testing.T) {
	wantErrors(t, "testdata/invalid/*.yaml", 12, func(b []byte) error { _, err := Parse(b); return err })
}

func TestLoadNamesTheFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "dw.yaml")
	os.WriteFile(p, []byte("format: xml\n"), 0o644)
	if _, err := Load(p); err == nil || err.Error() != `config: "`+p+`": format must be json or arrow, got "xml"` {
		t.Fatalf("got %v", err)
	}
}

func TestCheckConfig(t *testing.T) {
	c, err := ParseCheck([]byte("bins: 20\nfeatures:\n  age: {test: psi}\n"))
	if err != nil || c.Bins != 20 || c.Features["age"].Test != "psi" || c.Thresholds.KS != 0.05 {
		t.Fatalf("%+v %v", c, err)
	}
	if _, err := ParseCheck([]byte("bin: 20\n")); err == nil || err.Error() != `line 1: unknown key "bin"` {
		t.Fatalf("got %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add(Example)
	files, _ := filepath.Glob("testdata/invalid/*.yaml")
	for _, p := range files {
		data, _ := os.ReadFile(p)
		f.Add(data)
	}
	f.Add([]byte(`
kafka: {instance_id: a, session_timeout: 10s}
models:
  - name: m
    task: classification
    versions: [{name: v1, reference: a.dwprof}, {name: v2, reference: a.dwprof}]
    rollout: &r {stable: v1, candidate: v2, mode: shadow, criteria: [{metric: auc, tolerance: 0.01}, {metric: error_rate, ratio: 1.2}]}
  - {name: n, task: classification, versions: [{name: v1, reference: a.dwprof}, {name: v2, reference: a.dwprof}], rollout: *r}
`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err == nil {
			for _, m := range c.Models {
				if m.Window.Pane <= 0 || m.Drift.Bins < 2 || m.EvaluateEvery <= 0 {
					t.Fatalf("accepted model without defaults: %+v", m)
				}
				if r := m.Rollout; r != nil && (r.MinSamples < 1 || !(r.Alpha > 0 && r.Alpha < 1) || len(r.Criteria) == 0) {
					t.Fatalf("accepted a rollout without defaults: %+v", r)
				}
			}
		}
	})
}

func TestInvalidCheckConfigs(t *testing.T) {
	wantErrors(t, "testdata/check/invalid/*.yaml", 5, func(b []byte) error { _, err := ParseCheck(b); return err })
	c, err := LoadCheck("testdata/check/example.yaml")
	if err != nil || c.Features["customer_id"].Ignore != true || c.Features["income"].Thresholds["psi"] != 0.1 ||
		c.Multivariate != detectors.DefaultConfig().Multivariate {
		t.Fatalf("example: %+v %v", c, err)
	}
}

func FuzzParseCheck(f *testing.F) {
	files, _ := filepath.Glob("testdata/check/*/*.yaml")
	for _, p := range files {
		data, _ := os.ReadFile(p)
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if c, err := ParseCheck(data); err == nil && c.Bins < 2 {
			t.Fatalf("accepted bins %d", c.Bins)
		}
	})
}

func TestRolloutDefaultsAndValidation(t *testing.T) {
	const base = `
models:
  - name: credit
    task: classification
    versions: [{name: v1, reference: a.dwprof}, {name: v2, reference: a.dwprof}]
    rollout: %s
`
	parse := func(ro string) (*Config, error) { return Parse([]byte(strings.Replace(base, "%s", ro, 1))) }
	c, err := parse(`{stable: v1, candidate: v2, min_period: 1h}`)
	if err != nil {
		t.Fatal(err)
	}
	r := c.Models[0].Rollout
	d := rollout.DefaultConfig()
	if r.MinPeriod != time.Hour || r.Mode != rollout.Canary || r.MinSamples != d.MinSamples || r.Alpha != d.Alpha ||
		len(r.Criteria) != len(d.Criteria) || r.Criteria[1] != d.Criteria[1] {
		t.Fatalf("defaults not filled: %+v", r)
	}
	c, err = parse(`{stable: v1, candidate: v2, mode: shadow, criteria: [{metric: auc, tolerance: 0.01}], start: 2026-11-23T10:00:00Z}`)
	if err != nil {
		t.Fatal(err)
	}
	if r := c.Models[0].Rollout; len(r.Criteria) != 1 || r.Criteria[0].Metric != rollout.AUC || r.Mode != rollout.Shadow ||
		!r.Start.Equal(time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)) {
		t.Fatalf("criteria replace the defaults: %+v", r)
	}
	if c, _ := Parse([]byte(strings.Replace(base, "rollout: %s", "", 1))); c.Models[0].Rollout != nil {
		t.Fatal("a model without a rollout got one")
	}
	for ro, want := range map[string]string{
		`{stable: v1, candidate: v3}`:                                       `models[0].rollout: version "v3" is not among the model's versions`,
		`{stable: v1, candidate: v2, criteria: [{metric: mae}]}`:            `models[0].rollout: criteria[0].metric: mae does not apply to a classification model`,
		`{stable: v1, candidate: v2, mode: blue-green}`:                     `models[0].rollout: mode: "blue-green" is neither "canary" nor "shadow"`,
		`{stable: v1, candidate: v2, alpha: 2}`:                             `models[0].rollout: alpha: 2 is not in (0, 1)`,
		`{stable: v1, candidate: v2, canary_share: 0.1}`:                    `unknown key "canary_share"`,
		`{stable: v1, candidate: v2, criteria: [{metric: f1, ratio: 1.5}]}`: `criteria[0].ratio: 1.5 for f1, where higher is better, must be in (0, 1]`,
	} {
		_, err := parse(ro)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want %q", ro, err, want)
		}
	}
	_, err = Parse([]byte(strings.Replace(base, "rollout: %s", "window: {count: 1000}\n    rollout: {stable: v1, candidate: v2}", 1)))
	if err == nil || !strings.Contains(err.Error(), "needs an event-time window") {
		t.Errorf("count window: %v", err)
	}
}

func TestRolloutFlag(t *testing.T) {
	const base = `
models:
  - name: credit
    task: classification
    versions: [{name: v1, reference: a.dwprof}, {name: v2, reference: a.dwprof}]
    rollout:
      stable: v1
      candidate: v2
      flag: {provider: unleash, url: "http://127.0.0.1:4242", token_env: T, project: default, environment: production, feature: f}
%s`
	c, err := Parse([]byte(strings.Replace(base, "%s", "", 1)))
	if err != nil {
		t.Fatal(err)
	}
	r := c.Models[0].Rollout
	if !slices.Equal(r.Ramp, []int{5, 25, 50, 100}) || r.Observe != 48*time.Hour || r.OnRollback != flag.RollbackZero || r.DryRun ||
		r.Flag.Strategy != flag.FlexibleRollout || r.Flag.Feature != "f" || r.Candidate != "v2" || r.MinSamples != rollout.DefaultConfig().MinSamples {
		t.Fatalf("defaults not filled: %+v %+v", r, r.Flag)
	}
	c, err = Parse([]byte(strings.Replace(base, "%s", "      ramp: [10, 100]\n      observe: 5s\n      on_rollback: disable\n      dry_run: true\n", 1)))
	if err != nil {
		t.Fatal(err)
	}
	want := flag.Ramp{Steps: []int{10, 100}, Observe: 5 * time.Second, OnRollback: flag.RollbackDisable, DryRun: true}
	if got := c.Models[0].Rollout.FlagRamp(); !slices.Equal(got.Steps, want.Steps) || got.Observe != want.Observe || got.OnRollback != want.OnRollback || !got.DryRun {
		t.Fatalf("ramp %+v, want %+v", got, want)
	}
}

// Retention's time defaults to the longest event-time window plus its
// lateness plus the margin; count windows do not count; a set time stays.
func TestEmbeddedRetention(t *testing.T) {
	c, err := Parse(Example)
	if err != nil {
		t.Fatal(err)
	}
	r, d := c.Kafka.Embedded.Retention, Default().Kafka.Embedded.Retention
	if r.Time != time.Hour+5*time.Minute+10*time.Minute || r.Margin != d.Margin || r.Bytes != d.Bytes ||
		r.MaxBytes != d.MaxBytes || r.Interval != d.Interval || d.Time != 0 {
		t.Fatalf("example %+v, defaults %+v", r, d)
	}
	c, err = Parse([]byte(`
kafka: {embedded: {retention: {margin: 1m}}}
models:
  - {name: a, task: classification, versions: [{name: v1, reference: a.dwprof}], window: {length: 2h, pane: 1m, lateness: 10m}}
  - {name: b, task: classification, versions: [{name: v1, reference: a.dwprof}], window: {length: 30m, pane: 1m, lateness: 30m}}
  - {name: c, task: classification, versions: [{name: v1, reference: a.dwprof}], window: {length: 9h, pane: 1h, count: 1000}}
`))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Kafka.Embedded.Retention.Time; got != 2*time.Hour+10*time.Minute+time.Minute {
		t.Fatalf("auto time %s", got)
	}
	c, err = Parse([]byte("kafka: {embedded: {retention: {time: 20m, bytes: 1048576, max_bytes: 0}}}\nmodels: [{name: m, task: regression, versions: [{name: v1, reference: r}]}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	b := c.Kafka.Embedded.Retention.Broker("grp", "p", "o")
	if b.Time != 20*time.Minute || b.Bytes != 1<<20 || b.MaxBytes != 0 || b.Interval != 10*time.Second || b.Group != "grp" ||
		len(b.Consumed) != 2 || b.Consumed[1] != "o" {
		t.Fatalf("broker retention %+v", b)
	}
}

// A partial multivariate block keeps the other defaults.
func TestCheckMultivariatePartial(t *testing.T) {
	c, err := ParseCheck([]byte("multivariate: {enabled: false}\n"))
	want := detectors.DefaultConfig().Multivariate
	want.Enabled = false
	if err != nil || c.Multivariate != want {
		t.Fatalf("got %+v, %v; want %+v", c.Multivariate, err, want)
	}
	c, err = ParseCheck([]byte("multivariate:\n  variance: 0.8\n"))
	if err != nil || !c.Multivariate.Enabled || c.Multivariate.Variance != 0.8 || c.Multivariate.ThresholdSigmas != 3 {
		t.Fatalf("got %+v, %v; want enabled, 0.8, 3", c.Multivariate, err)
	}
}
