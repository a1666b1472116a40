// Package statuspage serves the monitor's status page on the service's HTTP
// listener: the fleet (every model version with its health, what is
// firing, events/s and quality) at /, and per model at /models/{model} the
// reference and current histograms of every feature, PSI over recent
// evaluations against its threshold, quality over time, data-quality
// counts and the versions side by side. Pages are rendered on the server
// with inline SVG from package charts, refresh themselves with a meta tag
// and need no JavaScript; every number is also in a table.
//
// The numbers come from the service's Status snapshots, passed in as this
// package's Version (the service imports this package to mount it, so it
// cannot be imported here). Deciding drift is the service's; alert rules
// and notifications belong to the alerting code.
package statuspage

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"driftwatch/charts"
	"driftwatch/monitor"
	"driftwatch/profile"
	"driftwatch/vocab"
)

// Version is one model version's snapshot, field for field the service's
// VersionStatus.
type Version struct {
	Model, Version string
	Task           vocab.Task
	Role           string // in a rollout: "stable", "canary" or "shadow"; "" otherwise
	Latest         monitor.Evaluation
	LastEvent      time.Time // zero before the first event
	EventsTotal    uint64
	History        []Point // oldest first
	// Drift[i] is the streaming verdict on Latest.Features[i]; State[i] is
	// "ok", "drift" or "insufficient_data".
	Drift []bool
	State []string
	// Verdict[i] says which test decided Latest.Features[i], its statistic
	// and the threshold in force.
	Verdict []Verdict
	// PSIThreshold[i] is the PSI threshold in force for Latest.Features[i]
	// (the line on its PSI chart); MinSamples the window size below which
	// there is no verdict.
	PSIThreshold []float64
	MinSamples   int
	// Firing are the version's firing alerts from the alert rules, as
	// "rule feature (severity)".
	Firing []string
	// Rollout is the model's rollout, on its candidate's snapshot (nil
	// otherwise).
	Rollout *Rollout
}

// Verdict is how the stream decided one feature: the deciding test (`check`'s
// rule), its statistic in the window (a p-value for ks, chi_square and z)
// and the threshold in force, calibrated when a `threshold: auto` rule set it.
type Verdict struct {
	Test             vocab.Statistic
	Value, Threshold float64
	Calibrated       bool
}

// PValue reports whether the verdict compares a p-value (drift below the
// threshold) rather than a distance (drift at or above it).
func (d Verdict) PValue() bool {
	switch d.Test {
	case vocab.KS, vocab.ChiSquare, vocab.Z:
		return true
	}
	return false
}

// Rollout is a canary or shadow rollout's latest verdict.
type Rollout struct {
	Stable, Candidate, Mode string
	// Decision is promote, rollback, inconclusive or continue; DecidedAt
	// is when a final decision was latched (zero while continuing).
	// SinceDecision is the latest evaluation's own verdict after the
	// latch: the comparison goes on for information, the decision stands.
	Decision, Reason, SinceDecision string
	DecidedAt                       time.Time
	Started                         time.Time // event time; zero before the candidate's first event
	Observed, MinPeriod             time.Duration
	Checks                          []RolloutCheck
	// Shadow agreement: the share of paired predictions with the same
	// class and the mean |score difference| (NaN without).
	Pairs, Agreement, MeanAbsDiff float64
	// Flag is the feature flag the rollout moves, in one line: where it
	// is and what is next ("" without a flag).
	Flag string
}

// RolloutCheck is one criterion of a rollout.
type RolloutCheck struct {
	Criterion, Status, Waiting        string
	Stable, Candidate, Limit          float64
	StableN, CandidateN, PFail, PPass float64
	Unit                              string
}

// Point is one past evaluation of a version (the service keeps these as
// its history).
type Point struct {
	At                  time.Time
	Events              float64
	Accuracy, MAE, RMSE float64 // NaN without joined outcomes
	PSI                 []float64
	Drifted             int
}

// Options configure the pages.
type Options struct {
	// Now is the clock for "ago" and events/s (time.Now when nil).
	Now func() time.Time
	// GrafanaURL, when set, is linked from every page.
	GrafanaURL string
	// Refresh is how often a page reloads itself (10 s when zero); a
	// ?refresh=N query overrides it per page, and 0 pauses.
	Refresh time.Duration
}

// Page renders the status pages from snapshots.
type Page struct {
	status func() []Version
	opt    Options
	rates  rates
}

//go:embed page.tmpl
var pageTmpl string

var tmpl = template.Must(template.New("page").Funcs(charts.Funcs()).Parse(pageTmpl))

// New returns the pages; status returns the current snapshots sorted by
// model and version.
func New(status func() []Version, opt Options) *Page {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Refresh <= 0 {
		opt.Refresh = 10 * time.Second
	}
	return &Page{status: status, opt: opt}
}

// Register mounts the fleet page at / and the model pages at
// /models/{model} on mux.
func (p *Page) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /{$}", p.Fleet)
	mux.HandleFunc("GET /models/{model}", p.Model)
}

// header is what every page shows around its content.
type header struct {
	Title      string
	Style      template.CSS
	Refresh    int // seconds; 0: paused
	Self       string
	Now        time.Time
	GrafanaURL string
	APIPath    string // JSON of what the page shows
}

func (p *Page) header(r *http.Request, title, api string) header {
	h := header{Title: title, Style: charts.Stylesheet(), Refresh: int(p.opt.Refresh / time.Second), Self: r.URL.EscapedPath(),
		Now: p.opt.Now().UTC(), GrafanaURL: p.opt.GrafanaURL, APIPath: api}
	if q := r.URL.Query().Get("refresh"); q != "" {
		if n, err := strconv.Atoi(q); err == nil && n >= 0 {
			h.Refresh = min(n, 3600)
		}
	}
	return h
}

// row is one model version as the fleet table and the model page's header
// show it.
type row struct {
	Model, ModelHref, Version, Task, Role string
	Health, HealthClass                   string
	// Alerts lists the features whose streaming verdict is drift (PSI at or
	// above its threshold over at least min_samples values), without `for`
	// durations; Firing the alert rules' firing alerts.
	Alerts []string
	Firing []string
	// EventsPerSec is the rise of the version's event counter over the
	// snapshots of the last minute (see rates); NaN until two snapshots at
	// least a second apart.
	EventsPerSec float64
	WindowEvents float64
	// Quality is accuracy (classification) or MAE (regression) over the
	// outcomes joined to the window; NaN without outcomes.
	QualityName string
	Quality     float64
	Percent     bool // Quality is a share
	Joined      float64
	LastEvent   time.Time
	Features    int
}

func (p *Page) row(v *Version, now time.Time) row {
	r := row{Model: v.Model, ModelHref: "/models/" + url.PathEscape(v.Model), Version: v.Version, Task: string(v.Task), Role: v.Role,
		EventsPerSec: p.rates.observe(v.Model+"\x00"+v.Version, now, v.EventsTotal),
		WindowEvents: v.Latest.Events, Joined: v.Latest.Joined, LastEvent: v.LastEvent, Features: len(v.Latest.Features), Firing: v.Firing}
	r.QualityName, r.Quality, r.Percent = "accuracy", v.Latest.Accuracy, true
	if v.Task == vocab.TaskRegression {
		r.QualityName, r.Quality, r.Percent = "MAE", v.Latest.MAE, false
	}
	warming := len(v.State) > 0
	for i, f := range v.Latest.Features {
		if i < len(v.Drift) && v.Drift[i] {
			r.Alerts = append(r.Alerts, f.Name)
		}
		if i >= len(v.State) || v.State[i] != "insufficient_data" {
			warming = false
		}
	}
	switch {
	case v.Latest.Events == 0:
		r.Health, r.HealthClass = "no data", "idle"
	case len(r.Alerts) > 0:
		r.Health, r.HealthClass = "drift", "drift"
	case warming:
		r.Health, r.HealthClass = "warming up", "warn"
	default:
		r.Health, r.HealthClass = "ok", "ok"
	}
	return r
}

type fleetView struct {
	header
	Rows                      []row
	Models, Versions, Drifted int
}

// Fleet serves the fleet page: one row per model version.
func (p *Page) Fleet(w http.ResponseWriter, r *http.Request) {
	now := p.opt.Now()
	v := fleetView{header: p.header(r, "driftwatch: fleet", "/api/v1/models")}
	seen := map[string]bool{}
	for _, s := range p.status() {
		row := p.row(&s, now)
		v.Rows = append(v.Rows, row)
		if !seen[s.Model] {
			seen[s.Model] = true
			v.Models++
		}
		if len(row.Alerts) > 0 {
			v.Drifted++
		}
	}
	v.Versions = len(v.Rows)
	if v.Drifted > 0 {
		v.Title = fmt.Sprintf("driftwatch: %d drifting", v.Drifted)
	}
	p.render(w, "fleet", v)
}

type modelView struct {
	header
	Model    string
	Versions []versionView
	Rollout  *Rollout
	// Compare puts the versions side by side when there are several, each
	// over its own window; Rollout is the verdict on the rollout's arms.
	Compare         []compareRow
	CompareFeatures []compareFeature
}

type versionView struct {
	row
	ID             string // anchor, by position
	Evaluated      bool
	Window         string
	Late           uint64
	Scored         float64
	HighConfidence float64
	Drifted        int
	QualityChart   charts.Series
	DriftChart     charts.Series
	Features       []featureView
	MinSamples     int
}

type featureView struct {
	ID        string
	F         monitor.FeatureStats
	State     string
	Drift     bool
	Numeric   bool
	Threshold float64 // PSI's, for its chart
	Verdict   Verdict
	Hist      *charts.Histogram
	Bins      []charts.Bin
	PSI       charts.Series
}

type compareRow struct {
	Name    string
	Values  []string
	Differs bool
}

type compareFeature struct {
	Name  string
	PSI   []float64
	Drift []bool
}

// Model serves a model's page: every version, every feature.
func (p *Page) Model(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("model")
	now := p.opt.Now()
	v := modelView{Model: name, header: p.header(r, "driftwatch: "+name, "/api/v1/models/"+url.PathEscape(name))}
	for _, s := range p.status() {
		if s.Model == name {
			v.Versions = append(v.Versions, p.version(&s, now, len(v.Versions)))
			if s.Rollout != nil {
				v.Rollout = s.Rollout
			}
		}
	}
	if len(v.Versions) == 0 {
		w.WriteHeader(http.StatusNotFound)
		v.Title = "driftwatch: unknown model"
		p.render(w, "notfound", v)
		return
	}
	for _, vv := range v.Versions {
		if len(vv.Alerts) > 0 {
			v.Title = fmt.Sprintf("driftwatch: %s drifting", name)
		}
	}
	if len(v.Versions) > 1 {
		v.Compare, v.CompareFeatures = compare(v.Versions)
	}
	p.render(w, "model", v)
}

func (p *Page) version(s *Version, now time.Time, i int) versionView {
	v := versionView{row: p.row(s, now), ID: fmt.Sprintf("v%d", i+1), Evaluated: len(s.Latest.Features) > 0 || s.Latest.Events > 0,
		Late: s.Latest.Late, Scored: s.Latest.Scored, HighConfidence: s.Latest.HighConfidenceShare, MinSamples: s.MinSamples}
	ev := &s.Latest
	if !ev.Start.IsZero() {
		v.Window = ev.Start.Format("15:04:05") + "–" + ev.End.Format("15:04:05 UTC") + " (event time)"
	}
	at := make([]time.Time, len(s.History))
	quality := make([]float64, len(s.History))
	drifted := make([]float64, len(s.History))
	for j, pt := range s.History {
		at[j], drifted[j] = pt.At, float64(pt.Drifted)
		quality[j] = pt.Accuracy
		if !v.Percent {
			quality[j] = pt.MAE
		}
	}
	v.QualityChart = charts.Series{Title: v.QualityName + " over recent evaluations", YLabel: v.QualityName, At: at, Y: quality,
		Threshold: math.NaN(), Percent: v.Percent}
	v.DriftChart = charts.Series{Title: "features in drift over recent evaluations", YLabel: "features in drift", At: at, Y: drifted,
		Threshold: math.NaN()}
	for j, f := range ev.Features {
		fv := featureView{ID: fmt.Sprintf("%s-f%d", v.ID, j+1), F: f, State: "ok", Numeric: f.Kind == profile.Numeric, Threshold: math.NaN()}
		if j < len(s.State) {
			fv.State = s.State[j]
		}
		if j < len(s.Drift) {
			fv.Drift = s.Drift[j]
		}
		if j < len(s.PSIThreshold) {
			fv.Threshold = s.PSIThreshold[j]
		}
		fv.Verdict = Verdict{Value: math.NaN(), Threshold: math.NaN()}
		if j < len(s.Verdict) {
			fv.Verdict = s.Verdict[j]
		}
		if len(f.Reference) > 0 && len(f.Reference) == len(f.Current) {
			h := &charts.Histogram{Title: f.Name + ": reference and current window", Edges: f.Edges, Reference: f.Reference, Current: f.Current}
			if !fv.Numeric {
				h.Edges = nil
				h.Labels = append(append(make([]string, 0, len(f.Categories)+1), f.Categories...), "(unseen)")
			}
			fv.Hist, fv.Bins = h, h.Bins()
		}
		// Evaluations of a window below min_samples gave no verdict, and
		// their PSI (≈ 6 from 2 events) would set the scale and flatten
		// the real curve and the threshold: they are gaps.
		psi := make([]float64, len(s.History))
		for k, pt := range s.History {
			psi[k] = math.NaN()
			if j < len(pt.PSI) && pt.Events >= float64(s.MinSamples) {
				psi[k] = pt.PSI[j]
			}
		}
		fv.PSI = charts.Series{Title: f.Name + ": PSI over recent evaluations", YLabel: "PSI", At: at, Y: psi, Threshold: fv.Threshold, Small: true}
		if fv.Drift {
			v.Drifted++
		}
		v.Features = append(v.Features, fv)
	}
	// Drifting features first, each group in the window's order.
	slices.SortStableFunc(v.Features, func(a, b featureView) int {
		switch {
		case a.Drift && !b.Drift:
			return -1
		case b.Drift && !a.Drift:
			return 1
		}
		return 0
	})
	return v
}

// compare lays the versions side by side.
func compare(vs []versionView) ([]compareRow, []compareFeature) {
	add := func(rows []compareRow, name string, f func(v *versionView) string) []compareRow {
		r := compareRow{Name: name}
		for i := range vs {
			r.Values = append(r.Values, f(&vs[i]))
			r.Differs = r.Differs || r.Values[i] != r.Values[0]
		}
		return append(rows, r)
	}
	var rows []compareRow
	rows = add(rows, "role", func(v *versionView) string { return orDash(v.Role) })
	rows = add(rows, "health", func(v *versionView) string { return v.Health })
	rows = add(rows, "events in window", func(v *versionView) string { return charts.Count(v.WindowEvents) })
	rows = add(rows, "events/s", func(v *versionView) string { return charts.Short(v.EventsPerSec) })
	rows = add(rows, vs[0].QualityName, func(v *versionView) string { return quality(v.Quality, v.Percent) })
	rows = add(rows, "joined outcomes", func(v *versionView) string { return charts.Count(v.Joined) })
	rows = add(rows, "high-confidence share", func(v *versionView) string { return charts.Pct(v.HighConfidence) })
	rows = add(rows, "features in drift", func(v *versionView) string { return fmt.Sprintf("%d of %d", v.Drifted, len(v.Features)) })

	var feats []compareFeature
	index := map[string]int{}
	for i := range vs {
		for _, f := range vs[i].Features {
			j, ok := index[f.F.Name]
			if !ok {
				j = len(feats)
				index[f.F.Name] = j
				cf := compareFeature{Name: f.F.Name, PSI: make([]float64, len(vs)), Drift: make([]bool, len(vs))}
				for k := range cf.PSI {
					cf.PSI[k] = math.NaN()
				}
				feats = append(feats, cf)
			}
			feats[j].PSI[i], feats[j].Drift[i] = f.F.PSI, f.Drift
		}
	}
	return rows, feats
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

func quality(x float64, percent bool) string {
	if percent {
		return charts.Pct(x)
	}
	return charts.Num(x)
}

func (p *Page) render(w http.ResponseWriter, name string, data any) {
	var b bytes.Buffer
	if err := tmpl.ExecuteTemplate(&b, name, data); err != nil {
		http.Error(w, "statuspage: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	// Nothing on these pages runs script or loads from elsewhere; saying so
	// means an injection that slipped through could do nothing.
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'none'; base-uri 'none'; frame-ancestors 'none'")
	w.Write(b.Bytes())
}
