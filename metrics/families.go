package metrics

import (
	vm "github.com/VictoriaMetrics/metrics"

	"driftwatch/events"
	"driftwatch/stats"
)

// Metrics are the families of `driftwatch serve`, each declared once with
// its help text, and the series of the service as a whole as handles.
type Metrics struct {
	*Registry
	EventsTotal                    *Family
	DeadLettersTotal               *Family
	DeadLettersRefusedTotal        *Family
	LateEventsTotal                *Family
	IgnoredColumnsTotal            *Family
	CheckpointDurationSeconds      *Family
	CheckpointEncodeSeconds        *Family
	CheckpointRestoreSeconds       *Family
	CheckpointBytes                *Family
	CheckpointsTotal               *Family
	CheckpointErrorsTotal          *Family
	CheckpointRestoreErrorsTotal   *Family
	WindowEvents                   *Family
	FeaturePSI                     *Family
	FeatureKS                      *Family
	FeatureWasserstein             *Family
	FeatureJensenShannon           *Family
	FeatureNullRate                *Family
	EvaluationDurationSeconds      *Family
	ModelAccuracy                  *Family
	ModelMAE                       *Family
	ModelRMSE                      *Family
	ConsumerLagMessages            *Family
	PartitionStalled               *Family
	JoinPending                    *Family
	JoinEvicted                    *Family
	FeatureMissingRate             *Family
	FeatureInvalidRate             *Family
	FeatureOutOfRangeRate          *Family
	FeatureUnseenShare             *Family
	FeatureDrift                   *Family
	ModelEventsTotal               *Family
	ModelLastEventTimestampSeconds *Family
	ModelHighConfidenceShare       *Family
	ModelAUC                       *Family
	ModelF1                        *Family
	ModelECE                       *Family
	Alerts                         *Family
	NotificationsTotal             *Family
	FeatureValues                  *Family
	WindowOutcomes                 *Family
	RolloutDecision                *Family
	RolloutMetric                  *Family
	RolloutLimit                   *Family
	RolloutPFail                   *Family
	RolloutPPass                   *Family
	RolloutObservedSeconds         *Family
	RolloutEvents                  *Family
	RolloutOutcomes                *Family
	RolloutShadowAgreement         *Family
	RolloutShadowMeanAbsDiff       *Family
	WindowScoreShare               *Family
	BatchDurationSeconds           *Family
	JoinDelaySeconds               *Family
	FlagChangesTotal               *Family
	FlagErrorsTotal                *Family
	FlagUp                         *Family
	FlagRolloutPercent             *Family
	BuildInfo                      *Family

	// Handles of unlabelled series, created with the families.
	Late, DeadLettersRefused                         *vm.Counter
	Checkpoints, CheckpointFailures, RestoreFailures *vm.Counter
	CheckpointTime, EncodeTime, RestoreTime          *vm.PrometheusHistogram
}

// batchBuckets are the upper bounds of driftwatch_batch_duration_seconds.
var batchBuckets = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5}

// ckptBuckets are the upper bounds of the checkpoint and restore durations.
var ckptBuckets = []float64{0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30}

// joinBuckets are the upper bounds of driftwatch_join_delay_seconds: labels
// arrive seconds to weeks after their predictions.
var joinBuckets = []float64{0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 86400, 7 * 86400}

// New declares the families and creates the series that must exist before
// anything happens (a counter that is 0 is a fact, a missing one is "No
// data"): the service's counters and the dead letters of every reason.
func New() *Metrics {
	r := &Registry{}
	m := &Metrics{Registry: r,
		EventsTotal:                    r.add(&Family{Name: "driftwatch_events_total", Type: Counter, Help: "Messages consumed, by topic and result (ok or a dead-letter reason)."}),
		DeadLettersTotal:               r.add(&Family{Name: "driftwatch_dead_letters_total", Type: Counter, Help: "Messages sent to the dead-letter topic, by reason."}),
		DeadLettersRefusedTotal:        r.add(&Family{Name: "driftwatch_dead_letters_refused_total", Type: Counter, Help: "Dead letters the broker refused for good even cut short; skipped so the partition moves on."}),
		LateEventsTotal:                r.add(&Family{Name: "driftwatch_late_events_total", Type: Counter, Help: "Events older than their model's window, dropped."}),
		IgnoredColumnsTotal:            r.add(&Family{Name: "driftwatch_ignored_columns_total", Type: Counter, Help: "Events of the model version that came in Arrow messages with a column its profile does not know (ignored), by column."}),
		CheckpointDurationSeconds:      r.add(&Family{Name: "driftwatch_checkpoint_duration_seconds", Type: Histogram, Help: "Time to save one partition's checkpoint to its store.", Buckets: ckptBuckets}),
		CheckpointEncodeSeconds:        r.add(&Family{Name: "driftwatch_checkpoint_encode_seconds", Type: Histogram, Help: "Time to encode one partition's checkpoint (the partition's workers wait meanwhile).", Buckets: ckptBuckets}),
		CheckpointRestoreSeconds:       r.add(&Family{Name: "driftwatch_checkpoint_restore_seconds", Type: Histogram, Help: "Time to load and decode one partition's checkpoint on assignment.", Buckets: ckptBuckets}),
		CheckpointBytes:                r.add(&Family{Name: "driftwatch_checkpoint_bytes", Type: Gauge, Help: "Size of the partition's last checkpoint."}),
		CheckpointsTotal:               r.add(&Family{Name: "driftwatch_checkpoints_total", Type: Counter, Help: "Checkpoints saved."}),
		CheckpointErrorsTotal:          r.add(&Family{Name: "driftwatch_checkpoint_errors_total", Type: Counter, Help: "Checkpoints that could not be saved (retried at the next interval)."}),
		CheckpointRestoreErrorsTotal:   r.add(&Family{Name: "driftwatch_checkpoint_restore_errors_total", Type: Counter, Help: "Checkpoint generations that could not be decoded on restore; the previous generation was restored instead, or, without one, the partition started empty at its committed offset."}),
		WindowEvents:                   r.add(&Family{Name: "driftwatch_window_events", Type: Gauge, Help: "Events in the model version's current window."}),
		FeaturePSI:                     r.add(&Family{Name: "driftwatch_feature_psi", Type: Gauge, Help: "Population stability index of the feature's window against the reference."}),
		FeatureKS:                      r.add(&Family{Name: "driftwatch_feature_ks", Type: Gauge, Help: "Kolmogorov-Smirnov statistic of the feature's window from fine bins (lower bound)."}),
		FeatureWasserstein:             r.add(&Family{Name: "driftwatch_feature_wasserstein", Type: Gauge, Help: "Wasserstein-1 distance of the feature's window from fine bins, in feature units."}),
		FeatureJensenShannon:           r.add(&Family{Name: "driftwatch_feature_jensen_shannon", Type: Gauge, Help: "Jensen-Shannon distance (base 2) of the feature's window on the PSI bins."}),
		FeatureNullRate:                r.add(&Family{Name: "driftwatch_feature_null_rate", Type: Gauge, Help: "Share of events in the window with the feature null or missing."}),
		EvaluationDurationSeconds:      r.add(&Family{Name: "driftwatch_evaluation_duration_seconds", Type: Gauge, Help: "Duration of the last evaluation of all models."}),
		ModelAccuracy:                  r.add(&Family{Name: "driftwatch_model_accuracy", Type: Gauge, Help: "Accuracy over the outcomes joined to the window's predictions."}),
		ModelMAE:                       r.add(&Family{Name: "driftwatch_model_mae", Type: Gauge, Help: "Mean absolute error over the outcomes joined to the window's predictions."}),
		ModelRMSE:                      r.add(&Family{Name: "driftwatch_model_rmse", Type: Gauge, Help: "Root mean squared error over the outcomes joined to the window's predictions."}),
		ConsumerLagMessages:            r.add(&Family{Name: "driftwatch_consumer_lag_messages", Type: Gauge, Help: "Messages of the topic waiting on the partitions this instance owns: log end minus the offset after the last record processed (sum over instances for the group)."}),
		PartitionStalled:               r.add(&Family{Name: "driftwatch_partition_stalled", Type: Gauge, Help: "1 while the partition has records waiting and none was processed for longer than stall_timeout, else 0."}),
		JoinPending:                    r.add(&Family{Name: "driftwatch_join_pending", Type: Gauge, Help: "Predictions waiting for their outcome."}),
		JoinEvicted:                    r.add(&Family{Name: "driftwatch_join_evicted", Type: Gauge, Help: "Predictions and early outcomes dropped from the join by its count or age bounds since start."}),
		FeatureMissingRate:             r.add(&Family{Name: "driftwatch_feature_missing_rate", Type: Gauge, Help: "Share of events in the window without the feature's field."}),
		FeatureInvalidRate:             r.add(&Family{Name: "driftwatch_feature_invalid_rate", Type: Gauge, Help: "Share of events in the window whose feature had the wrong type."}),
		FeatureOutOfRangeRate:          r.add(&Family{Name: "driftwatch_feature_out_of_range_rate", Type: Gauge, Help: "Share of the numeric feature's values in the window outside the reference's [min, max]."}),
		FeatureUnseenShare:             r.add(&Family{Name: "driftwatch_feature_unseen_share", Type: Gauge, Help: "Share of the categorical feature's values in the window that the reference never saw."}),
		FeatureDrift:                   r.add(&Family{Name: "driftwatch_feature_drift", Type: Gauge, Help: "1 when the feature's deciding test (check's rule, or the configured test) crosses its threshold in force (calibrated under a threshold: auto rule) over at least min_samples values, else 0."}),
		ModelEventsTotal:               r.add(&Family{Name: "driftwatch_model_events_total", Type: Counter, Help: "Prediction events added to the model version's window (volume)."}),
		ModelLastEventTimestampSeconds: r.add(&Family{Name: "driftwatch_model_last_event_timestamp_seconds", Type: Gauge, Help: "Wall-clock time the model version last received an event (no-data detection)."}),
		ModelHighConfidenceShare:       r.add(&Family{Name: "driftwatch_model_high_confidence_share", Type: Gauge, Help: "Share of scored predictions in the window at or above the model's high_confidence."}),
		ModelF1:                        r.add(&Family{Name: "driftwatch_model_f1", Type: Gauge, Help: "F1 of the positive class over the outcomes joined to the window's predictions."}),
		ModelAUC:                       r.add(&Family{Name: "driftwatch_model_auc", Type: Gauge, Help: "ROC AUC of the scores over the outcomes joined to the window's predictions (100 score bins)."}),
		ModelECE:                       r.add(&Family{Name: "driftwatch_model_ece", Type: Gauge, Help: "Expected calibration error (10 bins) over the outcomes joined to the window's predictions."}),
		Alerts:                         r.add(&Family{Name: "driftwatch_alerts", Type: Gauge, Help: "Alerts by state (pending, firing)."}),
		NotificationsTotal:             r.add(&Family{Name: "driftwatch_notifications_total", Type: Counter, Help: "Alert notifications by notifier and outcome (sent, retried, failed, dropped)."}),
		FeatureValues:                  r.add(&Family{Name: "driftwatch_feature_values", Type: Gauge, Help: "Non-null values of the feature in the window (the sample size behind its statistics)."}),
		WindowOutcomes:                 r.add(&Family{Name: "driftwatch_window_outcomes", Type: Gauge, Help: "Outcomes joined to the window's predictions (the sample size behind the quality metrics)."}),
		RolloutDecision:                r.add(&Family{Name: "driftwatch_rollout_decision", Type: Gauge, Help: "1 for the rollout's current decision (promote, rollback, continue), else 0; a promote or rollback stands once reached."}),
		RolloutMetric:                  r.add(&Family{Name: "driftwatch_rollout_metric", Type: Gauge, Help: "A rollout criterion's metric on one arm, over the rollout so far."}),
		RolloutLimit:                   r.add(&Family{Name: "driftwatch_rollout_limit", Type: Gauge, Help: "The value a rollout criterion's metric must reach (or stay within) on the candidate, given stable's."}),
		RolloutPFail:                   r.add(&Family{Name: "driftwatch_rollout_p_fail", Type: Gauge, Help: "Anytime-valid p-value that the rollout criterion holds (small: it is violated)."}),
		RolloutPPass:                   r.add(&Family{Name: "driftwatch_rollout_p_pass", Type: Gauge, Help: "Anytime-valid p-value that the rollout criterion is violated (small: it holds)."}),
		RolloutObservedSeconds:         r.add(&Family{Name: "driftwatch_rollout_observed_seconds", Type: Gauge, Help: "Event time the rollout has run so far."}),
		RolloutEvents:                  r.add(&Family{Name: "driftwatch_rollout_events", Type: Gauge, Help: "Predictions of the version counted in the rollout so far."}),
		RolloutOutcomes:                r.add(&Family{Name: "driftwatch_rollout_outcomes", Type: Gauge, Help: "Outcomes joined to the version's predictions in the rollout so far."}),
		RolloutShadowAgreement:         r.add(&Family{Name: "driftwatch_rollout_shadow_agreement", Type: Gauge, Help: "Share of paired shadow and stable predictions with the same class."}),
		RolloutShadowMeanAbsDiff:       r.add(&Family{Name: "driftwatch_rollout_shadow_mean_abs_diff", Type: Gauge, Help: "Mean absolute score difference of paired shadow and stable predictions."}),
		WindowScoreShare:               r.add(&Family{Name: "driftwatch_window_score_share", Type: Gauge, Help: "Share of the window's scores below lt, the upper edge of one of the score's reference PSI bins (cumulative)."}),
		BatchDurationSeconds:           r.add(&Family{Name: "driftwatch_batch_duration_seconds", Type: Histogram, Help: "Time to handle one fetch of records from a partition: decode, bin, join.", Buckets: batchBuckets}),
		JoinDelaySeconds:               r.add(&Family{Name: "driftwatch_join_delay_seconds", Type: Histogram, Help: "Time from a prediction's arrival to its outcome's (0 for outcomes that came first or carried their prediction).", Buckets: joinBuckets}),
		FlagChangesTotal:               r.add(&Family{Name: "driftwatch_flag_changes_total", Type: Counter, Help: "Changes driftwatch made to the rollout's feature flag (or would have, in a dry run)."}),
		FlagErrorsTotal:                r.add(&Family{Name: "driftwatch_flag_errors_total", Type: Counter, Help: "Failed attempts to read or change the rollout's feature flag (retried with backoff)."}),
		FlagUp:                         r.add(&Family{Name: "driftwatch_flag_up", Type: Gauge, Help: "1 when the last attempt to read or change the rollout's feature flag succeeded, else 0."}),
		FlagRolloutPercent:             r.add(&Family{Name: "driftwatch_flag_rollout_percent", Type: Gauge, Help: "The rollout percentage of the rollout's feature flag, as last read."}),
		BuildInfo:                      r.add(&Family{Name: "driftwatch_build_info", Type: Gauge, Help: "1, labelled with the binning kernel this build runs on this CPU (avx512, avx2 or purego)."}),
	}
	r.runtimeGauge("go_goroutines", Gauge, "Goroutines that currently exist.", "/sched/goroutines:goroutines")
	r.runtimeGauge("go_memstats_heap_alloc_bytes", Gauge, "Bytes of allocated heap objects.", "/memory/classes/heap/objects:bytes")
	r.runtimeGauge("go_memstats_sys_bytes", Gauge, "Bytes of memory mapped by the Go runtime.", "/memory/classes/total:bytes")
	r.runtimeGauge("go_memstats_next_gc_bytes", Gauge, "Heap size target of the next garbage collection.", "/gc/heap/goal:bytes")
	r.runtimeGauge("go_gc_cycles_total", Counter, "Completed garbage collection cycles.", "/gc/cycles/total:gc-cycles")
	r.runtimeGauge("go_gc_cpu_seconds_total", Counter, "Estimated CPU time spent in garbage collection.", "/cpu/classes/gc/total:cpu-seconds")
	m.BuildInfo.Gauge(Labels("kernel", stats.ActiveKernel().String())).Set(1)
	m.Late = m.LateEventsTotal.Counter("")
	m.DeadLettersRefused = m.DeadLettersRefusedTotal.Counter("")
	m.Checkpoints = m.CheckpointsTotal.Counter("")
	m.CheckpointFailures = m.CheckpointErrorsTotal.Counter("")
	m.RestoreFailures = m.CheckpointRestoreErrorsTotal.Counter("")
	m.CheckpointTime = m.CheckpointDurationSeconds.Histogram("")
	m.EncodeTime = m.CheckpointEncodeSeconds.Histogram("")
	m.RestoreTime = m.CheckpointRestoreSeconds.Histogram("")
	for _, r := range Reasons {
		m.DeadLettersTotal.Counter(Labels("reason", string(r)))
	}
	return m
}

// Reasons are the dead-letter reasons, each a series from the start.
var Reasons = []events.Reason{events.ReasonMalformed, events.ReasonWrongType, events.ReasonMissingID,
	events.ReasonMissingModel, events.ReasonMissingField, events.ReasonBadTimestamp, events.ReasonOversize, events.ReasonUnknownModel}
