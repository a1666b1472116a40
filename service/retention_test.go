package service

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// serve's embedded broker applies kafka.embedded.retention: with a 1 MiB
// byte limit and 1 s passes, ~2.5 MB of predictions make the log start
// advance (polled with a deadline), never past the group's committed
// offset, which follows the checkpoints. A restart on the same state
// directory resumes from the checkpoint with every record it needs: the
// window then counts every event exactly once.
func TestEmbeddedRetentionStaysBehindCheckpoints(t *testing.T) {
	dir := t.TempDir()
	cfg := fmt.Sprintf(`
kafka: {embedded_addr: "127.0.0.1:0", embedded: {retention: {bytes: 1048576, max_bytes: 0, interval: 1s}}}
checkpoint: {dir: %q, interval: 200ms}
defaults: {window: {length: 10m, pane: 1m, lateness: 1m}, min_samples: 10}
models:
  - {name: credit, task: classification, versions: [{name: v1, reference: p.dwprof}], evaluate_every: 1h}
`, dir)
	s, _, ctx := startWith(t, cfg, nil)
	// Uncompressed, so the log is the ~2.5 MB the messages are.
	pr, err := kgo.NewClient(kgo.SeedBrokers(s.Brokers()...), kgo.ProducerBatchCompression(kgo.NoCompression()))
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	msgs := func(from, n int) []string {
		now := time.Now().UnixMilli()
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf(`{"id":"p%d","model":"credit","version":"v1","ts":%d,"features":{"income":%d,"home":"OWN"},"score":0.25}`,
				from+i, now, 40+i%20)
		}
		return out
	}
	const n = 20000
	for i := 0; i < n; i += 1000 {
		produce(t, ctx, pr, msgs(i, 1000)...)
	}
	waitProcessed(t, ctx, s, n)

	cl, err := kgo.NewClient(kgo.SeedBrokers(s.Brokers()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	start := func() int64 {
		o, err := adm.ListStartOffsets(ctx, "predictions")
		if err != nil {
			t.Fatal(err)
		}
		l, _ := o.Lookup("predictions", 0)
		return l.Offset
	}
	for start() == 0 {
		if ctx.Err() != nil {
			t.Fatal("retention never advanced the predictions' log start")
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Commits only grow: a start read before the commit is never past it.
	first := start()
	committed, err := adm.FetchOffsets(ctx, "driftwatch")
	if err != nil {
		t.Fatal(err)
	}
	c, ok := committed.Lookup("predictions", 0)
	if !ok || c.At < first {
		t.Fatalf("log start %d past the committed offset %+v", first, c)
	}
	cl.Close()
	pr.Close()
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}

	s2, pr2, ctx2 := startWith(t, cfg, nil)
	produce(t, ctx2, pr2, msgs(n, 100)...)
	waitProcessed(t, ctx2, s2, 100)
	s2.Evaluate()
	if ev, _ := s2.Latest("credit", "v1"); ev.Events != n+100 {
		t.Fatalf("after the restart the window holds %v events, want %d", ev.Events, n+100)
	}
}
