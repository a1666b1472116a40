package api

import (
	"driftwatch/flag"
	"encoding/json"
	"math"
	"time"

	"driftwatch/profile"
	"driftwatch/rollout"
	"driftwatch/vocab"
)

// The responses' fields are in the order of their JSON names, so the
// output is the same bytes as encoding the same data as a map.

// Float is a float64 that encodes NaN and ±Inf as JSON null (a statistic
// that cannot be computed yet) and other values as encoding/json does.
type Float float64

// MarshalJSON implements json.Marshaler.
func (f Float) MarshalJSON() ([]byte, error) {
	if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
		return []byte("null"), nil
	}
	return json.Marshal(float64(f))
}

// FloatPtr returns a pointer to x as a Float, for fields present only in
// some responses.
func FloatPtr(x float64) *Float {
	f := Float(x)
	return &f
}

// Model is GET /api/v1/models/{model}: the latest evaluation of every
// version.
type Model struct {
	Model    string    `json:"model"`
	Versions []Version `json:"versions"`
}

// Version is one model version's latest evaluation.
type Version struct {
	AlertsFiring []string   `json:"alerts_firing"` // "rule feature (severity)"
	Events       float64    `json:"events"`
	Features     []Feature  `json:"features"`
	LastEventAt  *time.Time `json:"last_event_at"` // null before the first event
	Late         uint64     `json:"late"`
	Output       Output     `json:"output"`
	Quality      Quality    `json:"quality"`
	Role         string     `json:"role"` // "stable", the candidate's mode, or "" outside a rollout
	Version      string     `json:"version"`
	Window       Window     `json:"window"`
}

// Feature is one feature's window statistics and verdict.
type Feature struct {
	ChiSquare      Float        `json:"chi_square"`
	ChiSquareP     Float        `json:"chi_square_p"`
	Decision       Decision     `json:"decision"`
	InvalidRate    Float        `json:"invalid_rate"`
	JensenShannon  Float        `json:"jensen_shannon"`
	Kind           profile.Kind `json:"kind"`
	KS             Float        `json:"ks"`
	KSBound        Float        `json:"ks_bound"`
	MissingRate    Float        `json:"missing_rate"`
	Name           string       `json:"name"`
	NullRate       Float        `json:"null_rate"`
	OutOfRangeRate Float        `json:"out_of_range_rate"`
	PSI            Float        `json:"psi"`
	State          State        `json:"state"`
	UnseenShare    Float        `json:"unseen_share"`
	Values         float64      `json:"values"`
	Wasserstein    Float        `json:"wasserstein"`
	// WassersteinNormalized is Wasserstein in reference standard
	// deviations, the distance `check` decides numeric features by.
	WassersteinNormalized Float `json:"wasserstein_normalized"`
}

// Decision says how the stream decided a feature: the deciding test (the
// rule of `check` unless configured), its statistic in the window (a
// p-value for ks, chi_square and z, else the distance) and the threshold in
// force; calibrated when a `threshold: auto` rule set it.
type Decision struct {
	Calibrated bool            `json:"calibrated"`
	Test       vocab.Statistic `json:"test"`
	Threshold  Float           `json:"threshold"`
	Value      Float           `json:"value"`
}

// State is the streaming verdict on a feature.
type State string

// The states of a feature.
const (
	StateOK               State = "ok"
	StateDrift            State = "drift"
	StateInsufficientData State = "insufficient_data"
)

// Output describes the model's outputs in the window.
type Output struct {
	HighConfidenceShare Float   `json:"high_confidence_share"`
	Scored              float64 `json:"scored"`
}

// Quality is the window's quality over the joined outcomes: accuracy for a
// classifier, MAE and RMSE for a regression model.
type Quality struct {
	Accuracy *Float  `json:"accuracy,omitzero"`
	Joined   float64 `json:"joined"`
	MAE      *Float  `json:"mae,omitzero"`
	RMSE     *Float  `json:"rmse,omitzero"`
}

// Window is a count window's size or a time window's event-time bounds.
type Window struct {
	Count int        `json:"count,omitzero"`
	End   *time.Time `json:"end,omitzero"`
	Start *time.Time `json:"start,omitzero"`
}

// Rollout is GET /api/v1/models/{model}/rollout: the configuration, the
// decision and, once evaluated, the comparison of the arms.
type Rollout struct {
	Alpha         float64          `json:"alpha"`
	Arms          map[string]Arm   `json:"arms,omitzero"` // by version name
	Candidate     string           `json:"candidate"`
	Checks        []Check          `json:"checks,omitzero"`
	Criteria      []Criterion      `json:"criteria"`
	DecidedAt     *time.Time       `json:"decided_at"` // null until the decision stands
	Decision      rollout.Decision `json:"decision"`
	Drift         []Drift          `json:"drift,omitzero"`
	EvaluatedAt   time.Time        `json:"evaluated_at,omitzero"`
	Flag          *Flag            `json:"flag,omitzero"` // the feature flag the rollout moves, if any
	Latched       bool             `json:"latched"`
	MaxPeriod     string           `json:"max_period"`
	MinPeriod     string           `json:"min_period"`
	MinSamples    int              `json:"min_samples"`
	Mode          rollout.Mode     `json:"mode"`
	Model         string           `json:"model"`
	Observed      *float64         `json:"observed_seconds,omitzero"`
	Reason        string           `json:"reason"`
	Shadow        *Shadow          `json:"shadow,omitzero"`
	SinceDecision *SinceDecision   `json:"since_decision,omitzero"`
	Stable        string           `json:"stable"`
	StartedAt     time.Time        `json:"started_at,omitzero"`
}

// Flag is a rollout's feature flag: its state as last read and the changes
// driftwatch made to it.
type Flag struct {
	History []flag.Record `json:"history"`
	Status  flag.Status   `json:"status"`
}

// Arm is one arm's counts.
type Arm struct {
	Errors   float64 `json:"errors"`
	Events   float64 `json:"events"`
	Outcomes float64 `json:"outcomes"`
}

// Check is one criterion's comparison (rollout.Check).
type Check struct {
	Candidate   Float          `json:"candidate"`
	CandidateN  float64        `json:"candidate_n"`
	Criterion   string         `json:"criterion"`
	FailLevel   float64        `json:"fail_level"`
	Information Float          `json:"information"`
	Limit       Float          `json:"limit"`
	Metric      rollout.Metric `json:"metric"`
	PFail       Float          `json:"p_fail"`
	PPass       Float          `json:"p_pass"`
	PassLevel   float64        `json:"pass_level"`
	Stable      Float          `json:"stable"`
	StableN     float64        `json:"stable_n"`
	Status      rollout.Status `json:"status"`
	Test        string         `json:"test"`
	Unit        string         `json:"unit"`
	Waiting     string         `json:"waiting,omitzero"`
	Z           Float          `json:"z"`
	ZFail       Float          `json:"z_fail"`
	ZPass       Float          `json:"z_pass"`
}

// Criterion is one configured criterion.
type Criterion struct {
	Condition string         `json:"condition"`
	Metric    rollout.Metric `json:"metric"`
	Ratio     float64        `json:"ratio"`
	Tolerance float64        `json:"tolerance"`
}

// Drift is the drift of the candidate against stable on one feature or the
// output (rollout.DriftCheck).
type Drift struct {
	CandidateN float64 `json:"candidate_n"`
	ChiSquare  Float   `json:"chi_square"`
	ChiSquareP Float   `json:"chi_square_p"`
	Name       string  `json:"name"`
	PSI        Float   `json:"psi"`
	StableN    float64 `json:"stable_n"`
}

// Shadow is a shadow candidate's agreement with stable
// (rollout.AgreementSummary).
type Shadow struct {
	AbsDiffP50    Float   `json:"abs_diff_p50"`
	AbsDiffP90    Float   `json:"abs_diff_p90"`
	AbsDiffP99    Float   `json:"abs_diff_p99"`
	Agreement     Float   `json:"agreement"`
	AgreementHigh Float   `json:"agreement_high"`
	AgreementLow  Float   `json:"agreement_low"`
	Classified    float64 `json:"classified"`
	MeanAbsDiff   Float   `json:"mean_abs_diff"`
	MeanDiff      Float   `json:"mean_diff"`
	Pairs         float64 `json:"pairs"`
	Scored        float64 `json:"scored"`
}

// SinceDecision is what the comparison says after the decision stands (for
// information: the decision does not change).
type SinceDecision struct {
	Decision rollout.Decision `json:"decision"`
	Reason   string           `json:"reason"`
}
