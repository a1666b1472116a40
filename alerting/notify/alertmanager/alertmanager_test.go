package alertmanager

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"driftwatch/alerting/notify"
	"driftwatch/alerting/notify/notifytest"
	"driftwatch/internal/testutil/daemon"
)

func TestAlertmanagerPayload(t *testing.T) {
	rc, srv := notifytest.NewHookServer(t)
	am, err := New(Config{URLs: []string{srv.URL + "/prefix/"}, ResendInterval: 30 * time.Second}, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	if am.ResendInterval() != 30*time.Second {
		t.Errorf("ResendInterval %s", am.ResendInterval())
	}
	now := time.Date(2025, 3, 1, 12, 5, 0, 0, time.UTC)
	am.now = func() time.Time { return now }
	a := notifytest.Alert("income")
	a.Labels["empty"] = ""
	age := notifytest.Alert("age")
	age.Labels[SourceLabel] = "nightly" // a rule's own source label stands
	if _, err := am.Notify(notifytest.Context(t), []notify.Alert{a, notifytest.Resolved(age, now)}); err != nil {
		t.Fatal(err)
	}
	reqs := rc.Requests()
	if len(reqs) != 1 || reqs[0].Path != "/prefix/api/v2/alerts" || reqs[0].Header.Get("Content-Type") != "application/json" {
		t.Fatalf("requests %+v, want one POST to /prefix/api/v2/alerts", reqs)
	}
	var got []amAlert
	if err := json.Unmarshal(reqs[0].Body, &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("%d alerts, want 2", len(got))
	}
	firing, res := got[0], got[1]
	wantLabels := map[string]string{"alertname": "psi_drift", "model": "credit", "version": "v3", "feature": "income",
		"statistic": "psi", "severity": "critical", "team": "risk", "source": "driftwatch"}
	if fmt.Sprint(firing.Labels) != fmt.Sprint(wantLabels) {
		t.Errorf("labels %v, want %v (empty values dropped)", firing.Labels, wantLabels)
	}
	wantAnn := map[string]string{"summary": "credit/v3: psi of income is 0.313 (>= 0.25)", "runbook_url": "http://127.0.0.1/runbook",
		"value": "0.3127", "threshold": "0.25", "dashboard_url": a.DashboardURL}
	for k, v := range wantAnn {
		if firing.Annotations[k] != v {
			t.Errorf("annotation %s = %q, want %q", k, firing.Annotations[k], v)
		}
	}
	if firing.StartsAt != "2025-03-01T12:00:00Z" || firing.EndsAt != "2025-03-01T12:07:00Z" || firing.GeneratorURL != a.GeneratorURL {
		t.Errorf("firing: startsAt %s endsAt %s (want now + 4 x 30s) generatorURL %s", firing.StartsAt, firing.EndsAt, firing.GeneratorURL)
	}
	if res.Labels["feature"] != "age" || res.EndsAt != "2025-03-01T12:05:00Z" || res.Labels[SourceLabel] != "nightly" {
		t.Errorf("resolved: %+v, want endsAt = its EndsAt and the rule's source label", res)
	}
}

func TestAlertmanagerHA(t *testing.T) {
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	for _, tc := range []struct {
		name     string
		statuses []int // per Notifier; 0: unreachable
		ok       bool
		retry    bool
	}{
		{"both accept", []int{200, 200}, true, false},
		{"one down", []int{0, 200}, true, false},
		{"one 503", []int{200, 503}, true, false},
		{"both 503", []int{503, 503}, false, true},
		{"down and 503", []int{0, 503}, false, true},
		{"400 and 503", []int{400, 503}, false, false},
		{"both 400", []int{400, 400}, false, false},
	} {
		var urls []string
		var servers []*notifytest.HookServer
		for _, st := range tc.statuses {
			if st == 0 {
				urls = append(urls, down.URL)
				continue
			}
			rc, srv := notifytest.NewHookServer(t, st)
			urls = append(urls, srv.URL)
			servers = append(servers, rc)
		}
		am, err := New(Config{URLs: urls}, nil)
		if err != nil {
			t.Fatal(err)
		}
		retry, err := am.Notify(notifytest.Context(t), []notify.Alert{notifytest.Alert("income")})
		if (err == nil) != tc.ok || retry != tc.retry {
			t.Errorf("%s: retry=%v err=%v, want ok=%v retry=%v", tc.name, retry, err, tc.ok, tc.retry)
		}
		for i, rc := range servers {
			if n := len(rc.Requests()); n != 1 {
				t.Errorf("%s: Notifier %d got %d requests, want 1 (send to every one)", tc.name, i, n)
			}
		}
	}
}

// TestAlertmanagerReal runs Debian's prometheus-alertmanager (or the binary
// in $ALERTMANAGER_BIN) with a webhook receiver in the test: two alerts
// sent together arrive grouped in one notification, then resolved.
func TestAlertmanagerReal(t *testing.T) {
	bin := os.Getenv("ALERTMANAGER_BIN")
	if bin == "" {
		bin = "prometheus-alertmanager"
	}
	bin, err := exec.LookPath(bin)
	if err != nil {
		if os.Getenv("CI") != "true" {
			t.Skipf("no Notifier binary (apt-get install prometheus-alertmanager): %v", err)
		}
		t.Fatalf("CI needs the Notifier binary: %v", err)
	}

	notes := make(chan amNotification, 16)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n amNotification
		if err := json.NewDecoder(r.Body).Decode(&n); err != nil {
			t.Errorf("webhook: %v", err)
		}
		select {
		case notes <- n:
		default:
			t.Errorf("webhook: too many notifications")
		}
	}))
	defer hook.Close()

	base := startAlertmanager(t, bin, hook.URL)
	am, err := New(Config{URLs: []string{base}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()

	now := time.Now().Truncate(time.Second)
	income, age := notifytest.Alert("income"), notifytest.Alert("age")
	income.StartsAt, age.StartsAt = now, now
	if _, err := am.Notify(ctx, []notify.Alert{income, age}); err != nil {
		t.Fatal(err)
	}
	n := waitNotification(t, ctx, notes, "firing")
	if got := n.features(); got != "age,income" || n.GroupLabels["model"] != "credit" || n.GroupLabels["alertname"] != "psi_drift" {
		t.Fatalf("firing notification: features %s, group labels %v; want age and income in one group", got, n.GroupLabels)
	}
	if n.Alerts[0].Annotations["summary"] == "" || !strings.HasPrefix(n.Alerts[0].GeneratorURL, "http://127.0.0.1:8080/") {
		t.Errorf("annotations or generatorURL lost: %+v", n.Alerts[0])
	}

	end := time.Now()
	if _, err := am.Notify(ctx, []notify.Alert{notifytest.Resolved(income, end), notifytest.Resolved(age, end)}); err != nil {
		t.Fatal(err)
	}
	n = waitNotification(t, ctx, notes, "resolved")
	if got := n.features(); got != "age,income" {
		t.Fatalf("resolved notification: features %s, want age,income", got)
	}
	for _, a := range n.Alerts {
		if a.Status != "resolved" {
			t.Errorf("alert %v: status %s, want resolved", a.Labels, a.Status)
		}
	}
}

// amNotification is Notifier's webhook payload (the parts we check).
type amNotification struct {
	Status      string            `json:"status"`
	GroupLabels map[string]string `json:"groupLabels"`
	Alerts      []struct {
		Status       string            `json:"status"`
		Labels       map[string]string `json:"labels"`
		Annotations  map[string]string `json:"annotations"`
		GeneratorURL string            `json:"generatorURL"`
	} `json:"alerts"`
}

func (n amNotification) features() string {
	var fs []string
	for _, a := range n.Alerts {
		fs = append(fs, a.Labels["feature"])
	}
	sort.Strings(fs)
	return strings.Join(fs, ",")
}

// waitNotification returns the first notification with the status,
// skipping others (a slow machine may flush the group twice).
func waitNotification(t *testing.T, ctx context.Context, notes <-chan amNotification, status string) amNotification {
	t.Helper()
	for {
		select {
		case n := <-notes:
			if n.Status == status {
				return n
			}
			t.Logf("skipping a %s notification while waiting for %s", n.Status, status)
		case <-ctx.Done():
			t.Fatalf("no %s notification from Alertmanager: %v", status, ctx.Err())
		}
	}
}

const amConfig = `route:
  receiver: hook
  group_by: [alertname, model]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs:
      - url: %q
        send_resolved: true
`

// startAlertmanager starts Notifier on a free loopback port with
// clustering off and returns its base URL once it is ready; t.Cleanup
// kills it.
func startAlertmanager(t *testing.T, bin, hookURL string) string {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, amConfig, hookURL), 0o600); err != nil {
		t.Fatal(err)
	}
	return daemon.Start(t, "alertmanager", bin, func(_ int, addr string) []string {
		return []string{"--config.file=" + cfg, "--storage.path=" + filepath.Join(dir, "data"),
			"--web.listen-address=" + addr, "--cluster.listen-address=", "--log.level=warn"}
	})
}
