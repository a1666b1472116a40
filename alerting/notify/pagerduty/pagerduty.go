// Package pagerduty triggers and resolves PagerDuty incidents through the
// Events API v2, deduplicated by the alert's key.
//
// Queueing and retries are left to package notify's dispatcher, deciding
// what to send to package alerting.
package pagerduty

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/PagerDuty/go-pagerduty"

	"driftwatch/alerting/notify"
)

// DefaultPagerDutyURL is PagerDuty's Events API v2 endpoint.
const DefaultURL = "https://events.pagerduty.com/v2/enqueue"

// PagerDutyConfig sends Events API v2 events: trigger on firing, resolve on
// resolved, deduplicated by the alert's key.
type Config struct {
	// Name is set by the caller: the notifier's name in the service config.
	Name string `yaml:"-" json:"-"`
	// RoutingKey is the integration key of an Events API v2 integration,
	// inline or from the environment variable RoutingKeyEnv names.
	RoutingKey    notify.Secret `yaml:"routing_key" json:"routing_key,omitempty"`
	RoutingKeyEnv string        `yaml:"routing_key_env" json:"routing_key_env,omitempty"`
	// URL is the events endpoint, ending in /v2/enqueue (default
	// https://events.pagerduty.com/v2/enqueue; events.eu.pagerduty.com for
	// EU accounts).
	URL string `yaml:"url" json:"url,omitempty"`
}

const pagerDutyPath = "/v2/enqueue" // go-pagerduty appends it to the endpoint

// Validate checks the config and fills its defaults.
func (c *Config) Validate() error {
	if err := notify.CheckSecret("pagerduty", "routing_key", c.RoutingKey, c.RoutingKeyEnv, true); err != nil {
		return err
	}
	if c.URL == "" {
		c.URL = DefaultURL
	}
	if err := notify.CheckURL("pagerduty", "url", c.URL); err != nil {
		return err
	}
	if !strings.HasSuffix(c.URL, pagerDutyPath) {
		// The URL is not quoted: it may hold a credential.
		return fmt.Errorf("alerting: pagerduty: url must end in %s", pagerDutyPath)
	}
	return nil
}

// PagerDuty sends one event per alert to the Events API v2.
type Notifier struct {
	name       string
	routingKey string
	endpoint   string // url without /v2/enqueue, as go-pagerduty wants it
	client     *http.Client
	red        *notify.Redaction
}

// Redact removes the routing key and the URL's query from s.
func (p *Notifier) Redact(s string) string { return p.red.Redact(s) }

// NewPagerDuty builds a PagerDuty notifier; a nil client takes a default
// one with a 30 s timeout.
func New(cfg Config, client *http.Client) (*Notifier, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	key, err := notify.SecretValue("pagerduty", "routing_key_env", cfg.RoutingKey, cfg.RoutingKeyEnv)
	if err != nil {
		return nil, err
	}
	p := &Notifier{name: cfg.Name, routingKey: key, endpoint: strings.TrimSuffix(cfg.URL, pagerDutyPath), client: notify.Client(client)}
	if p.name == "" {
		p.name = "pagerduty"
	}
	p.red = notify.NewRedaction([]string{cfg.URL}, key)
	return p, nil
}

// Name is the notifier's configured name ("pagerduty" by default).
func (p *Notifier) Name() string { return p.name }

// Notify sends one event per alert; it tries them all, and a failure is
// retryable if any event failed retryably (PagerDuty deduplicates the
// re-sent ones by dedup_key).
func (p *Notifier) Notify(ctx context.Context, alerts []notify.Alert) (bool, error) {
	var errs []error
	retry := false
	for _, a := range alerts {
		if r, err := p.send(ctx, a); err != nil {
			errs = append(errs, fmt.Errorf("alerting: pagerduty: alert %q: %w", a.Key, err))
			retry = retry || r
		}
	}
	return retry, errors.Join(errs...)
}

func (p *Notifier) send(ctx context.Context, a notify.Alert) (bool, error) {
	// go-pagerduty flattens transport errors into text and reads Events API
	// errors as REST API ones (losing PagerDuty's message); the recorder
	// keeps both for the shared classification. A client per call keeps
	// Notify safe for concurrent use.
	rec := &recordingDoer{c: p.client, red: p.red}
	c := pagerduty.NewClient("", pagerduty.WithV2EventsAPIEndpoint(p.endpoint))
	c.HTTPClient = rec
	_, err := c.ManageEventWithContext(ctx, pagerDutyEvent(a, p.routingKey))
	switch {
	case rec.err != nil:
		return true, notify.TransportError(rec.err, notify.ShowHost(p.endpoint))
	case rec.status != nil:
		return rec.retry, fmt.Errorf("%s: %w", notify.ShowHost(p.endpoint), rec.status)
	case err != nil && !rec.done:
		return false, err // the request was never sent
	}
	return false, nil // accepted, even if go-pagerduty could not decode the answer
}

// recordingDoer is the pagerduty.HTTPClient of one call.
type recordingDoer struct {
	c      *http.Client
	red    *notify.Redaction
	done   bool  // a response arrived
	err    error // from http.Client.Do
	status error // from notify.HTTPError, for a response other than 2xx
	retry  bool
}

func (d *recordingDoer) Do(req *http.Request) (*http.Response, error) {
	resp, err := d.c.Do(req)
	if d.err = err; err != nil {
		return nil, err
	}
	d.done = true
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		// httpError reads the body; go-pagerduty gets an empty one.
		d.retry, d.status = notify.HTTPError(resp, d.red)
		resp.Body.Close()
		resp.Body = http.NoBody
	}
	return resp, nil
}

// maxSummary is the Events API v2 limit on payload.summary, in bytes.
const maxSummary = 1024

// pagerDutyEvent maps an alert to an event. Resolve events carry only the
// routing and dedup keys: PagerDuty ignores the rest.
func pagerDutyEvent(a notify.Alert, routingKey string) *pagerduty.V2Event {
	e := &pagerduty.V2Event{RoutingKey: routingKey, Action: "trigger", DedupKey: dedupKey(a.Key),
		Client: "driftwatch", ClientURL: a.GeneratorURL}
	if a.Status == notify.StatusResolved {
		e.Action = "resolve"
		return e
	}
	if a.GeneratorURL != "" {
		e.Links = append(e.Links, map[string]string{"href": a.GeneratorURL, "text": "Status page"})
	}
	if a.DashboardURL != "" {
		e.Links = append(e.Links, map[string]string{"href": a.DashboardURL, "text": "Dashboard"})
	}
	summary, description := notify.Summarize(a)
	severity := "error"
	switch a.Severity {
	case notify.SeverityCritical:
		severity = "critical"
	case notify.SeverityWarning:
		severity = "warning"
	}
	details := map[string]any{
		"model": a.Model, "version": a.Version, "feature": a.Feature, "statistic": a.Statistic,
		"value": notify.Float(a.Value), "op": a.Op, "threshold": notify.Float(a.Threshold), "samples": notify.Float(a.Samples),
		"window":      notify.WindowOf(a),
		"description": description, "labels": a.Labels,
	}
	e.Payload = &pagerduty.V2Payload{
		Summary: notify.Shorten(summary, maxSummary), Source: "driftwatch", Severity: severity,
		Component: a.Model, Group: a.Model + "/" + a.Version, Class: string(a.Statistic), Details: details,
	}
	if !a.StartsAt.IsZero() {
		e.Payload.Timestamp = a.StartsAt.UTC().Format(time.RFC3339)
	}
	return e
}

// dedupKey is the alert's key, or its hex SHA-256 when longer than the 255
// characters PagerDuty allows: stable either way.
func dedupKey(key string) string {
	if len(key) <= 255 {
		return key
	}
	h := sha256.Sum256([]byte(key))
	return "sha256:" + hex.EncodeToString(h[:])
}
