package report

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"math"
	"strings"

	"driftwatch/charts"
	"driftwatch/detectors"
	"driftwatch/vocab"
)

//go:embed html.tmpl
var htmlTmpl string

var htmlPage = template.Must(template.New("report").Funcs(charts.Funcs()).Funcs(template.FuncMap{"float": toFloat}).Parse(htmlTmpl))

// toFloat lets the template format report numbers of any type.
func toFloat(v any) float64 {
	switch x := v.(type) {
	case detectors.Float:
		return float64(x)
	case float64:
		return x
	case int:
		return float64(x)
	}
	return math.NaN()
}

// htmlReport is what the HTML template shows: the report plus what it needs
// precomputed (order, deciding values, chart data).
type htmlReport struct {
	R        *detectors.Report
	Style    template.CSS
	Features []htmlFeature
	Quality  []metric
	Gates    int    // gates that passed
	Title    string // of the page
	// Chunks charts the multivariate section (nil without one, or with too
	// many chunks); ChunkRows are the chunks its table lists and
	// ChunksOmitted says which it leaves out.
	Chunks        *charts.ChunkSeries
	ChunkRows     []detectors.Chunk
	ChunksOmitted string
}

type metric struct {
	Name  string
	Value float64
}

type htmlFeature struct {
	ID                string // anchor: by position, never from the name
	F                 *detectors.FeatureResult
	Value, Threshold  float64
	PValue            bool // the deciding test compares a p-value
	Rule              string
	PSI               float64
	Stats             []statRow
	Hist              *charts.Histogram
	Unseen            []string
	UnseenMore        int
	Bins              []charts.Bin
	Missing           bool
	DecidingStatistic string
}

type statRow struct {
	Name, Value, Detail, Threshold string
	Drift, Deciding, Computed      bool
}

// maxUnseenShown bounds the unseen categories named on the page (the JSON
// report lists up to 100).
const maxUnseenShown = 12

// HTML writes a self-contained page (inline CSS and SVG, no script, no
// external resource): the verdict, a table of features with drifted ones
// first, and per feature the reference and current histograms, every
// statistic against its threshold and the data-quality counts. Charts come
// from the report's histograms, so the page's size depends on the number of
// features and bins, not of rows.
func HTML(w io.Writer, r *detectors.Report) error {
	v := htmlReport{R: r, Style: charts.Stylesheet(), Chunks: chunkSeries(r)}
	v.ChunkRows, v.ChunksOmitted = listedChunks(r)
	v.Title = "driftwatch: no drift"
	if r.DriftDetected {
		v.Title = fmt.Sprintf("driftwatch: drift in %d of %d features", r.DriftedFeatures, len(r.Features))
	}
	for _, f := range ordered(r) {
		v.Features = append(v.Features, htmlFeatureOf(f, len(v.Features)))
	}
	if q := r.Quality; q != nil {
		m := q.Metrics()
		for _, name := range qualityOrder {
			if x, ok := m[name]; ok {
				v.Quality = append(v.Quality, metric{name, x})
			}
		}
		v.Quality = append(v.Quality, estimatedQuality(q)...)
	}
	for _, g := range r.Gates {
		if g.Pass {
			v.Gates++
		}
	}
	if err := htmlPage.Execute(w, v); err != nil {
		return fmt.Errorf("report: html: %w", err)
	}
	return nil
}

var qualityOrder = []string{"accuracy", "precision_macro", "recall_macro", "f1_macro", "roc_auc", "log_loss",
	"brier", "ece", "mae", "rmse", "mape", "mean_error", "r2"}

// ordered returns the features with drifted ones first, each group in the
// report's order (as in the Markdown summary).
func ordered(r *detectors.Report) []*detectors.FeatureResult {
	out := make([]*detectors.FeatureResult, 0, len(r.Features))
	for _, drift := range []bool{true, false} {
		for i := range r.Features {
			if r.Features[i].Drift == drift {
				out = append(out, &r.Features[i])
			}
		}
	}
	return out
}

func htmlFeatureOf(f *detectors.FeatureResult, i int) htmlFeature {
	h := htmlFeature{ID: fmt.Sprintf("f%d", i+1), F: f, PSI: math.NaN(), Missing: f.Test == detectors.TestMissing}
	h.Value, h.Threshold = Deciding(f)
	h.PValue = f.Test == detectors.TestKS || f.Test == detectors.TestChiSquare || f.Test == detectors.TestZ
	h.Rule = "≥"
	if h.PValue {
		h.Rule = "<"
	}
	s := &f.Statistics
	if s.PSI != nil {
		h.PSI = float64(s.PSI.Value)
	}
	h.DecidingStatistic = decidingName(f.Test)
	add := func(test vocab.Statistic, name, value, detail string, threshold detectors.Float, rule string, drift bool) {
		h.Stats = append(h.Stats, statRow{Name: name, Value: value, Detail: detail, Threshold: rule + " " + charts.Num(float64(threshold)),
			Drift: drift, Deciding: test == f.Test, Computed: value != "–"})
	}
	if x := s.PSI; x != nil {
		add(detectors.TestPSI, "PSI", charts.Num(float64(x.Value)), "", x.Threshold, "≥", x.Drift)
	}
	if x := s.KS; x != nil {
		add(detectors.TestKS, "Kolmogorov–Smirnov", charts.Num(float64(x.PValue)), "p-value; D = "+charts.Num(float64(x.Statistic)), x.Threshold, "p <", x.Drift)
	}
	if x := s.Wasserstein; x != nil {
		add(detectors.TestWasserstein, "Wasserstein-1", charts.Num(float64(x.Normalized)), "normalized by the reference std; raw "+charts.Num(float64(x.Value)), x.Threshold, "≥", x.Drift)
	}
	if x := s.JensenShannon; x != nil {
		add(detectors.TestJS, "Jensen–Shannon", charts.Num(float64(x.Value)), "distance, base 2", x.Threshold, "≥", x.Drift)
	}
	if x := s.Hellinger; x != nil {
		add(detectors.TestHellinger, "Hellinger", charts.Num(float64(x.Value)), "", x.Threshold, "≥", x.Drift)
	}
	if x := s.ChiSquare; x != nil {
		add(detectors.TestChiSquare, "Chi-square", charts.Num(float64(x.PValue)), fmt.Sprintf("p-value; χ² = %s, dof %d", charts.Num(float64(x.Statistic)), x.DOF), x.Threshold, "p <", x.Drift)
	}
	if x := s.Z; x != nil {
		add(detectors.TestZ, "Two-proportion Z", charts.Num(float64(x.PValue)), "p-value; z = "+charts.Num(float64(x.Statistic)), x.Threshold, "p <", x.Drift)
	}
	unseen := f.DataQuality.UnseenCategories
	if len(unseen) > maxUnseenShown {
		h.Unseen, h.UnseenMore = unseen[:maxUnseenShown], len(unseen)-maxUnseenShown
	} else {
		h.Unseen = unseen
	}
	if len(f.RefCounts) > 0 && len(f.RefCounts) == len(f.CurCounts) {
		hist := &charts.Histogram{Title: f.Name + ": reference and current distributions", Edges: f.Edges,
			Reference: f.RefCounts, Current: f.CurCounts}
		if f.Kind == "categorical" {
			hist.Edges = nil
			hist.Labels = append(append(make([]string, 0, len(f.Categories)+1), f.Categories...), "(unseen)")
		}
		h.Hist = hist
		h.Bins = hist.Bins()
	}
	return h
}

func decidingName(test vocab.Statistic) string {
	switch test {
	case detectors.TestPSI:
		return "PSI"
	case detectors.TestKS:
		return "KS p-value"
	case detectors.TestWasserstein:
		return "Wasserstein (normalized)"
	case detectors.TestJS:
		return "Jensen–Shannon"
	case detectors.TestHellinger:
		return "Hellinger"
	case detectors.TestChiSquare:
		return "chi-square p-value"
	case detectors.TestZ:
		return "Z-test p-value"
	case detectors.TestMissing:
		return "missing column"
	}
	return strings.ReplaceAll(string(test), "_", " ")
}
