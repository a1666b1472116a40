package dashboards

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/plugins"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"gopkg.in/yaml.v3"

	"driftwatch/alerting"
	"driftwatch/alerting/notify/alertmanager"
)

// The committed files are what the code generates, byte for byte, and
// generating twice gives the same bytes.
func TestGeneratedFilesUpToDate(t *testing.T) {
	files := generated(t)
	again := generated(t)
	for name, want := range files {
		if !bytes.Equal(want, again[name]) {
			t.Errorf("%s: two generations differ", name)
		}
		got, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from what dashboards generates: run `make dashboards` (go generate ./dashboards/) and commit it", name)
		}
	}
}

func generated(t *testing.T) map[string][]byte {
	t.Helper()
	boards, err := Boards()
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, b := range boards {
		if files[b.File], err = JSON(b.Dashboard); err != nil {
			t.Fatal(err)
		}
	}
	if files[RulesFile], err = Rules(); err != nil {
		t.Fatal(err)
	}
	if files[InhibitFile], err = Inhibit(); err != nil {
		t.Fatal(err)
	}
	return files
}

// Schema versions a Grafana imports these dashboards at: from 36 (Grafana
// 9.0, which made every datasource reference a {type, uid} object, as
// these are) to the newest this SDK pin writes (42, Grafana 12). An older
// Grafana opens a newer schema without migrating it.
const minSchema, maxSchema = 36, 42

// builtins are the variables Grafana itself defines.
var builtins = []string{"__rate_interval", "__interval", "__range", "__all"}

var varRE = regexp.MustCompile(`\$\{?([A-Za-z_]\w*)`)

// Each committed dashboard imports into any Grafana: a supported schema
// version, a uid, unique panel ids, every panel, query and variable on the
// "datasource" variable (no data source uid of this machine), only defined
// variables in queries, and the SDK's strict decoder accepts it.
func TestDashboardsImportable(t *testing.T) {
	plugins.RegisterDefaultPlugins()
	uids := map[string]bool{}
	for _, file := range dashboardFiles(t) {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		//lint:ignore SA1019 the classic dashboard JSON (v1) is what Grafana's dashboard import and file provisioning take; dashboardv2 emits the v2 spec for Grafana 12's app-platform API only
		var strict dashboard.Dashboard
		// The SDK returns an empty cog.BuildErrors for success.
		if err := strict.UnmarshalJSONStrict(data); err != nil {
			if be, ok := err.(cog.BuildErrors); !ok || len(be) > 0 {
				t.Errorf("%s: the SDK's strict decoder: %v", file, err)
			}
		}
		var d struct {
			UID           string  `json:"uid"`
			Title         string  `json:"title"`
			SchemaVersion float64 `json:"schemaVersion"`
			Panels        []panel `json:"panels"`
			Templating    struct {
				List []struct {
					Type, Name string
					Query      any
					Datasource *dsRef
				}
			}
		}
		if err := json.Unmarshal(data, &d); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if d.SchemaVersion < minSchema || d.SchemaVersion > maxSchema {
			t.Errorf("%s: schemaVersion %v, want %d to %d", file, d.SchemaVersion, minSchema, maxSchema)
		}
		if d.UID == "" || len(d.UID) > 40 || uids[d.UID] || d.Title == "" {
			t.Errorf("%s: uid %q (1 to 40 characters, unique) and title %q", file, d.UID, d.Title)
		}
		uids[d.UID] = true

		vars := slices.Clone(builtins)
		hasDS := false
		for _, v := range d.Templating.List {
			vars = append(vars, v.Name)
			switch v.Type {
			case "datasource":
				hasDS = hasDS || v.Name == "datasource" && v.Query == "prometheus"
			case "query":
				if v.Datasource == nil || *v.Datasource != byVariable {
					t.Errorf("%s: variable %s: datasource %v, want %v", file, v.Name, v.Datasource, byVariable)
				}
			}
		}
		if !hasDS {
			t.Errorf("%s: no Prometheus data source variable named datasource", file)
		}

		ids := map[int]bool{}
		n := 0
		for _, p := range flatten(d.Panels) {
			if p.ID <= 0 || ids[p.ID] {
				t.Errorf("%s: panel %q: id %d is not unique and positive", file, p.Title, p.ID)
			}
			ids[p.ID] = true
			if p.Type == "row" {
				continue
			}
			n++
			if p.Datasource == nil || *p.Datasource != byVariable || len(p.Targets) == 0 {
				t.Errorf("%s: panel %q: datasource %v and %d queries, want %v and at least one", file, p.Title, p.Datasource, len(p.Targets), byVariable)
			}
			for _, tg := range p.Targets {
				if tg.Datasource == nil || *tg.Datasource != byVariable || tg.Expr == "" || tg.RefID == "" {
					t.Errorf("%s: panel %q: query %+v", file, p.Title, tg)
				}
				for _, m := range varRE.FindAllStringSubmatch(tg.Expr, -1) {
					if !slices.Contains(vars, m[1]) {
						t.Errorf("%s: panel %q: query names undefined variable $%s", file, p.Title, m[1])
					}
				}
			}
		}
		if n == 0 {
			t.Errorf("%s: no panels", file)
		}
		// No data source is named any other way anywhere in the file.
		for _, m := range regexp.MustCompile(`"uid": "([^"]*)"`).FindAllStringSubmatch(string(data), -1) {
			if m[1] != byVariable.UID && m[1] != d.UID {
				t.Errorf("%s: a hard-coded uid %q", file, m[1])
			}
		}
	}
}

type dsRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

var byVariable = dsRef{"prometheus", "${datasource}"}

type panel struct {
	ID         int     `json:"id"`
	Type       string  `json:"type"`
	Title      string  `json:"title"`
	Datasource *dsRef  `json:"datasource"`
	Panels     []panel `json:"panels"` // a collapsed row's
	Targets    []struct {
		RefID      string `json:"refId"`
		Expr       string `json:"expr"`
		Datasource *dsRef `json:"datasource"`
	} `json:"targets"`
	row string // the title of the row the panel is in
}

// flatten lists rows and panels in order, each panel with its row's title.
func flatten(ps []panel) []panel {
	var out []panel
	row := ""
	for _, p := range ps {
		if p.Type == "row" {
			row = p.Title
			out = append(out, p)
			for _, c := range p.Panels {
				c.row = row
				out = append(out, c)
			}
			continue
		}
		p.row = row
		out = append(out, p)
	}
	return out
}

func dashboardFiles(t *testing.T) []string {
	t.Helper()
	boards, err := Boards()
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, b := range boards {
		files = append(files, b.File)
	}
	if len(files) != 3 {
		t.Fatalf("%d dashboards, want fleet, model and service", len(files))
	}
	return files
}

// rulesFile is the committed rules file as Prometheus reads it.
type rulesFile struct {
	Groups []struct {
		Name  string
		Rules []struct {
			Record, Alert, Expr string
			For                 string
			KeepFiringFor       string `yaml:"keep_firing_for"`
			Labels              map[string]string
		}
	}
}

func readRules(t *testing.T) rulesFile {
	t.Helper()
	data, err := os.ReadFile(RulesFile)
	if err != nil {
		t.Fatal(err)
	}
	var f rulesFile
	if err := yaml.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	return f
}

// Every default alert rule of the service has a Prometheus alert of the
// same name per severity, with its threshold, for and keep_firing_for; the
// recording rules follow level:metric:operations under "driftwatch:".
func TestRulesMirrorDefaultAlerts(t *testing.T) {
	f := readRules(t)
	type key struct{ name, severity string }
	type rule = struct {
		Record, Alert, Expr string
		For                 string
		KeepFiringFor       string `yaml:"keep_firing_for"`
		Labels              map[string]string
	}
	alerts := map[key]rule{}
	records := 0
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			if r.Record != "" {
				records++
				if !regexp.MustCompile(`^driftwatch:[a-z0-9_]+:[a-z0-9_]+$`).MatchString(r.Record) {
					t.Errorf("recording rule %q: want driftwatch:metric:operations", r.Record)
				}
				continue
			}
			alerts[key{r.Alert, r.Labels["severity"]}] = r
		}
	}
	if records == 0 {
		t.Error("no recording rules")
	}
	cfg := alerting.DefaultConfig()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range cfg.Rules {
		for sev, at := range map[string]*float64{"warning": r.Warning, "critical": r.Critical} {
			if at == nil {
				continue
			}
			n++
			a, ok := alerts[key{r.Name, sev}]
			if !ok {
				t.Errorf("no %s alert %s", sev, r.Name)
				continue
			}
			if want := " " + string(r.Op) + " " + num(*at); !strings.Contains(a.Expr, want) {
				t.Errorf("%s %s: expr %q lacks %q", r.Name, sev, a.Expr, want)
			}
			if a.Labels[alertmanager.SourceLabel] != SourcePrometheus {
				t.Errorf("%s %s: labels %v, want %s=%q (Alertmanager tells it from the service's own alert by it)", r.Name, sev, a.Labels, alertmanager.SourceLabel, SourcePrometheus)
			}
			if a.For != duration(r.For) || a.KeepFiringFor != duration(r.KeepFiringFor) {
				t.Errorf("%s %s: for %q keep_firing_for %q, want %q %q", r.Name, sev, a.For, a.KeepFiringFor, duration(r.For), duration(r.KeepFiringFor))
			}
		}
	}
	for _, a := range ServiceAlerts {
		n++
		if _, ok := alerts[key{a.Alert, a.Labels["severity"]}]; !ok {
			t.Errorf("no service alert %s", a.Alert)
		}
	}
	if len(alerts) != n {
		t.Errorf("%d alerts, want %d (one per default rule and severity, and the service alerts)", len(alerts), n)
	}
}

// promtool accepts the rules file, and its unit tests (thresholds, `for`,
// min_samples) pass.
func TestPromtoolRules(t *testing.T) {
	promtool := binary(t, "promtool", "PROMTOOL_BIN")
	for _, args := range [][]string{
		{"check", "rules", RulesFile},
		{"test", "rules", "prometheus/driftwatch-rules_test.yml"},
	} {
		out, err := exec.Command(promtool, args...).CombinedOutput()
		if err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// binary finds a Debian Prometheus binary (apt-get install prometheus), or
// the one $env names; without it the test is skipped, unless CI=true.
func binary(t *testing.T, name, env string) string {
	t.Helper()
	if b := os.Getenv(env); b != "" {
		name = b
	}
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "true" {
			t.Skipf("no %s (apt-get install prometheus): %v", name, err)
		}
		t.Fatalf("CI needs %s (apt-get install prometheus): %v", name, err)
	}
	return path
}
