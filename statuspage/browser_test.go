package statuspage_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"driftwatch/internal/testutil/browser"
	"driftwatch/internal/testutil/demotest"
)

// The status page of a running demo, in Chromium: the fleet marks the
// drifting model, the model page marks the drifted features and draws
// their histograms and PSI charts, nothing logs an error, and nothing is
// loaded from anywhere but the monitor.
func TestStatusPageInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo for about 15 s")
	}
	b := browser.Start(t)

	addr := demotest.Start(t)
	base := "http://" + addr

	// Wait, bounded, until the monitor has judged a feature drifted.
	deadline := time.Now().Add(45 * time.Second)
	for {
		resp, err := http.Get(base + "/")
		if err == nil {
			page, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if strings.Contains(string(page), `data-health="drift"`) {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("no drift on the status page after 45 s")
		}
		time.Sleep(500 * time.Millisecond)
	}

	fleet := b.Open(base + "/?refresh=0")
	type row struct {
		Model, Health, Firing, Rate string
	}
	rows := browser.Eval[[]row](fleet, `[...document.querySelectorAll("#fleet tbody tr")].map(r => ({
		Model: r.dataset.model, Health: r.dataset.health, Firing: r.cells[3].textContent, Rate: r.cells[4].textContent}))`)
	// The drifting classifier, the regressor, and the demo's two rollouts
	// with two versions each.
	var drifting, regressor []row
	for _, r := range rows {
		switch r.Model {
		case "credit-scoring":
			drifting = append(drifting, r)
		case "credit-line":
			regressor = append(regressor, r)
		}
	}
	if len(rows) != 6 || len(drifting) != 1 || drifting[0].Health != "drift" || drifting[0].Firing == "none" || len(regressor) != 1 {
		t.Errorf("fleet rows %+v", rows)
	}
	t.Logf("fleet: %+v", rows)
	if n := browser.Eval[int](fleet, `document.querySelectorAll('a[href="/models/credit-scoring"]').length`); n != 1 {
		t.Errorf("%d links to the model page", n)
	}
	noErrors(t, fleet, base)
	fleet.Screenshot("statuspage-fleet")

	model := b.Open(base + "/models/credit-scoring?refresh=0")
	type feature struct {
		Name       string
		Bars       int     // current-window bars in the histogram
		Tallest    float64 // height of the tallest one, px on screen
		PSIPath    int     // length of the PSI line's path data
		Threshold  bool
		TableDrift bool // its row in the drift table is marked too
	}
	drifted := browser.Eval[[]feature](model, `[...document.querySelectorAll("article.feature.drift")].map(a => ({
		Name: a.dataset.feature,
		Bars: a.querySelectorAll("svg.histogram rect.cur").length,
		Tallest: Math.max(0, ...[...a.querySelectorAll("svg.histogram rect.cur")].map(r => r.getBoundingClientRect().height)),
		PSIPath: (a.querySelector("svg.line path.series")?.getAttribute("d") || "").length,
		Threshold: !!a.querySelector("svg.line line.threshold"),
		TableDrift: !!document.querySelector('table.drift-table tr.drift[data-feature="' + CSS.escape(a.dataset.feature) + '"]'),
	}))`)
	if len(drifted) == 0 {
		t.Fatal("no feature marked drifted on the model page")
	}
	t.Logf("drifted features: %+v", drifted)
	for _, f := range drifted {
		if f.Bars < 2 || f.Tallest < 5 || f.PSIPath < 10 || !f.Threshold || !f.TableDrift {
			t.Errorf("feature %+v: want a non-empty histogram and PSI chart with its threshold, marked in the table", f)
		}
	}
	if n := browser.Eval[int](model, `document.querySelectorAll("article.feature").length`); n != 13 {
		t.Errorf("%d feature cards, want 13", n)
	}
	if !browser.Eval[bool](model, `!!document.querySelector('a[href="/api/v1/models/credit-scoring"]') && !!document.querySelector('a[href="/metrics"]')`) {
		t.Error("no links to the JSON API and /metrics")
	}
	noErrors(t, model, base)
	model.Screenshot("statuspage-model")
}

func noErrors(t *testing.T, p *browser.Page, base string) {
	t.Helper()
	if errs := p.Errors(); len(errs) > 0 {
		t.Errorf("console errors on %s:\n%s", p.URL, strings.Join(errs, "\n"))
	}
	for _, u := range p.Requests() {
		if !strings.HasPrefix(u, base+"/") {
			t.Errorf("%s requested %s", p.URL, u)
		}
	}
}
