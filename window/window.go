// Package window keeps event-time sliding windows as a ring of panes of
// counters: a window of 1 h with 1 min panes is 60 panes, each holding the
// same fixed set of counters (histogram bins, quality counts). Advancing the
// window clears the panes that leave it, O(counters) each; totals are summed
// over the live panes when an evaluation asks, O(panes × counters), which
// at one evaluation every few seconds is far cheaper than keeping running
// totals on every add.
//
// The package knows nothing about features or statistics: callers decide
// what a counter means. Time comes in as event timestamps; nothing here reads
// the clock.
package window

import (
	"fmt"
	"math"
	"time"
)

// noPane marks an empty slot; pane indices may be negative (times before 1970).
const noPane = math.MinInt64

// Ring is a sliding window of panes over event time. It is not safe for
// concurrent use; each partition worker owns its rings.
type Ring struct {
	pane     int64 // pane length in ms
	n        int   // panes in the window
	width    int   // counters per pane
	lateness int64 // ms behind the head pane's start that is still accepted

	counts  []float64 // n × width, slot = pane index mod n
	index   []int64   // pane index held by each slot, or noPane
	head    int64     // index of the newest pane seen
	started bool      // head is valid
}

// New returns a ring of window/pane panes of width counters. Events up to
// lateness behind the newest pane's start still count in their pane if it is
// still in the window.
func New(window, pane, lateness time.Duration, width int) (*Ring, error) {
	if pane <= 0 || window < pane || window%pane != 0 {
		return nil, fmt.Errorf("window: window %s must be a positive multiple of pane %s", window, pane)
	}
	if width <= 0 || lateness < 0 {
		return nil, fmt.Errorf("window: width %d and lateness %s must be positive", width, lateness)
	}
	n := int(window / pane)
	r := &Ring{
		pane: pane.Milliseconds(), n: n, width: width, lateness: lateness.Milliseconds(),
		counts: make([]float64, n*width), index: make([]int64, n),
	}
	for i := range r.index {
		r.index[i] = noPane
	}
	return r, nil
}

// Pane returns the counters of the pane holding event time tsMillis for the
// caller to add to, after advancing the window if the event is newer than
// every pane so far. It returns nil for a late event (outside the window, or
// more than lateness behind the head pane's start); callers count those.
func (r *Ring) Pane(tsMillis int64) []float64 {
	idx := floorDiv(tsMillis, r.pane)
	if !r.started || idx > r.head {
		r.advance(idx)
	}
	if idx <= r.head-int64(r.n) || idx != r.head && tsMillis < r.head*r.pane-r.lateness {
		return nil
	}
	s := r.slot(idx)
	// A late event may open a pane that saw no event yet; mark it so that
	// it expires with the window.
	r.index[s] = idx
	return r.counts[s*r.width : (s+1)*r.width]
}

// Live returns the counters of the pane holding tsMillis while that pane
// is in the window, whatever the lateness (nil once it has left): delayed
// outcomes are credited to their prediction's pane for as long as it is
// part of the window, however late they come.
func (r *Ring) Live(tsMillis int64) []float64 {
	idx := floorDiv(tsMillis, r.pane)
	if !r.started || idx > r.head {
		r.advance(idx)
	}
	if idx <= r.head-int64(r.n) {
		return nil
	}
	s := r.slot(idx)
	r.index[s] = idx
	return r.counts[s*r.width : (s+1)*r.width]
}

// Width is the number of counters per pane.
func (r *Ring) Width() int { return r.width }

// PaneIndex is the pane of event time tsMillis: events with the same index
// share a pane, so a batch can look the pane up once per run.
func (r *Ring) PaneIndex(tsMillis int64) int64 { return floorDiv(tsMillis, r.pane) }

// Add adds v to counter c of the pane holding tsMillis; false if late.
func (r *Ring) Add(tsMillis int64, c int, v float64) bool {
	p := r.Pane(tsMillis)
	if p == nil {
		return false
	}
	p[c] += v
	return true
}

// advance makes idx the head pane and clears the panes that leave the
// window: O(width) per pane, once.
func (r *Ring) advance(idx int64) {
	oldest := idx - int64(r.n) + 1
	for s := range r.n {
		if r.index[s] != noPane && r.index[s] < oldest {
			clear(r.counts[s*r.width : (s+1)*r.width])
			r.index[s] = noPane
		}
	}
	r.head, r.started = idx, true
	r.index[r.slot(idx)] = idx
}

func (r *Ring) slot(idx int64) int {
	s := int(idx % int64(r.n))
	if s < 0 {
		s += r.n
	}
	return s
}

// Totals writes the sum of every live pane into dst (grown to width).
func (r *Ring) Totals(dst []float64) []float64 {
	dst = append(dst[:0], make([]float64, r.width)...)
	if r.started {
		r.AddTotals(dst, r.head)
	}
	return dst
}

// Head is the index of the newest pane; ok is false before the first event.
func (r *Ring) Head() (idx int64, ok bool) { return r.head, r.started }

// AddTotals adds to dst (of width counters) the panes that a window whose
// newest pane is head holds: rings of several partitions of one stream
// are merged by adding each with the newest head among them, so a pane a
// lagging partition still keeps but the merged window has left is not
// counted.
func (r *Ring) AddTotals(dst []float64, head int64) {
	for s := range r.n {
		if idx := r.index[s]; idx == noPane || idx <= head-int64(r.n) || idx > head {
			continue
		}
		for i, v := range r.counts[s*r.width : (s+1)*r.width] {
			dst[i] += v
		}
	}
}

// AddCounters adds to dst counters from … from+len(dst) of the panes that
// a window whose newest pane is head holds (AddTotals for a few counters).
func (r *Ring) AddCounters(dst []float64, head int64, from int) {
	for s := range r.n {
		if idx := r.index[s]; idx == noPane || idx <= head-int64(r.n) || idx > head {
			continue
		}
		for i, v := range r.counts[s*r.width+from : s*r.width+from+len(dst)] {
			dst[i] += v
		}
	}
}

// Zero reports whether counter c is zero in every pane the ring holds:
// panes that left the window are cleared, so this is "in the window".
func (r *Ring) Zero(c int) bool {
	for s := range r.n {
		if r.counts[s*r.width+c] != 0 {
			return false
		}
	}
	return true
}

// BoundsAt is Bounds for a window whose newest pane is head.
func (r *Ring) BoundsAt(head int64) (start, end int64) {
	return (head - int64(r.n) + 1) * r.pane, (head + 1) * r.pane
}

// Bounds returns the window's event-time span [start, end) in ms; ok is
// false before the first event.
func (r *Ring) Bounds() (start, end int64, ok bool) {
	if !r.started {
		return 0, 0, false
	}
	start, end = r.BoundsAt(r.head)
	return start, end, true
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}
