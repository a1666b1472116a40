package report

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"driftwatch/dataset"
	"driftwatch/detectors"
	"driftwatch/profile"
)

// correlated is a table of a, b = a + noise, c = −a + noise; from row
// breakFrom on, b is shuffled among those rows (same marginal, no
// correlation).
func correlated(rows int, seed uint64, breakFrom int) *dataset.Table {
	r := rand.New(rand.NewPCG(seed, 11))
	cols := []*dataset.Column{
		{Name: "a", Kind: dataset.KindNumeric, Num: make([]float64, rows)},
		{Name: "b", Kind: dataset.KindNumeric, Num: make([]float64, rows)},
		{Name: "c", Kind: dataset.KindNumeric, Num: make([]float64, rows)},
	}
	for i := range rows {
		a := r.NormFloat64()
		cols[0].Num[i], cols[1].Num[i], cols[2].Num[i] = a, a+0.3*r.NormFloat64(), -a+0.4*r.NormFloat64()
	}
	if breakFrom < rows {
		b := cols[1].Num[breakFrom:]
		r.Shuffle(len(b), func(i, j int) { b[i], b[j] = b[j], b[i] })
	}
	return &dataset.Table{Path: "correlated", Rows: rows, Columns: cols}
}

func multivariateReport(t *testing.T, ref, cur *dataset.Table, ch detectors.Chunking) *detectors.Report {
	t.Helper()
	p, err := profile.Build(ref, profile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := detectors.DefaultConfig()
	r := detectors.Compare(p, cur, cfg)
	if err := detectors.CompareMultivariate(r, p, cur, cfg, ch); err != nil {
		t.Fatal(err)
	}
	return r
}

// TestMultivariateRendering: the last two of four current chunks break the
// correlation; Markdown and HTML chart every chunk and mark those two.
func TestMultivariateRendering(t *testing.T) {
	r := multivariateReport(t, correlated(5000, 1, 5000), correlated(4000, 2, 2000), detectors.Chunking{Size: 1000})
	if r.Multivariate == nil || len(r.Chunks) != 4 {
		t.Fatalf("multivariate %+v, %d chunks", r.Multivariate, len(r.Chunks))
	}
	drifted := 0
	for i, c := range r.Chunks {
		if c.Multivariate.Drift != (i >= 2) {
			t.Fatalf("chunk %d drift %v (value %g, thresholds %g–%g)", i, c.Multivariate.Drift,
				c.Multivariate.Value, r.Multivariate.LowerThreshold, r.Multivariate.UpperThreshold)
		}
		if c.Multivariate.Drift {
			drifted++
		}
	}

	var md bytes.Buffer
	if err := Markdown(&md, r); err != nil {
		t.Fatal(err)
	}
	out := md.String()
	for _, want := range []string{
		"### Multivariate drift (PCA reconstruction error): **drift**",
		"```mermaid\nxychart-beta\n",
		`x-axis ["ref 0", "ref 1", "ref 2", "ref 3", "ref 4", "cur 0", "cur 1", "cur 2", "cur 3"]`,
		"| [3000:3999] | 1000 |",
	} {
		if !strings.Contains(out, want) {
			t.Fatalf("markdown lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "| **yes** |"); n != drifted {
		t.Errorf("markdown marks %d chunks, %d drifted", n, drifted)
	}

	var page bytes.Buffer
	if err := HTML(&page, r); err != nil {
		t.Fatal(err)
	}
	html := page.String()
	for _, want := range []string{`id="multivariate" data-drift="true"`, `<svg class="chart chunks"`, `class="threshold upper"`} {
		if !strings.Contains(html, want) {
			t.Fatalf("html lacks %q", want)
		}
	}
	if n := strings.Count(html, `<circle class="alarm"`); n != drifted {
		t.Errorf("chart rings %d chunks, %d drifted", n, drifted)
	}
	if n := strings.Count(html, `data-chunk=`); n != 4 {
		t.Errorf("chunk table has %d rows, want 4", n)
	}
}

// TestMultivariateNoteRendered: without two numeric features the reports say
// so once and have no multivariate section.
func TestMultivariateNoteRendered(t *testing.T) {
	one := correlated(200, 3, 200)
	one.Columns = one.Columns[:1]
	r := multivariateReport(t, one, one, detectors.Chunking{})
	if r.Multivariate != nil || len(r.Notes) != 1 {
		t.Fatalf("multivariate %+v, notes %q", r.Multivariate, r.Notes)
	}
	var md, page bytes.Buffer
	if err := Markdown(&md, r); err != nil {
		t.Fatal(err)
	}
	if err := HTML(&page, r); err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string]string{"markdown": md.String(), "html": page.String()} {
		if strings.Count(out, "fewer than two numeric features (1)") != 1 || strings.Contains(out, "mermaid") || strings.Contains(out, `id="multivariate"`) {
			t.Errorf("%s:\n%s", name, out)
		}
	}
}

// TestMultivariateManyChunks: a small chunk size charts nothing and lists
// only drifted chunks, at most maxListedChunks, in both formats.
func TestMultivariateManyChunks(t *testing.T) {
	r := multivariateReport(t, correlated(5000, 1, 5000), correlated(4000, 2, 3000), detectors.Chunking{Size: 8})
	drifted := 0
	for _, c := range r.Chunks {
		if c.Multivariate.Drift {
			drifted++
		}
	}
	if len(r.Chunks) != 500 || drifted == 0 {
		t.Fatalf("%d chunks, %d drifted", len(r.Chunks), drifted)
	}
	listed := min(drifted, maxListedChunks)
	omitted := fmt.Sprintf("%d more chunks without drift are in the JSON report.", 500-listed)
	if drifted > listed {
		omitted = fmt.Sprintf("%d more chunks (%d of them drifted) are in the JSON report.", 500-listed, drifted-listed)
	}
	var md, page bytes.Buffer
	if err := Markdown(&md, r); err != nil {
		t.Fatal(err)
	}
	if err := HTML(&page, r); err != nil {
		t.Fatal(err)
	}
	out, html := md.String(), page.String()
	if strings.Contains(out, "mermaid") || !strings.Contains(out, "625 reference and 500 current chunks are too many to chart") ||
		strings.Count(out, "| **yes** |") != listed || strings.Count(out, "| 8 |") != listed || !strings.Contains(out, omitted) {
		t.Fatalf("markdown:\n%s", out)
	}
	if strings.Contains(html, `class="chart chunks"`) || strings.Count(html, "data-chunk=") != listed ||
		!strings.Contains(html, "too many to chart") || !strings.Contains(html, omitted) {
		t.Fatalf("html lists %d chunks, want %d", strings.Count(html, "data-chunk="), listed)
	}
}
