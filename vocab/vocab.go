// Package vocab names what the packages share: the statistics — the drift
// tests of detectors and check, the metrics of the service's evaluations,
// what alerting rules, calibration and the dashboards watch — and a model's
// task. One typed set means a misspelt name does not compile, and the
// string each has in configs, reports, metric labels and alerts is written
// once.
//
// What a statistic means and how it is computed is left to packages stats,
// detectors and monitor; which ones a rule accepts, and in which direction,
// to package alerting.
package vocab

import "strings"

// Statistic names a statistic as configs, reports, alerts and labels
// spell it.
type Statistic string

// Drift tests, per feature.
const (
	PSI         Statistic = "psi"
	KS          Statistic = "ks"
	Wasserstein Statistic = "wasserstein"
	JS          Statistic = "jensen_shannon"
	Hellinger   Statistic = "hellinger"
	ChiSquare   Statistic = "chi_square"
	// ChiSquareP is the chi-square test's p-value (low is drift).
	ChiSquareP Statistic = "chi_square_p"
	Z          Statistic = "z"
)

// Data quality, per feature.
const (
	NullRate       Statistic = "null_rate"
	MissingRate    Statistic = "missing_rate"
	InvalidRate    Statistic = "invalid_rate"
	OutOfRangeRate Statistic = "out_of_range_rate"
	UnseenShare    Statistic = "unseen_share"
)

// Model quality, per model version.
const (
	Accuracy            Statistic = "accuracy"
	F1                  Statistic = "f1"
	AUC                 Statistic = "auc"
	ECE                 Statistic = "ece"
	MAE                 Statistic = "mae"
	RMSE                Statistic = "rmse"
	HighConfidenceShare Statistic = "high_confidence_share"
)

// The stream: events per window, seconds since the last event, and
// consumer lag per input topic.
const (
	Volume      Statistic = "volume"
	NoData      Statistic = "no_data"
	ConsumerLag Statistic = "consumer_lag"
)

// Rollout decisions: 1 once a model's rollout is decided so, else 0.
const (
	RolloutRollback     Statistic = "rollout_rollback"
	RolloutPromote      Statistic = "rollout_promote"
	RolloutInconclusive Statistic = "rollout_inconclusive"
)

// Feature-flag changes of a rollout (package flag): 1 per ramp step reached,
// and once the flag was rolled back.
const (
	RolloutStepped    Statistic = "rollout_stepped"
	RolloutRolledBack Statistic = "rollout_rolled_back"
)

// RolloutDecision returns the decision a rollout statistic stands for
// ("rollback", "promote", "inconclusive"), or "" for any other statistic.
func (s Statistic) RolloutDecision() string {
	switch s {
	case RolloutRollback:
		return "rollback"
	case RolloutPromote:
		return "promote"
	case RolloutInconclusive:
		return "inconclusive"
	}
	return ""
}

// Join joins the statistics' names with sep, for messages and flag help.
func Join(stats []Statistic, sep string) string {
	var b strings.Builder
	for i, s := range stats {
		if i > 0 {
			b.WriteString(sep)
		}
		b.WriteString(string(s))
	}
	return b.String()
}

// Task is what a model predicts, which decides its quality metrics.
type Task string

// Tasks.
const (
	TaskClassification Task = "classification"
	TaskRegression     Task = "regression"
)
