package stream

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"driftwatch/config"
	"driftwatch/join"
	"driftwatch/monitor"
	"driftwatch/profile"
	"driftwatch/service"
)

// BenchmarkMemory starts the service with 100 models × 20 features on the
// default window (1 h of 1 min panes) and reports the heap and resident
// memory it holds against the formula for the window state:
//
//	go test -run '^$' -bench Memory -benchtime 1x ./bench/stream/
//
// Window state per model version = panes × (220 + Σ numeric (fine bins + 4)
// + Σ categorical (categories + MaxUnseen + 4)) × 8 bytes: per pane 220
// counters of volume, output and quality (events, joined, correct, absolute
// and squared error, scored, confident, confusion, 200 score-histogram and
// 10 calibration counters), per numeric feature its bins plus null,
// missing, invalid and out-of-range counters, per categorical one its
// categories, monitor.MaxUnseen unseen slots, an overflow, and null,
// missing and invalid counters. The join adds about join-bytes/entry ×
// max_pending per model at most (measured below).
func BenchmarkMemory(b *testing.B) {
	const models = 100
	s := start(b, nil)
	prof, err := profile.Load(s.dir + "/p.dwprof")
	if err != nil {
		b.Fatal(err)
	}
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "kafka: {brokers: [%q]}\nmodels:\n", s.brokers[0])
	for i := range models {
		fmt.Fprintf(&cfg, "  - {name: m%d, task: classification, versions: [{name: v1, reference: p.dwprof}]}\n", i)
	}
	c, err := config.Parse([]byte(cfg.String()))
	if err != nil {
		b.Fatal(err)
	}
	c.Dir = s.dir
	panes := int(c.Models[0].Window.Length / c.Models[0].Window.Pane)
	width := 220
	for _, f := range prof.Features {
		if f.Kind == profile.Numeric {
			width += len(f.FineCounts) + 4
		} else {
			width += len(f.Categories) + monitor.MaxUnseen + 4
		}
	}
	formula := float64(models*panes*width*8) / (1 << 20)
	if v, err := monitor.NewWindow(prof, c.Models[0].Window.Length, c.Models[0].Window.Pane, 0); err != nil || v.PaneCounters() != width {
		b.Fatalf("the formula's %d counters per pane are not the monitor's (%v)", width, err)
	}

	for b.Loop() {
		before := heapInuse()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		svc, err := service.Start(ctx, service.Options{Config: c, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			b.Fatal(err)
		}
		held := heapInuse() - before
		b.ReportMetric(held, "MiB-heap")
		b.ReportMetric(formula, "MiB-formula")
		b.ReportMetric(rssMiB(), "MiB-rss-process")
		svc.Close(context.Background())
		cancel()
	}

	// The join: bytes per pending prediction.
	before := heapInuse()
	j := join.New(1_000_000, time.Hour, 0, time.Minute)
	now := time.Now()
	const n = 200_000
	for i := range n {
		j.AddPrediction("pred-"+strconv.Itoa(100000000+i), join.Prediction{Version: "v1", TS: int64(i), Class: "1"}, now)
	}
	b.ReportMetric((heapInuse()-before)*(1<<20)/n, "join-bytes/entry")
	runtime.KeepAlive(j)
	b.Logf("%d models × %d features, %d panes of %d counters: formula %.1f MiB", models, len(prof.Features), panes, width, formula)
}

func heapInuse() float64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return float64(m.HeapInuse) / (1 << 20)
}

func rssMiB() float64 {
	b, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}
