package broker

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

func TestEmbeddedBrokerRoundTrip(t *testing.T) {
	b, err := Start(Options{Addr: "127.0.0.1:0", Topics: []string{"predictions", "outcomes"}, Partitions: 3})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	produceConsume(t, b.Addrs(), 100)
	b.Close()
	b.Close() // safe twice
}

func TestDataDirSurvivesRestart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "kafka")
	b, err := Start(Options{Addr: "127.0.0.1:0", Topics: []string{"predictions"}, DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	produceConsume(t, b.Addrs(), 10)
	b.Close()
	b, err = Start(Options{Addr: "127.0.0.1:0", Topics: []string{"predictions"}, DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if got := consume(t, b.Addrs(), 10); len(got) != 10 || got[0] != "event-0" {
		t.Fatalf("after restart: %v", got)
	}
}

func TestStartRejectsNonLoopback(t *testing.T) {
	_, err := Start(Options{Addr: "0.0.0.0:9092"})
	if err == nil || err.Error() != `broker: listen address "0.0.0.0:9092": the embedded broker listens on loopback only` {
		t.Fatalf("got %v", err)
	}
}

func produceConsume(t *testing.T, addrs []string, n int) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.DefaultProduceTopic("predictions"))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for i := range n {
		if err := cl.ProduceSync(ctx, &kgo.Record{Key: []byte("k"), Value: []byte(fmt.Sprintf("event-%d", i))}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	if got := consume(t, addrs, n); len(got) != n {
		t.Fatalf("consumed %d of %d", len(got), n)
	}
}

// consume reads n records from the start of "predictions", bounded in time.
func consume(t *testing.T, addrs []string, n int) []string {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.ConsumeTopics("predictions"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var got []string
	for len(got) < n && ctx.Err() == nil {
		fs := cl.PollFetches(ctx)
		fs.EachRecord(func(r *kgo.Record) { got = append(got, string(r.Value)) })
	}
	return got
}
