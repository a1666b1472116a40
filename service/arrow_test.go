package service

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"driftwatch/detectors"
	"driftwatch/events"
	"driftwatch/profile"
)

// Arrow messages of events: streaming PSI equals check's on the same
// events, versions are split by row runs, absent features count as
// missing, outcomes join, and corrupt or unknown-model messages are
// dead-lettered whole.
func TestArrowMessages(t *testing.T) {
	s, pr, ctx := startWith(t, `
kafka: {embedded_addr: "127.0.0.1:0"}
format: arrow
defaults: {min_samples: 10}
models:
  - {name: credit, task: classification, versions: [{name: v1, reference: p.dwprof}, {name: v2, reference: p.dwprof}], evaluate_every: 1h}
`, nil)
	cur := credit(3000, 4, 11)
	t0 := time.Now().Add(-5 * time.Minute).UnixMilli()
	f := events.DefaultFields
	var msgs [][]byte
	for start := 0; start < cur.Rows; start += 500 {
		var evs []events.Event
		for i := start; i < start+500; i++ {
			ev := events.Event{ID: fmt.Sprintf("p%d", i), Model: "credit", Version: "v1", TS: t0 + int64(i), HasTS: true,
				Features: []events.Value{{Name: "income", Kind: events.Number, Num: cur.Columns[0].Num[i]}},
				Score:    0.97, HasScore: true, Prediction: events.Value{Kind: events.String, Str: "1"}, HasPrediction: true}
			if start == 0 && i >= 450 {
				ev.Version = "v2" // a second run of rows in the same message
			}
			// home as a categorical column in every message but the last.
			if start < 2500 {
				ev.Features = append(ev.Features, events.Value{Name: "home", Kind: events.String, Str: cur.Columns[1].Str[i]})
			}
			evs = append(evs, ev)
		}
		msg, err := events.EncodeArrow(evs, f)
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, msg)
	}
	outs, err := events.EncodeArrow([]events.Event{
		{ID: "p10", Model: "credit", Label: events.Value{Kind: events.String, Str: "1"}, HasLabel: true},
		{ID: "p11", Model: "credit", Label: events.Value{Kind: events.String, Str: "0"}, HasLabel: true},
	}, f)
	if err != nil {
		t.Fatal(err)
	}
	var recs []*kgo.Record
	for i, m := range msgs {
		recs = append(recs, &kgo.Record{Topic: "predictions", Key: []byte(fmt.Sprint(i)), Value: m})
	}
	unknown, _ := events.EncodeArrow([]events.Event{{ID: "x", Model: "fraud", Version: "v1"}}, f)
	recs = append(recs, &kgo.Record{Topic: "predictions", Value: msgs[0][:len(msgs[0])/2]}, // truncated
		&kgo.Record{Topic: "predictions", Value: unknown}, &kgo.Record{Topic: "outcomes", Value: outs})
	if err := pr.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	waitProcessed(t, ctx, s, 3002)
	for s.Joined() < 2 && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
	}
	s.Evaluate()
	v1, _ := s.Latest("credit", "v1")
	v2, _ := s.Latest("credit", "v2")
	if v1.Events != 2950 || v2.Events != 50 || v1.Joined != 2 || v1.Accuracy != 0.5 {
		t.Fatalf("v1 %v events, %v joined, accuracy %v; v2 %v events", v1.Events, v1.Joined, v1.Accuracy, v2.Events)
	}
	// PSI of income over v1's rows equals check's on the same values.
	prof, err := profile.Build(credit(2000, 0, 7), profile.Options{}) // as startWith builds it
	if err != nil {
		t.Fatal(err)
	}
	sub := credit(3000, 4, 11)
	sub.Columns[0].Num = append(append([]float64(nil), sub.Columns[0].Num[:450]...), sub.Columns[0].Num[500:]...)
	sub.Columns[1].Str = sub.Columns[1].Str[:2950]
	sub.Rows = 2950
	rep := detectors.Compare(prof, sub, detectors.DefaultConfig())
	income := v1.Features[0]
	if income.Name != "income" || income.PSI != float64(rep.Features[0].Statistics.PSI.Value) {
		t.Fatalf("income: streaming PSI %v, check %v", income.PSI, rep.Features[0].Statistics.PSI.Value)
	}
	// home was absent from the last message: 500 of v1's 2950 events miss it.
	if home := v1.Features[1]; home.MissingRate != 500.0/2950 {
		t.Fatalf("home missing rate %v", home.MissingRate)
	}
	if v1.HighConfidenceShare != 1 {
		t.Fatalf("high-confidence share %v", v1.HighConfidenceShare)
	}
	text := getText(t, "http://"+s.HTTPAddr()+"/metrics")
	for _, want := range []string{`driftwatch_dead_letters_total{reason="malformed"} 1`, `driftwatch_dead_letters_total{reason="unknown_model"} 1`} {
		if !strings.Contains(text, want) {
			t.Fatalf("/metrics lacks %q", want)
		}
	}
}
