package dashboards

import (
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

// Service is the health of the driftwatch processes: throughput, lag and
// stalled partitions, the time
// to handle a fetch, checkpoints, bad and late input, evaluation, alert
// delivery, memory and GC.
//
//lint:ignore SA1019 the classic dashboard JSON (v1) is what Grafana's dashboard import and file provisioning take; dashboardv2 emits the v2 spec for Grafana 12's app-platform API only
func Service() (dashboard.Dashboard, error) {
	d := newBoard("driftwatch-service", "driftwatch / Service health",
		"The driftwatch service itself: throughput, processing time, checkpoints, dead letters, late events, evaluation, alert delivery, memory and GC.", "now-1h")
	d.variable("instance", "Instance", "driftwatch_evaluation_duration_seconds", "instance", true)
	const in = `instance=~"$instance"`

	d.row("Throughput")
	d.add(d.series("Messages consumed", "Messages consumed per second by topic and result: ok, or the reason it went to the dead-letter topic.", "ops", 12, 8,
		q(`sum by (topic, result) (rate(driftwatch_events_total{`+in+`}[$__rate_interval]))`, "{{topic}} {{result}}")).Min(0))
	d.add(d.series("Consumer lag", "Messages in each input topic not yet processed: each instance's partitions, log end minus the offset after the last record processed, summed.", "short", 12, 8,
		q(`sum by (topic) (driftwatch_consumer_lag_messages{`+in+`})`, "{{topic}}")).Min(0))
	d.add(d.series("Stalled partitions", "1 while a partition has records waiting and none was processed for longer than stall_timeout (/readyz then answers 503 naming it); the PartitionStalled rule alerts on it.", "short", 24, 6,
		q(`max by (topic, partition) (driftwatch_partition_stalled{`+in+`})`, "{{topic}}/{{partition}}")).Min(0).Max(1))

	d.row("Processing time")
	d.add(d.series("Time to handle a fetch", "Time to handle one fetch of records from a partition (decode, bin, join), 50th and 99th percentile, by topic.", "s", 12, 8,
		q(`histogram_quantile(0.5, sum by (topic, le) (rate(driftwatch_batch_duration_seconds_bucket{`+in+`}[$__rate_interval])))`, "p50 {{topic}}"),
		q(`histogram_quantile(0.99, sum by (topic, le) (rate(driftwatch_batch_duration_seconds_bucket{`+in+`}[$__rate_interval])))`, "p99 {{topic}}")).Min(0))
	d.add(d.series("Evaluation duration", "Duration of the last evaluation of all models (statistics, alert rules, metrics).", "s", 12, 8,
		q(`driftwatch_evaluation_duration_seconds{`+in+`}`, "{{instance}}")).Min(0))

	d.row("Checkpoints")
	d.add(d.series("Checkpoint duration", "Time to save one partition's checkpoint to its store (the compacted topic or the state directory), and to encode it while the partition's workers wait; 50th and 99th percentile.", "s", 8, 8,
		q(`histogram_quantile(0.5, sum by (instance, le) (rate(driftwatch_checkpoint_duration_seconds_bucket{`+in+`}[$__rate_interval])))`, "save p50 {{instance}}"),
		q(`histogram_quantile(0.99, sum by (instance, le) (rate(driftwatch_checkpoint_duration_seconds_bucket{`+in+`}[$__rate_interval])))`, "save p99 {{instance}}"),
		q(`histogram_quantile(0.99, sum by (instance, le) (rate(driftwatch_checkpoint_encode_seconds_bucket{`+in+`}[$__rate_interval])))`, "encode p99 {{instance}}")).Min(0))
	// A member that lost a partition keeps its last gauge: the largest
	// value per partition is the current owner's, as states only grow to
	// a full window.
	d.add(d.series("Checkpoint size", "Size of each partition's last checkpoint (largest over instances: a former owner keeps its last value).", "bytes", 8, 8,
		q(`max by (partition) (driftwatch_checkpoint_bytes{`+in+`})`, "partition {{partition}}")).Min(0))
	d.add(d.series("Checkpoints and errors", "Checkpoints saved per second; checkpoints that could not be saved (retried at the next interval) and that could not be restored (the partition started empty at its committed offset).", "ops", 8, 8,
		q(`sum by (instance) (rate(driftwatch_checkpoints_total{`+in+`}[$__rate_interval]))`, "saved {{instance}}"),
		q(`sum by (instance) (rate(driftwatch_checkpoint_errors_total{`+in+`}[$__rate_interval]))`, "save errors {{instance}}"),
		q(`sum by (instance) (rate(driftwatch_checkpoint_restore_errors_total{`+in+`}[$__rate_interval]))`, "restore errors {{instance}}")).Min(0))

	d.row("Bad and late input")
	d.add(d.series("Dead letters", "Messages sent to the dead-letter topic per second, by reason.", "ops", 12, 8,
		q(`sum by (reason) (rate(driftwatch_dead_letters_total{`+in+`}[$__rate_interval]))`, "{{reason}}")).Min(0))
	d.add(d.series("Late events", "Events older than their model's window per second, dropped.", "ops", 12, 8,
		q(`sum by (instance) (rate(driftwatch_late_events_total{`+in+`}[$__rate_interval]))`, "{{instance}}")).Min(0))

	d.row("Alert delivery")
	d.add(d.series("Notifications", "Alert notifications per second by notifier and outcome (sent, retried, failed, dropped).", "ops", 12, 8,
		q(`sum by (notifier, outcome) (rate(driftwatch_notifications_total{`+in+`}[$__rate_interval]))`, "{{notifier}} {{outcome}}")).Min(0))
	d.add(d.series("Alerts", "Alerts of the service's rules by state.", "none", 12, 8,
		q(`sum by (state) (driftwatch_alerts{`+in+`})`, "{{state}}")).Min(0))

	d.row("Runtime")
	d.add(d.series("Memory", "Memory mapped by the Go runtime, the live heap, and the heap size at which the next GC starts.", "bytes", 8, 8,
		q(`go_memstats_sys_bytes{`+in+`}`, "runtime total {{instance}}"),
		q(`go_memstats_heap_alloc_bytes{`+in+`}`, "heap {{instance}}"),
		q(`go_memstats_next_gc_bytes{`+in+`}`, "GC goal {{instance}}")).Min(0))
	d.add(d.series("Garbage collection", "GC cycles per second, and the share of a CPU spent in GC (estimated by the Go runtime).", "short", 8, 8,
		q(`rate(go_gc_cycles_total{`+in+`}[$__rate_interval])`, "cycles/s {{instance}}"),
		q(`rate(go_gc_cpu_seconds_total{`+in+`}[$__rate_interval])`, "GC CPU {{instance}}")).Min(0))
	d.add(d.series("Goroutines", "Goroutines that currently exist.", "short", 8, 8,
		q(`go_goroutines{`+in+`}`, "{{instance}}")).Min(0))

	return d.b.Build()
}
