package service

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"driftwatch/alerting"
	"driftwatch/alerting/notify/webhook"
	"driftwatch/profile"
)

// signedHook is a webhook receiver that checks every request's signature
// (secret "s3cret") and keeps the payloads; calls returns them so far.
func signedHook(t *testing.T) (hook *httptest.Server, calls func() []webhook.Payload) {
	var mu sync.Mutex
	var got []webhook.Payload
	hook = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := webhook.Verify([]byte("s3cret"), r.Header, body, time.Now(), time.Minute); err != nil {
			t.Errorf("webhook signature: %v", err)
		}
		var p webhook.Payload
		if err := json.Unmarshal(body, &p); err != nil {
			t.Errorf("webhook payload: %v", err)
		}
		mu.Lock()
		got = append(got, p)
		mu.Unlock()
	}))
	t.Cleanup(hook.Close)
	return hook, func() []webhook.Payload {
		mu.Lock()
		defer mu.Unlock()
		return append([]webhook.Payload(nil), got...)
	}
}

// Drift fires a signed webhook through the alert rules; the state file
// carries the firing alert across a restart, so the restarted service does
// not page again and sends the resolve once the drift is gone.
func TestAlertsFireAndSurviveRestart(t *testing.T) {
	hook, calls := signedHook(t)
	received := func(n int) []webhook.Payload {
		t.Helper()
		for range 500 {
			if g := calls(); len(g) >= n {
				return g
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Fatalf("webhook got %d calls, want %d", len(calls()), n)
		return nil
	}
	state := filepath.Join(t.TempDir(), "alerts.json")
	cfg := fmt.Sprintf(`
kafka: {embedded_addr: "127.0.0.1:0"}
defaults: {min_samples: 100}
models: [{name: credit, task: classification, versions: [{name: v1, reference: p.dwprof}], evaluate_every: 1h}]
alerting:
  state_file: %q
  notifiers: [{name: hook, webhook: {url: %q, secret: s3cret}}]
  rules: [{name: IncomeDrift, statistic: psi, feature: income, critical: 0.2, actions: [hook]}]
`, state, hook.URL)
	s, pr, ctx := startWith(t, cfg, nil)
	var msgs []string
	cur := credit(500, 5, 9) // income shifted by half a standard deviation
	for i := range cur.Rows {
		msgs = append(msgs, fmt.Sprintf(`{"id":"p%d","model":"credit","version":"v1","features":{"income":%v,"home":%q}}`,
			i, cur.Columns[0].Num[i], cur.Columns[1].Str[i]))
	}
	produce(t, ctx, pr, msgs...)
	waitProcessed(t, ctx, s, 500)
	s.Evaluate()
	first := received(1)[0]
	if first.Status != "firing" || first.Feature != "income" || first.Severity != "critical" || !(float64(first.Value) >= 0.2) {
		t.Fatalf("firing payload %+v", first)
	}
	var alerts []alerting.AlertState
	get(t, "http://"+s.HTTPAddr()+"/api/v1/alerts", &alerts)
	if len(alerts) != 1 || alerts[0].State != "firing" || !strings.HasPrefix(alerts[0].GeneratorURL, "http://"+s.HTTPAddr()) {
		t.Fatalf("/api/v1/alerts: %+v", alerts)
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}

	// Restarted on an empty broker: the window is empty, so nothing holds;
	// the alert restored from the state file resolves, and nothing is paged
	// again in between.
	s2, _, _ := startWith(t, cfg, nil)
	s2.Evaluate()
	g := received(2)
	if len(g) != 2 || g[1].Status != "resolved" || g[1].IdempotencyKey == g[0].IdempotencyKey {
		t.Fatalf("after the restart: %+v", g)
	}
	time.Sleep(100 * time.Millisecond)
	if n := len(received(2)); n != 2 {
		t.Fatalf("%d webhook calls, want 2", n)
	}
}

// A notification waiting for a receiver that is down survives a crash: the
// alert fires while the webhook answers 503, the process is killed (no
// Close, no flush), and the restarted service delivers it once the
// receiver is back — exactly once, with the idempotency key it had.
func TestAlertDeliveredAfterKillWhileReceiverDown(t *testing.T) {
	var mu sync.Mutex
	up := false
	var refused, accepted []string // idempotency keys
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		mu.Lock()
		defer mu.Unlock()
		if !up {
			refused = append(refused, r.Header.Get(webhook.IdempotencyHeader))
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		accepted = append(accepted, r.Header.Get(webhook.IdempotencyHeader))
	}))
	t.Cleanup(hook.Close)
	calls := func() (refusedKeys, acceptedKeys []string) {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), refused...), append([]string(nil), accepted...)
	}
	state := filepath.Join(t.TempDir(), "alerts.json")
	cfg := fmt.Sprintf(`
kafka: {embedded_addr: "127.0.0.1:0"}
defaults: {min_samples: 100}
models: [{name: credit, task: classification, versions: [{name: v1, reference: p.dwprof}], evaluate_every: 1h}]
alerting:
  state_file: %q
  delivery: {queue_size: 10, timeout: 1s, min_backoff: 5ms, max_backoff: 20ms, max_age: 1h}
  notifiers: [{name: retrain, webhook: {url: %q}}]
  rules: [{name: IncomeDrift, statistic: psi, feature: income, critical: 0.2, actions: [retrain]}]
`, state, hook.URL)
	s, pr, ctx := startWith(t, cfg, nil)
	var msgs []string
	cur := credit(500, 5, 9)
	for i := range cur.Rows {
		msgs = append(msgs, fmt.Sprintf(`{"id":"p%d","model":"credit","version":"v1","features":{"income":%v,"home":%q}}`,
			i, cur.Columns[0].Num[i], cur.Columns[1].Str[i]))
	}
	produce(t, ctx, pr, msgs...)
	waitProcessed(t, ctx, s, 500)
	s.Evaluate()
	deadline := time.Now().Add(20 * time.Second)
	for r, _ := calls(); len(r) < 2; r, _ = calls() { // retried at least once
		if time.Now().After(deadline) {
			t.Fatalf("the webhook was tried %d times, want 2", len(r))
		}
		time.Sleep(5 * time.Millisecond)
	}
	s.Kill()
	refusedBefore, acc := calls()
	if len(acc) != 0 {
		t.Fatalf("accepted %v while down", acc)
	}

	// Restarted on an empty broker, with the receiver up: the firing
	// notification restored from the state file is delivered.
	mu.Lock()
	up = true
	mu.Unlock()
	s2, _, _ := startWith(t, cfg, nil)
	deadline = time.Now().Add(20 * time.Second)
	for _, a := calls(); len(a) < 1; _, a = calls() {
		if time.Now().After(deadline) {
			t.Fatal("the firing notification was not delivered after the restart")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := s2.Close(context.Background()); err != nil { // delivers what is queued, then stops
		t.Fatal(err)
	}
	_, acc = calls()
	if len(acc) != 1 || acc[0] != refusedBefore[0] {
		t.Fatalf("accepted %d notifications %v, want once the key refused before the kill %q", len(acc), acc, refusedBefore[0])
	}
	// The state file saved at Close has nothing waiting any more.
	data, err := os.ReadFile(state)
	if err != nil {
		t.Fatal(err)
	}
	var saved struct {
		Outbox []json.RawMessage `json:"outbox"`
	}
	if err := json.Unmarshal(data, &saved); err != nil || len(saved.Outbox) != 0 {
		t.Fatalf("state file outbox %d entries (%v): %s", len(saved.Outbox), err, data)
	}
}

// The same with a real kill -9: a `driftwatch serve` process fires an
// alert (no data for longer than the rule allows) while the webhook answers
// 503 and is SIGKILLed while it retries; a second process on the same
// state file, with the receiver up, delivers it, and after its SIGTERM the
// receiver has accepted it exactly once, under the key it was refused.
func TestKill9AlertDeliveredAfterRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs serve processes")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var mu sync.Mutex
	up := false
	var refused, accepted []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		mu.Lock()
		defer mu.Unlock()
		if !up {
			refused = append(refused, r.Header.Get(webhook.IdempotencyHeader))
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		accepted = append(accepted, r.Header.Get(webhook.IdempotencyHeader))
	}))
	t.Cleanup(hook.Close)
	calls := func() (r, a []string) {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), refused...), append([]string(nil), accepted...)
	}
	wait := func(what string, done func() bool) {
		t.Helper()
		for !done() {
			if ctx.Err() != nil {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}

	dir := t.TempDir()
	prof, err := profile.Build(credit(2000, 0, 7), profile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := prof.WriteFile(filepath.Join(dir, "p.dwprof")); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "serve.yaml")
	cfg := fmt.Sprintf(`
kafka: {embedded_addr: "127.0.0.1:0"}
models: [{name: credit, task: classification, versions: [{name: v1, reference: p.dwprof}], evaluate_every: 1s}]
alerting:
  state_file: %q
  delivery: {queue_size: 10, timeout: 1s, min_backoff: 20ms, max_backoff: 100ms, max_age: 1h}
  notifiers: [{name: retrain, webhook: {url: %q}}]
  rules: [{name: Silent, statistic: no_data, critical: 0.3, actions: [retrain]}]
`, filepath.Join(dir, "alerts.json"), hook.URL)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "driftwatch")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "driftwatch/cmd/driftwatch").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	p := startServe(t, bin, cfgPath)
	p.ready(t, ctx)
	wait("two refused attempts", func() bool { r, _ := calls(); return len(r) >= 2 })
	p.kill()
	refusedKeys, acc := calls()
	if len(acc) != 0 {
		t.Fatalf("accepted %v while down", acc)
	}

	mu.Lock()
	up = true
	mu.Unlock()
	p2 := startServe(t, bin, cfgPath)
	p2.ready(t, ctx)
	wait("the delivery after the restart", func() bool { _, a := calls(); return len(a) >= 1 })
	p2.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p2.done:
	case <-ctx.Done():
		t.Fatalf("serve did not stop on SIGTERM:\n%s", p2.logs())
	}
	_, acc = calls()
	if len(acc) != 1 || acc[0] != refusedKeys[0] {
		t.Fatalf("accepted %v, want once the key refused before the kill %q\nfirst process:\n%s\nsecond:\n%s", acc, refusedKeys[0], p.logs(), p2.logs())
	}
}
