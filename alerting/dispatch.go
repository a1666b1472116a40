package alerting

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

// Resender is a notifier whose receiver forgets firing alerts unless they
// are sent again (Alertmanager): the engine re-sends them every
// ResendInterval while they fire.
type Resender interface {
	ResendInterval() time.Duration
}

// Delivery bounds how notifications are delivered.
type Delivery struct {
	QueueSize  int           `yaml:"queue_size"`  // notifications waiting per notifier; more are dropped and counted
	Timeout    time.Duration `yaml:"timeout"`     // one attempt
	MinBackoff time.Duration `yaml:"min_backoff"` // first retry delay, doubled per attempt with ±20% jitter
	MaxBackoff time.Duration `yaml:"max_backoff"`
	MaxAge     time.Duration `yaml:"max_age"` // a notification still failing after this long is given up and counted
}

// DefaultDelivery is what the service uses unless configured.
var DefaultDelivery = Delivery{QueueSize: 1000, Timeout: 10 * time.Second, MinBackoff: 500 * time.Millisecond,
	MaxBackoff: time.Minute, MaxAge: time.Hour}

// dispatcher delivers one notifier's notifications in order, one at a time,
// retrying the head until it is delivered: a receiver that is down delays
// its notifications but loses none (up to MaxAge), and keeps them in order.
type dispatcher struct {
	n   Notifier
	d   Delivery
	log *slog.Logger
	q   chan []Alert
	// pending counts notifications queued or being delivered.
	pending atomic.Int64

	sent, failed, dropped, retries *metrics.Counter

	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

func newDispatcher(n Notifier, d Delivery, set *metrics.Set, log *slog.Logger) *dispatcher {
	c := func(outcome string) *metrics.Counter {
		return set.GetOrCreateCounter(fmt.Sprintf(`driftwatch_notifications_total{notifier=%q,outcome=%q}`, n.Name(), outcome))
	}
	ctx, cancel := context.WithCancel(context.Background())
	ds := &dispatcher{n: n, d: d, log: log, q: make(chan []Alert, d.QueueSize),
		sent: c("sent"), failed: c("failed"), dropped: c("dropped"), retries: c("retried"),
		cancel: cancel, done: make(chan struct{})}
	go ds.run(ctx)
	return ds
}

// enqueue never blocks: a full queue drops the notification and counts it.
func (ds *dispatcher) enqueue(alerts []Alert) bool {
	ds.pending.Add(1)
	select {
	case ds.q <- alerts:
		return true
	default:
		ds.pending.Add(-1)
		ds.dropped.Inc()
		return false
	}
}

func (ds *dispatcher) run(ctx context.Context) {
	defer close(ds.done)
	for {
		select {
		case <-ctx.Done():
			return
		case a := <-ds.q:
			ds.deliver(ctx, a)
			ds.pending.Add(-1)
		}
	}
}

func (ds *dispatcher) deliver(ctx context.Context, alerts []Alert) {
	start := time.Now()
	for attempt := 0; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, ds.d.Timeout)
		retry, err := ds.n.Notify(actx, alerts)
		cancel()
		if err == nil {
			ds.sent.Inc()
			return
		}
		if !retry || ctx.Err() != nil || time.Since(start) > ds.d.MaxAge {
			ds.failed.Inc()
			ds.log.Error("alerting: notification failed", "notifier", ds.n.Name(), "alert", alerts[0].Key, "attempts", attempt+1, "err", err)
			return
		}
		ds.retries.Inc()
		wait := min(ds.d.MinBackoff<<min(attempt, 20), ds.d.MaxBackoff)
		wait = time.Duration(float64(wait) * (0.8 + 0.4*rand.Float64()))
		select {
		case <-ctx.Done():
			ds.failed.Inc()
			return
		case <-time.After(wait):
		}
	}
}

// close delivers what is queued until ctx ends, then stops.
func (ds *dispatcher) close(ctx context.Context) {
	ds.once.Do(func() {
		for ds.pending.Load() > 0 && ctx.Err() == nil {
			select {
			case <-ctx.Done():
			case <-time.After(10 * time.Millisecond):
			}
		}
		ds.cancel()
		<-ds.done
	})
}
