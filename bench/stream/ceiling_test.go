package stream

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"driftwatch/consumer"
)

// BenchmarkCeiling bounds what any handler of a given cost can reach on
// this machine: package consumer (the service's consumer) with a handler
// that only spins for a fixed time per event, on BenchmarkStream's topics,
// against the raw consumer in the same run:
//
//	go test -run '^$' -bench Ceiling -benchtime 3x -count 3 ./bench/stream/
//
// The raw consumer and the broker take about a core between them; a
// handler's time per event, spread over the partitions' workers, competes
// with them for the rest.
func BenchmarkCeiling(b *testing.B) {
	for _, c := range []struct {
		format   string
		msgs     func() [][]byte
		perEvent []int // ns
	}{
		{"json", func() [][]byte { return jsonEvents(Events) }, []int{0, 250, 500, 1000, 1500}},
		{"arrow", func() [][]byte { return arrowEvents(b, Events) }, []int{0, 50, 100, 200, 300}},
	} {
		b.Run(c.format, func(b *testing.B) {
			s := start(b, c.msgs())
			run(b, "raw", func(b *testing.B, g string) steady { return s.raw(b, g) })
			for _, ns := range c.perEvent {
				run(b, "spin-"+strconv.Itoa(ns)+"ns", func(b *testing.B, g string) steady { return s.spin(b, g, time.Duration(ns)) })
			}
		})
	}
}

// spin consumes the topic with package consumer, spinning perEvent for
// each event.
func (s *setup) spin(b *testing.B, group string, perEvent time.Duration) steady {
	var n atomic.Int64
	c, err := consumer.New(consumer.Options{Brokers: s.brokers, Group: group, Topics: []string{"predictions", "outcomes"}},
		func(_ string, _ int32, recs []*kgo.Record) {
			for end := time.Now().Add(perEvent * time.Duration(len(recs)*Events/s.records)); time.Now().Before(end); {
			}
			n.Add(int64(len(recs)))
		})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	done := make(chan struct{})
	go func() { c.Run(ctx); close(done) }()
	defer func() {
		b.StopTimer()
		cancel()
		<-done
		c.Close()
		b.StartTimer()
	}()
	n0, first := follow(b, ctx, int64(s.records), n.Load)
	return first.since(float64(int64(s.records)-n0) * Events / float64(s.records))
}
