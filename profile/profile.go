// Package profile builds, writes and loads reference profiles: the summary of
// training (reference) data that every drift comparison runs against.
//
// A numeric feature keeps its decile bin edges and counts, min/max/mean/std,
// null and invalid counts, and its non-null values (or a bounded sample
// of order statistics) for the exact KS and Wasserstein tests. A categorical
// feature keeps its category counts. Statistics are computed by package
// stats; deciding what is drift is left to package detectors.
//
// The file format is versioned and checksummed (see encode.go) and loads with
// one read and one checksum pass, much faster than rebuilding from raw data.
package profile

import (
	"fmt"
	"slices"
	"sort"

	"driftwatch/dataset"
	"driftwatch/multivariate"
	"driftwatch/stats"
)

// Kind names a feature's kind in profiles and reports.
type Kind string

const (
	Numeric     Kind = "numeric"
	Categorical Kind = "categorical"
)

// DefaultBins is the number of equal-frequency bins (reference deciles).
const DefaultBins = 10

// FineFactor is how many fine bins each PSI bin is split into: with 10
// deciles, 200 fine bins keep the binned KS statistic within 0.005 of the
// exact one (stats.KSBinned).
const FineFactor = 20

// Feature is the reference summary of one column.
type Feature struct {
	Name    string `json:"name"`
	Kind    Kind   `json:"kind"`
	Rows    int    `json:"rows"`
	Nulls   int    `json:"nulls"`
	Invalid int    `json:"invalid"`

	// Numeric only.
	Summary stats.Summary `json:"summary"`
	Edges   []float64     `json:"edges,omitempty"`  // Bins-1 interior decile edges
	Counts  []float64     `json:"counts,omitempty"` // reference counts per bin (len(Edges)+1)
	// FineEdges split every PSI bin into FineFactor reference-quantile bins
	// (levels k/(Bins·FineFactor)); they contain Edges exactly, so counts
	// kept on fine bins sum to the PSI bins' counts. The streaming monitor
	// bins on them.
	FineEdges  []float64 `json:"fine_edges,omitempty"`
	FineCounts []float64 `json:"fine_counts,omitempty"`
	// Sample holds the non-null values in input order, or, when the profile
	// was built with a sample bound, a sorted sample of evenly spaced order
	// statistics. The tests need no order: stats.KSWasserstein buckets.
	Sample []float64 `json:"-"`
	// Values is the number of non-null values Sample stands for; it equals
	// len(Sample) unless the profile is sampled.
	Values int `json:"values"`

	// Categorical only: categories sorted by name and their counts.
	Categories []string  `json:"categories,omitempty"`
	CatCounts  []float64 `json:"category_counts,omitempty"`
}

// Sampled reports whether Sample is a sample rather than every value.
func (f *Feature) Sampled() bool { return f.Kind == Numeric && len(f.Sample) != f.Values }

// Profile is the reference summary of a whole dataset.
type Profile struct {
	Source   string     `json:"source"`
	Rows     int        `json:"rows"`
	Bins     int        `json:"bins"`
	Features []*Feature `json:"features"`
	// Calibration holds false-alarm thresholds from `driftwatch profile
	// calibrate`; nil until it ran.
	Calibration *Calibration `json:"calibration,omitempty"`
	// Estimation holds the performance estimator fitted on the reference's
	// label, score and prediction (profile build --label --score
	// --prediction); nil otherwise.
	Estimation *Estimation `json:"estimation,omitempty"`
	// Multivariate holds the PCA model of multivariate drift (see
	// Multivariate); nil when the profile was built without it.
	Multivariate *Multivariate `json:"multivariate,omitempty"`
}

// Feature returns the named feature or nil.
func (p *Profile) Feature(name string) *Feature {
	for _, f := range p.Features {
		if f.Name == name {
			return f
		}
	}
	return nil
}

// Options controls Build.
type Options struct {
	Bins int // equal-frequency bins; DefaultBins when 0
	// MaxSample bounds the stored values per numeric feature; 0 keeps
	// them all. A sample of m evenly spaced order statistics shifts the
	// empirical CDF by at most 1/(m-1), so KS statistics computed against it
	// are within 1/(m-1) of the exact ones (see README).
	MaxSample int
	Exclude   map[string]bool // columns that are not features (label, prediction, score)
	// MultivariateVariance is the share of variance the multivariate drift
	// PCA keeps (multivariate.DefaultVariance when 0); NoMultivariate skips
	// the fit.
	MultivariateVariance float64
	NoMultivariate       bool
}

// Build summarises every column of t except the excluded ones, one feature
// per core at a time: columns are independent and each pass is memory-bound.
func Build(t *dataset.Table, opt Options) (*Profile, error) {
	if opt.Bins == 0 {
		opt.Bins = DefaultBins
	}
	if opt.Bins < 2 {
		return nil, fmt.Errorf("profile: bins must be at least 2, got %d", opt.Bins)
	}
	if opt.MaxSample == 1 || opt.MaxSample < 0 {
		return nil, fmt.Errorf("profile: max sample must be 0 (all) or at least 2, got %d", opt.MaxSample)
	}
	p := &Profile{Source: t.Path, Rows: t.Rows, Bins: opt.Bins}
	var cols []*dataset.Column
	for _, c := range t.Columns {
		if opt.Exclude[c.Name] {
			continue
		}
		cols = append(cols, c)
		p.Features = append(p.Features, nil)
	}
	stats.Parallel(len(cols), func(i int) {
		p.Features[i] = buildFeature(cols[i], t.Rows, opt)
	})
	if !opt.NoMultivariate {
		v := opt.MultivariateVariance
		if v == 0 {
			v = multivariate.DefaultVariance
		}
		p.Multivariate = buildMultivariate(p, t, v)
	}
	return p, nil
}

func buildFeature(c *dataset.Column, rows int, opt Options) *Feature {
	f := &Feature{Name: c.Name, Rows: rows, Nulls: c.Nulls, Invalid: c.Invalid}
	if c.Kind == dataset.KindCategorical {
		f.Kind = Categorical
		f.Categories, f.CatCounts = CountCategories(c)
		return f
	}
	f.Kind = Numeric
	vals := NonNull(c.Num, nil)
	f.Values = len(vals)
	f.Summary = stats.Summarize(vals)
	f.Counts = make([]float64, opt.Bins)
	if len(vals) > 0 {
		// Levels k/B and (k·F)/(B·F) are the same correctly rounded double,
		// so the fine edges contain the PSI edges bit for bit.
		edges, counts := stats.QuantileBins(vals, opt.Bins, opt.Bins*FineFactor)
		f.Edges, f.Counts = edges[0], counts[0]
		f.FineEdges, f.FineCounts = edges[1], counts[1]
	}
	f.Sample = vals
	if opt.MaxSample > 0 && len(vals) > opt.MaxSample {
		sorted := slices.Clone(vals)
		stats.SortFloat64s(sorted, nil)
		f.Sample = sampleOrderStats(sorted, opt.MaxSample)
	}
	return f
}

// NonNull returns the non-NaN values of xs in order: xs itself when it has
// no NaN (the common case, and a read-only pass), else a copy appended to
// dst[:0].
func NonNull(xs, dst []float64) []float64 {
	clean := true
	for _, x := range xs {
		if x != x {
			clean = false
			break
		}
	}
	if clean {
		return xs
	}
	dst = dst[:0]
	for _, x := range xs {
		if x == x {
			dst = append(dst, x)
		}
	}
	return dst
}

// sampleOrderStats keeps m evenly spaced order statistics, always including
// the minimum and maximum.
func sampleOrderStats(sorted []float64, m int) []float64 {
	out := make([]float64, m)
	n := len(sorted)
	for i := range out {
		out[i] = sorted[int((int64(i)*int64(n-1)+int64(m-1)/2)/int64(m-1))]
	}
	return out
}

// CountCategories returns the non-null categories of c sorted by name and
// their counts.
func CountCategories(c *dataset.Column) ([]string, []float64) {
	m := make(map[string]float64)
	for i, s := range c.Str {
		if c.Null != nil && c.Null[i] {
			continue
		}
		m[s]++
	}
	cats := make([]string, 0, len(m))
	for k := range m {
		cats = append(cats, k)
	}
	sort.Strings(cats)
	counts := make([]float64, len(cats))
	for i, k := range cats {
		counts[i] = m[k]
	}
	return cats, counts
}
