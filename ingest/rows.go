// Package ingest turns decoded events into the columns a model version's
// window takes in one AddBatch: JSON events collected row by row (Rows),
// Arrow messages viewed column by column without copying (ArrowView), and
// what the join and the rollout keep of each prediction (Prediction). It
// decides nothing about routing, windows, joins or dead letters: the
// service routes events to versions and adds the columns under the
// partition's lock.
package ingest

import (
	"math"
	"strconv"

	"driftwatch/config"
	"driftwatch/events"
	"driftwatch/join"
	"driftwatch/monitor"
)

// ScoreThreshold turns a binary score into a class when the event has
// none: "1" at or above it.
const ScoreThreshold = 0.5

// Prediction is what the window's owner needs of one prediction beside
// its features: its id, what the join keeps, and what a rollout counts.
type Prediction struct {
	ID        string
	Pred      join.Prediction
	LatencyMS float64 // NaN without
	Failed    bool
}

// Rows collects one model version's events of a fetch as monitor.Batch
// columns, so the window takes them in one AddBatch under one lock, and
// what the join keeps of each.
type Rows struct {
	Batch monitor.Batch
	N     int
	Preds []Prediction

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

// NewRows returns the columns of a version with the numeric and
// categorical features num and cat (monitor.Window's order).
func NewRows(num, cat []string, f *config.Fields) *Rows {
	r := &Rows{index: map[string]int{}}
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
	r.Batch.Num, r.Batch.NumFlags = make([][]float64, len(num)), make([][]uint8, len(num))
	r.Batch.Cat, r.Batch.CatNull, r.Batch.CatFlags = make([][]string, len(cat)), make([][]bool, len(cat)), make([][]uint8, len(cat))
	return r
}

func (r *Rows) slot(k int, name string) int {
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

// Add appends one event. A feature absent from the event is flagged
// missing, one with the wrong type (a string for a numeric feature) invalid.
//
// Output drift needs no mechanism of its own: when the reference profile has
// a numeric column named like the score field, or a categorical one named
// like the prediction field, the event's score and predicted class are
// monitored as those features.
func (r *Rows) Add(ev *events.Event, ts int64) {
	b, i := &r.Batch, r.N
	b.TS = append(b.TS, ts)
	b.Confidence = append(b.Confidence, Confidence(ev))
	for f := range b.Num {
		b.Num[f], b.NumFlags[f] = append(b.Num[f], math.NaN()), append(b.NumFlags[f], monitor.FlagMissing)
	}
	for f := range b.Cat {
		b.Cat[f], b.CatNull[f], b.CatFlags[f] = append(b.Cat[f], ""), append(b.CatNull[f], true), append(b.CatFlags[f], monitor.FlagMissing)
	}
	pred := PredictionOf(ev, ts)
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
	r.Preds = append(r.Preds, Prediction{ID: ev.ID, Pred: pred, LatencyMS: lat, Failed: ev.Error})
	r.N++
}

// Reset empties the columns, keeping their capacity.
func (r *Rows) Reset() {
	b := &r.Batch
	b.TS, b.Confidence = b.TS[:0], b.Confidence[:0]
	for f := range b.Num {
		b.Num[f], b.NumFlags[f] = b.Num[f][:0], b.NumFlags[f][:0]
	}
	for f := range b.Cat {
		clear(b.Cat[f]) // drop references to the fetch's strings
		b.Cat[f], b.CatNull[f], b.CatFlags[f] = b.Cat[f][:0], b.CatNull[f][:0], b.CatFlags[f][:0]
	}
	clear(r.Preds)
	r.Preds, r.N = r.Preds[:0], 0
}

// PredictionOf is what the join keeps of a prediction event.
func PredictionOf(ev *events.Event, ts int64) join.Prediction {
	p := join.Prediction{Version: ev.Version, TS: ts, Score: ev.Score, HasScore: ev.HasScore, Value: math.NaN()}
	switch {
	case ev.HasPrediction && ev.Prediction.Kind == events.Number:
		p.Class, p.Value = ev.Prediction.Str, ev.Prediction.Num
	case ev.HasPrediction:
		p.Class = ev.Prediction.Str
	case ev.HasScore:
		// Without a predicted class the score decides at ScoreThreshold.
		p.Class = "0"
		if ev.Score >= ScoreThreshold {
			p.Class = "1"
		}
	}
	return p
}

// Confidence is the model's confidence in a prediction: max(s, 1 − s) for a
// binary score, the largest class probability with scores, NaN without.
func Confidence(ev *events.Event) float64 {
	c := math.NaN()
	if ev.HasScore {
		c = max(ev.Score, 1-ev.Score)
	}
	for _, p := range ev.Scores {
		if p.Kind == events.Number && !(p.Num <= c) {
			c = p.Num
		}
	}
	return c
}
