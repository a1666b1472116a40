package alerting

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
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
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
	a := fixtureAlert("income")
	k := IdempotencyKey(a)
	a.Value = 0.5 // a re-sent firing alert with a newer value is the same notification
	if IdempotencyKey(a) != k {
		t.Error("key changed with the value")
	}
	if IdempotencyKey(fixtureResolved(a, a.StartsAt.Add(time.Hour))) == k {
		t.Error("resolved has the firing key")
	}
	b := a
	b.StartsAt = b.StartsAt.Add(time.Hour)
	if IdempotencyKey(b) == k {
		t.Error("a new firing (new StartsAt) has the old key")
	}
	if IdempotencyKey(fixtureAlert("age")) == k {
		t.Error("another feature has the same key")
	}
}

// hookServer is a test receiver: it answers with the queued statuses (200
// when none is left) and keeps every request.
type hookServer struct {
	mu       sync.Mutex
	statuses []int
	reqs     []hookRequest
}

type hookRequest struct {
	method, path string
	header       http.Header
	body         []byte
}

func (rc *hookServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	rc.reqs = append(rc.reqs, hookRequest{r.Method, r.URL.Path, r.Header.Clone(), body})
	code := http.StatusOK
	if len(rc.statuses) > 0 {
		code, rc.statuses = rc.statuses[0], rc.statuses[1:]
	}
	rc.mu.Unlock()
	w.WriteHeader(code)
}

func (rc *hookServer) requests() []hookRequest {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]hookRequest(nil), rc.reqs...)
}

func newHookServer(t *testing.T, statuses ...int) (*hookServer, *httptest.Server) {
	rc := &hookServer{statuses: statuses}
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	return rc, srv
}

func notifyContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestWebhookSignedDelivery(t *testing.T) {
	rc, srv := newHookServer(t, http.StatusServiceUnavailable) // the first attempt fails
	t.Setenv("DRIFTWATCH_TEST_HOOK_SECRET", "hook-secret")
	t.Setenv("DRIFTWATCH_TEST_HOOK_TOKEN", "Bearer tok")
	w, err := NewWebhook(WebhookConfig{URL: srv.URL + "/retrain", SecretEnv: "DRIFTWATCH_TEST_HOOK_SECRET",
		Headers: map[string]Secret{"X-Team": "risk"}, HeadersEnv: map[string]string{"Authorization": "DRIFTWATCH_TEST_HOOK_TOKEN"}}, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_750_000_000, 0)
	w.now = func() time.Time { return now }
	ctx := notifyContext(t)
	a := fixtureAlert("income")

	retry, err := w.Notify(ctx, []Alert{a})
	if err == nil || !retry {
		t.Fatalf("503: got retry=%v err=%v, want a retryable error", retry, err)
	}
	now = now.Add(30 * time.Second) // the dispatcher retries later
	if retry, err := w.Notify(ctx, []Alert{a}); err != nil {
		t.Fatalf("retry: %v (retryable %v)", err, retry)
	}
	if _, err := w.Notify(ctx, []Alert{fixtureResolved(a, a.StartsAt.Add(time.Hour))}); err != nil {
		t.Fatal(err)
	}

	reqs := rc.requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3", len(reqs))
	}
	for i, r := range reqs {
		if r.method != http.MethodPost || r.path != "/retrain" {
			t.Errorf("request %d: %s %s", i, r.method, r.path)
		}
		if err := Verify([]byte("hook-secret"), r.header, r.body, now, time.Minute); err != nil {
			t.Errorf("request %d: %v", i, err)
		}
		for k, want := range map[string]string{"Content-Type": "application/json", "X-Team": "risk", "Authorization": "Bearer tok"} {
			if got := r.header.Get(k); got != want {
				t.Errorf("request %d: %s = %q, want %q", i, k, got, want)
			}
		}
		var p map[string]any
		if err := json.Unmarshal(r.body, &p); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if p["idempotency_key"] != r.header.Get(IdempotencyHeader) {
			t.Errorf("request %d: payload key %v, header %q", i, p["idempotency_key"], r.header.Get(IdempotencyHeader))
		}
	}
	if k0, k1, k2 := reqs[0].header.Get(IdempotencyHeader), reqs[1].header.Get(IdempotencyHeader), reqs[2].header.Get(IdempotencyHeader); k0 != k1 || k0 != IdempotencyKey(a) || k2 == k0 {
		t.Errorf("idempotency keys: first %q, retry %q, resolve %q: want first = retry != resolve", k0, k1, k2)
	}
	if reqs[0].header.Get(SignatureHeader) == reqs[1].header.Get(SignatureHeader) {
		t.Error("the retry reused the first attempt's timestamp and signature")
	}

	var fired, res map[string]any
	_ = json.Unmarshal(reqs[1].body, &fired)
	_ = json.Unmarshal(reqs[2].body, &res)
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
	rc, srv := newHookServer(t)
	t.Setenv("DRIFTWATCH_TEST_UNLEASH_TOKEN", "unleash-admin-token")
	w, err := NewWebhook(WebhookConfig{
		URL:          srv.URL + "/api/admin/projects/default/features/credit-v3-canary/environments/production/off",
		HeadersEnv:   map[string]string{"Authorization": "DRIFTWATCH_TEST_UNLEASH_TOKEN"},
		BodyTemplate: `{"model": {{json .Model}}, "reason": {{json .Reason}}, "key": "{{.IdempotencyKey}}"}`,
		SendResolved: new(false),
	}, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	a := fixtureAlert("income")
	ctx := notifyContext(t)
	if _, err := w.Notify(ctx, []Alert{a, fixtureResolved(fixtureAlert("age"), a.StartsAt)}); err != nil {
		t.Fatal(err)
	}
	reqs := rc.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1 (resolved alerts are not sent)", len(reqs))
	}
	r := reqs[0]
	if r.path != "/api/admin/projects/default/features/credit-v3-canary/environments/production/off" || r.header.Get("Authorization") != "unleash-admin-token" {
		t.Errorf("got %s with Authorization %q", r.path, r.header.Get("Authorization"))
	}
	if r.header.Get(SignatureHeader) != "" {
		t.Error("signed without a secret")
	}
	want := fmt.Sprintf(`{"model": "credit", "reason": "credit/v3: psi of income is 0.313 (>= 0.25)", "key": "%s"}`, IdempotencyKey(a))
	if string(r.body) != want {
		t.Errorf("body\n got %s\nwant %s", r.body, want)
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
		_, srv := newHookServer(t, tc.status)
		w, err := NewWebhook(WebhookConfig{URL: srv.URL + "/hook/path-token?token=query-token"}, srv.Client())
		if err != nil {
			t.Fatal(err)
		}
		retry, err := w.Notify(notifyContext(t), []Alert{fixtureAlert("income")})
		if err == nil || retry != tc.retry {
			t.Errorf("%d: retry=%v err=%v, want retry=%v", tc.status, retry, err, tc.retry)
			continue
		}
		var se *StatusError
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
	w, err := NewWebhook(WebhookConfig{URL: url}, nil)
	if err != nil {
		t.Fatal(err)
	}
	retry, err := w.Notify(notifyContext(t), []Alert{fixtureAlert("income")})
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
	w, err = NewWebhook(WebhookConfig{URL: slow.URL}, slow.Client())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	retry, err = w.Notify(ctx, []Alert{fixtureAlert("income")})
	if err == nil || !retry || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("timeout: retry=%v err=%v, want a retryable deadline error", retry, err)
	}
}

// notifierFile is one file of testdata/notifiers: notifier configs as the
// service config embeds them, parsed strictly.
type notifierFile struct {
	Alertmanager *AlertmanagerConfig `yaml:"alertmanager"`
	Slack        *SlackConfig        `yaml:"slack"`
	PagerDuty    *PagerDutyConfig    `yaml:"pagerduty"`
	Webhook      *WebhookConfig      `yaml:"webhook"`
	Templates    *TemplatesConfig    `yaml:"templates"`
}

func loadNotifierFile(t *testing.T, path string) notifierFile {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f notifierFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return f
}

// build constructs every notifier the file configures.
func (f notifierFile) build() ([]Notifier, error) {
	var ns []Notifier
	add := func(n Notifier, err error) error {
		if err == nil {
			ns = append(ns, n)
		}
		return err
	}
	var err error
	if f.Alertmanager != nil {
		err = errors.Join(err, add(NewAlertmanager(*f.Alertmanager, nil)))
	}
	if f.Slack != nil {
		err = errors.Join(err, add(NewSlack(*f.Slack, nil)))
	}
	if f.PagerDuty != nil {
		err = errors.Join(err, add(NewPagerDuty(*f.PagerDuty, nil)))
	}
	if f.Webhook != nil {
		err = errors.Join(err, add(NewWebhook(*f.Webhook, nil)))
	}
	if f.Templates != nil {
		_, terr := NewTemplates(*f.Templates)
		err = errors.Join(err, terr)
	}
	return ns, err
}

func setTestSecrets(t *testing.T) {
	t.Setenv("DRIFTWATCH_TEST_UNSET", "")
	t.Setenv("DRIFTWATCH_TEST_SLACK_TOKEN", "xoxb-from-env")
	t.Setenv("DRIFTWATCH_TEST_PD_KEY", "pd-key-from-env")
	t.Setenv("DRIFTWATCH_TEST_UNLEASH_TOKEN", "unleash-token-from-env")
	t.Setenv("DRIFTWATCH_TEST_HOOK_SECRET", "hook-secret-from-env")
	t.Setenv("DRIFTWATCH_TEST_NEWLINE_TOKEN", "Bearer hunter2\nX-Forged: 1")
}

// TestNotifierConfigErrors: one file per invalid config, its first line
// the exact error.
func TestNotifierConfigErrors(t *testing.T) {
	setTestSecrets(t)
	files, err := filepath.Glob("testdata/notifiers/invalid/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no test files: %v", err)
	}
	for _, path := range files {
		data, _ := os.ReadFile(path)
		first, _, _ := strings.Cut(string(data), "\n")
		want := strings.TrimPrefix(first, "# ")
		_, err := loadNotifierFile(t, path).build()
		if err == nil || err.Error() != want {
			t.Errorf("%s:\n got %v\nwant %s", filepath.Base(path), err, want)
		}
		if err != nil && regexp.MustCompile(`hunter2|SECRET|inline|forged`).MatchString(err.Error()) {
			t.Errorf("%s: the error shows a secret: %v", filepath.Base(path), err)
		}
	}
}

func TestNotifierConfigValid(t *testing.T) {
	setTestSecrets(t)
	f := loadNotifierFile(t, "testdata/notifiers/valid.yaml")
	ns, err := f.build()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, n := range ns {
		names = append(names, n.Name())
	}
	if got := strings.Join(names, ","); got != "alertmanager,slack,pagerduty,webhook" {
		t.Errorf("names %s", got)
	}
	if am := ns[0].(*Alertmanager); am.ResendInterval() != 30*time.Second || am.urls[1] != "http://127.0.0.1:9094/api/v2/alerts" {
		t.Errorf("alertmanager: resend %s urls %v", am.ResendInterval(), am.urls)
	}
	if w := ns[3].(*Webhook); w.sendResolved || w.header.Get("Authorization") != "unleash-token-from-env" || string(w.secret) != "hook-secret-from-env" {
		t.Errorf("webhook: %+v", w)
	}
}

// TestSecretsRedacted: configs print and marshal without their secrets.
func TestSecretsRedacted(t *testing.T) {
	f := notifierFile{
		Slack:     &SlackConfig{WebhookURL: "https://hooks.slack.com/services/T0/B0/SECRET1"},
		PagerDuty: &PagerDutyConfig{RoutingKey: "SECRET2"},
		Webhook:   &WebhookConfig{URL: "http://127.0.0.1/x", Secret: "SECRET3", Headers: map[string]Secret{"Authorization": "Bearer SECRET4"}},
	}
	if _, err := f.build(); err != nil {
		t.Fatal(err)
	}
	j, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	y, err := yaml.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{string(j), string(y), fmt.Sprintf("%v %+v %#v %s", f, *f.Slack, *f.Webhook, f.PagerDuty.RoutingKey)} {
		if strings.Contains(out, "SECRET") {
			t.Errorf("a secret shows:\n%s", out)
		}
	}
	if !strings.Contains(string(j), `"routing_key":"\u003csecret\u003e"`) {
		t.Errorf("JSON does not mark the routing key: %s", j)
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
