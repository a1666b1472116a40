package consumer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
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
	// The handler finished every record: nothing waits.
	lag := func() int64 {
		l, err := c.Lag(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return l["predictions"]
	}
	for lag() != 0 && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
	}
	if l := lag(); l != 0 {
		t.Fatalf("lag %d after every record was handled", l)
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

// A dead letter the broker refuses for good (its topic's max.message.bytes
// is below the producer's limit) is retried once cut to fallbackValueBytes
// with the original size in a header; one refused even then is given up
// on with a RefusedError, never retried for ever.
func TestDeadLetterRefusedForGood(t *testing.T) {
	b, err := broker.Start(broker.Options{Addr: "127.0.0.1:0", Topics: []string{"predictions"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admCl, err := kgo.NewClient(kgo.SeedBrokers(b.Addrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer admCl.Close()
	const topicLimit = 3000
	limit := strconv.Itoa(topicLimit)
	if _, err := kadm.NewClient(admCl).CreateTopic(ctx, 1, 1, map[string]*string{"max.message.bytes": &limit}, "dead"); err != nil {
		t.Fatal(err)
	}
	c, err := New(Options{Brokers: b.Addrs(), Group: "g", ClientID: "test", Topics: []string{"predictions"}, DeadLetters: "dead",
		MaxMessageBytes: 1 << 20}, func(string, int32, []*kgo.Record) {})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	random := func(n int) []byte { // incompressible, so the batch is as large as the record
		v := make([]byte, n)
		rand.NewChaCha8([32]byte{byte(n)}).Read(v)
		return v
	}
	small := &kgo.Record{Topic: "predictions", Offset: 1, Value: []byte("garbage")}
	large := &kgo.Record{Topic: "predictions", Offset: 2, Value: random(10_000)}
	hopeless := &kgo.Record{Topic: "predictions", Offset: 3, Value: random(100),
		Headers: []kgo.RecordHeader{{Key: "trace", Value: random(2 * topicLimit)}}}
	start := time.Now()
	long := strings.Repeat("é", maxDetailBytes) // cut inside a rune: the header stays valid UTF-8
	err = c.DeadLetter(ctx, []Rejected{{small, "malformed", "invalid character 'g' looking for beginning of value"}, {large, "malformed", long}, {hopeless, "malformed", ""}})
	var refused *RefusedError
	if !errors.As(err, &refused) || !errors.Is(err, ErrDeadLetterRefused) || len(refused.Records) != 1 ||
		!strings.HasPrefix(refused.Records[0], "predictions/0 offset 3 ") {
		t.Fatalf("DeadLetter: %v, want the record at offset 3 refused", err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Fatalf("DeadLetter took %s", took)
	}
	dl, err := kgo.NewClient(kgo.SeedBrokers(b.Addrs()...), kgo.ConsumeTopics("dead"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer dl.Close()
	got := map[string]*kgo.Record{}
	for len(got) < 2 && ctx.Err() == nil {
		dl.PollFetches(ctx).EachRecord(func(r *kgo.Record) { got[headerValue(r, SourceHeader)] = r })
	}
	if r := got["predictions/0/1"]; r == nil || string(r.Value) != "garbage" || headerValue(r, TruncatedHeader) != "" ||
		headerValue(r, ErrorHeader) != "invalid character 'g' looking for beginning of value" {
		t.Fatalf("small dead letter %v", r)
	}
	r := got["predictions/0/2"]
	if r == nil || len(r.Value) != fallbackValueBytes || !bytes.Equal(r.Value, large.Value[:fallbackValueBytes]) ||
		headerValue(r, OriginalBytesHeader) != "10000" || headerValue(r, TruncatedHeader) != "true" || headerValue(r, ReasonHeader) != "malformed" ||
		headerValue(r, ErrorHeader) != strings.Repeat("é", maxDetailBytes/2) {
		t.Fatalf("large dead letter: %v", r)
	}
}

func headerValue(r *kgo.Record, key string) string {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

// Lag counts the records the handler has not finished, fetched or not: a
// handler stuck on a fetch shows the whole backlog and a Since that does
// not move, and both recover when it finishes.
func TestLagFromFinishedRecords(t *testing.T) {
	b, err := broker.Start(broker.Options{Addr: "127.0.0.1:0", Topics: []string{"predictions"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var clock atomic.Int64 // fake time, in seconds
	now := func() time.Time { return time.Unix(clock.Load(), 0) }
	release := make(chan struct{})
	var handled atomic.Int64
	c, err := New(Options{Brokers: b.Addrs(), Group: "g", ClientID: "test", Topics: []string{"predictions"}, Now: now},
		func(_ string, _ int32, recs []*kgo.Record) {
			handled.Add(int64(len(recs)))
			<-release
		})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	go c.Run(ctx)
	pr, err := kgo.NewClient(kgo.SeedBrokers(b.Addrs()...), kgo.DefaultProduceTopic("predictions"))
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	produce := func(n int) {
		for i := range n {
			if err := pr.ProduceSync(ctx, &kgo.Record{Value: []byte(fmt.Sprint(i))}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
	}
	produce(10)
	for handled.Load() == 0 && ctx.Err() == nil {
		time.Sleep(5 * time.Millisecond)
	}
	clock.Store(100)
	produce(5) // fetched behind the stuck fetch, or not yet: waiting either way
	lag := func() int64 {
		l, err := c.Lag(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return l["predictions"]
	}
	if l := lag(); l != 15 {
		t.Fatalf("lag %d with the handler stuck on the first fetch, want 15", l)
	}
	// Nothing committed: the group's lag is this member's, not the
	// committed offsets' (which would count the partition twice).
	if gl, err := c.GroupLag(ctx); err != nil || gl["predictions"] != 15 {
		t.Fatalf("group lag %v, %v, want 15", gl, err)
	}
	ps := c.Progress()
	if len(ps) != 1 || ps[0].Lag != 15 || ps[0].Next != 0 || !ps[0].Since.Equal(time.Unix(0, 0)) {
		t.Fatalf("stuck handler: progress %+v, want lag 15 at offset 0 since t=0", ps)
	}
	clock.Store(200)
	close(release)
	for lag() != 0 && ctx.Err() == nil {
		time.Sleep(5 * time.Millisecond)
	}
	ps = c.Progress()
	if ps[0].Lag != 0 || ps[0].Next != 15 || !ps[0].Since.Equal(time.Unix(200, 0)) {
		t.Fatalf("after release: progress %+v, want lag 0 at offset 15 since t=200", ps)
	}
}
