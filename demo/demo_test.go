package demo

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The demo's contract at its default settings (`demo --duration 90s
// --drift-at 30s`, 500 events/s): the first drift alert comes after the
// injection and within 60 s of it, none before, and every event produced
// is processed; of the canaries, the worse one is rolled back and the equal
// one promoted; the credit-line regressor's MAE before the injection is that
// of its noise (σ $1,500: MAE σ·√(2/π) ≈ $1,197, a little less as granted
// lines are clipped at $0; $1,155 in one run) and rises with the drift.
func TestDemoContract(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for 90 s")
	}
	var out strings.Builder
	path := filepath.Join(t.TempDir(), "summary.json")
	sum, err := Run(context.Background(), Options{Duration: 90 * time.Second, DriftAt: 30 * time.Second, Rate: 500,
		HTTPAddr: "127.0.0.1:0", Summary: path, Out: &out})
	if err != nil {
		t.Fatal(err)
	}
	if sum.EventsProduced < 30000 || sum.EventsProcessed != sum.EventsProduced {
		t.Fatalf("produced %d, processed %d\n%s", sum.EventsProduced, sum.EventsProcessed, out.String())
	}
	if sum.OutcomesProduced < 25000 || sum.OutcomesJoined != sum.OutcomesProduced {
		t.Fatalf("outcomes produced %d, joined %d\n%s", sum.OutcomesProduced, sum.OutcomesJoined, out.String())
	}
	if len(sum.Alerts) == 0 {
		t.Fatalf("no alert\n%s", out.String())
	}
	first := sum.Alerts[0].FiredAt
	for _, a := range sum.Alerts {
		if a.FiredAt.Before(sum.DriftInjectedAt) {
			t.Fatalf("alert %+v before the injection at %v\n%s", a, sum.DriftInjectedAt, out.String())
		}
		if a.FiredAt.Before(first) {
			first = a.FiredAt
		}
	}
	if d := first.Sub(sum.DriftInjectedAt); d > 60*time.Second {
		t.Fatalf("first alert %v after the injection\n%s", d, out.String())
	}
	// The canary scenarios: the worse canary is rolled back, not before
	// the minimum period; the equal one is promoted; each deploy webhook is
	// called once.
	if len(sum.Rollouts) != 2 {
		t.Fatalf("rollout decisions %+v, want one rollback and one promote\n%s", sum.Rollouts, out.String())
	}
	for _, d := range sum.Rollouts {
		want := map[string]string{worseModel: "rollback", equalModel: "promote"}[d.Model]
		if d.Action != want || d.Candidate != "v2" || d.Stable != "v1" || d.Reason == "" {
			t.Fatalf("rollout decision %+v, want %s\n%s", d, want, out.String())
		}
		if d.At.Before(sum.RolloutsStarted.Add(rolloutMinPeriod)) {
			t.Fatalf("%s decided at %v, before the minimum period from %v", d.Model, d.At, sum.RolloutsStarted)
		}
	}
	reg := sum.Regression
	if before := float64(reg.MAEBeforeDrift); reg.Model != lineModel || !(before > 1050 && before < 1350) ||
		!(float64(reg.RMSEBeforeDrift) > 1350 && float64(reg.RMSEBeforeDrift) < 1650) || !(float64(reg.MAEAtEnd) > 1.3*before) ||
		!(reg.RMSEAtEnd > reg.MAEAtEnd) {
		t.Fatalf("regression %+v: want MAE ≈ 1197 and RMSE ≈ 1500 before the drift, MAE 1.3× higher at the end\n%s", reg, out.String())
	}
	var onDisk Summary
	data, _ := os.ReadFile(path)
	if err := json.Unmarshal(data, &onDisk); err != nil || onDisk.EventsProduced != sum.EventsProduced || len(onDisk.Alerts) != len(sum.Alerts) ||
		onDisk.Regression != sum.Regression {
		t.Fatalf("summary file: %v %s", err, data)
	}
}
