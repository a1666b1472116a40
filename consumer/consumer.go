// Package consumer reads Kafka topics in a consumer group with one worker
// goroutine per assigned partition and hands each partition's records, in
// offset order, to a Handler. It commits only the offsets its owner says
// its state covers (Commit), and lets the owner restore state and choose
// start offsets when partitions arrive (Options.Assigned) and save or drop
// it when they leave (Options.Released): the owner keeps its state and the
// offsets that state covers together, the consumer never commits past them.
//
// Partitions are spread with the range balancer: with topics of equal
// partition counts a member gets the same partition numbers of every topic,
// so predictions and outcomes keyed by one id meet in one member
// (co-partitioning, as in Kafka Streams joins).
//
// Backpressure: each worker has a queue of one fetch; the poll loop blocks
// on a busy worker instead of buffering without bound.
//
// Decoding, routing to models, the statistics and where state is saved are
// left to the Handler's owner (the service); the embedded broker to
// package broker.
package consumer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Rejected is a record the handler could not use, and why.
type Rejected struct {
	Record *kgo.Record
	Reason string
}

// Handler processes the records of one partition, in offset order. It is
// called from that partition's worker only. Records it cannot use it sends
// to DeadLetter before returning, so that the offsets its state covers
// never pass a record that is neither counted nor dead-lettered.
type Handler func(topic string, partition int32, records []*kgo.Record)

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

	// Assigned, when set, is called when partitions are assigned, before
	// any of their records is fetched, and returns the offset to start each
	// at; a partition it leaves out starts at the group's committed offset
	// (or the log start).
	Assigned func(ctx context.Context, assigned map[string][]int32) map[string]map[int32]int64
	// Released, when set, is called once the workers of partitions that
	// leave this member have finished: revoked (lost false) in a
	// rebalance, while the member still owns them, or lost (the session
	// expired: another member may own them already).
	Released func(ctx context.Context, parts map[string][]int32, lost bool)
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
	// fetchFailing: the last fetch request failed (broker unreachable or
	// erroring); the client retries with backoff by itself.
	fetchFailing atomic.Bool

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
		kgo.AdjustFetchOffsetsFn(c.adjust),
		kgo.Balancers(kgo.RangeBalancer()),
		// The owner commits what its state covers (Commit), never the
		// client on its own.
		kgo.DisableAutoCommit(),
		kgo.BlockRebalanceOnPoll(),
		kgo.WithHooks(fetchHook{c}),
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
	for topic, partitions := range assigned {
		for _, p := range partitions {
			w := &worker{c: c, tp: tp{topic, p}, fetch: make(chan kgo.FetchTopicPartition, 1),
				quit: make(chan struct{}), done: make(chan struct{})}
			c.workers[w.tp] = w
			go w.run()
		}
	}
}

// adjust lets the owner restore the newly assigned partitions and choose
// where each starts, before any of their records is fetched.
func (c *Consumer) adjust(ctx context.Context, offsets map[string]map[int32]kgo.Offset) (map[string]map[int32]kgo.Offset, error) {
	if c.opt.Assigned == nil {
		return offsets, nil
	}
	parts := map[string][]int32{}
	for topic, ps := range offsets {
		for p := range ps {
			parts[topic] = append(parts[topic], p)
		}
	}
	for topic, ps := range c.opt.Assigned(ctx, parts) {
		for p, at := range ps {
			if _, ok := offsets[topic][p]; ok {
				offsets[topic][p] = kgo.NewOffset().At(at).WithEpoch(-1)
			}
		}
	}
	return offsets, nil
}

// revoked stops the workers of the partitions taken away, after they finish
// their current batch, and lets the owner save them while it still owns
// them.
func (c *Consumer) revoked(ctx context.Context, _ *kgo.Client, revoked map[string][]int32) {
	c.stop(revoked)
	if c.opt.Released != nil {
		c.opt.Released(ctx, revoked, false)
	}
}

func (c *Consumer) lost(ctx context.Context, _ *kgo.Client, lost map[string][]int32) {
	c.stop(lost)
	if c.opt.Released != nil {
		c.opt.Released(ctx, lost, true)
	}
}

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
			w.c.handler(p.Topic, p.Partition, p.Records)
		}
	}
}

// DeadLetter produces rejected records, original bytes and headers plus the
// reason and source, and waits for the broker to acknowledge them,
// retrying with backoff until it does or ctx ends.
func (c *Consumer) DeadLetter(ctx context.Context, rejected []Rejected) error {
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
	for wait := 100 * time.Millisecond; ; wait = min(2*wait, 5*time.Second) {
		err := ProduceWait(ctx, c.cl, recs...)
		if err == nil {
			return nil
		}
		c.log.Warn("consumer: dead-letter produce failed; retrying", "topic", c.opt.DeadLetters, "err", err)
		select {
		case <-ctx.Done():
			return fmt.Errorf("consumer: dead letters not produced: %w", err)
		case <-time.After(wait):
		}
		for _, r := range recs { // a record is produced once; retry with copies
			*r = kgo.Record{Topic: r.Topic, Key: r.Key, Value: r.Value, Headers: r.Headers}
		}
	}
}

// ProduceWait produces records and waits for their acknowledgement or for
// ctx: a buffered record is not withdrawn by its context, so ProduceSync
// would wait out the delivery timeout.
func ProduceWait(ctx context.Context, cl *kgo.Client, recs ...*kgo.Record) error {
	done := make(chan error, len(recs))
	for _, r := range recs {
		cl.Produce(ctx, r, func(_ *kgo.Record, err error) { done <- err })
	}
	for range recs {
		select {
		case err := <-done:
			if err != nil {
				return err
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// Commit commits offsets (topic → partition → next offset to read) for
// the group and waits for the result.
func (c *Consumer) Commit(ctx context.Context, offsets map[string]map[int32]int64) error {
	req := map[string]map[int32]kgo.EpochOffset{}
	for topic, ps := range offsets {
		req[topic] = map[int32]kgo.EpochOffset{}
		for p, at := range ps {
			req[topic][p] = kgo.EpochOffset{Epoch: -1, Offset: at}
		}
	}
	var err error
	c.cl.CommitOffsetsSync(ctx, req, func(_ *kgo.Client, _ *kmsg.OffsetCommitRequest, resp *kmsg.OffsetCommitResponse, e error) {
		err = e
		if e != nil {
			return
		}
		for _, t := range resp.Topics {
			for _, p := range t.Partitions {
				if ke := kerr.ErrorForCode(p.ErrorCode); ke != nil && err == nil {
					err = fmt.Errorf("consumer: commit %s/%d: %w", t.Topic, p.Partition, ke)
				}
			}
		}
	})
	return err
}

// Healthy reports whether the last fetch request reached a broker and was
// answered.
func (c *Consumer) Healthy() bool { return !c.fetchFailing.Load() }

// fetchHook watches fetch requests end to end: connection and broker
// errors never reach the poll loop (the client retries them), so health
// is read here.
type fetchHook struct{ c *Consumer }

func (h fetchHook) OnBrokerE2E(_ kgo.BrokerMetadata, key int16, e2e kgo.BrokerE2E) {
	if key != int16(kmsg.Fetch) {
		return
	}
	// A fetch the client cancelled itself (a rebalance moved its
	// partitions) says nothing about the brokers.
	if err := e2e.Err(); !errors.Is(err, context.Canceled) {
		h.c.fetchFailing.Store(err != nil)
	}
}

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

// Stop stops the workers after their current batch, keeping the group
// membership, so the owner can save a last checkpoint before Close.
func (c *Consumer) Stop() {
	c.mu.Lock()
	all := map[string][]int32{}
	for k := range c.workers {
		all[k.topic] = append(all[k.topic], k.partition)
	}
	c.mu.Unlock()
	c.stop(all)
}

// Close stops the workers and leaves the group. It is safe to call more
// than once.
func (c *Consumer) Close() {
	c.closeOnce.Do(func() {
		c.Stop()
		c.cl.Close()
	})
}

// Kill drops the connection the way a crash would, without waiting for the
// workers; tests use it to stop a member mid-stream.
func (c *Consumer) Kill() { c.closeOnce.Do(c.cl.Close) }
