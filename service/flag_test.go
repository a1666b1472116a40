package service

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"driftwatch/flag"
	"driftwatch/internal/testutil/unleash"
)

// A rollout with a flag moves it in a real Unleash: both canaries start
// at the ramp's first step; the worse one is set to 0% by the evaluation
// that rolls it back; the equal one, once promoted and observed, goes to
// 100%. The API serves each flag's history.
func TestRolloutMovesUnleashFlag(t *testing.T) {
	const dir = "../flag/testdata/unleash"
	unleash.Require(t, dir)
	srv, err := unleash.Start(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	adminDo := func(method, path, body string, out any) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", unleash.AdminToken)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode/100 != 2 {
			t.Fatalf("%s %s: %s %s", method, path, resp.Status, b)
		}
		if out != nil {
			if err := json.Unmarshal(b, out); err != nil {
				t.Fatal(err)
			}
		}
	}
	rolloutOf := func(feature string) (bool, int) {
		var f struct {
			Environments []struct {
				Name       string `json:"name"`
				Enabled    bool   `json:"enabled"`
				Strategies []struct {
					Parameters map[string]string `json:"parameters"`
				} `json:"strategies"`
			} `json:"environments"`
		}
		adminDo(http.MethodGet, "/api/admin/projects/default/features/"+feature, "", &f)
		for _, e := range f.Environments {
			if e.Name == "development" && len(e.Strategies) > 0 {
				p, _ := strconv.Atoi(e.Strategies[0].Parameters["rollout"])
				return e.Enabled, p
			}
		}
		return false, -1
	}
	for _, f := range []string{"worse-v2", "equal-v2"} {
		adminDo(http.MethodPost, "/api/admin/projects/default/features", fmt.Sprintf(`{"name":%q}`, f), nil)
	}
	t.Setenv("DW_TEST_UNLEASH_TOKEN", unleash.AdminToken)
	hook, calls := signedHook(t)
	flagOf := func(feature string) string {
		return fmt.Sprintf(`{provider: unleash, url: %q, token_env: DW_TEST_UNLEASH_TOKEN, project: default, environment: development, feature: %s}`, srv.URL, feature)
	}
	cfg := fmt.Sprintf(`
kafka: {embedded_addr: "127.0.0.1:0"}
defaults: {evaluate_every: 1h, window: {length: 2h, pane: 1m}}
models:
  - name: worse
    task: classification
    versions: [{name: v1, reference: p.dwprof}, {name: v2, reference: p.dwprof}]
    rollout: {stable: v1, candidate: v2, min_period: 10m, min_samples: 200, flag: %s, ramp: [5, 100], observe: 1s}
  - name: equal
    task: classification
    versions: [{name: v1, reference: p.dwprof}, {name: v2, reference: p.dwprof}]
    rollout:
      stable: v1
      candidate: v2
      min_period: 10m
      min_samples: 200
      criteria: [{metric: accuracy, tolerance: 0.05}, {metric: latency_p95, ratio: 1.1}, {metric: error_rate, ratio: 1.2, tolerance: 0.01}]
      flag: %s
      ramp: [5, 100]
      observe: 1s
alerting:
  notifiers: [{name: hook, webhook: {url: %q, secret: s3cret}}]
  rules:
    - {name: RolloutStepped, statistic: rollout_stepped, warning: 1, actions: [hook]}
    - {name: RolloutRolledBack, statistic: rollout_rolled_back, critical: 1, actions: [hook]}
`, flagOf("worse-v2"), flagOf("equal-v2"), hook.URL)
	s, pr, ctx := startWith(t, cfg, nil)
	base := time.Now().Add(-30 * time.Minute).Truncate(time.Minute)
	waitFlag := func(feature string, enabled bool, percent int, evaluate bool) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			e, p := rolloutOf(feature)
			if e == enabled && p == percent {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: enabled=%v at %d%%, want enabled=%v at %d%%", feature, e, p, enabled, percent)
			}
			if evaluate {
				s.Evaluate()
			}
			time.Sleep(50 * time.Millisecond) // polling interval
		}
	}

	// Before min_period: both ramps start.
	var preds, outs []string
	add := func(p, o []string) { preds, outs = append(preds, p...), append(outs, o...) }
	sw, ow := rolloutEvents("worse", "v1", "ws", 2000, 0.85, 1, base, 20*time.Minute)
	cw, cow := rolloutEvents("worse", "v2", "wc", 1000, 0.70, 1, base, 20*time.Minute)
	se, oe := rolloutEvents("equal", "v1", "es", 2000, 0.85, 1, base, 20*time.Minute)
	ce, coe := rolloutEvents("equal", "v2", "ec", 2000, 0.85, 1, base, 20*time.Minute)
	for _, part := range [][2][]string{{sw[:500], ow[:500]}, {cw[:250], cow[:250]}, {se[:500], oe[:500]}, {ce[:500], coe[:500]}} {
		add(part[0], part[1])
	}
	produce(t, ctx, pr, byTime(preds)...)
	produce(t, ctx, pr, outs...)
	waitProcessed(t, ctx, s, int64(len(preds)))
	s.Evaluate()
	waitFlag("worse-v2", true, 5, false)
	waitFlag("equal-v2", true, 5, false)
	for _, m := range []string{"worse", "equal"} { // the controllers have recorded the change
		var v struct{ Flag struct{ Status flag.Status } }
		for deadline := time.Now().Add(10 * time.Second); v.Flag.Status.Step != 1; time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: flag status %+v, want step 1", m, v.Flag.Status)
			}
			get(t, "http://"+s.HTTPAddr()+"/api/v1/models/"+m+"/rollout", &v)
		}
	}

	// The rest: worse is rolled back, equal promoted.
	preds, outs = nil, nil
	for _, part := range [][2][]string{{sw[500:], ow[500:]}, {cw[250:], cow[250:]}, {se[500:], oe[500:]}, {ce[500:], coe[500:]}} {
		add(part[0], part[1])
	}
	produce(t, ctx, pr, byTime(preds)...)
	produce(t, ctx, pr, outs...)
	waitProcessed(t, ctx, s, 7000)
	waitJoined(t, ctx, s, 7000)
	s.Evaluate()
	waitFlag("worse-v2", true, 0, false) // the rollback's own evaluation, no other
	waitFlag("equal-v2", true, 100, true)

	var v struct {
		Decision string
		Flag     struct {
			Status  flag.Status
			History []flag.Record
		}
	}
	// The controllers settle (read the flag back and hold) just after
	// their last change.
	for _, m := range []string{"worse", "equal"} {
		deadline := time.Now().Add(10 * time.Second)
		for {
			get(t, "http://"+s.HTTPAddr()+"/api/v1/models/"+m+"/rollout", &v)
			if p := v.Flag.Status.Plan; p == "ramp complete" || strings.HasPrefix(p, "rolled back") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: the flag controller did not settle: %+v", m, v.Flag.Status)
			}
			time.Sleep(20 * time.Millisecond) // polling interval
		}
	}
	get(t, "http://"+s.HTTPAddr()+"/api/v1/models/worse/rollout", &v)
	if h := v.Flag.History; v.Decision != "rollback" || len(h) != 2 || h[0].To != 5 || h[1].Kind != flag.KindRollback || h[1].To != 0 ||
		!strings.Contains(h[1].Why, "accuracy 0.7 < limit 0.83") {
		t.Errorf("worse: %+v", v)
	}
	get(t, "http://"+s.HTTPAddr()+"/api/v1/models/equal/rollout", &v)
	if h := v.Flag.History; v.Decision != "promote" || len(h) != 2 || h[0].To != 5 || h[1].Kind != flag.KindStep || h[1].To != 100 ||
		v.Flag.Status.Plan != "ramp complete" || v.Flag.Status.Percent != 100 {
		t.Errorf("equal: %+v", v)
	}
	page := getText(t, "http://"+s.HTTPAddr()+"/models/worse")
	if !strings.Contains(page, `id="rollout-flag"`) || !strings.Contains(page, "on at 0%; rolled back at") {
		t.Errorf("the status page lacks the flag's line")
	}
	// Announcements: each step reached and the rollback, once each, from
	// the evaluation after the change.
	s.Evaluate()
	want := map[string]string{
		"RolloutStepped equal step 1/2": "candidate v2 (stable v1), step 1/2: the flag reached 5% (step 1 of 2)",
		"RolloutStepped equal step 2/2": "candidate v2 (stable v1), step 2/2: the flag reached 100% (step 2 of 2)",
		"RolloutRolledBack worse ":      "candidate v2 (stable v1): the flag is set to 0%",
		"RolloutStepped worse step 1/2": "candidate v2 (stable v1), step 1/2: the flag reached 5% (step 1 of 2)",
	}
	firing := func() map[string][]string {
		got := map[string][]string{}
		for _, p := range calls() {
			if p.Status == "firing" {
				k := p.Rule + " " + p.Model + " " + p.Feature
				got[k] = append(got[k], p.Reason)
			}
		}
		return got
	}
	waitForCond := func(what string, cond func() bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
		}
	}
	waitForCond("the announcements", func() bool { return len(firing()) == len(want) })
	for k, reason := range want {
		if got := firing()[k]; len(got) != 1 || !strings.Contains(got[0], reason) {
			t.Errorf("%s: announced %q, want once %q", k, got, reason)
		}
	}
	s.Evaluate()
	if got := firing(); len(got) != len(want) {
		t.Errorf("announcements after another evaluation: %v", got)
	}

	metrics := getText(t, "http://"+s.HTTPAddr()+"/metrics")
	for _, want := range []string{`driftwatch_flag_changes_total{model="equal"} 2`, `driftwatch_flag_changes_total{model="worse"} 2`,
		`driftwatch_flag_rollout_percent{model="equal"} 100`, `driftwatch_flag_up{model="worse"} 1`, "# HELP driftwatch_flag_errors_total Failed attempts"} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
