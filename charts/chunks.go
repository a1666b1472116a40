package charts

import (
	"bytes"
	"fmt"
	"html/template"
	"math"
	"strconv"
)

// ChunkSeries is a statistic per chunk, as NannyML plots it: the reference's
// chunks, then the current data's, against lower and upper thresholds, with
// each current chunk's ± Band × sampling error as an error bar.
type ChunkSeries struct {
	Title, YLabel string
	Reference     []float64
	Current       []float64
	// SamplingError per current chunk (NaN: none) and the multiple drawn.
	SamplingError []float64
	Band          float64
	// Lower and Upper thresholds; NaN means none.
	Lower, Upper float64
}

type chunkPoint struct {
	X, Y, Lo, Hi px
	Bar          bool
	Alarm        bool
	Tip          string
}

type chunkView struct {
	W, H                   int
	Title, YLabel          string
	Left, Top, Right, Base px
	YMid, Split            px
	YTicks                 []tick
	RefPath, CurPath       string
	Ref, Cur               []chunkPoint
	Lower, Upper           *tick
	Empty, HasRef, HasCur  bool
	RefLabelX, CurLabelX   px
}

var chunkTmpl = template.Must(template.New("chunks").Parse(`<svg class="chart chunks{{if .Empty}} empty{{end}}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {{.W}} {{.H}}" width="{{.W}}" height="{{.H}}" role="img" aria-label="{{.Title}}" font-family="system-ui, -apple-system, 'Segoe UI', sans-serif" font-size="11" fill="#374151">
<title>{{.Title}}</title>
{{range .YTicks}}<line x1="{{$.Left}}" x2="{{$.Right}}" y1="{{.Y}}" y2="{{.Y}}" stroke="#e5e7eb"/><text x="{{.X}}" y="{{.Y}}" dx="-6" dy="4" text-anchor="end">{{.Label}}</text>
{{end -}}
<line x1="{{.Left}}" x2="{{.Right}}" y1="{{.Base}}" y2="{{.Base}}" stroke="#6b7280"/>
{{with .Upper}}<line class="threshold upper" x1="{{$.Left}}" x2="{{$.Right}}" y1="{{.Y}}" y2="{{.Y}}" stroke="#D55E00" stroke-dasharray="5 4"/><text x="{{$.Right}}" y="{{.Y}}" dy="-4" text-anchor="end" fill="#D55E00">{{.Label}}</text>
{{end -}}
{{with .Lower}}<line class="threshold lower" x1="{{$.Left}}" x2="{{$.Right}}" y1="{{.Y}}" y2="{{.Y}}" stroke="#D55E00" stroke-dasharray="5 4"/><text x="{{$.Right}}" y="{{.Y}}" dy="12" text-anchor="end" fill="#D55E00">{{.Label}}</text>
{{end -}}
{{if .Empty}}<text x="{{.Right}}" y="{{.YMid}}" dx="-8" text-anchor="end" fill="#6b7280">no chunks</text>
{{else -}}
{{if and .HasRef .HasCur}}<line class="split" x1="{{.Split}}" x2="{{.Split}}" y1="{{.Top}}" y2="{{.Base}}" stroke="#9ca3af" stroke-dasharray="2 3"/>{{end}}
{{if .HasRef}}<text x="{{.RefLabelX}}" y="{{.Base}}" dy="16" text-anchor="middle" fill="#6b7280">reference</text>{{end}}
{{if .HasCur}}<text x="{{.CurLabelX}}" y="{{.Base}}" dy="16" text-anchor="middle" fill="#6b7280">current</text>{{end}}
<path class="series reference" d="{{.RefPath}}" fill="none" stroke="#0072B2" stroke-width="2" stroke-linejoin="round"/>
<path class="series current" d="{{.CurPath}}" fill="none" stroke="#D55E00" stroke-width="2" stroke-linejoin="round"/>
{{range .Ref}}<circle cx="{{.X}}" cy="{{.Y}}" r="3" fill="#0072B2"><title>{{.Tip}}</title></circle>{{end}}
{{range .Cur}}{{if .Bar}}<line class="band" x1="{{.X}}" x2="{{.X}}" y1="{{.Lo}}" y2="{{.Hi}}" stroke="#D55E00" stroke-opacity=".45" stroke-width="6"/>{{end}}<circle class="{{if .Alarm}}alarm{{else}}point{{end}}" cx="{{.X}}" cy="{{.Y}}" r="{{if .Alarm}}5{{else}}3{{end}}" fill="{{if .Alarm}}#fff{{else}}#D55E00{{end}}" stroke="#D55E00" stroke-width="2"><title>{{.Tip}}</title></circle>{{end}}
{{end -}}
<text transform="rotate(-90)" x="0" y="0" dx="-{{.YMid}}" dy="13" text-anchor="middle" fill="#6b7280">{{.YLabel}}</text>
</svg>`))

// ChunksSVG draws s: the reference chunks' values and the current chunks'
// values side by side, the thresholds dashed, current chunks outside them
// ringed.
func ChunksSVG(s ChunkSeries) (template.HTML, error) {
	v := chunkView{W: 640, H: 220, Title: s.Title, YLabel: s.YLabel}
	v.Left, v.Top, v.Right, v.Base = 52, 14, px(v.W-16), px(v.H-30)
	v.YMid = (v.Top + v.Base) / 2
	finite := func(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
	// The y axis spans the values and thresholds on round ticks, not from 0
	// (reconstruction errors sit far from it); error bars are clipped to it,
	// so one very noisy chunk does not flatten the rest.
	lo, hi := math.Inf(1), math.Inf(-1)
	include := func(x float64) {
		if finite(x) {
			lo, hi = min(lo, x), max(hi, x)
		}
	}
	for _, xs := range [][]float64{s.Reference, s.Current} {
		for _, x := range xs {
			include(x)
		}
	}
	nonNegative := !(lo < 0)
	include(s.Lower)
	include(s.Upper)
	if lo > hi {
		lo, hi = 0, 1
	}
	if hi-lo < 1e-9*max(1, math.Abs(hi)) {
		lo, hi = lo-0.5, hi+0.5
	}
	pad := (hi - lo) * 0.08
	lo, hi = lo-pad, hi+pad
	if nonNegative {
		lo = max(lo, 0)
	}
	step, _ := niceScale(hi - lo)
	start, end := math.Floor(lo/step)*step, math.Ceil(hi/step)*step
	y := func(f float64) px {
		return v.Base - px((math.Max(start, math.Min(f, end))-start)/(end-start))*(v.Base-v.Top)
	}
	for t := start; t <= end+step/2; t += step {
		v.YTicks = append(v.YTicks, tick{X: v.Left, Y: y(t), Label: Short(t)})
	}
	if finite(s.Upper) {
		v.Upper = &tick{Y: y(s.Upper), Label: "upper " + Short(s.Upper)}
	}
	if finite(s.Lower) {
		v.Lower = &tick{Y: y(s.Lower), Label: "lower " + Short(s.Lower)}
	}
	n := len(s.Reference) + len(s.Current)
	if n == 0 {
		v.Empty = true
		return renderChunks(v)
	}
	v.HasRef, v.HasCur = len(s.Reference) > 0, len(s.Current) > 0
	slot := (v.Right - v.Left) / px(n)
	x := func(i int) px { return v.Left + slot*(px(i)+0.5) }
	v.Split = v.Left + slot*px(len(s.Reference))
	v.RefLabelX = (v.Left + v.Split) / 2
	v.CurLabelX = (v.Split + v.Right) / 2
	path := func(vals []float64, offset int) string {
		d, pen := "", false
		for i, f := range vals {
			if !finite(f) {
				pen = false
				continue
			}
			cmd := "M"
			if pen {
				cmd = "L"
			}
			d += cmd + x(offset+i).String() + " " + y(f).String()
			pen = true
		}
		return d
	}
	v.RefPath = path(s.Reference, 0)
	v.CurPath = path(s.Current, len(s.Reference))
	for i, f := range s.Reference {
		if finite(f) {
			v.Ref = append(v.Ref, chunkPoint{X: x(i), Y: y(f), Tip: "reference chunk " + strconv.Itoa(i) + ": " + Num(f)})
		}
	}
	for i, f := range s.Current {
		if !finite(f) {
			continue
		}
		p := chunkPoint{X: x(len(s.Reference) + i), Y: y(f), Tip: "current chunk " + strconv.Itoa(i) + ": " + Num(f)}
		if i < len(s.SamplingError) && finite(s.SamplingError[i]) && s.Band > 0 {
			e := s.Band * s.SamplingError[i]
			p.Bar, p.Lo, p.Hi = true, y(f-e), y(f+e)
			p.Tip += " ± " + Num(e)
		}
		p.Alarm = finite(s.Lower) && !(f > s.Lower) || finite(s.Upper) && !(f < s.Upper)
		v.Cur = append(v.Cur, p)
	}
	return renderChunks(v)
}

func renderChunks(v chunkView) (template.HTML, error) {
	var b bytes.Buffer
	if err := chunkTmpl.Execute(&b, v); err != nil {
		return "", fmt.Errorf("charts: chunks: %w", err)
	}
	return template.HTML(b.String()), nil
}
