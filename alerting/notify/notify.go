// Package notify delivers alerts to receivers: the Alert notifiers see,
// the Notifier interface each receiver implements, and the plumbing they
// share — a Dispatcher per notifier with a bounded queue and retries with
// backoff, redaction of credentials from what receivers send back, secrets
// in the config, HTTP calls and their errors, and the summary and
// description templates. The receivers themselves live in the packages
// under it (alertmanager, slack, pagerduty, webhook), plus the log notifier
// here.
//
// Deciding when an alert fires or resolves, silences and the outbox kept
// across restarts are left to package alerting.
package notify

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"maps"
	"math"
	"slices"
	"time"

	"driftwatch/vocab"
)

// Status is an alert's status as notifiers see it.
type Status string

// Alert statuses sent to notifiers.
const (
	StatusFiring   Status = "firing"
	StatusResolved Status = "resolved"
)

// Severity is how bad a firing alert is, from the rule's warning and
// critical thresholds; "" is none.
type Severity string

// Severities, from the rule's warning and critical thresholds.
const (
	SeverityWarning  Severity = "warning"
	SeverityCritical Severity = "critical"
)

// SeverityRank orders severities: none, warning, critical.
func SeverityRank(s Severity) int {
	switch s {
	case SeverityWarning:
		return 1
	case SeverityCritical:
		return 2
	}
	return 0
}

// Op is how an alert's value compares with its threshold when it fires.
type Op string

// Ops: drift, error rates and lag fire at or above the threshold;
// accuracy-like metrics and volume at or below it.
const (
	OpAtLeast Op = ">="
	OpAtMost  Op = "<="
)

// Alert is one alert instance as notifiers see it: a rule applied to one
// model version and, for per-feature statistics, one feature.
type Alert struct {
	// Key identifies the instance across evaluations and restarts
	// (rule/model/version/feature); notifiers use it to deduplicate
	// (PagerDuty dedup_key, Alertmanager label set, webhook idempotency).
	Key      string   `json:"key"`
	Rule     string   `json:"rule"`
	Status   Status   `json:"status"`
	Severity Severity `json:"severity"`
	// Labels: alertname (the rule), model, version, feature (when the
	// statistic is per feature), statistic, severity, and the rule's own.
	Labels map[string]string `json:"labels"`
	// Annotations: summary and description rendered from the rule's
	// templates, plus the rule's own annotations.
	Annotations map[string]string `json:"annotations"`

	Model     string          `json:"model"`
	Version   string          `json:"version"`
	Feature   string          `json:"feature,omitempty"`
	Statistic vocab.Statistic `json:"statistic"`
	// Value is the statistic at the last evaluation; Threshold the one it
	// crossed (critical when Severity is critical, else warning). A resolved
	// alert has the value at resolution (NaN when there is none: the
	// statistic went away or has too few samples) and the threshold it is
	// back behind (warning, or critical for a rule without one).
	Value     float64 `json:"value"`
	Threshold float64 `json:"threshold"`
	// Op tells how Value compares with Threshold when the alert fires: ">="
	// (drift, error, lag) or "<=" (accuracy-like metrics, volume).
	Op Op `json:"op"`
	// Samples is the number of values or outcomes behind Value.
	Samples float64 `json:"samples"`
	// WindowStart and WindowEnd bound the evaluated window (zero for count
	// windows).
	WindowStart time.Time `json:"window_start"`
	WindowEnd   time.Time `json:"window_end"`
	// StartsAt is when the alert started firing; EndsAt when it resolved
	// (zero while firing); ChangedAt when it took its current status and
	// severity (an escalation or de-escalation, the resolution).
	StartsAt  time.Time `json:"starts_at"`
	EndsAt    time.Time `json:"ends_at"`
	ChangedAt time.Time `json:"changed_at"`
	// PreviousSeverity is set on a firing Notification that changes the
	// severity the notifier was told before: an escalation when Severity
	// is the higher one, else a de-escalation.
	PreviousSeverity Severity `json:"previous_severity,omitempty"`
	// SupersededBy is set on the resolved Notification that closes an
	// Alertmanager-like receiver's alert of the old severity when the
	// alert changed severity: the new severity, which goes on firing.
	SupersededBy Severity `json:"superseded_by,omitempty"`
	// GeneratorURL links to the model's status page; DashboardURL to its
	// Grafana dashboard ("" when not configured).
	GeneratorURL string `json:"generator_url,omitempty"`
	DashboardURL string `json:"dashboard_url,omitempty"`
}

// Resender is a notifier whose receiver forgets firing alerts unless they
// are sent again (Alertmanager): the engine re-sends them every
// ResendInterval while they fire.
type Resender interface {
	ResendInterval() time.Duration
}

// Redactor is implemented by notifiers that know their credentials: the
// dispatcher logs a failed delivery's error through Redact.
type Redactor interface {
	Redact(s string) string
}

// Notifier delivers alerts to one receiver. Notify gets the alerts of one
// Notification (usually one) and reports whether a failure is worth
// retrying (network errors, 5xx, 429) or not (4xx: the payload will never be
// accepted). It must honour ctx's deadline.
type Notifier interface {
	Name() string
	Notify(ctx context.Context, alerts []Alert) (retryable bool, err error)
}

// MarshalJSON writes non-finite numbers as null: encoding/json refuses
// them, and no_data and rollout alerts count +Inf samples. Decoding leaves
// a null field zero.
func (a Alert) MarshalJSON() ([]byte, error) {
	type plain Alert
	return json.Marshal(struct {
		plain
		// Shallower than plain's fields of the same names: these win.
		Value     Float `json:"value"`
		Threshold Float `json:"threshold"`
		Samples   Float `json:"samples"`
	}{plain(a), Float(a.Value), Float(a.Threshold), Float(a.Samples)})
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

// IdempotencyKey identifies one Notification of an alert: hex SHA-256 of
// its rule, key, labels (severity among them), status, severity, start and
// the time it took its status and severity. Every retry and every restart's
// redelivery of a Notification carries the same key; an escalation, a
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
	field(string(a.Severity))
	field(a.StartsAt.UTC().Format(time.RFC3339Nano))
	field(a.ChangedAt.UTC().Format(time.RFC3339Nano))
	return hex.EncodeToString(h.Sum(nil))
}

// MarshalJSON is json.Marshal without HTML escaping: receivers read ">="
// as it is.
func MarshalJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte{'\n'}), nil
}

// Window bounds the evaluated window in notifier payloads (null for count
// windows).
type Window struct {
	Start *time.Time `json:"start"`
	End   *time.Time `json:"end"`
}

// WindowOf returns the alert's window, in UTC.
func WindowOf(a Alert) Window {
	return Window{Start: UTCOrNil(a.WindowStart), End: UTCOrNil(a.WindowEnd)}
}

// UTCOrNil is t in UTC, or nil (JSON null) when t is zero.
func UTCOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}
