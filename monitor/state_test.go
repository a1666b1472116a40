package monitor

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"driftwatch/dataset"
	"driftwatch/detectors"
	"driftwatch/profile"
)

func table(n int, shift float64, seed uint64) *dataset.Table {
	r := rand.New(rand.NewPCG(seed, 5))
	x := &dataset.Column{Name: "x", Kind: dataset.KindNumeric, Num: make([]float64, n)}
	y := &dataset.Column{Name: "y", Kind: dataset.KindNumeric, Num: make([]float64, n)}
	c := &dataset.Column{Name: "c", Kind: dataset.KindCategorical, Str: make([]string, n), Null: make([]bool, n)}
	for i := range n {
		x.Num[i] = r.NormFloat64() + shift
		y.Num[i] = math.Round(r.ExpFloat64()*4) / 4 // ties
		if i%40 == 0 {
			y.Num[i] = math.NaN()
			y.Nulls++
		}
		c.Str[i] = []string{"a", "b", "c", "new"}[min(r.IntN(3)+int(shift*float64(r.IntN(2))), 3)]
		if i%50 == 0 {
			c.Str[i], c.Null[i] = "", true
			c.Nulls++
		}
	}
	return &dataset.Table{Rows: n, Columns: []*dataset.Column{x, y, c}}
}

func batchOf(t *dataset.Table, start time.Time, spread time.Duration) *Batch {
	b := &Batch{TS: make([]int64, t.Rows)}
	for i := range b.TS {
		b.TS[i] = start.Add(time.Duration(i) * spread / time.Duration(t.Rows)).UnixMilli()
	}
	for _, c := range t.Columns {
		if c.Kind == dataset.KindNumeric {
			b.Num = append(b.Num, c.Num)
		} else {
			b.Cat = append(b.Cat, c.Str)
			b.CatNull = append(b.CatNull, c.Null)
		}
	}
	return b
}

// Streaming PSI equals batch PSI on the same events: the fine bins contain
// the PSI bins, so the statistics see identical counts.
func TestStreamingEqualsBatch(t *testing.T) {
	ref := table(20000, 0, 1)
	prof, err := profile.Build(ref, profile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, shift := range []float64{0, 0.3} {
		cur := table(8000, shift, 2)
		v, err := NewWindow(prof, time.Hour, time.Minute, 5*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if late := v.AddBatch(batchOf(cur, time.Unix(1_800_000_000, 0), 50*time.Minute)); late != 0 {
			t.Fatalf("%d late", late)
		}
		ev := v.Evaluate(1e-4)
		rep := detectors.Compare(prof, cur, detectors.DefaultConfig())
		if ev.Events != 8000 {
			t.Fatalf("events %v", ev.Events)
		}
		for _, fs := range ev.Features {
			var want *detectors.FeatureResult
			for i := range rep.Features {
				if rep.Features[i].Name == fs.Name {
					want = &rep.Features[i]
				}
			}
			s := want.Statistics
			if fs.PSI != float64(s.PSI.Value) || fs.JS != float64(s.JensenShannon.Value) {
				t.Fatalf("shift %g %s: streaming PSI %v JS %v, batch %v %v", shift, fs.Name, fs.PSI, fs.JS, s.PSI.Value, s.JensenShannon.Value)
			}
			if math.Abs(fs.NullRate-float64(want.DataQuality.NullRate)) > 1e-15 {
				t.Fatalf("%s: null rate %v vs %v", fs.Name, fs.NullRate, want.DataQuality.NullRate)
			}
			if fs.Kind == profile.Numeric {
				if fs.Hellinger != float64(s.Hellinger.Value) || math.Abs(fs.OutOfRangeRate-float64(want.DataQuality.OutOfRangeRate)) > 1e-15 {
					t.Fatalf("%s: hellinger %v vs %v, out of range %v vs %v", fs.Name, fs.Hellinger, s.Hellinger.Value, fs.OutOfRangeRate, want.DataQuality.OutOfRangeRate)
				}
				exact := float64(s.KS.Statistic)
				if exact < fs.KS-1e-12 || exact > fs.KS+fs.KSBound+1e-12 || exact-fs.KS > 0.005 {
					t.Fatalf("%s: exact KS %v vs binned %v (bound %v)", fs.Name, exact, fs.KS, fs.KSBound)
				}
			} else if fs.ChiSquare != float64(s.ChiSquare.Statistic) || fs.ChiSquareDOF != s.ChiSquare.DOF || fs.ChiSquareP != float64(s.ChiSquare.PValue) {
				t.Fatalf("%s: chi-square %v dof %d p %v vs %v %d %v", fs.Name, fs.ChiSquare, fs.ChiSquareDOF, fs.ChiSquareP, s.ChiSquare.Statistic, s.ChiSquare.DOF, s.ChiSquare.PValue)
			}
		}
	}
}

func TestWindowSlidesAndCountsLate(t *testing.T) {
	prof, _ := profile.Build(table(5000, 0, 3), profile.Options{})
	v, _ := NewWindow(prof, 10*time.Minute, time.Minute, time.Minute)
	t0 := time.Unix(1_800_000_000, 0)
	v.AddBatch(batchOf(table(1000, 0, 4), t0, 3*time.Minute))
	v.AddBatch(batchOf(table(500, 0, 5), t0.Add(12*time.Minute), time.Minute))
	ev := v.Evaluate(1e-4)
	// The first batch (panes 0–2) left the 10-minute window [3, 13).
	if ev.Events != 500 || !ev.End.Equal(t0.Add(13*time.Minute)) {
		t.Fatalf("events %v window [%v, %v)", ev.Events, ev.Start, ev.End)
	}
	if late := v.AddBatch(batchOf(table(10, 0, 6), t0, time.Second)); late != 10 || v.Evaluate(1e-4).Late != 10 {
		t.Fatalf("late %d", late)
	}
}

func TestAddBatchAllocatesNothing(t *testing.T) {
	prof, _ := profile.Build(table(5000, 0, 7), profile.Options{})
	v, _ := NewWindow(prof, time.Hour, time.Minute, time.Hour)
	b := batchOf(table(2000, 0, 8), time.Unix(1_800_000_000, 0), time.Minute)
	if a := testing.AllocsPerRun(20, func() { v.AddBatch(b) }); a != 0 {
		t.Fatalf("%v allocs per batch", a)
	}
}

// BenchmarkAddColumn measures binning plus pane update of one numeric column
// against a plain loop summing it (the yardstick).
func BenchmarkAddColumn(b *testing.B) {
	n := 1 << 20
	ref := &dataset.Table{Rows: n, Columns: []*dataset.Column{{Name: "x", Kind: dataset.KindNumeric, Num: make([]float64, n)}}}
	r := rand.New(rand.NewPCG(9, 9))
	for i := range ref.Columns[0].Num {
		ref.Columns[0].Num[i] = r.NormFloat64()
	}
	prof, _ := profile.Build(ref, profile.Options{})
	v, _ := NewWindow(prof, time.Hour, time.Minute, time.Hour)
	col := slices.Clone(ref.Columns[0].Num)
	batch := &Batch{TS: make([]int64, n), Num: [][]float64{col}}
	b.Run("bin+pane", func(b *testing.B) {
		b.SetBytes(int64(8 * n))
		b.ReportAllocs()
		for b.Loop() {
			v.AddBatch(batch)
		}
	})
	b.Run("sum", func(b *testing.B) {
		b.SetBytes(int64(8 * n))
		var s float64
		for b.Loop() {
			for _, x := range col {
				s += x
			}
		}
		_ = s
	})
}

func TestOutcomesCreditThePredictionsPane(t *testing.T) {
	prof, _ := profile.Build(table(2000, 0, 9), profile.Options{})
	v, _ := NewWindow(prof, 10*time.Minute, time.Minute, time.Minute)
	t0 := time.Unix(1_800_000_000, 0)
	v.AddBatch(batchOf(table(100, 0, 10), t0, time.Minute))
	for i := range 40 {
		v.AddOutcome(t0.UnixMilli()+int64(i), Outcome{Correct: i%4 != 0, Err: math.NaN(), Score: math.NaN()})
	}
	ev := v.Evaluate(1e-4)
	if ev.Joined != 40 || ev.Accuracy != 0.75 || !math.IsNaN(ev.MAE) && ev.MAE != 0 {
		t.Fatalf("quality %+v", ev)
	}
	// Once the predictions' pane leaves the window, so do their outcomes.
	v.AddBatch(batchOf(table(10, 0, 11), t0.Add(20*time.Minute), time.Second))
	if ev := v.Evaluate(1e-4); ev.Joined != 0 || !math.IsNaN(ev.Accuracy) {
		t.Fatalf("after sliding %+v", ev)
	}
	if v.AddOutcome(t0.UnixMilli(), Outcome{Correct: true, Err: math.NaN(), Score: math.NaN()}) {
		t.Fatal("an outcome for a pane out of the window must be dropped")
	}
}
