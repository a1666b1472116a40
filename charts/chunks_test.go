package charts

import (
	"math"
	"strings"
	"testing"
)

func TestChunksSVG(t *testing.T) {
	f := func(s ChunkSeries, want []string, alarms int) {
		t.Helper()
		svg, err := ChunksSVG(s)
		if err != nil {
			t.Fatal(err)
		}
		out := string(svg)
		for _, w := range want {
			if !strings.Contains(out, w) {
				t.Errorf("%+v: svg lacks %q:\n%s", s, w, out)
			}
		}
		if n := strings.Count(out, `<circle class="alarm"`); n != alarms {
			t.Errorf("%+v: %d alarms, want %d", s, n, alarms)
		}
	}
	nan := math.NaN()
	// Values at a threshold alert (not strictly between); the title is escaped.
	f(ChunkSeries{Title: "<b>", Reference: []float64{1, 1.2}, Current: []float64{1.1, 1.5, 0.5, 2},
		SamplingError: []float64{0.01, nan, 0.02, 0.01}, Band: 3, Lower: 0.5, Upper: 1.5},
		[]string{"&lt;b&gt;", `class="threshold upper"`, `class="threshold lower"`, `class="split"`, ">reference<", ">current<", `class="band"`}, 3)
	// No lower threshold: only the upper one is drawn and decides.
	f(ChunkSeries{Reference: []float64{1}, Current: []float64{0.01}, Lower: nan, Upper: 2}, []string{`class="threshold upper"`}, 0)
	// Nothing to draw, NaN values: no panic, an empty chart.
	f(ChunkSeries{Lower: nan, Upper: nan}, []string{"no chunks"}, 0)
	f(ChunkSeries{Current: []float64{nan}, Lower: nan, Upper: nan}, []string{`class="chart chunks"`}, 0)
}
