// Package service is `driftwatch serve`: it owns start and stop of the
// pieces — the embedded broker when no brokers are configured, the Kafka
// consumer, the per-model-version monitor state, the periodic evaluation and
// the HTTP listener with /metrics, health and the JSON API — so tests run the
// whole service in-process. The pieces' logic lives in their packages.
package service

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	vm "github.com/VictoriaMetrics/metrics"
	"github.com/twmb/franz-go/pkg/kgo"

	"driftwatch/alerting"
	"driftwatch/api"
	"driftwatch/broker"
	"driftwatch/calibrate"
	"driftwatch/checkpoint"
	"driftwatch/config"
	"driftwatch/consumer"
	"driftwatch/events"
	"driftwatch/ingest"
	"driftwatch/join"
	"driftwatch/metrics"
	"driftwatch/monitor"
	"driftwatch/profile"
)

// Options are process settings; behaviour is in the config.
type Options struct {
	Config   *config.Config
	HTTPAddr string // "" disables the listener
	Logger   *slog.Logger
	// Now is the clock for evaluation timestamps (time.Now when nil).
	Now func() time.Time
	// GrafanaURL, when set, is linked from the status page.
	GrafanaURL string
	// KafkaOpts are extra franz-go options for the group consumer (tests:
	// short session timeouts).
	KafkaOpts []kgo.Opt
}

// Service is a running monitor.
type Service struct {
	opt      Options
	cfg      *config.Config
	log      *slog.Logger
	embedded *broker.Embedded
	cons     *consumer.Consumer
	httpSrv  *http.Server
	httpLn   net.Listener
	metrics  *metrics.Metrics
	// topics are the input topics' series (read-only after Start).
	topics map[string]*metrics.Topic
	models map[string]*model
	// features holds every profile's feature names: the Arrow columns
	// worth decoding (read-only after Start).
	features map[string]bool
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	ready    chan struct{}

	partMu   sync.Mutex
	decoders map[string]*decoding      // per topic/partition: one worker each
	parts    map[int32]*partitionState // state per owned partition number

	ckpt         checkpoint.Store // nil: offsets are committed, state is not saved
	ckptMu       sync.Mutex
	ckptBuf      []byte
	assignedOnce atomic.Bool
	killed       atomic.Bool
	runCtx       context.Context // ends when the service stops fetching
	workCtx      context.Context // ends when in-flight work is abandoned (Kill, or Close's deadline)
	cancelWork   context.CancelFunc
	consumerDone chan struct{} // closed when the poll loop returned (after running is set)
	running      bool
	remote       map[int32]*remotePart // evalMu

	deadLog deadLog
	// stallMu guards stallGauges, the driftwatch_partition_stalled series
	// last set (progress.go).
	stallMu     sync.Mutex
	stallGauges map[string]bool
	evalMu      sync.Mutex  // one evaluation at a time
	saveMu      sync.Mutex  // one write of the alert state file at a time
	crashed     atomic.Bool // Kill: the alert state file is not written any more
	alerts      *alerting.Engine
	alertAPI    *alerting.API
	started     time.Time    // no_data counts from here for versions without events
	processed   atomic.Int64 // prediction records handled, accepted or dead-lettered
	joined      atomic.Int64

	closeOnce sync.Once
}

type model struct {
	name       string
	regression bool
	positive   string // the positive class (F1, AUC, ECE)
	joinDelay  *vm.PrometheusHistogram
	versions   map[string]*version
	ro         *modelRollout // nil without a rollout
	// roSamples are the rollout's alert samples of the last evaluation
	// (evalMu).
	roSamples []alerting.Sample
}

type version struct {
	name  string
	model *model
	cfg   *config.Model
	prof  *profile.Profile
	// eval holds no events: it is the first of the states Merge adds up
	// (its buffer of totals) and tells the column layout.
	eval *monitor.Window
	mu   sync.Mutex // last, history, lastEvent
	last monitor.Evaluation
	// lastEvent is when the version last received an event (wall clock, for
	// no-data detection); events counts them (volume).
	lastEvent time.Time
	events    *vm.Counter
	history   []Point
	// ignored counts events by Arrow column the profile does not know,
	// unreadable marks profile features already logged as sent in a type
	// no feature can have (mu; both touched only when a message's columns
	// change).
	ignored      map[string]*vm.Counter
	ignoredOther *vm.Counter // past maxIgnoredColumns
	unreadable   map[string]bool
	// lastSamples are the alert samples of the last evaluation (evalMu).
	lastSamples []alerting.Sample
	// auto holds the profile's calibrated thresholds for rules with
	// `threshold: auto` (nil without such rules).
	auto alerting.AutoThresholds
}

// HTTP server limits: every connection costs a file descriptor shared
// with the Kafka clients, so idle keep-alive clients are dropped, slow
// ones time out, and headers are bounded (the API takes no request body).
const (
	httpReadHeaderTimeout = 5 * time.Second
	httpReadTimeout       = 10 * time.Second
	// httpWriteTimeout leaves room for a /metrics or /readyz that waits on
	// the brokers (progressTimeout) and for a large status page.
	httpWriteTimeout   = 30 * time.Second
	httpIdleTimeout    = 60 * time.Second
	httpMaxHeaderBytes = 64 << 10
)

const (
	// notifyTimeout bounds one request to a notifier (Alertmanager,
	// Slack, PagerDuty, a webhook).
	notifyTimeout = 30 * time.Second
	// alertCheckpointTimeout bounds the checkpoint of partition 0 that
	// carries the alert states before notifications are released.
	alertCheckpointTimeout = 10 * time.Second
)

// Start builds and starts the service.
func Start(ctx context.Context, opt Options) (*Service, error) {
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	cfg := opt.Config
	s := &Service{opt: opt, cfg: cfg, log: opt.Logger, metrics: metrics.New(), models: map[string]*model{}, features: map[string]bool{},
		ready: make(chan struct{}), decoders: map[string]*decoding{}, parts: map[int32]*partitionState{}, consumerDone: make(chan struct{}), remote: map[int32]*remotePart{}}
	s.topics = map[string]*metrics.Topic{cfg.Topics.Predictions: s.metrics.Topic(cfg.Topics.Predictions),
		cfg.Topics.Outcomes: s.metrics.Topic(cfg.Topics.Outcomes)}
	for i, m := range cfg.Models {
		md := &model{name: m.Name, regression: m.Task == "regression", positive: m.Positive,
			joinDelay: s.metrics.JoinDelaySeconds.Histogram(metrics.Labels("model", m.Name)), versions: map[string]*version{}}
		for _, v := range m.Versions {
			path := v.Reference
			if !filepath.IsAbs(path) {
				path = filepath.Join(cfg.Dir, path)
			}
			p, err := profile.Load(path)
			if err != nil {
				return nil, fmt.Errorf("service: model %q version %q: %w", m.Name, v.Name, err)
			}
			ver := &version{name: v.Name, model: md, prof: p, cfg: &cfg.Models[i],
				events: s.metrics.ModelEventsTotal.Counter(metrics.Labels("model", m.Name, "version", v.Name))}
			if ver.eval, err = ver.makeState(); err != nil {
				return nil, fmt.Errorf("service: model %q version %q: %w", m.Name, v.Name, err)
			}
			// The window works on the profile's bins; the reference values
			// themselves serve only `check`'s exact tests, so they go.
			for _, f := range p.Features {
				f.Sample = nil
			}
			auto, warnings, err := calibrate.Resolve(p, path, &cfg.Models[i], v.Name, cfg.Alerting.Rules)
			if err != nil {
				return nil, fmt.Errorf("service: model %q version %q: %w", m.Name, v.Name, err)
			}
			for _, w := range warnings {
				s.log.Warn("service: "+w, "model", m.Name, "version", v.Name)
			}
			md.versions[v.Name] = ver
			for _, n := range slices.Concat(ver.eval.Numeric(), ver.eval.Categorical()) {
				s.features[n] = true
			}
			if auto != nil {
				ver.auto = auto
			}
		}
		if m.Rollout != nil {
			md.ro = s.newRollout(md, *m.Rollout)
		}
		s.models[m.Name] = md
	}

	brokers := cfg.Kafka.Brokers
	if len(brokers) == 0 {
		// With a state directory the broker keeps its log there too, so the
		// checkpoints' offsets still name the same records after a restart.
		dataDir := ""
		if cfg.Checkpoint.Dir != "" {
			dataDir = filepath.Join(cfg.Checkpoint.Dir, "broker")
		}
		// Retention deletes input records only below the group's commits,
		// which follow checkpoints (broker.Retention's invariant).
		ret := cfg.Kafka.Embedded.Retention.Broker(cfg.Kafka.Group, cfg.Topics.Predictions, cfg.Topics.Outcomes)
		ret.Log = s.log
		b, err := broker.Start(broker.Options{Addr: cfg.Kafka.EmbeddedAddr, Partitions: 1, DataDir: dataDir,
			MaxMessageBytes: consumer.DeadLetterLimit(cfg.MaxMessageBytes),
			Topics:          []string{cfg.Topics.Predictions, cfg.Topics.Outcomes, cfg.Topics.DeadLetters}, Retention: ret})
		if err != nil {
			return nil, err
		}
		s.embedded = b
		brokers = b.Addrs()
		if dataDir == "" {
			s.log.Info("started the embedded Kafka broker; its data lives in memory", "addr", brokers[0])
		} else {
			s.log.Info("started the embedded Kafka broker", "addr", brokers[0], "data_dir", dataDir)
		}
	}
	var extra []kgo.Opt
	if s.embedded == nil { // the embedded broker speaks plaintext on loopback
		var err error
		if extra, err = kafkaOpts(cfg.Kafka); err != nil {
			s.Close(context.Background())
			return nil, err
		}
		if err = checkKafka(ctx, cfg.Kafka, brokers, extra); err != nil {
			s.Close(context.Background())
			return nil, err
		}
	}
	var err error
	switch {
	case cfg.Checkpoint.Dir != "":
		var d *checkpoint.Dir
		d, err = checkpoint.NewDir(filepath.Join(cfg.Checkpoint.Dir, "checkpoints"))
		if err == nil {
			s.ckpt = d
		}
	case cfg.Checkpoint.Topic != "":
		var k *checkpoint.Topic
		k, err = checkpoint.NewTopic(ctx, brokers, cfg.Checkpoint.Topic, cfg.Kafka.Group, append(slices.Clip(extra), compression(cfg.Checkpoint.Compression)))
		if err == nil {
			s.ckpt = k
		}
	}
	if err != nil {
		s.Close(context.Background())
		return nil, err
	}

	// The listener comes first: alert links need its address. Serving
	// starts once the alert engine, whose API it mounts, exists.
	statusURL := ""
	if opt.HTTPAddr != "" {
		ln, err := net.Listen("tcp", opt.HTTPAddr)
		if err != nil {
			s.Close(context.Background())
			return nil, fmt.Errorf("service: http listener: %w", err)
		}
		s.httpLn = ln
		statusURL = "http://" + ln.Addr().String()
	}
	s.alerts, s.alertAPI, err = cfg.Alerting.Build(statusURL, s.metrics.NotificationsTotal.Set(), s.log, &http.Client{Timeout: notifyTimeout})
	if err != nil {
		s.Close(context.Background())
		return nil, fmt.Errorf("service: %w", err)
	}
	s.alertAPI.Now = opt.Now
	// An acknowledged notification leaves the state file at once, so a
	// restart does not send it again.
	s.alerts.OnSettled(s.saveAlerts)
	if f := cfg.Alerting.StateFile; f != "" {
		switch data, err := os.ReadFile(f); {
		case err == nil:
			if err := s.alerts.Restore(data); err != nil {
				s.log.Warn("service: alert state not restored", "file", f, "err", err)
			}
		case !errors.Is(err, fs.ErrNotExist):
			s.log.Warn("service: alert state not restored", "file", f, "err", err)
		}
	}
	// The group join starts with the client and restores partitions,
	// alert states among them, so the consumer comes after the engine.
	cons, err := consumer.New(consumer.Options{Brokers: brokers, Group: cfg.Kafka.Group, ClientID: cfg.Kafka.ClientID,
		Topics: []string{cfg.Topics.Predictions, cfg.Topics.Outcomes}, DeadLetters: cfg.Topics.DeadLetters, Logger: s.log,
		MaxMessageBytes: cfg.MaxMessageBytes, Now: opt.Now, InstanceID: cfg.Kafka.InstanceID,
		Extra: append(append(extra, groupOpts(cfg.Kafka)...), opt.KafkaOpts...), Assigned: s.assigned, Released: s.released}, s.handle)
	if err != nil {
		s.Close(context.Background())
		return nil, err
	}
	s.cons = cons
	if s.httpLn != nil {
		s.httpSrv = &http.Server{Handler: routes(s), ReadHeaderTimeout: httpReadHeaderTimeout, ReadTimeout: httpReadTimeout,
			WriteTimeout: httpWriteTimeout, IdleTimeout: httpIdleTimeout, MaxHeaderBytes: httpMaxHeaderBytes}
		s.wg.Go(func() {
			if err := s.httpSrv.Serve(s.httpLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.log.Error("service: http server", "err", err)
			}
		})
	}
	s.started = opt.Now()

	runCtx, cancel := context.WithCancel(ctx)
	s.cancel, s.runCtx, s.running = cancel, runCtx, true
	s.workCtx, s.cancelWork = context.WithCancel(context.WithoutCancel(ctx))
	s.wg.Go(func() {
		defer close(s.consumerDone)
		if err := cons.Run(runCtx); err != nil {
			s.log.Error("service: consumer", "err", err)
		}
	})
	s.wg.Go(func() { s.evaluateLoop(runCtx) })
	s.wg.Go(func() { s.checkpointLoop(runCtx) })
	close(s.ready)
	return s, nil
}

// Brokers returns the Kafka addresses the service consumes from.
func (s *Service) Brokers() []string {
	if s.embedded != nil {
		return s.embedded.Addrs()
	}
	return s.cfg.Kafka.Brokers
}

// HTTPAddr is the listener's address ("" when disabled).
func (s *Service) HTTPAddr() string {
	if s.httpLn == nil {
		return ""
	}
	return s.httpLn.Addr().String()
}

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
		rejected = append(rejected, consumer.Rejected{Record: r, Reason: string(reason)})
		s.deadLog.note(reason, r, err)
		s.topics[topic].Reject(reason)
	}
	if s.cfg.Format == "arrow" {
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

// Joined is the number of outcomes joined to their predictions.
func (s *Service) Joined() int64 { return s.joined.Load() }

// makeState returns an empty window state for the version.
func (v *version) makeState() (*monitor.Window, error) {
	var st *monitor.Window
	var err error
	if w := v.cfg.Window; w.Count > 0 {
		st, err = monitor.NewCountWindow(v.prof, w.Count)
	} else {
		st, err = monitor.NewWindow(v.prof, w.Length, w.Pane, w.Lateness)
	}
	if err != nil {
		return nil, err
	}
	st.HighConfidence = v.cfg.HighConfidence
	return st, nil
}

// newState is makeState for a layout Start already accepted.
func (v *version) newState() *monitor.Window {
	st, err := v.makeState()
	if err != nil {
		panic(err) // Start built the same state without error
	}
	return st
}

// samples appends what the alert rules can watch of one evaluation.
func (v *version) samples(dst []alerting.Sample, ev *monitor.Evaluation, lastEvent, started, now time.Time) []alerting.Sample {
	inf, min := math.Inf(1), float64(v.cfg.MinSamples)
	add := func(feature, stat string, x, n float64) {
		dst = append(dst, alerting.Sample{Model: v.model.name, Version: v.name, Feature: feature, Statistic: stat,
			Value: x, Samples: n, MinSamples: min, WindowStart: ev.Start, WindowEnd: ev.End, Auto: v.auto})
	}
	for _, f := range ev.Features {
		add(f.Name, "psi", f.PSI, f.Values)
		add(f.Name, "jensen_shannon", f.JS, f.Values)
		if f.Kind == profile.Numeric {
			add(f.Name, "hellinger", f.Hellinger, f.Values)
			add(f.Name, "ks", f.KS, f.Values)
			add(f.Name, "wasserstein", f.Wasserstein, f.Values)
			add(f.Name, "out_of_range_rate", f.OutOfRangeRate, f.Values)
		} else {
			add(f.Name, "chi_square", f.ChiSquare, f.Values)
			add(f.Name, "chi_square_p", f.ChiSquareP, f.Values)
			add(f.Name, "unseen_share", f.UnseenShare, f.Values)
		}
		add(f.Name, "null_rate", f.NullRate, ev.Events)
		add(f.Name, "missing_rate", f.MissingRate, ev.Events)
		add(f.Name, "invalid_rate", f.InvalidRate, ev.Events)
	}
	if v.model.regression {
		add("", "mae", ev.MAE, ev.Joined)
		add("", "rmse", ev.RMSE, ev.Joined)
	} else {
		add("", "accuracy", ev.Accuracy, ev.Joined)
		add("", "f1", ev.F1, ev.Joined)
		add("", "auc", ev.AUC, ev.Joined)
		add("", "ece", ev.ECE, ev.Joined)
	}
	add("", "high_confidence_share", ev.HighConfidenceShare, ev.Scored)
	add("", "volume", ev.Events, inf)
	if lastEvent.IsZero() {
		lastEvent = started
	}
	add("", "no_data", now.Sub(lastEvent).Seconds(), inf)
	return dst
}

// saveAlerts writes the alert states and the notifications not yet
// delivered to the state file, atomically (a crash leaves the old file or
// the new one). The evaluation loop and the dispatchers call it; a killed
// service writes nothing more.
func (s *Service) saveAlerts() {
	f := s.cfg.Alerting.StateFile
	if f == "" || s.crashed.Load() {
		return
	}
	s.saveMu.Lock()
	defer s.saveMu.Unlock()
	data, err := s.alerts.Snapshot()
	if err == nil {
		tmp := f + ".tmp"
		if err = os.WriteFile(tmp, data, 0o600); err == nil {
			err = os.Rename(tmp, f)
		}
	}
	if err != nil {
		s.log.Warn("service: cannot save the alert states", "file", f, "err", err)
	}
}

// drifted is the streaming verdict on a feature: PSI at or above the
// model's PSI threshold (per feature if set) over at least min_samples
// values. Below min_samples there is no verdict. Sustained drift, `for`
// durations and notifications are the alerting rules' concern.
func (v *version) drifted(f monitor.FeatureStats) bool {
	if f.Values < float64(max(v.cfg.MinSamples, 1)) || math.IsNaN(f.PSI) {
		return false
	}
	return f.PSI >= v.psiThreshold(f.Name)
}

// psiThreshold is the feature's PSI threshold: its override, else the
// model's.
func (v *version) psiThreshold(feature string) float64 {
	if x, ok := v.cfg.Drift.Features[feature].Thresholds["psi"]; ok {
		return x
	}
	return v.cfg.Drift.Thresholds.PSI
}

// state names the streaming verdict for the API and the status page.
func (v *version) state(f monitor.FeatureStats) api.State {
	switch {
	case f.Values < float64(max(v.cfg.MinSamples, 1)):
		return api.StateInsufficientData
	case v.drifted(f):
		return api.StateDrift
	}
	return api.StateOK
}

// role is the version's part in its model's rollout: "stable", the
// candidate's mode, or "" outside one.
func (v *version) role() string {
	switch ro := v.model.ro; {
	case ro == nil:
		return ""
	case v == ro.stable:
		return "stable"
	case v == ro.cand:
		return string(ro.cfg.Mode)
	}
	return ""
}

// Processed is the number of prediction records handled so far (accepted or
// dead-lettered).
func (s *Service) Processed() int64 { return s.processed.Load() }

// Latest returns the last evaluation of a model version.
func (s *Service) Latest(model, version string) (monitor.Evaluation, bool) {
	m := s.models[model]
	if m == nil || m.versions[version] == nil {
		return monitor.Evaluation{}, false
	}
	v := m.versions[version]
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.last, true
}

// evaluateLoop evaluates each model on its own evaluate_every.
func (s *Service) evaluateLoop(ctx context.Context) {
	runEvery(ctx, s.cfg.Models, s.opt.Now, s.evaluate)
}

// runEvery ticks at the shortest interval and calls eval with the models
// whose own interval has passed since they were last evaluated (half a
// tick of slack absorbs ticker jitter).
func runEvery(ctx context.Context, models []config.Model, now func() time.Time, eval func(due map[string]bool)) {
	tick := time.Duration(math.MaxInt64)
	for _, m := range models {
		tick = min(tick, m.EvaluateEvery)
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	last := map[string]time.Time{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		at := now()
		due := map[string]bool{}
		for _, m := range models {
			if at.Sub(last[m.Name]) >= m.EvaluateEvery-tick/2 {
				due[m.Name], last[m.Name] = true, at
			}
		}
		eval(due)
	}
}

// Evaluate evaluates every model version now and updates the metrics.
func (s *Service) Evaluate() { s.evaluate(nil) }

// evaluate evaluates the due models (all when due is nil) and runs the
// alert rules on the latest samples of every model: a model not due keeps
// its last samples, so its alerts neither resolve nor re-fire in between.
func (s *Service) evaluate(due map[string]bool) {
	s.evalMu.Lock() // the loop and callers of Evaluate
	defer s.evalMu.Unlock()
	start := s.opt.Now()
	s.deadLog.flush(s.log)
	var samples []alerting.Sample
	remote := s.remoteParts()
	for _, m := range s.models {
		for _, v := range m.versions {
			if due != nil && !due[m.name] {
				samples = append(samples, v.lastSamples...)
				continue
			}
			ev := s.merge(v, remote)
			v.mu.Lock()
			v.last = ev
			v.record(start, &ev)
			lastEvent := v.lastEvent
			v.mu.Unlock()
			v.lastSamples = v.samples(v.lastSamples[:0], &ev, lastEvent, s.started, start)
			samples = append(samples, v.lastSamples...)
			s.versionMetrics(v, &ev, lastEvent)
		}
	}
	for _, m := range s.rolloutModels() {
		// After the versions: the input drift between arms reads their
		// evaluations.
		if due == nil || due[m.name] {
			m.roSamples = s.evaluateRollout(m, remote, start)
		}
		samples = append(samples, m.roSamples...)
	}
	for _, m := range s.models {
		var st join.Stats
		for _, p := range s.ownedParts() {
			p.mu.Lock()
			js := p.joins[m].Stats()
			p.mu.Unlock()
			st.Pending += js.Pending
			st.EvictedPending += js.EvictedPending
			st.EvictedEarly += js.EvictedEarly
			st.ExpiredPending += js.ExpiredPending
			st.ExpiredEarly += js.ExpiredEarly
		}
		l := metrics.Labels("model", m.name)
		s.metrics.JoinPending.Gauge(l).Set(float64(st.Pending))
		s.metrics.JoinEvicted.Gauge(l).Set(float64(st.EvictedPending + st.EvictedEarly + st.ExpiredPending + st.ExpiredEarly))
	}
	s.observeProgress()
	var lag map[string]int64
	if s.cons != nil {
		ctx, cancel := context.WithTimeout(context.Background(), progressTimeout)
		var err error
		if lag, err = s.cons.GroupLag(ctx); err != nil {
			s.log.Warn("service: consumer group lag", "err", err)
		}
		cancel()
	}
	for _, topic := range sortedKeys(lag) {
		samples = append(samples, alerting.Sample{Feature: topic, Statistic: "consumer_lag", Value: float64(lag[topic]), Samples: math.Inf(1)})
	}
	if s.alerts != nil && s.leader() {
		release, held := s.alerts.EvalHeld(start, samples)
		send := true
		if p := s.owned(0); held > 0 && p != nil && s.ckpt != nil {
			// Partition 0's checkpoint carries the alert states: saved
			// before sending, a successor never pages twice.
			ctx, cancel := context.WithTimeout(context.Background(), alertCheckpointTimeout)
			switch err := s.checkpoint(ctx, p, true); {
			case err != nil && s.killed.Load():
				// A crashed process sends nothing more; its successor
				// restores the states before these and sends them.
				send = false
			case err != nil:
				s.log.Warn("service: alert states not checkpointed before sending", "err", err)
			}
			cancel()
		}
		// The state file, too, holds the notifications before they are
		// sent: a crash while a receiver is down loses none.
		s.saveAlerts()
		if send {
			release()
		}
		firing, pending := 0, 0
		for _, a := range s.alerts.Alerts(start) {
			if a.State == alerting.StateFiring {
				firing++
			} else {
				pending++
			}
		}
		s.metrics.Alerts.Gauge(metrics.Labels("state", string(alerting.StateFiring))).Set(float64(firing))
		s.metrics.Alerts.Gauge(metrics.Labels("state", string(alerting.StatePending))).Set(float64(pending))
	}
	s.metrics.EvaluationDurationSeconds.Gauge("").Set(s.opt.Now().Sub(start).Seconds())
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}

// Close shuts down gracefully within ctx's deadline: stop fetching, let
// the workers finish their batches, save a last checkpoint of every owned
// partition and commit, leave the group, deliver queued notifications,
// stop the HTTP listener and the embedded broker. Safe to call twice.
func (s *Service) Close(ctx context.Context) error {
	var err error
	s.closeOnce.Do(func() {
		began := time.Now()
		ctx, cancel := context.WithTimeout(ctx, s.cfg.ShutdownTimeout)
		defer cancel()
		if s.cancel != nil {
			s.cancel()
		}
		if s.running {
			s.log.Info("service: shutting down", "deadline", s.cfg.ShutdownTimeout)
			defer s.cancelWork()
			stop := context.AfterFunc(ctx, s.cancelWork) // past the deadline, in-flight work is abandoned
			defer stop()
			<-s.consumerDone // the poll loop has returned: nothing new reaches a worker
			s.cons.Stop()
			saved, failed := s.checkpointAll(ctx, true)
			s.log.Info("service: last checkpoints saved and committed", "partitions", saved, "failed", failed)
			s.killed.Store(true) // the revocation in Close has nothing left to save
			s.cons.Close()
			defer func() {
				s.log.Info("service: shut down", "took", time.Since(began).Round(time.Millisecond), "deadline_exceeded", ctx.Err() != nil)
			}()
		}
		if s.httpSrv != nil {
			s.httpSrv.Shutdown(ctx)
		}
		s.wg.Wait()
		for _, p := range s.decoders {
			p.arrowDec.Close()
		}
		if s.alerts != nil {
			s.alerts.Close(ctx) // deliver what is queued, within the deadline
			s.saveAlerts()
		}
		if s.ckpt != nil {
			s.ckpt.Close()
		}
		if s.embedded != nil {
			s.embedded.Close()
		}
		err = ctx.Err()
	})
	return err
}

// Kill stops the service the way a crash would: no last checkpoint, no
// commit, nothing more written anywhere; in-flight work is abandoned.
// Tests use it for in-process hard stops.
func (s *Service) Kill() {
	s.closeOnce.Do(func() {
		s.killed.Store(true)
		s.crashed.Store(true)
		// Wait for a checkpoint in flight; killed fences the rest.
		s.ckptMu.Lock()
		//lint:ignore SA2001 the lock is only a barrier: a checkpoint holding it finishes first
		s.ckptMu.Unlock()
		if s.cancel != nil {
			s.cancel()
			s.cancelWork()
		}
		if s.cons != nil {
			s.cons.Kill()
		}
		if s.httpSrv != nil {
			s.httpSrv.Close()
		}
		if s.alerts != nil {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			s.alerts.Close(ctx)
		}
		if s.ckpt != nil {
			s.ckpt.Close()
		}
		if s.embedded != nil {
			s.embedded.Close()
		}
	})
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
