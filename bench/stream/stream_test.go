// Package stream benchmarks `driftwatch serve` end to end from the embedded
// broker against a raw franz-go consumer reading the same topic and
// discarding the records, measured in the same run:
//
//	go test -run '^$' -bench Stream -benchtime 3x -count 3 ./bench/stream/
//
// Each iteration consumes the whole topic (Events messages of 20 features)
// with a new consumer group. Reported: events/s over whole runs, from
// starting the consumer (and the service: loading its profile) to the last
// record handled, and steady-events/s over the part of each run after its
// first records were handled, which leaves out start-up and group join,
// with the cores the process (broker and consumer) kept busy meanwhile and
// its CPU time per event; the ratios to the raw consumer are computed from
// these (bench/RESULTS.md).
package stream

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"driftwatch/broker"
	"driftwatch/config"
	"driftwatch/internal/testutil/workload"
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
	// Messages go round robin to the partitions: evenly, as a producer
	// keying events by prediction id (to co-partition outcomes) spreads
	// them. (Keyed by i % 64 at first, 47%, 33% and 20% of the events
	// landed on the three partitions, and the service's per-partition
	// workers waited on the largest while the raw consumer did not care.)
	cl, err := kgo.NewClient(kgo.SeedBrokers(br.Addrs()...), kgo.DefaultProduceTopic("predictions"),
		kgo.ProducerLinger(5*time.Millisecond), kgo.MaxBufferedRecords(100_000), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	ctx := context.Background()
	recs := make([]*kgo.Record, 0, 10_000)
	for i, m := range msgs {
		recs = append(recs, &kgo.Record{Partition: int32(i % 3), Value: m})
		if len(recs) == cap(recs) || i == len(msgs)-1 {
			if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
				b.Fatal(err)
			}
			recs = recs[:0]
		}
	}
	dir := b.TempDir()
	if err := workload.WriteProfile(filepath.Join(dir, "p.dwprof")); err != nil {
		b.Fatal(err)
	}
	return &setup{brokers: br.Addrs(), dir: dir, records: len(msgs)}
}

// steady is the part of a run after its first records were handled:
// events handled since, in what time, and the CPU time the process (the
// broker's and the consumer's, which share it) used meanwhile. Starting the
// service (loading profiles) and joining the group are in the whole run's
// time, not here.
type steady struct {
	events float64
	d, cpu time.Duration
}

// mark is a point in a run: wall time and the process's CPU time.
type mark struct {
	wall time.Time
	cpu  time.Duration
}

func now() mark {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return mark{time.Now(), time.Duration(ru.Utime.Nano() + ru.Stime.Nano())}
}

// since is the steady part from m to now, with events handled in it.
func (m mark) since(events float64) steady {
	e := now()
	return steady{events, e.wall.Sub(m.wall), e.cpu - m.cpu}
}

// follow waits until count reaches total, looking every 100 µs, and
// returns the count when it was first above zero and that moment (total
// and now if it got there in one go); it fails b when ctx ends first.
func follow(b *testing.B, ctx context.Context, total int64, count func() int64) (int64, mark) {
	var n0 int64
	var first mark
	for n := count(); n < total; n = count() {
		if ctx.Err() != nil {
			b.Fatalf("handled %d of %d", n, total)
		}
		if n0 == 0 && n > 0 {
			n0, first = n, now()
		}
		time.Sleep(100 * time.Microsecond)
	}
	if n0 == 0 {
		n0, first = total, now()
	}
	return n0, first
}

// raw reads the topic with a new group and discards every record.
func (s *setup) raw(b *testing.B, group string) steady {
	cl, err := kgo.NewClient(kgo.SeedBrokers(s.brokers...), kgo.ConsumerGroup(group), kgo.ConsumeTopics("predictions"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit())
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	n, n0 := 0, 0
	var first mark
	for n < s.records {
		fs := cl.PollRecords(ctx, 10_000)
		if ctx.Err() != nil {
			b.Fatalf("raw consumer read %d of %d", n, s.records)
		}
		if n += fs.NumRecords(); n0 == 0 && n > 0 {
			n0, first = n, now()
		}
	}
	return first.since(float64(s.records-n0) * Events / float64(s.records))
}

// serve runs the service with a new group until it has handled every event.
// Its checkpoints go to a fresh directory (their cost is
// BenchmarkCheckpointCost's), and its Close — the last checkpoint — is not
// timed: this measures consuming.
func (s *setup) serve(b *testing.B, group, format string) steady {
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
	n0, first := follow(b, ctx, Events, svc.Processed)
	st := first.since(float64(Events - n0))
	svc.Evaluate()
	if ev, _ := svc.Latest("m", "v1"); ev.Events != Events {
		b.Fatalf("window holds %v events, want %d", ev.Events, Events)
	}
	return st
}

// groups numbers the consumer groups: every run reads the topic anew.
var groups int

// run measures f as sub-benchmark name, each iteration with a new group,
// and reports events/s, and over the steady parts events/s, the cores the
// process kept busy and its CPU time per event. f gets the sub-benchmark's b:
// its StopTimer is what keeps the service's Close out of the measurement
// (the parent's did nothing, so until 2026-11-23 every serve run also
// timed its final checkpoint).
func run(b *testing.B, name string, f func(b *testing.B, group string) steady) {
	b.Run(name, func(b *testing.B) {
		var st steady
		for b.Loop() {
			groups++
			s := f(b, "bench-"+strconv.Itoa(groups))
			st.events += s.events
			st.d += s.d
			st.cpu += s.cpu
		}
		b.ReportMetric(float64(Events)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
		b.ReportMetric(st.events/st.d.Seconds(), "steady-events/s")
		b.ReportMetric(st.cpu.Seconds()/st.d.Seconds(), "steady-cores")
		b.ReportMetric(float64(st.cpu.Nanoseconds())/st.events, "steady-cpu-ns/event")
	})
}

// BenchmarkStream compares, per format, the service with a raw consumer
// reading the same topic (the same events, as JSON messages of one event
// or Arrow messages of arrowPerMessage events).
func BenchmarkStream(b *testing.B) {
	b.Run("json", func(b *testing.B) {
		s := start(b, jsonEvents(Events))
		run(b, "raw", func(b *testing.B, g string) steady { return s.raw(b, g) })
		run(b, "serve", func(b *testing.B, g string) steady { return s.serve(b, g, "json") })
	})
	b.Run("arrow", func(b *testing.B) {
		s := start(b, arrowEvents(b, Events))
		run(b, "raw", func(b *testing.B, g string) steady { return s.raw(b, g) })
		run(b, "serve", func(b *testing.B, g string) steady { return s.serve(b, g, "arrow") })
	})
}
