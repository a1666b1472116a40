package dashboards

import (
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

// modelLink opens the model dashboard on a table row's model and version.
const modelLink = "/d/driftwatch-model/driftwatch-model?var-model=${__data.fields.model}&var-version=${__data.fields.version}&${datasource:queryparam}&${__url_time_range}"

// Fleet is the overview of every monitored model version: how many, their
// traffic, drift, alerts, data quality and the input's consumer lag.
//
//lint:ignore SA1019 the classic dashboard JSON (v1) is what Grafana's dashboard import and file provisioning take; dashboardv2 emits the v2 spec for Grafana 12's app-platform API only
func Fleet() (dashboard.Dashboard, error) {
	d := newBoard("driftwatch-fleet", "driftwatch / Fleet overview",
		"Every model version driftwatch monitors: traffic, features in drift, alerts, data quality and consumer lag.", "now-6h")

	d.row("Fleet")
	d.add(d.number("Model versions", "Model versions with a window.", "none", 4, 4,
		q(`count(count by (model, version) (driftwatch_window_events))`, "")))
	d.add(d.number("Events/s", "Prediction events added to windows per second, all models.", "ops", 4, 4,
		q(`sum(rate(driftwatch_model_events_total[$__rate_interval]))`, "")))
	d.add(colors(d.number("Features in drift", "Features whose deciding test (check's rule) crosses its threshold in force over at least min_samples values, all models.", "none", 4, 4,
		q(`sum(driftwatch_feature_drift)`, "")), scale{"green", []step{{1, "red"}}}))
	d.add(colors(d.number("Firing alerts", "Alerts of the service's rules that are firing.", "none", 4, 4,
		q(`sum(driftwatch_alerts{state="firing"})`, "")), scale{"green", []step{{1, "red"}}}))
	d.add(colors(d.number("Pending alerts", "Alerts whose condition holds, waiting for their rule's `for`.", "none", 4, 4,
		q(`sum(driftwatch_alerts{state="pending"})`, "")), scale{"green", []step{{1, "orange"}}}))
	d.add(d.number("Consumer lag", "Messages in the input topics not yet processed, all topics.", "short", 4, 4,
		q(`sum(driftwatch_consumer_lag_messages)`, "")))

	d.add(d.tableOf("Model versions", "One row per model version: open the model dashboard from its name.", 24, 8,
		[]string{"Events/s", "Events in window", "Features in drift", "Accuracy", "MAE", "Seconds since last event"},
		q(`sum by (model, version) (rate(driftwatch_model_events_total[$__rate_interval]))`, ""),
		q(`sum by (model, version) (driftwatch_window_events)`, ""),
		q(`sum by (model, version) (driftwatch_feature_drift)`, ""),
		q(`max by (model, version) (driftwatch_model_accuracy)`, ""),
		q(`max by (model, version) (driftwatch_model_mae)`, ""),
		q(`time() - max by (model, version) (driftwatch_model_last_event_timestamp_seconds)`, "")).
		OverrideByName("model", []dashboard.DynamicConfigValue{{Id: "links", Value: []map[string]any{{
			"title": "Model dashboard", "url": modelLink}}}}))

	d.row("Traffic and drift")
	d.add(d.series("Event rate", "Prediction events added to each model version's window per second.", "ops", 12, 8,
		q(`sum by (model, version) (rate(driftwatch_model_events_total[$__rate_interval]))`, "{{model}}/{{version}}")))
	d.add(d.series("Features in drift", "Features of each model version whose deciding test (check's rule) crosses its threshold in force over at least min_samples values.", "none", 12, 8,
		q(`sum by (model, version) (driftwatch_feature_drift)`, "{{model}}/{{version}}")).Min(0))
	d.add(d.series("Alerts", "Alerts of the service's rules by state.", "none", 12, 8,
		q(`sum by (state) (driftwatch_alerts)`, "{{state}}")).Min(0))
	d.add(d.series("Consumer lag", "Messages in each input topic not yet processed by the group.", "short", 12, 8,
		q(`sum by (topic) (driftwatch_consumer_lag_messages)`, "{{topic}}")).Min(0))

	d.row("Data quality")
	d.add(lines(d.series("Worst null rate", "The highest null rate (null, missing or invalid) among each model version's features, with the default FeatureNulls thresholds.", "percentunit", 8, 8,
		q(`max by (model, version) (driftwatch_feature_null_rate)`, "{{model}}/{{version}}")), alertScale("FeatureNulls")).Min(0))
	d.add(d.series("Worst out-of-range rate", "The highest share of numeric values outside the reference's [min, max] among each model version's features.", "percentunit", 8, 8,
		q(`max by (model, version) (driftwatch_feature_out_of_range_rate)`, "{{model}}/{{version}}")).Min(0))
	d.add(lines(d.series("Worst unseen-category share", "The highest share of categories the reference never saw among each model version's categorical features, with the default UnseenCategories thresholds.", "percentunit", 8, 8,
		q(`max by (model, version) (driftwatch_feature_unseen_share)`, "{{model}}/{{version}}")), alertScale("UnseenCategories")).Min(0))
	d.add(d.series("Dead letters", "Messages sent to the dead-letter topic per second, by reason.", "ops", 12, 8,
		q(`sum by (reason) (rate(driftwatch_dead_letters_total[$__rate_interval]))`, "{{reason}}")).Min(0))
	d.add(d.series("Late events", "Events older than their model's window per second, dropped.", "ops", 12, 8,
		q(`sum(rate(driftwatch_late_events_total[$__rate_interval]))`, "late")).Min(0))

	return d.b.Build()
}
