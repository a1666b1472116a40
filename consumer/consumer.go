// Package consumer reads Kafka topics in a consumer group with one worker
// goroutine per assigned partition, hands each partition's records to a
// Handler, and commits offsets only after the handler has returned, that is
// after the state those records update has been updated. A record the
// handler rejects goes to the dead-letter topic, with the reason in a
// header, before its offset can be committed, so nothing is lost.
//
// Backpressure: each worker has a queue of one fetch; the poll loop blocks
// on a busy worker instead of buffering without bound.
//
// Decoding, routing to models and the statistics are left to the Handler
// (the monitor); the embedded broker to package broker.
package consumer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Rejected is a record the handler could not use, and why.
type Rejected struct {
	Record *kgo.Record
	Reason string
}

// Handler processes the records of one partition, in offset order, and
// returns the ones to dead-letter. It is called from that partition's worker
// only, so it needs no locking per partition.
type Handler func(topic string, partition int32, records []*kgo.Record) []Rejected

// Options configure the consumer.
type Options struct {
	Brokers     []string
	Group       string
	ClientID    string
	Topics      []string
	DeadLetters string // topic for rejected records
	Logger      *slog.Logger
	// Extra franz-go options (TLS, SASL, test dialers).
	Extra []kgo.Opt
}

// ReasonHeader is the dead-letter record header that carries the reason.
const ReasonHeader = "driftwatch-reason"

// Consumer runs the group consumer.
type Consumer struct {
	cl      *kgo.Client
	handler Handler
	opt     Options
	log     *slog.Logger

	mu      sync.Mutex
	workers map[tp]*worker
	ready   atomic.Bool // the group has assigned this member's partitions at least once

	closeOnce sync.Once
}

type tp struct {
	topic     string
	partition int32
}

type worker struct {
	c     *Consumer
	tp    tp
	fetch chan kgo.FetchTopicPartition
	quit  chan struct{}
	done  chan struct{}
}

// New connects a consumer; Run starts consuming.
func New(opt Options, h Handler) (*Consumer, error) {
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	c := &Consumer{handler: h, opt: opt, log: opt.Logger, workers: map[tp]*worker{}}
	opts := append([]kgo.Opt{
		kgo.SeedBrokers(opt.Brokers...),
		kgo.ClientID(opt.ClientID),
		kgo.ConsumerGroup(opt.Group),
		kgo.ConsumeTopics(opt.Topics...),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.OnPartitionsAssigned(c.assigned),
		kgo.OnPartitionsRevoked(c.revoked),
		kgo.OnPartitionsLost(c.lost),
		// Offsets are marked by the workers once records are handled; the
		// client commits marks periodically and on revoke, and Close commits
		// the last ones (autocommit never commits the last poll by itself).
		kgo.AutoCommitMarks(),
		kgo.BlockRebalanceOnPoll(),
	}, opt.Extra...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("consumer: %w", err)
	}
	c.cl = cl
	return c, nil
}

// Run polls until ctx is done, then stops the workers and commits what they
// finished. It returns nil on a clean stop.
func (c *Consumer) Run(ctx context.Context) error {
	for {
		fetches := c.cl.PollRecords(ctx, 10000)
		if fetches.IsClientClosed() || ctx.Err() != nil {
			c.cl.AllowRebalance()
			return nil
		}
		fetches.EachError(func(topic string, p int32, err error) {
			if !errors.Is(err, context.Canceled) {
				c.log.Warn("consumer: fetch error", "topic", topic, "partition", p, "err", err)
			}
		})
		fetches.EachPartition(func(p kgo.FetchTopicPartition) {
			if len(p.Records) == 0 {
				return
			}
			c.mu.Lock()
			w := c.workers[tp{p.Topic, p.Partition}]
			c.mu.Unlock()
			if w == nil {
				return // revoked between fetch and dispatch; the new owner re-reads
			}
			select {
			case w.fetch <- p: // blocks while the worker is busy: backpressure
			case <-w.quit:
			case <-ctx.Done():
			}
		})
		c.cl.AllowRebalance()
	}
}

func (c *Consumer) assigned(_ context.Context, _ *kgo.Client, assigned map[string][]int32) {
	c.mu.Lock()
	defer c.mu.Unlock()
	defer c.ready.Store(true)
	for topic, partitions := range assigned {
		for _, p := range partitions {
			w := &worker{c: c, tp: tp{topic, p}, fetch: make(chan kgo.FetchTopicPartition, 1),
				quit: make(chan struct{}), done: make(chan struct{})}
			c.workers[w.tp] = w
			go w.run()
		}
	}
}

// revoked stops the workers of the partitions taken away, after they finish
// their current batch, and commits their marks before the partitions move.
func (c *Consumer) revoked(ctx context.Context, cl *kgo.Client, revoked map[string][]int32) {
	c.stop(revoked)
	if err := cl.CommitMarkedOffsets(ctx); err != nil {
		c.log.Warn("consumer: commit on revoke failed", "err", err)
	}
}

func (c *Consumer) lost(_ context.Context, _ *kgo.Client, lost map[string][]int32) { c.stop(lost) }

func (c *Consumer) stop(parts map[string][]int32) {
	var stopping []*worker
	c.mu.Lock()
	for topic, partitions := range parts {
		for _, p := range partitions {
			if w := c.workers[tp{topic, p}]; w != nil {
				delete(c.workers, w.tp)
				close(w.quit)
				stopping = append(stopping, w)
			}
		}
	}
	c.mu.Unlock()
	for _, w := range stopping {
		<-w.done
	}
}

func (w *worker) run() {
	defer close(w.done)
	for {
		select {
		case <-w.quit:
			return
		case p := <-w.fetch:
			rejected := w.c.handler(p.Topic, p.Partition, p.Records)
			if err := w.c.deadLetter(rejected); err != nil {
				// Not marking keeps the records uncommitted: they are read
				// again after a restart rather than lost.
				w.c.log.Error("consumer: dead-letter produce failed; offsets not committed", "topic", p.Topic, "partition", p.Partition, "err", err)
				continue
			}
			w.c.cl.MarkCommitRecords(p.Records...)
		}
	}
}

// deadLetter produces rejected records, original bytes and headers plus the
// reason, and waits for the broker to acknowledge them.
func (c *Consumer) deadLetter(rejected []Rejected) error {
	if len(rejected) == 0 || c.opt.DeadLetters == "" {
		return nil
	}
	recs := make([]*kgo.Record, len(rejected))
	for i, r := range rejected {
		headers := append(append([]kgo.RecordHeader(nil), r.Record.Headers...),
			kgo.RecordHeader{Key: ReasonHeader, Value: []byte(r.Reason)},
			kgo.RecordHeader{Key: "driftwatch-source", Value: []byte(fmt.Sprintf("%s/%d/%d", r.Record.Topic, r.Record.Partition, r.Record.Offset))})
		recs[i] = &kgo.Record{Topic: c.opt.DeadLetters, Key: r.Record.Key, Value: r.Record.Value, Headers: headers}
	}
	return c.cl.ProduceSync(context.Background(), recs...).FirstErr()
}

// Assigned reports whether the group has assigned this member its
// partitions at least once (readiness).
func (c *Consumer) Assigned() bool { return c.ready.Load() }

// Lag returns the group's lag per topic (committed offsets behind the log
// end), from the brokers.
func (c *Consumer) Lag(ctx context.Context) (map[string]int64, error) {
	lags, err := kadm.NewClient(c.cl).Lag(ctx, c.opt.Group)
	if err != nil {
		return nil, fmt.Errorf("consumer: lag: %w", err)
	}
	out := map[string]int64{}
	for _, t := range c.opt.Topics {
		out[t] = 0
	}
	lags.Each(func(l kadm.DescribedGroupLag) {
		for topic, tl := range l.Lag.TotalByTopic() {
			out[topic] = tl.Lag
		}
	})
	return out, nil
}

// Close stops the workers, commits what they finished, and leaves the
// group. It is safe to call more than once.
func (c *Consumer) Close(ctx context.Context) error {
	var err error
	c.closeOnce.Do(func() {
		c.mu.Lock()
		all := map[string][]int32{}
		for k := range c.workers {
			all[k.topic] = append(all[k.topic], k.partition)
		}
		c.mu.Unlock()
		c.stop(all)
		err = c.cl.CommitMarkedOffsets(ctx)
		c.cl.Close()
	})
	return err
}
