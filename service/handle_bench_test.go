package service

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"driftwatch/config"
	"driftwatch/internal/testutil/workload"
)

// BenchmarkHandle is the service's record handler alone — decode, window,
// join registration — on bench/stream's workload (20 features), in fetches
// of 500 records, into a partition that starts empty as after an
// assignment (so its join grows, as in BenchmarkStream). Kafka is not
// involved; this is the CPU the service adds to a raw consumer's.
//
//	go test -run '^$' -bench Handle ./service/
func BenchmarkHandle(b *testing.B) {
	const n = 100_000
	evs := workload.Events(n)
	dir := b.TempDir()
	if err := workload.WriteProfile(filepath.Join(dir, "p.dwprof")); err != nil {
		b.Fatal(err)
	}
	arrowMsgs, err := workload.Arrow(evs, 1000)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		format  string
		msgs    [][]byte
		perPoll int
	}{{"json", workload.JSON(evs), 500}, {"arrow", arrowMsgs, 1}} {
		b.Run(c.format, func(b *testing.B) {
			cfg, err := config.Parse(fmt.Appendf(nil, `
kafka: {embedded_addr: "127.0.0.1:0"}
format: %s
defaults: {window: {length: 1h, pane: 1m, lateness: 1h}}
models: [{name: m, task: classification, versions: [{name: v1, reference: p.dwprof}], evaluate_every: 1h}]
`, c.format))
			if err != nil {
				b.Fatal(err)
			}
			cfg.Dir = dir
			s, err := Start(context.Background(), Options{Config: cfg, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close(context.Background())
			var fetches [][]*kgo.Record
			for i := 0; i < len(c.msgs); i += c.perPoll {
				var f []*kgo.Record
				for k, m := range c.msgs[i:min(i+c.perPoll, len(c.msgs))] {
					f = append(f, &kgo.Record{Topic: "predictions", Partition: 99, Offset: int64(i + k), Value: m})
				}
				fetches = append(fetches, f)
			}
			const part = 99 // not a partition of the topic: the consumer never touches it
			for b.Loop() {
				b.StopTimer()
				p := s.newPartitionState(part)
				s.partMu.Lock()
				s.parts[part] = p
				s.partMu.Unlock()
				b.StartTimer()
				for _, f := range fetches {
					s.handle("predictions", part, f)
				}
			}
			p := s.owned(part)
			if got := p.joins[s.models["m"]].Stats().Pending; got != n {
				b.Fatalf("join holds %d predictions, want %d", got, n)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/event")
		})
	}
}
