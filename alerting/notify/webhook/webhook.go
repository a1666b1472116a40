// Package webhook sends each alert as one HTTP request — a JSON payload or
// a rendered body_template — signed with HMAC-SHA256 when a secret is set,
// with an Idempotency-Key per notification: retraining triggers, canary
// rollback, anything that takes a request per alert. Sign and Verify are
// for receivers too.
//
// Queueing and retries are left to package notify's dispatcher, deciding
// what to send to package alerting.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"text/template"
	"time"
	"unicode/utf8"

	"driftwatch/alerting/notify"
	"driftwatch/vocab"
)

// Headers of a signed webhook request.
const (
	TimestampHeader   = "X-Driftwatch-Timestamp"
	SignatureHeader   = "X-Driftwatch-Signature"
	IdempotencyHeader = "Idempotency-Key"
)

// WebhookConfig configures a generic webhook: retraining triggers, canary
// rollback, anything that takes an HTTP request per alert.
type Config struct {
	// Name is set by the caller: the notifier's name in the service config.
	Name   string `yaml:"-" json:"-"`
	URL    string `yaml:"url" json:"url"`
	Method string `yaml:"method" json:"method,omitempty"` // POST (default), PUT or PATCH
	// Headers are sent with every request; HeadersEnv names environment
	// variables holding header values (Authorization: UNLEASH_TOKEN).
	Headers    map[string]notify.Secret `yaml:"headers" json:"headers,omitempty"`
	HeadersEnv map[string]string        `yaml:"headers_env" json:"headers_env,omitempty"`
	// Secret signs each request (X-Driftwatch-Signature); inline or from
	// the environment variable SecretEnv names.
	Secret    notify.Secret `yaml:"secret" json:"secret,omitempty"`
	SecretEnv string        `yaml:"secret_env" json:"secret_env,omitempty"`
	// BodyTemplate replaces the JSON payload: a Go text/template over the
	// Alert, with .Reason, .Description and .IdempotencyKey added and the
	// functions json and rfc3339.
	BodyTemplate string `yaml:"body_template" json:"body_template,omitempty"`
	// SendResolved: also send resolved alerts (default true). A rollback
	// hook sets it to false.
	SendResolved *bool `yaml:"send_resolved" json:"send_resolved,omitempty"`
}

// Validate checks the config and fills its defaults.
func (c *Config) Validate() error {
	if err := notify.CheckURL("webhook", "url", c.URL); err != nil {
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
	if err := notify.CheckSecret("webhook", "secret", c.Secret, c.SecretEnv, false); err != nil {
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
type Notifier struct {
	name         string
	url, shown   string
	method       string
	header       http.Header
	secret       []byte
	body         *template.Template // nil: the JSON payload
	sendResolved bool
	client       *http.Client
	now          func() time.Time
	red          *notify.Redaction
}

// Redact removes the webhook's URL query, header values and secret from s.
func (w *Notifier) Redact(s string) string { return w.red.Redact(s) }

// NewWebhook builds a webhook notifier; a nil client takes a default one
// with a 30 s timeout.
func New(cfg Config, client *http.Client) (*Notifier, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	w := &Notifier{name: cfg.Name, url: cfg.URL, shown: notify.ShowHost(cfg.URL), method: cfg.Method,
		header: make(http.Header), sendResolved: *cfg.SendResolved, client: notify.Client(client), now: time.Now}
	if w.name == "" {
		w.name = "webhook"
	}
	w.header.Set("Content-Type", "application/json")
	w.header.Set("User-Agent", "driftwatch")
	for name, v := range cfg.Headers {
		w.header.Set(name, string(v))
	}
	for name, env := range cfg.HeadersEnv {
		v, err := notify.SecretValue("webhook", "headers_env", "", env)
		if err != nil {
			return nil, err
		}
		if err := checkHeaderValue("headers_env", name, v); err != nil {
			return nil, err
		}
		w.header.Set(name, v)
	}
	secret, err := notify.SecretValue("webhook", "secret_env", cfg.Secret, cfg.SecretEnv)
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
	w.red = notify.NewRedaction([]string{w.url}, append(values, secret)...)
	return w, nil
}

// Name is the notifier's configured name ("webhook" by default).
func (w *Notifier) Name() string { return w.name }

// Notify sends one request per alert. It tries every alert, and a failure
// is retryable if any request failed retryably: re-sending the delivered
// ones is safe, since they carry the same Idempotency-Key.
func (w *Notifier) Notify(ctx context.Context, alerts []notify.Alert) (bool, error) {
	var errs []error
	retry := false
	for _, a := range alerts {
		if a.Status == notify.StatusResolved && !w.sendResolved {
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

func (w *Notifier) send(ctx context.Context, a notify.Alert) (bool, error) {
	key := notify.IdempotencyKey(a)
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
	retry, err := notify.Do(ctx, w.client, w.method, w.url, w.shown, h, body, w.red)
	if err != nil {
		return retry, fmt.Errorf("alerting: webhook: alert %q: %w", a.Key, err)
	}
	return false, nil
}

func (w *Notifier) render(a notify.Alert, key string) ([]byte, error) {
	summary, description := notify.Summarize(a)
	if w.body == nil {
		return notify.MarshalJSON(NewPayload(a, summary, key))
	}
	var b bytes.Buffer
	if err := w.body.Execute(&b, bodyData{Alert: a, Reason: summary, Description: description, IdempotencyKey: key}); err != nil {
		return nil, fmt.Errorf("alerting: webhook: body_template: %w", err)
	}
	return b.Bytes(), nil
}

// bodyData is what body_template runs over.
type bodyData struct {
	notify.Alert
	Reason, Description, IdempotencyKey string
}

func parseBodyTemplate(text string) (*template.Template, error) {
	funcs := template.FuncMap{"json": func(v any) (string, error) {
		b, err := notify.MarshalJSON(v)
		return string(b), err
	}}
	for k, f := range notify.TemplateFuncs() {
		funcs[k] = f
	}
	t, err := template.New("body_template").Funcs(funcs).Parse(text)
	if err != nil {
		return nil, fmt.Errorf("alerting: webhook: body_template: %w", err)
	}
	if err := t.Execute(io.Discard, bodyData{Alert: notify.SampleAlert()}); err != nil {
		return nil, fmt.Errorf("alerting: webhook: body_template: %w", err)
	}
	return t, nil
}

// WebhookPayload is the JSON document a webhook receives (unless
// body_template replaces it). Value and Threshold are null when not finite;
// the window bounds are null for count windows, ends_at while firing.
type Payload struct {
	Status    notify.Status   `json:"status"`
	Rule      string          `json:"rule"`
	Model     string          `json:"model"`
	Version   string          `json:"version"`
	Feature   string          `json:"feature"`
	Statistic vocab.Statistic `json:"statistic"`
	Value     notify.Float    `json:"value"`
	Op        notify.Op       `json:"op"`
	Threshold notify.Float    `json:"threshold"`
	Samples   notify.Float    `json:"samples"`
	Severity  notify.Severity `json:"severity"`
	// PreviousSeverity: see Alert.PreviousSeverity.
	PreviousSeverity notify.Severity   `json:"previous_severity,omitempty"`
	Reason           string            `json:"reason"`
	Window           notify.Window     `json:"window"`
	StartsAt         *time.Time        `json:"starts_at"`
	EndsAt           *time.Time        `json:"ends_at"`
	IdempotencyKey   string            `json:"idempotency_key"`
	GeneratorURL     string            `json:"generator_url,omitempty"`
	DashboardURL     string            `json:"dashboard_url,omitempty"`
	Labels           map[string]string `json:"labels"`
	Annotations      map[string]string `json:"annotations"`
}

// NewWebhookPayload builds the payload of one alert; reason is its rendered
// summary.
func NewPayload(a notify.Alert, reason, idempotencyKey string) Payload {
	labels, annotations := a.Labels, a.Annotations
	if labels == nil {
		labels = map[string]string{}
	}
	if annotations == nil {
		annotations = map[string]string{}
	}
	return Payload{
		Status: a.Status, Rule: a.Rule, Model: a.Model, Version: a.Version, Feature: a.Feature, Statistic: a.Statistic,
		Value: notify.Float(a.Value), Op: a.Op, Threshold: notify.Float(a.Threshold), Samples: notify.Float(a.Samples),
		Severity: a.Severity, PreviousSeverity: a.PreviousSeverity, Reason: reason,
		Window:   notify.WindowOf(a),
		StartsAt: notify.UTCOrNil(a.StartsAt), EndsAt: notify.UTCOrNil(a.EndsAt), IdempotencyKey: idempotencyKey,
		GeneratorURL: a.GeneratorURL, DashboardURL: a.DashboardURL, Labels: labels, Annotations: annotations,
	}
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
