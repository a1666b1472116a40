package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Retention bounds the embedded broker's log, in memory and in its data
// directory.
//
// The invariant: in a topic of Consumed, a retention pass never deletes at
// or past the offset Group has committed, and a partition the group has
// never committed keeps everything. driftwatch commits only offsets a saved
// checkpoint covers (commits follow checkpoints), so every record a
// checkpoint still needs to resume from stays. Below the committed offset a
// pass deletes records older than Time (by record timestamp) and, oldest
// first, whatever makes the partition larger than about Bytes. Topics not in
// Consumed (the dead letters, which nothing consumes) are cut by Time and
// Bytes alone.
//
// MaxBytes is the one exception, and the memory bound that holds even when
// the group stops committing: the broker's cleaner deletes the oldest records
// of a partition larger than MaxBytes whatever was committed. A pass that
// finds the log start past the committed offset logs how many records the
// group lost.
//
// Memory and disk are freed a whole segment (SegmentBytes) at a time, so a
// partition holds at most its uncommitted records plus min(Time's worth,
// Bytes) plus one segment, and never more than MaxBytes plus one segment.
type Retention struct {
	Time         time.Duration // 0: no time limit
	Bytes        int64         // per partition, below the committed offset; 0: no limit
	MaxBytes     int64         // per partition, whatever was committed; 0: none
	SegmentBytes int64         // 0: Bytes/8 within [64 KiB, 16 MiB]
	Interval     time.Duration // how often a pass runs, and the broker's log.cleaner.backoff.ms
	Group        string
	Consumed     []string
	Now          func() time.Time // nil: time.Now; the record timestamps Time is measured against
	Log          *slog.Logger     // nil: slog.Default()
}

func (r *Retention) validate() error {
	switch {
	case r.Time < 0 || r.Bytes < 0 || r.MaxBytes < 0 || r.SegmentBytes < 0:
		return fmt.Errorf("broker: retention: negative limit in %+v", *r)
	case r.Interval <= 0:
		return fmt.Errorf("broker: retention: interval must be positive, got %s", r.Interval)
	case len(r.Consumed) > 0 && r.Group == "":
		return fmt.Errorf("broker: retention: consumed topics %q need the group whose commits guard them", r.Consumed)
	}
	return nil
}

func (r *Retention) segmentBytes() int64 {
	if r.SegmentBytes > 0 {
		return r.SegmentBytes
	}
	b := r.Bytes / 8
	if b == 0 {
		b = r.MaxBytes / 8
	}
	return min(max(b, 64<<10), 16<<20)
}

// retainer runs retention passes over the broker's topics through an admin
// client on the broker's own listener.
type retainer struct {
	r        Retention
	topics   []string
	consumed map[string]bool
	cl       *kgo.Client
	adm      *kadm.Client
	cancel   context.CancelFunc
	done     chan struct{}

	mu   sync.Mutex       // serialises passes
	lost map[string]int64 // topic/partition → log start already reported as lost
}

func startRetainer(addrs, topics []string, r Retention) (*retainer, error) {
	if r.Now == nil {
		r.Now = time.Now
	}
	if r.Log == nil {
		r.Log = slog.Default()
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...))
	if err != nil {
		return nil, fmt.Errorf("broker: retention client: %w", err)
	}
	t := &retainer{r: r, topics: topics, consumed: map[string]bool{}, cl: cl, adm: kadm.NewClient(cl),
		done: make(chan struct{}), lost: map[string]int64{}}
	for _, c := range r.Consumed {
		t.consumed[c] = true
	}
	// Time and Bytes are this package's passes (retention.ms -1 keeps the
	// cleaner's own time retention out); the cleaner applies MaxBytes.
	maxBytes := int64(-1)
	if r.MaxBytes > 0 {
		maxBytes = r.MaxBytes
	}
	set := func(name, v string) kadm.AlterConfig {
		return kadm.AlterConfig{Op: kadm.SetConfig, Name: name, Value: &v}
	}
	ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
	defer cancel()
	if len(topics) > 0 {
		resp, err := t.adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{
			set("retention.ms", "-1"),
			set("retention.bytes", strconv.FormatInt(maxBytes, 10)),
			set("segment.bytes", strconv.FormatInt(r.segmentBytes(), 10)),
		}, topics...)
		if err == nil {
			for _, c := range resp {
				err = errors.Join(err, c.Err)
			}
		}
		if err != nil {
			cl.Close()
			return nil, fmt.Errorf("broker: retention: topic configs of %q: %w", topics, err)
		}
	}
	lctx, lcancel := context.WithCancel(context.Background())
	t.cancel = lcancel
	go t.loop(lctx)
	return t, nil
}

func (t *retainer) loop(ctx context.Context) {
	defer close(t.done)
	tick := time.NewTicker(t.r.Interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if err := t.pass(ctx); err != nil && ctx.Err() == nil {
				t.r.Log.Warn("broker: retention pass failed; the next one retries", "err", err)
			}
		}
	}
}

func (t *retainer) stop() {
	t.cancel()
	<-t.done
	t.cl.Close()
}

// adminTimeout bounds one round of admin requests to the broker (topic
// configs; offsets listed and records deleted by a pass): they are
// in-process and quick unless the broker is stuck.
const adminTimeout = 30 * time.Second

// pass deletes, per partition, what Retention allows (see its invariant).
func (t *retainer) pass(ctx context.Context) error {
	if len(t.topics) == 0 {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, adminTimeout)
	defer cancel()
	// The committed offsets are read first: any record a later commit
	// covers is still in the log when the start offsets are listed.
	var committed kadm.OffsetResponses
	if t.r.Group != "" && len(t.consumed) > 0 {
		var err error
		committed, err = t.adm.FetchOffsets(ctx, t.r.Group)
		if errors.Is(err, kerr.GroupIDNotFound) {
			committed, err = nil, nil // the group has never committed
		}
		if err != nil {
			return fmt.Errorf("broker: retention: committed offsets of group %q: %w", t.r.Group, err)
		}
	}
	starts, err := t.adm.ListStartOffsets(ctx, t.topics...)
	if err == nil {
		err = starts.Error()
	}
	if err != nil {
		return fmt.Errorf("broker: retention: start offsets: %w", err)
	}
	ends, err := t.adm.ListEndOffsets(ctx, t.topics...)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		return fmt.Errorf("broker: retention: end offsets: %w", err)
	}
	var aged kadm.ListedOffsets
	if t.r.Time > 0 {
		// The first offset at or after the cut-off time: everything before
		// it is older than Time.
		if aged, err = t.adm.ListOffsetsAfterMilli(ctx, t.r.Now().Add(-t.r.Time).UnixMilli(), t.topics...); err == nil {
			err = aged.Error()
		}
		if err != nil {
			return fmt.Errorf("broker: retention: offsets by time: %w", err)
		}
	}
	var sizes kadm.DescribedAllLogDirs
	if t.r.Bytes > 0 {
		// The broker describes only the partitions named.
		set := kadm.TopicsSet{}
		starts.Each(func(o kadm.ListedOffset) { set.Add(o.Topic, o.Partition) })
		if sizes, err = t.adm.DescribeAllLogDirs(ctx, set); err != nil {
			return fmt.Errorf("broker: retention: partition sizes: %w", err)
		}
	}

	var del kadm.Offsets
	starts.Each(func(s kadm.ListedOffset) {
		e, ok := ends.Lookup(s.Topic, s.Partition)
		if !ok {
			return
		}
		start, end := s.Offset, e.Offset
		cut := start
		if o, ok := aged.Lookup(s.Topic, s.Partition); ok && o.Offset >= 0 {
			cut = max(cut, o.Offset)
		}
		if size := partitionSize(sizes, s.Topic, s.Partition); t.r.Bytes > 0 && size > t.r.Bytes && end > start {
			// Keep the newest Bytes, at the partition's mean record size.
			keep := int64(float64(end-start) * float64(t.r.Bytes) / float64(size))
			cut = max(cut, end-keep)
		}
		if t.consumed[s.Topic] {
			c, ok := committed.Lookup(s.Topic, s.Partition)
			if !ok || c.Err != nil || c.At < 0 {
				return // never committed: nothing is checkpointed
			}
			t.reportLost(s.Topic, s.Partition, start, c.At)
			cut = min(cut, c.At)
		}
		if cut = min(cut, end); cut > start {
			del.AddOffset(s.Topic, s.Partition, cut, -1)
		}
	})
	if len(del) == 0 {
		return nil
	}
	resp, err := t.adm.DeleteRecords(ctx, del)
	if err != nil {
		return fmt.Errorf("broker: retention: delete records: %w", err)
	}
	for _, ps := range resp {
		for _, p := range ps {
			if p.Err != nil {
				err = errors.Join(err, fmt.Errorf("broker: retention: delete records of %s/%d: %w", p.Topic, p.Partition, p.Err))
			}
		}
	}
	return err
}

// reportLost logs, once per advance, that the hard cap deleted records the
// group had not committed.
func (t *retainer) reportLost(topic string, partition int32, start, committed int64) {
	if start <= committed {
		return
	}
	key := topic + "/" + strconv.Itoa(int(partition))
	if t.lost[key] >= start {
		return
	}
	t.lost[key] = start
	t.r.Log.Warn("broker: max_bytes deleted records the consumer group had not committed; it resumes at the log start",
		"topic", topic, "partition", partition, "committed", committed, "log_start", start, "lost", start-committed)
}

func partitionSize(all kadm.DescribedAllLogDirs, topic string, partition int32) int64 {
	for _, ds := range all {
		if p, ok := ds.LookupPartition(topic, partition); ok {
			return p.Size
		}
	}
	return 0
}
