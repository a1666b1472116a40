package detectors

import (
	"fmt"
	"math"
	"strings"

	"driftwatch/chunk"
	"driftwatch/dataset"
	"driftwatch/multivariate"
	"driftwatch/profile"
)

// MethodPCA names the multivariate method in the report.
const MethodPCA = "pca_reconstruction"

// fewChunksRate is the chance alert rate above which a report notes that its
// implicit thresholds rest on too few reference chunks (3σ from 10 chunks
// gives 2.4%, from 9 3%).
const fewChunksRate = 0.025

// MultivariateConfig configures multivariate drift: the PCA's share of the
// variance and the threshold's multiple of the reference chunks' standard
// deviation (NannyML's defaults 0.65 and 3).
type MultivariateConfig struct {
	Enabled         bool    `yaml:"enabled"`
	Variance        float64 `yaml:"variance"`
	ThresholdSigmas float64 `yaml:"threshold_sigmas"`
}

func (c *MultivariateConfig) validate() error {
	if !(c.Variance > 0 && c.Variance < 1) {
		return fmt.Errorf("multivariate.variance must be in (0, 1), got %g", c.Variance)
	}
	if !(c.ThresholdSigmas > 0) || math.IsInf(c.ThresholdSigmas, 0) {
		return fmt.Errorf("multivariate.threshold_sigmas must be positive, got %g", c.ThresholdSigmas)
	}
	return nil
}

// Chunking says how `check` splits the rows: Size rows per chunk, or Count
// chunks (⌊n/Count⌋ rows plus the remainder), applied separately to the
// reference and the current data; neither means one chunk of all current rows,
// with the reference split into chunks of the current data's size.
type Chunking struct {
	Size, Count int
}

func (c Chunking) split(rows int) ([]chunk.Range, error) {
	switch {
	case c.Size > 0:
		return chunk.BySize(rows, c.Size)
	case c.Count > 0:
		return chunk.ByCount(rows, c.Count)
	}
	return chunk.Whole(rows), nil
}

// MultivariateResult is the report's multivariate section. Value and
// SamplingError are over all current rows; the thresholds come from the
// reference's chunks (ReferenceChunks); Drift is whether any current chunk
// (the whole current data without chunking) is not strictly between them.
type MultivariateResult struct {
	Method            string   `json:"method"`
	Features          []string `json:"features"`
	ConstantFeatures  []string `json:"constant_features"`
	Components        int      `json:"components"`
	VarianceExplained Float    `json:"variance_explained"`
	ReferenceValue    Float    `json:"reference_value"`
	Value             Float    `json:"value"`
	SamplingError     Float    `json:"sampling_error"`
	LowerThreshold    Float    `json:"lower_threshold"` // null: none
	UpperThreshold    Float    `json:"upper_threshold"`
	Drift             bool     `json:"drift"`
	// ImputedRows counts current rows with a missing value, imputed as in
	// the reference.
	ImputedRows     int              `json:"imputed_rows"`
	ReferenceChunks []ReferenceChunk `json:"reference_chunks"`
}

// ReferenceChunk is one reference chunk's value, which the thresholds come
// from.
type ReferenceChunk struct {
	Index int   `json:"index"`
	Start int   `json:"start"`
	End   int   `json:"end"`
	Rows  int   `json:"rows"`
	Value Float `json:"value"`
}

// Chunk is one chunk of the current data (--chunk-size, --chunks).
type Chunk struct {
	Index        int                `json:"index"`
	Start        int                `json:"start"`
	End          int                `json:"end"`
	Rows         int                `json:"rows"`
	Multivariate *ChunkMultivariate `json:"multivariate,omitempty"`
}

// ChunkMultivariate is a chunk's reconstruction error against the thresholds.
type ChunkMultivariate struct {
	Value         Float `json:"value"`
	SamplingError Float `json:"sampling_error"`
	Drift         bool  `json:"drift"`
}

// CompareMultivariate adds multivariate drift to r: the section when the
// reference has a model, a note saying why not otherwise, and the current
// data's chunks when ch asks for chunking. A drift sets r.DriftDetected. It
// fails only on a chunking the rows cannot make.
func CompareMultivariate(r *Report, ref *profile.Profile, cur *dataset.Table, cfg Config, ch Chunking) error {
	curRanges, err := ch.split(cur.Rows)
	if err != nil {
		return fmt.Errorf("detectors: current data: %w", err)
	}
	chunked := ch.Size > 0 || ch.Count > 0
	if chunked {
		r.Chunks = make([]Chunk, len(curRanges))
		for i, c := range curRanges {
			r.Chunks[i] = Chunk{Index: c.Index, Start: c.Start, End: c.End, Rows: c.Rows()}
		}
	}
	mc := cfg.Multivariate
	mv := ref.Multivariate
	switch {
	case !mc.Enabled:
		return nil
	case mv == nil:
		r.Notes = append(r.Notes, "multivariate drift: the reference profile has no multivariate model; rebuild it with `driftwatch profile build`")
		return nil
	case mv.Model == nil:
		r.Notes = append(r.Notes, "multivariate drift: not computed: "+mv.Skipped)
		return nil
	}
	m := mv.Model
	var ignored []string
	for _, f := range m.Features {
		if cfg.Features[f.Name].Ignore {
			ignored = append(ignored, f.Name)
		}
	}
	if len(ignored) > 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("multivariate drift: the reference profile's model includes %s, which this check ignores; build the profile with --exclude to leave them out", strings.Join(ignored, ", ")))
	}
	if m.Variance != mc.Variance {
		r.Notes = append(r.Notes, fmt.Sprintf("multivariate drift: the reference profile's PCA keeps %g of the variance, the configuration asks %g; rebuild the profile to change it", m.Variance, mc.Variance))
	}
	errs, imputed, err := m.Errors(profile.MultivariateColumns(ref, cur))
	if err != nil {
		r.Notes = append(r.Notes, "multivariate drift: not computed: "+err.Error())
		return nil
	}
	var refRanges []chunk.Range
	if chunked {
		refRanges, err = ch.split(ref.Rows)
	} else if cur.Rows > 0 {
		refRanges, err = chunk.BySize(ref.Rows, cur.Rows)
	}
	if err != nil {
		return fmt.Errorf("detectors: reference: %w", err)
	}
	res := &MultivariateResult{
		Method: MethodPCA, ConstantFeatures: append([]string{}, m.Constant...),
		Components: m.K(), VarianceExplained: Float(m.VarianceExplained()),
		ReferenceValue: Float(multivariate.Summarize(mv.Errors).Value), ImputedRows: imputed,
	}
	for _, f := range m.Features {
		res.Features = append(res.Features, f.Name)
	}
	values := make([]float64, len(refRanges))
	for i, c := range refRanges {
		values[i] = multivariate.Summarize(mv.Errors[c.Start : c.End+1]).Value
		res.ReferenceChunks = append(res.ReferenceChunks, ReferenceChunk{Index: c.Index, Start: c.Start, End: c.End, Rows: c.Rows(), Value: Float(values[i])})
	}
	lower, upper := math.NaN(), math.NaN()
	if chunked || len(values) >= 2 {
		lower, upper = multivariate.Thresholds(values, mc.ThresholdSigmas)
		if rate := multivariate.ChanceAlertRate(len(values), mc.ThresholdSigmas); !chunked && rate > fewChunksRate {
			r.Notes = append(r.Notes, fmt.Sprintf("multivariate drift: thresholds from only %d reference chunks of the current data's %d rows; data without drift falls outside them about %.0f%% of the time (normal chunk values); --chunk-size with more reference chunks makes them steadier", len(values), cur.Rows, 100*rate))
		}
	} else {
		r.Notes = append(r.Notes, fmt.Sprintf("multivariate drift: no thresholds: the reference (%d rows) makes fewer than two chunks of the current data's %d rows; use --chunk-size or --chunks", ref.Rows, cur.Rows))
	}
	res.LowerThreshold, res.UpperThreshold = Float(lower), Float(upper)
	whole := multivariate.Summarize(errs)
	res.Value, res.SamplingError = Float(whole.Value), Float(whole.SamplingError)
	for i, c := range curRanges {
		s := multivariate.Summarize(errs[c.Start : c.End+1])
		drift := multivariate.Alert(s.Value, lower, upper)
		res.Drift = res.Drift || drift
		if chunked {
			r.Chunks[i].Multivariate = &ChunkMultivariate{Value: Float(s.Value), SamplingError: Float(s.SamplingError), Drift: drift}
		}
	}
	r.Multivariate = res
	r.DriftDetected = r.DriftDetected || res.Drift
	return nil
}
