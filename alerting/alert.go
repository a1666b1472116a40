// Package alerting turns the monitor's evaluations into alerts and delivers
// them. Rules (which model, version, feature and statistic, warning and
// critical thresholds, `for`, `keep_firing_for`, minimum samples) move each
// alert through the states of a Prometheus alerting rule — inactive,
// pending, firing, resolved — on an injected clock; firing and resolved
// alerts go to notifiers (Alertmanager, Slack, PagerDuty, signed webhooks for
// retraining or rollback), each behind a bounded queue with retries, so a
// slow receiver never blocks the consumer. Silences mute notifications by
// label matchers.
//
// Computing the statistics is left to package monitor, turning them into
// samples to the service, and HTTP routing of the API to the service.
package alerting

import (
	"context"
	"encoding/json"
	"time"
)

// Status is an alert's status as notifiers see it.
type Status string

// Alert statuses sent to notifiers.
const (
	StatusFiring   Status = "firing"
	StatusResolved Status = "resolved"
)

// Severities, from the rule's warning and critical thresholds.
const (
	SeverityWarning  = "warning"
	SeverityCritical = "critical"
)

// Alert is one alert instance as notifiers see it: a rule applied to one
// model version and, for per-feature statistics, one feature.
type Alert struct {
	// Key identifies the instance across evaluations and restarts
	// (rule/model/version/feature); notifiers use it to deduplicate
	// (PagerDuty dedup_key, Alertmanager label set, webhook idempotency).
	Key      string `json:"key"`
	Rule     string `json:"rule"`
	Status   Status `json:"status"`
	Severity string `json:"severity"`
	// Labels: alertname (the rule), model, version, feature (when the
	// statistic is per feature), statistic, severity, and the rule's own.
	Labels map[string]string `json:"labels"`
	// Annotations: summary and description rendered from the rule's
	// templates, plus the rule's own annotations.
	Annotations map[string]string `json:"annotations"`

	Model     string `json:"model"`
	Version   string `json:"version"`
	Feature   string `json:"feature,omitempty"`
	Statistic string `json:"statistic"`
	// Value is the statistic at the last evaluation; Threshold the one it
	// crossed (critical when Severity is critical, else warning). A resolved
	// alert has the value at resolution (NaN when there is none: the
	// statistic went away or has too few samples) and the threshold it is
	// back behind (warning, or critical for a rule without one).
	Value     float64 `json:"value"`
	Threshold float64 `json:"threshold"`
	// Op tells how Value compares with Threshold when the alert fires: ">="
	// (drift, error, lag) or "<=" (accuracy-like metrics, volume).
	Op string `json:"op"`
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
	// PreviousSeverity is set on a firing notification that changes the
	// severity the notifier was told before: an escalation when Severity
	// is the higher one, else a de-escalation.
	PreviousSeverity string `json:"previous_severity,omitempty"`
	// SupersededBy is set on the resolved notification that closes an
	// Alertmanager-like receiver's alert of the old severity when the
	// alert changed severity: the new severity, which goes on firing.
	SupersededBy string `json:"superseded_by,omitempty"`
	// GeneratorURL links to the model's status page; DashboardURL to its
	// Grafana dashboard ("" when not configured).
	GeneratorURL string `json:"generator_url,omitempty"`
	DashboardURL string `json:"dashboard_url,omitempty"`
}

// Notifier delivers alerts to one receiver. Notify gets the alerts of one
// notification (usually one) and reports whether a failure is worth
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

// MarshalJSON is needed because AlertState embeds Alert, whose MarshalJSON
// would otherwise stand for the whole state.
func (s AlertState) MarshalJSON() ([]byte, error) {
	a, err := s.Alert.MarshalJSON()
	if err != nil {
		return nil, err
	}
	rest, err := json.Marshal(struct {
		State    State     `json:"state"`
		ActiveAt time.Time `json:"active_at"`
		Silenced bool      `json:"silenced"`
	}{s.State, s.ActiveAt, s.Silenced})
	if err != nil {
		return nil, err
	}
	return append(append(a[:len(a)-1], ','), rest[1:]...), nil
}
