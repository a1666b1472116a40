package flag

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"driftwatch/internal/testutil/unleash"
	"driftwatch/rollout"
)

// These tests run against a real unleash-server 8.2.0 (see package
// internal/testutil/unleash), one per test binary, each test on its own
// feature.

const serverDir = "testdata/unleash"

var (
	srvOnce sync.Once
	srv     *unleash.Server
	srvErr  error
)

func TestMain(m *testing.M) {
	if os.Getenv(crashChildEnv) != "" {
		os.Exit(crashChild())
	}
	code := m.Run()
	if srv != nil {
		srv.Close()
	}
	os.Exit(code)
}

// server returns the shared Unleash, starting it on first use.
func server(t *testing.T) *unleash.Server {
	t.Helper()
	unleash.Require(t, serverDir)
	srvOnce.Do(func() { srv, srvErr = unleash.Start(serverDir) })
	if srvErr != nil {
		t.Fatal(srvErr)
	}
	return srv
}

// admin sends an Admin API request with the admin token and decodes the
// answer into out (when not nil).
func admin(t *testing.T, method, path, body string, out any) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", unleash.AdminToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		t.Fatalf("%s %s: %s: %s", method, path, resp.Status, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
}

// newFeature creates a feature (off, no strategy) and returns a provider
// for it in the development environment.
func newFeature(t *testing.T, name string) *Unleash {
	t.Helper()
	server(t)
	admin(t, http.MethodPost, "/api/admin/projects/default/features", fmt.Sprintf(`{"name":%q}`, name), nil)
	return &Unleash{URL: srv.URL, Token: unleash.AdminToken, Project: "default", Environment: "development", Feature: name, Strategy: FlexibleRollout}
}

// clientView is the flag as the client API serves it to SDKs: on or off
// and the flexibleRollout percentages (-1: no such strategy).
func clientView(t *testing.T, feature string) (enabled bool, rollout int) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/client/features", nil)
	req.Header.Set("Authorization", unleash.ClientToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Features []struct {
			Name       string `json:"name"`
			Enabled    bool   `json:"enabled"`
			Strategies []struct {
				Name       string            `json:"name"`
				Parameters map[string]string `json:"parameters"`
			} `json:"strategies"`
		} `json:"features"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	for _, f := range body.Features {
		if f.Name != feature {
			continue
		}
		for _, s := range f.Strategies {
			if s.Name == FlexibleRollout {
				p, _ := strconv.Atoi(s.Parameters["rollout"])
				return f.Enabled, p
			}
		}
		return f.Enabled, -1
	}
	return false, -1
}

// waitClient polls the client API until it serves the flag on at percent
// (a change shows there up to about a second later).
func waitClient(t *testing.T, feature string, enabled bool, percent int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		e, p := clientView(t, feature)
		if e == enabled && p == percent {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("client API: %s is enabled=%v at %d%%, want enabled=%v at %d%%", feature, e, p, enabled, percent)
		}
		time.Sleep(50 * time.Millisecond) // polling interval
	}
}

// changeEvents counts the feature's events that change what SDKs see:
// strategies added, updated or removed, the environment turned on or off.
func changeEvents(t *testing.T, feature string) map[string]int {
	t.Helper()
	var body struct {
		Events []struct {
			Type string `json:"type"`
		} `json:"events"`
	}
	admin(t, http.MethodGet, "/api/admin/events/"+feature, "", &body)
	n := map[string]int{}
	for _, e := range body.Events {
		switch e.Type {
		case "feature-strategy-add", "feature-strategy-update", "feature-strategy-remove",
			"feature-environment-enabled", "feature-environment-disabled":
			n[e.Type]++
		}
	}
	return n
}

// waitFor polls cond until it holds.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond) // polling interval
	}
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// evaluate feeds the controller an evaluation every interval until the
// test ends, as the service's evaluation loop does.
func evaluate(t *testing.T, c *Controller, interval time.Duration, in func() Input) (stop func()) {
	quit := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		tk := time.NewTicker(interval)
		defer tk.Stop()
		for {
			c.Observe(in())
			select {
			case <-quit:
				return
			case <-tk.C:
			}
		}
	}()
	var once sync.Once
	stop = func() { once.Do(func() { close(quit); <-done }) }
	t.Cleanup(stop)
	return stop
}

func startController(t *testing.T, r Ramp, p Provider, opt Options) *Controller {
	t.Helper()
	if opt.Logger == nil {
		opt.Logger = quietLogger()
	}
	if opt.Rollout == "" {
		opt.Rollout = "m/v1/v2"
	}
	c := NewController(r, p, opt)
	c.Start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := c.Close(ctx); err != nil {
			t.Error(err)
		}
	})
	return c
}

// A canary whose criteria hold is ramped 5 → 25 → 50 → 100, each step
// after its observation period, each step one strategy change.
func TestUnleashRampHolds(t *testing.T) {
	p := newFeature(t, "canary-holds")
	observe := time.Second
	ms := testMetrics()
	c := startController(t, Ramp{Steps: DefaultSteps, Observe: observe, OnRollback: RollbackZero}, p, Options{Metrics: ms, Model: "m"})
	var mu sync.Mutex
	latched := rollout.Continue
	evaluate(t, c, 100*time.Millisecond, func() Input {
		mu.Lock()
		defer mu.Unlock()
		return Input{At: time.Now(), Latched: latched, Current: latched, Reason: "accuracy 0.91 vs 0.90"}
	})
	waitClient(t, p.Feature, true, 5)
	if n := len(c.History()); n != 1 {
		t.Fatalf("before the promote: %d changes, want 1 (ramp start at 5%%): %+v", n, c.History())
	}
	mu.Lock()
	latched = rollout.Promote
	mu.Unlock()
	waitClient(t, p.Feature, true, 100)
	h := c.History()
	if len(h) != 4 {
		t.Fatalf("%d changes, want 4: %+v", len(h), h)
	}
	for i, want := range DefaultSteps {
		r := h[i]
		if r.Kind != KindStep || r.To != want || r.Step != i+1 || !r.Enabled || r.DryRun {
			t.Errorf("change %d: %+v, want step %d to %d%%", i, r, i+1, want)
		}
		if i > 0 && r.At.Sub(h[i-1].At) < observe {
			t.Errorf("change %d at %v, %v after the previous: shorter than observe %v", i, r.At, r.At.Sub(h[i-1].At), observe)
		}
	}
	if ev := changeEvents(t, p.Feature); ev["feature-strategy-add"] != 1 || ev["feature-strategy-update"] != 3 || ev["feature-environment-enabled"] != 1 {
		t.Errorf("unleash events %v, want one strategy added, three updates, enabled once", ev)
	}
	if got := ms.Changes.Get(); got != 4 {
		t.Errorf("driftwatch_flag_changes_total %d, want 4", got)
	}
	// Held at 100%: more evaluations change nothing.
	waitFor(t, "the controller to hold at 100%", 5*time.Second, func() bool { return c.Status().Plan == "ramp complete" })
	if n := len(c.History()); n != 4 {
		t.Errorf("%d changes after completion, want 4", n)
	}
}

// A canary that fails is set to 0% by the pass of the evaluation that
// rolls it back, at whatever step it is.
func TestUnleashRollbackAtOnce(t *testing.T) {
	for _, mode := range []OnRollback{RollbackZero, RollbackDisable} {
		t.Run(string(mode), func(t *testing.T) {
			p := newFeature(t, "canary-fails-"+string(mode))
			c := startController(t, Ramp{Steps: DefaultSteps, Observe: time.Second, OnRollback: mode}, p, Options{})
			stop := evaluate(t, c, 100*time.Millisecond, func() Input {
				return Input{At: time.Now(), Latched: rollout.Promote, Current: rollout.Promote}
			})
			waitFor(t, "step 2", 20*time.Second, func() bool { h := c.History(); return len(h) == 2 })
			stop()
			// The next evaluation crosses the rollback boundary: one
			// evaluation, no other input.
			c.Observe(Input{At: time.Now(), Latched: rollout.Promote, Current: rollout.Rollback, Reason: "accuracy 0.84 < 0.88 (p 0.001)"})
			waitFor(t, "the rollback", 20*time.Second, func() bool {
				h := c.History()
				return len(h) > 0 && h[len(h)-1].Kind == map[OnRollback]Kind{RollbackZero: KindRollback, RollbackDisable: KindDisable}[mode]
			})
			h := c.History()
			if h[2].Kind != KindRollback || h[2].From != 25 || h[2].To != 0 || !strings.Contains(h[2].Why, "accuracy 0.84") {
				t.Errorf("rollback record %+v", h[2])
			}
			if mode == RollbackZero {
				waitClient(t, p.Feature, true, 0)
			} else {
				waitClient(t, p.Feature, false, 0)
			}
			// Rolled back for good: a later promote moves nothing.
			c.Observe(Input{At: time.Now(), Latched: rollout.Promote, Current: rollout.Promote})
			waitFor(t, "the controller to hold", 5*time.Second, func() bool { return strings.HasPrefix(c.Status().Plan, "rolled back") })
			if n := len(c.History()); n != len(h) {
				t.Errorf("%d changes after the rollback, want %d", n, len(h))
			}
		})
	}
}

// A dry run reads the real flag — here set by hand to 30% — records the
// ramp it would apply from there, and changes nothing in Unleash.
func TestUnleashDryRun(t *testing.T) {
	p := newFeature(t, "canary-dry-run")
	admin(t, http.MethodPost, "/api/admin/projects/default/features/"+p.Feature+"/environments/development/strategies",
		`{"name":"flexibleRollout","parameters":{"rollout":"30","stickiness":"default","groupId":"canary-dry-run"}}`, nil)
	admin(t, http.MethodPost, "/api/admin/projects/default/features/"+p.Feature+"/environments/development/on", "", nil)
	before := changeEvents(t, p.Feature)
	var offset atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	c := startController(t, Ramp{Steps: DefaultSteps, Observe: time.Hour, OnRollback: RollbackZero, DryRun: true}, p, Options{Now: now})
	c.Observe(Input{At: time.Now(), Latched: rollout.Promote, Current: rollout.Promote})
	waitFor(t, "the adopted step", 10*time.Second, func() bool { return strings.Contains(c.Status().Plan, "step 2/4 at 25%: observing") })
	for i := 1; i <= 3; i++ { // an hour on each time: the next step is due
		offset.Store(int64(i) * int64(time.Hour))
		c.Observe(Input{At: time.Now(), Latched: rollout.Promote, Current: rollout.Promote})
		waitFor(t, fmt.Sprintf("dry-run change %d", i), 10*time.Second, func() bool { return len(c.History()) >= min(i, 2) })
	}
	c.Observe(Input{At: time.Now(), Latched: rollout.Promote, Current: rollout.Rollback, Reason: "error rate"})
	waitFor(t, "the dry-run rollback", 10*time.Second, func() bool { return len(c.History()) == 3 })
	h := c.History()
	for i, want := range []struct {
		kind Kind
		to   int
	}{{KindStep, 50}, {KindStep, 100}, {KindRollback, 0}} {
		if !h[i].DryRun || h[i].Kind != want.kind || h[i].To != want.to {
			t.Errorf("dry-run record %d: %+v, want %s to %d%%", i, h[i], want.kind, want.to)
		}
	}
	if after := changeEvents(t, p.Feature); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("a dry run changed Unleash: events %v, then %v", before, after)
	}
	waitClient(t, p.Feature, true, 30) // SDKs still get the hand-set 30%
}

// A feature with another enabled strategy is refused: Unleash would
// expose it to everyone that strategy matches, whatever the percentage.
func TestUnleashOtherStrategyRefused(t *testing.T) {
	p := newFeature(t, "canary-other-strategy")
	admin(t, http.MethodPost, "/api/admin/projects/default/features/"+p.Feature+"/environments/development/strategies",
		`{"name":"default","parameters":{}}`, nil)
	c := startController(t, Ramp{Steps: DefaultSteps, Observe: time.Second, OnRollback: RollbackZero}, p, Options{MinBackoff: 50 * time.Millisecond})
	c.Observe(Input{At: time.Now(), Latched: rollout.Continue})
	waitFor(t, "the refusal", 10*time.Second, func() bool {
		return strings.Contains(c.Status().Error, "1 other enabled strategies (default ")
	})
	if h := c.History(); len(h) != 0 {
		t.Errorf("changes made beside another strategy: %+v", h)
	}
	if ev := changeEvents(t, p.Feature); ev["feature-strategy-add"] != 1 || ev["feature-strategy-update"] != 0 {
		t.Errorf("events %v: only the test's own strategy should have been added", ev)
	}
}

// Unleash down, then up again: the controller retries with backoff,
// reports the failures, and applies the change once.
func TestUnleashDownThenUp(t *testing.T) {
	p := newFeature(t, "canary-outage")
	ms := testMetrics()
	r := Ramp{Steps: DefaultSteps, Observe: time.Hour, OnRollback: RollbackZero}
	var offset atomic.Int64 // the controller's clock ahead of the real one
	now := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	c := startController(t, r, p, Options{Metrics: ms, Model: "m", Now: now, MinBackoff: 50 * time.Millisecond, MaxBackoff: 400 * time.Millisecond})
	c.Observe(Input{At: time.Now(), Latched: rollout.Continue})
	waitClient(t, p.Feature, true, 5)
	before := changeEvents(t, p.Feature)

	srv.Stop()
	restarted := false
	t.Cleanup(func() {
		if !restarted {
			if err := srv.Restart(); err != nil {
				t.Error(err)
			}
		}
	})
	// The step is due: a clock two hours on.
	offset.Store(int64(2 * time.Hour))
	c.Observe(Input{At: time.Now(), Latched: rollout.Promote, Current: rollout.Promote})
	waitFor(t, "three failed passes", 20*time.Second, func() bool { return c.Status().Failures >= 3 })
	if st := c.Status(); st.Error == "" {
		t.Errorf("status %+v: no error while Unleash is down", st)
	}
	if got := ms.Up.Get(); got != 0 {
		t.Errorf("driftwatch_flag_up %v while down, want 0", got)
	}
	if got := ms.Errors.Get(); got < 3 {
		t.Errorf("driftwatch_flag_errors_total %d, want ≥ 3", got)
	}
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	restarted = true
	waitClient(t, p.Feature, true, 25)
	waitFor(t, "the error to clear", 20*time.Second, func() bool { st := c.Status(); return st.Error == "" && st.Failures == 0 })
	after := changeEvents(t, p.Feature)
	if after["feature-strategy-update"] != before["feature-strategy-update"]+1 || after["feature-strategy-add"] != before["feature-strategy-add"] {
		t.Errorf("events before the outage %v, after %v: want exactly one strategy update", before, after)
	}
	if h := c.History(); len(h) != 2 || h[1].To != 25 {
		t.Errorf("history %+v, want the start and one step to 25%%", h)
	}
	if got := ms.Up.Get(); got != 1 {
		t.Errorf("driftwatch_flag_up %v after recovery, want 1", got)
	}
}

// Crash safety: a child process decides a step and is killed with
// SIGKILL — before its update reaches Unleash, or after — and a new
// controller over the same flag ends with exactly one change applied.
func TestUnleashKill9(t *testing.T) {
	for _, when := range []string{"before-update", "after-update"} {
		t.Run(when, func(t *testing.T) {
			p := newFeature(t, "canary-kill9-"+when)
			r := Ramp{Steps: DefaultSteps, Observe: time.Hour, OnRollback: RollbackZero}
			first := startController(t, r, p, Options{})
			first.Observe(Input{At: time.Now(), Latched: rollout.Continue})
			waitClient(t, p.Feature, true, 5)
			if err := first.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			before := changeEvents(t, p.Feature)

			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), crashChildEnv+"="+when, "CHILD_UNLEASH_URL="+srv.URL, "CHILD_FEATURE="+p.Feature)
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			cmd.Stderr = os.Stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			lines := make(chan string, 4)
			go func() {
				sc := bufio.NewScanner(out)
				for sc.Scan() {
					lines <- sc.Text()
				}
				close(lines)
			}()
			select {
			case l, ok := <-lines:
				if !ok || !strings.HasPrefix(l, "child: ") {
					t.Fatalf("child said %q", l)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("the child did not reach the update")
			}
			if err := cmd.Process.Kill(); err != nil { // SIGKILL
				t.Fatal(err)
			}
			_ = cmd.Wait()

			restarted := startController(t, r, p, Options{Now: childNow})
			restarted.Observe(Input{At: time.Now(), Latched: rollout.Promote, Current: rollout.Promote})
			waitClient(t, p.Feature, true, 25)
			waitFor(t, "the restarted controller to hold", 10*time.Second, func() bool {
				return strings.Contains(restarted.Status().Plan, "observing until")
			})
			after := changeEvents(t, p.Feature)
			if after["feature-strategy-update"] != before["feature-strategy-update"]+1 || after["feature-strategy-add"] != before["feature-strategy-add"] {
				t.Errorf("events before %v, after %v: want exactly one strategy update", before, after)
			}
			wantApplied := map[string]int{"before-update": 1, "after-update": 0}[when]
			if n := len(restarted.History()); n != wantApplied {
				t.Errorf("the restarted controller applied %d changes, want %d: %+v", n, wantApplied, restarted.History())
			}
		})
	}
}

const crashChildEnv = "DRIFTWATCH_FLAG_CRASH_CHILD"

// childNow is the clock of the crash test's child and of the controller
// restarted after it: two hours on, so that step 1 (written with the real
// time) has been observed for longer than its hour.
func childNow() time.Time { return time.Now().Add(2 * time.Hour) }

// stallProvider stops the child at the update: before it reaches the
// provider, or after it has.
type stallProvider struct {
	Provider
	after bool
}

func (s stallProvider) SetRollout(ctx context.Context, percent int, note Note) error {
	if s.after {
		if err := s.Provider.SetRollout(ctx, percent, note); err != nil {
			fmt.Println("error:", err)
			return err
		}
	}
	fmt.Printf("child: %d%% decided (applied: %v)\n", percent, s.after)
	select {} // wait for SIGKILL
}

// crashChild runs a controller that decides the next step and stalls at
// its update until the parent kills it.
func crashChild() int {
	when := os.Getenv(crashChildEnv)
	p := &Unleash{URL: os.Getenv("CHILD_UNLEASH_URL"), Token: unleash.AdminToken, Project: "default", Environment: "development",
		Feature: os.Getenv("CHILD_FEATURE"), Strategy: FlexibleRollout}
	r := Ramp{Steps: DefaultSteps, Observe: time.Hour, OnRollback: RollbackZero}
	c := NewController(r, stallProvider{Provider: p, after: when == "after-update"}, Options{Rollout: "m/v1/v2", Now: childNow, Logger: quietLogger()})
	c.Start()
	c.Observe(Input{At: time.Now(), Latched: rollout.Promote, Current: rollout.Promote})
	time.Sleep(time.Minute) // the parent kills the child long before
	fmt.Println("error: not killed")
	return 1
}
