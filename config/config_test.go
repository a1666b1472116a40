package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestExampleIsValidAndShowsTheDefaults(t *testing.T) {
	c, err := Parse(Example)
	if err != nil {
		t.Fatalf("example: %v", err)
	}
	d := Default()
	if c.Kafka.EmbeddedAddr != d.Kafka.EmbeddedAddr || c.Join != d.Join || c.Defaults.Window != d.Defaults.Window ||
		c.Defaults.EvaluateEvery != d.Defaults.EvaluateEvery || c.Fields != d.Fields || c.Topics != d.Topics ||
		c.Defaults.Drift.Thresholds != d.Defaults.Drift.Thresholds || c.MaxMessageBytes != d.MaxMessageBytes {
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
`))
	if err != nil {
		t.Fatal(err)
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
	wantErrors(t, "testdata/invalid/*.yaml", 11, func(b []byte) error { _, err := Parse(b); return err })
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
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err == nil {
			for _, m := range c.Models {
				if m.Window.Pane <= 0 || m.Drift.Bins < 2 || m.EvaluateEvery <= 0 {
					t.Fatalf("accepted model without defaults: %+v", m)
				}
			}
		}
	})
}

func TestInvalidCheckConfigs(t *testing.T) {
	wantErrors(t, "testdata/check/invalid/*.yaml", 5, func(b []byte) error { _, err := ParseCheck(b); return err })
	c, err := LoadCheck("testdata/check/example.yaml")
	if err != nil || c.Features["customer_id"].Ignore != true || c.Features["income"].Thresholds["psi"] != 0.1 {
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
