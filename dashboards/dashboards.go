// Package dashboards is driftwatch's Grafana dashboards and Prometheus rules
// as code: the fleet overview, the model dashboard and the service health
// dashboard, built with the Grafana Foundation SDK, and the rules file
// (recording rules for the heavy expressions, alerting rules equivalent to
// the service's default alert rules). `go generate ./dashboards/` (or
// `make dashboards`) writes them to grafana/*.json and
// prometheus/driftwatch-rules.yml; a test fails when the committed files
// differ from what this code generates, and another runs every panel query
// and rule against a real Prometheus scraping a running demo.
//
// The metrics themselves are the service's (service/metrics.go has their
// names and help); thresholds drawn on panels and used by the alerting rules
// come from the defaults in packages config, alerting and detectors.
package dashboards

//go:generate go run generate.go

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/heatmap"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/table"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"

	"driftwatch/alerting/notify"
)

// Board is one generated dashboard and the file it is written to, relative
// to this package's directory.
type Board struct {
	File string
	//lint:ignore SA1019 the classic dashboard JSON (v1) is what Grafana's dashboard import and file provisioning take; dashboardv2 emits the v2 spec for Grafana 12's app-platform API only
	Dashboard dashboard.Dashboard
}

// Boards builds every dashboard.
func Boards() ([]Board, error) {
	var out []Board
	for _, b := range []struct {
		file string
		//lint:ignore SA1019 the classic dashboard JSON (v1) is what Grafana's dashboard import and file provisioning take; dashboardv2 emits the v2 spec for Grafana 12's app-platform API only
		build func() (dashboard.Dashboard, error)
	}{
		{"grafana/fleet.json", Fleet},
		{"grafana/model.json", Model},
		{"grafana/service.json", Service},
	} {
		d, err := b.build()
		if err != nil {
			return nil, fmt.Errorf("dashboards: %s: %w", b.file, err)
		}
		out = append(out, Board{File: b.file, Dashboard: d})
	}
	return out, nil
}

// JSON is the dashboard as written to its file: indented, keys in the
// SDK's struct order (maps sorted), ending in a newline, so generating twice
// gives the same bytes.
//
//lint:ignore SA1019 the classic dashboard JSON (v1) is what Grafana's dashboard import and file provisioning take; dashboardv2 emits the v2 spec for Grafana 12's app-platform API only
func JSON(d dashboard.Dashboard) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // PromQL's <, > and & stay readable
	enc.SetIndent("", "  ")
	if err := enc.Encode(d); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// RegressionSuffix ends the title of rows whose panels only have data for
// regression models (MAE, RMSE); the others' quality panels are for
// classification models.
const RegressionSuffix = "(regression)"

// RolloutSuffix ends the title of rows whose panels only have data for
// models with a canary or shadow rollout configured.
const RolloutSuffix = "(rollout)"

// datasource is how every panel, query and variable names its data source:
// by the dashboard's "datasource" variable, so the JSON imports into any
// Grafana whatever its Prometheus data source is called.
var datasource = common.DataSourceRef{Type: cog.ToPtr("prometheus"), Uid: cog.ToPtr("${datasource}")}

// board lays panels out left to right, top to bottom, and numbers them: ids
// are unique within a dashboard, rows included.
type board struct {
	//lint:ignore SA1019 the classic dashboard JSON (v1) is what Grafana's dashboard import and file provisioning take; dashboardv2 emits the v2 spec for Grafana 12's app-platform API only
	b  *dashboard.DashboardBuilder
	id uint32
}

func newBoard(uid, title, description, from string) *board {
	//lint:ignore SA1019 the classic dashboard JSON (v1) is what Grafana's dashboard import and file provisioning take; dashboardv2 emits the v2 spec for Grafana 12's app-platform API only
	b := dashboard.NewDashboardBuilder(title).
		Uid(uid).
		Description(description).
		Tags([]string{"driftwatch"}).
		Editable().
		Tooltip(dashboard.DashboardCursorSyncCrosshair).
		Time(from, "now").
		Timezone(common.TimeZoneBrowser).
		Refresh("30s").
		Link(dashboard.NewDashboardLinkBuilder("driftwatch").
			Type(dashboard.DashboardLinkTypeDashboards).
			Icon("external link").
			Tooltip("The other driftwatch dashboards").
			Tags([]string{"driftwatch"}).
			AsDropdown(true).
			IncludeVars(false).
			KeepTime(true)).
		WithVariable(dashboard.NewDatasourceVariableBuilder("datasource").
			Label("Data source").
			Type("prometheus"))
	return &board{b: b}
}

func (d *board) next() uint32 {
	d.id++
	return d.id
}

func (d *board) row(title string) {
	d.b.WithRow(dashboard.NewRowBuilder(title).Id(d.next()))
}

func (d *board) add(p cog.Builder[dashboard.Panel]) { d.b.WithPanel(p) }

// variable adds a query variable on label values of a metric.
func (d *board) variable(name, label, metric, labelName string, all bool) {
	q := fmt.Sprintf("label_values(%s, %s)", metric, labelName)
	v := dashboard.NewQueryVariableBuilder(name).
		Label(label).
		Datasource(datasource).
		Query(dashboard.StringOrMap{String: cog.ToPtr(q)}).
		Definition(q).
		Refresh(dashboard.VariableRefreshOnTimeRangeChanged).
		Sort(dashboard.VariableSortAlphabeticalAsc)
	if all {
		v = v.Multi(true).IncludeAll(true).AllValue(".*").
			Current(dashboard.VariableOption{Text: dashboard.StringOrArrayOfString{String: cog.ToPtr("All")},
				Value: dashboard.StringOrArrayOfString{String: cog.ToPtr("$__all")}})
	}
	d.b.WithVariable(v)
}

// query is one PromQL target of a panel.
type query struct {
	expr, legend string
}

func q(expr, legend string) query { return query{expr, legend} }

func targets(format prometheus.PromQueryFormat, instant bool, qs []query) []cog.Builder[variants.Dataquery] {
	out := make([]cog.Builder[variants.Dataquery], len(qs))
	for i, q := range qs {
		if q.legend == "" {
			q.legend = "__auto" // Grafana's "Auto"
		}
		t := prometheus.NewDataqueryBuilder().
			RefId(string(rune('A' + i))).
			Datasource(datasource).
			Expr(q.expr).
			LegendFormat(q.legend).
			Format(format)
		if instant {
			t = t.Instant()
		} else {
			t = t.Range()
		}
		out[i] = t
	}
	return out
}

// series is a time series panel.
func (d *board) series(title, description, unit string, w, h uint32, qs ...query) *timeseries.PanelBuilder {
	return timeseries.NewPanelBuilder().
		Id(d.next()).
		Title(title).
		Description(description).
		Datasource(datasource).
		Targets(targets(prometheus.PromQueryFormatTimeSeries, false, qs)).
		Unit(unit).
		Span(w).Height(h).
		LineWidth(1).
		FillOpacity(10).
		ShowPoints(common.VisibilityModeNever).
		SpanNulls(common.BoolOrFloat64{Bool: cog.ToPtr(false)}).
		Legend(common.NewVizLegendOptionsBuilder().
			DisplayMode(common.LegendDisplayModeList).
			Placement(common.LegendPlacementBottom).
			ShowLegend(true)).
		Tooltip(common.NewVizTooltipOptionsBuilder().
			Mode(common.TooltipDisplayModeMulti).
			Sort(common.SortOrderDescending))
}

// number is a single-value panel over instant queries.
func (d *board) number(title, description, unit string, w, h uint32, qs ...query) *stat.PanelBuilder {
	return stat.NewPanelBuilder().
		Id(d.next()).
		Title(title).
		Description(description).
		Datasource(datasource).
		Targets(targets(prometheus.PromQueryFormatTimeSeries, true, qs)).
		Unit(unit).
		Span(w).Height(h).
		GraphMode(common.BigValueGraphModeNone).
		ColorMode(common.BigValueColorModeValue).
		TextMode(common.BigValueTextModeAuto).
		Orientation(common.VizOrientationAuto).
		ReduceOptions(common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"}).Values(false))
}

// tableOf is a table of instant queries merged on their labels; names
// renames the value columns in query order.
func (d *board) tableOf(title, description string, w, h uint32, names []string, qs ...query) *table.PanelBuilder {
	rename := map[string]string{}
	for i, n := range names {
		rename[fmt.Sprintf("Value #%c", 'A'+i)] = n
	}
	return table.NewPanelBuilder().
		Id(d.next()).
		Title(title).
		Description(description).
		Datasource(datasource).
		Targets(targets(prometheus.PromQueryFormatTable, true, qs)).
		Span(w).Height(h).
		Footer(common.NewTableFooterOptionsBuilder().Show(false).Reducer([]string{"sum"})).
		WithTransformation(dashboard.DataTransformerConfig{Id: "merge", Options: map[string]any{}}).
		WithTransformation(dashboard.DataTransformerConfig{Id: "organize", Options: map[string]any{
			"excludeByName": map[string]bool{"Time": true},
			"renameByName":  rename,
		}})
}

// heat is a heatmap of cumulative buckets labelled le.
func (d *board) heat(title, description string, w, h uint32, qs ...query) *heatmap.PanelBuilder {
	return heatmap.NewPanelBuilder().
		Id(d.next()).
		Title(title).
		Description(description).
		Datasource(datasource).
		Targets(targets(prometheus.PromQueryFormatHeatmap, false, qs)).
		Span(w).Height(h).
		Calculate(false).
		Color(heatmap.NewHeatmapColorOptionsBuilder().
			Mode(heatmap.HeatmapColorModeScheme).
			Scheme("Oranges").
			Fill("dark-orange").
			Scale(heatmap.HeatmapColorScaleExponential).
			Exponent(0.5).
			Steps(64)).
		ShowValue(common.VisibilityModeNever).
		Tooltip(heatmap.NewHeatmapTooltipBuilder().Mode(common.TooltipDisplayModeSingle).YHistogram(true)).
		ShowLegend()
}

// step is one threshold: from value up the color applies.
type step struct {
	value float64
	color string
}

// scale is the color below the first step, and the steps.
type scale struct {
	base  string
	steps []step
}

// alertScale is a default alert rule's thresholds: warning orange and
// critical red, over green, or for a rule on a low value (accuracy) from red
// up to green. A threshold the rule does not set is not drawn.
func alertScale(name string) scale {
	r := rule(name)
	if r.Op == notify.OpAtMost {
		sc := scale{base: "red"}
		if r.Critical != nil {
			sc.steps = append(sc.steps, step{*r.Critical, "orange"})
		}
		if r.Warning != nil {
			sc.steps = append(sc.steps, step{*r.Warning, "green"})
		}
		if r.Critical == nil {
			sc.base = "orange"
		}
		return sc
	}
	sc := scale{base: "green"}
	if r.Warning != nil {
		sc.steps = append(sc.steps, step{*r.Warning, "orange"})
	}
	if r.Critical != nil {
		sc.steps = append(sc.steps, step{*r.Critical, "red"})
	}
	return sc
}

func (sc scale) thresholds() *dashboard.ThresholdsConfigBuilder {
	s := []dashboard.Threshold{{Color: sc.base}}
	for _, st := range sc.steps {
		s = append(s, dashboard.Threshold{Value: cog.ToPtr(st.value), Color: st.color})
	}
	return dashboard.NewThresholdsConfigBuilder().Mode(dashboard.ThresholdsModeAbsolute).Steps(s)
}

// lines draws thresholds as dashed lines on a time series.
func lines(p *timeseries.PanelBuilder, sc scale) *timeseries.PanelBuilder {
	return p.Thresholds(sc.thresholds()).
		ThresholdsStyle(common.NewGraphThresholdsStyleConfigBuilder().Mode(common.GraphThresholdsStyleModeDashed))
}

// colors colors a stat by thresholds.
func colors(p *stat.PanelBuilder, sc scale) *stat.PanelBuilder {
	return p.Thresholds(sc.thresholds())
}
