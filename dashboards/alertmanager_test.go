package dashboards

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"driftwatch/alerting/notify"
	"driftwatch/alerting/notify/alertmanager"
	"driftwatch/internal/testutil/daemon"
	"driftwatch/vocab"
)

// TestInhibitPrometheusDuplicates runs Debian's prometheus-alertmanager
// with the shipped inhibit rules (InhibitFile) and gets the same alert from
// both sides: FeatureDrift of credit-scoring/v1 income from the service's
// Alertmanager notifier at warning, and from the shipped Prometheus rules
// at warning and critical, labelled as those rules label them. The
// service's alert stays active and both Prometheus duplicates are
// inhibited. FeatureDrift of age, raised by Prometheus alone, still pages:
// its critical alert is active, its warning inhibited by the critical one.
func TestInhibitPrometheusDuplicates(t *testing.T) {
	bin := binary(t, "prometheus-alertmanager", "ALERTMANAGER_BIN")
	inhibit, err := os.ReadFile(InhibitFile)
	if err != nil {
		t.Fatal(err)
	}
	base := startAlertmanager(t, bin, inhibit)
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()

	// What Prometheus posts for the shipped rules: the rule's labels and the
	// series' labels.
	promLabels := map[string]map[string]string{} // by severity
	for _, g := range readRules(t).Groups {
		for _, r := range g.Rules {
			if r.Alert == "FeatureDrift" {
				promLabels[r.Labels["severity"]] = r.Labels
			}
		}
	}
	if len(promLabels) != 2 {
		t.Fatalf("FeatureDrift rules by severity %v, want warning and critical", promLabels)
	}
	now := time.Now().UTC().Truncate(time.Second)
	var posted []map[string]any
	for _, feature := range []string{"income", "age"} {
		for _, sev := range []string{string(notify.SeverityWarning), string(notify.SeverityCritical)} {
			labels := maps.Clone(promLabels[sev])
			maps.Copy(labels, map[string]string{"alertname": "FeatureDrift", "model": "credit-scoring", "version": "v1", "feature": feature})
			posted = append(posted, map[string]any{"labels": labels, "startsAt": now.Format(time.RFC3339),
				"endsAt": now.Add(10 * time.Minute).Format(time.RFC3339), "generatorURL": "http://127.0.0.1:9090/graph"})
		}
	}
	body, _ := json.Marshal(posted)
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/v2/alerts", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("posting the Prometheus alerts: %s", resp.Status)
	}

	am, err := alertmanager.New(alertmanager.Config{URLs: []string{base}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	own := notify.Alert{Key: "FeatureDrift/credit-scoring/v1/income", Rule: "FeatureDrift", Status: notify.StatusFiring,
		Severity: notify.SeverityWarning, Model: "credit-scoring", Version: "v1", Feature: "income", Statistic: vocab.PSI,
		Value: 0.15, Threshold: 0.1, Op: ">=", Samples: 1000, StartsAt: now}
	if _, err := am.Notify(ctx, []notify.Alert{own}); err != nil {
		t.Fatal(err)
	}

	type key = [3]string // source, feature, severity
	want := map[key]string{
		{alertmanager.SourceDriftwatch, "income", string(notify.SeverityWarning)}: "active",
		{SourcePrometheus, "income", string(notify.SeverityWarning)}:              "suppressed",
		{SourcePrometheus, "income", string(notify.SeverityCritical)}:             "suppressed",
		{SourcePrometheus, "age", string(notify.SeverityWarning)}:                 "suppressed",
		{SourcePrometheus, "age", string(notify.SeverityCritical)}:                "active",
	}
	// Alertmanager marks inhibitions when it processes the alerts' groups:
	// poll, bounded; the last answer read is the one reported.
	deadline := time.Now().Add(30 * time.Second)
	var got map[key]string
	for {
		now, err := alertStates(ctx, base)
		if err == nil {
			got = now
		}
		var diff []string
		for k, st := range want {
			if got[k] != st {
				diff = append(diff, fmt.Sprintf("%s: %q, want %q", strings.Join(k[:], " "), got[k], st))
			}
		}
		if err == nil && len(diff) == 0 && len(got) == len(want) {
			return
		}
		if time.Now().After(deadline) {
			slices.Sort(diff)
			t.Fatalf("Alertmanager's alerts (err %v): %d, want %d\n  %s", err, len(got), len(want), strings.Join(diff, "\n  "))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// alertStates reads /api/v2/alerts: each alert's state by source, feature
// and severity; "suppressed" only when an inhibit rule (not a silence)
// suppresses it.
func alertStates(ctx context.Context, base string) (map[[3]string]string, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v2/alerts", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var alerts []struct {
		Labels map[string]string `json:"labels"`
		Status struct {
			State       string   `json:"state"`
			InhibitedBy []string `json:"inhibitedBy"`
			SilencedBy  []string `json:"silencedBy"`
		} `json:"status"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&alerts); err != nil {
		return nil, err
	}
	out := map[[3]string]string{}
	for _, a := range alerts {
		st := a.Status.State
		if st == "suppressed" && (len(a.Status.InhibitedBy) == 0 || len(a.Status.SilencedBy) > 0) {
			st = "suppressed otherwise than by inhibition"
		}
		out[[3]string{a.Labels[alertmanager.SourceLabel], a.Labels["feature"], a.Labels["severity"]}] = st
	}
	return out, nil
}

const amRoute = `route:
  receiver: none
  group_by: [alertname, model]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: none
`

// startAlertmanager starts Alertmanager on a free loopback port, clustering
// off, with a route to nowhere and the inhibit rules given, and returns its
// base URL once it is ready; t.Cleanup kills it.
func startAlertmanager(t *testing.T, bin string, inhibit []byte) string {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(cfg, append([]byte(amRoute), inhibit...), 0o600); err != nil {
		t.Fatal(err)
	}
	return daemon.Start(t, "alertmanager", bin, func(_ int, addr string) []string {
		return []string{"--config.file=" + cfg, "--storage.path=" + filepath.Join(dir, "data"),
			"--web.listen-address=" + addr, "--cluster.listen-address=", "--log.level=warn"}
	})
}
