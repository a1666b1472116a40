package flag

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Provider is a flag system holding one feature flag in one environment.
// Implementations are safe for use by one goroutine at a time (the
// Controller's).
type Provider interface {
	// Read returns the flag's current state.
	Read(ctx context.Context) (State, error)
	// SetRollout sets the flag's rollout percentage with note written in
	// the same change (creating the rollout strategy if missing) and
	// enables the flag in its environment. Parts already as asked are not
	// written again.
	SetRollout(ctx context.Context, percent int, note Note) error
	// Disable turns the flag off in its environment.
	Disable(ctx context.Context) error
	// String names the provider and flag for logs and history.
	String() string
}

// State is a flag as its provider has it.
type State struct {
	// Enabled: the flag is on in the environment.
	Enabled bool
	// HasRollout: a percentage rollout strategy exists; Percent is its
	// percentage (0–100).
	HasRollout bool
	Percent    int
	// Note is what driftwatch wrote with the percentage (ok false when
	// another hand wrote it).
	Note   Note
	NoteOK bool
	// Revision identifies what was read, for the history (Unleash: the
	// strategy's id and title).
	Revision string
}

// Kind is what a change does.
type Kind string

// Kinds of change.
const (
	KindStep     Kind = "step"     // the ramp's next percentage
	KindRollback Kind = "rollback" // 0% at once
	KindDisable  Kind = "disable"  // the flag off (on_rollback: disable)
	KindHold     Kind = "hold"     // nothing to change
)

// Note is written into the flag with each percentage driftwatch sets, so
// that the flag itself records where the ramp is.
type Note struct {
	Rollout string    // the rollout's identity (model and versions)
	Kind    Kind      // KindStep or KindRollback
	Step    int       // 0-based step of the ramp (KindStep)
	Steps   int       // the ramp's length
	Percent int       // the percentage set
	At      time.Time // when it was set
}

const notePrefix = "driftwatch "

// String is the note as written: "driftwatch step 2/4 50% at
// 2026-12-08T10:00:00Z for ROLLOUT" or "driftwatch rollback 0% at … for …".
func (n Note) String() string {
	what := string(n.Kind)
	if n.Kind == KindStep {
		what = fmt.Sprintf("step %d/%d", n.Step+1, n.Steps)
	}
	return fmt.Sprintf("%s%s %d%% at %s for %s", notePrefix, what, n.Percent, n.At.UTC().Format(time.RFC3339Nano), n.Rollout)
}

// ParseNote reads what Note.String wrote; ok is false for any other text.
func ParseNote(s string) (n Note, ok bool) {
	rest, ok := strings.CutPrefix(s, notePrefix)
	if !ok {
		return Note{}, false
	}
	f := strings.SplitN(rest, " ", 6)
	if len(f) < 5 {
		return Note{}, false
	}
	i := 0
	switch Kind(f[0]) {
	case KindStep:
		a, b, ok := strings.Cut(f[1], "/")
		step, err1 := strconv.Atoi(a)
		steps, err2 := strconv.Atoi(b)
		if !ok || err1 != nil || err2 != nil || step < 1 || step > steps {
			return Note{}, false
		}
		n.Kind, n.Step, n.Steps = KindStep, step-1, steps
		i = 2
	case KindRollback:
		n.Kind = KindRollback
		i = 1
		f = strings.SplitN(rest, " ", 5)
	default:
		return Note{}, false
	}
	if len(f) != i+4 || f[i+1] != "at" || !strings.HasSuffix(f[i], "%") {
		return Note{}, false
	}
	p, err := strconv.Atoi(strings.TrimSuffix(f[i], "%"))
	if err != nil || p < 0 || p > 100 {
		return Note{}, false
	}
	at, err := time.Parse(time.RFC3339Nano, f[i+2])
	if err != nil {
		return Note{}, false
	}
	rollout, ok := strings.CutPrefix(f[i+3], "for ")
	if !ok || rollout == "" {
		return Note{}, false
	}
	n.Percent, n.At, n.Rollout = p, at.UTC(), rollout
	return n, true
}
