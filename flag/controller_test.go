package flag

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"driftwatch/rollout"
)

// memFlag is a Provider in memory that can be made to fail.
type memFlag struct {
	mu     sync.Mutex
	st     State
	writes int // SetRollout or Disable calls that changed something
	down   bool
	reads  int
}

var errDown = errors.New("connection refused")

func (m *memFlag) Read(context.Context) (State, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.reads++
	if m.down {
		return State{}, errDown
	}
	return m.st, nil
}

func (m *memFlag) SetRollout(_ context.Context, percent int, note Note) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.down {
		return errDown
	}
	if !m.st.HasRollout || m.st.Percent != percent || m.st.Note != note || !m.st.Enabled {
		m.writes++
	}
	m.st = State{Enabled: true, HasRollout: true, Percent: percent, Note: note, NoteOK: true, Revision: note.String()}
	return nil
}

func (m *memFlag) Disable(context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.down {
		return errDown
	}
	if m.st.Enabled {
		m.writes++
	}
	m.st.Enabled = false
	return nil
}

func (m *memFlag) String() string { return "memory" }

func (m *memFlag) get() (State, int, int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.st, m.writes, m.reads
}

func (m *memFlag) setDown(d bool) {
	m.mu.Lock()
	m.down = d
	m.mu.Unlock()
}

// TestControllerBackoff: while the provider is down, passes are retried
// at 1, 2, 4, … s up to the maximum, each failure counted; the first pass
// after it is back applies the change once and clears the error.
func TestControllerBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := &memFlag{down: true}
		ms := testMetrics()
		c := NewController(Ramp{Steps: DefaultSteps, Observe: time.Hour, OnRollback: RollbackZero}, m,
			Options{Rollout: "r", Model: "m", Metrics: ms, MinBackoff: time.Second, MaxBackoff: 8 * time.Second, Logger: quietLogger()})
		c.Start()
		defer c.Close(context.Background())
		start := time.Now()
		c.Observe(Input{Latched: rollout.Continue})
		var readsAt []time.Duration
		for len(readsAt) < 7 {
			synctest.Wait()
			if _, _, r := m.get(); r > len(readsAt) {
				readsAt = append(readsAt, time.Since(start))
				continue
			}
			time.Sleep(100 * time.Millisecond)
		}
		want := []time.Duration{0, 1, 3, 7, 15, 23, 31} // 1, 2, 4, 8, 8, 8 s apart
		for i, w := range want {
			if d := readsAt[i] - w*time.Second; d < 0 || d >= 100*time.Millisecond {
				t.Errorf("pass %d at %v, want %v", i, readsAt[i], w*time.Second)
			}
		}
		st := c.Status()
		if st.Failures != 7 || st.Error == "" || st.Known {
			t.Errorf("status while down %+v", st)
		}
		if got := ms.Errors.Get(); got != 7 {
			t.Errorf("errors_total %d, want 7", got)
		}
		m.setDown(false)
		time.Sleep(8 * time.Second)
		synctest.Wait()
		fs, writes, _ := m.get()
		if writes != 1 || fs.Percent != 5 || !fs.Enabled {
			t.Errorf("after recovery: %+v, %d writes; want 5%% on, one write", fs, writes)
		}
		if st := c.Status(); st.Failures != 0 || st.Error != "" || st.Percent != 5 {
			t.Errorf("status after recovery %+v", st)
		}
		if got := ms.Up.Get(); got != 1 {
			t.Errorf("flag_up %v, want 1", got)
		}
	})
}

// TestControllerRollbackKept: a rollback crossing handed over between two
// passes is not lost when a later evaluation replaces it, and with
// on_rollback: disable a crash between the 0% and turning the flag off is
// finished by the next pass.
func TestControllerRollbackKept(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := &memFlag{}
		r := Ramp{Steps: DefaultSteps, Observe: time.Hour, OnRollback: RollbackDisable}
		c := NewController(r, m, Options{Rollout: "r", Logger: quietLogger()})
		m.setDown(true) // inputs pile up while the first pass fails
		c.Start()
		defer c.Close(context.Background())
		c.Observe(Input{Latched: rollout.Promote, Current: rollout.Promote})
		synctest.Wait()
		c.Observe(Input{Latched: rollout.Promote, Current: rollout.Rollback, Reason: "error rate"})
		c.Observe(Input{Latched: rollout.Promote, Current: rollout.Promote})
		m.setDown(false)
		time.Sleep(time.Minute)
		synctest.Wait()
		fs, _, _ := m.get()
		if fs.Enabled || fs.Percent != 0 || fs.Note.Kind != KindRollback {
			t.Errorf("flag %+v, want rolled back to 0%% and off", fs)
		}
		h := c.History()
		if len(h) != 2 || h[0].Kind != KindRollback || h[1].Kind != KindDisable {
			t.Errorf("history %+v, want rollback then disable", h)
		}

		// A new controller over a flag at 0% with the rollback note but
		// still on (the process died before turning it off).
		m2 := &memFlag{st: State{Enabled: true, HasRollout: true, Note: Note{Rollout: "r", Kind: KindRollback}, NoteOK: true}}
		c2 := NewController(r, m2, Options{Rollout: "r", Logger: quietLogger()})
		c2.Start()
		defer c2.Close(context.Background())
		c2.Observe(Input{Latched: rollout.Promote, Current: rollout.Promote})
		synctest.Wait()
		if fs, w, _ := m2.get(); fs.Enabled || w != 1 {
			t.Errorf("after restart: %+v, %d writes; want off with one write", fs, w)
		}
	})
}

// TestControllerDryRun: a dry run reads the flag, records the whole ramp
// it would apply, and writes nothing.
func TestControllerDryRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := &memFlag{}
		c := NewController(Ramp{Steps: DefaultSteps, Observe: time.Hour, OnRollback: RollbackZero, DryRun: true}, m,
			Options{Rollout: "r", Logger: quietLogger()})
		c.Start()
		defer c.Close(context.Background())
		for range 5 {
			c.Observe(Input{Latched: rollout.Promote, Current: rollout.Promote})
			synctest.Wait()
			time.Sleep(time.Hour)
		}
		_, writes, _ := m.get()
		if writes != 0 {
			t.Errorf("%d writes in a dry run", writes)
		}
		h := c.History()
		if len(h) != 4 {
			t.Fatalf("history %+v, want 4 steps", h)
		}
		for i, r := range h {
			if !r.DryRun || r.To != DefaultSteps[i] {
				t.Errorf("record %d: %+v", i, r)
			}
		}
		if st := c.Status(); st.Plan != "ramp complete" || !st.DryRun {
			t.Errorf("status %+v", st)
		}
	})
}

// TestControllerCloseTwice: Close is safe to call twice, and returns the
// context's error if the pass in flight does not end in time.
func TestControllerCloseTwice(t *testing.T) {
	c := NewController(Ramp{Steps: DefaultSteps, Observe: time.Hour, OnRollback: RollbackZero}, &memFlag{}, Options{Logger: quietLogger()})
	c.Start()
	for range 2 {
		if err := c.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}

// testMetrics are a controller's series in a set of their own.
func testMetrics() *Metrics {
	set := metrics.NewSet()
	return &Metrics{Changes: set.NewCounter("changes"), Errors: set.NewCounter("errors"),
		Up: set.NewGauge("up", nil), Percent: set.NewGauge("percent", nil)}
}
