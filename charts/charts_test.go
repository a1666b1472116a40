package charts

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

func TestHistogramEscapesLabels(t *testing.T) {
	h := Histogram{Title: `<b>title</b>`, Labels: []string{`<script>alert(1)</script>`, `a"b`, "(unseen)"},
		Reference: []float64{5, 5, 0}, Current: []float64{1, 8, 1}}
	out, err := HistogramSVG(h)
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	for _, bad := range []string{"<script>", "<b>title", `a"b`} {
		if strings.Contains(s, bad) {
			t.Errorf("unescaped %q in\n%s", bad, s)
		}
	}
	for _, want := range []string{"&lt;script&gt;alert(1)&lt;/script&gt;", "&lt;b&gt;title&lt;/b&gt;"} {
		if !strings.Contains(s, want) {
			t.Errorf("missing %q in\n%s", want, s)
		}
	}
}

func TestHistogramBars(t *testing.T) {
	edges := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9}
	ref := []float64{10, 10, 10, 10, 10, 10, 10, 10, 10, 10}
	cur := []float64{0, 0, 0, 0, 0, 0, 0, 0, 50, 50}
	out, err := HistogramSVG(Histogram{Title: "x", Edges: edges, Reference: ref, Current: cur})
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	if n := strings.Count(s, `class="ref"`); n != 10 {
		t.Errorf("%d reference bars, want 10", n)
	}
	if n := strings.Count(s, `class="cur"`); n != 10 {
		t.Errorf("%d current bars, want 10", n)
	}
	for _, want := range []string{"share of values", "reference (n = 100)", "current (n = 100)", ">60%<", "≥ 9: reference 10.0% (10), current 50.0% (50)"} {
		if !strings.Contains(s, want) {
			t.Errorf("missing %q", want)
		}
	}
	if out, _ := HistogramSVG(Histogram{}); out != "" {
		t.Errorf("empty histogram drew %q", out)
	}
}

func TestBins(t *testing.T) {
	// Many categories fold into MaxBars bars, the largest kept in order.
	n := 1000
	h := Histogram{Labels: make([]string, n), Reference: make([]float64, n), Current: make([]float64, n)}
	for i := range n {
		h.Labels[i] = fmt.Sprint("c", i)
		h.Reference[i], h.Current[i] = 1, 1
	}
	h.Reference[500], h.Current[7] = 1000, 2000
	bins := h.Bins()
	if len(bins) != MaxBars {
		t.Fatalf("%d bars, want %d", len(bins), MaxBars)
	}
	if bins[0].Label != "c0" || bins[1].Label != "c1" || bins[MaxBars-1].Label != fmt.Sprintf("other (%d)", n-MaxBars+1) {
		t.Errorf("bars %q … %q", bins[0].Label, bins[MaxBars-1].Label)
	}
	keep := map[string]bool{}
	var ref, cur, rs, cs float64
	for _, b := range bins {
		keep[b.Label] = true
		ref, cur, rs, cs = ref+b.Ref, cur+b.Cur, rs+b.RefShare, cs+b.CurShare
	}
	if !keep["c500"] || !keep["c7"] {
		t.Errorf("largest categories folded: %v", keep)
	}
	if ref != sum(h.Reference) || cur != sum(h.Current) || math.Abs(rs-1) > 1e-9 || math.Abs(cs-1) > 1e-9 {
		t.Errorf("totals %v %v, shares %v %v", ref, cur, rs, cs)
	}

	// Many numeric bins merge with their neighbours; labels span the edges.
	n = 100
	h = Histogram{Edges: make([]float64, n-1), Reference: make([]float64, n), Current: make([]float64, n)}
	for i := range n {
		h.Reference[i], h.Current[i] = 1, float64(i)
		if i < n-1 {
			h.Edges[i] = float64(i + 1)
		}
	}
	bins = h.Bins()
	if len(bins) > MaxBars || bins[0].Label != "< 4" || bins[1].Label != "[4, 8)" || bins[len(bins)-1].Label != "≥ 96" {
		t.Errorf("%d bars: %q %q … %q", len(bins), bins[0].Label, bins[1].Label, bins[len(bins)-1].Label)
	}
	ref, cur = 0, 0
	for _, b := range bins {
		ref, cur = ref+b.Ref, cur+b.Cur
	}
	if ref != sum(h.Reference) || cur != sum(h.Current) {
		t.Errorf("totals %v %v", ref, cur)
	}
}

func TestLineSVG(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := []time.Time{t0, t0.Add(time.Minute), t0.Add(2 * time.Minute), t0.Add(3 * time.Minute), t0.Add(4 * time.Minute)}
	out, err := LineSVG(Series{Title: "psi", YLabel: "PSI", At: at, Y: []float64{0.01, 0.05, math.NaN(), 0.3, 0.4}, Threshold: 0.2})
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	// The NaN leaves a gap: two segments.
	if i := strings.Index(s, `d="`); i < 0 || strings.Count(s[i:i+strings.Index(s[i+3:], `"`)+3], "M") != 2 {
		t.Errorf("want a path of two segments in\n%s", s)
	}
	if n := strings.Count(s, `fill="#D55E00"/>`); n != 2 {
		t.Errorf("%d points marked at or above the threshold, want 2", n)
	}
	for _, want := range []string{"threshold 0.2", "−4m", "latest", `stroke-dasharray`} {
		if !strings.Contains(s, want) {
			t.Errorf("missing %q in\n%s", want, s)
		}
	}
	out, _ = LineSVG(Series{Title: "empty", Y: []float64{math.NaN()}, At: at[:1], Threshold: math.NaN()})
	if !strings.Contains(string(out), "no values yet") || strings.Contains(string(out), "<path") {
		t.Errorf("empty series drew\n%s", out)
	}
}

func TestMeterSVG(t *testing.T) {
	f := func(v, th float64, p bool, wantFill string) {
		t.Helper()
		out, err := MeterSVG(v, th, p)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(out), `fill="`+wantFill+`"`) {
			t.Errorf("MeterSVG(%v, %v, %v) lacks fill %s:\n%s", v, th, p, wantFill, out)
		}
	}
	f(0.3, 0.2, false, colorAlarm)
	f(0.1, 0.2, false, colorLine)
	f(0.01, 0.05, true, colorAlarm)
	f(0, 0.05, true, colorAlarm)
	f(0.5, 0.05, true, colorLine)
	if out, _ := MeterSVG(math.NaN(), 0.2, false); out != "" {
		t.Errorf("NaN drew %q", out)
	}
}

func TestFormats(t *testing.T) {
	f := func(got, want string) {
		t.Helper()
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
	f(Num(0.27), "0.2700")
	f(Num(1.5e-9), "1.5e-09")
	f(Num(math.NaN()), "–")
	f(Short(52345.6), "52.3k")
	f(Short(1_200_000), "1.2M")
	f(Short(0.349), "0.349")
	f(Short(250), "250")
	f(Short(0), "0")
	f(Count(1234567), "1,234,567")
	f(Count(-1000), "-1,000")
	f(Count(12), "12")
	f(Pct(0.1234), "12.3%")
	f(Duration(45*time.Second), "45s")
	f(Duration(150*time.Second), "2m30s")
	f(Duration(65*time.Minute), "1h5m")
	now := time.Date(2026, 1, 1, 0, 0, 10, 0, time.UTC)
	f(Ago(now, time.Time{}), "never")
	f(Ago(now, now.Add(-3*time.Second)), "3s ago")
}
