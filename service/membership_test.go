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
