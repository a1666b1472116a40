package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"driftwatch/alerting/notify"
	"driftwatch/alerting/notify/notifytest"
)

func TestSignVerify(t *testing.T) {
	secret := []byte("s3cret")
	body := []byte(`{"status":"firing"}`)
	now := time.Unix(1_750_000_000, 0)
	signed := func(secret []byte, ts time.Time, body []byte) http.Header {
		h := http.Header{}
		h.Set(TimestampHeader, fmt.Sprint(ts.Unix()))
		h.Set(SignatureHeader, Sign(secret, ts, body))
		return h
	}
	for _, tc := range []struct {
		name   string
		header http.Header
		body   []byte
		want   error
	}{
		{"round trip", signed(secret, now, body), body, nil},
		{"clock skew within tolerance", signed(secret, now.Add(4*time.Minute), body), body, nil},
		{"tampered body", signed(secret, now, body), []byte(`{"status":"resolved"}`), ErrSignatureInvalid},
		{"wrong secret", signed([]byte("other"), now, body), body, ErrSignatureInvalid},
		{"replay of an old request", signed(secret, now.Add(-6*time.Minute), body), body, ErrSignatureExpired},
		{"timestamp from the future", signed(secret, now.Add(6*time.Minute), body), body, ErrSignatureExpired},
		{"timestamp changed to look fresh", func() http.Header {
			h := signed(secret, now.Add(-time.Hour), body)
			h.Set(TimestampHeader, fmt.Sprint(now.Unix()))
			return h
		}(), body, ErrSignatureInvalid},
		{"no headers", http.Header{}, body, ErrSignatureMissing},
		{"no signature", http.Header{TimestampHeader: {fmt.Sprint(now.Unix())}}, body, ErrSignatureMissing},
		{"bad timestamp", http.Header{TimestampHeader: {"yesterday"}, SignatureHeader: {"sha256=00"}}, body, ErrSignatureInvalid},
	} {
		err := Verify(secret, tc.header, tc.body, now, 5*time.Minute)
		if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
	}
	if err := Verify(nil, signed(nil, now, body), body, now, time.Minute); err == nil {
		t.Error("an empty secret verified")
	}
	if got := Sign(secret, now, body); !strings.HasPrefix(got, "sha256=") || len(got) != 7+64 {
		t.Errorf("Sign = %q, want sha256=<64 hex>", got)
	}
}

func TestIdempotencyKey(t *testing.T) {
	a := notifytest.Alert("income")
	k := notify.IdempotencyKey(a)
	a.Value = 0.5 // a re-sent firing alert with a newer value is the same notification
	if notify.IdempotencyKey(a) != k {
		t.Error("key changed with the value")
	}
	if notify.IdempotencyKey(notifytest.Resolved(a, a.StartsAt.Add(time.Hour))) == k {
		t.Error("resolved has the firing key")
	}
	b := a
	b.StartsAt = b.StartsAt.Add(time.Hour)
	if notify.IdempotencyKey(b) == k {
		t.Error("a new firing (new StartsAt) has the old key")
	}
	if notify.IdempotencyKey(notifytest.Alert("age")) == k {
		t.Error("another feature has the same key")
	}
}

func TestWebhookSignedDelivery(t *testing.T) {
	rc, srv := notifytest.NewHookServer(t, http.StatusServiceUnavailable) // the first attempt fails
	t.Setenv("DRIFTWATCH_TEST_HOOK_SECRET", "hook-secret")
	t.Setenv("DRIFTWATCH_TEST_HOOK_TOKEN", "Bearer tok")
	w, err := New(Config{URL: srv.URL + "/retrain", SecretEnv: "DRIFTWATCH_TEST_HOOK_SECRET",
		Headers: map[string]notify.Secret{"X-Team": "risk"}, HeadersEnv: map[string]string{"Authorization": "DRIFTWATCH_TEST_HOOK_TOKEN"}}, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_750_000_000, 0)
	w.now = func() time.Time { return now }
	ctx := notifytest.Context(t)
	a := notifytest.Alert("income")

	retry, err := w.Notify(ctx, []notify.Alert{a})
	if err == nil || !retry {
		t.Fatalf("503: got retry=%v err=%v, want a retryable error", retry, err)
	}
	now = now.Add(30 * time.Second) // the dispatcher retries later
	if retry, err := w.Notify(ctx, []notify.Alert{a}); err != nil {
		t.Fatalf("retry: %v (retryable %v)", err, retry)
	}
	if _, err := w.Notify(ctx, []notify.Alert{notifytest.Resolved(a, a.StartsAt.Add(time.Hour))}); err != nil {
		t.Fatal(err)
	}

	reqs := rc.Requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3", len(reqs))
	}
	for i, r := range reqs {
		if r.Method != http.MethodPost || r.Path != "/retrain" {
			t.Errorf("request %d: %s %s", i, r.Method, r.Path)
		}
		if err := Verify([]byte("hook-secret"), r.Header, r.Body, now, time.Minute); err != nil {
			t.Errorf("request %d: %v", i, err)
		}
		for k, want := range map[string]string{"Content-Type": "application/json", "X-Team": "risk", "Authorization": "Bearer tok"} {
			if got := r.Header.Get(k); got != want {
				t.Errorf("request %d: %s = %q, want %q", i, k, got, want)
			}
		}
		var p map[string]any
		if err := json.Unmarshal(r.Body, &p); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if p["idempotency_key"] != r.Header.Get(IdempotencyHeader) {
			t.Errorf("request %d: payload key %v, header %q", i, p["idempotency_key"], r.Header.Get(IdempotencyHeader))
		}
	}
	if k0, k1, k2 := reqs[0].Header.Get(IdempotencyHeader), reqs[1].Header.Get(IdempotencyHeader), reqs[2].Header.Get(IdempotencyHeader); k0 != k1 || k0 != notify.IdempotencyKey(a) || k2 == k0 {
		t.Errorf("idempotency keys: first %q, retry %q, resolve %q: want first = retry != resolve", k0, k1, k2)
	}
	if reqs[0].Header.Get(SignatureHeader) == reqs[1].Header.Get(SignatureHeader) {
		t.Error("the retry reused the first attempt's timestamp and signature")
	}

	var fired, res map[string]any
	_ = json.Unmarshal(reqs[1].Body, &fired)
	_ = json.Unmarshal(reqs[2].Body, &res)
	want := map[string]any{
		"status": "firing", "model": "credit", "version": "v3", "feature": "income", "statistic": "psi",
		"value": 0.3127, "threshold": 0.25, "severity": "critical", "op": ">=", "rule": "psi_drift",
		"reason":    "credit/v3: psi of income is 0.313 (>= 0.25)",
		"window":    map[string]any{"start": "2025-03-01T11:00:00Z", "end": "2025-03-01T12:00:00Z"},
		"starts_at": "2025-03-01T12:00:00Z", "ends_at": nil,
	}
	for k, v := range want {
		if fmt.Sprint(fired[k]) != fmt.Sprint(v) {
			t.Errorf("firing payload %s = %v, want %v", k, fired[k], v)
		}
	}
	if fired["labels"].(map[string]any)["team"] != "risk" || fired["annotations"].(map[string]any)["runbook_url"] == nil {
		t.Errorf("labels or annotations lost: %v %v", fired["labels"], fired["annotations"])
	}
	if res["status"] != "resolved" || res["ends_at"] != "2025-03-01T13:00:00Z" {
		t.Errorf("resolved payload: status %v ends_at %v", res["status"], res["ends_at"])
	}
}

// TestWebhookRollback is the README's Unleash rollback: a body template,
// the Authorization header from the environment, no request on resolve.
func TestWebhookRollback(t *testing.T) {
	rc, srv := notifytest.NewHookServer(t)
	t.Setenv("DRIFTWATCH_TEST_UNLEASH_TOKEN", "unleash-admin-token")
	w, err := New(Config{
		URL:          srv.URL + "/api/admin/projects/default/features/credit-v3-canary/environments/production/off",
		HeadersEnv:   map[string]string{"Authorization": "DRIFTWATCH_TEST_UNLEASH_TOKEN"},
		BodyTemplate: `{"model": {{json .Model}}, "reason": {{json .Reason}}, "key": "{{.IdempotencyKey}}"}`,
		SendResolved: new(false),
	}, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	a := notifytest.Alert("income")
	ctx := notifytest.Context(t)
	if _, err := w.Notify(ctx, []notify.Alert{a, notifytest.Resolved(notifytest.Alert("age"), a.StartsAt)}); err != nil {
		t.Fatal(err)
	}
	reqs := rc.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1 (resolved alerts are not sent)", len(reqs))
	}
	r := reqs[0]
	if r.Path != "/api/admin/projects/default/features/credit-v3-canary/environments/production/off" || r.Header.Get("Authorization") != "unleash-admin-token" {
		t.Errorf("got %s with Authorization %q", r.Path, r.Header.Get("Authorization"))
	}
	if r.Header.Get(SignatureHeader) != "" {
		t.Error("signed without a secret")
	}
	want := fmt.Sprintf(`{"model": "credit", "reason": "credit/v3: psi of income is 0.313 (>= 0.25)", "key": "%s"}`, notify.IdempotencyKey(a))
	if string(r.Body) != want {
		t.Errorf("body\n got %s\nwant %s", r.Body, want)
	}
}

func TestWebhookErrors(t *testing.T) {
	for _, tc := range []struct {
		status int
		retry  bool
	}{
		{http.StatusBadRequest, false}, {http.StatusUnauthorized, false}, {http.StatusNotFound, false},
		{http.StatusConflict, false}, {http.StatusRequestTimeout, true}, {http.StatusTooManyRequests, true},
		{http.StatusInternalServerError, true}, {http.StatusBadGateway, true}, {http.StatusServiceUnavailable, true},
	} {
		_, srv := notifytest.NewHookServer(t, tc.status)
		w, err := New(Config{URL: srv.URL + "/hook/path-token?token=query-token"}, srv.Client())
		if err != nil {
			t.Fatal(err)
		}
		retry, err := w.Notify(notifytest.Context(t), []notify.Alert{notifytest.Alert("income")})
		if err == nil || retry != tc.retry {
			t.Errorf("%d: retry=%v err=%v, want retry=%v", tc.status, retry, err, tc.retry)
			continue
		}
		var se *notify.StatusError
		if !errors.As(err, &se) || se.Code != tc.status {
			t.Errorf("%d: %v is not a *StatusError with the code", tc.status, err)
		}
		if strings.Contains(err.Error(), "token") {
			t.Errorf("%d: error shows the URL's path or query: %v", tc.status, err)
		}
	}

	// A receiver that is down: a network error, retryable, URL hidden.
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL + "/hook/path-token?token=query-token"
	srv.Close()
	w, err := New(Config{URL: url}, nil)
	if err != nil {
		t.Fatal(err)
	}
	retry, err := w.Notify(notifytest.Context(t), []notify.Alert{notifytest.Alert("income")})
	if err == nil || !retry || strings.Contains(err.Error(), "token") {
		t.Errorf("receiver down: retry=%v err=%v, want a retryable error without the URL's path", retry, err)
	}

	// A deadline: retryable.
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer slow.Close()
	defer close(release)
	w, err = New(Config{URL: slow.URL}, slow.Client())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	retry, err = w.Notify(ctx, []notify.Alert{notifytest.Alert("income")})
	if err == nil || !retry || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("timeout: retry=%v err=%v, want a retryable deadline error", retry, err)
	}
}

// TestVerifyPython holds the README's Python verifier to Sign.
func TestVerifyPython(t *testing.T) {
	py, err := exec.LookPath("/usr/bin/python3") // Debian's: pyenv's shim takes a second to start
	if err != nil {
		if py, err = exec.LookPath("python3"); err != nil {
			t.Skip("no python3")
		}
	}
	body := []byte(`{"status":"firing","reason":"credit/v3: psi of income is 0.313 (>= 0.25)"}`)
	now := time.Now()
	for _, tc := range []struct {
		name, secret string
		ts           time.Time
		body         []byte
		want         string
	}{
		{"valid", "s3cret", now, body, "ok"},
		{"tampered body", "s3cret", now, append(body[:len(body):len(body)], ' '), "rejected"},
		{"wrong secret", "other", now, body, "rejected"},
		{"replay", "s3cret", now.Add(-10 * time.Minute), body, "rejected"},
	} {
		cmd := exec.Command(py, "testdata/verify_signature.py")
		cmd.Env = append(os.Environ(), "SECRET=s3cret", "TIMESTAMP="+strconv.FormatInt(tc.ts.Unix(), 10),
			"SIGNATURE="+Sign([]byte(tc.secret), tc.ts, body))
		cmd.Stdin = bytes.NewReader(tc.body)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := strings.TrimSpace(string(out)); got != tc.want {
			t.Errorf("%s: python says %s, want %s", tc.name, got, tc.want)
		}
	}
}
