package charts

import (
	"bytes"
	"fmt"
	"html/template"
	"math"
	"strings"
)

// Band is an estimated metric per chunk with its uncertainty band and,
// when known, the realized value: `estimate`'s chart.
type Band struct {
	Title  string   // names the chart for screen readers
	YLabel string   // the metric
	Labels []string // one per chunk, such as "[0:4999]"
	// Estimated, Lower, Upper and Realized hold one value per chunk; NaN
	// leaves a gap. Realized is nil when the current data has no labels.
	Estimated, Lower, Upper, Realized []float64
}

type bandView struct {
	W, H                   int
	Title, YLabel          string
	Left, Top, Right, Base px
	YMid                   px
	YTicks, XTicks         []tick
	Area, Est, Real        string
	EstDots, RealDots      []point
	Legend                 bool
}

var bandTmpl = template.Must(template.New("band").Parse(`<svg class="chart band" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {{.W}} {{.H}}" width="{{.W}}" height="{{.H}}" role="img" aria-label="{{.Title}}" font-family="system-ui, -apple-system, 'Segoe UI', sans-serif" font-size="11" fill="#374151">
<title>{{.Title}}</title>
{{range .YTicks}}<line x1="{{$.Left}}" x2="{{$.Right}}" y1="{{.Y}}" y2="{{.Y}}" stroke="#e5e7eb"/><text x="{{.X}}" y="{{.Y}}" dx="-6" dy="4" text-anchor="end">{{.Label}}</text>
{{end -}}
<line x1="{{.Left}}" x2="{{.Right}}" y1="{{.Base}}" y2="{{.Base}}" stroke="#6b7280"/>
{{if .Area}}<path class="band" d="{{.Area}}" fill="#0072B2" fill-opacity="0.15" stroke="none"/>{{end}}
{{if .Est}}<path class="estimated" d="{{.Est}}" fill="none" stroke="#0072B2" stroke-width="2" stroke-linejoin="round"/>{{end}}
{{range .EstDots}}<circle class="estimated" cx="{{.X}}" cy="{{.Y}}" r="3" fill="#0072B2"/>{{end}}
{{if .Real}}<path class="realized" d="{{.Real}}" fill="none" stroke="#D55E00" stroke-width="2" stroke-dasharray="5 3" stroke-linejoin="round"/>{{end}}
{{range .RealDots}}<circle class="realized" cx="{{.X}}" cy="{{.Y}}" r="3" fill="#D55E00"/>{{end}}
{{range .XTicks}}<text x="{{.X}}" y="{{.Y}}" text-anchor="middle" fill="#6b7280">{{.Label}}</text>{{end}}
<text transform="rotate(-90)" x="0" y="0" dx="-{{.YMid}}" dy="13" text-anchor="middle" fill="#6b7280">{{.YLabel}}</text>
<g class="legend" transform="translate({{.Left}} 4)"><rect y="2" width="14" height="8" fill="#0072B2" fill-opacity="0.15"/><line x1="0" x2="14" y1="6" y2="6" stroke="#0072B2" stroke-width="2"/><text x="19" y="10">estimated ± 3 sampling errors</text>{{if .Legend}}<line x1="200" x2="214" y1="6" y2="6" stroke="#D55E00" stroke-width="2" stroke-dasharray="5 3"/><text x="219" y="10">realized</text>{{end}}</g>
</svg>`))

// BandSVG draws b: the band shaded, the estimate as a solid line, the
// realized value dashed, chunks evenly spaced. The y axis spans the values
// shown, not [0, 1], so small changes stay visible.
func BandSVG(b Band) (template.HTML, error) {
	v := bandView{W: 560, H: 210, Title: b.Title, YLabel: b.YLabel, Legend: b.Realized != nil}
	v.Left, v.Top, v.Right, v.Base = 52, 22, px(v.W-16), px(v.H-30)
	v.YMid = (v.Top + v.Base) / 2
	n := len(b.Estimated)
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, s := range [][]float64{b.Estimated, b.Lower, b.Upper, b.Realized} {
		for _, f := range s {
			if !math.IsNaN(f) && !math.IsInf(f, 0) {
				lo, hi = min(lo, f), max(hi, f)
			}
		}
	}
	if lo > hi { // nothing finite
		lo, hi = 0, 1
	}
	if hi-lo < 1e-9 {
		lo, hi = lo-0.05, hi+0.05
	}
	step, _ := niceScale(hi - lo)
	lo = math.Floor(lo/step) * step
	hi = math.Ceil(hi/step-1e-9) * step
	y := func(f float64) px { return v.Base - px((f-lo)/(hi-lo))*(v.Base-v.Top) }
	for t := lo; t <= hi+step/2; t += step {
		v.YTicks = append(v.YTicks, tick{X: v.Left, Y: y(t), Label: Short(math.Round(t/step) * step)})
	}
	x := func(i int) px {
		if n <= 1 {
			return (v.Left + v.Right) / 2
		}
		// Room for the first and last chunk's centred labels.
		return v.Left + 36 + px(float64(i)/float64(n-1))*(v.Right-v.Left-72)
	}
	line := func(s []float64) (string, []point) {
		var d strings.Builder
		var dots []point
		pen := false
		for i := range min(n, len(s)) {
			f := s[i]
			if math.IsNaN(f) || math.IsInf(f, 0) {
				pen = false
				continue
			}
			p := point{x(i), y(f)}
			if pen {
				d.WriteString("L")
			} else {
				d.WriteString("M")
			}
			d.WriteString(p.X.String() + " " + p.Y.String())
			pen = true
			dots = append(dots, p)
		}
		return d.String(), dots
	}
	v.Est, v.EstDots = line(b.Estimated)
	if b.Realized != nil {
		v.Real, v.RealDots = line(b.Realized)
	}
	// The band: upper edge left to right, lower edge back, over runs of
	// chunks where both are finite; a lone chunk gets a narrow bar.
	var area strings.Builder
	for i := 0; i < n; {
		if !finite(b.Lower, i) || !finite(b.Upper, i) {
			i++
			continue
		}
		j := i
		for j+1 < n && finite(b.Lower, j+1) && finite(b.Upper, j+1) {
			j++
		}
		if i == j {
			fmt.Fprintf(&area, "M%s %sL%s %sL%s %sL%s %sZ", (x(i) - 4).String(), y(b.Upper[i]).String(), (x(i) + 4).String(), y(b.Upper[i]).String(),
				(x(i) + 4).String(), y(b.Lower[i]).String(), (x(i) - 4).String(), y(b.Lower[i]).String())
		} else {
			for k := i; k <= j; k++ {
				cmd := "L"
				if k == i {
					cmd = "M"
				}
				area.WriteString(cmd + x(k).String() + " " + y(b.Upper[k]).String())
			}
			for k := j; k >= i; k-- {
				area.WriteString("L" + x(k).String() + " " + y(b.Lower[k]).String())
			}
			area.WriteString("Z")
		}
		i = j + 1
	}
	v.Area = area.String()
	// At most about eight chunk labels.
	every := max(1, (n+7)/8)
	for i := 0; i < n && i < len(b.Labels); i += every {
		v.XTicks = append(v.XTicks, tick{X: x(i), Y: v.Base + 16, Label: truncate(b.Labels[i], 16)})
	}
	var out bytes.Buffer
	if err := bandTmpl.Execute(&out, v); err != nil {
		return "", fmt.Errorf("charts: band: %w", err)
	}
	// Safe: html/template escaped every value in the chart.
	return template.HTML(out.String()), nil
}

func finite(s []float64, i int) bool {
	return i < len(s) && !math.IsNaN(s[i]) && !math.IsInf(s[i], 0)
}
