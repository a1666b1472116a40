// Package service is `driftwatch serve`: it owns start and stop of the
// pieces — the embedded broker when no brokers are configured, the Kafka
// consumer, the per-partition windows and joins, the periodic evaluation,
// checkpoints and the HTTP listener — and wires them, so tests run the
// whole service in-process. Decoding to columns is ingest's, the HTTP routes
// and responses api's, the metric families metrics', the checkpoint stores
// checkpoint's; the statistics live in monitor and the alerts in alerting.
package service

import (
	"context"
	"driftwatch/vocab"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
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
	"driftwatch/broker"
	"driftwatch/calibrate"
	"driftwatch/checkpoint"
	"driftwatch/config"
	"driftwatch/consumer"
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
	mu   sync.Mutex // last, lastVerdicts, history, lastEvent
	last monitor.Evaluation
	// lastVerdicts[i] is the verdict on last.Features[i].
	lastVerdicts []verdict
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
	// rules are the alert rules, whose `threshold: auto` levels the
	// verdicts use.
	rules []alerting.Rule
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
		md := &model{name: m.Name, regression: m.Task == vocab.TaskRegression, positive: m.PositiveClass(),
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
				ver.auto, ver.rules = auto, cfg.Alerting.Rules
			}
		}
		if m.Rollout != nil {
			md.ro = s.newRollout(md, m.Rollout.Config)
			fl, err := s.newFlag(md, m.Rollout)
			if err != nil {
				return nil, err
			}
			md.ro.flag = fl
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
	s.startFlags()
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

// Processed is the number of prediction records handled so far (accepted or
// dead-lettered).
func (s *Service) Processed() int64 { return s.processed.Load() }

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
		s.closeFlags(ctx)
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
		flagCtx, cancelFlags := context.WithTimeout(context.Background(), time.Second) // a change in flight is abandoned
		s.closeFlags(flagCtx)
		cancelFlags()
		if s.ckpt != nil {
			s.ckpt.Close()
		}
		if s.embedded != nil {
			s.embedded.Close()
		}
	})
}
