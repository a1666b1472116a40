package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"

	"driftwatch/detectors"
)

func sample() *detectors.Report {
	return &detectors.Report{ReferenceRows: 10, CurrentRows: 8, DriftDetected: true, DriftedFeatures: 1,
		Features: []detectors.FeatureResult{
			{Name: "ok", Kind: "numeric", Test: detectors.TestKS,
				Statistics: detectors.Statistics{KS: &detectors.PValueStat{PValue: 0.5, Threshold: 0.05}}},
			{Name: "a|b`<script>", Kind: "categorical", Drift: true, Test: detectors.TestJS,
				Statistics: detectors.Statistics{JensenShannon: &detectors.ValueStat{Value: 0.25, Threshold: 0.1, Drift: true},
					PSI: &detectors.ValueStat{Value: detectors.Float(math.NaN())}}},
		}}
}

func TestMarkdownPutsDriftFirstAndEscapes(t *testing.T) {
	var b bytes.Buffer
	if err := Write(&b, sample(), "markdown"); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	drifted := strings.Index(out, "a\\|b'<script>")
	if !strings.Contains(out, "❌ Drift detected") || drifted < 0 || drifted > strings.Index(out, "`ok`") ||
		!strings.Contains(out, "| 0.2500 | 0.1000 |") {
		t.Fatalf("markdown:\n%s", out)
	}
}

func TestJSONRendersNaNAsNull(t *testing.T) {
	var b bytes.Buffer
	if err := Write(&b, sample(), "json"); err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(b.Bytes(), &v); err != nil {
		t.Fatal(err)
	}
	psi := v["features"].([]any)[1].(map[string]any)["statistics"].(map[string]any)["psi"].(map[string]any)
	if psi["value"] != nil {
		t.Fatalf("NaN must be null, got %v", psi["value"])
	}
	if err := Write(&b, sample(), "xml"); err == nil || err.Error() != `report: unknown format "xml" (want json, markdown, html)` {
		t.Fatalf("unknown format: %v", err)
	}
}

// Markdown names the unseen categories (as HTML and JSON do, at most as
// many as HTML) and shows no out-of-range rate for categorical features.
func TestMarkdownUnseenAndCategoricalRange(t *testing.T) {
	r := sample()
	many := make([]string, maxUnseenShown+3)
	for i := range many {
		many[i] = fmt.Sprintf("u%02d", i)
	}
	many[0] = "new|`x`"
	r.Features[1].DataQuality.UnseenCategories = many
	r.Features[0].DataQuality.OutOfRangeRate = 0.125
	var b bytes.Buffer
	if err := Markdown(&b, r); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"### Unseen categories",
		"- `a\\|b'<script>`: `new\\|'x'`, `u01`,",
		fmt.Sprintf("`u%02d` and 3 more\n", maxUnseenShown-1),
		"| 0.00% | – |\n",    // categorical: null rate, no range
		"| 0.00% | 12.50% |", // numeric
	} {
		if !strings.Contains(out, want) {
			t.Fatalf("markdown lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, fmt.Sprintf("u%02d", maxUnseenShown)) {
		t.Fatalf("markdown lists more unseen categories than HTML:\n%s", out)
	}
}
