// Package charts draws the inline SVG charts of the status page and of the
// HTML drift report, and carries the stylesheet both share so they look
// alike. Charts are drawn from histograms and short series, never from raw
// rows, so a chart weighs the same for a thousand rows as for ten million.
// Everything is rendered through html/template, so a label that comes from
// data (a feature name, a category value) is always escaped. What to chart
// and how to lay out a page is left to the pages.
package charts

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The palette is Okabe and Ito's, safe for the common colour-vision
// deficiencies; reference and current also differ in shape (wide pale bar
// versus narrow solid bar), so the chart reads without colour at all.
const (
	colorRef   = "#0072B2" // blue
	colorCur   = "#D55E00" // vermillion
	colorLine  = "#0072B2"
	colorAlarm = "#D55E00"
	colorAxis  = "#6b7280"
	colorGrid  = "#e5e7eb"
)

// MaxBars bounds the bars of a histogram: categorical features keep their
// MaxBars−1 largest categories (by the larger of the two shares) and fold
// the rest into one "other" bar; numeric bins beyond it are merged with
// their neighbours. The bin tables use the same bars, so pages stay small
// for any cardinality.
const MaxBars = 30

//go:embed style.css
var style string

//go:embed charts.tmpl
var chartsTmpl string

var tmpl = template.Must(template.New("charts").Parse(chartsTmpl))

// Stylesheet is the CSS both pages inline.
func Stylesheet() template.CSS { return template.CSS(style) }

// Funcs are the template functions the pages use: histogram, line, meter and
// chunks draw charts; num, short, pct, count and ago format numbers and times as
// the charts do.
func Funcs() template.FuncMap {
	return template.FuncMap{
		"histogram": HistogramSVG,
		"line":      LineSVG,
		"meter":     MeterSVG,
		"chunks":    ChunksSVG,
		"num":       Num,
		"short":     Short,
		"pct":       Pct,
		"count":     Count,
		"ago":       Ago,
	}
}

// Histogram is a reference and a current distribution over the same bins.
type Histogram struct {
	// Title names the chart for screen readers and in the tooltip.
	Title string
	// Numeric features: Edges split len(Reference) bins, bin i =
	// [e(i−1), e(i)) with open outer bins. Categorical features: Labels
	// name the bins instead.
	Edges  []float64
	Labels []string
	// Counts per bin.
	Reference, Current []float64
}

// Bin is one bar of a histogram, as charted and as tabulated.
type Bin struct {
	Label              string
	Ref, Cur           float64 // counts
	RefShare, CurShare float64 // of each side's total
	// Folded is how many bins this bar stands for when several were merged
	// (0 for a plain bin).
	Folded int
}

// Bins returns the bars of h: its bins with their shares, at most MaxBars.
func (h Histogram) Bins() []Bin {
	n := len(h.Reference)
	if len(h.Current) != n || n == 0 {
		return nil
	}
	refN, curN := sum(h.Reference), sum(h.Current)
	share := func(c, of float64) float64 {
		if of == 0 {
			return 0
		}
		return c / of
	}
	bins := make([]Bin, n)
	for i := range bins {
		bins[i] = Bin{Label: h.label(i), Ref: h.Reference[i], Cur: h.Current[i],
			RefShare: share(h.Reference[i], refN), CurShare: share(h.Current[i], curN)}
	}
	if n <= MaxBars {
		return bins
	}
	if len(h.Labels) > 0 || len(h.Edges) != n-1 {
		return foldSmallest(bins)
	}
	// Numeric: merge runs of adjacent bins; the merged bin spans their
	// edges.
	per := perBar(n)
	var out []Bin
	for lo := 0; lo < n; lo += per {
		hi := min(lo+per, n) // bins lo..hi-1
		b := Bin{Label: rangeLabel(h.Edges, lo, hi), Folded: hi - lo}
		for _, x := range bins[lo:hi] {
			b.Ref += x.Ref
			b.Cur += x.Cur
		}
		b.RefShare, b.CurShare = share(b.Ref, refN), share(b.Cur, curN)
		out = append(out, b)
	}
	return out
}

// foldSmallest keeps the MaxBars−1 bins with the largest share on either
// side, in their order, and folds the others into a last "other" bar.
func foldSmallest(bins []Bin) []Bin {
	weight := func(b Bin) float64 { return max(b.RefShare, b.CurShare) }
	// The cut is the (MaxBars−1)-th largest weight; ties at the cut are
	// kept in order until the budget is spent.
	ws := make([]float64, len(bins))
	for i, b := range bins {
		ws[i] = weight(b)
	}
	cut := nthLargest(ws, MaxBars-1)
	keep := MaxBars - 1
	for _, w := range ws {
		if w > cut {
			keep--
		}
	}
	var out []Bin
	other := Bin{Label: "other"}
	for _, b := range bins {
		w := weight(b)
		if w > cut || (w == cut && keep > 0) {
			if w == cut {
				keep--
			}
			out = append(out, b)
			continue
		}
		other.Ref += b.Ref
		other.Cur += b.Cur
		other.RefShare += b.RefShare
		other.CurShare += b.CurShare
		other.Folded++
	}
	other.Label = fmt.Sprintf("other (%d)", other.Folded)
	return append(out, other)
}

// nthLargest returns the k-th largest of xs (1-based), by selection on a
// copy: the inputs here are one histogram's bins.
func nthLargest(xs []float64, k int) float64 {
	s := append([]float64(nil), xs...)
	for i := range k {
		m := i
		for j := i + 1; j < len(s); j++ {
			if s[j] > s[m] {
				m = j
			}
		}
		s[i], s[m] = s[m], s[i]
	}
	return s[k-1]
}

func (h Histogram) label(i int) string {
	if i < len(h.Labels) {
		return h.Labels[i]
	}
	if len(h.Edges) == len(h.Reference)-1 {
		return rangeLabel(h.Edges, i, i+1)
	}
	return strconv.Itoa(i + 1)
}

// rangeLabel names bins lo..hi-1 merged: [e(lo−1), e(hi−1)), open at the
// ends.
func rangeLabel(edges []float64, lo, hi int) string {
	switch {
	case lo == 0 && hi == len(edges)+1:
		return "all values"
	case lo == 0:
		return "< " + Short(edges[hi-1])
	case hi == len(edges)+1:
		return "≥ " + Short(edges[lo-1])
	}
	return "[" + Short(edges[lo-1]) + ", " + Short(edges[hi-1]) + ")"
}

// px is an SVG coordinate, printed with one decimal.
type px float64

func (p px) String() string { return strconv.FormatFloat(float64(p), 'f', 1, 64) }

type tick struct {
	X, Y  px
	Label string
}

type bar struct {
	X, W, RefY, RefH px // the reference bar spans the bin
	CurX, CurW       px // the current bar is narrower, centred on it
	CurY, CurH       px
	Tip              string // exact shares and counts
}

type histView struct {
	W, H                   int
	Title, XLabel, YLabel  string
	Left, Top, Right, Base px // plot area
	XMid, YMid             px // axis label positions
	TickEnd                px
	YTicks, XTicks         []tick
	RotateX                bool
	Bars                   []bar
	RefLegend, CurLegend   string
	LegendX                px
}

// HistogramSVG draws h: the reference as wide pale bars, the current data
// as narrow solid bars on top, shares of each side's values on the y axis.
// Numeric bins are drawn equally wide with their edges as x ticks (the
// reference deciles make the reference flat, so any shape is the change);
// categorical bins are labelled below their bars.
func HistogramSVG(h Histogram) (template.HTML, error) {
	bins := h.Bins()
	if len(bins) == 0 {
		return "", nil
	}
	numeric := len(h.Labels) == 0 && len(h.Edges) > 0
	v := histView{W: 560, H: 250, Title: h.Title, YLabel: "share of values"}
	v.RefLegend = "reference (n = " + Count(sum(h.Reference)) + ")"
	v.CurLegend = "current (n = " + Count(sum(h.Current)) + ")"
	bottom := 44.0
	if !numeric {
		v.XLabel = "category"
		for _, b := range bins {
			if len(bins) > 8 || utf8.RuneCountInString(b.Label) > 60/len(bins) {
				v.RotateX = true
			}
		}
		if v.RotateX {
			bottom = 84
			v.H = 290
		}
	} else {
		v.XLabel = "bins at the reference deciles (edges)"
		if len(h.Edges)+1 != 10 {
			v.XLabel = "bins at reference quantiles (edges)"
		}
	}
	v.Left, v.Top, v.Right, v.Base = 52, 30, px(v.W-12), px(float64(v.H)-bottom)
	v.XMid = (v.Left + v.Right) / 2
	v.YMid = (v.Top + v.Base) / 2
	v.TickEnd = v.Base + 5
	v.LegendX = v.Right - 330

	top := 0.0
	for _, b := range bins {
		top = max(top, b.RefShare, b.CurShare)
	}
	step, hi := niceScale(top)
	y := func(s float64) px { return v.Base - px(s/hi)*(v.Base-v.Top) }
	for t := 0.0; t <= hi+step/2; t += step {
		v.YTicks = append(v.YTicks, tick{X: v.Left, Y: y(t), Label: pctTick(t, step)})
	}
	slot := (v.Right - v.Left) / px(len(bins))
	for i, b := range bins {
		x := v.Left + slot*px(i)
		bw := slot * 0.9
		cw := slot * 0.5
		br := bar{X: x + (slot-bw)/2, W: bw, RefY: y(b.RefShare), CurX: x + (slot-cw)/2, CurW: cw, CurY: y(b.CurShare)}
		br.RefH, br.CurH = v.Base-br.RefY, v.Base-br.CurY
		br.Tip = fmt.Sprintf("%s: reference %s (%s), current %s (%s)", b.Label, Pct(b.RefShare), Count(b.Ref), Pct(b.CurShare), Count(b.Cur))
		v.Bars = append(v.Bars, br)
		if !numeric {
			v.XTicks = append(v.XTicks, tick{X: x + slot/2, Y: v.Base + 14, Label: truncate(b.Label, 18)})
		}
	}
	if numeric {
		// One tick per boundary between bars, thinned so labels don't collide.
		every := 1
		for len(bins)/every > 12 {
			every++
		}
		for i := 1; i < len(bins); i += every {
			v.XTicks = append(v.XTicks, tick{X: v.Left + slot*px(i), Y: v.Base + 14, Label: boundaryLabel(h.Edges, len(h.Reference), i)})
		}
	}
	return render("histogram", v)
}

// perBar is how many of n numeric bins one bar stands for.
func perBar(n int) int {
	if n <= MaxBars {
		return 1
	}
	return (n + MaxBars - 1) / MaxBars
}

// boundaryLabel is the edge between bars i−1 and i of n numeric bins.
func boundaryLabel(edges []float64, n, i int) string {
	return Short(edges[i*perBar(n)-1])
}

// Series is a short time series, such as PSI over recent evaluations.
type Series struct {
	Title  string // names the chart for screen readers
	YLabel string
	At     []time.Time
	Y      []float64 // NaN leaves a gap
	// Threshold (NaN for none) is drawn as a dashed line; points at or
	// above it are marked.
	Threshold float64
	// Percent formats the y axis as percentages.
	Percent bool
	// Small draws a compact chart for a feature card.
	Small bool
}

type point struct{ X, Y px }

type lineView struct {
	W, H                   int
	Title, YLabel          string
	Left, Top, Right, Base px
	YMid                   px
	YTicks, XTicks         []tick
	Path                   string
	Dots, Alarms           []point
	Threshold              *tick
	Empty                  bool
}

// LineSVG draws s as a line over time, with the threshold dashed and the
// points at or above it marked.
func LineSVG(s Series) (template.HTML, error) {
	v := lineView{W: 560, H: 200, Title: s.Title, YLabel: s.YLabel}
	if s.Small {
		v.H = 140
	}
	v.Left, v.Top, v.Right, v.Base = 52, 14, px(v.W-16), px(v.H-30)
	v.YMid = (v.Top + v.Base) / 2
	n := min(len(s.At), len(s.Y))
	top := 0.0
	finite := 0
	for _, y := range s.Y[:n] {
		if !math.IsNaN(y) && !math.IsInf(y, 0) {
			top = max(top, y)
			finite++
		}
	}
	hasT := !math.IsNaN(s.Threshold) && !math.IsInf(s.Threshold, 0)
	if hasT {
		top = max(top, s.Threshold*1.25)
	}
	step, hi := niceScale(top)
	y := func(f float64) px { return v.Base - px(min(f, hi)/hi)*(v.Base-v.Top) }
	for t := 0.0; t <= hi+step/2; t += step {
		l := Short(t)
		if s.Percent {
			l = pctTick(t, step)
		}
		v.YTicks = append(v.YTicks, tick{X: v.Left, Y: y(t), Label: l})
	}
	if hasT {
		v.Threshold = &tick{Y: y(s.Threshold), Label: "threshold " + Short(s.Threshold)}
	}
	if finite == 0 {
		v.Empty = true
		return render("line", v)
	}
	t0, t1 := s.At[0], s.At[n-1]
	span := t1.Sub(t0)
	x := func(t time.Time) px {
		if span <= 0 {
			return v.Right
		}
		return v.Left + px(float64(t.Sub(t0))/float64(span))*(v.Right-v.Left)
	}
	var d strings.Builder
	pen := false
	for i := range n {
		f := s.Y[i]
		if math.IsNaN(f) || math.IsInf(f, 0) {
			pen = false
			continue
		}
		p := point{x(s.At[i]), y(f)}
		if pen {
			d.WriteString("L")
		} else {
			d.WriteString("M")
		}
		d.WriteString(p.X.String() + " " + p.Y.String())
		pen = true
		if hasT && f >= s.Threshold {
			v.Alarms = append(v.Alarms, p)
		}
		if i == n-1 || finite == 1 {
			v.Dots = append(v.Dots, p)
		}
	}
	v.Path = d.String()
	v.XTicks = []tick{{X: v.Left, Y: v.Base + 16, Label: "−" + Duration(span)}, {X: v.Right, Y: v.Base + 16, Label: "latest"}}
	if span <= 0 {
		v.XTicks = v.XTicks[1:]
	}
	return render("line", v)
}

type meterView struct {
	W, H      int
	Fill, Tip string
	BarW, TX  px
	Over      bool
}

// MeterSVG draws a small bar of how far a deciding statistic went towards
// its threshold (the tick). Distances are drawn as they are; p-values as
// −log10(p), so for both drift means the bar passes the tick.
func MeterSVG(value, threshold float64, pValue bool) (template.HTML, error) {
	if math.IsNaN(value) || math.IsNaN(threshold) || threshold <= 0 {
		return "", nil
	}
	v, t := value, threshold
	over := v >= t
	if pValue {
		v, t = -math.Log10(math.Max(value, 1e-300)), -math.Log10(threshold)
		over = value < threshold
	}
	m := meterView{W: 100, H: 12, Fill: colorLine, Over: over}
	if over {
		m.Fill = colorAlarm
	}
	scale := 2 * t // the tick sits in the middle; anything past 2× fills the bar
	m.BarW = px(math.Min(1, math.Max(0, v/scale)) * float64(m.W))
	m.TX = px(m.W) / 2
	rule := "≥"
	if pValue {
		rule = "<"
	}
	m.Tip = fmt.Sprintf("%s against threshold %s (drift when %s)", Num(value), Num(threshold), rule+" "+Num(threshold))
	return render("meter", m)
}

func render(name string, data any) (template.HTML, error) {
	var b bytes.Buffer
	if err := tmpl.ExecuteTemplate(&b, name, data); err != nil {
		return "", fmt.Errorf("charts: %s: %w", name, err)
	}
	// Safe: html/template escaped every value in the chart.
	return template.HTML(b.String()), nil
}

// niceScale returns a tick step and an axis top ≥ top (1, 2 or 5 times a
// power of ten, about four ticks).
func niceScale(top float64) (step, hi float64) {
	if !(top > 0) {
		return 0.25, 1
	}
	raw := top / 4
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	switch f := raw / p; {
	case f <= 1:
		step = p
	case f <= 2:
		step = 2 * p
	case f <= 5:
		step = 5 * p
	default:
		step = 10 * p
	}
	return step, math.Ceil(top/step-1e-9) * step
}

func pctTick(v, step float64) string {
	if step*100 >= 1 {
		return strconv.FormatFloat(v*100, 'f', 0, 64) + "%"
	}
	return strconv.FormatFloat(v*100, 'g', 3, 64) + "%"
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

func sum(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s
}

// Num formats a statistic: four decimals, or three significant digits for
// very small or large values; "–" for NaN and ±Inf.
func Num(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "–"
	}
	if v != 0 && (math.Abs(v) < 1e-3 || math.Abs(v) >= 1e6) {
		return fmt.Sprintf("%.3g", v)
	}
	return fmt.Sprintf("%.4f", v)
}

// Short formats an axis value compactly: 0.35, 52.3k, 1.2M.
func Short(v float64) string {
	a := math.Abs(v)
	switch {
	case math.IsNaN(v):
		return "–"
	case math.IsInf(v, 0):
		return strconv.FormatFloat(v, 'f', -1, 64)
	case a >= 1e9:
		return trimZeros(strconv.FormatFloat(v/1e9, 'f', 1, 64)) + "G"
	case a >= 1e6:
		return trimZeros(strconv.FormatFloat(v/1e6, 'f', 1, 64)) + "M"
	case a >= 1e4:
		return trimZeros(strconv.FormatFloat(v/1e3, 'f', 1, 64)) + "k"
	case a >= 100 || a == 0:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 1e-3:
		return strconv.FormatFloat(v, 'g', 3, 64)
	}
	return strconv.FormatFloat(v, 'g', 2, 64)
}

func trimZeros(s string) string {
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

// Pct formats a share as a percentage with one decimal; "–" for NaN.
func Pct(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "–"
	}
	return strconv.FormatFloat(100*v, 'f', 1, 64) + "%"
}

// Count formats a count with thousands separators.
func Count(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "–"
	}
	s := strconv.FormatFloat(math.Round(v), 'f', 0, 64)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// Duration formats a span coarsely: 45s, 2m30s, 1h5m.
func Duration(d time.Duration) string {
	switch {
	case d < time.Minute:
		return strconv.Itoa(int(d.Round(time.Second)/time.Second)) + "s"
	case d < time.Hour:
		d = d.Round(time.Second)
		m, s := d/time.Minute, (d%time.Minute)/time.Second
		if s == 0 {
			return fmt.Sprintf("%dm", m)
		}
		return fmt.Sprintf("%dm%ds", m, s)
	}
	d = d.Round(time.Minute)
	h, m := d/time.Hour, (d%time.Hour)/time.Minute
	if m == 0 {
		return fmt.Sprintf("%dh", h)
	}
	return fmt.Sprintf("%dh%dm", h, m)
}

// Ago formats how long before now t was ("never" for the zero time).
func Ago(now, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := now.Sub(t)
	if d < time.Second {
		return "just now"
	}
	return Duration(d) + " ago"
}
