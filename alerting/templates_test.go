package alerting

import (
	"strings"
	"testing"
	"time"
)

// fixtureAlert is a firing per-feature drift alert as the rule engine would
// hand it to notifiers (without rendered annotations, so notifiers render
// the defaults).
func fixtureAlert(feature string) Alert {
	start := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	return Alert{
		Key: "psi_drift/credit/v3/" + feature, Rule: "psi_drift", Status: StatusFiring, Severity: SeverityCritical,
		Labels: map[string]string{"alertname": "psi_drift", "model": "credit", "version": "v3", "feature": feature,
			"statistic": "psi", "severity": SeverityCritical, "team": "risk"},
		Annotations: map[string]string{"runbook_url": "http://127.0.0.1/runbook"},
		Model:       "credit", Version: "v3", Feature: feature, Statistic: "psi",
		Value: 0.3127, Threshold: 0.25, Op: ">=", Samples: 12000,
		WindowStart: start.Add(-time.Hour), WindowEnd: start,
		StartsAt:     start,
		GeneratorURL: "http://127.0.0.1:8080/models/credit/v3",
		DashboardURL: "http://127.0.0.1:3000/d/driftwatch?var-model=credit",
	}
}

// fixtureResolved returns a's resolved notification as the engine makes
// it: the value at resolution, back below the warning threshold 0.1.
func fixtureResolved(a Alert, at time.Time) Alert {
	a.Status, a.EndsAt, a.ChangedAt = StatusResolved, at, at
	a.Value, a.Threshold = 0.04, 0.1
	return a
}

func TestTemplatesRender(t *testing.T) {
	custom, err := NewTemplates(TemplatesConfig{Summary: `{{.Severity}}: {{.Model}} {{.Statistic}}={{printf "%.2f" .Value}}`})
	if err != nil {
		t.Fatal(err)
	}
	model := fixtureAlert("")
	model.Statistic, model.Op, model.Value, model.Threshold, model.Severity = "accuracy", "<=", 0.81234, 0.85, SeverityWarning
	model.WindowStart, model.WindowEnd = time.Time{}, time.Time{} // a count window
	f := func(name string, tpl *Templates, a Alert, summary, description string) {
		t.Helper()
		s, d := tpl.Render(a)
		if s != summary {
			t.Errorf("%s: summary\n got %q\nwant %q", name, s, summary)
		}
		if d != description {
			t.Errorf("%s: description\n got %q\nwant %q", name, d, description)
		}
	}
	f("default feature", defaultTemplates(), fixtureAlert("income"),
		"credit/v3: psi of income is 0.313 (>= 0.25)",
		"Model credit version v3: psi of feature income is 0.3127, at or above the critical threshold 0.25 over 12000 samples in the window 2025-03-01T11:00:00Z to 2025-03-01T12:00:00Z.")
	f("default model", defaultTemplates(), model,
		"credit/v3: accuracy is 0.812 (<= 0.85)",
		"Model credit version v3: accuracy is 0.8123, at or below the warning threshold 0.85 over 12000 samples.")
	f("custom summary, default description", custom, model,
		"warning: credit accuracy=0.81",
		"Model credit version v3: accuracy is 0.8123, at or below the warning threshold 0.85 over 12000 samples.")
}

func TestNewTemplatesErrors(t *testing.T) {
	for _, tc := range []struct {
		cfg  TemplatesConfig
		want string
	}{
		{TemplatesConfig{Summary: "{{.Model"}, `alerting: template "summary": template: summary:1: unclosed action`},
		{TemplatesConfig{Description: "{{.Modle}}"}, `alerting: template "description": template: description:1:2: executing "description" at <.Modle>: can't evaluate field Modle in type alerting.Alert`},
		{TemplatesConfig{Summary: "{{nope .Model}}"}, `alerting: template "summary": template: summary:1: function "nope" not defined`},
	} {
		_, err := NewTemplates(tc.cfg)
		if err == nil || err.Error() != tc.want {
			t.Errorf("%+v:\n got %v\nwant %s", tc.cfg, err, tc.want)
		}
	}
}

func TestSummarizePrefersAnnotations(t *testing.T) {
	a := fixtureAlert("income")
	a.Annotations = map[string]string{"summary": "from the rule"}
	s, d := summarize(a)
	if s != "from the rule" {
		t.Errorf("summary %q, want the annotation", s)
	}
	if !strings.HasPrefix(d, "Model credit version v3: psi of feature income") {
		t.Errorf("description %q, want the default rendering", d)
	}
}
