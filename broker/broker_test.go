package broker

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
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

// MaxMessageBytes raises the broker's message.max.bytes: a 1.5 MB record
// is refused at Kafka's default limit and accepted at 2 MB.
func TestMaxMessageBytes(t *testing.T) {
	const size = 1_500_000
	value := make([]byte, size) // random, so compression does not shrink it
	rand.NewChaCha8([32]byte{1}).Read(value)
	for _, tc := range []struct {
		limit   int
		refused bool
	}{{0, true}, {2_000_000, false}} {
		b, err := Start(Options{Addr: "127.0.0.1:0", Topics: []string{"predictions"}, MaxMessageBytes: tc.limit})
		if err != nil {
			t.Fatal(err)
		}
		cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addrs()...), kgo.DefaultProduceTopic("predictions"),
			kgo.ProducerBatchMaxBytes(4_000_000), kgo.RecordRetries(1))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		err = cl.ProduceSync(ctx, &kgo.Record{Value: value}).FirstErr()
		cancel()
		cl.Close()
		b.Close()
		if refused := errors.Is(err, kerr.MessageTooLarge); refused != tc.refused {
			t.Errorf("limit %d: produce of %d bytes: %v, want refused %v", tc.limit, size, err, tc.refused)
		}
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
