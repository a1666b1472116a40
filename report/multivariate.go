package report

import (
	"fmt"
	"math"
	"strings"

	"driftwatch/charts"
	"driftwatch/detectors"
)

// samplingBand is the multiple of the sampling error drawn around each
// current chunk (NannyML's SAMPLING_ERROR_RANGE).
const samplingBand = 3

// A report charts at most maxChartedChunks chunks (reference and current)
// and lists at most maxListedChunks current chunks, the drifted ones when
// there are more, so a small chunk size on a large file cannot blow up the
// page; the JSON report has every chunk.
const (
	maxChartedChunks = 400
	maxListedChunks  = 100
)

// listedChunks returns the current chunks the tables show and a sentence on
// those they leave out ("" for none).
func listedChunks(r *detectors.Report) ([]detectors.Chunk, string) {
	if len(r.Chunks) <= maxListedChunks {
		return r.Chunks, ""
	}
	var out []detectors.Chunk
	drifted := 0
	for _, c := range r.Chunks {
		if c.Multivariate != nil && c.Multivariate.Drift {
			drifted++
			if len(out) < maxListedChunks {
				out = append(out, c)
			}
		}
	}
	left := len(r.Chunks) - len(out)
	if drifted > len(out) {
		return out, fmt.Sprintf("%d more chunks (%d of them drifted) are in the JSON report.", left, drifted-len(out))
	}
	return out, fmt.Sprintf("%d more chunks without drift are in the JSON report.", left)
}

// chunkSeries is the multivariate section as a chart: the reference chunks'
// values, then the current chunks' (the whole current data when unchunked).
func chunkSeries(r *detectors.Report) *charts.ChunkSeries {
	m := r.Multivariate
	if m == nil || len(m.ReferenceChunks)+max(len(r.Chunks), 1) > maxChartedChunks {
		return nil
	}
	s := &charts.ChunkSeries{Title: "PCA reconstruction error per chunk against the reference thresholds",
		YLabel: "reconstruction error", Band: samplingBand,
		Lower: float64(m.LowerThreshold), Upper: float64(m.UpperThreshold)}
	for _, c := range m.ReferenceChunks {
		s.Reference = append(s.Reference, float64(c.Value))
	}
	if len(r.Chunks) == 0 {
		s.Current, s.SamplingError = []float64{float64(m.Value)}, []float64{float64(m.SamplingError)}
		return s
	}
	for _, c := range r.Chunks {
		if c.Multivariate != nil {
			s.Current = append(s.Current, float64(c.Multivariate.Value))
			s.SamplingError = append(s.SamplingError, float64(c.Multivariate.SamplingError))
		}
	}
	return s
}

// markdownMultivariate writes the multivariate section: the verdict, a
// Mermaid chart of the chunks against the thresholds (GitHub renders it), and
// the chunk table; or the notes saying why there is none.
func markdownMultivariate(b *strings.Builder, r *detectors.Report) {
	if m := r.Multivariate; m != nil {
		verdict := "no drift"
		if m.Drift {
			verdict = "**drift**"
		}
		fmt.Fprintf(b, "\n### Multivariate drift (PCA reconstruction error): %s\n\n", verdict)
		explain := fmt.Sprintf("%d components explain", m.Components)
		if m.Components == 1 {
			explain = "1 component explains"
		}
		fmt.Fprintf(b, "%s %s of the variance of %d features (%s). Reconstruction error %s ± %s (reference %s); thresholds %s – %s.",
			explain, pct(float64(m.VarianceExplained)), len(m.Features), mdCodes(m.Features),
			num(float64(m.Value)), num(float64(m.SamplingError)), num(float64(m.ReferenceValue)),
			num(float64(m.LowerThreshold)), num(float64(m.UpperThreshold)))
		if len(m.ConstantFeatures) > 0 {
			fmt.Fprintf(b, " Left out as constant in the reference: %s.", mdCodes(m.ConstantFeatures))
		}
		if m.ImputedRows > 0 {
			fmt.Fprintf(b, " %d current rows had a missing value, imputed as in the reference.", m.ImputedRows)
		}
		b.WriteString("\n\n")
		if s := chunkSeries(r); s != nil {
			markdownChart(b, s)
		} else {
			fmt.Fprintf(b, "%d reference and %d current chunks are too many to chart; the JSON report has each.\n", len(m.ReferenceChunks), len(r.Chunks))
		}
		if rows, omitted := listedChunks(r); len(rows) > 0 || omitted != "" {
			b.WriteString("\n| chunk | rows | reconstruction error | sampling error | drift |\n|---|---:|---:|---:|---|\n")
			for _, c := range rows {
				if cm := c.Multivariate; cm != nil {
					mark := "no"
					if cm.Drift {
						mark = "**yes**"
					}
					fmt.Fprintf(b, "| [%d:%d] | %d | %s | %s | %s |\n", c.Start, c.End, c.Rows, num(float64(cm.Value)), num(float64(cm.SamplingError)), mark)
				}
			}
			if omitted != "" {
				fmt.Fprintf(b, "\n%s\n", omitted)
			}
		}
	}
	for _, n := range r.Notes {
		fmt.Fprintf(b, "\n> %s\n", mdEscape(n))
	}
}

// markdownChart writes s as a Mermaid xychart: the chunks' values, then the
// thresholds as flat lines.
func markdownChart(b *strings.Builder, s *charts.ChunkSeries) {
	var labels, values, lower, upper []string
	for i, v := range s.Reference {
		labels = append(labels, fmt.Sprintf(`"ref %d"`, i))
		values = append(values, mermaidNum(v))
	}
	for i, v := range s.Current {
		labels = append(labels, fmt.Sprintf(`"cur %d"`, i))
		values = append(values, mermaidNum(v))
	}
	for range labels {
		lower = append(lower, mermaidNum(s.Lower))
		upper = append(upper, mermaidNum(s.Upper))
	}
	b.WriteString("```mermaid\nxychart-beta\n    title \"Reconstruction error per chunk (reference, then current) and thresholds\"\n")
	fmt.Fprintf(b, "    x-axis [%s]\n    y-axis \"reconstruction error\"\n    line [%s]\n", strings.Join(labels, ", "), strings.Join(values, ", "))
	if !math.IsNaN(s.Upper) {
		fmt.Fprintf(b, "    line [%s]\n", strings.Join(upper, ", "))
	}
	if !math.IsNaN(s.Lower) {
		fmt.Fprintf(b, "    line [%s]\n", strings.Join(lower, ", "))
	}
	b.WriteString("```\n")
}

func mdCodes(names []string) string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = "`" + mdEscape(n) + "`"
	}
	return strings.Join(out, ", ")
}

// mermaidNum writes a value for a Mermaid chart (0 for none: the line is
// then left out by the caller).
func mermaidNum(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "0"
	}
	return fmt.Sprintf("%.6g", v)
}
