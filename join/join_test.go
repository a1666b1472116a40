package join

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

var t0 = time.Unix(1_800_000_000, 0)

func TestJoinBothOrders(t *testing.T) {
	j := New(10, time.Hour, 10, time.Minute)
	if _, ok := j.AddPrediction("a", Prediction{TS: 5, Class: "1"}, t0); ok {
		t.Fatal("nothing to join yet")
	}
	p, ok := j.AddOutcome("a", Outcome{Label: "0"}, t0.Add(time.Second))
	if !ok || p.Prediction.TS != 5 || p.Outcome.Label != "0" || p.ID != "a" || p.Delay != time.Second {
		t.Fatalf("pair %+v %v", p, ok)
	}
	// Outcome first.
	j.AddOutcome("b", Outcome{Label: "1"}, t0)
	if p, ok := j.AddPrediction("b", Prediction{TS: 7}, t0.Add(time.Second)); !ok || p.Prediction.TS != 7 || p.Outcome.Label != "1" || p.Delay != -time.Second {
		t.Fatalf("early pair %+v %v", p, ok)
	}
	if s := j.Stats(); s.Joined != 2 || s.Pending != 0 || s.Early != 0 {
		t.Fatalf("stats %+v", s)
	}
}

func TestBoundsAreCounted(t *testing.T) {
	j := New(3, time.Minute, 2, 10*time.Second)
	for i := range 5 {
		j.AddPrediction(fmt.Sprint(i), Prediction{TS: int64(i)}, t0)
	}
	for i := range 4 {
		j.AddOutcome(fmt.Sprint("x", i), Outcome{}, t0)
	}
	s := j.Stats()
	if s.Pending != 3 || s.EvictedPending != 2 || s.Early != 2 || s.EvictedEarly != 2 {
		t.Fatalf("stats %+v", s)
	}
	// The oldest predictions were evicted: "0" and "1" no longer join.
	if _, ok := j.AddOutcome("0", Outcome{}, t0); ok {
		t.Fatal("evicted prediction joined")
	}
	if _, ok := j.AddOutcome("4", Outcome{}, t0); !ok {
		t.Fatal("kept prediction did not join")
	}
	j.Expire(t0.Add(2 * time.Minute))
	// The unmatched outcome "0" waited as early, pushing out one more.
	if s := j.Stats(); s.Pending != 0 || s.Early != 0 || s.ExpiredPending != 2 || s.ExpiredEarly != 2 || s.EvictedEarly != 3 {
		t.Fatalf("after expiry %+v", s)
	}
	j.AddPrediction("d", Prediction{}, t0.Add(3*time.Minute))
	j.AddPrediction("d", Prediction{}, t0.Add(3*time.Minute))
	if s := j.Stats(); s.DuplicatePredictions != 1 || s.Pending != 1 {
		t.Fatalf("duplicates %+v", s)
	}
}

// Against a brute-force model on a random stream: every outcome joins
// exactly when its prediction is still held, and the queue's memory follows
// the live entries.
func TestJoinMatchesModel(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	j := New(500, 30*time.Second, 100, 5*time.Second)
	type held struct {
		at  time.Time
		seq int
	}
	now := t0
	joined := 0
	for i := range 100000 {
		now = now.Add(time.Duration(r.IntN(3)) * time.Millisecond)
		id := fmt.Sprint(r.IntN(2000))
		if r.IntN(2) == 0 {
			if _, ok := j.AddPrediction(id, Prediction{TS: int64(i)}, now); ok {
				joined++
			}
		} else if _, ok := j.AddOutcome(id, Outcome{}, now); ok {
			joined++
		}
		s := j.Stats()
		if s.Pending > 500 || s.Early > 100 {
			t.Fatalf("bounds exceeded: %+v", s)
		}
		if q := len(j.pending.queue) - j.pending.head; q > 2*s.Pending+2048 {
			t.Fatalf("queue holds %d entries for %d pending", q, s.Pending)
		}
	}
	if s := j.Stats(); uint64(joined) != s.Joined || joined == 0 {
		t.Fatalf("joined %d, stats %+v", joined, s)
	}
}
