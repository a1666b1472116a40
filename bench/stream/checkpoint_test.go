package stream

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"driftwatch/config"
	"driftwatch/service"
)

// ckptEvents is the topic of BenchmarkCheckpointCost: more than a run
// consumes in its 23 s, so that every span measures a busy service.
const ckptEvents = 12_000_000

// bigTopic fills the predictions topic with n JSON events like
// jsonEvents' (20 features), with event times spread over an hour so that
// every pane of the default window holds data from the first second on.
// The feature part of each message is one of 1024 precomputed ones and the
// batches are zstd-compressed: the broker holds the topic in memory, and
// this keeps it to a fraction of the 330 bytes an event takes
// uncompressed. Every message is still decoded and binned in full. Two
// producers compress in parallel.
func bigTopic(b *testing.B, n int) *setup {
	b.Helper()
	s := start(b, nil)
	var tails [][]byte
	for _, m := range jsonEvents(1024) {
		i := bytes.Index(m, []byte(`"features"`))
		tails = append(tails, m[i:])
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	base := time.Now().Add(-70 * time.Minute).UnixMilli()
	var failed atomic.Pointer[error]
	var wg sync.WaitGroup
	for p := range 2 {
		cl, err := kgo.NewClient(kgo.SeedBrokers(s.brokers...), kgo.DefaultProduceTopic("predictions"),
			kgo.ProducerBatchCompression(kgo.ZstdCompression().WithLevel(1)), kgo.ProducerLinger(10*time.Millisecond),
			kgo.MaxBufferedRecords(100_000))
		if err != nil {
			b.Fatal(err)
		}
		defer cl.Close()
		wg.Go(func() {
			r := rand.New(rand.NewPCG(5, uint64(p)))
			for i := p; i < n; i += 2 {
				v := fmt.Appendf(make([]byte, 0, 400), `{"id":"p%d","model":"m","version":"v1","ts":%d,`, i, base+r.Int64N(59*60_000))
				v = append(v, tails[r.IntN(len(tails))]...)
				cl.Produce(ctx, &kgo.Record{Key: []byte(strconv.Itoa(i % 64)), Value: v}, func(_ *kgo.Record, err error) {
					if err != nil {
						failed.CompareAndSwap(nil, &err)
					}
				})
			}
			if err := cl.Flush(ctx); err != nil {
				failed.CompareAndSwap(nil, &err)
			}
		})
	}
	wg.Wait()
	if err := failed.Load(); err != nil {
		b.Fatal(*err)
	}
	s.records = n
	return s
}

// ckptMode is one configuration of a BenchmarkCheckpointCost run.
type ckptMode struct {
	name     string
	store    string // "", "dir" or "topic"
	pending  int    // join.max_pending; 0 keeps the default
	interval time.Duration
	// The measured span: from..to after Start, so that it holds whole
	// checkpoint intervals (the ticker starts in Start) and leaves out
	// the group join.
	from, to time.Duration
}

// ckptResult is what one run measured over its span.
type ckptResult struct {
	eventsPerSec float64
	cpuPerEvent  float64 // process CPU seconds (user + system) per event
	checkpoints  float64 // saved in the span
	encode, save float64 // seconds spent in the span
	bytes        float64 // the partitions' last checkpoints, summed
}

// runCkpt runs the service with a new group (and a new checkpoint store)
// and measures its throughput over the mode's span.
func (s *setup) runCkpt(b *testing.B, run int, m ckptMode) ckptResult {
	b.Helper()
	group := fmt.Sprintf("ckpt-%d", run)
	store := ""
	switch m.store {
	case "dir":
		store = fmt.Sprintf(", dir: %q", b.TempDir())
	case "topic":
		store = fmt.Sprintf(", topic: %q", group)
	}
	cfg, err := config.Parse(fmt.Appendf(nil, `
kafka: {brokers: [%q], group: %q}
checkpoint: {interval: %s%s}
join: {max_pending: %d}
defaults: {window: {length: 1h, pane: 1m, lateness: 1h}}
models: [{name: m, task: classification, versions: [{name: v1, reference: p.dwprof}], evaluate_every: 1h}]
`, s.brokers[0], group, m.interval, cmp.Or(store, ", topic: unused"), cmp.Or(m.pending, config.Default().Join.MaxPending)))
	if err != nil {
		b.Fatal(err)
	}
	if m.store == "" {
		// Off: the service then commits offsets at the interval and saves
		// no state (validation asks for a store; Start does not).
		cfg.Checkpoint.Topic = ""
	}
	cfg.Dir = s.dir
	runtime.GC() // the previous run's heap is not this run's work
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	svc, err := service.Start(ctx, service.Options{Config: cfg, HTTPAddr: "127.0.0.1:0", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	started := time.Now()
	at := func(d time.Duration) (int64, time.Time, float64, map[string]float64) {
		time.Sleep(time.Until(started.Add(d)))
		n, t, cpu := svc.Processed(), time.Now(), cpuSeconds()
		return n, t, cpu, scrape(b, "http://"+svc.HTTPAddr()+"/metrics")
	}
	n0, t0, cpu0, m0 := at(m.from)
	n1, t1, cpu1, m1 := at(m.to)
	svc.Kill() // Close would save a last checkpoint of the full state: seconds, outside the span
	if n0 == 0 || n1 >= int64(s.records) {
		b.Fatalf("%s: %d events handled at the start of the span, %d of %d at its end: the span must see a busy service", m.name, n0, n1, s.records)
	}
	if m.store != "" && m1["driftwatch_checkpoints_total"] == m0["driftwatch_checkpoints_total"] {
		b.Fatalf("%s: no checkpoint completed in the span", m.name)
	}
	if m.store == "topic" {
		cl, err := kgo.NewClient(kgo.SeedBrokers(s.brokers...))
		if err == nil {
			kadm.NewClient(cl).DeleteTopics(context.Background(), group) // the broker holds it in memory
			cl.Close()
		}
	}
	d := func(name string) float64 { return m1[name] - m0[name] }
	return ckptResult{eventsPerSec: float64(n1-n0) / t1.Sub(t0).Seconds(), cpuPerEvent: (cpu1 - cpu0) / float64(n1-n0), checkpoints: d("driftwatch_checkpoints_total"),
		encode: d("driftwatch_checkpoint_encode_seconds_sum"), save: d("driftwatch_checkpoint_duration_seconds_sum"),
		bytes: m1["driftwatch_checkpoint_bytes"]}
}

// cpuSeconds is the CPU time the process (service and broker) has used.
// It depends less than throughput on what else the machine runs, though
// shared caches and the host's load still show in it.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return math.NaN()
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// loadavg is the machine's 1-minute load average.
func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return "?"
	}
	return f[0]
}

// scrape sums every series of each metric name on a /metrics page.
func scrape(b *testing.B, url string) map[string]float64 {
	b.Helper()
	resp, err := http.Get(url)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.Fatal(err)
	}
	out := map[string]float64{}
	for line := range strings.Lines(string(body)) {
		if strings.HasPrefix(line, "#") {
			continue
		}
		name, rest, ok := strings.Cut(line, " ")
		if i := strings.IndexByte(line, '{'); i >= 0 && i < len(name) {
			name, rest, ok = line[:i], line[strings.LastIndexByte(line, '}')+1:], true
		}
		if x, err := strconv.ParseFloat(strings.TrimSpace(rest), 64); ok && err == nil {
			out[name] += x
		}
	}
	return out
}

// BenchmarkCheckpointCost measures the service's end-to-end throughput
// (JSON, one model of 20 features, 3 partitions, predictions only: the
// load of BenchmarkStream) with checkpoints off, to a state directory and
// to a compacted topic, at the default 10 s interval and at 1 s:
//
//	go test -run '^$' -bench CheckpointCost -benchtime 1x -timeout 20m ./bench/stream/
//
// Each run is a new group reading the same topic from its start. It is
// measured over a span of whole intervals while the service is busy,
// starting 3 s after Start (where the ticker starts): 20 s, holding 2
// checkpoint rounds at 10 s, or 5 s holding 5 rounds at 1 s. Every pane of
// the hour's window holds events from the first second on. No outcomes
// arrive, so with the default join.max_pending (pending=1M) the join
// holds up to 1,000,000 predictions per partition, reached about 10 s in,
// and they make most of each checkpoint; pending=10k sets max_pending to
// 10,000, the state of a model whose outcomes arrive soon (10 s spans,
// one round each: its checkpoints take milliseconds). After a short
// warm-up run the runs interleave, off, dir, topic, topic, dir, off (a drift of the
// machine's speed cancels out of the medians of two), then for pending=1M
// the 1 s ones. Reported: events/s per mode (median of its runs); each mode's
// throughput ratio to checkpoints off; its ratio of process CPU time per
// event (the broker included), which depends less than throughput on
// what else a shared machine runs; and per checkpoint its size and the
// time spent encoding it (the partition's workers wait meanwhile) and
// saving it.
func BenchmarkCheckpointCost(b *testing.B) {
	s := bigTopic(b, ckptEvents)
	span := func(interval, from, to time.Duration) func(name, store string, pending int) ckptMode {
		return func(name, store string, pending int) ckptMode {
			return ckptMode{name, store, pending, interval, from, to}
		}
	}
	long := span(10*time.Second, 3*time.Second, 23*time.Second)
	one := span(10*time.Second, 3*time.Second, 13*time.Second)
	short := span(time.Second, 3500*time.Millisecond, 8500*time.Millisecond)
	run := 0
	bench := func(b *testing.B, schedule []ckptMode) {
		for b.Loop() {
			// The first run of a configuration measured slower than its
			// repetitions: a short one, left out, goes first.
			warm := schedule[0]
			warm.name, warm.from, warm.to = "warm-up", 3*time.Second, 8*time.Second
			run++
			s.runCkpt(b, run, warm)
			// One line per run on stdout as it ends: benchmark logs are cut
			// at 10 lines.
			fmt.Printf("%s: load average %s at the start\n", b.Name(), loadavg())
			results := map[string][]ckptResult{}
			for _, m := range schedule {
				run++
				r := s.runCkpt(b, run, m)
				results[m.name] = append(results[m.name], r)
				perCkpt := func(x float64) float64 { return x / max(r.checkpoints, 1) * 1e3 }
				fmt.Printf("%s: %-8s %7.0f events/s, %.2f µs CPU/event over %s; %2.0f checkpoints (last ones %5.1f MB together), per checkpoint: encode %6.1f ms, save %6.1f ms\n",
					b.Name(), m.name, r.eventsPerSec, r.cpuPerEvent*1e6, m.to-m.from, r.checkpoints, r.bytes/1e6, perCkpt(r.encode), perCkpt(r.save))
			}
			fmt.Printf("%s: load average %s at the end\n", b.Name(), loadavg())
			median := func(name string, f func(ckptResult) float64) float64 {
				var x []float64
				for _, r := range results[name] {
					x = append(x, f(r))
				}
				slices.Sort(x)
				return (x[(len(x)-1)/2] + x[len(x)/2]) / 2
			}
			speed := func(r ckptResult) float64 { return r.eventsPerSec }
			cpu := func(r ckptResult) float64 { return r.cpuPerEvent }
			for _, name := range []string{"off", "dir", "topic"} {
				b.ReportMetric(median(name, speed), name+"-events/s")
			}
			for _, p := range [][2]string{{"dir", "off"}, {"topic", "off"}, {"dir-1s", "off-1s"}, {"topic-1s", "off-1s"}} {
				if results[p[0]] != nil {
					b.ReportMetric(median(p[0], speed)/median(p[1], speed), p[0]+"/"+p[1])
					b.ReportMetric(median(p[0], cpu)/median(p[1], cpu), p[0]+"/"+p[1]+"-cpu")
				}
			}
			for _, name := range []string{"dir", "topic"} {
				b.ReportMetric(median(name, func(r ckptResult) float64 { return r.save / r.checkpoints * 1e3 }), name+"-save-ms")
			}
			b.ReportMetric(median("topic", func(r ckptResult) float64 { return r.encode / r.checkpoints * 1e3 }), "encode-ms")
			b.ReportMetric(median("topic", func(r ckptResult) float64 { return r.bytes / 3 / 1e6 }), "MB/ckpt")
		}
	}
	b.Run("pending=1M", func(b *testing.B) {
		bench(b, []ckptMode{long("off", "", 0), long("dir", "dir", 0), long("topic", "topic", 0),
			long("topic", "topic", 0), long("dir", "dir", 0), long("off", "", 0),
			short("off-1s", "", 0), short("dir-1s", "dir", 0), short("topic-1s", "topic", 0)})
	})
	b.Run("pending=10k", func(b *testing.B) {
		bench(b, []ckptMode{one("off", "", 10_000), one("dir", "dir", 10_000), one("topic", "topic", 10_000),
			one("topic", "topic", 10_000), one("dir", "dir", 10_000), one("off", "", 10_000)})
	})
}
