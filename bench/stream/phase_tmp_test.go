package stream

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"driftwatch/bench/workload"
	"driftwatch/config"
	"driftwatch/service"
)

func cpu() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func TestPhasesTmp(t *testing.T) {
	for _, format := range []string{"arrow", "json"} {
		var msgs [][]byte
		if format == "json" {
			msgs = jsonEvents(Events)
		} else {
			msgs, _ = workload.Arrow(workload.Events(Events), arrowPerMessage)
		}
		s := start(&testing.B{}, msgs)
		for i := range 3 {
			c0 := cpu()
			t0 := time.Now()
			rawFirst := s.rawFirst(fmt.Sprint("raw", format, i))
			raw, rawCPU := time.Since(t0), cpu()-c0
			cfg, _ := config.Parse(fmt.Appendf(nil, `
kafka: {brokers: [%q], group: %q}
checkpoint: {dir: %q}
format: %s
defaults: {window: {length: 1h, pane: 1m, lateness: 1h}}
models: [{name: m, task: classification, versions: [{name: v1, reference: p.dwprof}], evaluate_every: 1h}]
`, s.brokers[0], fmt.Sprint("g", format, i), t.TempDir(), format))
			cfg.Dir = s.dir
			c0 = cpu()
			t0 = time.Now()
			svc, err := service.Start(context.Background(), service.Options{Config: cfg, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			if err != nil {
				t.Fatal(err)
			}
			st := time.Since(t0)
			for svc.Processed() == 0 {
				time.Sleep(100 * time.Microsecond)
			}
			first, firstCPU := time.Since(t0), cpu()-c0
			for svc.Processed() < Events {
				time.Sleep(100 * time.Microsecond)
			}
			last, lastCPU := time.Since(t0), cpu()-c0
			svc.Close(context.Background())
			t.Logf("%s raw first %v, all %v (cpu %v) | serve start %v first %v (cpu %v) last %v (cpu %v)", format, rawFirst, raw, rawCPU, st, first, firstCPU, last, lastCPU)
		}
	}
}

func (s *setup) rawFirst(group string) time.Duration {
	t0 := time.Now()
	cl, _ := kgo.NewClient(kgo.SeedBrokers(s.brokers...), kgo.ConsumerGroup(group), kgo.ConsumeTopics("predictions"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit())
	defer cl.Close()
	n := 0
	var first time.Duration
	for n < s.records {
		fs := cl.PollRecords(context.Background(), 10_000)
		if n == 0 {
			first = time.Since(t0)
		}
		n += fs.NumRecords()
	}
	return first
}

func TestBalanceTmp(t *testing.T) {
	var counts [3]int
	p := kgo.StickyKeyPartitioner(nil).ForTopic("predictions")
	for i := range Events {
		counts[p.Partition(&kgo.Record{Key: []byte(fmt.Sprint(i))}, 3)]++
	}
	t.Log(counts)
	counts = [3]int{}
	for i := range Events / 1000 {
		counts[p.Partition(&kgo.Record{Key: []byte(fmt.Sprint(i))}, 3)]++
	}
	t.Log(counts)
}
