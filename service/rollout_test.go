package service

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"driftwatch/alerting/notify/webhook"
	"driftwatch/events"
)

// rolloutEvents are n predictions of one model version spread evenly over
// span of event time from base, and their outcomes: a share acc of them
// correct, latencies from 20 to 30 ms (times slow), one error in a hundred.
// All is deterministic, so arms with equal settings are equal.
func rolloutEvents(model, version, idPrefix string, n int, acc, slow float64, base time.Time, span time.Duration) (preds, outs []string) {
	for i := range n {
		ts := base.Add(span * time.Duration(i) / time.Duration(n)).UnixMilli()
		pred := i % 2
		label := pred
		if float64(i*37%100) >= acc*100 {
			label = 1 - pred
		}
		id := fmt.Sprintf("%s%d", idPrefix, i)
		preds = append(preds, fmt.Sprintf(`{"id":%q,"model":%q,"version":%q,"ts":%d,"features":{"income":50,"home":"OWN"},"prediction":"%d","latency_ms":%g,"error":%v}`,
			id, model, version, ts, pred, (20+float64(i*7919%100)/10)*slow, i%100 == 0))
		outs = append(outs, fmt.Sprintf(`outcomes:{"id":%q,"model":%q,"label":"%d"}`, id, model, label))
	}
	return preds, outs
}

// byTime orders predictions by event time, as versions serving side by
// side produce them.
func byTime(msgs []string) []string {
	ts := func(m string) string {
		i := strings.Index(m, `"ts":`) + 5
		return m[i : i+strings.IndexByte(m[i:], ',')]
	}
	slices.SortStableFunc(msgs, func(a, b string) int { return cmp.Compare(ts(a), ts(b)) })
	return msgs
}

// rolloutView is what the tests read of /api/v1/models/{model}/rollout.
type rolloutView struct {
	Decision, Reason string
	DecidedAt        *time.Time `json:"decided_at"`
	Checks           []struct {
		Metric, Status    string
		Stable, Candidate *float64
		StableN           float64 `json:"stable_n"`
		CandidateN        float64 `json:"candidate_n"`
	}
	Arms   map[string]struct{ Events, Errors, Outcomes float64 }
	Shadow *struct {
		Pairs, Agreement float64
		MeanAbsDiff      float64 `json:"mean_abs_diff"`
	}
}

// A canary that is worse than stable is rolled back once min_period of
// event time has passed, not before, though the data already shows it; an
// equal canary is promoted; each decision reaches the webhook once,
// signed, with the reason; the decisions and the arms survive a restart
// from the checkpoint directory.
func TestCanaryRollbackAndPromote(t *testing.T) {
	hook, calls := signedHook(t)
	dir := t.TempDir()
	cfg := fmt.Sprintf(`
kafka: {embedded_addr: "127.0.0.1:0"}
checkpoint: {dir: %q}
defaults: {evaluate_every: 1h, window: {length: 2h, pane: 1m}}
models:
  - name: worse
    task: classification
    versions: [{name: v1, reference: p.dwprof}, {name: v2, reference: p.dwprof}]
    rollout: {stable: v1, candidate: v2, min_period: 10m, min_samples: 200}
  - name: equal
    task: classification
    versions: [{name: v1, reference: p.dwprof}, {name: v2, reference: p.dwprof}]
    rollout:
      stable: v1
      candidate: v2
      min_period: 10m
      min_samples: 200
      criteria: [{metric: accuracy, tolerance: 0.05}, {metric: latency_p95, ratio: 1.1}, {metric: error_rate, ratio: 1.2, tolerance: 0.01}]
alerting:
  notifiers: [{name: hook, webhook: {url: %q, secret: s3cret}}]
  rules:
    - {name: RollBack, statistic: rollout_rollback, critical: 1, actions: [hook]}
    - {name: Promote, statistic: rollout_promote, warning: 1, actions: [hook]}
`, dir, hook.URL)
	s, pr, ctx := startWith(t, cfg, nil)
	base := time.Now().Add(-30 * time.Minute).Truncate(time.Minute)
	rollout := func(s *Service, model string) rolloutView {
		t.Helper()
		var v rolloutView
		get(t, "http://"+s.HTTPAddr()+"/api/v1/models/"+model+"/rollout", &v)
		return v
	}

	// Phase 1: the first 5 minutes of the rollout; enough samples, not
	// enough time.
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
	waitJoined(t, ctx, s, int64(len(outs)))
	s.Evaluate()
	v := rollout(s, "worse")
	if v.Decision != "continue" || !strings.Contains(v.Reason, "min_period") || v.Arms["v2"].Events != 250 || v.Arms["v2"].Outcomes != 250 {
		t.Fatalf("before min_period: %+v", v)
	}
	if v.Checks[0].Metric != "accuracy" || *v.Checks[0].Candidate != 0.7 || *v.Checks[0].Stable != 0.85 {
		t.Fatalf("accuracy check: %+v", v.Checks[0])
	}

	// Phase 2: the rest, 20 minutes in all.
	preds, outs = nil, nil
	for _, part := range [][2][]string{{sw[500:], ow[500:]}, {cw[250:], cow[250:]}, {se[500:], oe[500:]}, {ce[500:], coe[500:]}} {
		add(part[0], part[1])
	}
	produce(t, ctx, pr, byTime(preds)...)
	produce(t, ctx, pr, outs...)
	waitProcessed(t, ctx, s, 7000)
	waitJoined(t, ctx, s, 7000)
	for range 3 { // decisions are sent once, however often evaluated
		s.Evaluate()
	}
	w, e := rollout(s, "worse"), rollout(s, "equal")
	if w.Decision != "rollback" || w.DecidedAt == nil || !strings.Contains(w.Reason, "accuracy 0.7 < limit 0.83") {
		t.Fatalf("worse canary: %+v", w)
	}
	if a := w.Arms["v1"]; a.Events != 2000 || a.Errors != 20 || a.Outcomes != 2000 {
		t.Fatalf("stable arm: %+v", a)
	}
	if e.Decision != "promote" {
		t.Fatalf("equal canary: %+v", e)
	}
	metrics := getText(t, "http://"+s.HTTPAddr()+"/metrics")
	for _, want := range []string{
		`driftwatch_rollout_decision{model="worse",stable="v1",candidate="v2",decision="rollback"} 1`,
		`driftwatch_rollout_decision{model="equal",stable="v1",candidate="v2",decision="promote"} 1`,
		`driftwatch_rollout_metric{model="worse",metric="accuracy",version="v2"} 0.7`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	page := getText(t, "http://"+s.HTTPAddr()+"/models/worse")
	if !strings.Contains(page, `id="rollout" data-decision="rollback"`) {
		t.Errorf("status page lacks the rollout verdict")
	}
	// Both acknowledged (not only received): a notification whose answer
	// is still on its way is in the final checkpoint and is delivered again
	// after the restart, under the same idempotency key.
	sent := `driftwatch_notifications_total{notifier="hook",outcome="sent"}`
	for deadline := time.Now().Add(10 * time.Second); metricValue([]byte(getText(t, "http://"+s.HTTPAddr()+"/metrics")), sent) != "2"; {
		if time.Now().After(deadline) {
			t.Fatalf("%s is not 2 after 10s; %d webhook calls", sent, len(calls()))
		}
		time.Sleep(10 * time.Millisecond)
	}
	c := calls()
	if len(c) != 2 {
		t.Fatalf("%d webhook calls, want one rollback and one promote: %+v", len(c), c)
	}
	byRule := map[string]webhook.Payload{}
	for _, p := range c {
		byRule[p.Rule] = p
	}
	rb, pm := byRule["RollBack"], byRule["Promote"]
	if rb.Model != "worse" || rb.Version != "v2" || rb.Status != "firing" || rb.Labels["stable"] != "v1" ||
		!strings.Contains(rb.Annotations["reason"], "accuracy") {
		t.Fatalf("rollback webhook: %+v", rb)
	}
	if pm.Model != "equal" || pm.Version != "v2" || pm.Annotations["decision"] != "promote" {
		t.Fatalf("promote webhook: %+v", pm)
	}
	// Real text and the compared events' times, not "threshold 1 over
	// +Inf samples" and year 1.
	for _, p := range []webhook.Payload{rb, pm} {
		text := p.Reason + " " + p.Annotations["description"]
		if !strings.Contains(p.Reason, " of candidate v2 (stable v1) decided: ") || strings.Contains(text, "Inf") || strings.Contains(text, "threshold") {
			t.Errorf("%s: reason %q description %q", p.Rule, p.Reason, p.Annotations["description"])
		}
		if p.Window.Start == nil || p.Window.End == nil || p.Window.Start.Year() < 2000 || p.Window.End.Before(*p.Window.Start) {
			t.Errorf("%s: window %v to %v", p.Rule, p.Window.Start, p.Window.End)
		}
	}

	// A restart from the state directory: the arms and the decisions come
	// back, and nothing is sent again.
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	s2, _, _ := startWith(t, cfg, nil)
	s2.Evaluate()
	w2 := rollout(s2, "worse")
	if w2.Decision != "rollback" || w2.Arms["v1"] != w.Arms["v1"] || w2.Arms["v2"] != w.Arms["v2"] || !w2.DecidedAt.Equal(*w.DecidedAt) {
		t.Fatalf("after restart: %+v\nbefore: %+v", w2, w)
	}
	time.Sleep(100 * time.Millisecond)
	if n := len(calls()); n != 2 {
		t.Fatalf("%d webhook calls after the restart, want 2: %+v", n, calls()[2:])
	}
}

// Shadow mode: both versions score every request under the same id; the
// candidate's predictions pair with stable's (agreement, score
// differences) and both arms get the outcome.
func TestShadowRollout(t *testing.T) {
	cfg := `
kafka: {embedded_addr: "127.0.0.1:0"}
defaults: {evaluate_every: 1h}
models:
  - name: credit
    task: classification
    versions: [{name: v1, reference: p.dwprof}, {name: v2, reference: p.dwprof}]
    rollout: {stable: v1, candidate: v2, mode: shadow, min_period: 1m, min_samples: 100, criteria: [{metric: accuracy, tolerance: 0.05}]}
`
	s, pr, ctx := startWith(t, cfg, nil)
	ts := time.Now().Add(-10 * time.Minute).UnixMilli()
	const n = 400
	var msgs []string
	for i := range n {
		// v2 predicts the other class on every fifth request, with a
		// score 0.1 higher throughout.
		p1, p2 := i%2, i%2
		if i%5 == 0 {
			p2 = 1 - p2
		}
		for _, v := range []struct {
			name        string
			pred, score any
		}{{"v1", p1, 0.5}, {"v2", p2, 0.6}} {
			msgs = append(msgs, fmt.Sprintf(`{"id":"r%d","model":"credit","version":%q,"ts":%d,"features":{"income":50},"prediction":"%d","score":%v}`,
				i, v.name, ts+int64(i)*1000, v.pred, v.score))
		}
		msgs = append(msgs, fmt.Sprintf(`outcomes:{"id":"r%d","model":"credit","label":"%d"}`, i, p1))
	}
	produce(t, ctx, pr, msgs...)
	waitProcessed(t, ctx, s, 2*n)
	waitJoined(t, ctx, s, int64(2*n))
	s.Evaluate()
	var v rolloutView
	get(t, "http://"+s.HTTPAddr()+"/api/v1/models/credit/rollout", &v)
	if v.Shadow == nil || v.Shadow.Pairs != n || v.Shadow.Agreement != 0.8 || v.Shadow.MeanAbsDiff < 0.0999 || v.Shadow.MeanAbsDiff > 0.1001 {
		t.Fatalf("shadow agreement: %+v", v.Shadow)
	}
	if v.Arms["v1"].Outcomes != n || v.Arms["v2"].Outcomes != n {
		t.Fatalf("arms: %+v", v.Arms)
	}
	if c := v.Checks[0]; *c.Stable != 1 || *c.Candidate != 0.8 {
		t.Fatalf("accuracy: %+v", c)
	}
	if v.Decision != "rollback" {
		t.Fatalf("a shadow 20 points less accurate: %+v", v)
	}
}

// The same events as Arrow messages and as JSON give the same rollout:
// arms, every criterion's numbers, drift and the decision.
func TestRolloutArrowEqualsJSON(t *testing.T) {
	base := time.Now().Add(-40 * time.Minute).Truncate(time.Minute)
	var preds, outs []events.Event
	for i := range 3000 {
		v := "v1"
		if i%3 == 0 {
			v = "v2"
		}
		pred := i % 2
		label := pred
		if i%7 == 0 || (v == "v2" && i%5 == 0) {
			label = 1 - pred
		}
		id := fmt.Sprintf("p%d", i)
		preds = append(preds, events.Event{ID: id, Model: "credit", Version: v, TS: base.Add(time.Duration(i) * 500 * time.Millisecond).UnixMilli(), HasTS: true,
			Features:   []events.Value{{Name: "income", Kind: events.Number, Num: 45 + float64(i%20)}, {Name: "home", Kind: events.String, Str: "OWN"}},
			Prediction: events.Value{Kind: events.String, Str: fmt.Sprint(pred)}, HasPrediction: true,
			Score: 0.3 + 0.4*float64(pred), HasScore: true, LatencyMS: 10 + float64(i%13), HasLatency: true,
			Error: i%50 == 0, HasError: true})
		outs = append(outs, events.Event{ID: id, Model: "credit", Label: events.Value{Kind: events.String, Str: fmt.Sprint(label)}, HasLabel: true})
	}
	cfg := `
kafka: {embedded_addr: "127.0.0.1:0"}
format: %s
defaults: {evaluate_every: 1h}
models:
  - name: credit
    task: classification
    versions: [{name: v1, reference: p.dwprof}, {name: v2, reference: p.dwprof}]
    rollout: {stable: v1, candidate: v2, min_period: 10m, min_samples: 200, criteria: [{metric: accuracy, tolerance: 0.02}, {metric: auc, tolerance: 0.02}, {metric: f1, tolerance: 0.02}, {metric: latency_p95, ratio: 1.1}, {metric: error_rate, ratio: 1.2}]}
`
	run := func(format string) map[string]any {
		s, pr, ctx := startWith(t, fmt.Sprintf(cfg, format), nil)
		var recs []*kgo.Record
		if format == "json" {
			for i, e := range preds {
				recs = append(recs, &kgo.Record{Topic: "predictions", Value: []byte(fmt.Sprintf(
					`{"id":%q,"model":"credit","version":%q,"ts":%d,"features":{"income":%g,"home":"OWN"},"prediction":%q,"score":%g,"latency_ms":%g,"error":%v}`,
					e.ID, e.Version, e.TS, e.Features[0].Num, e.Prediction.Str, e.Score, e.LatencyMS, e.Error))})
				recs = append(recs, &kgo.Record{Topic: "outcomes", Value: []byte(fmt.Sprintf(`{"id":%q,"model":"credit","label":%q}`, e.ID, outs[i].Label.Str))})
			}
		} else {
			for i := 0; i < len(preds); i += 250 {
				p, err := events.EncodeArrow(preds[i:i+250], events.DefaultFields)
				if err != nil {
					t.Fatal(err)
				}
				o, err := events.EncodeArrow(outs[i:i+250], events.DefaultFields)
				if err != nil {
					t.Fatal(err)
				}
				recs = append(recs, &kgo.Record{Topic: "predictions", Value: p}, &kgo.Record{Topic: "outcomes", Value: o})
			}
		}
		if err := pr.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
		waitProcessed(t, ctx, s, int64(len(preds)))
		waitJoined(t, ctx, s, int64(len(outs)))
		s.Evaluate()
		var v map[string]any
		get(t, "http://"+s.HTTPAddr()+"/api/v1/models/credit/rollout", &v)
		delete(v, "evaluated_at")
		delete(v, "decided_at")
		return v
	}
	j, a := run("json"), run("arrow")
	if fmt.Sprint(j) != fmt.Sprint(a) {
		t.Fatalf("JSON: %v\nArrow: %v", j, a)
	}
	arms := j["arms"].(map[string]any)
	if v2 := arms["v2"].(map[string]any); v2["events"] != 1000.0 || v2["errors"] != 20.0 || v2["outcomes"] != 1000.0 {
		t.Fatalf("candidate arm %v", v2)
	}
	if j["decision"] != "rollback" {
		t.Fatalf("a candidate 20%% less accurate on a fifth of its outcomes: %v", j["decision"])
	}
}

// A rollout that cannot decide within max_period ends inconclusive: the
// decision is latched and alerted once, and the comparison that goes on
// after it is shown apart (since_decision), never as the decision, even
// when it would now say rollback.
func TestRolloutInconclusiveLatched(t *testing.T) {
	hook, calls := signedHook(t)
	cfg := fmt.Sprintf(`
kafka: {embedded_addr: "127.0.0.1:0"}
defaults: {evaluate_every: 1h, window: {length: 2h, pane: 1m}}
models:
  - name: few
    task: classification
    versions: [{name: v1, reference: p.dwprof}, {name: v2, reference: p.dwprof}]
    rollout: {stable: v1, candidate: v2, min_period: 10m, max_period: 15m, min_samples: 500}
alerting:
  notifiers: [{name: hook, webhook: {url: %q, secret: s3cret}}]
  rules:
    - {name: Undecided, statistic: rollout_inconclusive, warning: 1, actions: [hook]}
`, hook.URL)
	s, pr, ctx := startWith(t, cfg, nil)
	base := time.Now().Add(-60 * time.Minute).Truncate(time.Minute)
	view := func() (v rolloutView, raw map[string]any) {
		t.Helper()
		get(t, "http://"+s.HTTPAddr()+"/api/v1/models/few/rollout", &v)
		get(t, "http://"+s.HTTPAddr()+"/api/v1/models/few/rollout", &raw)
		return v, raw
	}
	// 20 minutes with 300 outcomes per arm: accuracy waits for
	// min_samples past max_period.
	sp, so := rolloutEvents("few", "v1", "s", 300, 0.85, 1, base, 20*time.Minute)
	cp, co := rolloutEvents("few", "v2", "c", 300, 0.85, 1, base, 20*time.Minute)
	produce(t, ctx, pr, byTime(append(sp, cp...))...)
	produce(t, ctx, pr, append(so, co...)...)
	waitProcessed(t, ctx, s, 600)
	waitJoined(t, ctx, s, 600)
	s.Evaluate()
	v, raw := view()
	if v.Decision != "inconclusive" || v.DecidedAt == nil || !strings.Contains(v.Reason, "max_period 15m0s") || raw["latched"] != true {
		t.Fatalf("after max_period: %+v", raw)
	}

	// 30 more minutes in which the candidate is far worse: alone, the
	// comparison would now roll back; the latched decision stands.
	sp, so = rolloutEvents("few", "v1", "s2", 2000, 0.85, 1, base.Add(20*time.Minute), 30*time.Minute)
	cp, co = rolloutEvents("few", "v2", "c2", 2000, 0.50, 1, base.Add(20*time.Minute), 30*time.Minute)
	produce(t, ctx, pr, byTime(append(sp, cp...))...)
	produce(t, ctx, pr, append(so, co...)...)
	waitProcessed(t, ctx, s, 4600)
	waitJoined(t, ctx, s, 4600)
	s.Evaluate()
	s.Evaluate()
	v2, raw2 := view()
	since, _ := raw2["since_decision"].(map[string]any)
	if v2.Decision != "inconclusive" || !v2.DecidedAt.Equal(*v.DecidedAt) || since["decision"] != "rollback" {
		t.Fatalf("after the latch: %+v", raw2)
	}
	if d, _, _ := s.Rollout("few"); d != "inconclusive" {
		t.Fatalf("Service.Rollout = %q", d)
	}
	page := getText(t, "http://"+s.HTTPAddr()+"/models/few")
	if !strings.Contains(page, `data-decision="inconclusive"`) || !strings.Contains(page, "this decision stands") {
		t.Errorf("status page does not show the latched decision apart from the comparison since")
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(calls()) < 1 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	s.Evaluate()
	if c := calls(); len(c) != 1 || c[0].Rule != "Undecided" || c[0].Annotations["decision"] != "inconclusive" {
		t.Fatalf("webhook calls: %+v", c)
	}
}
