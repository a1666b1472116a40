package service

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"driftwatch/consumer"
	"driftwatch/metrics"
)

// progressTimeout bounds the broker round trip (listing log end offsets)
// behind a scrape, a readiness probe or an evaluation's lag.
const progressTimeout = 2 * time.Second

// stall is a partition with records waiting and none processed for longer
// than stall_timeout.
type stall struct {
	consumer.Progress
	For time.Duration
}

func (st stall) String() string {
	return fmt.Sprintf("partition %s/%d stalled: %d records waiting at offset %d, none processed for %s",
		st.Topic, st.Partition, st.Lag, st.Next, st.For.Round(time.Millisecond))
}

// observeProgress measures the owned partitions' lag from the offsets the
// handlers finished (consumer.Lag), sets driftwatch_consumer_lag_messages
// and driftwatch_partition_stalled, and returns the lag per topic and the
// stalled partitions. It takes no partition lock, so a handler stuck
// behind a dead letter cannot block it.
func (s *Service) observeProgress() (map[string]int64, []stall) {
	if s.cons == nil {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), progressTimeout)
	lag, err := s.cons.Lag(ctx)
	cancel()
	if err != nil {
		s.log.Warn("service: consumer lag", "err", err)
	}
	for topic, n := range lag {
		s.metrics.ConsumerLagMessages.Gauge(metrics.Labels("topic", topic)).Set(float64(n))
	}
	now := s.opt.Now()
	var stalls []stall
	s.stallMu.Lock()
	defer s.stallMu.Unlock()
	seen := map[string]bool{}
	for _, p := range s.cons.Progress() {
		name := metrics.Labels("topic", p.Topic, "partition", strconv.Itoa(int(p.Partition)))
		seen[name] = true
		v := 0.0
		if d := now.Sub(p.Since); p.Lag > 0 && d > s.cfg.StallTimeout {
			stalls = append(stalls, stall{Progress: p, For: d})
			v = 1
		}
		s.metrics.PartitionStalled.Gauge(name).Set(v)
	}
	// Partitions that left this member are no longer its to report.
	for name := range s.stallGauges {
		if !seen[name] {
			s.metrics.PartitionStalled.Gauge(name).Set(0)
		}
	}
	s.stallGauges = seen
	return lag, stalls
}
