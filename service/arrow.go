package service

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	vm "github.com/VictoriaMetrics/metrics"
	"github.com/twmb/franz-go/pkg/kgo"

	"driftwatch/events"
	"driftwatch/ingest"
	"driftwatch/join"
	"driftwatch/metrics"
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
			av = &ingest.ArrowView{}
			d.views[v] = av
		}
		s.addArrowRun(p, v, av, c, ts, i, j, now)
		i = j
	}
	return c.Rows, nil
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

func (s *Service) addArrowRun(p *partitionState, v *version, av *ingest.ArrowView, c *events.Columns, ts []int64, i, j int, now time.Time) {
	av.Locate(c, v.eval.Numeric(), v.eval.Categorical(), &s.cfg.Fields,
		func(name string) *vm.Counter { return s.ignoredColumn(v, name) }, func(u events.Skipped) { s.unreadableFeature(v, u) })
	b := av.Batch(c, ts, i, j)
	// addRun asks for each event once, in order.
	var e ingest.Prediction
	s.addRun(p, v, b, j-i, now, func(k int) *ingest.Prediction {
		r := i + k
		e = ingest.Prediction{ID: c.ID[r], Pred: ingest.ArrowPrediction(c, r, ts[r]), LatencyMS: math.NaN()}
		if c.HasLatency {
			e.LatencyMS = c.LatencyMS[r]
		}
		if c.Error != nil {
			e.Failed = c.Error[r]
		}
		if ro := v.model.ro; ro != nil {
			s.countEvent(p, ro, v, &e) // runs come in message order
		}
		return &e
	})
	av.Release()
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
				s.credit(p, m, join.Pair{ID: c.ID[r], Prediction: ingest.ArrowPrediction(c, r, p.states[v].Next(ts[r])), Outcome: o})
				continue
			}
		}
		s.joinOutcome(p, m, c.ID[r], o, now)
	}
	return nil
}
