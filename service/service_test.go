package service

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"driftwatch/api"
	"driftwatch/config"
	"driftwatch/dataset"
	"driftwatch/detectors"
	"driftwatch/profile"
	"driftwatch/vocab"
)

func credit(n int, shift float64, seed uint64) *dataset.Table {
	r := rand.New(rand.NewPCG(seed, 1))
	x := &dataset.Column{Name: "income", Kind: dataset.KindNumeric, Num: make([]float64, n)}
	c := &dataset.Column{Name: "home", Kind: dataset.KindCategorical, Str: make([]string, n)}
	for i := range n {
		x.Num[i] = math.Round((50+10*r.NormFloat64()+shift)*100) / 100
		c.Str[i] = []string{"OWN", "RENT", "MORTGAGE"}[r.IntN(3)]
	}
	return &dataset.Table{Rows: n, Columns: []*dataset.Column{x, c}}
}

func TestServeEndToEnd(t *testing.T) {
	dir := t.TempDir()
	prof, err := profile.Build(credit(5000, 0, 1), profile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := prof.WriteFile(filepath.Join(dir, "credit.dwprof")); err != nil {
		t.Fatal(err)
	}
	// A reference of 800 rows: `check`'s rule decides by p-value tests
	// (KS, chi-square) rather than distances.
	small, err := profile.Build(credit(800, 0, 3), profile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := small.WriteFile(filepath.Join(dir, "small.dwprof")); err != nil {
		t.Fatal(err)
	}
	cfgText := `
kafka: {embedded_addr: "127.0.0.1:0"}
models:
  - name: credit
    task: classification
    versions: [{name: v1, reference: credit.dwprof}]
    features: [{name: income, kind: numeric}, {name: home, kind: categorical}]
    evaluate_every: 1h
  - name: small
    task: classification
    versions: [{name: v1, reference: small.dwprof}]
    features: [{name: income, kind: numeric}, {name: home, kind: categorical}]
    evaluate_every: 1h
`
	cfgPath := filepath.Join(dir, "dw.yaml")
	os.WriteFile(cfgPath, []byte(cfgText), 0o644)
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s, err := Start(ctx, Options{Config: cfg, HTTPAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })

	cur := credit(2000, 3, 2)
	pr, err := kgo.NewClient(kgo.SeedBrokers(s.Brokers()...), kgo.DefaultProduceTopic("predictions"))
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	t0 := time.Now().Add(-10 * time.Minute).UnixMilli()
	var recs []*kgo.Record
	for i := range cur.Rows {
		msg := fmt.Sprintf(`{"id":"p%d","model":"credit","version":"v1","ts":%d,"features":{"income":%v,"home":%q},"score":0.3}`,
			i, t0+int64(i)*100, cur.Columns[0].Num[i], cur.Columns[1].Str[i])
		recs = append(recs, &kgo.Record{Key: []byte(fmt.Sprint(i % 5)), Value: []byte(msg)},
			&kgo.Record{Key: []byte(fmt.Sprint(i % 5)), Value: []byte(strings.Replace(msg, `"model":"credit"`, `"model":"small"`, 1))})
	}
	recs = append(recs, &kgo.Record{Value: []byte(`{"id": 1, "model": "credit"`)},
		&kgo.Record{Value: []byte(`{"id":"x","model":"fraud","ts":1}`)},
		&kgo.Record{Value: []byte(`{"id":"y","model":42,"ts":1}`)},                    // wrong_type, not unknown_model
		&kgo.Record{Topic: "outcomes", Value: []byte(`{"id":"p1","model":"credit"}`)}) // missing_field: no label or value
	if err := pr.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}

	base := "http://" + s.HTTPAddr()
	var model struct {
		Versions []struct {
			Events   float64
			Features []struct {
				Name string
				PSI  *float64 `json:"psi"`
			}
		}
	}
	for ctx.Err() == nil {
		s.Evaluate()
		get(t, base+"/api/v1/models/credit", &model)
		m := getText(t, base+"/metrics")
		if model.Versions[0].Events == 2000 && strings.Contains(m, `driftwatch_dead_letters_total{reason="unknown_model"} 1`) &&
			strings.Contains(m, `driftwatch_dead_letters_total{reason="missing_field"} 1`) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	rep := detectors.Compare(prof, cur, detectors.DefaultConfig())
	for _, f := range model.Versions[0].Features {
		for _, want := range rep.Features {
			if want.Name == f.Name && (f.PSI == nil || *f.PSI != float64(want.Statistics.PSI.Value)) {
				t.Fatalf("%s: streaming PSI %v, check PSI %v", f.Name, f.PSI, want.Statistics.PSI.Value)
			}
		}
	}
	// The same events through `check` and the stream: the same deciding
	// test and the same drifted features, for a large reference (normalized
	// Wasserstein, Jensen-Shannon) and a small one (KS, chi-square). The
	// income shift of 0.3 standard deviations has PSI ≈ 0.09, below PSI's
	// 0.2: a PSI verdict would miss what `check` reports.
	for _, c := range []struct {
		model string
		prof  *profile.Profile
		tests map[string]vocab.Statistic
	}{
		{"credit", prof, map[string]vocab.Statistic{"income": vocab.Wasserstein, "home": vocab.JS}},
		{"small", small, map[string]vocab.Statistic{"income": vocab.KS, "home": vocab.ChiSquare}},
	} {
		var got api.Model
		for ctx.Err() == nil {
			get(t, base+"/api/v1/models/"+c.model, &got)
			if got.Versions[0].Events == 2000 {
				break
			}
			s.Evaluate()
			time.Sleep(20 * time.Millisecond)
		}
		rep := detectors.Compare(c.prof, cur, detectors.DefaultConfig())
		var drifted []string
		for _, f := range rep.Features {
			if f.Test != c.tests[f.Name] {
				t.Fatalf("%s %s: check decides by %s, want %s", c.model, f.Name, f.Test, c.tests[f.Name])
			}
			if f.Drift {
				drifted = append(drifted, f.Name)
			}
		}
		if c.model == "credit" && !slices.Equal(drifted, []string{"income"}) {
			t.Fatalf("check: drifted %v, want [income]", drifted)
		}
		var stream []string
		for _, f := range got.Versions[0].Features {
			if f.Decision.Test != c.tests[f.Name] {
				t.Errorf("%s %s: the stream decides by %s, check by %s", c.model, f.Name, f.Decision.Test, c.tests[f.Name])
			}
			if f.State == api.StateDrift {
				stream = append(stream, f.Name)
			}
			for _, want := range rep.Features {
				if want.Name == f.Name && f.Kind == profile.Numeric {
					wn, cn := float64(f.WassersteinNormalized), float64(want.Statistics.Wasserstein.Normalized)
					if math.Abs(wn-cn) > 0.01*cn {
						t.Errorf("%s %s: normalized Wasserstein %g in the stream, %g in check", c.model, f.Name, wn, cn)
					}
				}
			}
		}
		slices.Sort(drifted)
		slices.Sort(stream)
		if !slices.Equal(drifted, stream) {
			t.Errorf("%s: check drifted %v, the stream %v", c.model, drifted, stream)
		}
	}
	metricsText := getText(t, base+"/metrics")
	for _, want := range []string{
		"# HELP driftwatch_feature_psi Population stability index",
		`driftwatch_dead_letters_total{reason="malformed"} 1`,
		`driftwatch_dead_letters_total{reason="wrong_type"} 1`,
		`driftwatch_dead_letters_total{reason="unknown_model"} 1`,
		`driftwatch_events_total{topic="predictions",result="ok"} 4000`,
		`driftwatch_feature_psi{model="credit",version="v1",feature="income"}`,
		`driftwatch_consumer_lag_messages{topic="predictions"}`,
	} {
		if !strings.Contains(metricsText, want) {
			t.Fatalf("/metrics lacks %q:\n%s", want, metricsText)
		}
	}
	if got := getText(t, base+"/readyz"); got != "ready\n" {
		t.Fatalf("readyz %q", got)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

func getText(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func get(t *testing.T, url string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(getText(t, url)), v); err != nil {
		t.Fatal(err)
	}
}

func TestOutcomesJoinAndAccuracy(t *testing.T) {
	dir := t.TempDir()
	prof, _ := profile.Build(credit(2000, 0, 3), profile.Options{})
	prof.WriteFile(filepath.Join(dir, "p.dwprof"))
	cfg, err := config.Parse([]byte(`
kafka: {embedded_addr: "127.0.0.1:0"}
models: [{name: credit, task: classification, versions: [{name: v1, reference: p.dwprof}], evaluate_every: 1h}]
`))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Dir = dir
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s, err := Start(ctx, Options{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	pr, _ := kgo.NewClient(kgo.SeedBrokers(s.Brokers()...))
	defer pr.Close()
	const n = 200
	ts := time.Now().Add(-time.Minute).UnixMilli()
	outcome := func(i int) *kgo.Record {
		label := i % 2
		if i%4 == 0 {
			label = 1 - label // a quarter are wrong
		}
		return &kgo.Record{Topic: "outcomes", Value: []byte(fmt.Sprintf(`{"id":"p%d","model":"credit","label":"%d"}`, i, label))}
	}
	var early, preds, late []*kgo.Record
	for i := range n {
		preds = append(preds, &kgo.Record{Topic: "predictions", Value: []byte(fmt.Sprintf(
			`{"id":"p%d","model":"credit","version":"v1","ts":%d,"features":{"income":50,"home":"OWN"},"prediction":"%d"}`, i, ts, i%2))})
		if i < 50 {
			early = append(early, outcome(i)) // before their predictions
		} else {
			late = append(late, outcome(i))
		}
	}
	for i, batch := range [][]*kgo.Record{early, preds, late} {
		if err := pr.ProduceSync(ctx, batch...).FirstErr(); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			time.Sleep(300 * time.Millisecond) // let most early outcomes arrive first
		}
	}
	waitJoined(t, ctx, s, int64(n))
	s.Evaluate()
	ev, _ := s.Latest("credit", "v1")
	if ev.Joined != n || ev.Accuracy != 0.75 {
		t.Fatalf("joined %v accuracy %v", ev.Joined, ev.Accuracy)
	}
}

// Output drift: a profile column named like the score field monitors the
// events' scores as a feature.
func TestScoreMonitoredAsFeature(t *testing.T) {
	dir := t.TempDir()
	ref := credit(2000, 0, 4)
	score := &dataset.Column{Name: "score", Kind: dataset.KindNumeric, Num: make([]float64, ref.Rows)}
	for i := range score.Num {
		score.Num[i] = float64(i%100) / 100
	}
	ref.Columns = append(ref.Columns, score)
	prof, _ := profile.Build(ref, profile.Options{})
	prof.WriteFile(filepath.Join(dir, "p.dwprof"))
	cfg, _ := config.Parse([]byte(`
kafka: {embedded_addr: "127.0.0.1:0"}
models: [{name: credit, task: classification, versions: [{name: v1, reference: p.dwprof}], evaluate_every: 1h}]
`))
	cfg.Dir = dir
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s, err := Start(ctx, Options{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	pr, _ := kgo.NewClient(kgo.SeedBrokers(s.Brokers()...), kgo.DefaultProduceTopic("predictions"))
	defer pr.Close()
	var recs []*kgo.Record
	for i := range 300 {
		recs = append(recs, &kgo.Record{Value: []byte(fmt.Sprintf(
			`{"id":"p%d","model":"credit","version":"v1","ts":%d,"features":{"income":50},"score":0.97}`, i, time.Now().UnixMilli()))})
	}
	if err := pr.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	for s.Processed() < 300 && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
	}
	s.Evaluate()
	ev, _ := s.Latest("credit", "v1")
	for _, f := range ev.Features {
		if f.Name == "score" {
			if f.Values != 300 || !(f.PSI > 1) {
				t.Fatalf("score feature: %+v", f)
			}
			return
		}
	}
	t.Fatal("score is not monitored")
}
