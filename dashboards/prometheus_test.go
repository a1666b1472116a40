package dashboards

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"driftwatch/internal/testutil/daemon"
	"driftwatch/internal/testutil/demotest"
)

// binding is what the test substitutes for the dashboards' variables.
type binding map[string]string

// TestPanelsOnPrometheus runs Debian's prometheus on a loopback port,
// scraping a running demo, with the rules file loaded. Once it has scraped
// enough, every panel query of every committed dashboard, with its
// variables substituted, returns at least one series: the demo's
// classification model for every row but those whose title ends in
// RegressionSuffix, which get the demo's regression model (MAE, RMSE), or
// in RolloutSuffix, which get one of the demo's rollouts. Every variable
// query finds the model it is bound to (the regression model too), every
// rule evaluates without error, every recording rule gives a series, and
// promtool accepts the demo's /metrics.
func TestPanelsOnPrometheus(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo and Prometheus for about 15 s")
	}
	prom := binary(t, "prometheus", "PROMETHEUS_BIN")
	promtool := binary(t, "promtool", "PROMTOOL_BIN")
	began := time.Now()

	demoAddr := demotest.Start(t)
	base := startPrometheus(t, prom, demoAddr)

	classification := binding{"model": "credit-scoring", "version": "v1", "feature": ".*", "instance": ".*", "__rate_interval": "1m"}
	regression := binding{"model": "credit-line", "version": "v1", "feature": ".*", "instance": ".*", "__rate_interval": "1m"}
	rollout := binding{"model": "credit-limit", "version": "v2", "feature": ".*", "instance": ".*", "__rate_interval": "1m"}

	type check struct {
		what, expr string
		series     bool // must return at least one series, not only succeed
	}
	var checks []check
	for _, file := range dashboardFiles(t) {
		var d struct {
			Panels     []panel `json:"panels"`
			Templating struct {
				List []struct{ Type, Name, Query string }
			}
		}
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(data, &d); err != nil {
			t.Fatal(err)
		}
		for _, p := range flatten(d.Panels) {
			b := classification
			switch {
			case strings.HasSuffix(p.row, RegressionSuffix):
				b = regression
			case strings.HasSuffix(p.row, RolloutSuffix):
				b = rollout
			}
			for _, tg := range p.Targets {
				checks = append(checks, check{fmt.Sprintf("%s: %q %s", file, p.Title, tg.RefID), b.expand(tg.Expr), true})
			}
		}
		for _, v := range d.Templating.List {
			if v.Type == "query" {
				checkVariable(t, base, file, v.Name, v.Query, classification)
				if v.Name == "model" {
					checkVariable(t, base, file, v.Name, v.Query, regression)
				}
			}
		}
	}
	rules := readRules(t)
	nrules := 0
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			nrules++
			if r.Record != "" {
				checks = append(checks, check{"recording rule " + r.Record, r.Record, true})
			}
			checks = append(checks, check{fmt.Sprintf("rule %s%s %s", r.Record, r.Alert, r.Labels["severity"]), r.Expr, false})
		}
	}

	// Bounded wait until every check holds and every rule has been
	// evaluated without error.
	deadline := time.Now().Add(60 * time.Second)
	for {
		var failed []string
		for _, c := range checks {
			n, err := instantQuery(base, c.expr)
			switch {
			case err != nil:
				failed = append(failed, fmt.Sprintf("%s: %v\n    %s", c.what, err, c.expr))
			case c.series && n == 0:
				failed = append(failed, fmt.Sprintf("%s: no series\n    %s", c.what, c.expr))
			}
		}
		failed = append(failed, ruleHealth(base, nrules)...)
		if len(failed) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 60 s, %d of %d checks fail:\n  %s", len(failed), len(checks), strings.Join(failed, "\n  "))
		}
		time.Sleep(time.Second)
	}
	t.Logf("%d panel queries and rules hold against Prometheus, %s after the start", len(checks), time.Since(began).Round(100*time.Millisecond))

	body, err := get("http://" + demoAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(body)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics on %s/metrics: %v\n%s", demoAddr, err, out)
	}
}

var varRefRE = regexp.MustCompile(`\$\{?([A-Za-z_]\w*)\}?`)

// expand substitutes the binding's variables as Grafana would.
func (b binding) expand(expr string) string {
	return varRefRE.ReplaceAllStringFunc(expr, func(m string) string {
		if v, ok := b[varRefRE.FindStringSubmatch(m)[1]]; ok {
			return v
		}
		return m
	})
}

var labelValuesRE = regexp.MustCompile(`^label_values\((.+), (\w+)\)$`)

// checkVariable runs a label_values(selector, label) variable query the way
// Grafana does, through the label values API.
func checkVariable(t *testing.T, base, file, name, q string, b binding) {
	t.Helper()
	m := labelValuesRE.FindStringSubmatch(q)
	if m == nil {
		t.Errorf("%s: variable %s: query %q is not label_values(selector, label)", file, name, q)
		return
	}
	// The variable needs scraped series: wait, bounded, like the panels.
	deadline := time.Now().Add(60 * time.Second)
	for {
		var resp struct {
			Status string
			Data   []string
		}
		body, err := get(base + "/api/v1/label/" + m[2] + "/values?match[]=" + url.QueryEscape(b.expand(m[1])))
		if err == nil {
			err = json.Unmarshal(body, &resp)
		}
		want := b[name]
		if err == nil && resp.Status == "success" && len(resp.Data) > 0 && (want == ".*" || slices.Contains(resp.Data, want)) {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("%s: variable %s: %s gives %v (err %v), want %q among them", file, name, q, resp.Data, err, want)
			return
		}
		time.Sleep(time.Second)
	}
}

// instantQuery runs an instant query and returns how many series it gave.
func instantQuery(base, expr string) (int, error) {
	body, err := get(base + "/api/v1/query?query=" + url.QueryEscape(expr))
	if err != nil {
		return 0, err
	}
	var resp struct {
		Status, Error string
		Data          struct {
			ResultType string
			Result     json.RawMessage
		}
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		return 0, err
	}
	if resp.Status != "success" {
		return 0, fmt.Errorf("%s", resp.Error)
	}
	if resp.Data.ResultType != "vector" && resp.Data.ResultType != "matrix" {
		return 1, nil // a scalar
	}
	var series []json.RawMessage
	err = json.Unmarshal(resp.Data.Result, &series)
	return len(series), err
}

// ruleHealth lists the rules Prometheus has not evaluated, or failed to,
// and a wrong rule count.
func ruleHealth(base string, want int) []string {
	body, err := get(base + "/api/v1/rules")
	if err != nil {
		return []string{err.Error()}
	}
	var resp struct {
		Data struct {
			Groups []struct {
				Rules []struct {
					Name, Health, LastError string
				}
			}
		}
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		return []string{err.Error()}
	}
	var out []string
	n := 0
	for _, g := range resp.Data.Groups {
		for _, r := range g.Rules {
			n++
			if r.Health != "ok" {
				out = append(out, fmt.Sprintf("rule %s: health %s %s", r.Name, r.Health, r.LastError))
			}
		}
	}
	if n != want {
		out = append(out, fmt.Sprintf("Prometheus loaded %d rules, the file has %d", n, want))
	}
	return out
}

func get(u string) ([]byte, error) {
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(u)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode/100 != 2 && resp.StatusCode != http.StatusBadRequest && resp.StatusCode != http.StatusUnprocessableEntity {
		err = fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	return body, err
}

const promConfig = `global: {scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s}
rule_files: [%q]
scrape_configs:
  - job_name: driftwatch
    static_configs: [{targets: [%q]}]
`

// startPrometheus starts Prometheus on a free loopback port scraping the
// target every second with the rules file loaded, and returns its base
// URL once it is ready; t.Cleanup kills it.
func startPrometheus(t *testing.T, bin, target string) string {
	t.Helper()
	dir := t.TempDir()
	rules, err := filepath.Abs(RulesFile)
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, promConfig, rules, target), 0o600); err != nil {
		t.Fatal(err)
	}
	return daemon.Start(t, "prometheus", bin, func(attempt int, addr string) []string {
		return []string{"--config.file=" + cfg, "--storage.tsdb.path=" + filepath.Join(dir, fmt.Sprint("data", attempt)),
			"--web.listen-address=" + addr, "--log.level=warn"}
	})
}
