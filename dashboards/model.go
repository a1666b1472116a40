package dashboards

import (
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"

	"driftwatch/detectors"
)

// Model is one model version in depth: per-feature drift statistics with
// their thresholds, the score distribution, quality, the outcome join,
// data quality, and the model's versions side by side.
//
//lint:ignore SA1019 the classic dashboard JSON (v1) is what Grafana's dashboard import and file provisioning take; dashboardv2 emits the v2 spec for Grafana 12's app-platform API only
func Model() (dashboard.Dashboard, error) {
	d := newBoard("driftwatch-model", "driftwatch / Model",
		"One model version: drift per feature, score distribution, quality, outcome join, data quality, and its versions side by side.", "now-6h")
	d.variable("model", "Model", "driftwatch_window_events", "model", false)
	d.variable("version", "Version", `driftwatch_window_events{model="$model"}`, "version", false)
	d.variable("feature", "Feature", `driftwatch_feature_psi{model="$model", version="$version"}`, "feature", true)
	const mv = `model="$model", version="$version"`
	const mvf = mv + `, feature=~"$feature"`

	d.row("$model / $version")
	d.add(d.number("Events in window", "Prediction events in the version's current window.", "short", 4, 4,
		q(`sum(driftwatch_window_events{`+mv+`})`, "")))
	d.add(d.number("Events/s", "Prediction events added to the window per second.", "ops", 4, 4,
		q(`sum(rate(driftwatch_model_events_total{`+mv+`}[$__rate_interval]))`, "")))
	d.add(colors(d.number("Features in drift", "Features whose deciding test (check's rule) crosses its threshold in force over at least min_samples values.", "none", 4, 4,
		q(`sum(driftwatch_feature_drift{`+mv+`})`, "")), scale{"green", []step{{1, "red"}}}))
	d.add(d.number("Outcomes joined", "Outcomes joined to the window's predictions: the sample size behind the quality metrics.", "short", 4, 4,
		q(`sum(driftwatch_window_outcomes{`+mv+`})`, "")))
	d.add(d.number("High-confidence share", "Share of scored predictions in the window at or above the model's high_confidence.", "percentunit", 4, 4,
		q(`max(driftwatch_model_high_confidence_share{`+mv+`})`, "")))
	d.add(colors(d.number("Since last event", "Time since the version last received an event, with the default NoData thresholds.", "s", 4, 4,
		q(`time() - max(driftwatch_model_last_event_timestamp_seconds{`+mv+`})`, "")), alertScale("NoData")))

	d.row("Drift of $feature")
	d.add(lines(d.series("PSI", "Population stability index of each feature's window against the reference, with the default FeatureDrift warning and critical thresholds.", "none", 12, 8,
		q(`driftwatch_feature_psi{`+mvf+`}`, "{{feature}}")), alertScale("FeatureDrift")).Min(0))
	d.add(d.series("Kolmogorov–Smirnov statistic", "KS statistic of each numeric feature's window from fine bins (a lower bound). The default drift decision on small references is on its p-value, which has no line here.", "none", 12, 8,
		q(`driftwatch_feature_ks{`+mvf+`}`, "{{feature}}")).Min(0))
	d.add(d.series("Wasserstein-1 distance", "Wasserstein-1 distance of each numeric feature's window from the reference, in the feature's units. The default threshold is on the distance divided by the reference's std, so no line is drawn.", "none", 12, 8,
		q(`driftwatch_feature_wasserstein{`+mvf+`}`, "{{feature}}")).Min(0))
	d.add(lines(d.series("Jensen–Shannon distance", "Jensen–Shannon distance (base 2) of each feature's window on the PSI bins, with the default threshold.", "none", 12, 8,
		q(`driftwatch_feature_jensen_shannon{`+mvf+`}`, "{{feature}}")), scale{"green", []step{{detectors.DefaultConfig().Thresholds.JS, "red"}}}).Min(0))

	d.row("Output")
	d.add(d.heat("Score distribution", "Share of the window's scores in each of the score's reference PSI bins (deciles of the training scores) over time; the bins are labelled by their upper edge. Needs the score among the reference profile's features.", 12, 8,
		q(`label_replace(driftwatch_window_score_share{`+mv+`}, "le", "$1", "lt", "(.*)")`, "{{le}}")))
	d.add(d.series("High-confidence share", "Share of scored predictions in the window at or above the model's high_confidence.", "percentunit", 12, 8,
		q(`driftwatch_model_high_confidence_share{`+mv+`}`, "{{version}}")).Min(0).Max(1))

	d.row("Quality (classification)")
	d.add(lines(d.series("Accuracy", "Accuracy over the outcomes joined to the window's predictions, with the default AccuracyDrop warning and critical thresholds.", "percentunit", 8, 8,
		q(`driftwatch_model_accuracy{`+mv+`}`, "accuracy")), alertScale("AccuracyDrop")).Max(1))
	d.add(d.series("F1 and ROC AUC", "F1 of the positive class and ROC AUC of the scores (100 score bins) over the joined outcomes; binary classification.", "percentunit", 8, 8,
		q(`driftwatch_model_f1{`+mv+`}`, "F1"),
		q(`driftwatch_model_auc{`+mv+`}`, "ROC AUC")).Max(1))
	d.add(d.series("Calibration error", "Expected calibration error (10 score bins) over the joined outcomes; binary classification with scores.", "percentunit", 8, 8,
		q(`driftwatch_model_ece{`+mv+`}`, "ECE")).Min(0))

	d.row("Quality " + RegressionSuffix)
	d.add(d.series("MAE and RMSE", "Mean absolute and root mean squared error over the outcomes joined to the window's predictions.", "none", 12, 8,
		q(`driftwatch_model_mae{`+mv+`}`, "MAE"),
		q(`driftwatch_model_rmse{`+mv+`}`, "RMSE")).Min(0))
	d.add(d.series("MAE by version", "Mean absolute error of every version of the model, side by side.", "none", 12, 8,
		q(`driftwatch_model_mae{model="$model"}`, "{{version}}")).Min(0))

	d.row("Outcomes and join")
	d.add(d.series("Outcomes joined", "Outcomes joined to the window's predictions.", "short", 6, 8,
		q(`driftwatch_window_outcomes{`+mv+`}`, "{{version}}")).Min(0))
	d.add(d.series("Outcome delay", "Time from a prediction's arrival to its outcome's (join latency), median and 95th percentile over the rate interval.", "s", 6, 8,
		q(`histogram_quantile(0.5, sum by (le) (rate(driftwatch_join_delay_seconds_bucket{model="$model"}[$__rate_interval])))`, "p50"),
		q(`histogram_quantile(0.95, sum by (le) (rate(driftwatch_join_delay_seconds_bucket{model="$model"}[$__rate_interval])))`, "p95")).Min(0))
	d.add(d.series("Predictions waiting for their outcome", "Predictions of the model (all versions) held by the join until their outcome arrives.", "short", 6, 8,
		q(`driftwatch_join_pending{model="$model"}`, "pending")).Min(0))
	d.add(d.series("Dropped from the join", "Predictions and early outcomes dropped by the join's count or age bounds since the service started.", "short", 6, 8,
		q(`driftwatch_join_evicted{model="$model"}`, "evicted")).Min(0))

	d.row("Data quality of $feature")
	d.add(lines(d.series("Null rate", "Share of events in the window with the feature null, missing or invalid, with the default FeatureNulls thresholds.", "percentunit", 6, 8,
		q(`driftwatch_feature_null_rate{`+mvf+`}`, "{{feature}}")), alertScale("FeatureNulls")).Min(0))
	d.add(d.series("Missing and invalid", "Shares of events in the window without the feature's field, and with a value of the wrong type.", "percentunit", 6, 8,
		q(`driftwatch_feature_missing_rate{`+mvf+`}`, "{{feature}} missing"),
		q(`driftwatch_feature_invalid_rate{`+mvf+`}`, "{{feature}} invalid")).Min(0))
	d.add(d.series("Out of range", "Share of the numeric feature's values in the window outside the reference's [min, max].", "percentunit", 6, 8,
		q(`driftwatch_feature_out_of_range_rate{`+mvf+`}`, "{{feature}}")).Min(0))
	d.add(lines(d.series("Unseen categories", "Share of the categorical feature's values in the window that the reference never saw, with the default UnseenCategories thresholds.", "percentunit", 6, 8,
		q(`driftwatch_feature_unseen_share{`+mvf+`}`, "{{feature}}")), alertScale("UnseenCategories")).Min(0))

	// Every version of the model, whatever $version says: a canary beside
	// the stable version.
	d.row("Versions side by side")
	d.add(d.series("Accuracy by version", "Accuracy of every version of the model over its joined outcomes.", "percentunit", 6, 8,
		q(`driftwatch_model_accuracy{model="$model"}`, "{{version}}")).Max(1))
	d.add(d.series("Features in drift by version", "Features in drift in every version of the model.", "none", 6, 8,
		q(`sum by (version) (driftwatch_feature_drift{model="$model"})`, "{{version}}")).Min(0))
	d.add(d.series("Highest PSI of $feature by version", "The highest PSI among the selected features, per version.", "none", 6, 8,
		q(`max by (version) (driftwatch_feature_psi{model="$model", feature=~"$feature"})`, "{{version}}")).Min(0))
	d.add(d.series("Event rate by version", "Prediction events per second of every version: the traffic split.", "ops", 6, 8,
		q(`sum by (version) (rate(driftwatch_model_events_total{model="$model"}[$__rate_interval]))`, "{{version}}")).Min(0))

	// Counters since the rollout started, not the window: the verdict's
	// evidence (README "Canary and shadow rollouts").
	d.row("Canary against stable " + RolloutSuffix)
	d.add(d.tableOf("Rollout decision", "The rollout's decision: promote, rollback or continue; a promote or rollback stands once reached.", 8, 8,
		[]string{"decision"}, q(`driftwatch_rollout_decision{model="$model"} == 1`, "")))
	d.add(d.series("Criteria by version", "Each criterion's metric on stable and on the candidate over the rollout so far, and the limit the candidate must meet.", "none", 8, 8,
		q(`driftwatch_rollout_metric{model="$model"}`, "{{metric}} {{version}}"),
		q(`driftwatch_rollout_limit{model="$model"}`, "{{metric}} limit")))
	d.add(d.series("Evidence", "Anytime-valid p-values per criterion: p fail small means the criterion is violated (rollback at alpha over the number of criteria), p pass small means it holds (promote when all do at alpha).", "none", 8, 8,
		q(`driftwatch_rollout_p_fail{model="$model"}`, "{{metric}} fail"),
		q(`driftwatch_rollout_p_pass{model="$model"}`, "{{metric}} pass")).Min(0).Max(1))

	return d.b.Build()
}
