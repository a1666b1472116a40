package service

import (
	"bufio"
	"bytes"
	"io"
	"strings"

	"github.com/VictoriaMetrics/metrics"
)

// metricHelp is the help text and type of every metric family the service
// exposes: VictoriaMetrics/metrics writes HELP lines without text, which
// `promtool check metrics` rejects, so the exposition adds them here.
var metricHelp = map[string][2]string{
	"driftwatch_events_total":                       {"counter", "Messages consumed, by topic and result (ok or a dead-letter reason)."},
	"driftwatch_dead_letters_total":                 {"counter", "Messages sent to the dead-letter topic, by reason."},
	"driftwatch_late_events_total":                  {"counter", "Events older than their model's window, dropped."},
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
	"driftwatch_consumer_lag_messages":              {"gauge", "Messages in the topic not yet committed by the consumer group."},
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
