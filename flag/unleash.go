package flag

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// FlexibleRollout is Unleash's percentage strategy: its `rollout`
// parameter is the percentage of users (by stickiness) that get the flag.
const FlexibleRollout = "flexibleRollout"

// Unleash is a Provider for one feature in one environment of an Unleash
// server, through its Admin API. The feature must exist; the
// flexibleRollout strategy is created when missing.
type Unleash struct {
	URL         string // base URL, e.g. http://127.0.0.1:4242
	Token       string // admin API token, sent raw in Authorization
	Project     string
	Environment string
	Feature     string
	Strategy    string // strategy name; FlexibleRollout
	Client      *http.Client
}

// Unleash Admin API bodies, as far as driftwatch reads or writes them.
type (
	unleashFeature struct {
		Name         string               `json:"name"`
		Environments []unleashEnvironment `json:"environments"`
	}
	unleashEnvironment struct {
		Name       string            `json:"name"`
		Enabled    bool              `json:"enabled"`
		Strategies []unleashStrategy `json:"strategies"`
	}
	unleashStrategy struct {
		ID          string            `json:"id,omitempty"`
		Name        string            `json:"name"`
		Title       *string           `json:"title,omitempty"`
		Disabled    bool              `json:"disabled"`
		SortOrder   *float64          `json:"sortOrder,omitempty"`
		Constraints []json.RawMessage `json:"constraints"`
		Variants    []json.RawMessage `json:"variants"`
		Segments    []int             `json:"segments"`
		Parameters  map[string]string `json:"parameters"`
	}
	unleashError struct {
		Name    string `json:"name"`
		Message string `json:"message"`
		Details []struct {
			Message string `json:"message"`
		} `json:"details"`
	}
)

// String names the flag.
func (u *Unleash) String() string {
	return fmt.Sprintf("unleash %s project %q feature %q environment %q", u.URL, u.Project, u.Feature, u.Environment)
}

// Read returns the flag's state in the environment: enabled, and the
// rollout of its percentage strategy (the one driftwatch's note marks,
// else the first enabled one of u.Strategy).
func (u *Unleash) Read(ctx context.Context) (State, error) {
	env, err := u.environment(ctx)
	if err != nil {
		return State{}, err
	}
	st := State{Enabled: env.Enabled}
	s := pickStrategy(env.Strategies, u.strategy())
	if err := u.othersActive(env, s); err != nil {
		return State{}, err
	}
	if s == nil {
		st.Revision = "no " + u.strategy() + " strategy"
		return st, nil
	}
	p, err := strconv.Atoi(s.Parameters["rollout"])
	if err != nil || p < 0 || p > 100 {
		return State{}, fmt.Errorf("flag: %s: strategy %s has rollout %q, not a percentage", u, s.ID, s.Parameters["rollout"])
	}
	st.HasRollout, st.Percent = true, p
	title := ""
	if s.Title != nil {
		title = *s.Title
	}
	st.Note, st.NoteOK = ParseNote(title)
	st.Revision = fmt.Sprintf("strategy %s rollout %d title %q", s.ID, p, title)
	return st, nil
}

// SetRollout writes percent and the note in one PUT of the whole strategy
// (a POST when there is none), then turns the environment on.
func (u *Unleash) SetRollout(ctx context.Context, percent int, note Note) error {
	if percent < 0 || percent > 100 {
		return fmt.Errorf("flag: rollout %d is not a percentage", percent)
	}
	env, err := u.environment(ctx)
	if err != nil {
		return err
	}
	title := note.String()
	base := u.featurePath() + "/environments/" + url.PathEscape(u.Environment) + "/strategies"
	switch s := pickStrategy(env.Strategies, u.strategy()); {
	case s == nil:
		body := unleashStrategy{Name: u.strategy(), Title: &title, Constraints: []json.RawMessage{}, Variants: []json.RawMessage{}, Segments: []int{},
			Parameters: map[string]string{"rollout": strconv.Itoa(percent), "stickiness": "default", "groupId": u.Feature}}
		if err := u.do(ctx, http.MethodPost, base, body, nil); err != nil {
			return err
		}
	case s.Parameters["rollout"] != strconv.Itoa(percent) || s.Title == nil || *s.Title != title:
		body := *s
		body.ID = ""
		body.Title = &title
		body.Parameters = make(map[string]string, len(s.Parameters)+1)
		for k, v := range s.Parameters {
			body.Parameters[k] = v
		}
		body.Parameters["rollout"] = strconv.Itoa(percent)
		if body.Constraints == nil {
			body.Constraints = []json.RawMessage{}
		}
		if body.Variants == nil {
			body.Variants = []json.RawMessage{}
		}
		if body.Segments == nil {
			body.Segments = []int{}
		}
		if err := u.do(ctx, http.MethodPut, base+"/"+url.PathEscape(s.ID), body, nil); err != nil {
			return err
		}
	}
	if !env.Enabled {
		return u.do(ctx, http.MethodPost, u.featurePath()+"/environments/"+url.PathEscape(u.Environment)+"/on", nil, nil)
	}
	return nil
}

// Disable turns the flag off in the environment.
func (u *Unleash) Disable(ctx context.Context) error {
	return u.do(ctx, http.MethodPost, u.featurePath()+"/environments/"+url.PathEscape(u.Environment)+"/off", nil, nil)
}

func (u *Unleash) strategy() string {
	if u.Strategy == "" {
		return FlexibleRollout
	}
	return u.Strategy
}

func (u *Unleash) featurePath() string {
	return "/api/admin/projects/" + url.PathEscape(u.Project) + "/features/" + url.PathEscape(u.Feature)
}

// environment reads the feature and returns its environment.
func (u *Unleash) environment(ctx context.Context) (*unleashEnvironment, error) {
	var f unleashFeature
	if err := u.do(ctx, http.MethodGet, u.featurePath(), nil, &f); err != nil {
		return nil, err
	}
	for i := range f.Environments {
		if f.Environments[i].Name == u.Environment {
			return &f.Environments[i], nil
		}
	}
	return nil, fmt.Errorf("flag: %s: the feature has no environment %q", u, u.Environment)
}

// othersActive refuses a flag with enabled strategies beside the one
// driftwatch moves: Unleash exposes a feature when any strategy matches,
// so another one would expose it beyond the rollout percentage.
func (u *Unleash) othersActive(env *unleashEnvironment, own *unleashStrategy) error {
	var names []string
	for i := range env.Strategies {
		if s := &env.Strategies[i]; s != own && !s.Disabled {
			names = append(names, fmt.Sprintf("%s %s", s.Name, s.ID))
		}
	}
	if len(names) > 0 {
		return fmt.Errorf("flag: %s: %d other enabled strategies (%s) would expose the feature beyond the rollout percentage; remove or disable them",
			u, len(names), strings.Join(names, ", "))
	}
	return nil
}

// pickStrategy is the strategy driftwatch owns: the one its note marks,
// else the first enabled one named name.
func pickStrategy(ss []unleashStrategy, name string) *unleashStrategy {
	var first *unleashStrategy
	for i := range ss {
		s := &ss[i]
		if s.Name != name || s.Disabled {
			continue
		}
		if s.Title != nil {
			if _, ok := ParseNote(*s.Title); ok {
				return s
			}
		}
		if first == nil {
			first = s
		}
	}
	return first
}

// StatusError is an Admin API answer other than 2xx.
type StatusError struct {
	Method, Path string
	Status       int
	Message      string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("flag: unleash %s %s: %d %s: %s", e.Method, e.Path, e.Status, http.StatusText(e.Status), e.Message)
}

// maxBody bounds what is read of an answer.
const maxBody = 4 << 20

// do sends one Admin API request with the token raw in Authorization and
// decodes a 2xx answer into out (when not nil).
func (u *Unleash) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("flag: unleash %s %s: %w", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.URL+path, body)
	if err != nil {
		return fmt.Errorf("flag: unleash %s %q: %w", method, u.URL+path, err)
	}
	req.Header.Set("Authorization", u.Token)
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	c := u.Client
	if c == nil {
		c = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("flag: unleash %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return fmt.Errorf("flag: unleash %s %s: reading the answer: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		msg := string(b)
		var ue unleashError
		if json.Unmarshal(b, &ue) == nil && ue.Message != "" {
			msg = ue.Message
			if len(ue.Details) > 0 {
				msg += ": " + ue.Details[0].Message
			}
		}
		if len(msg) > 300 {
			msg = msg[:300] + "…"
		}
		return &StatusError{Method: method, Path: path, Status: resp.StatusCode, Message: msg}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("flag: unleash %s %s: decoding the answer: %w", method, path, err)
	}
	return nil
}

// IsNotFound tells a 404 from the Admin API (no such project or feature).
func IsNotFound(err error) bool {
	var se *StatusError
	return errors.As(err, &se) && se.Status == http.StatusNotFound
}
