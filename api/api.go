// Package api serves `driftwatch serve`'s HTTP surface: /metrics, /healthz,
// /readyz, the JSON API under /api/v1 (models and rollouts, as the typed
// responses of types.go), the alert API and the status page. It reads what
// it serves from a Backend and decides nothing: the service owns the state,
// the evaluation and the verdicts; alerting owns the alert API's routes and
// statuspage draws the pages.
package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"driftwatch/alerting"
	"driftwatch/statuspage"
)

// Backend is what the routes read.
type Backend interface {
	// WriteMetrics writes the Prometheus text exposition.
	WriteMetrics(w io.Writer)
	// NotReady says why the service is not ready, a line each; none when
	// it is.
	NotReady() []string
	// ModelNames lists the configured models, sorted.
	ModelNames() []string
	// Model is the latest evaluation of a model's versions.
	Model(name string) (Model, error)
	// Rollout is a model's rollout.
	Rollout(model string) (Rollout, error)
	// Status is what the status page shows.
	Status() []statuspage.Version
}

// ErrNotFound marks a Backend error that is the client's: an unknown
// model, or a model without a rollout (404).
var ErrNotFound = errors.New("not found")

// Options are the routes' settings.
type Options struct {
	// Alerts is the alert API, mounted when not nil.
	Alerts *alerting.API
	// Now is the status page's clock.
	Now func() time.Time
	// GrafanaURL, when set, is linked from the status page.
	GrafanaURL string
	Logger     *slog.Logger
}

// Handler returns the routes over b.
func Handler(b Backend, opt Options) http.Handler {
	log := opt.Logger
	if log == nil {
		log = slog.Default()
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		b.WriteMetrics(w)
	})
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		reasons := b.NotReady()
		if len(reasons) == 0 {
			fmt.Fprintln(w, "ready")
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(http.StatusServiceUnavailable)
		for _, r := range reasons {
			fmt.Fprintln(w, r)
		}
	})
	if opt.Alerts != nil {
		opt.Alerts.Register(mux)
	}
	mux.HandleFunc("GET /api/v1/models", func(w http.ResponseWriter, _ *http.Request) {
		var out []Model
		for _, name := range b.ModelNames() {
			m, err := b.Model(name)
			if err != nil {
				writeError(w, err)
				return
			}
			out = append(out, m)
		}
		WriteJSON(w, log, out)
	})
	mux.HandleFunc("GET /api/v1/models/{model}/rollout", func(w http.ResponseWriter, r *http.Request) {
		ro, err := b.Rollout(r.PathValue("model"))
		if err != nil {
			writeError(w, err)
			return
		}
		WriteJSON(w, log, ro)
	})
	mux.HandleFunc("GET /api/v1/models/{model}", func(w http.ResponseWriter, r *http.Request) {
		m, err := b.Model(r.PathValue("model"))
		if err != nil {
			writeError(w, err)
			return
		}
		WriteJSON(w, log, m)
	})
	// The status page at / and /models/{model}.
	statuspage.New(b.Status, statuspage.Options{Now: opt.Now, GrafanaURL: opt.GrafanaURL}).Register(mux)
	return mux
}

// writeError answers 404 for ErrNotFound, 500 otherwise; the text is the
// error's without the sentinel.
func writeError(w http.ResponseWriter, err error) {
	code := http.StatusInternalServerError
	if errors.Is(err, ErrNotFound) {
		code = http.StatusNotFound
	}
	msg := err.Error()
	var nf *notFound
	if errors.As(err, &nf) {
		msg = nf.msg
	}
	http.Error(w, msg, code)
}

// notFound is an ErrNotFound with the message the client sees.
type notFound struct{ msg string }

func (e *notFound) Error() string { return "api: " + e.msg }
func (e *notFound) Is(target error) bool {
	return target == ErrNotFound
}

// NotFound returns an ErrNotFound whose text the client sees.
func NotFound(format string, args ...any) error {
	return &notFound{msg: fmt.Sprintf(format, args...)}
}

// WriteJSON writes v as indented JSON. The status and headers are sent
// before the body, so an error that comes after can only be logged: the
// client sees a cut-off body.
func WriteJSON(w http.ResponseWriter, log *slog.Logger, v any) {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		log.Error("api: response not encoded", "err", err)
		http.Error(w, "api: response not encoded: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if _, err := w.Write(append(data, '\n')); err != nil {
		log.Debug("api: response not written", "err", err)
	}
}
