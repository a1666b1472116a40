package service

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"driftwatch/config"
	"driftwatch/profile"
)

// startWith writes a profile built from credit(2000, 0, seed), starts the
// service on cfgText (which names it p.dwprof) and returns it with a
// producer.
func startWith(t *testing.T, cfgText string, now func() time.Time) (*Service, *kgo.Client, context.Context) {
	t.Helper()
	dir := t.TempDir()
	prof, err := profile.Build(credit(2000, 0, 7), profile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := prof.WriteFile(filepath.Join(dir, "p.dwprof")); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse([]byte(cfgText))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Dir = dir
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	s, err := Start(ctx, Options{Config: cfg, HTTPAddr: "127.0.0.1:0", Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	for !s.assignedOnce.Load() { // partitions assigned and restored: this member leads
		if ctx.Err() != nil {
			t.Fatal("no partitions assigned")
		}
		time.Sleep(5 * time.Millisecond)
	}
	pr, err := kgo.NewClient(kgo.SeedBrokers(s.Brokers()...), kgo.DefaultProduceTopic("predictions"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pr.Close)
	return s, pr, ctx
}

func produce(t *testing.T, ctx context.Context, pr *kgo.Client, msgs ...string) {
	t.Helper()
	recs := make([]*kgo.Record, len(msgs))
	for i, m := range msgs {
		topic := "predictions"
		if strings.HasPrefix(m, "outcomes:") {
			topic, m = "outcomes", strings.TrimPrefix(m, "outcomes:")
		}
		// Keyed by prediction id: predictions and outcomes co-partitioned.
		var ev struct{ ID any }
		json.Unmarshal([]byte(m), &ev)
		recs[i] = &kgo.Record{Topic: topic, Key: []byte(fmt.Sprint(ev.ID)), Value: []byte(m)}
	}
	if err := pr.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

func waitProcessed(t *testing.T, ctx context.Context, s *Service, n int64) {
	t.Helper()
	for s.Processed() < n {
		if ctx.Err() != nil {
			t.Fatalf("processed %d of %d", s.Processed(), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitJoined polls until n outcomes are joined, failing at ctx's deadline.
func waitJoined(t *testing.T, ctx context.Context, s *Service, n int64) {
	t.Helper()
	for s.Joined() < n {
		if ctx.Err() != nil {
			t.Fatalf("joined %d of %d", s.Joined(), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Two versions keep separate windows; late events are counted and left
// out; missing and wrongly typed features and confident predictions are
// counted; volume and last-event time are exposed.
func TestVersionsLateAndDataQuality(t *testing.T) {
	wall := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	s, pr, ctx := startWith(t, `
kafka: {embedded_addr: "127.0.0.1:0"}
defaults: {window: {length: 10m, pane: 1m, lateness: 1m}, min_samples: 10}
models:
  - name: credit
    task: classification
    versions: [{name: v1, reference: p.dwprof}, {name: v2, reference: p.dwprof}]
    evaluate_every: 1h
`, func() time.Time { return wall })
	t0 := wall.Add(-time.Hour).UnixMilli()
	var msgs []string
	for i := range 100 {
		v := "v1"
		if i%4 == 0 {
			v = "v2"
		}
		feats := fmt.Sprintf(`"income":%d,"home":"OWN"`, 40+i%20)
		switch i % 10 {
		case 1:
			feats = `"home":"RENT"` // income missing
		case 2:
			feats = `"income":"lots","home":null` // wrong type; explicit null
		}
		msgs = append(msgs, fmt.Sprintf(`{"id":"p%d","model":"credit","version":%q,"ts":%d,"features":{%s},"score":%v}`,
			i, v, t0+int64(i)*1000, feats, []float64{0.95, 0.5, 0.02, 0.7}[i%4]))
	}
	produce(t, ctx, pr, msgs...)
	waitProcessed(t, ctx, s, 100)
	// A partition's newest event moves the window; then one 20 minutes older
	// than it is late (outside the 10-minute window).
	produce(t, ctx, pr, fmt.Sprintf(`{"id":"q1","model":"credit","version":"v1","ts":%d,"features":{"income":50}}`, t0+30*60_000))
	waitProcessed(t, ctx, s, 101)
	produce(t, ctx, pr, fmt.Sprintf(`{"id":"q2","model":"credit","version":"v1","ts":%d,"features":{"income":50}}`, t0+10*60_000))
	waitProcessed(t, ctx, s, 102)
	s.Evaluate()

	v1, _ := s.Latest("credit", "v1")
	v2, _ := s.Latest("credit", "v2")
	// Each partition is consumed in order, but the partitions interleave:
	// the v1 window slid to [t0+21m, t0+31m) once q1 arrived, so v1's first
	// 75 events left it; q2 is late.
	if v1.Events != 1 || v1.Late < 1 {
		t.Fatalf("v1: events %v late %v", v1.Events, v1.Late)
	}
	if v2.Events != 25 || v2.Late != 0 {
		t.Fatalf("v2: events %v late %v", v2.Events, v2.Late)
	}
	// v2 has i = 0, 4, 8, …: i%10 ∈ {0, 2, 4, 6, 8}, so i%10 == 2 for 5 of 25
	// (income invalid, home null) and never 1; its scores are all 0.95.
	income, home := v2.Features[0], v2.Features[1]
	if income.Name != "income" || income.InvalidRate != 0.2 || income.MissingRate != 0 || income.NullRate != 0.2 {
		t.Fatalf("v2 income: %+v", income)
	}
	if home.NullRate != 0.2 || home.MissingRate != 0 || home.InvalidRate != 0 {
		t.Fatalf("v2 home: %+v", home)
	}
	if v2.Scored != 25 || v2.HighConfidenceShare != 1 {
		t.Fatalf("v2 output: scored %v high-confidence %v", v2.Scored, v2.HighConfidenceShare)
	}
	text := getText(t, "http://"+s.HTTPAddr()+"/metrics")
	for _, want := range []string{
		`driftwatch_model_events_total{model="credit",version="v2"} 25`,
		`driftwatch_model_events_total{model="credit",version="v1"} 76`,
		fmt.Sprintf(`driftwatch_model_last_event_timestamp_seconds{model="credit",version="v2"} %d`, wall.Unix()),
		`driftwatch_feature_invalid_rate{model="credit",version="v2",feature="income"} 0.2`,
		`driftwatch_model_high_confidence_share{model="credit",version="v2"} 1`,
		`driftwatch_late_events_total 1`,
	} {
		if !strings.Contains(text, want) {
			t.Fatalf("/metrics lacks %q:\n%s", want, text)
		}
	}
	var api struct {
		Versions []struct {
			Version  string
			Features []struct{ Name, State string }
		}
	}
	get(t, "http://"+s.HTTPAddr()+"/api/v1/models/credit", &api)
	if len(api.Versions) != 2 || api.Versions[0].Version != "v1" || api.Versions[0].Features[0].State != "insufficient_data" {
		t.Fatalf("api: %+v", api)
	}
}

// The join's count bound evicts the oldest pending predictions and counts
// them; a count window holds the last events whatever their time.
func TestJoinEvictionAndCountWindow(t *testing.T) {
	s, pr, ctx := startWith(t, `
kafka: {embedded_addr: "127.0.0.1:0"}
join: {max_pending: 10}
models:
  - name: credit
    task: classification
    versions: [{name: v1, reference: p.dwprof}]
    window: {count: 100}
    evaluate_every: 1h
`, nil)
	var msgs []string
	for i := range 300 {
		// Event times all over the place: a count window ignores them.
		msgs = append(msgs, fmt.Sprintf(`{"id":"p%d","model":"credit","version":"v1","ts":%d,"features":{"income":50},"prediction":"1"}`,
			i, int64(i%7)*86_400_000))
	}
	produce(t, ctx, pr, msgs...)
	waitProcessed(t, ctx, s, 300)
	// Outcomes for the last few predictions of each partition are still
	// pending; the first ones were evicted.
	var outs []string
	for i := range 300 {
		outs = append(outs, fmt.Sprintf(`outcomes:{"id":"p%d","model":"credit","label":"1"}`, i))
	}
	produce(t, ctx, pr, outs...)
	for ctx.Err() == nil {
		s.Evaluate()
		if strings.Contains(getText(t, "http://"+s.HTTPAddr()+"/metrics"), `driftwatch_join_pending{model="credit"} 0`) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	ev, _ := s.Latest("credit", "v1")
	if ev.Events < 100 || ev.Events > 110 || math.IsNaN(ev.Accuracy) && ev.Joined > 0 {
		t.Fatalf("count window: events %v joined %v", ev.Events, ev.Joined)
	}
	// At most max_pending predictions waited; their outcomes joined, the
	// other outcomes now wait as early ones.
	if s.Joined() != 10 {
		t.Fatalf("joined %d, want the 10 pending predictions", s.Joined())
	}
	text := getText(t, "http://"+s.HTTPAddr()+"/metrics")
	if !strings.Contains(text, `driftwatch_join_evicted{model="credit"} 290`) {
		t.Fatalf("evictions not counted:\n%s", text)
	}
}
