package service

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"driftwatch/consumer"
)

// A static member (kafka.instance_id) that is closed leaves the group
// explicitly, so the other member takes its partitions at once rather
// than after the 45 s session timeout.
func TestStaticMemberLeavesOnClose(t *testing.T) {
	f := newFixture(t, 100)
	var logs syncBuffer
	start := func(id string) *Service {
		cfg := f.config("static", "ckpt-static", false)
		cfg.Kafka.InstanceID = id
		cfg.Kafka.SessionTimeout = 45 * time.Second
		s, err := Start(f.ctx, Options{Config: cfg, KafkaOpts: []kgo.Opt{kgo.HeartbeatInterval(200 * time.Millisecond)},
			Logger: slog.New(slog.NewTextHandler(&logs, nil)).With("member", id)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close(context.Background()) })
		return s
	}
	a := start("member-a")
	for len(a.ownedParts()) != 3 && f.ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
	}
	b := start("member-b")
	// Settled: both own partitions, and all three are owned.
	for na, nb := 0, 0; (na == 0 || nb == 0 || na+nb != 3) && f.ctx.Err() == nil; na, nb = len(a.ownedParts()), len(b.ownedParts()) {
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("a owns %d partitions, b %d", len(a.ownedParts()), len(b.ownedParts()))
	began := time.Now()
	if err := a.Close(f.ctx); err != nil {
		t.Fatal(err)
	}
	const bound = 15 * time.Second // well below the 45 s session
	for len(b.ownedParts()) != 3 && time.Since(began) < bound {
		time.Sleep(10 * time.Millisecond)
	}
	took := time.Since(began)
	if len(b.ownedParts()) != 3 {
		t.Fatalf("b owns %d of 3 partitions %s after a closed; a static member must leave on Close", len(b.ownedParts()), took)
	}
	t.Logf("partitions handed over %s after Close (session timeout 45s)", took.Round(time.Millisecond))
	// The shutdown is logged: last checkpoints, leaving, time taken.
	for _, want := range []string{`msg="service: shutting down" member=member-a`, `msg="service: last checkpoints saved and committed" member=member-a partitions=`,
		`msg="consumer: left the group" member=member-a`, `msg="service: shut down" member=member-a took=`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("shutdown log lacks %q:\n%s", want, logs.String())
		}
	}
}

// syncBuffer is a bytes.Buffer that loggers on several goroutines share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// Two members sharing a checkpoint directory merge each other's
// partitions from it, as with the topic store: each shows the whole model.
func TestDirStoreSharedByMembers(t *testing.T) {
	f := newFixture(t, 600)
	want := f.reference()
	dir := "dir:" + filepath.Join(t.TempDir(), "state")
	a := f.start(f.config("dirshare", dir, false))
	for !a.assignedOnce.Load() && f.ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
	}
	b := f.start(f.config("dirshare", dir, false))
	for (len(a.ownedParts()) == 3 || len(b.ownedParts()) == 0) && f.ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
	}
	f.produce(0, len(f.recs))
	f.waitDone("dirshare")
	f.equalSoon(a, want, "first member")
	f.equalSoon(b, want, "second member")
}

// Dead letters are produced at least once: a member killed before its
// checkpoint re-reads the bad records after a restart and dead-letters
// them again. Every copy of one bad record carries the same
// driftwatch-source header (topic/partition/offset), the key to
// deduplicate by, and the same value and reason.
func TestDeadLetterDuplicatesShareSource(t *testing.T) {
	f := newFixture(t, 300)
	bad := 0
	for _, r := range f.recs {
		if string(r.Value) == `{"id":` {
			bad++
		}
	}
	cfg := f.config("dlq", "ckpt-dlq", false)
	cfg.Checkpoint.Interval = time.Hour // nothing checkpointed before the kill
	a := f.start(cfg)
	f.produce(0, len(f.recs))
	deadLettersIn(t, f, bad) // every bad record dead-lettered once
	a.Kill()
	b := f.start(f.config("dlq", "ckpt-dlq", false))
	f.waitDone("dlq")
	b.Close(f.ctx)

	dl := deadLettersIn(t, f, 2*bad)
	copies := map[string][]*kgo.Record{}
	for _, r := range dl {
		src := header(r, consumer.SourceHeader)
		copies[src] = append(copies[src], r)
	}
	if len(copies) != bad {
		t.Fatalf("%d distinct sources among %d dead letters, want %d", len(copies), len(dl), bad)
	}
	for src, rs := range copies {
		if len(rs) != 2 {
			t.Errorf("%s: %d copies, want 2 (once per run)", src, len(rs))
		}
		for _, r := range rs[1:] {
			if !bytes.Equal(r.Value, rs[0].Value) || header(r, consumer.ReasonHeader) != header(rs[0], consumer.ReasonHeader) {
				t.Errorf("%s: copies differ: %q %v / %q %v", src, rs[0].Value, rs[0].Headers, r.Value, r.Headers)
			}
		}
	}
}

// deadLettersIn reads n records of the fixture's dead-letter topic (all
// partitions), then any more that arrive within a short grace.
func deadLettersIn(t *testing.T, f *fixture, n int) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(f.b.Addrs()...), kgo.ConsumeTopics("driftwatch-dead-letters"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var out []*kgo.Record
	wait, cancel := context.WithTimeout(f.ctx, 30*time.Second)
	defer cancel()
	for len(out) < n && wait.Err() == nil {
		cl.PollFetches(wait).EachRecord(func(r *kgo.Record) { out = append(out, r) })
	}
	if len(out) < n {
		t.Fatalf("%d dead letters within 30 s, want %d", len(out), n)
	}
	grace, cancelGrace := context.WithTimeout(f.ctx, 200*time.Millisecond)
	defer cancelGrace()
	cl.PollFetches(grace).EachRecord(func(r *kgo.Record) { out = append(out, r) })
	return out
}
