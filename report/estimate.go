package report

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"math"
	"strings"

	"driftwatch/charts"
	"driftwatch/detectors"
)

// WriteEstimate renders an `estimate` report in the given format.
func WriteEstimate(w io.Writer, r *detectors.EstimateReport, format string) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(r)
	case "markdown", "md":
		return EstimateMarkdown(w, r)
	case "html":
		return EstimateHTML(w, r)
	}
	return fmt.Errorf("report: unknown format %q (want %s)", format, strings.Join(Formats, ", "))
}

// rateMetrics are the estimated metrics in [0, 1] that tables and charts
// show, with their titles; confusion-matrix counts are in the JSON.
var rateMetrics = []struct{ Name, Title string }{
	{"roc_auc", "ROC AUC"}, {"accuracy", "accuracy"}, {"f1", "F1"}, {"precision", "precision"},
	{"recall", "recall"}, {"specificity", "specificity"}, {"average_precision", "average precision"},
}

// samplingRange is NannyML's SAMPLING_ERROR_RANGE: the band is the estimate
// ± 3 sampling errors, clipped to [0, 1].
const samplingRange = 3

func band(est, se float64) (lo, hi float64) {
	return math.Max(0, est-samplingRange*se), math.Min(1, est+samplingRange*se)
}

func estimateVerdict(r *detectors.EstimateReport) (string, int) {
	failed := 0
	for _, g := range r.Gates {
		if !g.Pass {
			failed++
		}
	}
	if failed > 0 {
		return fmt.Sprintf("❌ %d of %d gates failed", failed, len(r.Gates)), failed
	}
	if len(r.Gates) > 0 {
		return fmt.Sprintf("✅ all %d gates passed", len(r.Gates)), 0
	}
	return "estimated performance", 0
}

// classesText names the positive class (binary) or the classes the macro
// averages run over (multiclass).
func classesText(r *detectors.EstimateReport) string {
	if len(r.Classes) > 0 {
		return fmt.Sprintf("classes %s (metrics are one-vs-rest macro averages)", strings.Join(r.Classes, ", "))
	}
	return fmt.Sprintf("positive class %q", r.Positive)
}

// EstimateMarkdown writes the verdict, then one row per chunk with each
// estimate ± 3 sampling errors and, when labelled, the realized value.
func EstimateMarkdown(w io.Writer, r *detectors.EstimateReport) error {
	var b strings.Builder
	verdict, _ := estimateVerdict(r)
	fmt.Fprintf(&b, "## driftwatch estimate (CBPE): %s\n\n", verdict)
	cal := "calibrated on the reference (isotonic)"
	if !r.Calibrated {
		cal = "not calibrated"
	}
	fmt.Fprintf(&b, "%d chunks of %d current rows, reference %d rows, %s, scores %s. Each estimate is shown ± 3 sampling errors",
		len(r.Chunks), r.CurrentRows, r.ReferenceRows, classesText(r), cal)
	labelled := len(r.Chunks) > 0 && r.Chunks[0].Realized != nil
	if labelled {
		b.WriteString("; realized values in brackets")
	}
	b.WriteString(".\n\n| chunk | rows | invalid |")
	for _, m := range rateMetrics {
		b.WriteString(" " + m.Title + " |")
	}
	b.WriteString("\n|---|---:|---:|" + strings.Repeat("---:|", len(rateMetrics)) + "\n")
	for _, c := range r.Chunks {
		fmt.Fprintf(&b, "| [%d:%d] | %d | %d |", c.Start, c.End, c.Rows, c.Invalid)
		for _, m := range rateMetrics {
			est, _ := c.Estimated.Get(m.Name)
			se, _ := c.SamplingError.Get(m.Name)
			cell := charts.Num(est)
			if !math.IsNaN(se) && !math.IsNaN(est) {
				cell += " ± " + charts.Num(samplingRange*se)
			}
			if c.Realized != nil {
				real, _ := c.Realized.Get(m.Name)
				cell += " (" + charts.Num(real) + ")"
			}
			b.WriteString(" " + cell + " |")
		}
		b.WriteString("\n")
	}
	if len(r.Gates) > 0 {
		b.WriteString("\n| gate | worst chunk | value | result |\n|---|---:|---:|---|\n")
		for _, g := range r.Gates {
			res := "pass"
			if !g.Pass {
				res = "**fail**"
			}
			fmt.Fprintf(&b, "| `%s` | %d | %s | %s |\n", g.Expr, g.Chunk, charts.Num(float64(g.Value)), res)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

//go:embed estimate.tmpl
var estimateTmpl string

var estimatePage = template.Must(template.New("estimate").Funcs(charts.Funcs()).Funcs(template.FuncMap{
	"gateValue": func(f detectors.Float) string { return charts.Num(float64(f)) },
}).Parse(estimateTmpl))

type estimateHTML struct {
	R       *detectors.EstimateReport
	Style   template.CSS
	Title   string
	Verdict string
	Failed  int
	Passed  int
	Classes string
	RefRows string
	CurRows string
	Charts  []template.HTML
	Rows    []estimateRow
	Titles  []string
}

type estimateRow struct {
	C     detectors.EstimateChunk
	Cells []estimateCell
}

type estimateCell struct {
	Est, Band, Real string
}

// EstimateHTML writes a self-contained page (inline CSS and SVG): the
// verdict, one chart per metric of the estimate per chunk with its band and
// the realized value, and the table of numbers.
func EstimateHTML(w io.Writer, r *detectors.EstimateReport) error {
	v := estimateHTML{R: r, Style: charts.Stylesheet()}
	v.Verdict, v.Failed = estimateVerdict(r)
	v.Verdict = strings.TrimLeft(v.Verdict, "✅❌ ") // the badge says it
	v.Passed = len(r.Gates) - v.Failed
	v.Classes = classesText(r)
	v.RefRows, v.CurRows = charts.Count(float64(r.ReferenceRows)), charts.Count(float64(r.CurrentRows))
	v.Title = "driftwatch estimate: " + v.Verdict
	labels := make([]string, len(r.Chunks))
	for i, c := range r.Chunks {
		labels[i] = fmt.Sprintf("[%d:%d]", c.Start, c.End)
	}
	for _, m := range rateMetrics {
		v.Titles = append(v.Titles, m.Title)
		b := charts.Band{Title: "estimated " + m.Title + " per chunk", YLabel: m.Title, Labels: labels}
		for _, c := range r.Chunks {
			est, _ := c.Estimated.Get(m.Name)
			se, _ := c.SamplingError.Get(m.Name)
			lo, hi := band(est, se)
			b.Estimated, b.Lower, b.Upper = append(b.Estimated, est), append(b.Lower, lo), append(b.Upper, hi)
			if c.Realized != nil {
				real, _ := c.Realized.Get(m.Name)
				b.Realized = append(b.Realized, real)
			}
		}
		svg, err := charts.BandSVG(b)
		if err != nil {
			return fmt.Errorf("report: estimate html: %w", err)
		}
		v.Charts = append(v.Charts, svg)
	}
	for _, c := range r.Chunks {
		row := estimateRow{C: c}
		for _, m := range rateMetrics {
			est, _ := c.Estimated.Get(m.Name)
			se, _ := c.SamplingError.Get(m.Name)
			lo, hi := band(est, se)
			cell := estimateCell{Est: charts.Num(est), Band: charts.Num(lo) + " – " + charts.Num(hi), Real: "–"}
			if c.Realized != nil {
				real, _ := c.Realized.Get(m.Name)
				cell.Real = charts.Num(real)
			}
			row.Cells = append(row.Cells, cell)
		}
		v.Rows = append(v.Rows, row)
	}
	if err := estimatePage.Execute(w, v); err != nil {
		return fmt.Errorf("report: estimate html: %w", err)
	}
	return nil
}

// estimatedQuality lists `check`'s estimated metrics (quality.estimated),
// named as gates name them.
func estimatedQuality(q *detectors.Quality) []metric {
	if q.Estimated == nil {
		return nil
	}
	var out []metric
	for _, m := range rateMetrics {
		v, _ := q.Estimated.Get(m.Name)
		out = append(out, metric{"estimated." + m.Name, v})
	}
	return out
}

// estimatedMarkdown adds `check`'s estimated metrics to the quality table,
// each ± 3 sampling errors.
func estimatedMarkdown(b *strings.Builder, q *detectors.Quality) {
	if q.Estimated == nil {
		return
	}
	for _, m := range rateMetrics {
		v, _ := q.Estimated.Get(m.Name)
		se, _ := q.Estimated.SamplingError.Get(m.Name)
		cell := num(v)
		if !math.IsNaN(v) && !math.IsNaN(se) {
			cell += " ± " + num(samplingRange*se)
		}
		fmt.Fprintf(b, "| estimated.%s | %s |\n", m.Name, cell)
	}
	fmt.Fprintf(b, "\nEstimated from scores alone (CBPE) over %d rows (%d invalid left out); no labels in the current data.\n",
		q.Estimated.Rows, q.Estimated.Invalid)
}
