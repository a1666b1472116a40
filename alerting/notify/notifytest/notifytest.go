// Package notifytest holds the fixtures the notifier tests share: a firing
// per-feature drift alert as the rule engine hands it to notifiers, its
// resolved notification, and a bounded context. Only tests import it.
package notifytest

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"driftwatch/alerting/notify"
	"driftwatch/vocab"
)

// Alert is a firing per-feature drift alert as the rule engine would hand
// it to notifiers (without rendered annotations, so notifiers render the
// defaults).
func Alert(feature string) notify.Alert {
	start := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	return notify.Alert{
		Key: "psi_drift/credit/v3/" + feature, Rule: "psi_drift", Status: notify.StatusFiring, Severity: notify.SeverityCritical,
		Labels: map[string]string{"alertname": "psi_drift", "model": "credit", "version": "v3", "feature": feature,
			"statistic": string(vocab.PSI), "severity": string(notify.SeverityCritical), "team": "risk"},
		Annotations: map[string]string{"runbook_url": "http://127.0.0.1/runbook"},
		Model:       "credit", Version: "v3", Feature: feature, Statistic: vocab.PSI,
		Value: 0.3127, Threshold: 0.25, Op: notify.OpAtLeast, Samples: 12000,
		WindowStart: start.Add(-time.Hour), WindowEnd: start,
		StartsAt:     start,
		GeneratorURL: "http://127.0.0.1:8080/models/credit/v3",
		DashboardURL: "http://127.0.0.1:3000/d/driftwatch?var-model=credit",
	}
}

// Resolved returns a's resolved notification as the engine makes it: the
// value at resolution, back below the warning threshold 0.1.
func Resolved(a notify.Alert, at time.Time) notify.Alert {
	a.Status, a.EndsAt, a.ChangedAt = notify.StatusResolved, at, at
	a.Value, a.Threshold = 0.04, 0.1
	return a
}

// Context is a context for one Notify call, cancelled when the test ends.
func Context(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// HookServer is a test receiver: it answers with the queued statuses (200
// when none is left) and keeps every request.
type HookServer struct {
	mu       sync.Mutex
	statuses []int
	reqs     []Request
}

// Request is one request a HookServer received.
type Request struct {
	Method, Path string
	Header       http.Header
	Body         []byte
}

// ServeHTTP keeps the request and answers with the next queued status.
func (rc *HookServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	rc.reqs = append(rc.reqs, Request{r.Method, r.URL.Path, r.Header.Clone(), body})
	code := http.StatusOK
	if len(rc.statuses) > 0 {
		code, rc.statuses = rc.statuses[0], rc.statuses[1:]
	}
	rc.mu.Unlock()
	w.WriteHeader(code)
}

// Requests returns the requests received so far.
func (rc *HookServer) Requests() []Request {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]Request(nil), rc.reqs...)
}

// NewHookServer starts a HookServer on 127.0.0.1, closed when the test ends.
func NewHookServer(t *testing.T, statuses ...int) (*HookServer, *httptest.Server) {
	rc := &HookServer{statuses: statuses}
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	return rc, srv
}
