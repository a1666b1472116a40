package ingest

import (
	"math"
	"slices"
	"strconv"

	vm "github.com/VictoriaMetrics/metrics"

	"driftwatch/config"
	"driftwatch/events"
	"driftwatch/join"
	"driftwatch/monitor"
)

// ArrowView turns one message's columns into monitor.Batch columns for one
// version without copying: a feature column is handed to AddBatch as the
// decoder gave it (itself a view of the Kafka record for float64 columns
// without nulls). Only absent features and confidences need buffers, which
// are reused.
type ArrowView struct {
	b monitor.Batch

	// numCol[k], catCol[k] locate the version's k-th numeric and
	// categorical feature in the message: ≥ 0 an index into Columns.Num or
	// .Cat of the same kind, −1−i an index into the other kind (wrong type),
	// colMissing absent. They are recomputed when the message's columns
	// change (names below).
	numCol, catCol []int
	names          []string
	// ignored counts the events of messages with columns the version's
	// profile does not know, one counter per such column.
	ignored []*vm.Counter

	nan, conf        []float64
	missing, invalid []uint8
	empty, strs      []string
	allNull          []bool
}

const (
	colMissing = math.MinInt
	colScore   = math.MinInt + 1 // the score column, monitored as a numeric feature
	colPred    = math.MinInt + 2 // the prediction column, monitored as a categorical feature
	colInvalid = math.MinInt + 3 // a column of a type no feature can have: every value invalid
)

// Locate maps a version's numeric and categorical features (num, cat, in
// monitor.Window's order) to the message's columns when they changed since
// the last message. ignored returns the counter of the version's events
// that came with a column its profile does not know; unreadable is told of
// a feature column of a type no feature can have.
func (av *ArrowView) Locate(c *events.Columns, num, cat []string, f *config.Fields, ignored func(name string) *vm.Counter, unreadable func(events.Skipped)) {
	score, pred := f.Score, f.Prediction
	names := av.names[:0]
	for _, n := range c.Num {
		names = append(names, n.Name)
	}
	names = append(names, "|")
	for _, n := range c.Cat {
		names = append(names, n.Name)
	}
	names = append(names, "|")
	for _, n := range c.Unsupported {
		names = append(names, n.Name)
	}
	names = append(names, "|")
	names = append(names, c.Ignored...)
	if c.HasScore {
		names = append(names, "|score")
	}
	if c.HasPrediction {
		names = append(names, "|prediction")
	}
	if av.numCol != nil && slices.Equal(names, av.names) {
		return
	}
	av.names = slices.Clone(names)
	find := func(name string, same, other func(int) string, nSame, nOther int) int {
		for i := range nSame {
			if same(i) == name {
				return i
			}
		}
		for i := range nOther {
			if other(i) == name {
				return -1 - i
			}
		}
		return colMissing
	}
	numName := func(i int) string { return c.Num[i].Name }
	catName := func(i int) string { return c.Cat[i].Name }
	av.numCol, av.catCol = make([]int, len(num)), make([]int, len(cat))
	for k, n := range num {
		av.numCol[k] = find(n, numName, catName, len(c.Num), len(c.Cat))
		if av.numCol[k] == colMissing && n == score && c.HasScore {
			av.numCol[k] = colScore
		}
	}
	for k, n := range cat {
		av.catCol[k] = find(n, catName, numName, len(c.Cat), len(c.Num))
		if av.catCol[k] == colMissing && n == pred && c.HasPrediction {
			av.catCol[k] = colPred
		}
	}
	// Columns the decoder could not read: a profile feature's values are
	// invalid (that feature's error, not the message's); any other column
	// is ignored.
	av.ignored = av.ignored[:0]
	for _, u := range c.Unsupported {
		k, kc := slices.Index(num, u.Name), slices.Index(cat, u.Name)
		switch {
		case k >= 0 && av.numCol[k] == colMissing:
			av.numCol[k] = colInvalid
		case kc >= 0 && av.catCol[kc] == colMissing:
			av.catCol[kc] = colInvalid
		default:
			av.ignored = append(av.ignored, ignored(u.Name))
			continue
		}
		unreadable(u)
	}
	for _, n := range c.Num {
		if !slices.Contains(num, n.Name) && !slices.Contains(cat, n.Name) {
			av.ignored = append(av.ignored, ignored(n.Name))
		}
	}
	for _, n := range c.Cat {
		if !slices.Contains(num, n.Name) && !slices.Contains(cat, n.Name) {
			av.ignored = append(av.ignored, ignored(n.Name))
		}
	}
	for _, n := range c.Ignored {
		av.ignored = append(av.ignored, ignored(n))
	}
	av.b.Num, av.b.NumFlags = make([][]float64, len(num)), make([][]uint8, len(num))
	av.b.Cat, av.b.CatNull, av.b.CatFlags = make([][]string, len(cat)), make([][]bool, len(cat)), make([][]uint8, len(cat))
}

// buffers sizes the constant columns for n rows.
func (av *ArrowView) buffers(n int) {
	if len(av.nan) >= n {
		return
	}
	n = max(n, 2*len(av.nan))
	av.nan, av.missing, av.invalid = make([]float64, n), make([]uint8, n), make([]uint8, n)
	av.empty, av.allNull = make([]string, n), make([]bool, n)
	for i := range n {
		av.nan[i], av.missing[i], av.invalid[i], av.allNull[i] = math.NaN(), monitor.FlagMissing, monitor.FlagInvalid, true
	}
}

// Batch returns rows [i, j) of the message c as the version's columns, the
// feature columns views of c's, and counts them on the ignored columns'
// counters. The batch is valid until Release.
func (av *ArrowView) Batch(c *events.Columns, ts []int64, i, j int) *monitor.Batch {
	n := j - i
	av.buffers(n)
	for _, ctr := range av.ignored {
		ctr.Add(n)
	}
	b := &av.b
	b.TS = ts[i:j]
	for k, col := range av.numCol {
		switch {
		case col >= 0:
			b.Num[k], b.NumFlags[k] = c.Num[col].Values[i:j], nil
		case col == colScore:
			b.Num[k], b.NumFlags[k] = c.Score[i:j], nil
		case col == colMissing:
			b.Num[k], b.NumFlags[k] = av.nan[:n], av.missing[:n]
		case col == colInvalid:
			b.Num[k], b.NumFlags[k] = av.nan[:n], av.invalid[:n]
		default: // a text column for a numeric feature
			b.Num[k], b.NumFlags[k] = av.nan[:n], av.invalid[:n]
		}
	}
	for k, col := range av.catCol {
		switch {
		case col >= 0:
			b.Cat[k], b.CatFlags[k] = c.Cat[col].Values[i:j], nil
			b.CatNull[k] = nil
			if c.Cat[col].Null != nil {
				b.CatNull[k] = c.Cat[col].Null[i:j]
			}
		case col == colPred:
			b.Cat[k], b.CatFlags[k] = c.Prediction[i:j], nil
			b.CatNull[k] = nil
			if c.PredictionNull != nil {
				b.CatNull[k] = c.PredictionNull[i:j]
			}
		case col == colMissing:
			b.Cat[k], b.CatNull[k], b.CatFlags[k] = av.empty[:n], av.allNull[:n], av.missing[:n]
		case col == colInvalid:
			b.Cat[k], b.CatNull[k], b.CatFlags[k] = av.empty[:n], av.allNull[:n], av.invalid[:n]
		default: // numbers for a categorical feature: their text, as JSON does
			vals := c.Num[-1-col].Values[i:j]
			av.strs = slices.Grow(av.strs[:0], n)[:n]
			for r, x := range vals {
				av.strs[r] = strconv.FormatFloat(x, 'g', -1, 64)
			}
			b.Cat[k], b.CatNull[k], b.CatFlags[k] = av.strs, nil, nil
		}
	}
	b.Confidence = nil
	if c.HasScore {
		av.conf = slices.Grow(av.conf[:0], n)[:n]
		for r, x := range c.Score[i:j] {
			av.conf[r] = max(x, 1-x)
		}
		b.Confidence = av.conf
	}

	return b
}

// Release drops the batch's references to the message's columns.
func (av *ArrowView) Release() {
	b := &av.b
	b.TS = nil
	clear(b.Num)
	clear(b.Cat)
	clear(b.CatNull)
}

// ArrowPrediction is what the join keeps of row r (as PredictionOf for
// JSON events).
func ArrowPrediction(c *events.Columns, r int, ts int64) join.Prediction {
	p := join.Prediction{Version: c.Version[r], TS: ts, Value: math.NaN()}
	if c.HasScore && !math.IsNaN(c.Score[r]) {
		p.Score, p.HasScore = c.Score[r], true
	}
	switch {
	case c.HasPrediction && (c.PredictionNull == nil || !c.PredictionNull[r]):
		p.Class, p.Value = c.Prediction[r], c.PredictionNum[r]
	case p.HasScore:
		p.Class = "0"
		if p.Score >= ScoreThreshold {
			p.Class = "1"
		}
	}
	return p
}
