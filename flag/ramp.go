package flag

import (
	"fmt"
	"time"

	"driftwatch/rollout"
)

// ProviderName is a flag system driftwatch can drive.
type ProviderName string

// Providers.
const (
	ProviderUnleash ProviderName = "unleash"
)

// OnRollback is what a rollback does to the flag.
type OnRollback string

// Rollback actions.
const (
	RollbackZero    OnRollback = "zero"    // rollout 0%, the flag stays on
	RollbackDisable OnRollback = "disable" // rollout 0% and the flag off
)

// Target is the flag a rollout moves, as configured.
type Target struct {
	Provider    ProviderName `yaml:"provider"`
	URL         string       `yaml:"url"`
	TokenEnv    string       `yaml:"token_env"` // environment variable holding the admin token
	Project     string       `yaml:"project"`
	Environment string       `yaml:"environment"`
	Feature     string       `yaml:"feature"`
	Strategy    string       `yaml:"strategy"`
}

// Ramp is how a rollout moves its flag.
type Ramp struct {
	Steps      []int         // percentages, increasing, the last 100
	Observe    time.Duration // each step's observation period
	OnRollback OnRollback
	DryRun     bool
}

// DefaultSteps and DefaultObserve are the staging guidance: 5% → 25% →
// 50% → 100%, two days per step.
var (
	DefaultSteps   = []int{5, 25, 50, 100}
	DefaultObserve = 48 * time.Hour
)

// Validate checks the ramp; errors name the field and quote the value.
func (r *Ramp) Validate() error {
	if len(r.Steps) == 0 {
		return fmt.Errorf("ramp: at least one step is required")
	}
	for i, p := range r.Steps {
		switch {
		case p < 1 || p > 100:
			return fmt.Errorf("ramp[%d]: %d is not a percentage in 1–100", i, p)
		case i > 0 && p <= r.Steps[i-1]:
			return fmt.Errorf("ramp[%d]: %d does not increase on %d", i, p, r.Steps[i-1])
		}
	}
	if last := r.Steps[len(r.Steps)-1]; last != 100 {
		return fmt.Errorf("ramp: the last step is %d, want 100", last)
	}
	if r.Observe < time.Second {
		return fmt.Errorf("observe: %q is shorter than 1s", r.Observe)
	}
	if r.OnRollback != RollbackZero && r.OnRollback != RollbackDisable {
		return fmt.Errorf("on_rollback: %q is neither %q nor %q", r.OnRollback, RollbackZero, RollbackDisable)
	}
	return nil
}

// Validate checks the target; errors name the field and quote the value.
func (t *Target) Validate() error {
	if t.Provider != ProviderUnleash {
		return fmt.Errorf("flag.provider: %q is not %q", t.Provider, ProviderUnleash)
	}
	for _, f := range []struct{ name, v string }{{"url", t.URL}, {"token_env", t.TokenEnv}, {"project", t.Project},
		{"environment", t.Environment}, {"feature", t.Feature}} {
		if f.v == "" {
			return fmt.Errorf("flag.%s: required", f.name)
		}
	}
	if t.Strategy != FlexibleRollout {
		return fmt.Errorf("flag.strategy: %q is not %q", t.Strategy, FlexibleRollout)
	}
	return nil
}

// Input is what the service knows of a rollout at one evaluation.
type Input struct {
	At time.Time // evaluation time
	// Latched is the rollout's first final decision ("" or continue
	// before it); LatchedAt when it was latched.
	Latched   rollout.Decision
	LatchedAt time.Time
	// Current is this evaluation's own decision: after a latched promote
	// a rollback here is a rollback crossing (see the package doc).
	Current rollout.Decision
	// Reason is the verdict's reason with its numbers, for the history.
	Reason string
}

// Action is what Decide asks of the flag.
type Action struct {
	Kind    Kind
	Step    int // the step to apply (KindStep)
	Percent int // the percentage to set (KindStep, KindRollback)
	// Why says why, or why nothing changes (KindHold).
	Why string
	// Next is when a held step can move on (zero when it waits for a
	// verdict or never moves again).
	Next time.Time
}

// Position is where the ramp is on the flag st: the step driftwatch's
// note names (noted), else the highest step at or below the flag's
// percentage; -1 below the first step, off, rolled back, or last moved by
// another rollout (a new candidate on the same flag starts the ramp over:
// the previous candidate's percentage says nothing about this one).
func Position(r *Ramp, id string, st State) (pos int, noted bool) {
	ours := st.NoteOK && st.Note.Rollout == id
	switch {
	case ours && st.Note.Kind == KindRollback, st.NoteOK && !ours:
		return -1, false
	case ours && st.Note.Kind == KindStep && st.Note.Step < len(r.Steps) && st.HasRollout && st.Percent == r.Steps[st.Note.Step]:
		return st.Note.Step, true
	case st.Enabled && st.HasRollout:
		pos = -1
		for i, p := range r.Steps {
			if p <= st.Percent {
				pos = i
			}
		}
		return pos, false
	}
	return -1, false
}

// Decide is the ramp: given the flag's actual state, the rollout's
// identity and decisions, when the flag's current percentage was first
// seen (adoptedAt: for a percentage driftwatch did not write), whether a
// rollback crossing was ever seen (rolledBack), and the time, the next
// action. It is pure: the same arguments give the same action, and an
// action already applied reads back as done, so calling it again after a
// crash never repeats or skips a step.
func Decide(r *Ramp, id string, st State, in Input, rolledBack bool, adoptedAt, now time.Time) Action {
	ours := st.NoteOK && st.Note.Rollout == id
	last := len(r.Steps) - 1
	if ours && st.Note.Kind == KindRollback {
		if r.OnRollback == RollbackDisable && st.Enabled {
			return Action{Kind: KindDisable, Why: "rolled back: the flag is still on"}
		}
		return Action{Kind: KindHold, Why: fmt.Sprintf("rolled back at %s", st.Note.At.UTC().Format(time.RFC3339))}
	}
	if rolledBack || in.Latched == rollout.Rollback || in.Current == rollout.Rollback {
		return Action{Kind: KindRollback, Percent: 0, Why: "rollback: " + in.Reason}
	}
	pos, noted := Position(r, id, st)
	since := adoptedAt
	if noted {
		since = st.Note.At
		if !st.Enabled { // the percentage was written, turning the flag on was not
			return Action{Kind: KindStep, Step: pos, Percent: r.Steps[pos], Why: "the flag is off at its step"}
		}
	}
	if in.Latched == rollout.Inconclusive {
		return Action{Kind: KindHold, Why: fmt.Sprintf("inconclusive: held at %d%%", st.Percent)}
	}
	if pos < 0 {
		return Action{Kind: KindStep, Step: 0, Percent: r.Steps[0], Why: "ramp starts"}
	}
	if pos == last {
		return Action{Kind: KindHold, Why: "ramp complete"}
	}
	if in.Latched != rollout.Promote {
		return Action{Kind: KindHold, Why: fmt.Sprintf("step %d/%d at %d%%: waiting for the promote", pos+1, last+1, r.Steps[pos])}
	}
	next := since.Add(r.Observe)
	if now.Before(next) {
		return Action{Kind: KindHold, Next: next, Why: fmt.Sprintf("step %d/%d at %d%%: observing until %s", pos+1, last+1, r.Steps[pos], next.UTC().Format(time.RFC3339))}
	}
	return Action{Kind: KindStep, Step: pos + 1, Percent: r.Steps[pos+1],
		Why: fmt.Sprintf("promote held for %s at %d%%: %s", r.Observe, r.Steps[pos], in.Reason)}
}
