package dashboards

import (
	"bytes"
	"fmt"
	"strconv"
	"time"

	"gopkg.in/yaml.v3"

	"driftwatch/alerting"
	"driftwatch/alerting/notify"
	"driftwatch/alerting/notify/alertmanager"
	"driftwatch/config"
	"driftwatch/vocab"
)

// RulesFile is where the Prometheus rules are written, relative to this
// package's directory.
const RulesFile = "prometheus/driftwatch-rules.yml"

// SourcePrometheus is the alertmanager.SourceLabel value on the alerts of the
// Prometheus rules: the service's own alerts say alertmanager.SourceDriftwatch,
// so Alertmanager can tell the two apart (InhibitFile).
const SourcePrometheus = "prometheus"

// rule is the default alert rule of that name, validated (its op filled);
// the panels draw its thresholds. Its absence is a programming error.
func rule(name string) alerting.Rule {
	cfg := alerting.DefaultConfig()
	if err := cfg.Validate(); err != nil {
		panic("dashboards: default alert rules: " + err.Error())
	}
	for _, r := range cfg.Rules {
		if r.Name == name {
			return r
		}
	}
	panic("dashboards: no default alert rule " + name)
}

// Recording is one recording rule.
type Recording struct {
	Record string `yaml:"record"`
	Expr   string `yaml:"expr"`
}

// Recordings are the recording rules: the fleet-wide aggregations and the
// histogram quantiles, named level:metric:operations with the level
// "driftwatch" and the metric without its driftwatch_ prefix.
var Recordings = []Recording{
	{"driftwatch:model_events:rate1m", `sum by (model, version) (rate(driftwatch_model_events_total[1m]))`},
	{"driftwatch:events:rate1m", `sum by (topic, result) (rate(driftwatch_events_total[1m]))`},
	{"driftwatch:dead_letters:rate5m", `sum by (reason) (rate(driftwatch_dead_letters_total[5m]))`},
	{"driftwatch:late_events:rate5m", `sum(rate(driftwatch_late_events_total[5m]))`},
	{"driftwatch:feature_drift:sum", `sum by (model, version) (driftwatch_feature_drift)`},
	{"driftwatch:feature_psi:max", `max by (model, version) (driftwatch_feature_psi)`},
	{"driftwatch:feature_null_rate:max", `max by (model, version) (driftwatch_feature_null_rate)`},
	{"driftwatch:feature_out_of_range_rate:max", `max by (model, version) (driftwatch_feature_out_of_range_rate)`},
	{"driftwatch:feature_unseen_share:max", `max by (model, version) (driftwatch_feature_unseen_share)`},
	{"driftwatch:batch_duration_seconds:p50_5m", `histogram_quantile(0.5, sum by (topic, le) (rate(driftwatch_batch_duration_seconds_bucket[5m])))`},
	{"driftwatch:batch_duration_seconds:p99_5m", `histogram_quantile(0.99, sum by (topic, le) (rate(driftwatch_batch_duration_seconds_bucket[5m])))`},
}

// statistic is how an alert rule's statistic reads in PromQL.
type statistic struct {
	expr string // the statistic's value per model version (and feature or topic)
	// samples is the gauge of the sample size the in-process rule checks
	// against min_samples, matched on the labels in on; "" when the rule
	// has no minimum (no_data, consumer_lag).
	samples, on string
	subject     string // what the summary says the value is of
	// scope starts the summary ("" is the model version).
	scope string
}

var statistics = map[vocab.Statistic]statistic{
	vocab.PSI:         {"driftwatch_feature_psi", "driftwatch_feature_values", "model, version, feature", "psi of {{ $labels.feature }}", ""},
	vocab.NullRate:    {"driftwatch_feature_null_rate", "driftwatch_window_events", "model, version", "null_rate of {{ $labels.feature }}", ""},
	vocab.UnseenShare: {"driftwatch_feature_unseen_share", "driftwatch_feature_values", "model, version, feature", "unseen_share of {{ $labels.feature }}", ""},
	vocab.Accuracy:    {"driftwatch_model_accuracy", "driftwatch_window_outcomes", "model, version", string(vocab.Accuracy), ""},
	vocab.NoData:      {"time() - driftwatch_model_last_event_timestamp_seconds", "", "", "no_data (seconds since the last event)", ""},
	vocab.ConsumerLag: {"driftwatch_consumer_lag_messages", "", "", "consumer_lag of topic {{ $labels.topic }}", "driftwatch"},
}

// Alerting is one Prometheus alerting rule.
type Alerting struct {
	Alert         string            `yaml:"alert"`
	Expr          string            `yaml:"expr"`
	For           string            `yaml:"for,omitempty"`
	KeepFiringFor string            `yaml:"keep_firing_for,omitempty"`
	Labels        map[string]string `yaml:"labels"`
	Annotations   map[string]string `yaml:"annotations"`
}

// Alerts turns the service's default alert rules (alerting.DefaultConfig)
// into Prometheus alerting rules: one per rule and severity, the same
// threshold, `for` and `keep_firing_for`, and min_samples as a condition
// on the sample-size gauge (the rule's, else the default model's).
// Prometheus has no severity changes within one alert: the warning alert
// keeps firing beside the critical one, so route them with an Alertmanager
// inhibition (README).
func Alerts() ([]Alerting, error) {
	minSamples := config.Default().Defaults.MinSamples
	cfg := alerting.DefaultConfig()
	if err := cfg.Validate(); err != nil { // fills each rule's op
		return nil, fmt.Errorf("dashboards: default alert rules: %w", err)
	}
	var out []Alerting
	for _, r := range cfg.Rules {
		st, ok := statistics[r.Statistic]
		if !ok {
			return nil, fmt.Errorf("dashboards: default alert rule %q watches %q, which has no PromQL here", r.Name, r.Statistic)
		}
		if r.Warning == nil && r.Critical == nil {
			return nil, fmt.Errorf("dashboards: default alert rule %q has no fixed threshold to write into a Prometheus rule", r.Name)
		}
		op := r.Op
		for _, sev := range []struct {
			name notify.Severity
			at   *float64
		}{{notify.SeverityWarning, r.Warning}, {notify.SeverityCritical, r.Critical}} {
			if sev.at == nil {
				continue
			}
			scope := st.scope
			if scope == "" {
				scope = "{{ $labels.model }}/{{ $labels.version }}"
			}
			expr := fmt.Sprintf("%s %s %s", st.expr, op, num(*sev.at))
			if st.samples != "" {
				n := r.MinSamples
				if n == 0 {
					n = minSamples
				}
				expr += fmt.Sprintf("\n  and on (%s) %s >= %d", st.on, st.samples, n)
			}
			out = append(out, Alerting{
				Alert:         r.Name,
				Expr:          expr,
				For:           duration(r.For),
				KeepFiringFor: duration(r.KeepFiringFor),
				Labels:        map[string]string{"severity": string(sev.name), "statistic": string(r.Statistic), alertmanager.SourceLabel: SourcePrometheus},
				Annotations: map[string]string{
					"summary": fmt.Sprintf(`%s: %s is {{ $value | printf "%%.3g" }} (%s %s)`,
						scope, st.subject, op, num(*sev.at)),
				},
			})
		}
	}
	return append(out, ServiceAlerts...), nil
}

// ServiceAlerts are alerts on the service itself, which its own rules do
// not watch (a stalled partition stops the evaluation that would).
var ServiceAlerts = []Alerting{{
	Alert: "PartitionStalled",
	// The gauge turns 1 only after stall_timeout without progress; for
	// adds a scrape interval or two so one slow fetch does not page.
	Expr:   "driftwatch_partition_stalled == 1",
	For:    duration(partitionStalledFor),
	Labels: map[string]string{"severity": string(notify.SeverityCritical)},
	Annotations: map[string]string{
		"summary": "driftwatch {{ $labels.instance }}: partition {{ $labels.topic }}/{{ $labels.partition }} has records waiting and none processed for longer than stall_timeout (see /readyz and the dead-letter logs)",
	},
}}

// partitionStalledFor is PartitionStalled's for.
const partitionStalledFor = time.Minute

// num prints a threshold as PromQL reads it.
func num(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }

// duration prints a Go duration in Prometheus's notation ("" for 0).
func duration(d time.Duration) string {
	switch {
	case d == 0:
		return ""
	case d%time.Hour == 0:
		return fmt.Sprintf("%dh", d/time.Hour)
	case d%time.Minute == 0:
		return fmt.Sprintf("%dm", d/time.Minute)
	case d%time.Second == 0:
		return fmt.Sprintf("%ds", d/time.Second)
	}
	return fmt.Sprintf("%dms", d/time.Millisecond)
}

const rulesHeader = `# Prometheus rules for driftwatch: recording rules for the fleet-wide
# aggregations and histogram quantiles, and alerting rules equivalent to the
# service's default alert rules (driftwatch config example), for those who
# alert from Prometheus. Load with rule_files in prometheus.yml; check with
#   promtool check rules dashboards/prometheus/driftwatch-rules.yml
#
# min_samples: the drift and quality alerts need the window's sample size
# at the default model's min_samples (%d) or the rule's; edit the ">= N"
# lines if your models set another. NoData cannot see a version that never
# received an event (it has no timestamp yet); the service's own rule can.
#
# The alerts carry source="prometheus" and the service's own alerts sent to
# Alertmanager source="driftwatch", under the same names: run one of the two,
# or load dashboards/alertmanager/driftwatch-inhibit.yml into Alertmanager so
# that the Prometheus duplicate of an alert the service raises is muted.
#
# Generated by "go generate ./dashboards/" from dashboards/rules.go: edit
# that, not this file.
`

// Rules is the rules file.
func Rules() ([]byte, error) {
	alerts, err := Alerts()
	if err != nil {
		return nil, err
	}
	type group struct {
		Name  string `yaml:"name"`
		Rules any    `yaml:"rules"`
	}
	doc := struct {
		Groups []group `yaml:"groups"`
	}{[]group{{"driftwatch-recording", Recordings}, {"driftwatch-alerts", alerts}}}
	var buf bytes.Buffer
	fmt.Fprintf(&buf, rulesHeader, config.Default().Defaults.MinSamples)
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// InhibitFile is where the example Alertmanager inhibit rules are written,
// relative to this package's directory.
const InhibitFile = "alertmanager/driftwatch-inhibit.yml"

const inhibitHeader = `# Alertmanager inhibit rules for driftwatch, to merge into alertmanager.yml.
#
# The service's own alerts (sent by an alertmanager notifier) carry
# source="driftwatch"; the alerts of dashboards/prometheus/driftwatch-rules.yml
# carry source="prometheus" and have the same names. Run one of the two; if
# both run, the first rule mutes a Prometheus alert while the service fires
# the same alert (name, model, version, feature, topic) at any severity.
#
# The second rule lets a critical alert mute the warning of the same alert
# from the same source: Prometheus fires a rule's warning and critical alerts
# side by side, where the service raises one alert whose severity changes.
# "source" is among its equal labels so that a Prometheus critical alert
# never mutes the service's warning of the same alert: the first rule mutes
# that Prometheus alert, and together they would leave neither active.
#
# Generated by "go generate ./dashboards/" from dashboards/rules.go: edit
# that, not this file.
`

// Inhibit is the example Alertmanager inhibit rules file (InhibitFile).
func Inhibit() ([]byte, error) {
	type rule struct {
		Source []string `yaml:"source_matchers,flow"`
		Target []string `yaml:"target_matchers,flow"`
		Equal  []string `yaml:"equal,flow"`
	}
	alike := []string{"alertname", "model", "version", "feature", "topic"}
	doc := struct {
		Rules []rule `yaml:"inhibit_rules"`
	}{[]rule{
		{[]string{fmt.Sprintf("%s=%q", alertmanager.SourceLabel, alertmanager.SourceDriftwatch)},
			[]string{fmt.Sprintf("%s=%q", alertmanager.SourceLabel, SourcePrometheus)}, alike},
		{[]string{fmt.Sprintf("severity=%q", notify.SeverityCritical)},
			[]string{fmt.Sprintf("severity=%q", notify.SeverityWarning)}, append(alike[:len(alike):len(alike)], alertmanager.SourceLabel)},
	}}
	var buf bytes.Buffer
	buf.WriteString(inhibitHeader)
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
