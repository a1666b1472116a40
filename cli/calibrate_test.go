package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"driftwatch/alerting"
	"driftwatch/config"
	"driftwatch/profile"
	"driftwatch/service"
)

// End to end: a rule with `threshold: auto` stops the service from starting
// until `profile calibrate` has run, naming the command; after it ran, the
// service loads the thresholds it wrote and alerts at them.
func TestProfileCalibrateFeedsTheService(t *testing.T) {
	dir := t.TempDir()
	prof := filepath.Join(dir, "credit.dwprof")
	if code, _, stderr := run(t, "profile", "build", "--input", "../examples/reference.csv", "--out", prof, "--exclude", "default,score,prediction"); code != 0 {
		t.Fatal(stderr)
	}
	cfgPath := writeFile(t, "dw.yaml", fmt.Sprintf(`
kafka: {embedded_addr: "127.0.0.1:0"}
models:
  - {name: credit, task: classification, versions: [{name: v1, reference: %q}], window: {length: 10m, pane: 1m}, evaluate_every: 30s, min_samples: 100}
alerting:
  rules:
    - {name: Drift, statistic: psi, threshold: auto, false_alarms: {critical: 1/168h, warning: 1/24h}}
`, prof))
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	start := func() (*service.Service, error) {
		return service.Start(context.Background(), service.Options{Config: cfg, HTTPAddr: "127.0.0.1:0"})
	}
	_, err = start()
	want := fmt.Sprintf(`service: model "credit" version "v1": profile %q has no false-alarm calibration, which rule "Drift" (threshold: auto) needs; `+
		`run: driftwatch profile calibrate --profile %s --rate EVENTS_PER_SECOND --window 10m --pane 1m --evaluate-every 30s --min-samples 100 --budget 1/168h --budget 1/24h --statistics psi`, prof, prof)
	if err == nil || err.Error() != want {
		t.Fatalf("uncalibrated profile:\n got %v\nwant %s", err, want)
	}

	code, stdout, stderr := run(t, "profile", "calibrate", "--config", cfgPath, "--model", "credit", "--rate", "300/m", "--alerts", "10")
	if code != 0 {
		t.Fatal(stderr)
	}
	t.Log(stdout)
	p, err := profile.Load(prof)
	if err != nil {
		t.Fatal(err)
	}
	c := p.Calibration
	if c == nil || c.Rate != 5 || c.Window != 10*time.Minute || c.MinSamples != 100 || len(c.Levels) != 2 ||
		!strings.Contains(stdout, "budget 1/168h: level") || !strings.Contains(stdout, "income") {
		t.Fatalf("calibration %+v\n%s", c, stdout)
	}
	critical := c.Level(1, 168*time.Hour).Thresholds["psi"]["income"]
	if !(critical > 0 && critical > c.Level(1, 24*time.Hour).Thresholds["psi"]["income"]) {
		t.Fatalf("income thresholds: %v", c.Levels)
	}

	s, err := start()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pr, err := kgo.NewClient(kgo.SeedBrokers(s.Brokers()...), kgo.DefaultProduceTopic("predictions"))
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	// Incomes all far above the reference's: PSI well over any threshold.
	var recs []*kgo.Record
	for i := range 500 {
		recs = append(recs, &kgo.Record{Value: fmt.Appendf(nil, `{"id":"p%d","model":"credit","version":"v1","features":{"income":%d}}`, i, 900000+i)})
	}
	if err := pr.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	for s.Processed() < 500 {
		if ctx.Err() != nil {
			t.Fatalf("processed %d of 500", s.Processed())
		}
		time.Sleep(10 * time.Millisecond)
	}
	s.Evaluate()
	resp, err := http.Get("http://" + s.HTTPAddr() + "/api/v1/alerts")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var alerts []alerting.AlertState
	if err := json.NewDecoder(resp.Body).Decode(&alerts); err != nil {
		t.Fatal(err)
	}
	var income *alerting.AlertState
	for i := range alerts {
		if alerts[i].Feature == "income" {
			income = &alerts[i]
		}
	}
	if income == nil || income.Severity != "critical" || float64(income.Threshold) != critical {
		t.Fatalf("income alert %+v, want critical at the calibrated %v (all: %+v)", income, critical, alerts)
	}
}
