package notify

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"
)

// Delivery bounds how notifications are delivered.
type Delivery struct {
	QueueSize  int           `yaml:"queue_size"`  // notifications waiting per notifier; more are dropped and counted
	Timeout    time.Duration `yaml:"timeout"`     // one attempt
	MinBackoff time.Duration `yaml:"min_backoff"` // first retry delay, doubled per attempt with ±20% jitter
	MaxBackoff time.Duration `yaml:"max_backoff"`
	// MaxAge: a Notification still failing after this long in one process
	// is given up and counted (one restored after a restart starts again).
	MaxAge time.Duration `yaml:"max_age"`
}

// Retry timing of a dispatcher.
const (
	// maxDoublings caps the exponent of the backoff so the shift cannot
	// overflow; MaxBackoff caps the delay long before.
	maxDoublings = 20
	// backoffJitter spreads each retry delay by ±20% so that notifiers
	// failing together do not retry in step.
	backoffJitter = 0.2
	// closePoll is how often Close checks whether the queue has drained.
	closePoll = 10 * time.Millisecond
)

// DefaultDelivery is what the service uses unless configured.
var DefaultDelivery = Delivery{QueueSize: 1000, Timeout: 10 * time.Second, MinBackoff: 500 * time.Millisecond,
	MaxBackoff: time.Minute, MaxAge: time.Hour}

// Notification is one alert for one notifier: an entry of the engine's
// outbox from the evaluation that made it until its receiver acknowledged
// it or it was given up. The outbox is part of the engine's snapshot, so a
// Notification queued or being retried when the process dies is delivered
// after the restart.
type Notification struct {
	Seq      uint64 `json:"seq"` // creation order within the engine: delivery order per notifier
	Notifier string `json:"notifier"`
	// Key is the alert's IdempotencyKey: a Notification is queued once
	// per notifier and key.
	Key   string `json:"key"`
	Alert Alert  `json:"alert"`
	// ValueUnknown: Alert.Value is NaN; SamplesInf: Alert.Samples is +Inf
	// (both JSON null, which decodes as 0).
	ValueUnknown bool `json:"value_unknown,omitempty"`
	SamplesInf   bool `json:"samples_inf,omitempty"`
}

// Outcome is how a Dispatcher finished with a Notification.
type Outcome int

const (
	OutcomeSent    Outcome = iota // the receiver acknowledged it
	OutcomeFailed                 // given up: not retryable, or older than MaxAge
	OutcomeDropped                // the queue was full
)

// Dispatcher delivers one notifier's notifications in order, one at a time,
// retrying the head until it is delivered: a receiver that is down delays
// its notifications but loses none (up to MaxAge), and keeps them in order.
// Stopped while retrying, it leaves the Notification in the outbox.
type Dispatcher struct {
	n   Notifier
	d   Delivery
	log *slog.Logger
	q   chan *Notification
	// pending counts notifications queued or being delivered.
	pending atomic.Int64
	// settled is told the Outcome of every Notification it finished with
	// (nil: nobody).
	settled func(*Notification, Outcome)

	sent, failed, dropped, retries, suppressed *metrics.Counter

	cancel  context.CancelFunc
	stopped chan struct{}
	once    sync.Once
}

// NewDispatcher starts delivering n's notifications; settled (nil:
// nobody) is told how each ended.
func NewDispatcher(n Notifier, d Delivery, set *metrics.Set, log *slog.Logger, settled func(*Notification, Outcome)) *Dispatcher {
	c := func(outcome string) *metrics.Counter {
		return set.GetOrCreateCounter(fmt.Sprintf(`driftwatch_notifications_total{notifier=%q,outcome=%q}`, n.Name(), outcome))
	}
	ctx, cancel := context.WithCancel(context.Background())
	ds := &Dispatcher{n: n, d: d, log: log, q: make(chan *Notification, d.QueueSize), settled: settled,
		sent: c("sent"), failed: c("failed"), dropped: c("dropped"), retries: c("retried"), suppressed: c("suppressed"),
		cancel: cancel, stopped: make(chan struct{})}
	go ds.run(ctx)
	return ds
}

// Pending is the number of notifications queued or being delivered.
func (ds *Dispatcher) Pending() int64 { return ds.pending.Load() }

// CountSuppressed counts a notification a cooldown held back.
func (ds *Dispatcher) CountSuppressed() { ds.suppressed.Inc() }

// Enqueue never blocks: a full queue drops the Notification and counts it.
func (ds *Dispatcher) Enqueue(n *Notification) bool {
	ds.pending.Add(1)
	select {
	case ds.q <- n:
		return true
	default:
		ds.pending.Add(-1)
		ds.dropped.Inc()
		ds.settle(n, OutcomeDropped)
		return false
	}
}

func (ds *Dispatcher) settle(n *Notification, o Outcome) {
	if ds.settled != nil {
		ds.settled(n, o)
	}
}

func (ds *Dispatcher) run(ctx context.Context) {
	defer close(ds.stopped)
	for {
		select {
		case <-ctx.Done():
			return
		case n := <-ds.q:
			if o, ok := ds.deliver(ctx, n); ok {
				ds.settle(n, o)
				if o == OutcomeSent { // counted once out of the outbox
					ds.sent.Inc()
				}
			}
			ds.pending.Add(-1)
		}
	}
}

// deliver tries n until it is sent or given up; ok is false when the
// Dispatcher was stopped first (n stays in the outbox).
func (ds *Dispatcher) deliver(ctx context.Context, n *Notification) (o Outcome, ok bool) {
	alerts := []Alert{n.Alert}
	start := time.Now()
	for attempt := 0; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, ds.d.Timeout)
		retry, err := ds.n.Notify(actx, alerts)
		cancel()
		if err == nil {
			return OutcomeSent, true
		}
		if ctx.Err() != nil {
			return 0, false
		}
		if !retry || time.Since(start) > ds.d.MaxAge {
			ds.failed.Inc()
			msg := err.Error()
			if r, ok := ds.n.(Redactor); ok {
				msg = r.Redact(msg)
			}
			ds.log.Error("alerting: notification failed", "notifier", ds.n.Name(), "alert", n.Alert.Key, "attempts", attempt+1, "err", msg)
			return OutcomeFailed, true
		}
		ds.retries.Inc()
		wait := min(ds.d.MinBackoff<<min(attempt, maxDoublings), ds.d.MaxBackoff)
		wait = time.Duration(float64(wait) * (1 - backoffJitter + 2*backoffJitter*rand.Float64()))
		select {
		case <-ctx.Done():
			return 0, false
		case <-time.After(wait):
		}
	}
}

// Close delivers what is queued until ctx ends, then stops; what is left
// stays in the outbox.
func (ds *Dispatcher) Close(ctx context.Context) {
	ds.once.Do(func() {
		for ds.pending.Load() > 0 && ctx.Err() == nil {
			select {
			case <-ctx.Done():
			case <-time.After(closePoll):
			}
		}
		ds.cancel()
		<-ds.stopped
	})
}
