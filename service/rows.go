package service

import (
	"math"
	"strconv"

	"driftwatch/config"
	"driftwatch/events"
	"driftwatch/monitor"
)

// decoding is what one partition worker keeps between fetches: its
// decoder and, per model version, the current fetch's events as columns.
// Only that worker touches it, so it needs no lock.
type decoding struct {
	dec     *events.JSONDecoder
	rows    map[*version]*rows
	touched []*rows // versions with rows in the current fetch, in first-seen order

	// format: arrow
	arrowDec *events.ArrowDecoder
	cols     events.Columns
	views    map[*version]*arrowView
	ts       []int64 // record timestamps for messages without a ts column
}

func (p *decoding) rowsFor(v *version, f *config.Fields) *rows {
	r := p.rows[v]
	if r == nil {
		r = newRows(v, f)
		p.rows[v] = r
	}
	if r.n == 0 {
		p.touched = append(p.touched, r)
	}
	return r
}

// rows collects one version's events of a fetch as monitor.Batch columns,
// so the window takes them in one AddBatch under one lock, and what the
// join keeps of each.
type rows struct {
	v   *version
	b   monitor.Batch
	n   int
	evs []predEvent

	// slots[k] is the column of the k-th feature in the last event named
	// names[k] (see slot): events of one producer list their features in one
	// order, so the map lookup is rarely needed.
	names []string
	slots []int
	index map[string]int // feature → column: numeric i ≥ 0, categorical −1−i
	// The columns of the score and the predicted class when the profile
	// monitors them as features (see add), else notMonitored.
	score, pred int
}

const notMonitored = math.MinInt

func newRows(v *version, f *config.Fields) *rows {
	r := &rows{v: v, index: map[string]int{}}
	num, cat := v.eval.Numeric(), v.eval.Categorical()
	for i, n := range num {
		r.index[n] = i
	}
	for i, n := range cat {
		r.index[n] = -1 - i
	}
	r.score, r.pred = notMonitored, notMonitored
	if s, ok := r.index[f.Score]; ok && s >= 0 {
		r.score = s
	}
	if s, ok := r.index[f.Prediction]; ok && s < 0 {
		r.pred = -1 - s
	}
	r.b.Num, r.b.NumFlags = make([][]float64, len(num)), make([][]uint8, len(num))
	r.b.Cat, r.b.CatNull, r.b.CatFlags = make([][]string, len(cat)), make([][]bool, len(cat)), make([][]uint8, len(cat))
	return r
}

func (r *rows) slot(k int, name string) int {
	if k < len(r.names) && r.names[k] == name {
		return r.slots[k]
	}
	s, ok := r.index[name]
	if !ok {
		s = notMonitored
	}
	if k < len(r.names) {
		r.names[k], r.slots[k] = name, s
	} else if k == len(r.names) {
		r.names, r.slots = append(r.names, name), append(r.slots, s)
	}
	return s
}

// add appends one event. A feature absent from the event is flagged
// missing, one with the wrong type (a string for a numeric feature) invalid.
//
// Output drift needs no mechanism of its own: when the reference profile has
// a numeric column named like the score field, or a categorical one named
// like the prediction field, the event's score and predicted class are
// monitored as those features.
func (r *rows) add(ev *events.Event, ts int64) {
	b, i := &r.b, r.n
	b.TS = append(b.TS, ts)
	b.Confidence = append(b.Confidence, confidence(ev))
	for f := range b.Num {
		b.Num[f], b.NumFlags[f] = append(b.Num[f], math.NaN()), append(b.NumFlags[f], monitor.FlagMissing)
	}
	for f := range b.Cat {
		b.Cat[f], b.CatNull[f], b.CatFlags[f] = append(b.Cat[f], ""), append(b.CatNull[f], true), append(b.CatFlags[f], monitor.FlagMissing)
	}
	pred := predictionOf(ev, ts)
	for k, f := range ev.Features {
		s := r.slot(k, f.Name)
		switch {
		case s == notMonitored:
		case s >= 0:
			switch f.Kind {
			case events.Number:
				b.Num[s][i], b.NumFlags[s][i] = f.Num, monitor.FlagNull
			case events.Null:
				b.NumFlags[s][i] = monitor.FlagNull
			default:
				b.NumFlags[s][i] = monitor.FlagInvalid
			}
		default:
			s = -1 - s
			b.CatFlags[s][i] = monitor.FlagNull
			if f.Kind != events.Null {
				v := f.Str
				if f.Kind == events.Number {
					v = strconv.FormatFloat(f.Num, 'g', -1, 64)
				}
				b.Cat[s][i], b.CatNull[s][i] = v, false
			}
		}
	}
	if s := r.score; s != notMonitored && ev.HasScore {
		b.Num[s][i], b.NumFlags[s][i] = ev.Score, monitor.FlagNull
	}
	if s := r.pred; s != notMonitored && (ev.HasPrediction || ev.HasScore) {
		b.Cat[s][i], b.CatNull[s][i], b.CatFlags[s][i] = pred.Class, false, monitor.FlagNull
	}
	lat := math.NaN()
	if ev.HasLatency {
		lat = ev.LatencyMS
	}
	r.evs = append(r.evs, predEvent{id: ev.ID, pred: pred, latencyMS: lat, failed: ev.Error})
	r.n++
}

// reset empties the columns, keeping their capacity.
func (r *rows) reset() {
	b := &r.b
	b.TS, b.Confidence = b.TS[:0], b.Confidence[:0]
	for f := range b.Num {
		b.Num[f], b.NumFlags[f] = b.Num[f][:0], b.NumFlags[f][:0]
	}
	for f := range b.Cat {
		clear(b.Cat[f]) // drop references to the fetch's strings
		b.Cat[f], b.CatNull[f], b.CatFlags[f] = b.Cat[f][:0], b.CatNull[f][:0], b.CatFlags[f][:0]
	}
	clear(r.evs)
	r.evs, r.n = r.evs[:0], 0
}
