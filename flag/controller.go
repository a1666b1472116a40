package flag

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"driftwatch/rollout"
)

// Metrics are a controller's series, created by the caller with their names
// and help (the service's metrics package); a nil handle is not updated.
type Metrics struct {
	Changes, Errors *metrics.Counter // changes made (or, dry, that would have been); failed calls
	Up, Percent     *metrics.Gauge   // 1 when the last call succeeded; the percentage as last read
}

// Options are a Controller's collaborators; zero values have defaults.
type Options struct {
	// Rollout identifies the rollout in the notes written into the flag
	// (a new candidate is a new rollout and starts its own ramp).
	Rollout string
	// Model labels metrics and logs.
	Model   string
	Now     func() time.Time // time.Now
	Logger  *slog.Logger     // slog.Default
	Metrics *Metrics         // nil: no metrics
	// Backoff after a failed call: MinBackoff doubling up to MaxBackoff
	// (1 s and 1 min).
	MinBackoff, MaxBackoff time.Duration
	// Timeout bounds one pass (read, decide, apply): 30 s.
	Timeout time.Duration
	// OnChange, when set, is called (on the controller's goroutine) after
	// each change is applied or, in a dry run, would be.
	OnChange func(Record)
}

// Record is one change of the flag, applied or (DryRun) not: who, what,
// why, and the flag's state before and after.
type Record struct {
	At       time.Time `json:"at"`
	Provider string    `json:"provider"`
	Kind     Kind      `json:"kind"`
	Step     int       `json:"step"` // 1-based (KindStep)
	Steps    int       `json:"steps"`
	From     int       `json:"from_percent"`
	To       int       `json:"to_percent"`
	Enabled  bool      `json:"enabled"` // after the change
	Why      string    `json:"why"`     // the verdict with its numbers
	Before   string    `json:"before_revision"`
	After    string    `json:"after_revision"`
	DryRun   bool      `json:"dry_run"`
}

// Status is the controller's view for the API and pages.
type Status struct {
	Provider string    `json:"provider"`
	Percent  int       `json:"percent"`
	Enabled  bool      `json:"enabled"`
	Known    bool      `json:"known"`    // the flag has been read
	Plan     string    `json:"plan"`     // the last decision's why
	Next     time.Time `json:"next"`     // when the held step may move on
	Error    string    `json:"error"`    // the last failure, "" after a success
	Failures int       `json:"failures"` // consecutive failed passes
	DryRun   bool      `json:"dry_run"`
	// Step is the ramp's step the flag is at, 1-based (0: none), of
	// Steps; RolledBack: driftwatch rolled it back.
	Step       int  `json:"step"`
	Steps      int  `json:"steps"`
	RolledBack bool `json:"rolled_back"`
}

// Controller moves one rollout's flag by Decide on its own goroutine:
// Observe hands it each evaluation without blocking; a failed pass is
// retried with backoff (monitoring goes on meanwhile). Close stops it.
type Controller struct {
	ramp Ramp
	p    Provider
	opt  Options
	log  *slog.Logger

	wake    chan struct{}
	stop    chan struct{}
	done    chan struct{}
	once    sync.Once
	started atomic.Bool

	mu         sync.Mutex
	pending    Input
	hasInput   bool
	rolledBack bool // a rollback crossing was observed
	history    []Record
	status     Status

	// The worker's own state.
	adoptedAt  time.Time // when the flag's percentage was first seen
	adoptedPct int
	adopted    bool
	dry        *State // the simulated flag of a dry run

	changes, failures *metrics.Counter
	up, percent       *metrics.Gauge
}

// maxHistory bounds the kept records.
const maxHistory = 256

// NewController returns a controller of ramp r over p, not yet started.
func NewController(r Ramp, p Provider, opt Options) *Controller {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.MinBackoff <= 0 {
		opt.MinBackoff = time.Second
	}
	if opt.MaxBackoff < opt.MinBackoff {
		opt.MaxBackoff = max(time.Minute, opt.MinBackoff)
	}
	if opt.Timeout <= 0 {
		opt.Timeout = 30 * time.Second
	}
	c := &Controller{ramp: r, p: p, opt: opt, log: opt.Logger.With("model", opt.Model, "flag", p.String()),
		wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	c.status = Status{Provider: p.String(), DryRun: r.DryRun}
	if ms := opt.Metrics; ms != nil {
		c.changes, c.failures, c.up, c.percent = ms.Changes, ms.Errors, ms.Up, ms.Percent
	}
	return c
}

// Start starts the controller's goroutine (once).
func (c *Controller) Start() {
	if c.started.CompareAndSwap(false, true) {
		go c.run()
	}
}

// Observe hands the controller an evaluation; it never blocks. Only the
// latest waits, except that a rollback crossing is kept once seen.
func (c *Controller) Observe(in Input) {
	c.mu.Lock()
	if in.Latched == rollout.Rollback || in.Current == rollout.Rollback {
		c.rolledBack = true
	}
	c.pending, c.hasInput = in, true
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// History returns the changes so far, oldest first.
func (c *Controller) History() []Record {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Record(nil), c.history...)
}

// Status returns the controller's current view.
func (c *Controller) Status() Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.status
}

// Close stops the goroutine, waiting for a pass in flight (bounded by
// Options.Timeout) or until ctx ends. Safe to call twice.
func (c *Controller) Close(ctx context.Context) error {
	c.once.Do(func() { close(c.stop) })
	if c.started.CompareAndSwap(false, true) { // never started: nothing runs
		close(c.done)
	}
	select {
	case <-c.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("flag: closing the controller of %q: %w", c.opt.Model, ctx.Err())
	}
}

func (c *Controller) run() {
	defer close(c.done)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-c.stop:
			cancel()
		case <-c.done:
		}
	}()
	var retry <-chan time.Time
	failures := 0
	for {
		select {
		case <-c.stop:
			return
		case <-c.wake:
		case <-retry:
		}
		c.mu.Lock()
		in, ok, rb := c.pending, c.hasInput, c.rolledBack
		c.mu.Unlock()
		if !ok {
			continue
		}
		err := c.pass(ctx, in, rb)
		if err == nil {
			failures, retry = 0, nil
			c.setError(nil, 0)
			continue
		}
		if ctx.Err() != nil {
			return
		}
		failures++
		d := c.opt.MinBackoff << min(failures-1, 20)
		d = min(d, c.opt.MaxBackoff)
		c.setError(err, failures)
		c.log.Warn("flag: cannot move the flag; retrying", "error", err, "failures", failures, "retry_in", d)
		retry = time.After(d)
	}
}

func (c *Controller) setError(err error, failures int) {
	c.mu.Lock()
	c.status.Failures = failures
	if err != nil {
		c.status.Error = err.Error()
	} else {
		c.status.Error = ""
	}
	c.mu.Unlock()
	if err != nil && c.failures != nil {
		c.failures.Inc()
	}
	if c.up != nil {
		if err != nil {
			c.up.Set(0)
		} else {
			c.up.Set(1)
		}
	}
}

// maxActions bounds the changes of one pass: a rollback and a disable, or
// turning on a step whose percentage was already written.
const maxActions = 3

// pass reads the flag, decides and applies until the decision is to hold.
func (c *Controller) pass(parent context.Context, in Input, rolledBack bool) error {
	ctx, cancel := context.WithTimeout(parent, c.opt.Timeout)
	defer cancel()
	for range maxActions {
		st, err := c.read(ctx)
		if err != nil {
			return err
		}
		now := c.opt.Now()
		if !c.adopted || st.Percent != c.adoptedPct {
			c.adopted, c.adoptedAt, c.adoptedPct = true, now, st.Percent
		}
		a := Decide(&c.ramp, c.opt.Rollout, st, in, rolledBack, c.adoptedAt, now)
		pos, _ := Position(&c.ramp, c.opt.Rollout, st)
		c.mu.Lock()
		c.status.Known, c.status.Percent, c.status.Enabled = true, st.Percent, st.Enabled
		c.status.Plan, c.status.Next = a.Why, a.Next
		c.status.Step, c.status.Steps = pos+1, len(c.ramp.Steps)
		c.status.RolledBack = st.NoteOK && st.Note.Rollout == c.opt.Rollout && st.Note.Kind == KindRollback
		c.mu.Unlock()
		if c.percent != nil {
			c.percent.Set(float64(st.Percent))
		}
		if a.Kind == KindHold {
			return nil
		}
		if err := c.apply(ctx, st, a, now); err != nil {
			return err
		}
	}
	return errors.New("flag: the flag did not settle after " + fmt.Sprint(maxActions) + " changes in one pass")
}

func (c *Controller) read(ctx context.Context) (State, error) {
	if c.dry != nil {
		return *c.dry, nil
	}
	st, err := c.p.Read(ctx)
	if err == nil && c.ramp.DryRun {
		c.dry = &st
	}
	return st, err
}

// apply makes one change and records it with the flag's state read back.
func (c *Controller) apply(ctx context.Context, before State, a Action, now time.Time) error {
	note := Note{Rollout: c.opt.Rollout, Kind: a.Kind, Step: a.Step, Steps: len(c.ramp.Steps), Percent: a.Percent, At: now}
	if a.Kind == KindStep && before.NoteOK && before.Note.Rollout == c.opt.Rollout && before.Note.Kind == KindStep && before.Note.Step == a.Step {
		note = before.Note // the step is written; only turning the flag on is left
	}
	rec := Record{At: now, Provider: c.p.String(), Kind: a.Kind, Steps: len(c.ramp.Steps), From: before.Percent, To: a.Percent,
		Why: a.Why, Before: before.Revision, DryRun: c.ramp.DryRun}
	if a.Kind == KindStep {
		rec.Step = a.Step + 1
	}
	after := before
	switch a.Kind {
	case KindStep, KindRollback:
		after.Enabled, after.HasRollout, after.Percent, after.Note, after.NoteOK = true, true, a.Percent, note, true
		after.Revision = "dry run: " + note.String()
		if !c.ramp.DryRun {
			if err := c.p.SetRollout(ctx, a.Percent, note); err != nil {
				return err
			}
		}
	case KindDisable:
		rec.To = before.Percent
		after.Enabled = false
		after.Revision = "dry run: off"
		if !c.ramp.DryRun {
			if err := c.p.Disable(ctx); err != nil {
				return err
			}
		}
	}
	if c.ramp.DryRun {
		c.dry = &after
	} else {
		st, err := c.p.Read(ctx)
		if err != nil { // applied; the record waits for no read-back
			after.Revision = "unread: " + err.Error()
		} else {
			after = st
		}
	}
	rec.Enabled, rec.After = after.Enabled, after.Revision
	c.mu.Lock()
	c.status.Percent, c.status.Enabled = after.Percent, after.Enabled
	switch a.Kind {
	case KindStep:
		c.status.Step = a.Step + 1
	case KindRollback:
		c.status.Step, c.status.RolledBack = 0, true
	}
	c.history = append(c.history, rec)
	if len(c.history) > maxHistory {
		c.history = c.history[len(c.history)-maxHistory:]
	}
	c.mu.Unlock()
	if c.changes != nil {
		c.changes.Inc()
	}
	verb := "flag: changed"
	if c.ramp.DryRun {
		verb = "flag: dry run, would change"
	}
	c.log.Info(verb, "kind", rec.Kind, "step", rec.Step, "from", rec.From, "to", rec.To, "enabled", rec.Enabled, "why", rec.Why)
	if c.opt.OnChange != nil {
		c.opt.OnChange(rec)
	}
	return nil
}
