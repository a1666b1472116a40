// Package alertmanager posts alerts to Prometheus Alertmanager's API v2
// (plain JSON on /api/v2/alerts), to every instance of an HA group, the way
// Prometheus does: firing alerts carry an endsAt a few resend intervals
// ahead and are re-sent every interval.
//
// Queueing, retries and the resend schedule are left to packages notify and
// alerting; grouping, routing and inhibition to Alertmanager.
package alertmanager

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"driftwatch/alerting/notify"
)

// DefaultResendInterval is how often firing alerts are re-sent to
// Alertmanager unless configured (Prometheus' --rules.alert.resend-delay).
const DefaultResendInterval = time.Minute

// AlertmanagerConfig sends alerts to Alertmanager's API v2, like Prometheus
// does: to every URL of an HA pair, each of which deduplicates.
type Config struct {
	// Name is set by the caller: the notifier's name in the service config.
	Name string   `yaml:"-" json:"-"`
	URLs []string `yaml:"urls" json:"urls"` // base URLs: http://am:9093
	// ResendInterval: firing alerts are re-sent this often; each says it
	// ends 4 intervals later, so Alertmanager resolves alerts that
	// driftwatch stopped sending (default 1m).
	ResendInterval time.Duration `yaml:"resend_interval" json:"resend_interval,omitempty"`
}

// Validate checks the config and fills its defaults.
func (c *Config) Validate() error {
	if len(c.URLs) == 0 {
		return errors.New("alerting: alertmanager: urls is required")
	}
	for i, s := range c.URLs {
		field := "urls[" + strconv.Itoa(i) + "]"
		if err := notify.CheckURL("alertmanager", field, s); err != nil {
			return err
		}
		if u, _ := url.Parse(s); u.User != nil {
			return fmt.Errorf("alerting: alertmanager: %s: credentials in the URL are not supported", field)
		}
	}
	switch {
	case c.ResendInterval == 0:
		c.ResendInterval = DefaultResendInterval
	case c.ResendInterval < 0:
		return fmt.Errorf("alerting: alertmanager: resend_interval must be positive, got %s", c.ResendInterval)
	}
	return nil
}

// SourceLabel is the label that says which system raised an alert sent to
// Alertmanager: SourceDriftwatch on the service's own alerts, and
// "prometheus" on the shipped Prometheus rules' (dashboards), so that one
// Alertmanager inhibit rule mutes the Prometheus duplicate of an alert the
// service raises (README "Grafana dashboards and Prometheus rules").
const SourceLabel = "source"

// SourceDriftwatch is SourceLabel's value on the alerts the service sends,
// unless the rule sets the label itself.
const SourceDriftwatch = "driftwatch"

// Alertmanager posts alerts to /api/v2/alerts of one or more Alertmanagers.
type Notifier struct {
	name   string
	urls   []string // .../api/v2/alerts
	shown  []string // base URLs, for errors
	resend time.Duration
	client *http.Client
	now    func() time.Time
	red    *notify.Redaction
}

// Redact removes the Alertmanager URLs' queries from s.
func (am *Notifier) Redact(s string) string { return am.red.Redact(s) }

// NewAlertmanager builds an Alertmanager notifier; a nil client takes a
// default one with a 30 s timeout.
func New(cfg Config, client *http.Client) (*Notifier, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	am := &Notifier{name: cfg.Name, resend: cfg.ResendInterval, client: notify.Client(client), now: time.Now}
	if am.name == "" {
		am.name = "alertmanager"
	}
	for _, u := range cfg.URLs {
		base := strings.TrimRight(u, "/")
		am.urls = append(am.urls, base+"/api/v2/alerts")
		am.shown = append(am.shown, base)
	}
	am.red = notify.NewRedaction(cfg.URLs)
	return am, nil
}

// Name is the notifier's configured name ("alertmanager" by default).
func (am *Notifier) Name() string { return am.name }

// ResendInterval is how often the engine must re-send firing alerts:
// Alertmanager resolves a firing alert by itself at its endsAt.
func (am *Notifier) ResendInterval() time.Duration { return am.resend }

// amAlert is an alert of Alertmanager's API v2 (postableAlert).
type amAlert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	StartsAt     string            `json:"startsAt,omitempty"`
	EndsAt       string            `json:"endsAt,omitempty"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
}

// resendsBeforeEnd is how many resend intervals a firing alert's endsAt
// lies ahead, as in Prometheus: a few missed resends do not resolve it.
const resendsBeforeEnd = 4

// payload converts alerts the way Prometheus does: a firing alert ends
// 4 resend intervals from now unless sent again, a resolved one at its
// EndsAt. Each carries SourceLabel (SourceDriftwatch unless the rule's
// labels say otherwise).
func (am *Notifier) payload(alerts []notify.Alert) ([]byte, error) {
	now := am.now()
	out := make([]amAlert, 0, len(alerts))
	for _, a := range alerts {
		labels := make(map[string]string, len(a.Labels)+7)
		for k, v := range a.Labels {
			if v != "" { // an empty label is no label, as in Prometheus
				labels[k] = v
			}
		}
		for k, v := range map[string]string{"alertname": a.Rule, "model": a.Model, "version": a.Version,
			"feature": a.Feature, "statistic": string(a.Statistic), "severity": string(a.Severity), SourceLabel: SourceDriftwatch} {
			if _, ok := labels[k]; !ok && v != "" {
				labels[k] = v
			}
		}
		if labels["alertname"] == "" {
			return nil, fmt.Errorf("alerting: alertmanager: alert %q has no alertname", a.Key)
		}
		annotations := maps.Clone(a.Annotations)
		if annotations == nil {
			annotations = make(map[string]string, 5)
		}
		annotations["summary"], annotations["description"] = notify.Summarize(a)
		setDefault(annotations, "value", strconv.FormatFloat(a.Value, 'g', 6, 64))
		setDefault(annotations, "threshold", strconv.FormatFloat(a.Threshold, 'g', -1, 64))
		if a.DashboardURL != "" {
			setDefault(annotations, "dashboard_url", a.DashboardURL)
		}

		start := a.StartsAt
		end := now.Add(resendsBeforeEnd * am.resend)
		if a.Status == notify.StatusResolved {
			end = a.EndsAt
			if end.IsZero() {
				end = now
			}
		}
		if !start.IsZero() && end.Before(start) {
			end = start // Notifier rejects an alert that ends before it starts
		}
		out = append(out, amAlert{Labels: labels, Annotations: annotations, StartsAt: rfc3339(start),
			EndsAt: rfc3339(end), GeneratorURL: a.GeneratorURL})
	}
	return json.Marshal(out)
}

func setDefault(m map[string]string, k, v string) {
	if _, ok := m[k]; !ok {
		m[k] = v
	}
}

// rfc3339 formats t in UTC, or "" for the zero time (Alertmanager then
// takes its own now).
func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// Notify posts the alerts to every Alertmanager in turn, each with an equal
// share of the time left in ctx, so one that hangs cannot starve the
// others. It succeeds if at least one accepted them (the others get them at
// the next resend); a failure is retryable only if every Alertmanager failed
// retryably.
func (am *Notifier) Notify(ctx context.Context, alerts []notify.Alert) (bool, error) {
	if len(alerts) == 0 {
		return false, nil
	}
	body, err := am.payload(alerts)
	if err != nil {
		return false, err
	}
	h := http.Header{"Content-Type": {"application/json"}, "User-Agent": {"driftwatch"}}
	var errs []error
	accepted, retry := false, true
	for i, u := range am.urls {
		actx, cancel := shareDeadline(ctx, len(am.urls)-i)
		r, err := notify.Do(actx, am.client, http.MethodPost, u, am.shown[i], h.Clone(), body, am.red)
		cancel()
		if err != nil {
			errs = append(errs, fmt.Errorf("alerting: alertmanager: %w", err))
			retry = retry && r
			continue
		}
		accepted = true
	}
	if accepted {
		return false, nil
	}
	return retry, errors.Join(errs...)
}

// shareDeadline gives a call 1/n of the time left before ctx's deadline.
func shareDeadline(ctx context.Context, n int) (context.Context, context.CancelFunc) {
	d, ok := ctx.Deadline()
	if !ok || n <= 1 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, time.Until(d)/time.Duration(n))
}
