package report_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"driftwatch/cli"
	"driftwatch/internal/testutil/browser"
)

// The HTML report of a `check` run on the bundled credit example, opened in
// Chromium: the verdict and the drifted features are marked, each drifted
// feature's histogram is drawn with visible bars, nothing logs an error or
// loads anything, and categories that carry markup render as text.
func TestHTMLReportInBrowser(t *testing.T) {
	b := browser.Start(t)
	dir := t.TempDir()
	cur, err := os.ReadFile("../examples/current.csv")
	if err != nil {
		t.Fatal(err)
	}
	// Two hostile rows: a purpose that is a script and a region that is an
	// image with a handler. Both are unseen categories the page names.
	lines := strings.SplitN(string(cur), "\n", 3)
	for _, evil := range []string{"<script>window.__xss=1</script>", "<img src=x onerror=window.__xss=2>"} {
		cells := strings.Split(lines[1], ",")
		cells[9], cells[10] = evil, evil // purpose, region
		cur = append(cur, []byte(strings.Join(cells, ",")+"\n")...)
	}
	curPath, out := filepath.Join(dir, "current.csv"), filepath.Join(dir, "report.html")
	if err := os.WriteFile(curPath, cur, 0o644); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	code := cli.Main([]string{"check", "--reference", "../examples/reference.csv", "--current", curPath,
		"--label", "default", "--score", "score", "--prediction", "prediction", "--require", "roc_auc>=0.7",
		"--format", "html", "--out", out}, cli.Env{Stdout: &bytes.Buffer{}, Stderr: &stderr})
	if code != cli.ExitDrift {
		t.Fatalf("check exited %d: %s", code, stderr.String())
	}

	p := b.Open("file://" + out)
	if v := browser.Eval[string](p, `document.querySelector("#verdict").dataset.drift`); v != "true" {
		t.Errorf("verdict data-drift=%q", v)
	}
	type feature struct {
		Name       string
		RefBars    int
		CurBars    int
		Tallest    float64 // px on screen
		SummaryRow bool    // marked in the summary table too
	}
	drifted := browser.Eval[[]feature](p, `[...document.querySelectorAll("article.feature.drift")].map(a => ({
		Name: a.dataset.feature,
		RefBars: a.querySelectorAll("svg.histogram rect.ref").length,
		CurBars: a.querySelectorAll("svg.histogram rect.cur").length,
		Tallest: Math.max(0, ...[...a.querySelectorAll("svg.histogram rect.cur")].map(r => r.getBoundingClientRect().height)),
		SummaryRow: !!document.querySelector('#summary tr.drift[data-feature="' + CSS.escape(a.dataset.feature) + '"] .badge.drift'),
	}))`)
	t.Logf("drifted: %+v", drifted)
	names := map[string]bool{}
	for _, f := range drifted {
		names[f.Name] = true
		if f.RefBars < 2 || f.CurBars != f.RefBars || f.Tallest < 5 || !f.SummaryRow {
			t.Errorf("feature %+v: want a drawn histogram, marked in the summary", f)
		}
	}
	if !names["income"] || !names["utilization"] || !names["purpose"] || len(names) != 3 {
		t.Errorf("drifted features %v, want income, utilization and purpose", names)
	}

	// The markup is text: no script ran, no element was made of it.
	if v := browser.Eval[bool](p, `window.__xss === undefined && document.scripts.length === 0 && document.images.length === 0`); !v {
		t.Error("markup from the data became elements")
	}
	text := browser.Eval[string](p, `document.body.innerText`)
	for _, want := range []string{"<script>window.__xss=1</script>", "<img src=x onerror=window.__xss=2>"} {
		if !strings.Contains(text, want) {
			t.Errorf("page text lacks %s", want)
		}
	}
	if errs := p.Errors(); len(errs) > 0 {
		t.Errorf("console errors:\n%s", strings.Join(errs, "\n"))
	}
	for _, u := range p.Requests() {
		if u != "file://"+out {
			t.Errorf("the report requested %s", u)
		}
	}
	p.Screenshot("check-report")
}
