package alerting

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"driftwatch/alerting/notify"
	"driftwatch/vocab"
)

// recorder is a notifier that remembers what it got, failing the first
// failures calls (retryably).
type recorder struct {
	name     string
	mu       sync.Mutex
	got      []notify.Alert
	calls    int
	failures int
	resend   time.Duration
}

func (r *recorder) Name() string { return r.name }

func (r *recorder) Notify(_ context.Context, alerts []notify.Alert) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if r.calls <= r.failures {
		return true, errors.New("receiver down")
	}
	r.got = append(r.got, alerts...)
	return false, nil
}

func (r *recorder) alerts() []notify.Alert {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]notify.Alert(nil), r.got...)
}

// amRecorder is a recorder that wants periodic resends, like Alertmanager.
type amRecorder struct{ *recorder }

func (r amRecorder) ResendInterval() time.Duration { return r.resend }

func ptr(x float64) *float64 { return &x }

func psiRule(actions ...string) Rule {
	return Rule{Name: "FeatureDrift", Statistic: vocab.PSI, Warning: ptr(0.1), Critical: ptr(0.2),
		For: 2 * time.Minute, KeepFiringFor: 3 * time.Minute, Actions: actions}
}

func newEngine(t *testing.T, rules []Rule, ns ...notify.Notifier) *Engine {
	t.Helper()
	m := map[string]notify.Notifier{}
	var names []string
	for _, n := range ns {
		m[n.Name()] = n
		names = append(names, n.Name())
	}
	for i := range rules {
		if err := rules[i].Validate(names); err != nil {
			t.Fatal(err)
		}
	}
	d := notify.DefaultDelivery
	d.MinBackoff, d.MaxBackoff = time.Millisecond, 10*time.Millisecond
	e := New(Options{Rules: rules, Notifiers: m, Delivery: d, StatusURL: "http://dw:8080", Metrics: metrics.NewSet()})
	t.Cleanup(func() { e.Close(context.Background()) })
	return e
}

func psi(feature string, v float64) Sample {
	return Sample{Model: "credit", Version: "v1", Feature: feature, Statistic: vocab.PSI, Value: v, Samples: 5000, MinSamples: 500}
}

// flush waits until the dispatchers have delivered everything queued.
func flush(e *Engine) {
	for _, d := range e.disp {
		for d.Pending() > 0 {
			time.Sleep(time.Millisecond)
		}
	}
}

func statuses(as []notify.Alert) string {
	var b []string
	for _, a := range as {
		b = append(b, fmt.Sprintf("%s:%s:%s", a.Feature, a.Status, a.Severity))
	}
	return strings.Join(b, " ")
}

// A value flapping around the threshold, once it has held for `for`,
// fires once and resolves once: keep_firing_for rides out the dips.
func TestFlappingFiresOnceResolvesOnce(t *testing.T) {
	rec := &recorder{name: "pager"}
	e := newEngine(t, []Rule{psiRule("pager")}, rec)
	t0 := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	values := []float64{0.05, 0.12, 0.09, 0.13, 0.11, 0.14, 0.08, 0.12, 0.09, 0.15, 0.11, 0.08, 0.12, 0.09, 0.11}
	for i, v := range values {
		e.Eval(t0.Add(time.Duration(i)*time.Minute), []Sample{psi("income", v)})
	}
	// Then it settles below: resolved after keep_firing_for.
	for i := range 6 {
		e.Eval(t0.Add(time.Duration(len(values)+i)*time.Minute), []Sample{psi("income", 0.02)})
	}
	flush(e)
	if got := statuses(rec.alerts()); got != "income:firing:warning income:resolved:warning" {
		t.Fatalf("notifications %q", got)
	}
	a := rec.alerts()[1]
	if a.GeneratorURL != "http://dw:8080/models/credit" || a.Labels["alertname"] != "FeatureDrift" || a.EndsAt.IsZero() || a.StartsAt.IsZero() {
		t.Fatalf("resolved alert %+v", a)
	}
}

// Pending for `for`, firing, escalation to critical, min_samples and NaN
// give no verdict, and a vanished sample resolves.
func TestStates(t *testing.T) {
	rec := &recorder{name: "slack"}
	r := psiRule("slack")
	r.KeepFiringFor = 0
	e := newEngine(t, []Rule{r}, rec)
	t0 := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	small := psi("age", 0.9)
	small.Samples = 100 // below min_samples: no verdict
	e.Eval(at(0), []Sample{psi("income", 0.15), small, psi("debt", math.NaN())})
	if as := e.Alerts(at(0)); len(as) != 1 || as[0].State != "pending" || as[0].Feature != "income" {
		t.Fatalf("after the first evaluation: %+v", as)
	}
	e.Eval(at(1), []Sample{psi("income", 0.15)})
	e.Eval(at(2), []Sample{psi("income", 0.25)}) // held 2m: fires, as critical
	e.Eval(at(3), []Sample{psi("income", 0.25)})
	e.Eval(at(4), nil) // the feature vanished: resolved
	flush(e)
	if got := statuses(rec.alerts()); got != "income:firing:critical income:resolved:critical" {
		t.Fatalf("notifications %q", got)
	}
	e.Eval(at(5), []Sample{psi("income", 0.15)})
	e.Eval(at(7), []Sample{psi("income", 0.25)})
	e.Eval(at(8), []Sample{psi("income", 0.15)}) // critical → warning while firing: notified
	flush(e)
	if got := statuses(rec.alerts()[2:]); got != "income:firing:critical income:firing:warning" {
		t.Fatalf("notifications %q", got)
	}
}

// A retraining webhook with a cooldown is called once for a model version
// even when several features drift; silences mute until they end.
func TestCooldownAndSilence(t *testing.T) {
	hook, pager := &recorder{name: "retrain"}, &recorder{name: "pager"}
	r := psiRule("retrain", "pager")
	r.For = 0
	e := newEngine(t, []Rule{r}, hook, pager)
	e.opt.Cooldown = map[string]Cooldown{"retrain": {Period: time.Hour}}
	t0 := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	id, err := e.AddSilence(&Silence{Matchers: []Matcher{{Name: "feature", Value: "inc.*", IsRegex: true}}, StartsAt: t0, EndsAt: t0.Add(5 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		e.Eval(t0.Add(time.Duration(i)*time.Minute), []Sample{psi("income", 0.3), psi("age", 0.3), psi("debt", 0.3)})
	}
	flush(e)
	if n := len(hook.alerts()); n != 1 {
		t.Fatalf("retrain webhook called %d times: %s", n, statuses(hook.alerts()))
	}
	// The pager got all three, income only once its silence ended.
	if got := statuses(pager.alerts()); got != "age:firing:critical debt:firing:critical income:firing:critical" {
		t.Fatalf("pager got %q", got)
	}
	if as := e.Alerts(t0); !as[2].Silenced || as[2].Feature != "income" {
		t.Fatalf("income should show as silenced at t0: %+v", as[2])
	}
	if !e.ExpireSilence(id, t0.Add(10*time.Minute)) || len(e.Silences(t0.Add(10*time.Minute))) != 0 {
		t.Fatal("silence not expired")
	}
}

// A restart restores the states: no second page, and the resolve comes.
func TestSnapshotRestore(t *testing.T) {
	rec := &recorder{name: "pager"}
	r := psiRule("pager")
	r.For, r.KeepFiringFor = 0, 0
	e := newEngine(t, []Rule{r}, rec)
	t0 := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	e.Eval(t0, []Sample{psi("income", 0.3)})
	flush(e) // acknowledged: the state saved after it has no notification waiting
	state, err := e.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	e2 := newEngine(t, []Rule{r}, rec)
	if err := e2.Restore(state); err != nil {
		t.Fatal(err)
	}
	e2.Eval(t0.Add(time.Minute), []Sample{psi("income", 0.3)})
	e2.Eval(t0.Add(2*time.Minute), []Sample{psi("income", 0.01)})
	flush(e2)
	if got := statuses(rec.alerts()); got != "income:firing:critical income:resolved:critical" {
		t.Fatalf("notifications across the restart %q", got)
	}
	if err := e2.Restore([]byte(`{"version":9}`)); err == nil {
		t.Fatal("unknown state version accepted")
	}
}

// A receiver that is down for a while gets every notification once it is
// back, once each, in order; a full queue drops and counts without
// blocking. The backoff runs on synctest's clock.
func TestDeliveryOutageAndOverflow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		set := metrics.NewSet()
		rec := &recorder{name: "hook", failures: 25}
		d := notify.Delivery{QueueSize: 5, Timeout: time.Second, MinBackoff: time.Second, MaxBackoff: 30 * time.Second, MaxAge: time.Hour}
		ds := notify.NewDispatcher(rec, d, set, discard(), nil)
		note := func(key string) *notify.Notification {
			return &notify.Notification{Notifier: "hook", Key: key, Alert: notify.Alert{Key: key}}
		}
		for i := range 5 {
			if !ds.Enqueue(note(fmt.Sprint(i))) {
				t.Fatalf("notification %d refused by a queue of 5", i)
			}
		}
		synctest.Wait() // the worker holds #0 and retries it
		if !ds.Enqueue(note("5")) {
			t.Fatal("#5 refused: the queue has room again once #0 is taken")
		}
		if ds.Enqueue(note("6")) {
			t.Fatal("a full queue must drop")
		}
		ds.Close(context.Background())
		var keys []string
		for _, a := range rec.alerts() {
			keys = append(keys, a.Key)
		}
		if got := strings.Join(keys, ","); got != "0,1,2,3,4,5" {
			t.Fatalf("delivered %q", got)
		}
		for outcome, want := range map[string]uint64{"sent": 6, "dropped": 1, "retried": 25, "failed": 0} {
			if got := set.GetOrCreateCounter(`driftwatch_notifications_total{notifier="hook",outcome="` + outcome + `"}`).Get(); got != want {
				t.Fatalf("%s: %d, want %d", outcome, got, want)
			}
		}
	})
}

// Alertmanager-like receivers get firing alerts again every resend
// interval, and a severity change resolves the old label set.
func TestResendAndSeverityChange(t *testing.T) {
	am := amRecorder{&recorder{name: "am", resend: 2 * time.Minute}}
	r := psiRule("am")
	r.For, r.KeepFiringFor = 0, 0
	e := newEngine(t, []Rule{r}, am)
	t0 := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	for i, v := range []float64{0.15, 0.15, 0.15, 0.25} {
		e.Eval(t0.Add(time.Duration(i)*time.Minute), []Sample{psi("income", v)})
		flush(e) // a resend of a notification still waiting is not queued twice
	}
	flush(e)
	if got := statuses(am.alerts()); got != "income:firing:warning income:firing:warning income:resolved:warning income:firing:critical" {
		t.Fatalf("notifications %q", got)
	}
	if old, up := am.alerts()[2], am.alerts()[3]; old.Annotations["summary"] != "credit/v1: psi of income is 0.25, now critical" ||
		up.Annotations["summary"] != "credit/v1: psi of income is 0.25 (>= 0.2), escalated from warning to critical" {
		t.Fatalf("severity change worded %q, %q", old.Annotations["summary"], up.Annotations["summary"])
	}
}

func TestRuleValidation(t *testing.T) {
	f := func(r Rule, want string) {
		t.Helper()
		err := r.Validate([]string{"pager"})
		if err == nil || err.Error() != want {
			t.Fatalf("got %v, want %q", err, want)
		}
	}
	f(Rule{Name: "x", Statistic: "psy", Warning: ptr(1)}, `rule "x": unknown statistic "psy" (one of `+vocab.Join(Statistics(), ", ")+`)`)
	f(Rule{Name: "x", Statistic: "psi"}, `rule "x": needs a warning or a critical threshold`)
	f(Rule{Name: "x", Statistic: "accuracy", Warning: ptr(0.8), Critical: ptr(0.9)}, `rule "x": critical 0.9 must be at least as bad as warning 0.8 for op <=`)
	f(Rule{Name: "x", Statistic: "psi", Warning: ptr(1), Actions: []string{"slack"}}, `rule "x": action "slack" names no notifier (have pager)`)
	f(Rule{Name: "x", Statistic: "psi", Warning: ptr(1), Model: "["}, `rule "x": bad pattern "[": syntax error in pattern`)
}

func TestAPI(t *testing.T) {
	e := newEngine(t, []Rule{psiRule()})
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	mux := http.NewServeMux()
	(&API{Engine: e, Token: "s3cret", Now: func() time.Time { return now }}).Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	post := func(token, body string) int {
		req, _ := http.NewRequest("POST", srv.URL+"/api/v1/silences", strings.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	body := `{"matchers":[{"name":"model","value":"credit"}],"duration":"1h","comment":"deploy"}`
	if c := post("", body); c != http.StatusUnauthorized {
		t.Fatalf("no token: %d", c)
	}
	if c := post("wrong", body); c != http.StatusUnauthorized {
		t.Fatalf("wrong token: %d", c)
	}
	if c := post("s3cret", `{"matchers":[]}`); c != http.StatusBadRequest {
		t.Fatalf("no matchers: %d", c)
	}
	if c := post("s3cret", body); c != http.StatusCreated {
		t.Fatalf("good silence: %d", c)
	}
	if s := e.Silences(now); len(s) != 1 || s[0].Comment != "deploy" || !s[0].EndsAt.Equal(now.Add(time.Hour)) {
		t.Fatalf("silences %+v", s)
	}
	resp, err := http.Get(srv.URL + "/api/v1/alerts")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET alerts: %v %v", resp, err)
	}
	resp.Body.Close()
}

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// Alerts on statistics without a sample count (+Inf samples: no_data,
// rollout decisions) survive a snapshot and the API's JSON.
func TestSnapshotWithInfiniteSamples(t *testing.T) {
	f := func(x float64) *float64 { return &x }
	rules := []Rule{{Name: "NoData", Statistic: vocab.NoData, Critical: f(60)}}
	if err := rules[0].Validate(nil); err != nil {
		t.Fatal(err)
	}
	e := New(Options{Rules: rules})
	defer e.Close(context.Background())
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	e.Eval(now, []Sample{{Model: "m", Version: "v", Statistic: vocab.NoData, Value: 120, Samples: math.Inf(1)}})
	data, err := e.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	e2 := New(Options{Rules: rules})
	defer e2.Close(context.Background())
	if err := e2.Restore(data); err != nil {
		t.Fatal(err)
	}
	got := e2.Alerts(now)
	if len(got) != 1 || got[0].State != "firing" || got[0].Value != 120 {
		t.Fatalf("restored %+v", got)
	}
	b, err := json.Marshal(e.Alerts(now))
	if err != nil {
		t.Fatal(err)
	}
	var back []map[string]any
	if err := json.Unmarshal(b, &back); err != nil || back[0]["state"] != "firing" || back[0]["samples"] != nil || back[0]["rule"] != "NoData" {
		t.Fatalf("API JSON %s: %v", b, err)
	}
}
