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

// model is the join's specification, by brute force: lists in arrival
// order, searched from the front.
type model struct {
	maxPending, maxEarly int
	ttl, earlyTTL        time.Duration
	pending, early       []held
	stats                Stats
}

type held struct {
	id string
	at time.Time
	p  Prediction
	o  Outcome
}

func (m *model) expire(now time.Time) {
	drop := func(l []held, ttl time.Duration) ([]held, uint64) {
		k := 0
		for k < len(l) && l[k].at.Before(now.Add(-ttl)) {
			k++
		}
		return l[k:], uint64(k)
	}
	var n uint64
	m.pending, n = drop(m.pending, m.ttl)
	m.stats.ExpiredPending += n
	m.early, n = drop(m.early, m.earlyTTL)
	m.stats.ExpiredEarly += n
}

func take(l []held, id string) ([]held, held, bool) {
	for k, h := range l {
		if h.id == id {
			return append(l[:k:k], l[k+1:]...), h, true
		}
	}
	return l, held{}, false
}

func (m *model) addPrediction(id string, p Prediction, now time.Time) (Pair, bool) {
	m.expire(now)
	var h held
	var ok bool
	if m.early, h, ok = take(m.early, id); ok {
		m.stats.Joined++
		return Pair{ID: id, Prediction: p, Outcome: h.o, Delay: h.at.Sub(now)}, true
	}
	if _, _, ok := take(m.pending, id); ok {
		m.stats.DuplicatePredictions++
		return Pair{}, false
	}
	if len(m.pending) >= m.maxPending {
		m.pending = m.pending[1:]
		m.stats.EvictedPending++
	}
	m.pending = append(m.pending, held{id: id, at: now, p: p})
	return Pair{}, false
}

func (m *model) addOutcome(id string, o Outcome, now time.Time) (Pair, bool) {
	m.expire(now)
	var h held
	var ok bool
	if m.pending, h, ok = take(m.pending, id); ok {
		m.stats.Joined++
		return Pair{ID: id, Prediction: h.p, Outcome: o, Delay: now.Sub(h.at)}, true
	}
	if m.maxEarly == 0 {
		m.stats.EvictedEarly++
		return Pair{}, false
	}
	m.early, _, _ = take(m.early, id) // a repeated outcome replaces the waiting one
	if len(m.early) >= m.maxEarly {
		m.early = m.early[1:]
		m.stats.EvictedEarly++
	}
	m.early = append(m.early, held{id: id, at: now, o: o})
	return Pair{}, false
}

// Against the brute-force model on random streams: the same pairs, the
// same counters after every step, through growth, evictions, expiry and
// compaction; and the queue's memory follows the live entries.
func TestJoinMatchesModel(t *testing.T) {
	for _, c := range []struct {
		maxPending, maxEarly, ids, steps, statsEvery int
		ttl, earlyTTL                                time.Duration
		predictions                                  int // in 10
		classes                                      int
	}{
		{500, 100, 2000, 100_000, 1, 30 * time.Second, 5 * time.Second, 5, 3},
		{500, 100, 2000, 100_000, 997, 30 * time.Second, 5 * time.Second, 5, 3},
		{5000, 0, 6000, 60_000, 1009, time.Hour, time.Minute, 5, 3},
		{3000, 3000, 100_000, 60_000, 1013, 10 * time.Second, 10 * time.Second, 5, 3},
		// Mostly predictions, many repeated: full batches with duplicates.
		{20_000, 100, 3000, 60_000, 4999, time.Hour, time.Minute, 9, 3},
		// A new class almost every time (a regression model's values):
		// the names are renumbered again and again.
		{300, 100, 2000, 60_000, 1, 30 * time.Second, 5 * time.Second, 5, 1 << 30},
		{300, 100, 2000, 60_000, 499, 30 * time.Second, 5 * time.Second, 8, 1 << 30},
	} {
		r := rand.New(rand.NewPCG(uint64(c.maxPending), 1))
		j := New(c.maxPending, c.ttl, c.maxEarly, c.earlyTTL)
		m := &model{maxPending: c.maxPending, maxEarly: c.maxEarly, ttl: c.ttl, earlyTTL: c.earlyTTL}
		now := t0
		for i := range c.steps {
			now = now.Add(time.Duration(r.IntN(3)) * time.Millisecond)
			if r.IntN(5000) == 0 {
				now = now.Add(c.ttl / 2)
			}
			id := fmt.Sprint(r.IntN(c.ids))
			var got, want Pair
			var gok, wok bool
			if r.IntN(10) < c.predictions {
				p := Prediction{Version: fmt.Sprint("v", i%2), TS: int64(i), Class: fmt.Sprint(i % c.classes)}
				got, gok = j.AddPrediction(id, p, now)
				want, wok = m.addPrediction(id, p, now)
			} else {
				o := Outcome{Label: fmt.Sprint(i % 3)}
				got, gok = j.AddOutcome(id, o, now)
				want, wok = m.addOutcome(id, o, now)
			}
			if got != want || gok != wok {
				t.Fatalf("%+v step %d: got %+v %v, want %+v %v", c, i, got, gok, want, wok)
			}
			if i%c.statsEvery != 0 {
				continue // Stats settles the join: checked seldom, predictions wait in batches
			}
			s := j.Stats()
			want2 := m.stats
			want2.Pending, want2.Early = len(m.pending), len(m.early)
			if s != want2 {
				t.Fatalf("%+v step %d: stats %+v, want %+v", c, i, s, want2)
			}
			if q := j.pending.tail - j.pending.head; q > 2*s.Pending+2048 {
				t.Fatalf("queue holds %d entries for %d pending", q, s.Pending)
			}
			if n := len(j.names.list); n > max(minNames, 4*c.maxPending) {
				t.Fatalf("%d names for at most %d pending", n, c.maxPending)
			}
		}
		if s := j.Stats(); s.Joined == 0 || s.EvictedPending+s.ExpiredPending == 0 && c.predictions < 9 || s.DuplicatePredictions == 0 {
			t.Fatalf("%+v: the stream exercised too little: %+v", c, s)
		}
	}
}
