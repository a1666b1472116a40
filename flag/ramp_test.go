package flag

import (
	"strings"
	"testing"
	"time"

	"driftwatch/rollout"
)

func TestNoteRoundTrip(t *testing.T) {
	at := time.Date(2026, 12, 8, 10, 0, 0, 123456789, time.UTC)
	for _, n := range []Note{
		{Rollout: "churn/v1/v2", Kind: KindStep, Step: 0, Steps: 4, Percent: 5, At: at},
		{Rollout: "a model with spaces/v 1/v 2", Kind: KindStep, Step: 3, Steps: 4, Percent: 100, At: at},
		{Rollout: "churn/v1/v2", Kind: KindRollback, Percent: 0, At: at},
	} {
		got, ok := ParseNote(n.String())
		if !ok || got != n {
			t.Errorf("ParseNote(%q) = %+v, %v; want %+v", n.String(), got, ok, n)
		}
	}
	for _, s := range []string{"", "Gradual rollout 25%", "driftwatch step 5/4 25% at 2026-12-08T10:00:00Z for x",
		"driftwatch step 1/4 25 at 2026-12-08T10:00:00Z for x", "driftwatch step 1/4 25% at yesterday for x",
		"driftwatch rollback 0% at 2026-12-08T10:00:00Z for ", "driftwatch hold 0% at 2026-12-08T10:00:00Z for x",
		"driftwatch step 1/4 101% at 2026-12-08T10:00:00Z for x"} {
		if n, ok := ParseNote(s); ok {
			t.Errorf("ParseNote(%q) = %+v, want not a note", s, n)
		}
	}
}

func TestRampValidate(t *testing.T) {
	f := func(r Ramp, want string) {
		t.Helper()
		err := r.Validate()
		if want == "" && err != nil || want != "" && (err == nil || err.Error() != want) {
			t.Errorf("Validate(%+v) = %v, want %q", r, err, want)
		}
	}
	ok := Ramp{Steps: []int{5, 25, 50, 100}, Observe: time.Hour, OnRollback: RollbackZero}
	f(ok, "")
	r := ok
	r.Steps = nil
	f(r, "ramp: at least one step is required")
	r.Steps = []int{5, 5, 100}
	f(r, "ramp[1]: 5 does not increase on 5")
	r.Steps = []int{0, 100}
	f(r, "ramp[0]: 0 is not a percentage in 1–100")
	r.Steps = []int{5, 50}
	f(r, "ramp: the last step is 50, want 100")
	r = ok
	r.Observe = time.Millisecond
	f(r, `observe: "1ms" is shorter than 1s`)
	r = ok
	r.OnRollback = "pause"
	f(r, `on_rollback: "pause" is neither "zero" nor "disable"`)
}

// TestDecide walks the ramp's cases: where the flag is (as read), what
// the rollout decided, and the time.
func TestDecide(t *testing.T) {
	const id = "m/v1/v2"
	t0 := time.Date(2026, 12, 8, 0, 0, 0, 0, time.UTC)
	ramp := Ramp{Steps: []int{5, 25, 50, 100}, Observe: 48 * time.Hour, OnRollback: RollbackZero}
	disable := ramp
	disable.OnRollback = RollbackDisable
	step := func(i int, at time.Time) State {
		n := Note{Rollout: id, Kind: KindStep, Step: i, Steps: 4, Percent: ramp.Steps[i], At: at}
		return State{Enabled: true, HasRollout: true, Percent: n.Percent, Note: n, NoteOK: true}
	}
	rolledBack := State{Enabled: true, HasRollout: true, Note: Note{Rollout: id, Kind: KindRollback, At: t0}, NoteOK: true}
	off := func(s State) State { s.Enabled = false; return s }
	foreign := func(s State) State { s.Note.Rollout = "m/v1/v3"; return s }
	in := func(latched, current rollout.Decision) Input {
		return Input{Latched: latched, Current: current, Reason: "numbers"}
	}
	cont, prom := in(rollout.Continue, rollout.Continue), in(rollout.Promote, rollout.Promote)
	for _, c := range []struct {
		name       string
		r          Ramp
		st         State
		in         Input
		rolledBack bool
		now        time.Time
		want       Kind
		percent    int
		step       int
		why        string
	}{
		{name: "no strategy: the ramp starts", r: ramp, st: State{}, in: cont, now: t0, want: KindStep, percent: 5, step: 0},
		{name: "off at 30% (not ours): the ramp starts", r: ramp, st: State{HasRollout: true, Percent: 30}, in: prom, now: t0, want: KindStep, percent: 5},
		{name: "step 1 waiting for the promote", r: ramp, st: step(0, t0), in: cont, now: t0.Add(100 * time.Hour), want: KindHold, why: "waiting for the promote"},
		{name: "promoted, observing", r: ramp, st: step(0, t0), in: prom, now: t0.Add(47 * time.Hour), want: KindHold, why: "observing until 2026-12-10T00:00:00Z"},
		{name: "promoted, observed: next step", r: ramp, st: step(0, t0), in: prom, now: t0.Add(48 * time.Hour), want: KindStep, percent: 25, step: 1},
		{name: "one step at a time", r: ramp, st: step(1, t0), in: prom, now: t0.Add(1000 * time.Hour), want: KindStep, percent: 50, step: 2},
		{name: "last step: 100%", r: ramp, st: step(2, t0), in: prom, now: t0.Add(48 * time.Hour), want: KindStep, percent: 100, step: 3},
		{name: "complete", r: ramp, st: step(3, t0), in: prom, now: t0.Add(1000 * time.Hour), want: KindHold, why: "ramp complete"},
		{name: "written but off after a crash: turn on", r: ramp, st: off(step(1, t0)), in: prom, now: t0, want: KindStep, percent: 25, step: 1},
		{name: "latched rollback at step 2", r: ramp, st: step(1, t0), in: in(rollout.Rollback, rollout.Rollback), now: t0, want: KindRollback, percent: 0},
		{name: "rollback crossing after the promote", r: ramp, st: step(2, t0), in: in(rollout.Promote, rollout.Rollback), now: t0, want: KindRollback},
		{name: "crossing seen earlier, continue now", r: ramp, st: step(2, t0), in: prom, rolledBack: true, now: t0.Add(1000 * time.Hour), want: KindRollback},
		{name: "rollback before any step", r: ramp, st: State{}, in: in(rollout.Rollback, rollout.Rollback), now: t0, want: KindRollback},
		{name: "rolled back: final", r: ramp, st: rolledBack, in: prom, now: t0.Add(1000 * time.Hour), want: KindHold, why: "rolled back"},
		{name: "rolled back, disable: the flag is still on", r: disable, st: rolledBack, in: prom, now: t0, want: KindDisable},
		{name: "rolled back and off", r: disable, st: off(rolledBack), in: prom, now: t0, want: KindHold, why: "rolled back"},
		{name: "inconclusive: held", r: ramp, st: step(1, t0), in: in(rollout.Inconclusive, rollout.Continue), now: t0.Add(1000 * time.Hour), want: KindHold, why: "inconclusive: held at 25%"},
		{name: "another rollout's note: the ramp starts over", r: ramp, st: foreign(step(3, t0)), in: prom, now: t0.Add(1000 * time.Hour), want: KindStep, percent: 5, step: 0},
		{name: "another rollout's rollback: the ramp starts", r: ramp, st: foreign(rolledBack), in: cont, now: t0, want: KindStep, percent: 5, step: 0},
		{name: "set by hand: adopted at its percentage", r: ramp, st: State{Enabled: true, HasRollout: true, Percent: 50}, in: prom, now: t0.Add(47 * time.Hour), want: KindHold, why: "step 3/4 at 50%: observing"},
		{name: "adopted, observed from when first seen", r: ramp, st: State{Enabled: true, HasRollout: true, Percent: 50}, in: prom, now: t0.Add(48 * time.Hour), want: KindStep, percent: 100, step: 3},
		{name: "adopted between steps", r: ramp, st: State{Enabled: true, HasRollout: true, Percent: 30}, in: prom, now: t0.Add(48 * time.Hour), want: KindStep, percent: 50, step: 2},
		{name: "adopted below the first step", r: ramp, st: State{Enabled: true, HasRollout: true, Percent: 1}, in: prom, now: t0, want: KindStep, percent: 5, step: 0},
		{name: "our note but the percentage changed by hand", r: ramp, st: func() State { s := step(0, t0); s.Percent = 50; return s }(), in: prom, now: t0.Add(47 * time.Hour), want: KindHold, why: "step 3/4 at 50%: observing"},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := Decide(&c.r, id, c.st, c.in, c.rolledBack, t0, c.now)
			if a.Kind != c.want || (c.want != KindHold && a.Percent != c.percent) || (c.want == KindStep && a.Step != c.step) || !strings.Contains(a.Why, c.why) {
				t.Errorf("Decide = %+v, want %s percent %d step %d why containing %q", a, c.want, c.percent, c.step, c.why)
			}
		})
	}
}

// FuzzParseNote: whatever ParseNote accepts, String writes back to the
// same note.
func FuzzParseNote(f *testing.F) {
	at := time.Date(2026, 12, 8, 10, 0, 0, 0, time.UTC)
	f.Add(Note{Rollout: "m v1→v2", Kind: KindStep, Step: 1, Steps: 4, Percent: 25, At: at}.String())
	f.Add(Note{Rollout: "m v1→v2", Kind: KindRollback, At: at}.String())
	f.Add("driftwatch step 1/1 100% at 2026-12-08T10:00:00+02:00 for x y z")
	f.Fuzz(func(t *testing.T, s string) {
		n, ok := ParseNote(s)
		if !ok {
			return
		}
		m, ok := ParseNote(n.String())
		if !ok || m != n {
			t.Fatalf("ParseNote(%q) = %+v; its String %q parses to %+v, %v", s, n, n.String(), m, ok)
		}
	})
}
