package alerting

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"
)

// maxSilenceBody bounds the body of a silence request: a silence is a few
// matchers and a comment.
const maxSilenceBody = 1 << 20

// API serves the alert and silence endpoints; the service mounts them.
// Mutating endpoints need `Authorization: Bearer <token>`; with no token
// configured they are refused, so an unconfigured service cannot be
// silenced by anyone who reaches its port.
type API struct {
	Engine *Engine
	Token  string
	Now    func() time.Time
}

// Register mounts GET /api/v1/alerts, GET and POST /api/v1/silences and
// DELETE /api/v1/silences/{id}.
func (a *API) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/v1/alerts", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, a.Engine.Alerts(a.Now()))
	})
	mux.HandleFunc("GET /api/v1/silences", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, a.Engine.Silences(a.Now()))
	})
	mux.HandleFunc("POST /api/v1/silences", a.authorized(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Matchers  []Matcher `json:"matchers"`
			Duration  string    `json:"duration"` // e.g. "2h"; or ends_at
			EndsAt    time.Time `json:"ends_at"`
			CreatedBy string    `json:"created_by"`
			Comment   string    `json:"comment"`
		}
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxSilenceBody))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			writeError(w, http.StatusBadRequest, fmt.Errorf("alerting: bad silence: %w", err))
			return
		}
		now := a.Now()
		s := &Silence{Matchers: req.Matchers, StartsAt: now, EndsAt: req.EndsAt, CreatedBy: req.CreatedBy, Comment: req.Comment}
		if req.Duration != "" {
			d, err := time.ParseDuration(req.Duration)
			if err != nil {
				writeError(w, http.StatusBadRequest, fmt.Errorf("alerting: bad duration %q: %w", req.Duration, err))
				return
			}
			s.EndsAt = now.Add(d)
		}
		id, err := a.Engine.AddSilence(s)
		if err != nil {
			writeError(w, http.StatusBadRequest, err)
			return
		}
		writeJSON(w, http.StatusCreated, map[string]string{"id": id})
	}))
	mux.HandleFunc("DELETE /api/v1/silences/{id}", a.authorized(func(w http.ResponseWriter, r *http.Request) {
		if !a.Engine.ExpireSilence(r.PathValue("id"), a.Now()) {
			writeError(w, http.StatusNotFound, fmt.Errorf("alerting: no silence %q", r.PathValue("id")))
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
}

func (a *API) authorized(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if a.Token == "" {
			writeError(w, http.StatusForbidden, fmt.Errorf("alerting: the API token is not configured (alerting.api_token_env)"))
			return
		}
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(a.Token)) != 1 {
			w.Header().Set("WWW-Authenticate", "Bearer")
			writeError(w, http.StatusUnauthorized, fmt.Errorf("alerting: missing or wrong bearer token"))
			return
		}
		h(w, r)
	}
}

// AddSilence validates and adds a silence, returning its id.
func (e *Engine) AddSilence(s *Silence) (string, error) {
	if err := s.compile(); err != nil {
		return "", err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	s.ID = newID()
	e.silences[s.ID] = s
	return s.ID, nil
}

// ExpireSilence ends a silence now; false if there is none with that id.
func (e *Engine) ExpireSilence(id string, now time.Time) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.silences[id]
	if s == nil {
		return false
	}
	if s.EndsAt.After(now) {
		s.EndsAt = now
	}
	if !s.StartsAt.Before(s.EndsAt) {
		delete(e.silences, id)
	}
	return true
}

// Silences lists the silences that have not ended, and drops ended ones.
func (e *Engine) Silences(now time.Time) []Silence {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := []Silence{}
	for _, id := range slices.Sorted(maps.Keys(e.silences)) {
		s := e.silences[id]
		if !now.Before(s.EndsAt) {
			delete(e.silences, id)
			continue
		}
		out = append(out, *s)
	}
	return out
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

func writeError(w http.ResponseWriter, code int, err error) {
	writeJSON(w, code, map[string]string{"error": err.Error()})
}
