package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

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

// CheckSecret validates a secret given inline as field or through the
// environment variable field_env names.
func CheckSecret(kind, field string, inline Secret, env string, required bool) error {
	switch {
	case inline != "" && env != "":
		return fmt.Errorf("alerting: %s: %s and %s_env are exclusive", kind, field, field)
	case required && inline == "" && env == "":
		return fmt.Errorf("alerting: %s: %s or %s_env is required", kind, field, field)
	}
	return nil
}

// SecretValue returns the inline secret or the environment variable env
// (field names the config key, for the error); an empty variable is an
// error, its value never part of one.
func SecretValue(kind, field string, inline Secret, env string) (string, error) {
	if env == "" {
		return string(inline), nil
	}
	v := os.Getenv(env)
	if v == "" {
		return "", fmt.Errorf("alerting: %s: environment variable %q named by %s is empty", kind, env, field)
	}
	return v, nil
}

// CheckURL requires an absolute http or https URL.
func CheckURL(kind, field, s string) error {
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

// ShowHost is how errors name a URL that may hold a credential in its path
// or query (Slack webhooks, tokens in query strings): scheme and host only.
func ShowHost(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "<url>"
	}
	return u.Scheme + "://" + u.Host
}

// DefaultTimeout bounds a request of the client notifiers get when given
// none; each delivery attempt has its own, shorter, Delivery.Timeout.
const DefaultTimeout = 30 * time.Second

// Bounds of what a failed request's error keeps of the response body.
const (
	maxErrorBody   = 4 << 10 // read, so the connection can be reused
	errorBodyShown = 256     // kept in the error, after redaction
)

var defaultClient = &http.Client{Timeout: DefaultTimeout}

// Client is c, or a shared client with DefaultTimeout when c is nil.
func Client(c *http.Client) *http.Client {
	if c == nil {
		return defaultClient
	}
	return c
}

// Do sends one request and classifies the Outcome; shown names the URL in
// errors.
func Do(ctx context.Context, client *http.Client, method, target, shown string, h http.Header, body []byte, red *Redaction) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, method, target, bytes.NewReader(body))
	if err != nil {
		return false, fmt.Errorf("%s: cannot build request: %w", shown, TransportError(err, shown))
	}
	req.Header = h
	resp, err := client.Do(req)
	if err != nil {
		return true, TransportError(err, shown)
	}
	defer resp.Body.Close()
	retry, err := HTTPError(resp, red)
	if err != nil {
		return retry, fmt.Errorf("%s: %w", shown, err)
	}
	return false, nil
}

// TransportError hides the request URL of a *url.Error behind shown. Errors
// from http.Client.Do are network errors or timeouts: retryable.
func TransportError(err error, shown string) error {
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
func (e *StatusError) Retryable() bool { return RetryableStatus(e.Code) }

// RetryableStatus is the one rule for every notifier: 5xx, 429 and 408
// (the receiver timed out) are worth retrying; other 4xx will never be
// accepted.
func RetryableStatus(code int) bool {
	return code >= 500 || code == http.StatusTooManyRequests || code == http.StatusRequestTimeout
}

// HTTPError returns nil for a 2xx response, else a *StatusError and
// whether to retry. It reads (at most 4 KiB of) the body, so the connection
// can be reused; the caller closes it. The body kept is redacted (red may
// be nil: patterns only) before it is cut to 256 bytes, so a receiver that
// echoes the request does not put the notifier's credentials in the log.
func HTTPError(resp *http.Response, red *Redaction) (retryable bool, err error) {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return false, nil
	}
	e := &StatusError{Code: resp.StatusCode, Body: Shorten(strings.TrimSpace(red.Redact(string(b))), errorBodyShown)}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
		e.RetryAfter = time.Duration(s) * time.Second
	}
	return e.Retryable(), e
}

// Shorten cuts s to at most n bytes on a rune boundary, marking the cut.
func Shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
