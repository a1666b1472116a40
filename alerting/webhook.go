package alerting

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"time"
	"unicode/utf8"
)

// Headers of a signed webhook request.
const (
	TimestampHeader   = "X-Driftwatch-Timestamp"
	SignatureHeader   = "X-Driftwatch-Signature"
	IdempotencyHeader = "Idempotency-Key"
)

// WebhookConfig configures a generic webhook: retraining triggers, canary
// rollback, anything that takes an HTTP request per alert.
type WebhookConfig struct {
	// Name is set by the caller: the notifier's name in the service config.
	Name   string `yaml:"-" json:"-"`
	URL    string `yaml:"url" json:"url"`
	Method string `yaml:"method" json:"method,omitempty"` // POST (default), PUT or PATCH
	// Headers are sent with every request; HeadersEnv names environment
	// variables holding header values (Authorization: UNLEASH_TOKEN).
	Headers    map[string]Secret `yaml:"headers" json:"headers,omitempty"`
	HeadersEnv map[string]string `yaml:"headers_env" json:"headers_env,omitempty"`
	// Secret signs each request (X-Driftwatch-Signature); inline or from
	// the environment variable SecretEnv names.
	Secret    Secret `yaml:"secret" json:"secret,omitempty"`
	SecretEnv string `yaml:"secret_env" json:"secret_env,omitempty"`
	// BodyTemplate replaces the JSON payload: a Go text/template over the
	// Alert, with .Reason, .Description and .IdempotencyKey added and the
	// functions json and rfc3339.
	BodyTemplate string `yaml:"body_template" json:"body_template,omitempty"`
	// SendResolved: also send resolved alerts (default true). A rollback
	// hook sets it to false.
	SendResolved *bool `yaml:"send_resolved" json:"send_resolved,omitempty"`
}

// Validate checks the config and fills its defaults.
func (c *WebhookConfig) Validate() error {
	if err := checkURL("webhook", "url", c.URL); err != nil {
		return err
	}
	switch c.Method = strings.ToUpper(c.Method); c.Method {
	case "":
		c.Method = http.MethodPost
	case http.MethodPost, http.MethodPut, http.MethodPatch:
	default:
		return fmt.Errorf("alerting: webhook: method must be POST, PUT or PATCH, got %q", c.Method)
	}
	for name, v := range c.Headers {
		if err := checkHeader(name); err != nil {
			return err
		}
		if err := checkHeaderValue("headers", name, string(v)); err != nil {
			return err
		}
	}
	for name, env := range c.HeadersEnv {
		if err := checkHeader(name); err != nil {
			return err
		}
		if _, dup := c.Headers[name]; dup {
			return fmt.Errorf("alerting: webhook: header %q is in both headers and headers_env", name)
		}
		if env == "" {
			return fmt.Errorf("alerting: webhook: headers_env: header %q names no environment variable", name)
		}
	}
	if err := checkSecret("webhook", "secret", c.Secret, c.SecretEnv, false); err != nil {
		return err
	}
	if c.BodyTemplate != "" {
		if _, err := parseBodyTemplate(c.BodyTemplate); err != nil {
			return err
		}
	}
	if c.SendResolved == nil {
		c.SendResolved = new(true)
	}
	return nil
}

// checkHeaderValue refuses a header value with a line break or another
// control character (tab aside): it would end the header early or be
// refused by the HTTP client at every delivery. The value is not quoted:
// it is often a credential.
func checkHeaderValue(field, name, v string) error {
	for _, c := range []byte(v) {
		if c < ' ' && c != '\t' || c == 0x7f {
			return fmt.Errorf("alerting: webhook: %s: the value of header %q has a line break or control character (value not shown)", field, name)
		}
	}
	return nil
}

func checkHeader(name string) error {
	if name == "" || strings.ContainsAny(name, " \t\r\n:") || !utf8.ValidString(name) {
		return fmt.Errorf("alerting: webhook: bad header name %q", name)
	}
	switch http.CanonicalHeaderKey(name) {
	case TimestampHeader, SignatureHeader, IdempotencyHeader:
		return fmt.Errorf("alerting: webhook: header %q is set by driftwatch", name)
	}
	return nil
}

// Webhook posts one JSON document (or rendered body_template) per alert,
// signed with HMAC-SHA256 when a secret is configured.
type Webhook struct {
	name         string
	url, shown   string
	method       string
	header       http.Header
	secret       []byte
	body         *template.Template // nil: the JSON payload
	sendResolved bool
	client       *http.Client
	now          func() time.Time
	red          *redactor
}

// Redact removes the webhook's URL query, header values and secret from s.
func (w *Webhook) Redact(s string) string { return w.red.Redact(s) }

// NewWebhook builds a webhook notifier; a nil client takes a default one
// with a 30 s timeout.
func NewWebhook(cfg WebhookConfig, client *http.Client) (*Webhook, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	w := &Webhook{name: cfg.Name, url: cfg.URL, shown: showHost(cfg.URL), method: cfg.Method,
		header: make(http.Header), sendResolved: *cfg.SendResolved, client: orDefault(client), now: time.Now}
	if w.name == "" {
		w.name = "webhook"
	}
	w.header.Set("Content-Type", "application/json")
	w.header.Set("User-Agent", "driftwatch")
	for name, v := range cfg.Headers {
		w.header.Set(name, string(v))
	}
	for name, env := range cfg.HeadersEnv {
		v, err := secretValue("webhook", "headers_env", "", env)
		if err != nil {
			return nil, err
		}
		if err := checkHeaderValue("headers_env", name, v); err != nil {
			return nil, err
		}
		w.header.Set(name, v)
	}
	secret, err := secretValue("webhook", "secret_env", cfg.Secret, cfg.SecretEnv)
	if err != nil {
		return nil, err
	}
	if secret != "" {
		w.secret = []byte(secret)
	}
	if cfg.BodyTemplate != "" {
		if w.body, err = parseBodyTemplate(cfg.BodyTemplate); err != nil {
			return nil, err
		}
	}
	var values []string
	for _, vs := range w.header {
		values = append(values, vs...)
	}
	w.red = newRedactor([]string{w.url}, append(values, secret)...)
	return w, nil
}

// Name is the notifier's configured name ("webhook" by default).
func (w *Webhook) Name() string { return w.name }

// Notify sends one request per alert. It tries every alert, and a failure
// is retryable if any request failed retryably: re-sending the delivered
// ones is safe, since they carry the same Idempotency-Key.
func (w *Webhook) Notify(ctx context.Context, alerts []Alert) (bool, error) {
	var errs []error
	retry := false
	for _, a := range alerts {
		if a.Status == StatusResolved && !w.sendResolved {
			continue
		}
		r, err := w.send(ctx, a)
		if err != nil {
			errs = append(errs, err)
			retry = retry || r
		}
	}
	return retry, errors.Join(errs...)
}

func (w *Webhook) send(ctx context.Context, a Alert) (bool, error) {
	key := IdempotencyKey(a)
	body, err := w.render(a, key)
	if err != nil {
		return false, err
	}
	h := w.header.Clone()
	h.Set(IdempotencyHeader, key)
	if w.secret != nil {
		ts := w.now()
		h.Set(TimestampHeader, strconv.FormatInt(ts.Unix(), 10))
		h.Set(SignatureHeader, Sign(w.secret, ts, body))
	}
	retry, err := do(ctx, w.client, w.method, w.url, w.shown, h, body, w.red)
	if err != nil {
		return retry, fmt.Errorf("alerting: webhook: alert %q: %w", a.Key, err)
	}
	return false, nil
}

func (w *Webhook) render(a Alert, key string) ([]byte, error) {
	summary, description := summarize(a)
	if w.body == nil {
		return marshalJSON(NewWebhookPayload(a, summary, key))
	}
	var b bytes.Buffer
	if err := w.body.Execute(&b, bodyData{Alert: a, Reason: summary, Description: description, IdempotencyKey: key}); err != nil {
		return nil, fmt.Errorf("alerting: webhook: body_template: %w", err)
	}
	return b.Bytes(), nil
}

// bodyData is what body_template runs over.
type bodyData struct {
	Alert
	Reason, Description, IdempotencyKey string
}

func parseBodyTemplate(text string) (*template.Template, error) {
	funcs := template.FuncMap{"json": func(v any) (string, error) {
		b, err := marshalJSON(v)
		return string(b), err
	}}
	for k, f := range templateFuncs {
		funcs[k] = f
	}
	t, err := template.New("body_template").Funcs(funcs).Parse(text)
	if err != nil {
		return nil, fmt.Errorf("alerting: webhook: body_template: %w", err)
	}
	if err := t.Execute(io.Discard, bodyData{Alert: sampleAlert}); err != nil {
		return nil, fmt.Errorf("alerting: webhook: body_template: %w", err)
	}
	return t, nil
}

// marshalJSON is json.Marshal without HTML escaping: receivers read ">="
// as it is.
func marshalJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte{'\n'}), nil
}

// WebhookPayload is the JSON document a webhook receives (unless
// body_template replaces it). Value and Threshold are null when not finite;
// the window bounds are null for count windows, ends_at while firing.
type WebhookPayload struct {
	Status    Status `json:"status"`
	Rule      string `json:"rule"`
	Model     string `json:"model"`
	Version   string `json:"version"`
	Feature   string `json:"feature"`
	Statistic string `json:"statistic"`
	Value     Float  `json:"value"`
	Op        string `json:"op"`
	Threshold Float  `json:"threshold"`
	Samples   Float  `json:"samples"`
	Severity  string `json:"severity"`
	// PreviousSeverity: see Alert.PreviousSeverity.
	PreviousSeverity string            `json:"previous_severity,omitempty"`
	Reason           string            `json:"reason"`
	Window           PayloadWindow     `json:"window"`
	StartsAt         *time.Time        `json:"starts_at"`
	EndsAt           *time.Time        `json:"ends_at"`
	IdempotencyKey   string            `json:"idempotency_key"`
	GeneratorURL     string            `json:"generator_url,omitempty"`
	DashboardURL     string            `json:"dashboard_url,omitempty"`
	Labels           map[string]string `json:"labels"`
	Annotations      map[string]string `json:"annotations"`
}

// PayloadWindow bounds the evaluated window (null for count windows).
type PayloadWindow struct {
	Start *time.Time `json:"start"`
	End   *time.Time `json:"end"`
}

// Float is a float64 that encodes NaN and ±Inf as JSON null.
type Float float64

// MarshalJSON implements json.Marshaler.
func (f Float) MarshalJSON() ([]byte, error) {
	if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
		return []byte("null"), nil
	}
	return json.Marshal(float64(f))
}

// NewWebhookPayload builds the payload of one alert; reason is its rendered
// summary.
func NewWebhookPayload(a Alert, reason, idempotencyKey string) WebhookPayload {
	labels, annotations := a.Labels, a.Annotations
	if labels == nil {
		labels = map[string]string{}
	}
	if annotations == nil {
		annotations = map[string]string{}
	}
	return WebhookPayload{
		Status: a.Status, Rule: a.Rule, Model: a.Model, Version: a.Version, Feature: a.Feature, Statistic: a.Statistic,
		Value: Float(a.Value), Op: a.Op, Threshold: Float(a.Threshold), Samples: Float(a.Samples),
		Severity: a.Severity, PreviousSeverity: a.PreviousSeverity, Reason: reason,
		Window:   PayloadWindow{Start: utcOrNil(a.WindowStart), End: utcOrNil(a.WindowEnd)},
		StartsAt: utcOrNil(a.StartsAt), EndsAt: utcOrNil(a.EndsAt), IdempotencyKey: idempotencyKey,
		GeneratorURL: a.GeneratorURL, DashboardURL: a.DashboardURL, Labels: labels, Annotations: annotations,
	}
}

func utcOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

// IdempotencyKey identifies one notification of an alert: hex SHA-256 of
// its rule, key, labels (severity among them), status, severity, start and
// the time it took its status and severity. Every retry and every restart's
// redelivery of a notification carries the same key; an escalation, a
// de-escalation, the resolve and a new firing of the same instance each
// get their own.
func IdempotencyKey(a Alert) string {
	h := sha256.New()
	field := func(s string) {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	field(a.Rule)
	field(a.Key)
	for _, k := range slices.Sorted(maps.Keys(a.Labels)) {
		field(k)
		field(a.Labels[k])
	}
	field(string(a.Status))
	field(a.Severity)
	field(a.StartsAt.UTC().Format(time.RFC3339Nano))
	field(a.ChangedAt.UTC().Format(time.RFC3339Nano))
	return hex.EncodeToString(h.Sum(nil))
}

// Sign returns the X-Driftwatch-Signature value of body sent at ts:
// "sha256=" and the hex HMAC-SHA256 with secret of "<unix seconds>.<body>".
func Sign(secret []byte, ts time.Time, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(strconv.AppendInt(nil, ts.Unix(), 10))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Errors Verify returns (wrapped), for receivers to tell them apart.
var (
	ErrSignatureMissing = errors.New("alerting: webhook: missing signature")
	ErrSignatureInvalid = errors.New("alerting: webhook: invalid signature")
	ErrSignatureExpired = errors.New("alerting: webhook: signature timestamp out of tolerance")
)

// Verify checks a signed request for a receiver: both headers present, the
// signature that of body at the stated timestamp (constant-time compare),
// and the timestamp within ±tolerance of now, so a captured request cannot
// be replayed later. Within the tolerance a receiver should also drop
// Idempotency-Keys it has already seen.
func Verify(secret []byte, header http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	if len(secret) == 0 {
		return errors.New("alerting: webhook: empty secret")
	}
	tsText, sig := header.Get(TimestampHeader), header.Get(SignatureHeader)
	if tsText == "" || sig == "" {
		return fmt.Errorf("%w: need headers %s and %s", ErrSignatureMissing, TimestampHeader, SignatureHeader)
	}
	sec, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: bad %s %q", ErrSignatureInvalid, TimestampHeader, tsText)
	}
	ts := time.Unix(sec, 0)
	if !hmac.Equal([]byte(Sign(secret, ts, body)), []byte(sig)) {
		return ErrSignatureInvalid
	}
	if d := now.Sub(ts); d > tolerance || d < -tolerance {
		return fmt.Errorf("%w: signed at %s, %s from now (tolerance %s)", ErrSignatureExpired, ts.UTC().Format(time.RFC3339), d.Round(time.Second), tolerance)
	}
	return nil
}

// ---- Shared by the notifiers: secrets, URLs, HTTP calls and their errors.

// Secret is a credential from the config. It prints, and marshals to JSON
// and YAML, as "<secret>", so configs can be logged and served as they are.
type Secret string

// String implements fmt.Stringer.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "<secret>"
}

// GoString implements fmt.GoStringer (%#v).
func (s Secret) GoString() string { return strconv.Quote(s.String()) }

// MarshalJSON implements json.Marshaler.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// MarshalYAML implements yaml.Marshaler.
func (s Secret) MarshalYAML() (any, error) { return s.String(), nil }

// checkSecret validates a secret given inline as field or through the
// environment variable field_env names.
func checkSecret(kind, field string, inline Secret, env string, required bool) error {
	switch {
	case inline != "" && env != "":
		return fmt.Errorf("alerting: %s: %s and %s_env are exclusive", kind, field, field)
	case required && inline == "" && env == "":
		return fmt.Errorf("alerting: %s: %s or %s_env is required", kind, field, field)
	}
	return nil
}

// secretValue returns the inline secret or the environment variable env
// (field names the config key, for the error); an empty variable is an
// error, its value never part of one.
func secretValue(kind, field string, inline Secret, env string) (string, error) {
	if env == "" {
		return string(inline), nil
	}
	v := os.Getenv(env)
	if v == "" {
		return "", fmt.Errorf("alerting: %s: environment variable %q named by %s is empty", kind, env, field)
	}
	return v, nil
}

// checkURL requires an absolute http or https URL.
func checkURL(kind, field, s string) error {
	if s == "" {
		return fmt.Errorf("alerting: %s: %s is required", kind, field)
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		// The URL itself is not quoted: it may hold a credential.
		return fmt.Errorf("alerting: %s: %s must be an absolute http or https URL", kind, field)
	}
	return nil
}

// showHost is how errors name a URL that may hold a credential in its path
// or query (Slack webhooks, tokens in query strings): scheme and host only.
func showHost(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "<url>"
	}
	return u.Scheme + "://" + u.Host
}

var defaultClient = &http.Client{Timeout: 30 * time.Second}

func orDefault(c *http.Client) *http.Client {
	if c == nil {
		return defaultClient
	}
	return c
}

// do sends one request and classifies the outcome; shown names the URL in
// errors.
func do(ctx context.Context, client *http.Client, method, target, shown string, h http.Header, body []byte, red *redactor) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, method, target, bytes.NewReader(body))
	if err != nil {
		return false, fmt.Errorf("%s: cannot build request: %w", shown, transportError(err, shown))
	}
	req.Header = h
	resp, err := client.Do(req)
	if err != nil {
		return true, transportError(err, shown)
	}
	defer resp.Body.Close()
	retry, err := httpError(resp, red)
	if err != nil {
		return retry, fmt.Errorf("%s: %w", shown, err)
	}
	return false, nil
}

// transportError hides the request URL of a *url.Error behind shown. Errors
// from http.Client.Do are network errors or timeouts: retryable.
func transportError(err error, shown string) error {
	if ue, ok := errors.AsType[*url.Error](err); ok {
		return &url.Error{Op: ue.Op, URL: shown, Err: ue.Err}
	}
	return err
}

// StatusError is a receiver's answer other than 2xx.
type StatusError struct {
	Code int
	// Body is the start of the response body, for the log.
	Body string
	// RetryAfter is the receiver's Retry-After in seconds, 0 when absent.
	RetryAfter time.Duration
}

func (e *StatusError) Error() string {
	s := fmt.Sprintf("http %d %s", e.Code, http.StatusText(e.Code))
	if e.Body != "" {
		s += ": " + e.Body
	}
	return s
}

// Retryable reports whether the status is worth retrying.
func (e *StatusError) Retryable() bool { return retryableStatus(e.Code) }

// retryableStatus is the one rule for every notifier: 5xx, 429 and 408
// (the receiver timed out) are worth retrying; other 4xx will never be
// accepted.
func retryableStatus(code int) bool {
	return code >= 500 || code == http.StatusTooManyRequests || code == http.StatusRequestTimeout
}

// httpError returns nil for a 2xx response, else a *StatusError and
// whether to retry. It reads (at most 4 KiB of) the body, so the connection
// can be reused; the caller closes it. The body kept is redacted (red may
// be nil: patterns only) before it is cut to 256 bytes, so a receiver that
// echoes the request does not put the notifier's credentials in the log.
func httpError(resp *http.Response, red *redactor) (retryable bool, err error) {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return false, nil
	}
	e := &StatusError{Code: resp.StatusCode, Body: shorten(strings.TrimSpace(red.Redact(string(b))), 256)}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
		e.RetryAfter = time.Duration(s) * time.Second
	}
	return e.Retryable(), e
}

// shorten cuts s to at most n bytes on a rune boundary, marking the cut.
func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
