package consumer

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"driftwatch/broker"
)

func TestConsumeCommitAndDeadLetter(t *testing.T) {
	b, err := broker.Start(broker.Options{Addr: "127.0.0.1:0", Topics: []string{"predictions", "dead"}, Partitions: 3})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	pr, err := kgo.NewClient(kgo.SeedBrokers(b.Addrs()...), kgo.DefaultProduceTopic("predictions"))
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	const n, bad = 3000, 30
	for i := range n {
		v := fmt.Sprintf("event-%d", i)
		if i%(n/bad) == 0 {
			v = "garbage"
		}
		pr.Produce(ctx, &kgo.Record{Key: []byte(fmt.Sprint(i % 7)), Value: []byte(v)}, func(_ *kgo.Record, err error) {
			if err != nil {
				t.Error(err)
			}
		})
	}
	if err := pr.Flush(ctx); err != nil {
		t.Fatal(err)
	}

	var good, seen atomic.Int64
	var mu sync.Mutex
	lastOffset := map[int32]int64{}
	var c *Consumer
	h := func(topic string, p int32, recs []*kgo.Record) {
		var rej []Rejected
		mu.Lock()
		defer mu.Unlock()
		for _, r := range recs {
			if r.Offset <= lastOffset[p]-1 && lastOffset[p] != 0 {
				t.Errorf("partition %d: offset %d handled twice or out of order", p, r.Offset)
			}
			lastOffset[p] = r.Offset + 1
			seen.Add(1)
			if string(r.Value) == "garbage" {
				rej = append(rej, Rejected{Record: r, Reason: "malformed"})
				continue
			}
			good.Add(1)
		}
		if err := c.DeadLetter(ctx, rej); err != nil {
			t.Error(err)
		}
	}
	c, err = New(Options{Brokers: b.Addrs(), Group: "g", ClientID: "test", Topics: []string{"predictions"}, DeadLetters: "dead"}, h)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- c.Run(runCtx) }()
	for seen.Load() < n && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
	}
	// The owner commits what it handled; then the lag is zero.
	mu.Lock()
	next := map[string]map[int32]int64{"predictions": {}}
	for p, o := range lastOffset {
		next["predictions"][p] = o
	}
	mu.Unlock()
	if err := c.Commit(ctx, next); err != nil {
		t.Fatal(err)
	}
	for ctx.Err() == nil {
		lag, err := c.Lag(ctx)
		if err == nil && lag["predictions"] == 0 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	c.Close()
	c.Close() // safe twice
	if good.Load() != n-bad {
		t.Fatalf("handled %d good records, want %d", good.Load(), n-bad)
	}

	// Every offset is committed...
	adm := kadm.NewClient(pr)
	committed, err := adm.FetchOffsets(ctx, "g")
	if err != nil {
		t.Fatal(err)
	}
	ends, err := adm.ListEndOffsets(ctx, "predictions")
	if err != nil {
		t.Fatal(err)
	}
	ends.Each(func(o kadm.ListedOffset) {
		got, ok := committed.Lookup("predictions", o.Partition)
		if !ok || got.At != o.Offset {
			t.Errorf("partition %d: committed %v, end %d", o.Partition, got.At, o.Offset)
		}
	})
	// ...and the rejected records are in the dead-letter topic with the reason.
	dl, err := kgo.NewClient(kgo.SeedBrokers(b.Addrs()...), kgo.ConsumeTopics("dead"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer dl.Close()
	var dead int
	for dead < bad && ctx.Err() == nil {
		dl.PollFetches(ctx).EachRecord(func(r *kgo.Record) {
			if string(r.Value) != "garbage" || len(r.Headers) < 1 || r.Headers[0].Key != ReasonHeader || string(r.Headers[0].Value) != "malformed" {
				t.Errorf("dead letter %q %v", r.Value, r.Headers)
			}
			dead++
		})
	}
	if dead != bad {
		t.Fatalf("%d dead letters, want %d", dead, bad)
	}
}
