// Package join pairs predictions with their delayed outcomes by id. Pending
// predictions are bounded by count and age, and so are outcomes that arrive
// before their prediction; what falls out is counted, never silently lost.
// A pair carries the prediction's event time, so the caller credits the
// outcome to the window of the prediction. Time is passed in; nothing here
// reads the clock. Computing quality from pairs is left to the monitor.
//
// Ids are kept as 64-bit hashes (keyed with a random key that the join's
// state carries, so a restored join finds the ids it held), not as strings: a pending entry is then a fixed-size map slot with no allocation
// of its own, which halves the join's cost per prediction and its memory.
// Two ids with the same hash would be taken for one; with a million pending
// predictions the chance that any outcome meets such a twin is about
// 10⁶·10⁶/2⁶⁴ ≈ 5·10⁻⁸ per million outcomes.
package join

import (
	"time"
)

// Prediction is what the join keeps of a prediction; a join serves one
// model, so the model is not kept.
type Prediction struct {
	Version  string
	TS       int64 // event time, Unix ms
	Class    string
	Score    float64
	HasScore bool
	Value    float64 // regression prediction
}

// Outcome is a label (classification) or a value (regression).
type Outcome struct {
	Label string
	Value float64
}

// Pair is a joined prediction and outcome.
type Pair struct {
	ID         string
	Prediction Prediction
	Outcome    Outcome
	// Delay is how long after its prediction the outcome arrived (arrival
	// times, not event times); negative for an outcome that came first.
	Delay time.Duration
}

// Stats count what left the join without a partner.
type Stats struct {
	Pending, Early               int    // waiting now
	EvictedPending, EvictedEarly uint64 // pushed out by the count bound
	ExpiredPending, ExpiredEarly uint64 // older than their TTL
	Joined, DuplicatePredictions uint64
}

// Join is not safe for concurrent use; one partition worker owns it.
type Join struct {
	maxPending, maxEarly int
	ttl, earlyTTL        time.Duration

	pending fifo[Prediction]
	early   fifo[Outcome]
	stats   Stats
	key     [2]uint64 // of the id hash
}

// New returns a join with the given bounds.
func New(maxPending int, ttl time.Duration, maxEarly int, earlyTTL time.Duration) *Join {
	return &Join{maxPending: maxPending, maxEarly: maxEarly, ttl: ttl, earlyTTL: earlyTTL,
		pending: newFIFO[Prediction](), early: newFIFO[Outcome](), key: newKey()}
}

// AddPrediction records a prediction; if its outcome came first, the pair is
// returned at once.
func (j *Join) AddPrediction(id string, p Prediction, now time.Time) (Pair, bool) {
	j.expire(now)
	h := hashID(j.key, id)
	if o, at, ok := j.early.take(h); ok {
		j.stats.Joined++
		return Pair{ID: id, Prediction: p, Outcome: o, Delay: time.Duration(at - now.UnixNano())}, true
	}
	if j.pending.has(h) {
		j.stats.DuplicatePredictions++ // the first one wins: its outcome is what the producer meant
		return Pair{}, false
	}
	if j.pending.len() >= j.maxPending {
		j.pending.popOldest()
		j.stats.EvictedPending++
	}
	j.pending.push(h, p, now)
	return Pair{}, false
}

// AddOutcome joins an outcome to its pending prediction, or keeps it until
// the prediction arrives (bounded by maxEarly and earlyTTL).
func (j *Join) AddOutcome(id string, o Outcome, now time.Time) (Pair, bool) {
	j.expire(now)
	h := hashID(j.key, id)
	if p, at, ok := j.pending.take(h); ok {
		j.stats.Joined++
		return Pair{ID: id, Prediction: p, Outcome: o, Delay: time.Duration(now.UnixNano() - at)}, true
	}
	if j.maxEarly == 0 {
		j.stats.EvictedEarly++
		return Pair{}, false
	}
	if j.early.len() >= j.maxEarly {
		j.early.popOldest()
		j.stats.EvictedEarly++
	}
	j.early.push(h, o, now)
	return Pair{}, false
}

// Stats returns the counters and current sizes.
func (j *Join) Stats() Stats {
	s := j.stats
	s.Pending, s.Early = j.pending.len(), j.early.len()
	return s
}

// Expire drops entries older than their TTL; Add* call it too.
func (j *Join) Expire(now time.Time) { j.expire(now) }

func (j *Join) expire(now time.Time) {
	j.stats.ExpiredPending += uint64(j.pending.dropBefore(now.Add(-j.ttl)))
	j.stats.ExpiredEarly += uint64(j.early.dropBefore(now.Add(-j.earlyTTL)))
}

// fifo is a map with arrival order: O(1) push, take and pop of the oldest.
// Taken entries leave a tombstone in the queue, skipped when reached.
type fifo[T any] struct {
	items map[uint64]item[T]
	queue []queued // arrival order; head advances
	head  int
	seq   uint64
}

type item[T any] struct {
	v   T
	seq uint64
	at  int64 // arrival, Unix ns
}

type queued struct {
	id  uint64
	seq uint64
	at  int64 // Unix ns
}

func newFIFO[T any]() fifo[T] { return fifo[T]{items: map[uint64]item[T]{}} }

func (f *fifo[T]) len() int { return len(f.items) }

func (f *fifo[T]) has(id uint64) bool { _, ok := f.items[id]; return ok }

func (f *fifo[T]) push(id uint64, v T, at time.Time) {
	// Joined entries leave tombstones behind the head; rebuild the queue
	// when they outnumber the live entries, so memory follows len(items).
	if dead := len(f.queue) - f.head - len(f.items); dead > 1024 && dead > len(f.items) {
		live := make([]queued, 0, len(f.items)+1)
		for _, q := range f.queue[f.head:] {
			if f.live(q) {
				live = append(live, q)
			}
		}
		f.queue, f.head = live, 0
	}
	f.seq++
	f.items[id] = item[T]{v: v, seq: f.seq, at: at.UnixNano()}
	f.queue = append(f.queue, queued{id: id, seq: f.seq, at: at.UnixNano()})
}

func (f *fifo[T]) take(id uint64) (T, int64, bool) {
	it, ok := f.items[id]
	if ok {
		delete(f.items, id)
	}
	return it.v, it.at, ok
}

// live reports whether a queue entry still stands for a stored item.
func (f *fifo[T]) live(q queued) bool {
	it, ok := f.items[q.id]
	return ok && it.seq == q.seq
}

func (f *fifo[T]) popOldest() {
	for f.head < len(f.queue) {
		q := f.queue[f.head]
		f.advance()
		if f.live(q) {
			delete(f.items, q.id)
			return
		}
	}
}

// dropBefore removes live entries that arrived before t and returns how
// many.
func (f *fifo[T]) dropBefore(t time.Time) int {
	n, before := 0, t.UnixNano()
	for f.head < len(f.queue) && f.queue[f.head].at < before {
		q := f.queue[f.head]
		f.advance()
		if f.live(q) {
			delete(f.items, q.id)
			n++
		}
	}
	return n
}

// advance moves the head, compacting the queue once half of it is dead so
// memory stays proportional to the live entries.
func (f *fifo[T]) advance() {
	f.queue[f.head] = queued{}
	f.head++
	if f.head > 1024 && f.head*2 > len(f.queue) {
		f.queue = append(f.queue[:0], f.queue[f.head:]...)
		f.head = 0
	}
}
