package detectors

import (
	"math"
	"strings"

	"driftwatch/cbpe"
)

// Method names of performance estimation.
const MethodCBPE = "cbpe"

// estimatedPrefix marks gate metrics that are estimated, not realized:
// "estimated.roc_auc".
const estimatedPrefix = "estimated."

// EstimateReport is the public JSON contract of `driftwatch estimate`
// (README documents it field by field): per chunk of the current data, the
// metrics estimated from scores alone, their sampling errors and, when the
// current data has labels, the realized metrics.
type EstimateReport struct {
	Method        string          `json:"method"`
	Calibrated    bool            `json:"calibrated"`
	Positive      string          `json:"positive,omitempty"` // binary
	Classes       []string        `json:"classes,omitempty"`  // multiclass: metrics are macro averages
	ReferenceRows int             `json:"reference_rows"`
	CurrentRows   int             `json:"current_rows"`
	Chunks        []EstimateChunk `json:"chunks"`
	Gates         []EstimateGate  `json:"gates,omitempty"`
}

// EstimateChunk is one chunk: rows Start..End inclusive in file order.
// Invalid rows (score outside [0, 1] or missing, prediction missing or not
// a reference class) are left out of every metric.
type EstimateChunk struct {
	Index         int         `json:"index"`
	Start         int         `json:"start"`
	End           int         `json:"end"`
	Rows          int         `json:"rows"`
	Invalid       int         `json:"invalid"`
	Estimated     PerfMetrics `json:"estimated"`
	SamplingError PerfMetrics `json:"sampling_error"`
	// Realized is present when the current data has the label column;
	// Labelled counts the rows it is computed on.
	Realized *PerfMetrics `json:"realized,omitempty"`
	Labelled *int         `json:"labelled,omitempty"`
}

// PerfMetrics are a binary classifier's metrics, estimated or realized; a
// metric that cannot be computed is null.
type PerfMetrics struct {
	ROCAUC           Float `json:"roc_auc"`
	Accuracy         Float `json:"accuracy"`
	F1               Float `json:"f1"`
	Precision        Float `json:"precision"`
	Recall           Float `json:"recall"`
	Specificity      Float `json:"specificity"`
	AveragePrecision Float `json:"average_precision"`
	TruePositive     Float `json:"true_positive"`
	FalsePositive    Float `json:"false_positive"`
	FalseNegative    Float `json:"false_negative"`
	TrueNegative     Float `json:"true_negative"`
}

// PerfOf converts cbpe's metrics.
func PerfOf(m cbpe.Metrics) PerfMetrics {
	return PerfMetrics{Float(m.ROCAUC), Float(m.Accuracy), Float(m.F1), Float(m.Precision), Float(m.Recall),
		Float(m.Specificity), Float(m.AveragePrecision), Float(m.TruePositive), Float(m.FalsePositive),
		Float(m.FalseNegative), Float(m.TrueNegative)}
}

// Get returns a metric by its JSON name (cbpe.Names).
func (m PerfMetrics) Get(name string) (float64, bool) {
	vals := []Float{m.ROCAUC, m.Accuracy, m.F1, m.Precision, m.Recall, m.Specificity, m.AveragePrecision,
		m.TruePositive, m.FalsePositive, m.FalseNegative, m.TrueNegative}
	for i, n := range cbpe.Names {
		if n == name {
			return float64(vals[i]), true
		}
	}
	return math.NaN(), false
}

// EstimatedQuality is `check`'s quality.estimated: the estimated metrics
// of the whole current file (its label column absent), with their sampling
// errors.
type EstimatedQuality struct {
	PerfMetrics
	Calibrated    bool        `json:"calibrated"`
	Rows          int         `json:"rows"`
	Invalid       int         `json:"invalid"`
	SamplingError PerfMetrics `json:"sampling_error"`
}

// isEstimatedMetric reports whether a gate names an estimated metric.
func isEstimatedMetric(name string) bool {
	rest, ok := strings.CutPrefix(name, estimatedPrefix)
	if !ok {
		return false
	}
	for _, n := range cbpe.Names {
		if n == rest {
			return true
		}
	}
	return false
}

// addTo adds q's estimated metrics to a gate's metric map.
func (q *EstimatedQuality) addTo(m map[string]float64) {
	for _, n := range cbpe.Names {
		v, _ := q.Get(n)
		m[estimatedPrefix+n] = v
	}
}

// EstimateGate is one --require expression of `estimate`: it must hold in
// every chunk. Value is the first failing chunk's (Chunk its index), or the
// last chunk's when all pass.
type EstimateGate struct {
	Expr  string `json:"expr"`
	Value Float  `json:"value"`
	Chunk int    `json:"chunk"`
	Pass  bool   `json:"pass"`
}

// ApplyEstimateGates evaluates gates on estimated metrics against every
// chunk and records the results. A gate on a metric that is null in a chunk
// fails, and so does any gate when there are no chunks.
func ApplyEstimateGates(r *EstimateReport, gates []Gate) (pass bool) {
	pass = true
	for _, g := range gates {
		res := EstimateGate{Expr: g.Expr, Value: Float(math.NaN()), Chunk: -1}
		name, ok := strings.CutPrefix(g.Metric, estimatedPrefix)
		if ok && len(r.Chunks) > 0 {
			res.Pass = true
			for _, c := range r.Chunks {
				v, _ := c.Estimated.Get(name)
				res.Value, res.Chunk = Float(v), c.Index
				if !compare(v, g.Op, g.Value) {
					res.Pass = false
					break
				}
			}
		}
		r.Gates = append(r.Gates, res)
		pass = pass && res.Pass
	}
	return pass
}

// compare applies a gate's operator; NaN fails every comparison.
func compare(v float64, op string, want float64) bool {
	switch op {
	case ">=":
		return v >= want
	case "<=":
		return v <= want
	case ">":
		return v > want
	case "<":
		return v < want
	case "==":
		return v == want
	case "!=":
		return v != want && v == v
	}
	return false
}
