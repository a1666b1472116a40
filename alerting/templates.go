package alerting

import (
	"bytes"
	"fmt"
	"sync"
	"text/template"
	"time"
)

// Default templates for an alert's summary and description. They run over
// an Alert; Feature is empty for statistics of the whole model version.
const (
	DefaultSummaryTemplate = `{{.Model}}/{{.Version}}: {{.Statistic}}{{with .Feature}} of {{.}}{{end}} is {{printf "%.3g" .Value}} ({{.Op}} {{.Threshold}})`

	DefaultDescriptionTemplate = `Model {{.Model}} version {{.Version}}: {{.Statistic}}` +
		`{{with .Feature}} of feature {{.}}{{end}} is {{printf "%.4g" .Value}}, ` +
		`{{if eq .Op "<="}}at or below{{else}}at or above{{end}} the {{.Severity}} threshold {{.Threshold}}` +
		`{{if .Samples}} over {{printf "%.0f" .Samples}} samples{{end}}` +
		`{{if not .WindowEnd.IsZero}} in the window {{rfc3339 .WindowStart}} to {{rfc3339 .WindowEnd}}{{end}}.`
)

// TemplatesConfig overrides the default summary and description templates
// (Go text/template over an Alert; empty keeps the default).
type TemplatesConfig struct {
	Summary     string `yaml:"summary" json:"summary,omitempty"`
	Description string `yaml:"description" json:"description,omitempty"`
}

// Templates renders alert summaries and descriptions. It is parsed once and
// safe for concurrent use.
type Templates struct {
	summary, description *template.Template
}

// templateFuncs are available to every template of this package.
var templateFuncs = template.FuncMap{
	"rfc3339": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
}

// sampleAlert is what NewTemplates executes new templates on, so that a
// template naming a field Alert does not have fails at construction rather
// than at the first alert.
var sampleAlert = Alert{
	Key: "drift/credit/v1/income", Rule: "drift", Status: StatusFiring, Severity: SeverityWarning,
	Labels:      map[string]string{"alertname": "drift", "model": "credit", "version": "v1"},
	Annotations: map[string]string{},
	Model:       "credit", Version: "v1", Feature: "income", Statistic: "psi",
	Value: 0.31, Threshold: 0.2, Op: ">=", Samples: 5000,
	WindowStart: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
	WindowEnd:   time.Date(2025, 1, 1, 1, 0, 0, 0, time.UTC),
	StartsAt:    time.Date(2025, 1, 1, 1, 0, 0, 0, time.UTC),
}

// NewTemplates parses the configured templates, falling back to the
// defaults for those left empty. A template that does not parse, or fails on
// a sample alert, is an error naming it.
func NewTemplates(cfg TemplatesConfig) (*Templates, error) {
	var t Templates
	var err error
	if t.summary, err = parseTemplate("summary", cfg.Summary, DefaultSummaryTemplate); err != nil {
		return nil, err
	}
	if t.description, err = parseTemplate("description", cfg.Description, DefaultDescriptionTemplate); err != nil {
		return nil, err
	}
	return &t, nil
}

func parseTemplate(name, text, def string) (*template.Template, error) {
	if text == "" {
		text = def
	}
	t, err := template.New(name).Funcs(templateFuncs).Parse(text)
	if err != nil {
		return nil, fmt.Errorf("alerting: template %q: %w", name, err)
	}
	if err := t.Execute(&bytes.Buffer{}, sampleAlert); err != nil {
		return nil, fmt.Errorf("alerting: template %q: %w", name, err)
	}
	return t, nil
}

// Render returns the alert's summary and description. A template that fails
// on this alert (it passed on the sample) falls back to the default one, so
// a notification always says something.
func (t *Templates) Render(a Alert) (summary, description string) {
	return execute(t.summary, defaultTemplates().summary, a), execute(t.description, defaultTemplates().description, a)
}

func execute(t, fallback *template.Template, a Alert) string {
	var b bytes.Buffer
	if err := t.Execute(&b, a); err != nil {
		b.Reset()
		_ = fallback.Execute(&b, a) // the defaults execute on any Alert
	}
	return b.String()
}

// defaultTemplates are the parsed defaults.
var defaultTemplates = sync.OnceValue(func() *Templates {
	t, err := NewTemplates(TemplatesConfig{})
	if err != nil {
		panic(err) // the defaults are constants tested in templates_test.go
	}
	return t
})

// summarize returns the alert's summary and description annotations, or,
// where the rule engine left them empty, the default rendering.
func summarize(a Alert) (summary, description string) {
	summary, description = a.Annotations["summary"], a.Annotations["description"]
	if summary == "" || description == "" {
		s, d := defaultTemplates().Render(a)
		if summary == "" {
			summary = s
		}
		if description == "" {
			description = d
		}
	}
	return summary, description
}
