package service

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
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
	waitJoined(t, ctx, s, 2)
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

// Columns a version's profile does not know (a timestamp, a list, an extra
// number) are ignored and counted, not dead-lettered; a profile feature
// sent in a type no feature can have counts as invalid for that feature
// only; ts may be an Arrow Date64.
func TestArrowUnknownColumns(t *testing.T) {
	s, pr, ctx := startWith(t, `
kafka: {embedded_addr: "127.0.0.1:0"}
format: arrow
defaults: {min_samples: 10}
models:
  - {name: credit, task: classification, versions: [{name: v1, reference: p.dwprof}], evaluate_every: 1h}
`, nil)
	const n = 300
	cur := credit(n, 0, 11)
	t0 := time.Now().Add(-5 * time.Minute).UnixMilli()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.BinaryTypes.String}, {Name: "model", Type: arrow.BinaryTypes.String},
		{Name: "version", Type: arrow.BinaryTypes.String}, {Name: "ts", Type: arrow.FixedWidthTypes.Date64},
		{Name: "income", Type: arrow.PrimitiveTypes.Float64},
		{Name: "home", Type: arrow.FixedWidthTypes.Timestamp_ms, Nullable: true}, // a profile feature, wrongly typed
		{Name: "created_at", Type: arrow.FixedWidthTypes.Timestamp_ms, Nullable: true},
		{Name: "embedding", Type: arrow.ListOf(arrow.PrimitiveTypes.Float32), Nullable: true},
		{Name: "extra", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	for i := range n {
		b.Field(0).(*array.StringBuilder).Append(fmt.Sprintf("p%d", i))
		b.Field(1).(*array.StringBuilder).Append("credit")
		b.Field(2).(*array.StringBuilder).Append("v1")
		b.Field(3).(*array.Date64Builder).Append(arrow.Date64(t0 + int64(i)))
		b.Field(4).(*array.Float64Builder).Append(cur.Columns[0].Num[i])
		b.Field(5).(*array.TimestampBuilder).Append(arrow.Timestamp(t0))
		b.Field(6).(*array.TimestampBuilder).Append(arrow.Timestamp(t0))
		lb := b.Field(7).(*array.ListBuilder)
		lb.Append(true)
		lb.ValueBuilder().(*array.Float32Builder).AppendValues([]float32{1, 2, 3}, nil)
		b.Field(8).(*array.Float64Builder).Append(float64(i))
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	var buf bytes.Buffer
	w := ipc.NewWriter(&buf, ipc.WithSchema(schema))
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := pr.ProduceSync(ctx, &kgo.Record{Topic: "predictions", Value: buf.Bytes()}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	waitProcessed(t, ctx, s, n)
	s.Evaluate()
	v1, _ := s.Latest("credit", "v1")
	if v1.Events != n {
		t.Fatalf("%v events in the window, want %d (none late, none dead-lettered)", v1.Events, n)
	}
	income, home := v1.Features[0], v1.Features[1]
	if income.Name != "income" || income.NullRate != 0 || home.Name != "home" || home.InvalidRate != 1 || home.MissingRate != 0 {
		t.Fatalf("income null rate %v; home invalid %v missing %v", income.NullRate, home.InvalidRate, home.MissingRate)
	}
	prof, err := profile.Build(credit(2000, 0, 7), profile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rep := detectors.Compare(prof, cur, detectors.DefaultConfig())
	if income.PSI != float64(rep.Features[0].Statistics.PSI.Value) {
		t.Fatalf("income: streaming PSI %v, check %v", income.PSI, rep.Features[0].Statistics.PSI.Value)
	}
	text := getText(t, "http://"+s.HTTPAddr()+"/metrics")
	for _, want := range []string{
		`driftwatch_ignored_columns_total{model="credit",version="v1",column="created_at"} 300`,
		`driftwatch_ignored_columns_total{model="credit",version="v1",column="embedding"} 300`,
		`driftwatch_ignored_columns_total{model="credit",version="v1",column="extra"} 300`,
		`driftwatch_dead_letters_total{reason="wrong_type"} 0`,
		`driftwatch_dead_letters_total{reason="bad_timestamp"} 0`,
	} {
		if !strings.Contains(text, want) {
			t.Fatalf("/metrics lacks %q", want)
		}
	}
	if strings.Contains(text, `column="home"`) || strings.Contains(text, `column="income"`) {
		t.Fatal("a profile feature counted as an ignored column")
	}

	// Columns past the limit per version share one counter.
	fields := []arrow.Field{{Name: "id", Type: arrow.BinaryTypes.String}, {Name: "model", Type: arrow.BinaryTypes.String},
		{Name: "version", Type: arrow.BinaryTypes.String}, {Name: "income", Type: arrow.PrimitiveTypes.Float64}}
	for k := range 40 {
		fields = append(fields, arrow.Field{Name: fmt.Sprintf("x%02d", k), Type: arrow.PrimitiveTypes.Float64})
	}
	wide := arrow.NewSchema(fields, nil)
	wb := array.NewRecordBuilder(memory.DefaultAllocator, wide)
	defer wb.Release()
	for i := range 10 {
		wb.Field(0).(*array.StringBuilder).Append(fmt.Sprintf("w%d", i))
		wb.Field(1).(*array.StringBuilder).Append("credit")
		wb.Field(2).(*array.StringBuilder).Append("v1")
		for k := 3; k < len(fields); k++ {
			wb.Field(k).(*array.Float64Builder).Append(50)
		}
	}
	wrec := wb.NewRecordBatch()
	defer wrec.Release()
	buf.Reset()
	w = ipc.NewWriter(&buf, ipc.WithSchema(wide))
	if err := w.Write(wrec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := pr.ProduceSync(ctx, &kgo.Record{Topic: "predictions", Value: buf.Bytes()}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	waitProcessed(t, ctx, s, n+10)
	text = getText(t, "http://"+s.HTTPAddr()+"/metrics")
	// created_at, embedding and extra took 3 of the 32 names: x00..x28 get
	// theirs, the other 11 columns count together.
	for _, want := range []string{
		`driftwatch_ignored_columns_total{model="credit",version="v1",column="x28"} 10`,
		`driftwatch_ignored_columns_total{model="credit",version="v1",column="_other"} 110`,
	} {
		if !strings.Contains(text, want) {
			t.Fatalf("/metrics lacks %q", want)
		}
	}
	if strings.Contains(text, `column="x29"`) {
		t.Fatal("a column past the limit has its own counter")
	}
}
