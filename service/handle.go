package service

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"driftwatch/config"
	"driftwatch/consumer"
	"driftwatch/events"
	"driftwatch/ingest"
	"driftwatch/join"
	"driftwatch/monitor"
)

// handle decodes one partition's records, routes them to model versions,
// and rejects what cannot be used.
func (s *Service) handle(topic string, partition int32, recs []*kgo.Record) {
	defer s.observeBatch(topic, s.opt.Now())
	p := s.owned(partition)
	if p == nil {
		return // released meanwhile: the next owner reads these records
	}
	// The whole fetch — state, dead letters, offsets — under the partition's
	// lock: a checkpoint sees all of it or none.
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.gone {
		return
	}
	rejected := s.handleRecords(p, topic, partition, recs)
	var refused *consumer.RefusedError
	switch err := s.cons.DeadLetter(s.workCtx, rejected); {
	case errors.As(err, &refused):
		// Retrying cannot succeed: the records are counted and the
		// partition moves on rather than stopping behind them.
		s.metrics.DeadLettersRefused.Add(len(refused.Records))
		s.log.Error("service: dead letters refused by the broker for good; skipped", "partition", partition, "err", err)
	case err != nil:
		p.broken = true
		if s.killed.Load() {
			return
		}
		s.log.Error("service: dead letters not produced; the partition is no longer checkpointed and will be re-read after a restart", "partition", partition, "err", err)
		return
	}
	p.next[s.topicIndex(topic)] = recs[len(recs)-1].Offset + 1
	p.dirty = true
}

// handleRecords decodes one partition's records, routes them to model
// versions, and returns what cannot be used. The caller holds p.mu.
func (s *Service) handleRecords(p *partitionState, topic string, partition int32, recs []*kgo.Record) []consumer.Rejected {
	key := fmt.Sprintf("%s/%d", topic, partition)
	s.partMu.Lock()
	d := s.decoders[key]
	if d == nil {
		f := s.cfg.Fields
		ef := events.Fields{ID: f.ID, Model: f.Model, Version: f.Version, TS: f.TS, Features: f.Features,
			Prediction: f.Prediction, Score: f.Score, Scores: f.Scores, LatencyMS: f.LatencyMS, Error: f.Error, Label: f.Label, Value: f.Value}
		d = &decoding{rows: map[*version]*ingest.Rows{}, dec: events.NewJSONDecoder(ef),
			arrowDec: events.NewArrowDecoder(ef), views: map[*version]*ingest.ArrowView{}}
		d.arrowDec.Features = s.features
		s.decoders[key] = d
	}
	s.partMu.Unlock()
	dec := d.dec

	var rejected []consumer.Rejected
	reject := func(r *kgo.Record, reason events.Reason, err error) {
		rejected = append(rejected, consumer.Rejected{Record: r, Reason: string(reason), Detail: err.Error()})
		s.deadLog.note(reason, r, err)
		s.topics[topic].Reject(reason)
	}
	if s.cfg.Format == config.FormatArrow {
		s.handleArrowRecords(p, d, topic, recs, reject)
		return rejected
	}
	if topic == s.cfg.Topics.Predictions {
		defer func() { s.processed.Add(int64(len(recs))) }()
	}
	ok := 0
	defer func() {
		// One counter update per batch, not per record.
		s.topics[topic].OK().Add(ok)
	}()
	var ev events.Event
	var (
		lastModel, lastVersion string
		m                      *model
		v                      *version
	)
	now := s.opt.Now() // one clock read per batch, for the join's bounds
	for _, r := range recs {
		if len(r.Value) > s.cfg.MaxMessageBytes {
			reject(r, events.ReasonOversize, fmt.Errorf("%d bytes, more than max_message_bytes %d", len(r.Value), s.cfg.MaxMessageBytes))
			continue
		}
		if err := dec.Decode(r.Value, &ev); err != nil {
			reject(r, events.ReasonOf(err), err)
			continue
		}
		if ev.Model != lastModel || m == nil {
			// The decoder interns the name: comparing with the last one
			// is usually one pointer comparison, not a map lookup.
			lastModel, m, v = ev.Model, s.models[ev.Model], nil
		}
		if m == nil {
			reject(r, events.ReasonUnknownModel, fmt.Errorf("unknown model %q", ev.Model))
			continue
		}
		ts := ev.TS
		if !ev.HasTS {
			ts = r.Timestamp.UnixMilli()
		}
		if topic == s.cfg.Topics.Outcomes {
			if !s.outcome(p, m, &ev, ts, now) {
				reject(r, events.ReasonMissingField, errors.New("an outcome needs a label or a value"))
				continue
			}
			ok++
			continue
		}
		if ev.Version != lastVersion || v == nil {
			lastVersion, v = ev.Version, m.versions[ev.Version]
		}
		if v == nil {
			reject(r, events.ReasonUnknownModel, fmt.Errorf("unknown version %q of model %q", ev.Version, ev.Model))
			continue
		}
		r := d.rowsFor(v, &s.cfg.Fields)
		r.Add(&ev, ts)
		if ro := m.ro; ro != nil {
			s.countEvent(p, ro, v, &r.Preds[r.N-1])
		}
		ok++
	}
	for _, v := range d.touched {
		s.flush(p, v, d.rows[v], now)
	}
	d.touched = d.touched[:0]
	return rejected
}

// handleArrowRecords handles a fetch of Arrow messages, each a batch of
// events; Processed counts events, not messages.
func (s *Service) handleArrowRecords(p *partitionState, d *decoding, topic string, recs []*kgo.Record, reject func(*kgo.Record, events.Reason, error)) {
	now := s.opt.Now()
	ok, rejected, handled := 0, 0, 0
	rej := func(r *kgo.Record, reason events.Reason, err error) {
		reject(r, reason, err)
		rejected++
	}
	for _, r := range recs {
		if len(r.Value) > s.cfg.MaxMessageBytes {
			rej(r, events.ReasonOversize, fmt.Errorf("%d bytes, more than max_message_bytes %d", len(r.Value), s.cfg.MaxMessageBytes))
			continue
		}
		n, err := s.handleArrow(p, d, topic, r, now)
		if err != nil {
			rej(r, events.ReasonOf(err), err)
			continue
		}
		ok++
		handled += n
	}
	s.topics[topic].OK().Add(ok)
	if topic == s.cfg.Topics.Predictions {
		s.processed.Add(int64(handled + rejected))
	}
}

// flush adds a fetch's rows of one version (JSON) with addRun.
func (s *Service) flush(p *partitionState, v *version, r *ingest.Rows, now time.Time) {
	s.addRun(p, v, &r.Batch, r.N, now, func(i int) *ingest.Prediction { return &r.Preds[i] })
	r.Reset()
}

// addRun adds n events of one version, as columns, to the partition's
// window, then registers the predictions (pred(i) for event i) with the
// partition's join under the key each got (see monitor.Window.Next), so
// an outcome is credited to its prediction's pane, and pairs a shadow
// rollout's predictions. JSON and Arrow both end here; the rollout's
// counters are updated before, in arrival order (countEvent). The caller
// holds p.mu.
func (s *Service) addRun(p *partitionState, v *version, b *monitor.Batch, n int, now time.Time, pred func(i int) *ingest.Prediction) {
	m, st, j := v.model, p.states[v], p.joins[v.model]
	first := st.Next(0) // a count window's key for the first event
	late := st.AddBatch(b)
	if added := n - late; added > 0 {
		v.mu.Lock()
		v.lastEvent = now
		v.mu.Unlock()
		v.events.Add(added)
	}
	if late > 0 {
		s.metrics.Late.Add(late)
	}
	ro := m.ro
	if ro != nil && v != ro.stable && v != ro.cand {
		ro = nil
	}
	for i := range n {
		e := pred(i)
		if ro != nil && ro.shadow {
			s.pairShadow(p, ro, v, e, now)
		}
		pr := e.Pred
		if v.cfg.Window.Count > 0 {
			pr.TS = first + int64(i)
		}
		if pair, ok := j.AddPrediction(joinKey(v, e.ID), pr, now); ok {
			pair.ID = e.ID
			s.credit(p, m, pair)
		}
	}
}

// outcome joins an outcome event; an outcome that carries its prediction
// needs no join. It reports false for an outcome without label or value.
func (s *Service) outcome(p *partitionState, m *model, ev *events.Event, ts int64, now time.Time) bool {
	if !ev.HasLabel && !ev.HasValue {
		return false
	}
	o := join.Outcome{Label: ev.Label.Str, Value: ev.Value}
	if ev.HasLabel && ev.Label.Kind == events.Number && !ev.HasValue {
		o.Value = ev.Label.Num
	}
	if v := m.versions[ev.Version]; v != nil && (ev.HasPrediction || ev.HasScore) {
		// Credited to the pane of its own time: in a count window, to the
		// newest pane.
		s.credit(p, m, join.Pair{ID: ev.ID, Prediction: ingest.PredictionOf(ev, p.states[v].Next(ts)), Outcome: o})
		return true
	}
	s.joinOutcome(p, m, ev.ID, o, now)
	return true
}

// credit adds a joined pair's quality to its prediction's window in the
// partition. The caller holds p.mu.
func (s *Service) credit(p *partitionState, m *model, pair join.Pair) {
	v := m.versions[pair.Prediction.Version]
	if v == nil {
		return
	}
	m.joinDelay.Update(max(pair.Delay, 0).Seconds())
	o := monitor.Outcome{Correct: pair.Prediction.Class == pair.Outcome.Label, Err: math.NaN(), Score: math.NaN()}
	if m.regression {
		o.Err = pair.Prediction.Value - pair.Outcome.Value
	} else {
		o.Positive, o.PredictedPositive = pair.Outcome.Label == m.positive, pair.Prediction.Class == m.positive
		if pair.Prediction.HasScore {
			o.Score = pair.Prediction.Score
		}
	}
	p.states[v].AddOutcome(pair.Prediction.TS, o)
	s.countOutcome(p, m, v, &pair, o.Positive, o.PredictedPositive)
	s.joined.Add(1)
}

// deadLog summarises dead letters in one log line per reason per
// evaluation, with the first message's error and position as an example:
// bad input is counted per record, never logged per record.
type deadLog struct {
	mu      sync.Mutex
	count   map[events.Reason]int
	example map[events.Reason]string
}

func (d *deadLog) note(reason events.Reason, r *kgo.Record, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.count == nil {
		d.count, d.example = map[events.Reason]int{}, map[events.Reason]string{}
	}
	if d.count[reason] == 0 {
		d.example[reason] = fmt.Sprintf("%s/%d offset %d: %v", r.Topic, r.Partition, r.Offset, err)
	}
	d.count[reason]++
}

func (d *deadLog) flush(log *slog.Logger) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for reason, n := range d.count {
		log.Warn("service: messages sent to the dead-letter topic", "reason", reason, "count", n, "first", d.example[reason])
	}
	clear(d.count)
	clear(d.example)
}
