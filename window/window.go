// Package window keeps event-time sliding windows as a ring of panes of
// counters: a window of 1 h with 1 min panes is 60 panes, each holding the
// same fixed set of counters (histogram bins, quality counts). Adding a pane
// and expiring the oldest costs O(counters), and the window's totals are
// always available in O(counters) without summing panes.
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
	lateness int64 // ms behind the newest pane start that is still accepted

	counts  []float64 // n × width, slot = pane index mod n
	index   []int64   // pane index held by each slot, or noPane
	closed  []float64 // sum of live panes except the head
	head    int64     // index of the newest pane seen
	started bool      // head is valid
	late    uint64
}

// New returns a ring of window/pane panes of width counters. Events up to
// lateness behind the newest pane's start are still counted in their pane
// (if that pane is still in the window).
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
		counts: make([]float64, n*width), index: make([]int64, n), closed: make([]float64, width),
	}
	for i := range r.index {
		r.index[i] = noPane
	}
	return r, nil
}

// locate returns the slot of the pane holding event time tsMillis, after
// advancing the window if the event is newer than every pane so far. It
// reports false for a late event (outside the window, or more than lateness
// behind the head pane's start), which is counted.
func (r *Ring) locate(tsMillis int64) (slot int, ok bool) {
	idx := floorDiv(tsMillis, r.pane)
	if !r.started || idx > r.head {
		r.advance(idx)
	}
	if idx <= r.head-int64(r.n) || tsMillis < (r.head*r.pane)-r.lateness && idx != r.head {
		r.late++
		return 0, false
	}
	s := r.slot(idx)
	// A late event may open a pane that saw no event yet; mark it so that
	// it expires with the window.
	r.index[s] = idx
	return s, true
}

// Add adds v to counter c of the pane holding tsMillis. It reports false
// for a late event.
func (r *Ring) Add(tsMillis int64, c int, v float64) bool {
	s, ok := r.locate(tsMillis)
	if !ok {
		return false
	}
	r.counts[s*r.width+c] += v
	if r.index[s] != r.head {
		r.closed[c] += v
	}
	return true
}

// AddAll adds vs (len width) to the pane holding tsMillis: one pane lookup
// for a whole batch of counters.
func (r *Ring) AddAll(tsMillis int64, vs []float64) bool {
	s, ok := r.locate(tsMillis)
	if !ok {
		return false
	}
	p := r.counts[s*r.width : (s+1)*r.width]
	_ = vs[len(p)-1]
	for i := range p {
		p[i] += vs[i]
	}
	if r.index[s] != r.head {
		for i := range p {
			r.closed[i] += vs[i]
		}
	}
	return true
}

// advance makes idx the head pane: the old head joins the closed sum and
// panes that leave the window are subtracted and cleared. Each step is
// O(width); a jump longer than the window clears everything once.
func (r *Ring) advance(idx int64) {
	if r.started {
		hs := r.slot(r.head)
		if r.index[hs] == r.head {
			p := r.counts[hs*r.width : (hs+1)*r.width]
			for i, v := range p {
				r.closed[i] += v
			}
		}
	}
	oldest := idx - int64(r.n) + 1
	for s := range r.n {
		if r.index[s] != noPane && r.index[s] < oldest {
			p := r.counts[s*r.width : (s+1)*r.width]
			for i, v := range p {
				r.closed[i] -= v
				p[i] = 0
			}
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

// Totals writes the sum of every pane in the window into dst (len width).
func (r *Ring) Totals(dst []float64) []float64 {
	dst = append(dst[:0], r.closed...)
	if r.started {
		hs := r.slot(r.head)
		if r.index[hs] == r.head {
			for i, v := range r.counts[hs*r.width : (hs+1)*r.width] {
				dst[i] += v
			}
		}
	}
	return dst
}

// Bounds returns the window's event-time span [start, end) in ms; ok is
// false before the first event.
func (r *Ring) Bounds() (start, end int64, ok bool) {
	if !r.started {
		return 0, 0, false
	}
	return (r.head - int64(r.n) + 1) * r.pane, (r.head + 1) * r.pane, true
}

// Late is the number of events dropped as late.
func (r *Ring) Late() uint64 { return r.late }

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}
