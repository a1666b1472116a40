package monitor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"driftwatch/profile"
	"driftwatch/stats"
)

// A count window holds the last count events (to a tenth) whatever their
// time, and credits outcomes by sequence number.
func TestCountWindow(t *testing.T) {
	prof, _ := profile.Build(table(5000, 0, 21), profile.Options{})
	v, err := NewCountWindow(prof, 1000)
	if err != nil {
		t.Fatal(err)
	}
	// Event times are irrelevant: all equal, or going backwards.
	t0 := time.Unix(1_800_000_000, 0)
	for i := range 7 {
		b := batchOf(table(500, 0, uint64(30+i)), t0.Add(-time.Duration(i)*time.Hour), 0)
		if late := v.AddBatch(b); late != 0 {
			t.Fatalf("batch %d: %d late", i, late)
		}
	}
	ev := v.Evaluate(1e-4)
	// 3500 events in panes of 100: the window is the newest 10 full panes
	// plus the partial head, 1000 to 1100 events.
	if ev.Events < 1000 || ev.Events > 1100 || !ev.Start.IsZero() {
		t.Fatalf("count window holds %v events, start %v", ev.Events, ev.Start)
	}
	key := v.Next(0)
	if key != 3500 {
		t.Fatalf("next key %d", key)
	}
	if !v.AddOutcome(key-1, Outcome{Correct: true, Err: math.NaN()}) || !v.AddOutcome(key-900, Outcome{Err: math.NaN()}) {
		t.Fatal("outcomes of events in the window must be credited")
	}
	if v.AddOutcome(key-2000, Outcome{Correct: true, Err: math.NaN()}) {
		t.Fatal("an outcome of an event that left the window must be dropped")
	}
	if ev := v.Evaluate(1e-4); ev.Joined != 2 || ev.Accuracy != 0.5 {
		t.Fatalf("joined %v accuracy %v", ev.Joined, ev.Accuracy)
	}
	if _, err := NewCountWindow(prof, 0); err == nil {
		t.Fatal("count 0 must be refused")
	}
}

// Missing and invalid values are nulls with their own rates; confidence
// counts only where present.
func TestFlagsAndConfidence(t *testing.T) {
	prof, _ := profile.Build(table(5000, 0, 22), profile.Options{})
	v, _ := NewWindow(prof, time.Hour, time.Minute, time.Hour)
	nan := math.NaN()
	t0 := time.Unix(1_800_000_000, 0).UnixMilli()
	b := &Batch{
		TS:         []int64{t0, t0, t0, t0},
		Num:        [][]float64{{0.5, nan, nan, nan}, {1, 2, nan, 3}},
		NumFlags:   [][]uint8{{FlagNull, FlagMissing, FlagInvalid, FlagNull}, nil},
		Cat:        [][]string{{"a", "", "", "b"}},
		CatNull:    [][]bool{{false, true, true, false}},
		CatFlags:   [][]uint8{{FlagNull, FlagMissing, FlagNull, FlagNull}},
		Confidence: []float64{0.95, 0.5, nan, 0.9},
	}
	v.AddBatch(b)
	ev := v.Evaluate(1e-4)
	x, y, c := ev.Features[0], ev.Features[1], ev.Features[2]
	if x.NullRate != 0.75 || x.MissingRate != 0.25 || x.InvalidRate != 0.25 {
		t.Fatalf("x: null %v missing %v invalid %v", x.NullRate, x.MissingRate, x.InvalidRate)
	}
	if y.NullRate != 0.25 || y.MissingRate != 0 || y.InvalidRate != 0 {
		t.Fatalf("y: null %v missing %v invalid %v", y.NullRate, y.MissingRate, y.InvalidRate)
	}
	if c.NullRate != 0.5 || c.MissingRate != 0.25 || c.InvalidRate != 0 {
		t.Fatalf("c: null %v missing %v invalid %v", c.NullRate, c.MissingRate, c.InvalidRate)
	}
	if ev.Scored != 3 || ev.HighConfidenceShare != 2.0/3 {
		t.Fatalf("scored %v high-confidence share %v", ev.Scored, ev.HighConfidenceShare)
	}
}

// Streaming F1, AUC and ECE equal `check`'s (stats.ClassificationMetrics,
// itself held to scikit-learn's golden values) on the same outcomes. Scores
// with two decimals sit on the AUC bins' lower edges, so the binned AUC has
// nothing to approximate and must be exact too.
func TestStreamingQualityEqualsBatch(t *testing.T) {
	prof, _ := profile.Build(table(2000, 0, 23), profile.Options{})
	v, _ := NewWindow(prof, time.Hour, time.Minute, time.Hour)
	t0 := time.Unix(1_800_000_000, 0).UnixMilli()
	v.AddBatch(batchOf(table(10, 0, 24), time.UnixMilli(t0), time.Second))
	r := rand.New(rand.NewPCG(25, 26))
	var labels, preds []string
	var scores []float64
	for i := range 5000 {
		y := r.IntN(3) == 0
		// 1.0 would share the last AUC bin with 0.99: the one place where
		// two-decimal scores are approximated.
		s := math.Round(min(max(r.NormFloat64()*0.2+map[bool]float64{true: 0.65, false: 0.35}[y], 0), 0.99)*100) / 100
		if i%7 == 0 {
			s = float64(r.IntN(10)) / 10 // edges of the calibration bins, 0 included
		}
		pred := s >= 0.5
		labels, preds, scores = append(labels, fmt.Sprint(b2i(y))), append(preds, fmt.Sprint(b2i(pred))), append(scores, s)
		v.AddOutcome(t0+int64(i%600)*10, Outcome{Correct: y == pred, Err: math.NaN(), Positive: y, PredictedPositive: pred, Score: s})
	}
	ev := v.Evaluate(1e-4)
	want := stats.ClassificationMetrics(labels, preds, scores, "1")
	var f1 float64
	for _, c := range want.PerClass {
		if c.Class == "1" {
			f1 = c.F1
		}
	}
	for _, c := range []struct {
		name      string
		got, want float64
	}{{"accuracy", ev.Accuracy, want.Accuracy}, {"f1", ev.F1, f1}, {"auc", ev.AUC, want.ROCAUC}, {"ece", ev.ECE, want.ECE}} {
		if math.Abs(c.got-c.want) > 1e-12 {
			t.Errorf("%s: streaming %v, batch %v", c.name, c.got, c.want)
		}
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
