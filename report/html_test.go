package report

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"driftwatch/dataset"
	"driftwatch/detectors"
	"driftwatch/profile"
)

// synthetic is a table of rows: numeric features x0..x7 (x0 shifted by
// shift), a categorical "channel" and a high-cardinality "user_id" drawn
// from ids distinct values; extra categories are mixed into channel.
func synthetic(rows int, seed uint64, shift float64, ids int, extra ...string) *dataset.Table {
	r := rand.New(rand.NewPCG(seed, seed))
	t := &dataset.Table{Path: "synthetic", Rows: rows}
	for f := range 8 {
		c := &dataset.Column{Name: fmt.Sprint("x", f), Kind: dataset.KindNumeric, Num: make([]float64, rows)}
		for i := range c.Num {
			c.Num[i] = 10*float64(f) + r.NormFloat64()
			if f == 0 {
				c.Num[i] += shift
			}
		}
		t.Columns = append(t.Columns, c)
	}
	channels := append([]string{"app", "branch", "partner", "phone", "web"}, extra...)
	names := make([]string, ids)
	for i := range names {
		names[i] = fmt.Sprintf("u%07d", i)
	}
	ch := &dataset.Column{Name: "channel", Kind: dataset.KindCategorical, Str: make([]string, rows)}
	id := &dataset.Column{Name: "user_id", Kind: dataset.KindCategorical, Str: make([]string, rows)}
	for i := range rows {
		ch.Str[i] = channels[r.IntN(len(channels))]
		id.Str[i] = names[r.IntN(ids)]
	}
	t.Columns = append(t.Columns, ch, id)
	return t
}

func htmlOf(t *testing.T, ref, cur *dataset.Table) (*detectors.Report, string) {
	t.Helper()
	p, err := profile.Build(ref, profile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := detectors.Compare(p, cur, detectors.DefaultConfig())
	var b bytes.Buffer
	if err := Write(&b, r, "html"); err != nil {
		t.Fatal(err)
	}
	return r, b.String()
}

// A report on a million rows weighs what one on a thousand does, well under
// 1 MB: charts and tables come from histograms, and high-cardinality
// features are cut to charts.MaxBars bars.
func TestHTMLSizeDoesNotGrowWithRows(t *testing.T) {
	start := time.Now()
	_, small := htmlOf(t, synthetic(1000, 1, 0, 200_000), synthetic(1000, 2, 0.5, 200_000))
	r, big := htmlOf(t, synthetic(1_000_000, 1, 0, 200_000), synthetic(1_000_000, 2, 0.5, 200_000))
	t.Logf("HTML report: %d bytes for 1M + 1M rows, %d bytes for 1000 + 1000 rows (%v)", len(big), len(small), time.Since(start).Round(time.Millisecond))
	if r.CurrentRows != 1_000_000 || !r.Features[0].Drift {
		t.Fatalf("report: %d rows, x0 drift %v", r.CurrentRows, r.Features[0].Drift)
	}
	if len(big) >= 1<<20 {
		t.Errorf("1M-row report is %d bytes, want < 1 MiB", len(big))
	}
	if float64(len(big)) > 1.1*float64(len(small)) {
		t.Errorf("1M-row report is %d bytes, the 1000-row one %d: size grows with rows", len(big), len(small))
	}
}

func TestHTMLMarksDriftedFeatures(t *testing.T) {
	r, out := htmlOf(t, synthetic(5000, 1, 0, 50), synthetic(4000, 2, 1, 50, "kiosk"))
	drifted := map[string]bool{}
	for _, f := range r.Features {
		drifted[f.Name] = f.Drift
	}
	if !drifted["x0"] || drifted["x1"] || !drifted["channel"] {
		t.Fatalf("fixture: drift %v", drifted)
	}
	for _, want := range []string{
		`id="verdict" class="verdict drift" data-drift="true"`,
		`<tr class="drift" data-feature="x0" data-drift="true">`,
		`<tr class="" data-feature="x1" data-drift="false">`,
		`<article class="card feature drift" id="f1" data-feature="x0" data-drift="true">`,
		`class="chart histogram"`, `class="meter"`,
		`<code>kiosk</code>`, // the unseen category, named
		"2 of 10 features drifted",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %s", want)
		}
	}
	// Drifted features come first in the table and the details.
	if strings.Index(out, `data-feature="channel"`) > strings.Index(out, `data-feature="x1"`) {
		t.Error("drifted channel listed after x1")
	}
	// One histogram per feature; self-contained: no script, no external
	// resource.
	if n := strings.Count(out, `class="chart histogram"`); n != 10 {
		t.Errorf("%d histograms, want 10", n)
	}
	for _, bad := range []string{"<script", "src=", "stylesheet", "@import", "url(", "http://", "https://"} {
		if strings.Contains(strings.ReplaceAll(out, "http://www.w3.org/2000/svg", ""), bad) {
			t.Errorf("page contains %q", bad)
		}
	}
}

func TestHTMLEscapesData(t *testing.T) {
	const (
		evilCat  = `<script>alert("cat")</script>`
		evilName = `<img src=x onerror=alert(1)>`
	)
	ref, cur := synthetic(2000, 1, 0, 10), synthetic(2000, 2, 0, 10, evilCat)
	for _, tb := range []*dataset.Table{ref, cur} {
		tb.Columns[1].Name = evilName
	}
	_, out := htmlOf(t, ref, cur)
	for _, bad := range []string{"<script", "<img"} {
		if strings.Contains(out, bad) {
			t.Errorf("page contains %q", bad)
		}
	}
	for _, want := range []string{"&lt;script&gt;alert(&#34;cat&#34;)&lt;/script&gt;", "&lt;img src=x onerror=alert(1)&gt;"} {
		if !strings.Contains(out, want) {
			t.Errorf("missing the escaped %s", want)
		}
	}
}

func TestHTMLMissingFeatureAndQuality(t *testing.T) {
	var b bytes.Buffer
	r := sample()
	r.Features = append(r.Features, detectors.FeatureResult{Name: "gone", Kind: "numeric", Drift: true, Test: detectors.TestMissing})
	acc := detectors.Float(0.91)
	r.Quality = &detectors.Quality{Task: "classification", Rows: 8, Accuracy: &acc,
		PerClass: []detectors.ClassQuality{{Class: "<1>", Precision: 1, Recall: 0.5, F1: 0.66, Support: 4}}}
	r.Gates = []detectors.GateResult{{Expr: "accuracy>=0.95", Value: 0.91, Pass: false}}
	if err := HTML(&b, r); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"missing from the current data", "<th scope=\"row\">accuracy</th><td class=\"n\">0.9100</td>",
		"<code>&lt;1&gt;</code>", "<code>accuracy&gt;=0.95</code>", `<span class="badge drift">fail</span>`} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %s", want)
		}
	}
}
