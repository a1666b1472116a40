package demo

import (
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"driftwatch/alerting/notify"
	"driftwatch/alerting/notify/webhook"
)

// receivers stand in for a retraining service and Slack: local HTTP
// endpoints that the service's real notifiers deliver to, printing what
// arrives. The webhook receiver verifies each signature as a real one must.
type receivers struct {
	srv    *http.Server
	ln     net.Listener
	secret []byte
	out    io.Writer
	start  time.Time

	mu       sync.Mutex
	alerts   []Alert           // firing notifications the webhook received
	rollouts []RolloutDecision // rollback and promote calls the deploy webhooks received
}

func startReceivers(out io.Writer, secret []byte, start time.Time) (*receivers, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("demo: receivers: %w", err)
	}
	r := &receivers{ln: ln, secret: secret, out: out, start: start}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /retrain", r.webhook)
	mux.HandleFunc("POST /slack", r.slack)
	mux.HandleFunc("POST /deploy/{action}", r.deploy)
	r.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go r.srv.Serve(ln)
	return r, nil
}

func (r *receivers) url(path string) string { return "http://" + r.ln.Addr().String() + path }

func (r *receivers) webhook(w http.ResponseWriter, req *http.Request) {
	p, ok := r.verified(w, req, "retrain")
	if !ok {
		return
	}
	fmt.Fprintf(r.out, "  retrain webhook (signature verified): %s %s %s/%s %s %s=%.3f at +%s\n", strings.ToUpper(string(p.Status)),
		p.Rule, p.Model, p.Version, p.Feature, p.Statistic, float64(p.Value), time.Since(r.start).Round(time.Second))
	if p.Status == notify.StatusFiring && p.StartsAt != nil {
		r.mu.Lock()
		r.alerts = append(r.alerts, Alert{Name: p.Rule, Model: p.Model, Feature: p.Feature, Severity: p.Severity,
			FiredAt: p.StartsAt.UTC(), PSI: float64(p.Value)})
		r.mu.Unlock()
	}
}

// verified reads a signed webhook's payload, rejecting a bad signature as
// a real receiver must.
func (r *receivers) verified(w http.ResponseWriter, req *http.Request, name string) (webhook.Payload, bool) {
	var p webhook.Payload
	body, _ := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	if err := webhook.Verify(r.secret, req.Header, body, time.Now(), 5*time.Minute); err != nil {
		fmt.Fprintf(r.out, "  %s webhook: rejected: %v\n", name, err)
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return p, false
	}
	if err := json.Unmarshal(body, &p); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return p, false
	}
	return p, true
}

// deploy stands in for a deployment system: /deploy/rollback turns the
// canary's traffic off, /deploy/promote makes it stable.
func (r *receivers) deploy(w http.ResponseWriter, req *http.Request) {
	action := req.PathValue("action")
	p, ok := r.verified(w, req, action)
	if !ok || p.Status != notify.StatusFiring {
		return
	}
	fmt.Fprintf(r.out, "  %s webhook (signature verified): %s %s (stable %s) at +%s: %s\n", action, p.Model, p.Version,
		p.Labels["stable"], time.Since(r.start).Round(time.Second), p.Annotations["reason"])
	r.mu.Lock()
	r.rollouts = append(r.rollouts, RolloutDecision{Action: action, Model: p.Model, Candidate: p.Version, Stable: p.Labels["stable"],
		At: time.Now().UTC(), Reason: p.Annotations["reason"]})
	r.mu.Unlock()
}

// slack takes Slack's incoming-webhook payload and prints its text.
func (r *receivers) slack(w http.ResponseWriter, req *http.Request) {
	var msg struct {
		Text string `json:"text"`
	}
	json.NewDecoder(io.LimitReader(req.Body, 1<<20)).Decode(&msg)
	fmt.Fprintf(r.out, "  slack: %s\n", html.UnescapeString(msg.Text)) // Slack's escaping of <, > and &
	io.WriteString(w, "ok")
}

func (r *receivers) fired() ([]Alert, []RolloutDecision) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Alert{}, r.alerts...), append([]RolloutDecision{}, r.rollouts...)
}

func (r *receivers) close() { r.srv.Close() }
