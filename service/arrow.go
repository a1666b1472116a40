package service

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	vm "github.com/VictoriaMetrics/metrics"
	"github.com/twmb/franz-go/pkg/kgo"

	"driftwatch/events"
	"driftwatch/join"
	"driftwatch/metrics"
	"driftwatch/monitor"
)

// arrowView turns one message's columns into monitor.Batch columns for one
// version without copying: a feature column is handed to AddBatch as the
// decoder gave it (itself a view of the Kafka record for float64 columns
// without nulls). Only absent features and confidences need buffers, which
// are reused.
type arrowView struct {
	v *version
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

// maxIgnoredColumns bounds the ignored-column counters of a version (their
// column label comes from producers); past it, columns share one counter
// labelled otherColumns.
const (
	maxIgnoredColumns = 32
	otherColumns      = "_other"
)

// handleArrow decodes one Arrow message of events and adds it, run by run
// of rows that share a model version. A message is accepted or
// dead-lettered whole: one row naming an unknown model or version rejects
// it, since a Kafka record cannot be partly dead-lettered.
func (s *Service) handleArrow(p *partitionState, d *decoding, topic string, r *kgo.Record, now time.Time) (rows int, err error) {
	c := &d.cols
	if err := d.arrowDec.Decode(r.Value, c); err != nil {
		return 0, err
	}
	for i := range c.Rows {
		m := s.models[c.Model[i]]
		if m == nil {
			return 0, &events.Error{Reason: events.ReasonUnknownModel, Field: s.cfg.Fields.Model, Err: fmt.Errorf("row %d: unknown model %q", i, c.Model[i])}
		}
		if topic == s.cfg.Topics.Predictions && m.versions[c.Version[i]] == nil {
			return 0, &events.Error{Reason: events.ReasonUnknownModel, Field: s.cfg.Fields.Version, Err: fmt.Errorf("row %d: unknown version %q of model %q", i, c.Version[i], c.Model[i])}
		}
	}
	ts := c.TS
	if !c.HasTS {
		d.ts = slices.Grow(d.ts[:0], c.Rows)[:c.Rows]
		for i := range d.ts {
			d.ts[i] = r.Timestamp.UnixMilli()
		}
		ts = d.ts
	}
	if topic == s.cfg.Topics.Outcomes {
		return c.Rows, s.arrowOutcomes(p, c, ts, now)
	}
	for i := 0; i < c.Rows; {
		j := i + 1
		for j < c.Rows && c.Model[j] == c.Model[i] && c.Version[j] == c.Version[i] {
			j++
		}
		v := s.models[c.Model[i]].versions[c.Version[i]]
		av := d.views[v]
		if av == nil {
			av = &arrowView{v: v}
			d.views[v] = av
		}
		s.addArrowRun(p, av, c, ts, i, j, now)
		i = j
	}
	return c.Rows, nil
}

// locate maps the version's features to the message's columns, and counts
// the columns the version's profile does not know (see ignoredColumn).
func (s *Service) locate(av *arrowView, c *events.Columns) {
	score, pred := s.cfg.Fields.Score, s.cfg.Fields.Prediction
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
	num, cat := av.v.eval.Numeric(), av.v.eval.Categorical()
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
			av.ignored = append(av.ignored, s.ignoredColumn(av.v, u.Name))
			continue
		}
		s.unreadableFeature(av.v, u)
	}
	for _, n := range c.Num {
		if !slices.Contains(num, n.Name) && !slices.Contains(cat, n.Name) {
			av.ignored = append(av.ignored, s.ignoredColumn(av.v, n.Name))
		}
	}
	for _, n := range c.Cat {
		if !slices.Contains(num, n.Name) && !slices.Contains(cat, n.Name) {
			av.ignored = append(av.ignored, s.ignoredColumn(av.v, n.Name))
		}
	}
	for _, n := range c.Ignored {
		av.ignored = append(av.ignored, s.ignoredColumn(av.v, n))
	}
	av.b.Num, av.b.NumFlags = make([][]float64, len(num)), make([][]uint8, len(num))
	av.b.Cat, av.b.CatNull, av.b.CatFlags = make([][]string, len(cat)), make([][]bool, len(cat)), make([][]uint8, len(cat))
}

// buffers sizes the constant columns for n rows.
func (av *arrowView) buffers(n int) {
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

// ignoredColumn returns the counter of the version's events that came in
// messages with a column the version's profile does not know; the first
// time a column is seen, it is logged. Past maxIgnoredColumns names, the
// rest share one counter and are neither kept nor logged one by one, so
// producers cannot grow the metrics or the memory.
func (s *Service) ignoredColumn(v *version, name string) *vm.Counter {
	v.mu.Lock()
	defer v.mu.Unlock()
	if c := v.ignored[name]; c != nil {
		return c
	}
	if len(v.ignored) >= maxIgnoredColumns {
		if v.ignoredOther == nil {
			v.ignoredOther = s.metrics.IgnoredColumnsTotal.Counter(metrics.Labels("model", v.model.name, "version", v.name, "column", otherColumns))
			s.log.Warn("service: more arrow columns than the profile knows; further ones are counted together", "model", v.model.name,
				"version", v.name, "column", name, "label", otherColumns, "limit", maxIgnoredColumns)
		}
		return v.ignoredOther
	}
	if v.ignored == nil {
		v.ignored = map[string]*vm.Counter{}
	}
	c := s.metrics.IgnoredColumnsTotal.Counter(metrics.Labels("model", v.model.name, "version", v.name, "column", name))
	s.log.Info("service: arrow column is not a feature of the version's profile; ignored (counted in driftwatch_ignored_columns_total)",
		"model", v.model.name, "version", v.name, "column", name)
	v.ignored[strings.Clone(name)] = c // kept: must not hold the message's memory
	return c
}

// unreadableFeature logs, once per version and column, a profile feature
// sent as a column of a type no feature can have.
func (s *Service) unreadableFeature(v *version, u events.Skipped) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.unreadable[u.Name] {
		return
	}
	if v.unreadable == nil {
		v.unreadable = map[string]bool{}
	}
	v.unreadable[strings.Clone(u.Name)] = true
	s.log.Warn("service: arrow column of a profile feature has a type no feature can have; its values count as invalid",
		"model", v.model.name, "version", v.name, "column", u.Name, "type", u.Type)
}

func (s *Service) addArrowRun(p *partitionState, av *arrowView, c *events.Columns, ts []int64, i, j int, now time.Time) {
	s.locate(av, c)
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

	// addRun asks for each event once, in order.
	var e predEvent
	s.addRun(p, av.v, b, n, now, func(k int) *predEvent {
		r := i + k
		e = predEvent{id: c.ID[r], pred: arrowPrediction(c, r, ts[r]), latencyMS: math.NaN()}
		if c.HasLatency {
			e.latencyMS = c.LatencyMS[r]
		}
		if c.Error != nil {
			e.failed = c.Error[r]
		}
		if ro := av.v.model.ro; ro != nil {
			s.countEvent(p, ro, av.v, &e) // runs come in message order
		}
		return &e
	})
	b.TS = nil // drop references to the message's columns
	clear(b.Num)
	clear(b.Cat)
	clear(b.CatNull)
}

// arrowPrediction is what the join keeps of row r (as predictionOf for
// JSON events).
func arrowPrediction(c *events.Columns, r int, ts int64) join.Prediction {
	p := join.Prediction{Version: c.Version[r], TS: ts, Value: math.NaN()}
	if c.HasScore && !math.IsNaN(c.Score[r]) {
		p.Score, p.HasScore = c.Score[r], true
	}
	switch {
	case c.HasPrediction && (c.PredictionNull == nil || !c.PredictionNull[r]):
		p.Class, p.Value = c.Prediction[r], c.PredictionNum[r]
	case p.HasScore:
		p.Class = "0"
		if p.Score >= scoreThreshold {
			p.Class = "1"
		}
	}
	return p
}

// arrowOutcomes joins a message of outcomes row by row, as outcome does
// for JSON events.
func (s *Service) arrowOutcomes(p *partitionState, c *events.Columns, ts []int64, now time.Time) error {
	if !c.HasLabel && !c.HasValue {
		return &events.Error{Reason: events.ReasonMissingField, Field: s.cfg.Fields.Label, Err: errors.New("outcomes need a label or a value column")}
	}
	for r := range c.Rows {
		m := s.models[c.Model[r]]
		o := join.Outcome{Value: math.NaN()}
		if c.HasLabel && (c.LabelNull == nil || !c.LabelNull[r]) {
			o.Label, o.Value = c.Label[r], c.LabelNum[r]
		}
		if c.HasValue {
			o.Value = c.Value[r]
		}
		if c.HasPrediction || c.HasScore {
			if v := m.versions[c.Version[r]]; v != nil {
				s.credit(p, m, join.Pair{ID: c.ID[r], Prediction: arrowPrediction(c, r, p.states[v].Next(ts[r])), Outcome: o})
				continue
			}
		}
		s.joinOutcome(p, m, c.ID[r], o, now)
	}
	return nil
}
