package broker

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

const (
	predictions = "predictions"
	deadLetters = "dead-letters"
	group       = "g"
	valueBytes  = 200
)

// retained starts a broker with retention over predictions (consumed by
// group g) and dead letters (not consumed), and an admin client on it.
func retained(t *testing.T, r Retention, dataDir string) (*Embedded, *kadm.Client) {
	t.Helper()
	r.Group, r.Consumed = group, []string{predictions}
	b, err := Start(Options{Addr: "127.0.0.1:0", Topics: []string{predictions, deadLetters}, DataDir: dataDir, Retention: &r})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addrs()...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return b, kadm.NewClient(cl)
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// produceN appends records from..to-1 of topic, each value
// "event-<i>" padded to valueBytes, with timestamps ts(i).
func produceN(t *testing.T, addrs []string, topic string, from, to int, ts func(int) time.Time) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.DefaultProduceTopic(topic), kgo.ProducerLinger(0),
		// Deletion frees whole batches: small ones make the bounds tight.
		kgo.ProducerBatchCompression(kgo.NoCompression()), kgo.ProducerBatchMaxBytes(4<<10))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx := ctxFor(t)
	var (
		mu    sync.Mutex
		first error
	)
	for i := from; i < to; i++ {
		v := fmt.Sprintf("event-%d-", i)
		v += strings.Repeat("x", valueBytes-len(v))
		r := &kgo.Record{Key: []byte("k"), Value: []byte(v)}
		if ts != nil {
			r.Timestamp = ts(i)
		}
		cl.Produce(ctx, r, func(_ *kgo.Record, err error) {
			mu.Lock()
			first = cmpErr(first, err)
			mu.Unlock()
		})
	}
	if err := cl.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if first != nil {
		t.Fatal(first)
	}
}

func cmpErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

func startOffset(t *testing.T, adm *kadm.Client, topic string) int64 {
	t.Helper()
	o, err := adm.ListStartOffsets(ctxFor(t), topic)
	if err != nil {
		t.Fatal(err)
	}
	l, ok := o.Lookup(topic, 0)
	if !ok || l.Err != nil {
		t.Fatalf("start offset of %s: %+v", topic, l)
	}
	return l.Offset
}

func logSize(t *testing.T, adm *kadm.Client, topic string) int64 {
	t.Helper()
	set := kadm.TopicsSet{}
	set.Add(topic, 0)
	d, err := adm.DescribeAllLogDirs(ctxFor(t), set)
	if err != nil {
		t.Fatal(err)
	}
	return partitionSize(d, topic, 0)
}

func commit(t *testing.T, adm *kadm.Client, topic string, at int64) {
	t.Helper()
	var o kadm.Offsets
	o.AddOffset(topic, 0, at, -1)
	resp, err := adm.CommitOffsets(ctxFor(t), group, o)
	if err == nil {
		err = resp.Error()
	}
	if err != nil {
		t.Fatal(err)
	}
}

// readFrom reads topic from offset to its end, bounded in time, and returns
// the offsets and the event numbers in the values.
func readFrom(t *testing.T, addrs []string, topic string, from, end int64) (offsets []int64, events []int) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().At(from)}}))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx := ctxFor(t)
	for int64(len(offsets)) < end-from && ctx.Err() == nil {
		fs := cl.PollFetches(ctx)
		fs.EachError(func(_ string, _ int32, err error) { t.Errorf("fetch from %d: %v", from, err) })
		fs.EachRecord(func(r *kgo.Record) {
			var n int
			fmt.Sscanf(string(r.Value), "event-%d-", &n)
			offsets = append(offsets, r.Offset)
			events = append(events, n)
		})
	}
	return offsets, events
}

// A pass deletes below the committed offset only: with nothing committed it
// keeps every record however far past Bytes the partition is; after a
// commit the log starts exactly at the committed offset (Bytes would cut
// further), and a consumer from there gets every record; once everything is
// committed the partition shrinks to about Bytes.
func TestRetentionKeepsWhatIsNotCommitted(t *testing.T) {
	const n, limit = 3000, 64 << 10
	b, adm := retained(t, Retention{Bytes: limit, SegmentBytes: 16 << 10, Interval: time.Hour}, "")
	produceN(t, b.Addrs(), predictions, 0, n, nil)
	if size := logSize(t, adm, predictions); size < 5*limit {
		t.Fatalf("the test needs a log well past the limit, got %d bytes", size)
	}
	ctx := ctxFor(t)
	if err := b.Retain(ctx); err != nil {
		t.Fatal(err)
	}
	if s := startOffset(t, adm, predictions); s != 0 {
		t.Fatalf("nothing committed, yet the log starts at %d", s)
	}

	const checkpointed = 1500
	commit(t, adm, predictions, checkpointed)
	if err := b.Retain(ctx); err != nil {
		t.Fatal(err)
	}
	if s := startOffset(t, adm, predictions); s != checkpointed {
		t.Fatalf("log start %d, want the committed offset %d", s, checkpointed)
	}
	offs, evs := readFrom(t, b.Addrs(), predictions, checkpointed, n)
	if len(offs) != n-checkpointed {
		t.Fatalf("from the checkpoint: %d records, want %d", len(offs), n-checkpointed)
	}
	for i := range offs {
		if offs[i] != int64(checkpointed+i) || evs[i] != checkpointed+i {
			t.Fatalf("record %d: offset %d event %d", i, offs[i], evs[i])
		}
	}

	commit(t, adm, predictions, n)
	if err := b.Retain(ctx); err != nil {
		t.Fatal(err)
	}
	s := startOffset(t, adm, predictions)
	size := logSize(t, adm, predictions)
	if s <= checkpointed || size > limit+4<<10 || size < limit/2 {
		t.Fatalf("all committed: log start %d, %d bytes kept, want about %d", s, size, limit)
	}
}

// Time cuts by record timestamp against the injected clock; the dead
// letters, which no group consumes, are cut without a commit.
func TestRetentionTime(t *testing.T) {
	now := time.Date(2026, 12, 8, 12, 0, 0, 0, time.UTC)
	b, adm := retained(t, Retention{Time: time.Hour, Interval: time.Hour, Now: func() time.Time { return now }}, "")
	// Records 0..99 are two hours old, 100..199 half an hour.
	ts := func(i int) time.Time {
		if i < 100 {
			return now.Add(-2 * time.Hour)
		}
		return now.Add(-30 * time.Minute)
	}
	produceN(t, b.Addrs(), deadLetters, 0, 200, ts)
	produceN(t, b.Addrs(), predictions, 0, 200, ts)
	commit(t, adm, predictions, 50)
	if err := b.Retain(ctxFor(t)); err != nil {
		t.Fatal(err)
	}
	if s := startOffset(t, adm, deadLetters); s != 100 {
		t.Fatalf("dead letters start at %d, want 100 (the first record younger than an hour)", s)
	}
	if s := startOffset(t, adm, predictions); s != 50 {
		t.Fatalf("predictions start at %d, want the committed 50", s)
	}
}

// Without explicit passes the broker's own loop bounds the log: poll with a
// deadline until the log start advances.
func TestRetentionRunsOnItsInterval(t *testing.T) {
	b, adm := retained(t, Retention{Bytes: 32 << 10, SegmentBytes: 8 << 10, Interval: 20 * time.Millisecond}, "")
	produceN(t, b.Addrs(), predictions, 0, 1000, nil)
	commit(t, adm, predictions, 1000)
	deadline := time.Now().Add(20 * time.Second)
	for startOffset(t, adm, predictions) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the log start never advanced")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if s := startOffset(t, adm, predictions); s > 1000 {
		t.Fatalf("log start %d past the commit", s)
	}
}

// MaxBytes holds when the group stops committing: the broker's cleaner cuts
// the partition to it, and a pass reports the records the group lost.
func TestRetentionMaxBytesIsAHardCap(t *testing.T) {
	var logs syncBuffer
	const maxBytes = 32 << 10
	b, adm := retained(t, Retention{Bytes: 16 << 10, MaxBytes: maxBytes, SegmentBytes: 4 << 10, Interval: 20 * time.Millisecond,
		Log: slog.New(slog.NewTextHandler(&logs, nil))}, "")
	commit(t, adm, predictions, 10)
	produceN(t, b.Addrs(), predictions, 0, 1000, nil)
	// Produced in full, the partition is cut to the cap at the cleaner's
	// next run, and the pass after that reports the loss.
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(logs.String(), "lost=") || logSize(t, adm, predictions) > maxBytes {
		if time.Now().After(deadline) {
			t.Fatalf("log start %d, %d bytes (cap %d); log:\n%s", startOffset(t, adm, predictions), logSize(t, adm, predictions), maxBytes, logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if s := startOffset(t, adm, predictions); s <= 10 {
		t.Fatalf("log start %d", s)
	}
}

// With a data directory the segment files on disk are bounded the same way,
// and the advanced log start survives a restart.
func TestRetentionBoundsTheDataDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "kafka")
	const n, limit, segment = 3000, 64 << 10, 16 << 10
	r := Retention{Bytes: limit, SegmentBytes: segment, Interval: time.Hour}
	b, adm := retained(t, r, dir)
	produceN(t, b.Addrs(), predictions, 0, n, nil)
	if d := segmentBytesOnDisk(t, dir); d < 5*limit {
		t.Fatalf("the test needs a log well past the limit, got %d bytes on disk", d)
	}
	commit(t, adm, predictions, n)
	if err := b.Retain(ctxFor(t)); err != nil {
		t.Fatal(err)
	}
	// Whole segments go: at most the limit plus the segment the log start
	// falls in, and the active one.
	if d := segmentBytesOnDisk(t, dir); d > limit+2*segment+4<<10 {
		t.Fatalf("%d segment bytes on disk, want at most about %d; log start %d", d, limit+2*segment, startOffset(t, adm, predictions))
	}
	s := startOffset(t, adm, predictions)
	b.Close()

	b, adm = retained(t, r, dir)
	if s2 := startOffset(t, adm, predictions); s2 != s {
		t.Fatalf("after a restart the log starts at %d, before at %d", s2, s)
	}
	if offs, _ := readFrom(t, b.Addrs(), predictions, s, n); len(offs) != int(n-s) {
		t.Fatalf("after a restart: %d records from %d, want %d", len(offs), s, n-s)
	}
}

func segmentBytesOnDisk(t *testing.T, dir string) int64 {
	t.Helper()
	var total int64
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.Contains(p, predictions) && filepath.Ext(p) == ".dat" {
			info, err := d.Info()
			if err != nil {
				return err
			}
			total += info.Size()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return total
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestRetentionRejectsAGuardWithoutGroup(t *testing.T) {
	_, err := Start(Options{Addr: "127.0.0.1:0", Topics: []string{predictions},
		Retention: &Retention{Bytes: 1 << 20, Interval: time.Second, Consumed: []string{predictions}}})
	if err == nil || err.Error() != `broker: retention: consumed topics ["predictions"] need the group whose commits guard them` {
		t.Fatalf("got %v", err)
	}
}
