package alerting

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"driftwatch/alerting/notify"
	"driftwatch/alerting/notify/notifytest"
	"driftwatch/alerting/notify/pagerduty"
	"driftwatch/alerting/notify/webhook"
	"driftwatch/vocab"
)

// Every distinct notification of one alert instance has its own
// idempotency key: first firing, escalation, de-escalation, re-escalation,
// resolve and a later re-fire. A receiver that deduplicates by the key (as
// the README advises) drops none of them.
func TestIdempotencyKeyPerNotification(t *testing.T) {
	rec := &recorder{name: "hook"}
	r := psiRule("hook")
	r.For, r.KeepFiringFor = 0, 0
	e := newEngine(t, []Rule{r}, rec)
	t0 := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	for i, v := range []float64{0.15, 0.25, 0.15, 0.25, 0.01, 0.15} {
		e.Eval(t0.Add(time.Duration(i)*time.Minute), []Sample{psi("income", v)})
		flush(e)
	}
	got := rec.alerts()
	want := "income:firing:warning income:firing:critical income:firing:warning income:firing:critical income:resolved:critical income:firing:warning"
	if s := statuses(got); s != want {
		t.Fatalf("notifications %q\nwant %q", s, want)
	}
	seen := map[string]int{}
	for i, a := range got {
		k := notify.IdempotencyKey(a)
		if j, dup := seen[k]; dup {
			t.Errorf("notification %d (%s %s) has the key of notification %d", i, a.Status, a.Severity, j)
		}
		seen[k] = i
	}
}

// A warning escalated to critical and back is worded so: the firing
// notifications name the severity they change from, and the de-escalation
// does not read as a new firing.
func TestSeverityChangeWording(t *testing.T) {
	rec := &recorder{name: "hook"}
	r := psiRule("hook")
	r.For, r.KeepFiringFor = 0, 0
	e := newEngine(t, []Rule{r}, rec)
	t0 := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	for i, v := range []float64{0.15, 0.25, 0.15} {
		e.Eval(t0.Add(time.Duration(i)*time.Minute), []Sample{psi("income", v)})
		flush(e)
	}
	got := rec.alerts()
	if len(got) != 3 {
		t.Fatalf("notifications %q", statuses(got))
	}
	for i, want := range []struct {
		prev                 notify.Severity
		summary, description string
	}{
		{"", "credit/v1: psi of income is 0.15 (>= 0.1)", "psi of feature income is 0.15, at or above the warning threshold 0.1 over 5000 samples."},
		{"warning", "credit/v1: psi of income is 0.25 (>= 0.2), escalated from warning to critical", "; escalated from warning to critical."},
		{"critical", "credit/v1: psi of income is 0.15 (>= 0.1), de-escalated from critical to warning", "; de-escalated from critical to warning."},
	} {
		a := got[i]
		if a.PreviousSeverity != want.prev || a.Annotations["summary"] != want.summary || !strings.HasSuffix(a.Annotations["description"], want.description) {
			t.Errorf("notification %d: previous %q summary %q description %q\nwant %q %q …%q", i,
				a.PreviousSeverity, a.Annotations["summary"], a.Annotations["description"], want.prev, want.summary, want.description)
		}
		p := webhook.NewPayload(a, a.Annotations["summary"], notify.IdempotencyKey(a))
		if p.PreviousSeverity != want.prev || p.Reason != want.summary {
			t.Errorf("notification %d: webhook payload previous_severity %q reason %q", i, p.PreviousSeverity, p.Reason)
		}
	}
}

// A resolved notification says the value at resolution and the threshold
// it is back behind, not the last firing value; a statistic that went away
// resolves as no longer evaluated.
func TestResolvedSaysValueAtResolution(t *testing.T) {
	rec := &recorder{name: "hook"}
	r := psiRule("hook")
	r.For, r.KeepFiringFor = 0, 2*time.Minute
	e := newEngine(t, []Rule{r}, rec)
	t0 := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	e.Eval(at(0), []Sample{psi("income", 0.31), psi("age", 0.12)})
	e.Eval(at(1), []Sample{psi("income", 0.06), psi("age", 0.12)})
	e.Eval(at(3), []Sample{psi("income", 0.04)}) // keep_firing_for over: income back below; age gone
	flush(e)
	got := rec.alerts()
	if s := statuses(got); s != "age:firing:warning income:firing:critical income:resolved:critical age:resolved:warning" {
		t.Fatalf("notifications %q", s)
	}
	inc, age := got[2], got[3]
	if inc.Value != 0.04 || inc.Threshold != 0.1 || !inc.EndsAt.Equal(at(3)) ||
		inc.Annotations["summary"] != "credit/v1: psi of income is 0.04, back below 0.1" ||
		!strings.HasPrefix(inc.Annotations["description"], "Model credit version v1: psi of feature income is 0.04, back below the threshold 0.1 over 5000 samples; resolved after firing from 2026-11-22T12:00:00Z to 2026-11-22T12:03:00Z") {
		t.Errorf("income resolved: value %v threshold %v summary %q description %q", inc.Value, inc.Threshold, inc.Annotations["summary"], inc.Annotations["description"])
	}
	if !math.IsNaN(age.Value) || age.Annotations["summary"] != "credit/v1: psi of age is no longer evaluated" {
		t.Errorf("age resolved: value %v summary %q", age.Value, age.Annotations["summary"])
	}
	b, err := notify.MarshalJSON(webhook.NewPayload(age, age.Annotations["summary"], notify.IdempotencyKey(age)))
	if err != nil || !strings.Contains(string(b), `"value":null`) {
		t.Errorf("webhook payload of a resolve without value: %s %v", b, err)
	}
	// An accuracy-like rule resolves back above its threshold.
	acc := notify.Alert{Model: "m", Version: "v", Statistic: vocab.Accuracy, Op: notify.OpAtMost, Status: notify.StatusResolved, Value: 0.86, Threshold: 0.8}
	if got, _ := notify.Summarize(acc); got != "m/v: accuracy is 0.86, back above 0.8" {
		t.Errorf("accuracy resolved: %q", got)
	}
}

// The cooldown policy: a second feature's firing inside the cooldown is
// held back and counted, and so is its resolve; an escalation passes with
// "notify" and waits for the cooldown's end with "suppress"; every call
// restarts the cooldown.
func TestCooldownPolicy(t *testing.T) {
	t0 := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	run := func(policy EscalationPolicy) (string, uint64) {
		hook := &recorder{name: "retrain"}
		r := psiRule("retrain")
		r.For, r.KeepFiringFor = 0, 0
		e := newEngine(t, []Rule{r}, hook)
		e.opt.Cooldown = map[string]Cooldown{"retrain": {Period: 10 * time.Minute, Escalations: policy}}
		steps := []struct {
			min         int
			income, age float64
		}{
			{0, 0.15, 0},     // income fires: called
			{1, 0.15, 0.15},  // age fires inside the cooldown: held back
			{2, 0.25, 0.15},  // income escalates
			{3, 0.25, 0.25},  // age escalates: held, or passes as news
			{14, 0.25, 0.25}, // cooldown over
			{15, 0.01, 0.01}, // both resolve
		}
		for _, s := range steps {
			e.Eval(at(s.min), []Sample{psi("income", s.income), psi("age", s.age)})
			flush(e)
		}
		var b []string
		for _, a := range hook.alerts() {
			b = append(b, a.StartsAt.Sub(t0).String()+"/"+a.ChangedAt.Sub(t0).String()+":"+a.Feature+":"+string(a.Status)+":"+string(a.Severity))
		}
		return strings.Join(b, " "), e.opt.Metrics.GetOrCreateCounter(`driftwatch_notifications_total{notifier="retrain",outcome="suppressed"}`).Get()
	}
	got, suppressed := run(EscalationNotify)
	want := "0s/0s:income:firing:warning 0s/2m0s:income:firing:critical 1m0s/3m0s:age:firing:critical 0s/15m0s:income:resolved:critical 1m0s/15m0s:age:resolved:critical"
	if got != want || suppressed != 1 {
		t.Errorf("notify:\n got %s (%d suppressed)\nwant %s (1 suppressed)", got, suppressed, want)
	}
	// With "suppress", income's escalation at 2m waits for the end of the
	// cooldown started at 0 and is sent at 14m (ChangedAt stays 2m: the
	// same notification). Age, held back since 1m and held again when it
	// escalated at 3m, is never sent: a held alert stays held until it
	// escalates past the cooldown, and its resolve is not sent either.
	got, suppressed = run(EscalationSuppress)
	want = "0s/0s:income:firing:warning 0s/2m0s:income:firing:critical 0s/15m0s:income:resolved:critical"
	if got != want || suppressed != 3 {
		t.Errorf("suppress:\n got %s (%d suppressed)\nwant %s (3 suppressed)", got, suppressed, want)
	}
}

// Notifications waiting for a receiver that is down are part of the
// snapshot: after an abrupt stop (no Close, nothing delivered) a new
// engine restored from it delivers each once, in order, with the keys they
// had — even when it restores the state file and then an older checkpoint
// carrying the same notifications, and again after they were delivered.
func TestOutboxSurvivesAbruptStop(t *testing.T) {
	down := &recorder{name: "hook", failures: math.MaxInt}
	r := psiRule("hook")
	r.For, r.KeepFiringFor = 0, 0
	e := newEngine(t, []Rule{r}, down)
	t0 := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	e.Eval(t0, []Sample{psi("income", 0.3), psi("age", 0.15)})
	older, err := e.Snapshot() // what a checkpoint taken now holds
	if err != nil {
		t.Fatal(err)
	}
	e.Eval(t0.Add(time.Minute), []Sample{psi("income", 0.3)}) // age resolves
	state, err := e.Snapshot()                                // the state file after the evaluation
	if err != nil {
		t.Fatal(err)
	}
	if n := e.Pending(); n != 3 {
		t.Fatalf("%d notifications waiting, want 3", n)
	}
	tried := func() int {
		down.mu.Lock()
		defer down.mu.Unlock()
		return down.calls
	}
	for deadline := time.Now().Add(10 * time.Second); tried() < 2; { // the head is being retried
		if time.Now().After(deadline) {
			t.Fatalf("the receiver was tried %d times, want 2", tried())
		}
		time.Sleep(time.Millisecond)
	}
	// The process dies: its dispatchers stop where they are.
	dead, cancel := context.WithCancel(context.Background())
	cancel()
	e.Close(dead)

	up := &recorder{name: "hook"}
	var settled atomic.Int32
	e2 := newEngine(t, []Rule{r}, up)
	e2.OnSettled(func() { settled.Add(1) })
	if err := e2.Restore(state); err != nil {
		t.Fatal(err)
	}
	if err := e2.Restore(older); err != nil { // partition 0's checkpoint, restored after the state file
		t.Fatal(err)
	}
	flush(e2)
	got := up.alerts()
	if s := statuses(got); s != "age:firing:warning income:firing:critical age:resolved:warning" {
		t.Fatalf("delivered after the restart %q", s)
	}
	var saved snapshot
	if err := json.Unmarshal(state, &saved); err != nil || len(saved.Outbox) != 3 {
		t.Fatalf("state: %d waiting (%v)", len(saved.Outbox), err)
	}
	for i, n := range saved.Outbox {
		if k := notify.IdempotencyKey(got[i]); k != n.Key {
			t.Errorf("notification %d: key %s after the restart, %s before", i, k, n.Key)
		}
	}
	if e2.Pending() != 0 || settled.Load() != 3 {
		t.Fatalf("after delivery: %d waiting, %d settled", e2.Pending(), settled.Load())
	}
	// Delivered notifications leave the snapshot, and a restore of the old
	// one does not send them again.
	after, err := e2.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	var s snapshot
	if err := json.Unmarshal(after, &s); err != nil || len(s.Outbox) != 0 || len(s.Delivered) != 3 {
		t.Fatalf("snapshot after delivery: %d waiting, %d delivered (%v)", len(s.Outbox), len(s.Delivered), err)
	}
	if err := e2.Restore(state); err != nil {
		t.Fatal(err)
	}
	flush(e2)
	if n := len(up.alerts()); n != 3 {
		t.Fatalf("%d deliveries after restoring the old state again, want 3", n)
	}
	// A third engine restored from the snapshot taken after delivery sends
	// nothing.
	fresh := &recorder{name: "hook"}
	e3 := New(Options{Rules: []Rule{r}, Notifiers: map[string]notify.Notifier{"hook": fresh}, Metrics: metrics.NewSet()})
	defer e3.Close(context.Background())
	if err := e3.Restore(after); err != nil {
		t.Fatal(err)
	}
	if e3.Pending() != 0 {
		t.Fatalf("%d waiting after restoring a delivered snapshot", e3.Pending())
	}
}

// A waiting notification keeps its non-finite numbers across a snapshot
// (JSON null): a resolve without a value and a rollout decision's +Inf
// samples.
func TestOutboxKeepsNonFiniteNumbers(t *testing.T) {
	down := &recorder{name: "hook", failures: math.MaxInt}
	rules := []Rule{{Name: "Rollback", Statistic: vocab.RolloutRollback, Critical: ptr(1), Actions: []string{"hook"}}, psiRule("hook")}
	rules[1].For, rules[1].KeepFiringFor = 0, 0
	e := newEngine(t, rules, down)
	t0 := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	rb := Sample{Model: "credit", Version: "v2", Statistic: vocab.RolloutRollback, Value: 1, Samples: math.Inf(1)}
	e.Eval(t0, []Sample{rb, psi("income", 0.3)})
	e.Eval(t0.Add(time.Minute), []Sample{rb}) // income gone: resolved without a value
	state, err := e.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	dead, cancel := context.WithCancel(context.Background())
	cancel()
	e.Close(dead)
	up := &recorder{name: "hook"}
	e2 := newEngine(t, rules, up)
	if err := e2.Restore(state); err != nil {
		t.Fatal(err)
	}
	flush(e2)
	got := up.alerts()
	if s := statuses(got); s != "income:firing:critical :firing:critical income:resolved:critical" {
		t.Fatalf("delivered %q", s)
	}
	if !math.IsInf(got[1].Samples, 1) || !math.IsNaN(got[2].Value) {
		t.Fatalf("restored samples %v, value %v", got[1].Samples, got[2].Value)
	}
}

// A receiver that echoes the request in its error body does not put the
// notifier's credentials in the error or the log: the URL's query and
// token-like path, header values, the signing secret and the PagerDuty
// routing key are redacted.
func TestErrorBodyRedacted(t *testing.T) {
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, "bad request; config: secret=hook-s3cret-signing token: sk-live-0000; %s %s auth=%q body=%s",
			r.Method, r.URL.String(), r.Header.Get("Authorization"), body)
	}))
	t.Cleanup(echo.Close)
	leaks := []string{"hunter2tok", "T0ABC123/B0DEF456", "Bearer sk-live-1234", "sk-live-1234", "hook-s3cret-signing", "sk-live-0000", "R0UTINGKEY99"}

	var logged strings.Builder
	log := slog.New(slog.NewTextHandler(&logged, nil))
	w, err := webhook.New(webhook.Config{Name: "rollback", URL: echo.URL + "/services/T0ABC123/B0DEF456/x?token=hunter2tok",
		Headers: map[string]notify.Secret{"Authorization": "Bearer sk-live-1234"}, Secret: "hook-s3cret-signing"}, echo.Client())
	if err != nil {
		t.Fatal(err)
	}
	pd, err := pagerduty.New(pagerduty.Config{Name: "pd", RoutingKey: "R0UTINGKEY99", URL: echo.URL + "/v2/enqueue"}, echo.Client())
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []notify.Notifier{w, pd} {
		_, err := n.Notify(notifytest.Context(t), []notify.Alert{notifytest.Alert("income")})
		if err == nil {
			t.Fatalf("%s: no error from a 400", n.Name())
		}
		msg := err.Error()
		t.Logf("%s: %s", n.Name(), msg)
		if !strings.Contains(msg, "http 400") || !strings.Contains(msg, "<redacted>") {
			t.Errorf("%s: error %q", n.Name(), msg)
		}
		for _, s := range leaks {
			if strings.Contains(msg, s) {
				t.Errorf("%s: error shows %q: %s", n.Name(), s, msg)
			}
		}
		// Through the dispatcher's log: a 400 is given up and logged.
		ds := notify.NewDispatcher(n, notify.DefaultDelivery, metrics.NewSet(), log, nil)
		ds.Enqueue(&notify.Notification{Notifier: n.Name(), Key: "k", Alert: notifytest.Alert("income")})
		ds.Close(notifytest.Context(t))
	}
	out := logged.String()
	if strings.Count(out, "notification failed") != 2 {
		t.Fatalf("log:\n%s", out)
	}
	for _, s := range leaks {
		if strings.Contains(out, s) {
			t.Errorf("the log shows %q:\n%s", s, out)
		}
	}
}

func TestRedactor(t *testing.T) {
	r := notify.NewRedaction([]string{"https://hooks.example/services/T0ABC123/B0DEF456/XyZ0aBc1dEf2gHi3?token=q1w2e3&x=ab"}, "Bearer tok-9876", "s")
	f := func(in, want string) {
		t.Helper()
		if got := r.Redact(in); got != want {
			t.Errorf("Redact(%q)\n got %q\nwant %q", in, got, want)
		}
	}
	f("no secret here", "no secret here")
	f("POST /services/T0ABC123/B0DEF456/XyZ0aBc1dEf2gHi3?token=q1w2e3&x=ab", "POST /services/<redacted>/<redacted>/<redacted>?<redacted>")
	f(`{"password": "pa55", "api_key":"k-1", "Authorization": "Basic dXNlcjpwYXNz"}`, `{"password": "<redacted>", "api_key":"<redacted>", "Authorization": "<redacted>"}`)
	f("got tok-9876 and bearer abcdefgh", "got <redacted> and bearer <redacted>")
	f("s is short: kept", "s is short: kept")
	var none *notify.Redaction
	if got := none.Redact("token=abc secret: xyz"); got != "token=<redacted> secret: <redacted>" {
		t.Errorf("nil redactor: %q", got)
	}
}
