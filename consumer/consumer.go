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
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strconv"
	"strings"
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
	// Detail is why, in words (the decoder's error): the dead letter's
	// ErrorHeader, cut to maxDetailBytes. Empty: no such header.
	Detail string
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
	// MaxMessageBytes is the largest message the owner accepts; dead
	// letters of up to that size plus DeadLetterHeadroom are produced
	// whole, larger ones cut to fit (0: Kafka's default limit).
	MaxMessageBytes int
	Logger          *slog.Logger
	// Extra franz-go options (TLS, SASL, test dialers).
	Extra []kgo.Opt
	// Now is the clock of Progress's timestamps (time.Now when nil).
	Now func() time.Time
	// InstanceID, when set, makes the membership static (KIP-345): a
	// restarted member with the same id gets its partitions back without
	// a rebalance. Close still leaves the group explicitly, so a planned
	// stop hands the partitions over at once; Kill does not.
	InstanceID string

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

	mu sync.Mutex // the fields below: the poll loop and the worker
	// hwm is the partition's high watermark from its latest fetch (−1:
	// none yet); next is the offset after the last record the handler
	// finished (−1: none fetched yet; set to the first fetched offset).
	hwm, next int64
	// since is when the handler last finished a fetch, or when the
	// partition last fell behind (records waiting) after being caught up.
	since time.Time
}

// Progress is where one assigned partition stands.
type Progress struct {
	Topic     string
	Partition int32
	// Lag is the records between the offsets the handler finished and the
	// high watermark of the latest fetch: fetched or not, they wait.
	Lag int64
	// Next is the offset after the last record the handler finished (−1:
	// nothing fetched yet).
	Next int64
	// Since is when the handler last finished a fetch of the partition, or
	// when records started waiting after it had caught up: with Lag > 0,
	// no record has been processed since then.
	Since time.Time
}

// Progress lists the assigned partitions' progress, by topic and partition.
func (c *Consumer) Progress() []Progress {
	c.mu.Lock()
	out := make([]Progress, 0, len(c.workers))
	for _, w := range c.workers {
		w.mu.Lock()
		pr := Progress{Topic: w.tp.topic, Partition: w.tp.partition, Next: w.next, Since: w.since}
		if w.next >= 0 && w.hwm > w.next {
			pr.Lag = w.hwm - w.next
		}
		w.mu.Unlock()
		out = append(out, pr)
	}
	c.mu.Unlock()
	slices.SortFunc(out, func(a, b Progress) int {
		return cmp.Or(strings.Compare(a.Topic, b.Topic), cmp.Compare(a.Partition, b.Partition))
	})
	return out
}

// fetched notes the partition's high watermark and, when records were
// fetched, the first one's offset (else −1), before they are queued.
func (w *worker) fetched(hwm, first int64, now time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	caughtUp := w.next < 0 || w.hwm <= w.next
	w.hwm = max(w.hwm, hwm)
	if w.next < 0 && first >= 0 {
		w.next = first
	}
	if caughtUp && w.next >= 0 && w.hwm > w.next {
		w.since = now
	}
}

// finished notes that the handler finished records up to next.
func (w *worker) finished(next int64, now time.Time) {
	w.mu.Lock()
	w.next, w.since = next, now
	w.mu.Unlock()
}

// New connects a consumer; Run starts consuming.
func New(opt Options, h Handler) (*Consumer, error) {
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.Now == nil {
		opt.Now = time.Now
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
		kgo.ProducerBatchMaxBytes(int32(min(DeadLetterLimit(opt.MaxMessageBytes), math.MaxInt32))),
	}, opt.Extra...)
	if opt.InstanceID != "" {
		opts = append(opts, kgo.InstanceID(opt.InstanceID))
	}
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
			c.mu.Lock()
			w := c.workers[tp{p.Topic, p.Partition}]
			c.mu.Unlock()
			if w == nil {
				return // revoked between fetch and dispatch; the new owner re-reads
			}
			if p.Err == nil {
				first := int64(-1)
				if len(p.Records) > 0 {
					first = p.Records[0].Offset
				}
				w.fetched(p.HighWatermark, first, c.opt.Now())
			}
			if len(p.Records) == 0 {
				return
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
				quit: make(chan struct{}), done: make(chan struct{}), hwm: -1, next: -1, since: c.opt.Now()}
			c.workers[w.tp] = w
			go w.run()
		}
	}
}

// adjust lets the owner restore the newly assigned partitions and choose
// where each starts, before any of their records is fetched.
func (c *Consumer) adjust(ctx context.Context, offsets map[string]map[int32]kgo.Offset) (map[string]map[int32]kgo.Offset, error) {
	defer c.starting(offsets)
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

// starting notes where each assigned partition starts, so records
// waiting before its first fetch reaches the worker count as lag (the poll
// loop may be blocked behind another worker). Offsets relative to the log
// start or end are left to the first fetch.
func (c *Consumer) starting(offsets map[string]map[int32]kgo.Offset) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for topic, ps := range offsets {
		for p, o := range ps {
			if w := c.workers[tp{topic, p}]; w != nil {
				if at := o.EpochOffset().Offset; at >= 0 {
					w.mu.Lock()
					if w.next < 0 {
						w.next = at
					}
					w.mu.Unlock()
				}
			}
		}
	}
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
			w.finished(p.Records[len(p.Records)-1].Offset+1, w.c.opt.Now())
		}
	}
}

// Dead-letter headers: the reason, the cause in words, the source record's
// topic/partition/offset (the key to deduplicate by: dead letters are
// produced at least once, and a record re-read after a crash is
// dead-lettered again with the same source), and on a truncated copy the
// original value's size.
const (
	SourceHeader        = "driftwatch-source"
	ErrorHeader         = "driftwatch-error"
	OriginalBytesHeader = "driftwatch-original-bytes"
	TruncatedHeader     = "driftwatch-truncated"
)

const (
	// DeadLetterHeadroom is what a dead letter may add to the largest
	// message the owner accepts (Options.MaxMessageBytes): the reason and
	// source headers and the record framing. The producer's batch limit and
	// the embedded broker's message.max.bytes are MaxMessageBytes plus it.
	DeadLetterHeadroom = 64 << 10
	// recordFramingBytes bounds a one-record batch's framing (batch header,
	// record varints) and headerFramingBytes each header's varints.
	recordFramingBytes = 128
	headerFramingBytes = 10
	// maxDetailBytes bounds ErrorHeader: a cause in words, not a copy of
	// the message.
	maxDetailBytes = 512
	// fallbackValueBytes is how much of the value a dead letter keeps when
	// the broker refused a larger copy for good (its topic's
	// max.message.bytes is smaller than the producer's limit).
	fallbackValueBytes = 1 << 10
	// defaultMaxMessageBytes is Kafka's default message.max.bytes, the
	// limit when the owner sets none.
	defaultMaxMessageBytes = 1048588
	// deadLetterMaxBackoff caps the wait between retries of dead letters
	// refused for a reason that may pass (broker unreachable, leader moving).
	deadLetterMaxBackoff = 5 * time.Second
)

// ErrDeadLetterRefused is wrapped by DeadLetter's error when the broker
// refused a dead letter for good, even truncated to fallbackValueBytes:
// retrying cannot succeed, so the caller moves on and counts it.
var ErrDeadLetterRefused = errors.New("dead letter refused for good")

// RefusedError lists the dead letters the broker refused for good, each
// as its source position, size and error; it wraps ErrDeadLetterRefused.
type RefusedError struct {
	Topic   string
	Records []string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("consumer: %d %s by topic %q: %s", len(e.Records), ErrDeadLetterRefused, e.Topic, strings.Join(e.Records, "; "))
}

func (e *RefusedError) Unwrap() error { return ErrDeadLetterRefused }

// permanent reports whether a produce error can never succeed on retry:
// the record itself is refused (too large, invalid), not the broker's
// state.
func permanent(err error) bool {
	for _, ke := range []*kerr.Error{kerr.MessageTooLarge, kerr.RecordListTooLarge, kerr.InvalidRecord, kerr.CorruptMessage, kerr.InvalidTopicException} {
		if errors.Is(err, ke) {
			return true
		}
	}
	return false
}

// DeadLetterLimit is the largest dead-letter record the producer sends
// (and the embedded broker accepts) for a given MaxMessageBytes.
func DeadLetterLimit(maxMessageBytes int) int {
	if maxMessageBytes <= 0 {
		return defaultMaxMessageBytes
	}
	return maxMessageBytes + DeadLetterHeadroom
}

// deadLetter is a rejected record on its way to the dead-letter topic.
type deadLetter struct {
	src    Rejected
	rec    *kgo.Record
	keep   int // value bytes the next copy keeps
	tries  int // refusals for good so far (bounded: see DeadLetter)
	err    error
	acked  bool
	failed bool // refused for good
}

// deadLetterSize is the record's size on the wire, value bytes excluded.
func deadLetterSize(key []byte, headers []kgo.RecordHeader) int {
	n := recordFramingBytes + len(key)
	for _, h := range headers {
		n += headerFramingBytes + len(h.Key) + len(h.Value)
	}
	return n
}

// copyOf builds the dead letter of r keeping at most keep bytes of its
// value; a shortened copy names the original size in a header.
func (c *Consumer) copyOf(r Rejected, keep int) *kgo.Record {
	headers := append(append([]kgo.RecordHeader(nil), r.Record.Headers...),
		kgo.RecordHeader{Key: ReasonHeader, Value: []byte(r.Reason)},
		kgo.RecordHeader{Key: SourceHeader, Value: []byte(fmt.Sprintf("%s/%d/%d", r.Record.Topic, r.Record.Partition, r.Record.Offset))})
	if d := r.Detail; d != "" {
		if len(d) > maxDetailBytes {
			d = strings.ToValidUTF8(d[:maxDetailBytes], "")
		}
		headers = append(headers, kgo.RecordHeader{Key: ErrorHeader, Value: []byte(d)})
	}
	value := r.Record.Value
	if keep < len(value) {
		headers = append(headers,
			kgo.RecordHeader{Key: OriginalBytesHeader, Value: []byte(strconv.Itoa(len(value)))},
			kgo.RecordHeader{Key: TruncatedHeader, Value: []byte("true")})
		value = value[:max(keep, 0)]
	}
	return &kgo.Record{Topic: c.opt.DeadLetters, Key: r.Record.Key, Value: value, Headers: headers}
}

// DeadLetter produces rejected records, original bytes and headers plus the
// reason and source, and waits for the broker to acknowledge them. A record
// whose copy would exceed the producer's limit is cut to fit, with the
// original size in a header. A copy the broker refuses for good
// (MESSAGE_TOO_LARGE and the like: its topic's limit is smaller) is sent
// again alone, then cut to fallbackValueBytes, and if that is refused too,
// given up on (a RefusedError). Errors that may pass (broker unreachable)
// are retried with backoff until they do or ctx ends.
func (c *Consumer) DeadLetter(ctx context.Context, rejected []Rejected) error {
	if len(rejected) == 0 || c.opt.DeadLetters == "" {
		return nil
	}
	limit := DeadLetterLimit(c.opt.MaxMessageBytes)
	pending := make([]*deadLetter, len(rejected))
	for i, r := range rejected {
		d := &deadLetter{src: r, keep: len(r.Record.Value)}
		// The truncation headers count too, should they be needed.
		over := deadLetterSize(r.Record.Key, c.copyOf(r, -1).Headers)
		if over+d.keep > limit {
			d.keep = max(limit-over, 0)
		}
		pending[i] = d
	}
	var refused []string
	wait := 100 * time.Millisecond
	for {
		// Records not refused yet go together; a record refused for good
		// goes alone (the broker refuses a whole batch for one large
		// record), first as it was, then cut to fallbackValueBytes.
		var together, alone []*deadLetter
		for _, d := range pending {
			if d.acked || d.failed {
				continue
			}
			d.rec, d.err = c.copyOf(d.src, d.keep), nil // a record is produced once: a fresh copy
			if d.tries == 0 {
				together = append(together, d)
			} else {
				alone = append(alone, d)
			}
		}
		if len(together)+len(alone) == 0 {
			break
		}
		if err := c.produceEach(ctx, together); err != nil {
			return fmt.Errorf("consumer: dead letters not produced: %w", err)
		}
		for _, d := range alone {
			if err := c.produceEach(ctx, []*deadLetter{d}); err != nil {
				return fmt.Errorf("consumer: dead letters not produced: %w", err)
			}
		}
		transient := error(nil)
		for _, d := range append(together, alone...) {
			switch {
			case d.err == nil:
				d.acked = true
			case permanent(d.err) && d.tries == 0:
				d.tries++
			case permanent(d.err) && d.tries == 1 && d.keep > fallbackValueBytes:
				d.tries++
				d.keep = fallbackValueBytes
			case permanent(d.err):
				d.failed = true
				refused = append(refused, fmt.Sprintf("%s/%d offset %d (%d bytes): %v",
					d.src.Record.Topic, d.src.Record.Partition, d.src.Record.Offset, len(d.src.Record.Value), d.err))
			default:
				transient = d.err
			}
		}
		if transient == nil {
			continue // only records refused for good left: retried at once, alone or shorter
		}
		c.log.Warn("consumer: dead-letter produce failed; retrying", "topic", c.opt.DeadLetters, "err", transient)
		select {
		case <-ctx.Done():
			return fmt.Errorf("consumer: dead letters not produced: %w", transient)
		case <-time.After(wait):
		}
		wait = min(2*wait, deadLetterMaxBackoff)
	}
	if len(refused) > 0 {
		return &RefusedError{Topic: c.opt.DeadLetters, Records: refused}
	}
	return nil
}

// produceEach produces the batch's records and records each one's result,
// waiting for all of them or for ctx.
func (c *Consumer) produceEach(ctx context.Context, batch []*deadLetter) error {
	var wg sync.WaitGroup
	wg.Add(len(batch))
	for _, d := range batch {
		c.cl.Produce(ctx, d.rec, func(_ *kgo.Record, err error) {
			d.err = err
			wg.Done()
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
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

// Lag returns the records waiting per topic on the partitions this member
// owns: the log end, listed from the brokers (the poll loop blocks while a
// worker is busy, so fetches alone may not have seen it), minus the offset
// after the last record the handler finished — not what was fetched or
// committed, so a partition stuck on a record shows its whole backlog. It
// also brings Progress up to date. Every topic is present.
func (c *Consumer) Lag(ctx context.Context) (map[string]int64, error) {
	ends, err := kadm.NewClient(c.cl).ListEndOffsets(ctx, c.opt.Topics...)
	if err == nil {
		err = ends.Error()
	}
	now := c.opt.Now()
	ends.Each(func(o kadm.ListedOffset) {
		if o.Err != nil {
			return
		}
		c.mu.Lock()
		w := c.workers[tp{o.Topic, o.Partition}]
		c.mu.Unlock()
		if w != nil {
			w.fetched(o.Offset, -1, now)
		}
	})
	out := map[string]int64{}
	for _, t := range c.opt.Topics {
		out[t] = 0
	}
	for _, p := range c.Progress() {
		out[p.Topic] += p.Lag
	}
	if err != nil {
		return out, fmt.Errorf("consumer: lag: %w", err)
	}
	return out, nil
}

// GroupLag returns the group's records waiting per topic over every
// partition: on the ones this member owns, from the offsets its handler
// finished (as Lag); on the others, from the group's committed offsets
// (which trail their owners' progress by at most a checkpoint interval).
// The member that evaluates alerts uses it, so lag on a partition another
// member owns is not invisible to it.
func (c *Consumer) GroupLag(ctx context.Context) (map[string]int64, error) {
	out, err := c.Lag(ctx)
	if err != nil {
		return out, err
	}
	owned := map[tp]bool{}
	for _, p := range c.Progress() {
		owned[tp{p.Topic, p.Partition}] = true
	}
	lags, err := kadm.NewClient(c.cl).Lag(ctx, c.opt.Group)
	if err != nil {
		return out, fmt.Errorf("consumer: group lag: %w", err)
	}
	lags.Each(func(l kadm.DescribedGroupLag) {
		for topic, ps := range l.Lag {
			if _, ok := out[topic]; !ok {
				continue
			}
			for p, ml := range ps {
				if !owned[tp{topic, p}] && ml.Err == nil && ml.Lag > 0 {
					out[topic] += ml.Lag
				}
			}
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

// leaveTimeout bounds the explicit LeaveGroup of a static member on Close.
const leaveTimeout = 5 * time.Second

// Close stops the workers and leaves the group, a static member too (the
// client alone would keep its partitions until the session times out). It
// is safe to call more than once.
func (c *Consumer) Close() {
	c.closeOnce.Do(func() {
		c.Stop()
		if c.opt.InstanceID != "" {
			c.leaveStatic()
		}
		c.cl.Close()
	})
}

// leaveStatic ends the client's group membership (which for a static
// member sends nothing) and then sends LeaveGroup with the member and
// instance ids, so the group reassigns the partitions now.
func (c *Consumer) leaveStatic() {
	ctx, cancel := context.WithTimeout(context.Background(), leaveTimeout)
	defer cancel()
	memberID, _ := c.cl.GroupMetadata()
	if err := c.cl.LeaveGroupContext(ctx); err != nil {
		c.log.Warn("consumer: leaving the group", "group", c.opt.Group, "err", err)
	}
	req := kmsg.NewPtrLeaveGroupRequest()
	req.Group = c.opt.Group
	m := kmsg.NewLeaveGroupRequestMember()
	m.MemberID, m.InstanceID = memberID, &c.opt.InstanceID
	m.Reason = kmsg.StringPtr("static member shutting down")
	req.Members = append(req.Members, m)
	resp, err := req.RequestWith(ctx, c.cl)
	if err == nil {
		err = kerr.ErrorForCode(resp.ErrorCode)
		for _, m := range resp.Members {
			if err == nil {
				err = kerr.ErrorForCode(m.ErrorCode)
			}
		}
	}
	if err != nil {
		c.log.Warn("consumer: static member did not leave the group; its partitions move when its session times out",
			"group", c.opt.Group, "instance_id", c.opt.InstanceID, "err", err)
		return
	}
	c.log.Info("consumer: left the group", "group", c.opt.Group, "instance_id", c.opt.InstanceID)
}

// Kill drops the connection the way a crash would, without waiting for the
// workers; tests use it to stop a member mid-stream.
func (c *Consumer) Kill() { c.closeOnce.Do(c.cl.Close) }
