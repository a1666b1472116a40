package metrics

import (
	"sync"

	vm "github.com/VictoriaMetrics/metrics"

	"driftwatch/events"
)

// Topic holds the series a fetch of one input topic touches, each created
// on its first use and then kept, so a fetch formats no series name.
type Topic struct {
	m     *Metrics
	topic string

	batch, ok sync.Once
	batchH    *vm.PrometheusHistogram
	okC       *vm.Counter

	mu       sync.Mutex
	rejected map[events.Reason][2]*vm.Counter // events_total, dead_letters_total
}

// Topic returns the handles of an input topic.
func (m *Metrics) Topic(topic string) *Topic {
	return &Topic{m: m, topic: topic, rejected: map[events.Reason][2]*vm.Counter{}}
}

// Batch is the topic's driftwatch_batch_duration_seconds.
func (t *Topic) Batch() *vm.PrometheusHistogram {
	t.batch.Do(func() { t.batchH = t.m.BatchDurationSeconds.Histogram(Labels("topic", t.topic)) })
	return t.batchH
}

// OK counts the topic's messages handled.
func (t *Topic) OK() *vm.Counter {
	t.ok.Do(func() { t.okC = t.m.EventsTotal.Counter(Labels("topic", t.topic, "result", "ok")) })
	return t.okC
}

// Reject counts a message of the topic sent to the dead-letter topic.
func (t *Topic) Reject(reason events.Reason) {
	t.mu.Lock()
	c, ok := t.rejected[reason]
	if !ok {
		c = [2]*vm.Counter{t.m.EventsTotal.Counter(Labels("topic", t.topic, "result", string(reason))),
			t.m.DeadLettersTotal.Counter(Labels("reason", string(reason)))}
		t.rejected[reason] = c
	}
	t.mu.Unlock()
	c[0].Inc()
	c[1].Inc()
}
