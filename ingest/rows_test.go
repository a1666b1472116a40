package ingest

import (
	"math"
	"testing"

	"driftwatch/config"
	"driftwatch/events"
	"driftwatch/monitor"
)

// Each event becomes one row of every column: a value, a null, a missing
// or an invalid flag; a number for a categorical feature is its text; the
// score and the predicted class fill the features named like their fields.
func TestRowsAdd(t *testing.T) {
	f := &config.Fields{Score: "score", Prediction: "prediction"}
	r := NewRows([]string{"x", "score"}, []string{"c", "prediction"}, f)
	r.Add(&events.Event{ID: "a", Features: []events.Value{{Name: "x", Kind: events.Number, Num: 2}, {Name: "c", Kind: events.Number, Num: 1.5}},
		Score: 0.7, HasScore: true}, 10)
	r.Add(&events.Event{ID: "b", Features: []events.Value{{Name: "c", Kind: events.String, Str: "red"}, {Name: "x", Kind: events.String, Str: "oops"}},
		Prediction: events.Value{Kind: events.String, Str: "0"}, HasPrediction: true}, 11)
	r.Add(&events.Event{ID: "c", Features: []events.Value{{Name: "x", Kind: events.Null}}}, 12)
	b := &r.Batch
	if r.N != 3 || len(r.Preds) != 3 || r.Preds[1].ID != "b" || b.TS[2] != 12 {
		t.Fatalf("rows %d, predictions %+v, ts %v", r.N, r.Preds, b.TS)
	}
	if b.Num[0][0] != 2 || b.NumFlags[0][0] != monitor.FlagNull || b.NumFlags[0][1] != monitor.FlagInvalid || b.NumFlags[0][2] != monitor.FlagNull || !math.IsNaN(b.Num[0][2]) {
		t.Errorf("x: %v %v", b.Num[0], b.NumFlags[0])
	}
	if b.Num[1][0] != 0.7 || b.NumFlags[1][1] != monitor.FlagMissing {
		t.Errorf("score: %v %v", b.Num[1], b.NumFlags[1])
	}
	if b.Cat[0][0] != "1.5" || b.Cat[0][1] != "red" || !b.CatNull[0][2] || b.CatFlags[0][2] != monitor.FlagMissing {
		t.Errorf("c: %q %v %v", b.Cat[0], b.CatNull[0], b.CatFlags[0])
	}
	// Without a predicted class the score decides: 0.7 is class 1.
	if b.Cat[1][0] != "1" || b.Cat[1][1] != "0" || !b.CatNull[1][2] {
		t.Errorf("prediction: %q %v", b.Cat[1], b.CatNull[1])
	}
	if c := b.Confidence; c[0] != 0.7 || !math.IsNaN(c[1]) {
		t.Errorf("confidence %v", c)
	}
	r.Reset()
	if r.N != 0 || len(b.TS) != 0 || len(b.Num[0]) != 0 || len(b.Cat[0]) != 0 || len(r.Preds) != 0 {
		t.Fatalf("after Reset: %d rows, %v", r.N, b)
	}
}

func TestPredictionOf(t *testing.T) {
	for _, c := range []struct {
		ev    events.Event
		class string
	}{
		{events.Event{Score: 0.5, HasScore: true}, "1"},
		{events.Event{Score: 0.49, HasScore: true}, "0"},
		{events.Event{Score: 0.9, HasScore: true, Prediction: events.Value{Kind: events.String, Str: "0"}, HasPrediction: true}, "0"},
		{events.Event{}, ""},
	} {
		if p := PredictionOf(&c.ev, 5); p.Class != c.class || p.TS != 5 {
			t.Errorf("PredictionOf(%+v) = %+v, want class %q", c.ev, p, c.class)
		}
	}
}
