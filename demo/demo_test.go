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
// is processed.
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
	var onDisk Summary
	data, _ := os.ReadFile(path)
	if err := json.Unmarshal(data, &onDisk); err != nil || onDisk.EventsProduced != sum.EventsProduced || len(onDisk.Alerts) != len(sum.Alerts) {
		t.Fatalf("summary file: %v %s", err, data)
	}
}
