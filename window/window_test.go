package window

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestRingSlides(t *testing.T) {
	r, err := New(3*time.Minute, time.Minute, 3*time.Minute, 2)
	if err != nil {
		t.Fatal(err)
	}
	min := int64(time.Minute / time.Millisecond)
	f := func(want ...float64) {
		t.Helper()
		if got := r.Totals(nil); !slices.Equal(got, want) {
			t.Fatalf("totals %v, want %v", got, want)
		}
	}
	r.Add(0, 0, 1)     // pane 0
	r.Add(min+5, 1, 2) // pane 1
	r.Add(2*min, 0, 4) // pane 2
	f(5, 2)
	r.Add(10, 0, 8) // late but inside the window: pane 0
	f(13, 2)
	r.Add(3*min, 1, 16) // pane 3: pane 0 expires
	f(4, 18)
	if ok := r.Add(5, 0, 1); ok {
		t.Fatal("an event of an expired pane must be late")
	}
	r.Add(100*min, 0, 1) // a jump past the window clears it
	f(1, 0)
	if s, e, _ := r.Bounds(); s != 98*min || e != 101*min {
		t.Fatalf("bounds [%d, %d)", s, e)
	}
}

// The running totals always equal a brute-force sum over the events whose
// pane is still in the window, whatever the arrival order.
func TestRingMatchesBruteForce(t *testing.T) {
	const pane, n = 1000, 10
	r, _ := New(n*time.Second, time.Second, n*time.Second, 3)
	rnd := rand.New(rand.NewPCG(1, 2))
	type ev struct {
		ts int64
		c  int
		v  float64
	}
	var accepted []ev
	late := 0
	now := int64(0)
	for i := range 20000 {
		now += int64(rnd.IntN(300))
		ts := now - int64(rnd.IntN(12000)) // some late, some expired
		e := ev{ts, rnd.IntN(3), float64(rnd.IntN(5))}
		if r.Add(e.ts, e.c, e.v) {
			accepted = append(accepted, e)
		} else {
			late++
		}
		if i%97 == 0 {
			start, end, _ := r.Bounds()
			want := make([]float64, 3)
			for _, a := range accepted {
				if a.ts >= start && a.ts < end {
					want[a.c] += a.v
				}
			}
			if got := r.Totals(nil); !slices.Equal(got, want) {
				t.Fatalf("event %d: totals %v, want %v", i, got, want)
			}
		}
	}
	if late == 0 {
		t.Fatal("the stream has late events")
	}
}

func TestNewValidates(t *testing.T) {
	if _, err := New(90*time.Second, time.Minute, 0, 1); err == nil || err.Error() != "window: window 1m30s must be a positive multiple of pane 1m0s" {
		t.Fatalf("got %v", err)
	}
}

func BenchmarkPaneAdd(b *testing.B) {
	r, _ := New(time.Hour, time.Minute, time.Hour, 100)
	b.ReportAllocs()
	ts := int64(0)
	for b.Loop() {
		ts += 37
		r.Pane(ts)[int(ts)%100]++
	}
}

// A state written with another pane width restores through a conversion,
// pane by pane; Zero and AddCounters see the ring's panes.
func TestRestoreStateFromOtherWidth(t *testing.T) {
	min := int64(time.Minute / time.Millisecond)
	old, _ := New(3*time.Minute, time.Minute, time.Minute, 2)
	old.Add(0, 0, 1)
	old.Add(0, 1, 2.5)
	old.Add(min, 1, 7)
	state := old.AppendState(nil)
	if w := StateWidth(state); w != 2 {
		t.Fatalf("state width %d", w)
	}
	r, _ := New(3*time.Minute, time.Minute, time.Minute, 3)
	if _, err := r.RestoreState(state); err == nil {
		t.Fatal("a state of another width restored without conversion")
	}
	rest, err := r.RestoreStateFrom(append(state, 9), 2, func(dst, o []float64) { dst[0], dst[2] = o[0], o[1] })
	if err != nil || !slices.Equal(rest, []byte{9}) {
		t.Fatalf("restore: %v, rest %v", err, rest)
	}
	if got := r.Totals(nil); !slices.Equal(got, []float64{1, 0, 9.5}) {
		t.Fatalf("converted totals %v", got)
	}
	if !r.Zero(1) || r.Zero(2) {
		t.Fatal("Zero")
	}
	got := make([]float64, 2)
	r.AddCounters(got, 1, 1)
	if !slices.Equal(got, []float64{0, 9.5}) {
		t.Fatalf("AddCounters %v", got)
	}
	r.Add(5*min, 0, 1) // panes 0 and 1 leave the window
	if !r.Zero(2) {
		t.Fatal("an expired pane still counts")
	}
}
