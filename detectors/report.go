package detectors

import (
	"math"
	"strconv"

	"driftwatch/vocab"
)

// Float is a float64 that encodes NaN and ±Inf as JSON null, so a statistic
// that cannot be computed never breaks the report.
type Float float64

// MarshalJSON implements json.Marshaler.
func (f Float) MarshalJSON() ([]byte, error) {
	v := float64(f)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, v, 'g', -1, 64), nil
}

// Report is the public JSON contract of `driftwatch check` (README documents
// it field by field).
type Report struct {
	ReferenceRows   int             `json:"reference_rows"`
	CurrentRows     int             `json:"current_rows"`
	DriftDetected   bool            `json:"drift_detected"`
	DriftedFeatures int             `json:"drifted_features"`
	DriftShare      Float           `json:"drift_share"`
	Features        []FeatureResult `json:"features"`
	Quality         *Quality        `json:"quality,omitempty"`
	Gates           []GateResult    `json:"gates,omitempty"`
	// Multivariate drift (PCA reconstruction error) and the current data's
	// chunks; see multivariate.go.
	Multivariate *MultivariateResult `json:"multivariate,omitempty"`
	Chunks       []Chunk             `json:"chunks,omitempty"`
	// Notes say what the report leaves out and why (once each).
	Notes []string `json:"notes,omitempty"`
}

// FeatureResult is the verdict for one feature.
type FeatureResult struct {
	Name        string          `json:"name"`
	Kind        string          `json:"kind"`
	Drift       bool            `json:"drift"`
	Test        vocab.Statistic `json:"test"` // the deciding test
	Statistics  Statistics      `json:"statistics"`
	DataQuality DataQuality     `json:"data_quality"`

	// Histograms for renderers (not part of the JSON contract): reference and
	// current counts over Edges (numeric) or Categories (+ unseen last).
	Edges      []float64 `json:"-"`
	Categories []string  `json:"-"`
	RefCounts  []float64 `json:"-"`
	CurCounts  []float64 `json:"-"`
}

// Statistics holds the tests that apply to the feature's kind.
type Statistics struct {
	PSI           *ValueStat       `json:"psi,omitempty"`
	KS            *PValueStat      `json:"ks,omitempty"`
	Wasserstein   *WassersteinStat `json:"wasserstein,omitempty"`
	JensenShannon *ValueStat       `json:"jensen_shannon,omitempty"`
	Hellinger     *ValueStat       `json:"hellinger,omitempty"`
	ChiSquare     *ChiSquareStat   `json:"chi_square,omitempty"`
	Z             *PValueStat      `json:"z,omitempty"`
}

// ValueStat is a distance compared as value >= threshold.
type ValueStat struct {
	Value     Float `json:"value"`
	Threshold Float `json:"threshold"`
	Drift     bool  `json:"drift"`
}

// PValueStat is a test compared as p_value < threshold.
type PValueStat struct {
	Statistic Float `json:"statistic"`
	PValue    Float `json:"p_value"`
	Threshold Float `json:"threshold"`
	Drift     bool  `json:"drift"`
}

// WassersteinStat carries the raw distance and the one normalized by the
// reference's population std (floored at 1e-3), which the threshold applies to.
type WassersteinStat struct {
	Value      Float `json:"value"`
	Normalized Float `json:"normalized"`
	Threshold  Float `json:"threshold"`
	Drift      bool  `json:"drift"`
}

// ChiSquareStat is the chi-square test of homogeneity.
type ChiSquareStat struct {
	Statistic Float `json:"statistic"`
	DOF       int   `json:"dof"`
	PValue    Float `json:"p_value"`
	Threshold Float `json:"threshold"`
	Drift     bool  `json:"drift"`
}

// DataQuality counts problems in the current data for one feature.
type DataQuality struct {
	NullRate         Float    `json:"null_rate"`
	Invalid          int      `json:"invalid"`
	OutOfRangeRate   Float    `json:"out_of_range_rate"`
	UnseenCategories []string `json:"unseen_categories"`
}

// Quality holds model quality on the current data: classification fields or
// regression fields, never both (absent ones are omitted).
type Quality struct {
	Task vocab.Task `json:"task"` // classification | regression
	Rows int        `json:"rows"`

	Accuracy       *Float         `json:"accuracy,omitempty"`
	PrecisionMacro *Float         `json:"precision_macro,omitempty"`
	RecallMacro    *Float         `json:"recall_macro,omitempty"`
	F1Macro        *Float         `json:"f1_macro,omitempty"`
	ROCAUC         *Float         `json:"roc_auc,omitempty"`
	LogLoss        *Float         `json:"log_loss,omitempty"`
	Brier          *Float         `json:"brier,omitempty"`
	ECE            *Float         `json:"ece,omitempty"`
	PerClass       []ClassQuality `json:"per_class,omitempty"`

	MAE         *Float `json:"mae,omitempty"`
	RMSE        *Float `json:"rmse,omitempty"`
	MAPE        *Float `json:"mape,omitempty"`
	MeanError   *Float `json:"mean_error,omitempty"`
	R2          *Float `json:"r2,omitempty"`
	ZeroTargets *int   `json:"zero_targets,omitempty"`

	// Estimated is set instead of the realized metrics when the current
	// data has scores and predictions but no labels (CBPE).
	Estimated *EstimatedQuality `json:"estimated,omitempty"`
}

// ClassQuality is one class's precision, recall and F1.
type ClassQuality struct {
	Class     string `json:"class"`
	Precision Float  `json:"precision"`
	Recall    Float  `json:"recall"`
	F1        Float  `json:"f1"`
	Support   int    `json:"support"`
}

// Metrics returns the scalar quality metrics by their JSON names, for gates.
func (q *Quality) Metrics() map[string]float64 {
	m := map[string]float64{}
	add := func(name string, v *Float) {
		if v != nil {
			m[name] = float64(*v)
		}
	}
	add("accuracy", q.Accuracy)
	add("precision_macro", q.PrecisionMacro)
	add("recall_macro", q.RecallMacro)
	add("f1_macro", q.F1Macro)
	add("roc_auc", q.ROCAUC)
	add("log_loss", q.LogLoss)
	add("brier", q.Brier)
	add("ece", q.ECE)
	add("mae", q.MAE)
	add("rmse", q.RMSE)
	add("mape", q.MAPE)
	add("mean_error", q.MeanError)
	add("r2", q.R2)
	if q.Estimated != nil {
		q.Estimated.addTo(m)
	}
	return m
}

// GateResult is one --require expression and whether it held.
type GateResult struct {
	Expr  string `json:"expr"`
	Value Float  `json:"value"`
	Pass  bool   `json:"pass"`
}

func ptr(v float64) *Float { f := Float(v); return &f }
