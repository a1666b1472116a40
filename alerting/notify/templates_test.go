package notify_test

import (
	"strings"
	"testing"
	"time"

	"driftwatch/alerting/notify"
	"driftwatch/alerting/notify/notifytest"
)

func TestTemplatesRender(t *testing.T) {
	custom, err := notify.NewTemplates(notify.TemplatesConfig{Summary: `{{.Severity}}: {{.Model}} {{.Statistic}}={{printf "%.2f" .Value}}`})
	if err != nil {
		t.Fatal(err)
	}
	model := notifytest.Alert("")
	model.Statistic, model.Op, model.Value, model.Threshold, model.Severity = "accuracy", "<=", 0.81234, 0.85, notify.SeverityWarning
	model.WindowStart, model.WindowEnd = time.Time{}, time.Time{} // a count window
	f := func(name string, tpl *notify.Templates, a notify.Alert, summary, description string) {
		t.Helper()
		s, d := tpl.Render(a)
		if s != summary {
			t.Errorf("%s: summary\n got %q\nwant %q", name, s, summary)
		}
		if d != description {
			t.Errorf("%s: description\n got %q\nwant %q", name, d, description)
		}
	}
	f("default feature", mustTemplates(t), notifytest.Alert("income"),
		"credit/v3: psi of income is 0.313 (>= 0.25)",
		"Model credit version v3: psi of feature income is 0.3127, at or above the critical threshold 0.25 over 12000 samples in the window 2025-03-01T11:00:00Z to 2025-03-01T12:00:00Z.")
	f("default model", mustTemplates(t), model,
		"credit/v3: accuracy is 0.812 (<= 0.85)",
		"Model credit version v3: accuracy is 0.8123, at or below the warning threshold 0.85 over 12000 samples.")
	f("custom summary, default description", custom, model,
		"warning: credit accuracy=0.81",
		"Model credit version v3: accuracy is 0.8123, at or below the warning threshold 0.85 over 12000 samples.")
}

func TestNewTemplatesErrors(t *testing.T) {
	for _, tc := range []struct {
		cfg  notify.TemplatesConfig
		want string
	}{
		{notify.TemplatesConfig{Summary: "{{.Model"}, `alerting: template "summary": template: summary:1: unclosed action`},
		{notify.TemplatesConfig{Description: "{{.Modle}}"}, `alerting: template "description": template: description:1:2: executing "description" at <.Modle>: can't evaluate field Modle in type notify.Alert`},
		{notify.TemplatesConfig{Summary: "{{nope .Model}}"}, `alerting: template "summary": template: summary:1: function "nope" not defined`},
	} {
		_, err := notify.NewTemplates(tc.cfg)
		if err == nil || err.Error() != tc.want {
			t.Errorf("%+v:\n got %v\nwant %s", tc.cfg, err, tc.want)
		}
	}
}

func TestSummarizePrefersAnnotations(t *testing.T) {
	a := notifytest.Alert("income")
	a.Annotations = map[string]string{"summary": "from the rule"}
	s, d := notify.Summarize(a)
	if s != "from the rule" {
		t.Errorf("summary %q, want the annotation", s)
	}
	if !strings.HasPrefix(d, "Model credit version v3: psi of feature income") {
		t.Errorf("description %q, want the default rendering", d)
	}
}

func mustTemplates(t *testing.T) *notify.Templates {
	t.Helper()
	tpl, err := notify.NewTemplates(notify.TemplatesConfig{})
	if err != nil {
		t.Fatal(err)
	}
	return tpl
}
