// Package join pairs predictions with their delayed outcomes by id. Pending
// predictions are bounded by count and age, and so are outcomes that arrive
// before their prediction; what falls out is counted, never silently lost.
// A pair carries the prediction's event time, so the caller credits the
// outcome to the window of the prediction. Time is passed in; nothing here
// reads the clock. Computing quality from pairs is left to the monitor.
//
// Ids are kept as 64-bit hashes (keyed with a random key that the join's
// state carries, so a restored join finds the ids it held), not as
// strings, and versions and classes as numbers (see names): a pending
// entry is then a 64-byte record with no pointer, found through an index of
// 16-byte slots (see fifo), and the garbage collector never scans the
// queue, however many predictions wait.
// Two ids with the same hash would be taken for one; with a million pending
// predictions the chance that any outcome meets such a twin is about
// 10⁶·10⁶/2⁶⁴ ≈ 5·10⁻⁸ per million outcomes.
package join

import (
	"math"
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

	pending fifo[kept]
	names   names // of pending versions and classes
	early   fifo[Outcome]
	stats   Stats
	key     [2]uint64 // of the id hash
}

// kept is a pending Prediction without pointers: its version and class are
// numbers in the join's names.
type kept struct {
	ts             int64
	score, value   float64
	version, class uint32
	hasScore       bool
}

// names numbers the versions and classes of pending predictions. Past its
// limit, the names no entry in the queue uses are dropped and the rest
// renumbered (renumber), and the limit becomes twice the names left: a
// stream of ever-new classes (a regression model's predicted values) then
// costs O(1) amortized per name, and there are never more than four names
// per prediction the join may hold (or minNames).
type names struct {
	list  []string
	index map[string]uint32
	last  [2][2]uint32 // the last two versions' and classes' numbers: the usual lookup
	limit int
}

const minNames = 1024

// find returns the number of s, trying the last two of its kind first
// (k: 0 version, 1 class; two, for a binary model's classes). Equal
// strings from one decoder share their bytes, so those comparisons are
// usually of two pointers.
func (n *names) find(s string, k int) (uint32, bool) {
	for _, l := range n.last[k] {
		if int(l) < len(n.list) && n.list[l] == s {
			return l, true
		}
	}
	i, ok := n.index[s]
	if ok {
		n.remember(i, k)
	}
	return i, ok
}

func (n *names) remember(i uint32, k int) { n.last[k] = [2]uint32{i, n.last[k][0]} }

// add returns the number of s, numbering it if new, whatever the limit.
func (n *names) add(s string, k int) uint32 {
	if i, ok := n.find(s, k); ok {
		return i
	}
	if n.index == nil {
		n.index = map[string]uint32{}
	}
	i := uint32(len(n.list))
	n.list, n.index[s] = append(n.list, s), i
	n.remember(i, k)
	return i
}

// hold returns what the queue keeps of p, renumbering the names first if
// p brings new ones to a full table.
func (j *Join) hold(p *Prediction) kept {
	v, okv := j.names.find(p.Version, 0)
	c, okc := j.names.find(p.Class, 1)
	if !okv || !okc {
		if len(j.names.list)+2 > max(j.names.limit, minNames) {
			j.renumber()
		}
		v, c = j.names.add(p.Version, 0), j.names.add(p.Class, 1)
	}
	return kept{ts: p.TS, score: p.Score, value: p.Value, version: v, class: c, hasScore: p.HasScore}
}

// prediction is the Prediction h holds.
func (j *Join) prediction(h *kept) Prediction {
	return Prediction{Version: j.names.list[h.version], TS: h.ts, Class: j.names.list[h.class],
		Score: h.score, HasScore: h.hasScore, Value: h.value}
}

// renumber keeps the names that entries in the queue use (predictions
// not yet indexed included), numbered in order of first use.
func (j *Join) renumber() {
	old, f := j.names.list, &j.pending
	to := make([]uint32, len(old)) // old number → new one + 1
	n := names{index: make(map[string]uint32, len(old)/2)}
	for k := f.head; k < f.tail; k++ {
		e := f.at(k)
		if !e.live {
			continue
		}
		for _, x := range []*uint32{&e.v.version, &e.v.class} {
			if to[*x] == 0 {
				to[*x] = n.add(old[*x], 0) + 1
			}
			*x = to[*x] - 1
		}
	}
	n.limit = 2 * len(n.list)
	j.names = n
}

// New returns a join with the given bounds.
func New(maxPending int, ttl time.Duration, maxEarly int, earlyTTL time.Duration) *Join {
	return &Join{maxPending: maxPending, maxEarly: maxEarly, ttl: ttl, earlyTTL: earlyTTL,
		key: newKey()}
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
	if j.pending.len() < j.maxPending {
		// Indexed later, with others (see settle); a duplicate is found then.
		j.pending.pushLater(h, j.hold(&p), now)
		if j.pending.lazy == settleBatch {
			j.settle()
		}
		return Pair{}, false
	}
	j.settle()
	if _, found := j.pending.find(h); found {
		j.stats.DuplicatePredictions++ // the first one wins: its outcome is what the producer meant
		return Pair{}, false
	}
	if j.pending.len() >= j.maxPending { // settling may have found duplicates
		j.pending.popOldest()
		j.stats.EvictedPending++
	}
	j.pending.push(h, j.hold(&p), now)
	return Pair{}, false
}

// settleBatch is how many predictions wait to be indexed at most: enough
// for their inserts to overlap (see fifo), few enough to stay in cache.
const settleBatch = 256

// settle indexes the predictions not yet indexed; every method that looks
// a prediction up, drops one or reports sizes settles first, so that the
// join behaves exactly as if each had been indexed on arrival.
func (j *Join) settle() { j.stats.DuplicatePredictions += uint64(j.pending.settle()) }

// AddOutcome joins an outcome to its pending prediction, or keeps it until
// the prediction arrives (bounded by maxEarly and earlyTTL).
func (j *Join) AddOutcome(id string, o Outcome, now time.Time) (Pair, bool) {
	j.expire(now)
	j.settle()
	h := hashID(j.key, id)
	if p, at, ok := j.pending.take(h); ok {
		j.stats.Joined++
		return Pair{ID: id, Prediction: j.prediction(&p), Outcome: o, Delay: time.Duration(now.UnixNano() - at)}, true
	}
	if j.maxEarly == 0 {
		j.stats.EvictedEarly++
		return Pair{}, false
	}
	j.early.take(h) // a repeated outcome replaces the one waiting
	if j.early.len() >= j.maxEarly {
		j.early.popOldest()
		j.stats.EvictedEarly++
	}
	j.early.push(h, o, now) // not held: take just looked
	return Pair{}, false
}

// Stats returns the counters and current sizes.
func (j *Join) Stats() Stats {
	j.settle()
	s := j.stats
	s.Pending, s.Early = j.pending.len(), j.early.len()
	return s
}

// Expire drops entries older than their TTL; Add* call it too.
func (j *Join) Expire(now time.Time) { j.expire(now) }

func (j *Join) expire(now time.Time) {
	ns := now.UnixNano()
	if j.pending.head < j.pending.tail && j.pending.at(j.pending.head).at < cutoff(ns, j.ttl) {
		j.settle()
	}
	j.stats.ExpiredPending += uint64(j.pending.dropBefore(ns, j.ttl))
	j.stats.ExpiredEarly += uint64(j.early.dropBefore(ns, j.earlyTTL))
}

// fifo keeps entries in arrival order in a queue of fixed-size chunks and
// finds them by id through an open-addressing index of (id, sequence
// number) slots with linear probing. The ids are already keyed hashes, so a
// slot's home is the id's low bits, and a slot is 16 bytes with no pointer:
// an insert is one probe into a table at most half full and one store at
// the queue's tail. (A Go map of whole entries cost ~0.5 µs per prediction,
// most of it moving its then 88-byte slots as it grew; the chunks never move.)
// Taken entries stay in the queue as tombstones until the head passes them
// or they outnumber the live ones; then the queue is compacted and the
// index rebuilt, so memory follows the live entries and every operation is
// O(1) amortized.
//
// Entries may also be appended without indexing them (pushLater) and indexed
// in a batch later (settle). The index is far larger than the caches, so
// an insert waits for its random slot to come from memory; between the
// decoding and binning of one event and the next, each insert waited in
// turn, while in settle's tight loop the CPU has many of those loads in
// flight at once (BenchmarkHandle in package service: 355 → 315 ns per Arrow
// event, 1530 → 1435 per JSON event). Everything but push and pushLater
// expects a settled fifo (lazy == 0).
type fifo[T any] struct {
	chunks     [][]entry[T] // chunkLen entries each; queue position k is in chunks[k>>chunkBits]
	head, tail int          // the queue's positions; head < chunkLen
	spare      []entry[T]   // a cleared chunk dropped at the head, for the tail
	base       uint64       // position k has sequence number base+k+1 (0 marks an empty slot)
	index      []slot       // len a power of two (or 0), at most half full
	n          int          // live entries
	lazy       int          // entries at the tail not in the index yet (see pushLater)
}

const (
	chunkBits = 10
	chunkLen  = 1 << chunkBits
)

type entry[T any] struct {
	id   uint64
	at   int64 // arrival, Unix ns
	v    T
	live bool
}

type slot struct {
	id  uint64
	seq uint64 // 0: empty
}

func (f *fifo[T]) len() int { return f.n }

func (f *fifo[T]) at(k int) *entry[T] { return &f.chunks[k>>chunkBits][k&(chunkLen-1)] }

// find returns the slot holding id, or the empty slot where it would go.
func (f *fifo[T]) find(id uint64) (int, bool) {
	if len(f.index) == 0 {
		return -1, false
	}
	mask := len(f.index) - 1
	for i := int(id) & mask; ; i = (i + 1) & mask {
		switch s := &f.index[i]; {
		case s.seq == 0:
			return i, false
		case s.id == id:
			return i, true
		}
	}
}

// push appends an entry and indexes it at once; id must not be held
// (callers have just looked).
func (f *fifo[T]) push(id uint64, v T, at time.Time) {
	f.pushLater(id, v, at)
	f.settle()
}

// pushLater appends an entry without indexing it; settle indexes it.
func (f *fifo[T]) pushLater(id uint64, v T, at time.Time) {
	if dead := f.tail - f.head - f.n; dead > chunkLen && dead > f.n {
		f.settle()
		f.compact()
		f.reindex()
	}
	f.append(entry[T]{id: id, at: at.UnixNano(), v: v, live: true})
	f.n++
	f.lazy++
}

// settle indexes the deferred entries in arrival order and returns how
// many it dropped as duplicates of an entry held before them.
func (f *fifo[T]) settle() int {
	if f.lazy == 0 {
		return 0
	}
	first := f.tail - f.lazy
	f.lazy = 0
	for 2*(f.n+1) > len(f.index) {
		f.grow()
	}
	dups := 0
	for k := first; k < f.tail; k++ {
		e := f.at(k)
		i, found := f.find(e.id)
		if found {
			var zero T
			e.v, e.live = zero, false
			f.n--
			dups++
			continue
		}
		f.index[i] = slot{id: e.id, seq: f.base + uint64(k) + 1}
	}
	return dups
}

// append stores e at the tail of the queue.
func (f *fifo[T]) append(e entry[T]) {
	if f.tail == len(f.chunks)*chunkLen {
		c := f.spare
		if c == nil {
			c = make([]entry[T], chunkLen)
		}
		f.chunks, f.spare = append(f.chunks, c), nil
	}
	*f.at(f.tail) = e
	f.tail++
}

// take removes and returns the entry of id, with its arrival time.
func (f *fifo[T]) take(id uint64) (T, int64, bool) {
	var zero T
	if f.n == 0 {
		return zero, 0, false
	}
	i, found := f.find(id)
	if !found {
		return zero, 0, false
	}
	e := f.at(int(f.index[i].seq - f.base - 1))
	v, at := e.v, e.at
	f.unindex(i)
	e.v, e.live = zero, false // drop the strings it holds
	f.n--
	return v, at, true
}

// unindex empties slot i, shifting back the slots after it that probed
// past it (no tombstones in the index).
func (f *fifo[T]) unindex(i int) {
	mask := len(f.index) - 1
	for j := (i + 1) & mask; f.index[j].seq != 0; j = (j + 1) & mask {
		// The slot at j may move to i unless its home lies cyclically in (i, j].
		if home := int(f.index[j].id) & mask; (j-home)&mask >= (j-i)&mask {
			f.index[i] = f.index[j]
			i = j
		}
	}
	f.index[i] = slot{}
}

// popOldest removes the oldest live entry.
func (f *fifo[T]) popOldest() {
	for f.head < f.tail {
		live := f.at(f.head).live
		f.advance()
		if live {
			return
		}
	}
}

// cutoff is the arrival time before which entries have lived longer than
// ttl at now (Unix ns).
func cutoff(now int64, ttl time.Duration) int64 {
	if before := now - int64(ttl); before <= now {
		return before
	}
	return math.MinInt64 // a TTL beyond the clock's range: nothing expires
}

// dropBefore removes live entries that arrived more than ttl before now
// (Unix ns) and returns how many.
func (f *fifo[T]) dropBefore(now int64, ttl time.Duration) int {
	if f.head == f.tail {
		return 0
	}
	before, n := cutoff(now, ttl), 0
	for f.head < f.tail && f.at(f.head).at < before {
		if f.at(f.head).live {
			n++
		}
		f.advance()
	}
	return n
}

// advance removes the entry at the head (from the index too, if live),
// handing the first chunk to spare once the head leaves it.
func (f *fifo[T]) advance() {
	if e := f.at(f.head); e.live {
		i, _ := f.find(e.id)
		f.unindex(i)
		f.n--
	}
	*f.at(f.head) = entry[T]{}
	if f.head++; f.head == chunkLen {
		f.spare, f.chunks[0], f.chunks = f.chunks[0], nil, f.chunks[1:]
		f.head, f.tail, f.base = 0, f.tail-chunkLen, f.base+chunkLen
	}
}

// compact moves the live entries to the front of the queue, in order,
// and frees the chunks no longer needed.
func (f *fifo[T]) compact() {
	w := 0
	for k := f.head; k < f.tail; k++ {
		if e := f.at(k); e.live {
			*f.at(w) = *e
			w++
		}
	}
	for k := w; k < f.tail; k++ {
		*f.at(k) = entry[T]{}
	}
	need := (w + chunkLen - 1) >> chunkBits
	clear(f.chunks[need:])
	f.chunks, f.head, f.tail = f.chunks[:need], 0, w
}

// grow doubles the index (to 16 slots at first). The old index is read
// in order, starting after an empty slot so that every probe run is met
// from its start: each id's new home is its old one or that plus the old
// size, so both the reads and the writes move forward through memory
// instead of jumping to a random slot per entry.
func (f *fifo[T]) grow() {
	old := f.index
	f.index = make([]slot, max(16, 2*len(old)))
	if len(old) == 0 {
		return
	}
	start := 0
	for old[start].seq != 0 {
		start++ // an empty slot exists: the index is at most half full
	}
	mask := len(old) - 1
	for k := range old {
		if s := old[(start+k)&mask]; s.seq != 0 {
			i, _ := f.find(s.id)
			f.index[i] = s
		}
	}
}

// reindex builds the index of a compacted queue at the smallest power of
// two that keeps it at most half full after one more entry.
func (f *fifo[T]) reindex() {
	size := 16
	for size < 2*(f.n+1) {
		size *= 2
	}
	if len(f.index) == size {
		clear(f.index)
	} else {
		f.index = make([]slot, size)
	}
	for k := range f.tail {
		id := f.at(k).id
		i, _ := f.find(id)
		f.index[i] = slot{id: id, seq: f.base + uint64(k) + 1}
	}
}
