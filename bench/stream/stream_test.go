// Package stream benchmarks `driftwatch serve` end to end from the embedded
// broker against a raw franz-go consumer reading the same topic and
// discarding the records, measured in the same run:
//
//	go test -run '^$' -bench Stream -benchtime 3x -count 3 ./bench/stream/
//
// Each iteration consumes the whole topic (Events messages of 20 features)
// with a new consumer group, from group join to the last record handled.
// Reported: events/s; the ratio to the raw consumer is computed from the
// sub-benchmarks' events/s (bench/RESULTS.md).
package stream

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"driftwatch/bench/workload"
	"driftwatch/broker"
	"driftwatch/config"
	"driftwatch/profile"
	"driftwatch/service"
)

// Events per iteration (package workload: 17 numeric and 3 categorical
// features per event).
const Events = 200_000

// arrowPerMessage is how many events an Arrow message holds.
const arrowPerMessage = 1000

func jsonEvents(n int) [][]byte { return workload.JSON(workload.Events(n)) }

func arrowEvents(b *testing.B, n int) [][]byte {
	msgs, err := workload.Arrow(workload.Events(n), arrowPerMessage)
	if err != nil {
		b.Fatal(err)
	}
	return msgs
}

type setup struct {
	brokers []string
	dir     string
	records int // records in the topic
}

func start(b *testing.B, msgs [][]byte) *setup {
	b.Helper()
	br, err := broker.Start(broker.Options{Addr: "127.0.0.1:0", Partitions: 3,
		Topics: []string{"predictions", "outcomes", "driftwatch-dead-letters"}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(br.Close)
	cl, err := kgo.NewClient(kgo.SeedBrokers(br.Addrs()...), kgo.DefaultProduceTopic("predictions"),
		kgo.ProducerLinger(5*time.Millisecond), kgo.MaxBufferedRecords(100_000))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	ctx := context.Background()
	recs := make([]*kgo.Record, 0, 10_000)
	for i, m := range msgs {
		recs = append(recs, &kgo.Record{Key: []byte(strconv.Itoa(i % 64)), Value: m})
		if len(recs) == cap(recs) || i == len(msgs)-1 {
			if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
				b.Fatal(err)
			}
			recs = recs[:0]
		}
	}
	dir := b.TempDir()
	prof, err := profile.Build(workload.Reference(50_000), profile.Options{})
	if err != nil {
		b.Fatal(err)
	}
	if err := prof.WriteFile(filepath.Join(dir, "p.dwprof")); err != nil {
		b.Fatal(err)
	}
	return &setup{brokers: br.Addrs(), dir: dir, records: len(msgs)}
}

// raw reads the topic with a new group and discards every record.
func (s *setup) raw(b *testing.B, group string) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(s.brokers...), kgo.ConsumerGroup(group), kgo.ConsumeTopics("predictions"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit())
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	n := 0
	for n < s.records {
		fs := cl.PollRecords(ctx, 10_000)
		if ctx.Err() != nil {
			b.Fatalf("raw consumer read %d of %d", n, s.records)
		}
		n += fs.NumRecords()
	}
}

// serve runs the service with a new group until it has handled every event.
// Its checkpoints go to a fresh directory (their cost is
// BenchmarkCheckpointCost's), and its Close — the last checkpoint — is not
// timed: this measures consuming.
func (s *setup) serve(b *testing.B, group, format string) {
	cfg, err := config.Parse(fmt.Appendf(nil, `
kafka: {brokers: [%q], group: %q}
checkpoint: {dir: %q}
format: %s
defaults: {window: {length: 1h, pane: 1m, lateness: 1h}}
models: [{name: m, task: classification, versions: [{name: v1, reference: p.dwprof}], evaluate_every: 1h}]
`, s.brokers[0], group, b.TempDir(), format))
	if err != nil {
		b.Fatal(err)
	}
	cfg.Dir = s.dir
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	svc, err := service.Start(ctx, service.Options{Config: cfg, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		b.StopTimer()
		svc.Close(context.Background())
		b.StartTimer()
	}()
	for svc.Processed() < Events {
		if ctx.Err() != nil {
			b.Fatalf("service handled %d of %d", svc.Processed(), Events)
		}
		time.Sleep(time.Millisecond)
	}
	svc.Evaluate()
	if ev, _ := svc.Latest("m", "v1"); ev.Events != Events {
		b.Fatalf("window holds %v events, want %d", ev.Events, Events)
	}
}

// BenchmarkStream compares, per format, the service with a raw consumer
// reading the same topic (the same events, as JSON messages of one event
// or Arrow messages of arrowPerMessage events).
func BenchmarkStream(b *testing.B) {
	group := 0
	run := func(b *testing.B, name string, f func(group string)) {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				group++
				f("bench-" + strconv.Itoa(group))
			}
			b.ReportMetric(float64(Events)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
	b.Run("json", func(b *testing.B) {
		s := start(b, jsonEvents(Events))
		run(b, "raw", func(g string) { s.raw(b, g) })
		run(b, "serve", func(g string) { s.serve(b, g, "json") })
	})
	b.Run("arrow", func(b *testing.B) {
		s := start(b, arrowEvents(b, Events))
		run(b, "raw", func(g string) { s.raw(b, g) })
		run(b, "serve", func(g string) { s.serve(b, g, "arrow") })
	})
}
