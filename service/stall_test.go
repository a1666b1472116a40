package service

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"driftwatch/consumer"
	"driftwatch/events"
)

// bigBadMessage is invalid JSON of n bytes (an object never closed).
func bigBadMessage(n int) []byte {
	b := []byte(`{"id":"big","model":"credit","pad":"`)
	return append(b, strings.Repeat("x", n-len(b))...)
}

// goodEvents are n valid prediction events of model credit.
func goodEvents(n int) []string {
	var out []string
	for i := range n {
		out = append(out, fmt.Sprintf(`{"id":"g%d","model":"credit","version":"v1","ts":%d,"features":{"income":%d,"home":"OWN"},"score":0.5}`,
			i, time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC).UnixMilli()+int64(i), 40+i%20))
	}
	return out
}

// deadLetters reads n records of the dead-letter topic, bounded by ctx.
func deadLetters(t *testing.T, ctx context.Context, brokers []string, n int) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics("driftwatch-dead-letters"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var out []*kgo.Record
	for len(out) < n && ctx.Err() == nil {
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) { out = append(out, r) })
	}
	if len(out) < n {
		t.Fatalf("%d dead letters, want %d", len(out), n)
	}
	return out
}

// waitCovered waits until partition 0's state covers n predictions
// records (its next offset) or ctx ends, and returns the offset.
func waitCovered(ctx context.Context, s *Service, n int64) int64 {
	for {
		var next int64 = -1
		// A handler stuck behind a dead letter holds the lock.
		if p := s.owned(0); p != nil && p.mu.TryLock() {
			next = p.next[0]
			p.mu.Unlock()
		}
		if next >= n || ctx.Err() != nil {
			return next
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func header(r *kgo.Record, key string) string {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

// With the default config (max_message_bytes 1 MiB) and the embedded
// broker, a malformed message of 1,020,000 bytes — larger than a Kafka
// client's default batch limit, smaller than the broker's — is
// dead-lettered whole, and the 50 good events behind it are processed at
// once; the partition does not stop behind it.
func TestLargeBadMessageDoesNotStallPartition(t *testing.T) {
	const size = 1_020_000
	s, _, ctx := startWith(t, `
kafka: {embedded_addr: "127.0.0.1:0"}
models: [{name: credit, task: classification, versions: [{name: v1, reference: p.dwprof}]}]
`, time.Now)
	if s.cfg.MaxMessageBytes != 1<<20 {
		t.Fatalf("max_message_bytes %d, want the default 1 MiB", s.cfg.MaxMessageBytes)
	}
	pr, err := kgo.NewClient(kgo.SeedBrokers(s.Brokers()...), kgo.DefaultProduceTopic("predictions"),
		kgo.ProducerBatchMaxBytes(2_000_000)) // as kcat -X message.max.bytes=2000000
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pr.Close)
	bad := bigBadMessage(size)
	if err := pr.ProduceSync(ctx, &kgo.Record{Key: []byte("big"), Value: bad}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	// The good events come after the bad one was fetched, as from kcat.
	for s.Processed() < 1 && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
	}
	var recs []*kgo.Record
	for _, m := range goodEvents(50) {
		recs = append(recs, &kgo.Record{Value: []byte(m)})
	}
	if err := pr.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	wait, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if got := waitCovered(wait, s, 51); got != 51 {
		t.Fatalf("partition 0 covers %d of 51 records within 15 s (%d handled): the partition is stuck behind the large bad message", got, s.Processed())
	}
	if n := s.models["credit"].versions["v1"].events.Get(); n != 50 {
		t.Fatalf("%d events counted, want 50", n)
	}
	dl := deadLetters(t, wait, s.Brokers(), 1)[0]
	if len(dl.Value) != size || header(dl, consumer.ReasonHeader) != string(events.ReasonMalformed) ||
		header(dl, consumer.SourceHeader) != "predictions/0/0" || header(dl, consumer.TruncatedHeader) != "" || header(dl, consumer.ErrorHeader) == "" {
		t.Fatalf("dead letter: %d bytes, headers %v; want the whole %d bytes, malformed, from predictions/0/0", len(dl.Value), dl.Headers, size)
	}
}

// An oversize record is dead-lettered at any max_message_bytes: when the
// whole copy exceeds the dead-letter limit, a prefix is produced with the
// original size and the reason in headers.
func TestOversizeDeadLetterTruncated(t *testing.T) {
	const size = 1_020_000
	s, _, ctx := startWith(t, `
kafka: {embedded_addr: "127.0.0.1:0"}
max_message_bytes: 1000
models: [{name: credit, task: classification, versions: [{name: v1, reference: p.dwprof}]}]
`, time.Now)
	pr, err := kgo.NewClient(kgo.SeedBrokers(s.Brokers()...), kgo.DefaultProduceTopic("predictions"),
		kgo.ProducerBatchMaxBytes(2_000_000))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pr.Close)
	bad := bigBadMessage(size)
	recs := []*kgo.Record{{Value: bad}}
	for _, m := range goodEvents(50) {
		recs = append(recs, &kgo.Record{Value: []byte(m)})
	}
	if err := pr.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	wait, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if got := waitCovered(wait, s, 51); got != 51 {
		t.Fatalf("partition 0 covers %d of 51 records within 15 s", got)
	}
	dl := deadLetters(t, wait, s.Brokers(), 1)[0]
	limit := consumer.DeadLetterLimit(1000)
	if len(dl.Value) >= size || len(dl.Value) > limit || string(dl.Value) != string(bad[:len(dl.Value)]) {
		t.Fatalf("dead letter of %d bytes, want a prefix of the %d-byte record within %d bytes", len(dl.Value), size, limit)
	}
	if header(dl, consumer.ReasonHeader) != string(events.ReasonOversize) || header(dl, consumer.TruncatedHeader) != "true" ||
		header(dl, consumer.OriginalBytesHeader) != strconv.Itoa(size) || !strings.Contains(header(dl, consumer.ErrorHeader), "more than max_message_bytes 1000") {
		t.Fatalf("dead letter headers %v", dl.Headers)
	}
}

// A partition whose records wait while none is processed for longer than
// stall_timeout makes /readyz answer 503 naming it and sets
// driftwatch_partition_stalled; lag counts the records not processed,
// fetched or not. Here the dead-letter topic refuses produce requests (a
// failure that may pass, so the handler retries) while a bad message and
// ten good ones wait; the clock is the test's.
func TestStalledPartitionNotReady(t *testing.T) {
	var clock atomic.Int64
	base := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	clock.Store(base.UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()) }
	s, pr, ctx := startWith(t, `
kafka: {embedded_addr: "127.0.0.1:0"}
stall_timeout: 1m
models: [{name: credit, task: classification, versions: [{name: v1, reference: p.dwprof}]}]
`, now)
	produce(t, ctx, pr, goodEvents(5)...)
	if got := waitCovered(ctx, s, 5); got != 5 {
		t.Fatalf("covered %d of 5", got)
	}
	c := s.embedded.Cluster()
	// Produce v13+ names topics by id, older versions by name.
	topics, err := kadm.NewClient(pr).ListTopics(ctx, "driftwatch-dead-letters")
	if err != nil {
		t.Fatal(err)
	}
	dlqID := topics["driftwatch-dead-letters"].ID
	var failing atomic.Bool
	failing.Store(true)
	c.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		for _, tp := range req.(*kmsg.ProduceRequest).Topics {
			if (tp.Topic == "driftwatch-dead-letters" || tp.TopicID == dlqID) && failing.Load() {
				return nil, errors.New("injected dead-letter produce failure"), true
			}
		}
		return nil, nil, false
	})
	produce(t, ctx, pr, append([]string{`{"id":"bad"`}, goodEvents(10)...)...)
	for s.Processed() < 16 && ctx.Err() == nil { // handled, stuck on the dead letter
		time.Sleep(5 * time.Millisecond)
	}
	metric := func(series string) string {
		rec := httptest.NewRecorder()
		routes(s).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		for _, line := range strings.Split(rec.Body.String(), "\n") {
			if v, ok := strings.CutPrefix(line, series+" "); ok {
				return v
			}
		}
		return ""
	}
	const stalled = `driftwatch_partition_stalled{topic="predictions",partition="0"}`
	if code := readyCode(t, s); code != http.StatusOK || metric(stalled) != "0" {
		t.Fatalf("within stall_timeout: /readyz %d, %s %q", code, stalled, metric(stalled))
	}
	if lag := metric(`driftwatch_consumer_lag_messages{topic="predictions"}`); lag != "11" {
		t.Fatalf("lag %q with 11 records not processed; progress %+v", lag, s.cons.Progress())
	}
	clock.Add(int64(61 * time.Second))
	rec := httptest.NewRecorder()
	routes(s).ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	want := "partition predictions/0 stalled: 11 records waiting at offset 5, none processed for 1m1s (stall_timeout 1m0s)\n"
	if rec.Code != http.StatusServiceUnavailable || rec.Body.String() != want {
		t.Fatalf("stalled: /readyz %d %q, want 503 %q", rec.Code, rec.Body.String(), want)
	}
	if v := metric(stalled); v != "1" {
		t.Fatalf("%s %q while stalled; progress %+v", stalled, v, s.cons.Progress())
	}
	failing.Store(false) // the dead letter goes through; the partition moves
	if got := waitCovered(ctx, s, 16); got != 16 {
		t.Fatalf("covered %d of 16 after the fault cleared", got)
	}
	for deadline := time.Now().Add(10 * time.Second); (readyCode(t, s) != http.StatusOK || metric(stalled) != "0") && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if code := readyCode(t, s); code != http.StatusOK || metric(stalled) != "0" ||
		metric(`driftwatch_consumer_lag_messages{topic="predictions"}`) != "0" {
		t.Fatalf("recovered: /readyz %d, %s %q", code, stalled, metric(stalled))
	}
}

// The HTTP server bounds what a client may hold: idle keep-alive
// connections are closed, slow requests time out, and a header block past
// httpMaxHeaderBytes is refused (Go's default would take 1 MiB).
func TestHTTPLimits(t *testing.T) {
	s, _, _ := startWith(t, `
kafka: {embedded_addr: "127.0.0.1:0"}
models: [{name: credit, task: classification, versions: [{name: v1, reference: p.dwprof}]}]
`, time.Now)
	if srv := s.httpSrv; srv.IdleTimeout != httpIdleTimeout || srv.ReadTimeout != httpReadTimeout ||
		srv.ReadHeaderTimeout != httpReadHeaderTimeout || srv.WriteTimeout != httpWriteTimeout {
		t.Fatalf("server timeouts: idle %s read %s header %s write %s", srv.IdleTimeout, srv.ReadTimeout, srv.ReadHeaderTimeout, srv.WriteTimeout)
	}
	req, err := http.NewRequest("GET", "http://"+s.HTTPAddr()+"/healthz", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Big", strings.Repeat("a", 2*httpMaxHeaderBytes))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("a %d-byte header: status %d, want 431", 2*httpMaxHeaderBytes, resp.StatusCode)
	}
}
