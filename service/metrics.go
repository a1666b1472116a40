package service

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	rtmetrics "runtime/metrics"
	"strconv"
	"strings"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"driftwatch/events"
	"driftwatch/monitor"
	"driftwatch/stats"
)

// metricHelp is the help text and type of every metric family the service
// exposes: VictoriaMetrics/metrics writes HELP lines without text, which
// `promtool check metrics` rejects, so the exposition adds them here.
var metricHelp = map[string][2]string{
	"driftwatch_events_total":                       {"counter", "Messages consumed, by topic and result (ok or a dead-letter reason)."},
	"driftwatch_dead_letters_total":                 {"counter", "Messages sent to the dead-letter topic, by reason."},
	"driftwatch_dead_letters_refused_total":         {"counter", "Dead letters the broker refused for good even cut short; skipped so the partition moves on."},
	"driftwatch_late_events_total":                  {"counter", "Events older than their model's window, dropped."},
	"driftwatch_ignored_columns_total":              {"counter", "Events of the model version that came in Arrow messages with a column its profile does not know (ignored), by column."},
	"driftwatch_build_info":                         {"gauge", "1, labelled with the binning kernel this build runs on this CPU (avx512, avx2 or purego)."},
	"driftwatch_checkpoint_duration_seconds":        {"histogram", "Time to save one partition's checkpoint to its store."},
	"driftwatch_checkpoint_encode_seconds":          {"histogram", "Time to encode one partition's checkpoint (the partition's workers wait meanwhile)."},
	"driftwatch_checkpoint_restore_seconds":         {"histogram", "Time to load and decode one partition's checkpoint on assignment."},
	"driftwatch_checkpoint_bytes":                   {"gauge", "Size of the partition's last checkpoint."},
	"driftwatch_checkpoints_total":                  {"counter", "Checkpoints saved."},
	"driftwatch_checkpoint_errors_total":            {"counter", "Checkpoints that could not be saved (retried at the next interval)."},
	"driftwatch_checkpoint_restore_errors_total":    {"counter", "Checkpoint generations that could not be decoded on restore; the previous generation was restored instead, or, without one, the partition started empty at its committed offset."},
	"driftwatch_window_events":                      {"gauge", "Events in the model version's current window."},
	"driftwatch_feature_psi":                        {"gauge", "Population stability index of the feature's window against the reference."},
	"driftwatch_feature_ks":                         {"gauge", "Kolmogorov-Smirnov statistic of the feature's window from fine bins (lower bound)."},
	"driftwatch_feature_wasserstein":                {"gauge", "Wasserstein-1 distance of the feature's window from fine bins, in feature units."},
	"driftwatch_feature_jensen_shannon":             {"gauge", "Jensen-Shannon distance (base 2) of the feature's window on the PSI bins."},
	"driftwatch_feature_null_rate":                  {"gauge", "Share of events in the window with the feature null or missing."},
	"driftwatch_evaluation_duration_seconds":        {"gauge", "Duration of the last evaluation of all models."},
	"driftwatch_model_accuracy":                     {"gauge", "Accuracy over the outcomes joined to the window's predictions."},
	"driftwatch_model_mae":                          {"gauge", "Mean absolute error over the outcomes joined to the window's predictions."},
	"driftwatch_model_rmse":                         {"gauge", "Root mean squared error over the outcomes joined to the window's predictions."},
	"driftwatch_consumer_lag_messages":              {"gauge", "Messages of the topic waiting on the partitions this instance owns: log end minus the offset after the last record processed (sum over instances for the group)."},
	"driftwatch_partition_stalled":                  {"gauge", "1 while the partition has records waiting and none was processed for longer than stall_timeout, else 0."},
	"driftwatch_join_pending":                       {"gauge", "Predictions waiting for their outcome."},
	"driftwatch_join_evicted":                       {"gauge", "Predictions and early outcomes dropped from the join by its count or age bounds since start."},
	"driftwatch_feature_missing_rate":               {"gauge", "Share of events in the window without the feature's field."},
	"driftwatch_feature_invalid_rate":               {"gauge", "Share of events in the window whose feature had the wrong type."},
	"driftwatch_feature_out_of_range_rate":          {"gauge", "Share of the numeric feature's values in the window outside the reference's [min, max]."},
	"driftwatch_feature_unseen_share":               {"gauge", "Share of the categorical feature's values in the window that the reference never saw."},
	"driftwatch_feature_drift":                      {"gauge", "1 when the feature's PSI is at or above its threshold over at least min_samples values, else 0."},
	"driftwatch_model_events_total":                 {"counter", "Prediction events added to the model version's window (volume)."},
	"driftwatch_model_last_event_timestamp_seconds": {"gauge", "Wall-clock time the model version last received an event (no-data detection)."},
	"driftwatch_model_high_confidence_share":        {"gauge", "Share of scored predictions in the window at or above the model's high_confidence."},
	"driftwatch_model_f1":                           {"gauge", "F1 of the positive class over the outcomes joined to the window's predictions."},
	"driftwatch_model_auc":                          {"gauge", "ROC AUC of the scores over the outcomes joined to the window's predictions (100 score bins)."},
	"driftwatch_model_ece":                          {"gauge", "Expected calibration error (10 bins) over the outcomes joined to the window's predictions."},
	"driftwatch_alerts":                             {"gauge", "Alerts by state (pending, firing)."},
	"driftwatch_notifications_total":                {"counter", "Alert notifications by notifier and outcome (sent, retried, failed, dropped)."},
	"driftwatch_feature_values":                     {"gauge", "Non-null values of the feature in the window (the sample size behind its statistics)."},
	"driftwatch_window_outcomes":                    {"gauge", "Outcomes joined to the window's predictions (the sample size behind the quality metrics)."},
	"driftwatch_rollout_decision":                   {"gauge", "1 for the rollout's current decision (promote, rollback, continue), else 0; a promote or rollback stands once reached."},
	"driftwatch_rollout_metric":                     {"gauge", "A rollout criterion's metric on one arm, over the rollout so far."},
	"driftwatch_rollout_limit":                      {"gauge", "The value a rollout criterion's metric must reach (or stay within) on the candidate, given stable's."},
	"driftwatch_rollout_p_fail":                     {"gauge", "Anytime-valid p-value that the rollout criterion holds (small: it is violated)."},
	"driftwatch_rollout_p_pass":                     {"gauge", "Anytime-valid p-value that the rollout criterion is violated (small: it holds)."},
	"driftwatch_rollout_observed_seconds":           {"gauge", "Event time the rollout has run so far."},
	"driftwatch_rollout_events":                     {"gauge", "Predictions of the version counted in the rollout so far."},
	"driftwatch_rollout_outcomes":                   {"gauge", "Outcomes joined to the version's predictions in the rollout so far."},
	"driftwatch_rollout_shadow_agreement":           {"gauge", "Share of paired shadow and stable predictions with the same class."},
	"driftwatch_rollout_shadow_mean_abs_diff":       {"gauge", "Mean absolute score difference of paired shadow and stable predictions."},
	"driftwatch_flag_changes_total":                 {"counter", "Changes driftwatch made to the rollout's feature flag (or would have, in a dry run)."},
	"driftwatch_flag_errors_total":                  {"counter", "Failed attempts to read or change the rollout's feature flag (retried with backoff)."},
	"driftwatch_flag_up":                            {"gauge", "1 when the last attempt to read or change the rollout's feature flag succeeded, else 0."},
	"driftwatch_flag_rollout_percent":               {"gauge", "The rollout percentage of the rollout's feature flag, as last read."},
	"driftwatch_window_score_share":                 {"gauge", "Share of the window's scores below lt, the upper edge of one of the score's reference PSI bins (cumulative)."},
	"driftwatch_batch_duration_seconds":             {"histogram", "Time to handle one fetch of records from a partition: decode, bin, join."},
	"driftwatch_join_delay_seconds":                 {"histogram", "Time from a prediction's arrival to its outcome's (0 for outcomes that came first or carried their prediction)."},
	"go_goroutines":                                 {"gauge", "Goroutines that currently exist."},
	"go_memstats_heap_alloc_bytes":                  {"gauge", "Bytes of allocated heap objects."},
	"go_memstats_sys_bytes":                         {"gauge", "Bytes of memory mapped by the Go runtime."},
	"go_memstats_next_gc_bytes":                     {"gauge", "Heap size target of the next garbage collection."},
	"go_gc_cycles_total":                            {"counter", "Completed garbage collection cycles."},
	"go_gc_cpu_seconds_total":                       {"counter", "Estimated CPU time spent in garbage collection."},
}

// batchBuckets are the upper bounds of driftwatch_batch_duration_seconds.
var batchBuckets = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5}

// joinBuckets are the upper bounds of driftwatch_join_delay_seconds: labels
// arrive seconds to weeks after their predictions.
// ckptBuckets are the upper bounds of the checkpoint and restore durations.
var ckptBuckets = []float64{0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30}

var joinBuckets = []float64{0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 86400, 7 * 86400}

// initMetrics creates the series that must exist before anything happens
// (a counter that is 0 is a fact, a missing one is "No data") and the Go
// runtime gauges, read from runtime/metrics at scrape time.
func initMetrics(set *metrics.Set) {
	set.GetOrCreateCounter("driftwatch_late_events_total")
	set.GetOrCreateCounter("driftwatch_dead_letters_refused_total")
	set.GetOrCreateCounter("driftwatch_checkpoints_total")
	set.GetOrCreateCounter("driftwatch_checkpoint_errors_total")
	set.GetOrCreateCounter("driftwatch_checkpoint_restore_errors_total")
	// Which binning kernel this build runs on this CPU (stats.ActiveKernel).
	set.GetOrCreateGauge(fmt.Sprintf(`driftwatch_build_info{kernel=%q}`, stats.ActiveKernel()), nil).Set(1)
	for _, r := range []events.Reason{events.ReasonMalformed, events.ReasonWrongType, events.ReasonMissingID,
		events.ReasonMissingModel, events.ReasonMissingField, events.ReasonBadTimestamp, events.ReasonOversize, events.ReasonUnknownModel} {
		set.GetOrCreateCounter(fmt.Sprintf(`driftwatch_dead_letters_total{reason=%q}`, r))
	}
	for name, sample := range map[string]string{
		"go_goroutines":                "/sched/goroutines:goroutines",
		"go_memstats_heap_alloc_bytes": "/memory/classes/heap/objects:bytes",
		"go_memstats_sys_bytes":        "/memory/classes/total:bytes",
		"go_memstats_next_gc_bytes":    "/gc/heap/goal:bytes",
		"go_gc_cycles_total":           "/gc/cycles/total:gc-cycles",
		"go_gc_cpu_seconds_total":      "/cpu/classes/gc/total:cpu-seconds",
	} {
		set.GetOrCreateGauge(name, func() float64 {
			s := []rtmetrics.Sample{{Name: sample}}
			rtmetrics.Read(s)
			switch s[0].Value.Kind() {
			case rtmetrics.KindUint64:
				return float64(s[0].Value.Uint64())
			case rtmetrics.KindFloat64:
				return s[0].Value.Float64()
			}
			return 0
		})
	}
}

// observeBatch records how long handling a fetch took since start.
func (s *Service) observeBatch(topic string, start time.Time) {
	s.metrics.GetOrCreatePrometheusHistogramExt(fmt.Sprintf(`driftwatch_batch_duration_seconds{topic=%q}`, topic), batchBuckets).
		Update(s.opt.Now().Sub(start).Seconds())
}

// setScoreShares exports the window's score distribution as cumulative
// shares below the upper edges of the reference's PSI bins (bin i is
// [e(i−1), e(i))). The label is lt, not le: promtool reserves le for
// histograms; a dashboard renames it for Grafana's heatmap.
func setScoreShares(set *metrics.Set, lbl string, f *monitor.FeatureStats) {
	var n float64
	for _, c := range f.Current {
		n += c
	}
	if n == 0 || len(f.Current) != len(f.Edges)+1 {
		return
	}
	var cum float64
	for i, c := range f.Current {
		cum += c
		lt := "+Inf"
		if i < len(f.Edges) {
			lt = strconv.FormatFloat(f.Edges[i], 'g', -1, 64)
		}
		// Repeated edges (ties) name one gauge; the last, largest share is
		// the share below that edge.
		set.GetOrCreateGauge(fmt.Sprintf(`driftwatch_window_score_share{%s,lt=%q}`, lbl, lt), nil).Set(cum / n)
	}
}

// writeMetrics writes the set in Prometheus text format with HELP and TYPE
// lines before each family.
func writeMetrics(w io.Writer, set *metrics.Set) {
	var buf bytes.Buffer
	set.WritePrometheus(&buf)
	out := bufio.NewWriter(w)
	seen := map[string]bool{}
	for _, line := range strings.SplitAfter(buf.String(), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name := line
		if i := strings.IndexAny(line, "{ "); i >= 0 {
			name = line[:i]
		}
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if base, ok := strings.CutSuffix(name, suffix); ok && metricHelp[base][0] == "histogram" {
				name = base // a histogram's series are one family
			}
		}
		if !seen[name] {
			seen[name] = true
			if h, ok := metricHelp[name]; ok {
				out.WriteString("# HELP " + name + " " + h[1] + "\n# TYPE " + name + " " + h[0] + "\n")
			}
		}
		out.WriteString(line)
	}
	out.Flush()
}
