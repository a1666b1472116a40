package monitor

import (
	"math"
	"testing"
	"time"

	"driftwatch/profile"
)

// A count window holds the last count events (to a tenth) whatever their
// time, and credits outcomes by sequence number.
func TestCountWindow(t *testing.T) {
	prof, _ := profile.Build(table(5000, 0, 21), profile.Options{})
	v, err := NewCountVersion(prof, 1000)
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
	if !v.AddOutcome(key-1, true, math.NaN()) || !v.AddOutcome(key-900, false, math.NaN()) {
		t.Fatal("outcomes of events in the window must be credited")
	}
	if v.AddOutcome(key-2000, true, math.NaN()) {
		t.Fatal("an outcome of an event that left the window must be dropped")
	}
	if ev := v.Evaluate(1e-4); ev.Joined != 2 || ev.Accuracy != 0.5 {
		t.Fatalf("joined %v accuracy %v", ev.Joined, ev.Accuracy)
	}
	if _, err := NewCountVersion(prof, 0); err == nil {
		t.Fatal("count 0 must be refused")
	}
}

// Missing and invalid values are nulls with their own rates; confidence
// counts only where present.
func TestFlagsAndConfidence(t *testing.T) {
	prof, _ := profile.Build(table(5000, 0, 22), profile.Options{})
	v, _ := NewVersion(prof, time.Hour, time.Minute, time.Hour)
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
