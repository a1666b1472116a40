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

	"driftwatch/alerting"
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

	mu     sync.Mutex
	alerts []Alert // firing notifications the webhook received
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
	r.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go r.srv.Serve(ln)
	return r, nil
}

func (r *receivers) url(path string) string { return "http://" + r.ln.Addr().String() + path }

func (r *receivers) webhook(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	if err := alerting.Verify(r.secret, req.Header, body, time.Now(), 5*time.Minute); err != nil {
		fmt.Fprintf(r.out, "  retrain webhook: rejected: %v\n", err)
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	var p alerting.WebhookPayload
	if err := json.Unmarshal(body, &p); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	fmt.Fprintf(r.out, "  retrain webhook (signature verified): %s %s %s/%s %s %s=%.3f at +%s\n", strings.ToUpper(string(p.Status)),
		p.Rule, p.Model, p.Version, p.Feature, p.Statistic, float64(p.Value), time.Since(r.start).Round(time.Second))
	if p.Status == alerting.StatusFiring && p.StartsAt != nil {
		r.mu.Lock()
		r.alerts = append(r.alerts, Alert{Name: p.Rule, Model: p.Model, Feature: p.Feature, Severity: p.Severity,
			FiredAt: p.StartsAt.UTC(), PSI: float64(p.Value)})
		r.mu.Unlock()
	}
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

func (r *receivers) fired() []Alert {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Alert{}, r.alerts...)
}

func (r *receivers) close() { r.srv.Close() }
