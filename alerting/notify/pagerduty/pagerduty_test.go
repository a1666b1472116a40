package pagerduty

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"driftwatch/alerting/notify"
	"driftwatch/alerting/notify/notifytest"
)

// pdServer fakes the Events API v2: it keeps each event and answers 202,
// or the queued status and body.
type pdServer struct {
	mu      sync.Mutex
	events  []map[string]any
	answers []pdAnswer
}

type pdAnswer struct {
	status int
	body   string
}

func (s *pdServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/v2/enqueue" || r.Method != http.MethodPost {
		http.NotFound(w, r)
		return
	}
	body, _ := io.ReadAll(r.Body)
	var e map[string]any
	if err := json.Unmarshal(body, &e); err != nil {
		http.Error(w, "bad json", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.events = append(s.events, e)
	ans := pdAnswer{http.StatusAccepted, fmt.Sprintf(`{"status":"success","message":"Event processed","dedup_key":%q}`, e["dedup_key"])}
	if len(s.answers) > 0 {
		ans, s.answers = s.answers[0], s.answers[1:]
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(ans.status)
	_, _ = io.WriteString(w, ans.body)
}

func (s *pdServer) seen() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]map[string]any(nil), s.events...)
}

func newPDServer(t *testing.T, answers ...pdAnswer) (*pdServer, *httptest.Server) {
	s := &pdServer{answers: answers}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, srv
}

func TestPagerDutyTriggerResolve(t *testing.T) {
	s, srv := newPDServer(t)
	t.Setenv("DRIFTWATCH_TEST_PD_KEY", "R0UTINGKEY0000000000000000000000")
	p, err := New(Config{RoutingKeyEnv: "DRIFTWATCH_TEST_PD_KEY", URL: srv.URL + "/v2/enqueue"}, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	a := notifytest.Alert("income")
	ctx := notifytest.Context(t)
	if _, err := p.Notify(ctx, []notify.Alert{a}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Notify(ctx, []notify.Alert{notifytest.Resolved(a, a.StartsAt.Add(time.Hour))}); err != nil {
		t.Fatal(err)
	}
	ev := s.seen()
	if len(ev) != 2 {
		t.Fatalf("%d events, want 2", len(ev))
	}
	trigger, resolve := ev[0], ev[1]
	for k, want := range map[string]any{"routing_key": "R0UTINGKEY0000000000000000000000", "event_action": "trigger",
		"dedup_key": "psi_drift/credit/v3/income", "client": "driftwatch", "client_url": a.GeneratorURL} {
		if trigger[k] != want {
			t.Errorf("trigger %s = %v, want %v", k, trigger[k], want)
		}
	}
	payload := trigger["payload"].(map[string]any)
	for k, want := range map[string]any{"summary": "credit/v3: psi of income is 0.313 (>= 0.25)", "source": "driftwatch",
		"severity": "critical", "timestamp": "2025-03-01T12:00:00Z", "component": "credit", "group": "credit/v3", "class": "psi"} {
		if payload[k] != want {
			t.Errorf("payload %s = %v, want %v", k, payload[k], want)
		}
	}
	details := payload["custom_details"].(map[string]any)
	for k, want := range map[string]any{"model": "credit", "version": "v3", "feature": "income", "statistic": "psi",
		"value": 0.3127, "threshold": 0.25, "op": ">=", "samples": 12000.0,
		"window": map[string]any{"start": "2025-03-01T11:00:00Z", "end": "2025-03-01T12:00:00Z"}} {
		if fmt.Sprint(details[k]) != fmt.Sprint(want) {
			t.Errorf("custom_details %s = %v, want %v", k, details[k], want)
		}
	}
	links, _ := json.Marshal(trigger["links"])
	if want := `[{"href":"http://127.0.0.1:8080/models/credit/v3","text":"Status page"},{"href":"http://127.0.0.1:3000/d/driftwatch?var-model=credit","text":"Dashboard"}]`; string(links) != want {
		t.Errorf("links %s, want %s", links, want)
	}
	if resolve["event_action"] != "resolve" || resolve["dedup_key"] != trigger["dedup_key"] || resolve["routing_key"] != trigger["routing_key"] {
		t.Errorf("resolve event %v: want action resolve with the trigger's keys", resolve)
	}
}

func TestPagerDutyMapping(t *testing.T) {
	for sev, want := range map[notify.Severity]string{notify.SeverityCritical: "critical", notify.SeverityWarning: "warning", "": "error"} {
		a := notifytest.Alert("income")
		a.Severity = sev
		if got := pagerDutyEvent(a, "k").Payload.Severity; got != want {
			t.Errorf("severity %q -> %q, want %q", sev, got, want)
		}
	}
	long := strings.Repeat("k", 300)
	if k := dedupKey(long); len(k) > 255 || k != dedupKey(long) || k == dedupKey(long+"x") {
		t.Errorf("dedupKey of a long key: %q", k)
	}
}

func TestPagerDutyErrors(t *testing.T) {
	for _, tc := range []struct {
		ans      pdAnswer
		retry    bool
		contains string
	}{
		{pdAnswer{400, `{"status":"invalid event","message":"Event object is invalid","errors":["Length of 'routing_key' is incorrect (should be 32 characters)"]}`}, false, "Length of 'routing_key' is incorrect"},
		{pdAnswer{429, `{"status":"throttle event","message":"Requests for this service are arriving too quickly"}`}, true, "429"},
		{pdAnswer{500, "internal"}, true, "500"},
		{pdAnswer{502, ""}, true, "502"},
		{pdAnswer{202, "not json"}, false, ""}, // accepted: the answer does not matter
	} {
		_, srv := newPDServer(t, tc.ans)
		p, err := New(Config{RoutingKey: "R0UTINGKEY-SECRET", URL: srv.URL + "/v2/enqueue"}, srv.Client())
		if err != nil {
			t.Fatal(err)
		}
		retry, err := p.Notify(notifytest.Context(t), []notify.Alert{notifytest.Alert("income")})
		if tc.contains == "" {
			if err != nil {
				t.Errorf("%d: %v", tc.ans.status, err)
			}
			continue
		}
		if err == nil || retry != tc.retry || !strings.Contains(err.Error(), tc.contains) || strings.Contains(err.Error(), "SECRET") {
			t.Errorf("%d: retry=%v err=%v, want retry=%v and %q in the error", tc.ans.status, retry, err, tc.retry, tc.contains)
		}
	}

	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	p, err := New(Config{RoutingKey: "R0UTINGKEY-SECRET", URL: srv.URL + "/v2/enqueue"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if retry, err := p.Notify(notifytest.Context(t), []notify.Alert{notifytest.Alert("income")}); err == nil || !retry || strings.Contains(err.Error(), "SECRET") {
		t.Errorf("network error: retry=%v err=%v, want retryable", retry, err)
	}
}
