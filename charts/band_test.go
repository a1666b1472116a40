package charts

import (
	"math"
	"strings"
	"testing"
)

// TestBandSVG: the band is one closed path per run of finite chunks, the
// realized line appears only when given, and degenerate inputs (one chunk,
// all NaN, no chunks) draw without error.
func TestBandSVG(t *testing.T) {
	nan := math.NaN()
	b := Band{Title: "t", YLabel: "ROC AUC", Labels: []string{"[0:9]", "[10:19]", "[20:29]", "[30:39]"},
		Estimated: []float64{0.8, 0.82, nan, 0.7}, Lower: []float64{0.75, 0.78, nan, 0.6}, Upper: []float64{0.85, 0.86, nan, 0.8}}
	svg, err := BandSVG(b)
	if err != nil {
		t.Fatal(err)
	}
	s := string(svg)
	band := s[strings.Index(s, `class="band" d="`)+len(`class="band" d="`):]
	band = band[:strings.Index(band, `"`)]
	if strings.Count(band, "M") != 2 || strings.Count(band, "Z") != 2 {
		t.Errorf("band path %q: want two closed pieces (chunks 0-1 and the lone chunk 3)", band)
	}
	if strings.Contains(s, `class="realized"`) || strings.Contains(s, ">realized<") {
		t.Error("realized drawn without values")
	}
	if strings.Count(s, `<circle class="estimated"`) != 3 {
		t.Errorf("want 3 estimate dots")
	}
	b.Realized = []float64{0.7, 0.9, 0.8, nan}
	svg, _ = BandSVG(b)
	if !strings.Contains(string(svg), `class="realized"`) || strings.Count(string(svg), `<circle class="realized"`) != 3 {
		t.Error("realized line or dots missing")
	}
	for _, d := range []Band{
		{Labels: []string{"[0:0]"}, Estimated: []float64{0.5}, Lower: []float64{0.4}, Upper: []float64{0.6}},
		{Labels: []string{"a", "b"}, Estimated: []float64{nan, nan}, Lower: []float64{nan, nan}, Upper: []float64{nan, nan}},
		{},
	} {
		if _, err := BandSVG(d); err != nil {
			t.Errorf("%+v: %v", d, err)
		}
	}
}
