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

// chunkSeries is the multivariate section as a chart: the reference chunks'
// values, then the current chunks' (the whole current data when unchunked).
func chunkSeries(r *detectors.Report) *charts.ChunkSeries {
	m := r.Multivariate
	if m == nil {
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
		fmt.Fprintf(b, "%d components explain %s of the variance of %d features (%s). Reconstruction error %s ± %s (reference %s); thresholds %s – %s.",
			m.Components, pct(float64(m.VarianceExplained)), len(m.Features), mdCodes(m.Features),
			num(float64(m.Value)), num(float64(m.SamplingError)), num(float64(m.ReferenceValue)),
			num(float64(m.LowerThreshold)), num(float64(m.UpperThreshold)))
		if len(m.ConstantFeatures) > 0 {
			fmt.Fprintf(b, " Left out as constant in the reference: %s.", mdCodes(m.ConstantFeatures))
		}
		if m.ImputedRows > 0 {
			fmt.Fprintf(b, " %d current rows had a missing value, imputed as in the reference.", m.ImputedRows)
		}
		b.WriteString("\n\n")
		s := chunkSeries(r)
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
		if len(r.Chunks) > 0 {
			b.WriteString("\n| chunk | rows | reconstruction error | sampling error | drift |\n|---|---:|---:|---:|---|\n")
			for _, c := range r.Chunks {
				if cm := c.Multivariate; cm != nil {
					mark := "no"
					if cm.Drift {
						mark = "**yes**"
					}
					fmt.Fprintf(b, "| [%d:%d] | %d | %s | %s | %s |\n", c.Start, c.End, c.Rows, num(float64(cm.Value)), num(float64(cm.SamplingError)), mark)
				}
			}
		}
	}
	for _, n := range r.Notes {
		fmt.Fprintf(b, "\n> %s\n", mdEscape(n))
	}
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
