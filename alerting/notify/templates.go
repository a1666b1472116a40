package notify

import (
	"bytes"
	"fmt"
	"maps"
	"math"
	"strings"
	"sync"
	"text/template"
	"time"

	"driftwatch/vocab"
)

// Default templates for an alert's summary and description. They run over
// an Alert; headline and detail word firing, escalated, de-escalated and
// resolved alerts and rollout decisions (see their functions).
const (
	DefaultSummaryTemplate = `{{.Model}}/{{.Version}}: {{headline .}}`

	DefaultDescriptionTemplate = `Model {{.Model}} version {{.Version}}: {{detail .}}`
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

// TemplateFuncs returns the functions every alert template can call
// (rfc3339, finite, headline, detail), for notifiers with templates of
// their own.
func TemplateFuncs() template.FuncMap { return maps.Clone(templateFuncs) }

var templateFuncs = template.FuncMap{
	"rfc3339":  func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"finite":   func(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) },
	"headline": headline,
	"detail":   detail,
}

// isRollout reports whether the alert is a rollout decision (rollout_rollback,
// rollout_promote): Version is the candidate, Labels["stable"] the stable
// version, Annotations["reason"] the decision's reason.
func isRollout(a Alert) bool { return a.Statistic.RolloutDecision() != "" }

// subject names the statistic: "psi of income", "accuracy".
func subject(a Alert, long bool) string {
	switch {
	case a.Feature == "":
		return string(a.Statistic)
	case a.Statistic == vocab.ConsumerLag:
		return string(vocab.ConsumerLag) + " of topic " + a.Feature
	case long:
		return string(a.Statistic) + " of feature " + a.Feature
	}
	return string(a.Statistic) + " of " + a.Feature
}

// Back is the side of the threshold a resolved alert is back on.
func Back(op Op) string {
	if op == OpAtMost {
		return "above"
	}
	return "below"
}

// change words a severity change: "escalated from warning to critical".
func change(a Alert) string {
	if a.PreviousSeverity == "" || a.PreviousSeverity == a.Severity {
		return ""
	}
	verb := "escalated"
	if SeverityRank(a.Severity) < SeverityRank(a.PreviousSeverity) {
		verb = "de-escalated"
	}
	return verb + " from " + string(a.PreviousSeverity) + " to " + string(a.Severity)
}

// headline is the one-line statement of the default summary:
//
//	psi of income is 0.313 (>= 0.25)
//	psi of income is 0.313 (>= 0.25), escalated from warning to critical
//	psi of income is 0.15 (>= 0.1), de-escalated from critical to warning
//	psi of income is 0.04, back below 0.1                 (resolved)
//	psi of income is 0.25, now critical                   (the warning resolved, for Alertmanager)
//	rollback of candidate v2 (stable v1) decided: <reason>
//	candidate v2 (stable v1), step 2/4: the flag reached 25% (step 2 of 4)
func headline(a Alert) string {
	if a.Statistic == vocab.RolloutStepped || a.Statistic == vocab.RolloutRolledBack {
		// A flag change: "candidate v2 (stable v1), step 2/4: the flag reached 25% (step 2 of 4)".
		s := "candidate " + a.Version
		if st := a.Labels["stable"]; st != "" {
			s += " (stable " + st + ")"
		}
		if a.Feature != "" {
			s += ", " + a.Feature
		}
		if a.Status == StatusResolved {
			return s + ": the flag is no longer there"
		}
		return s + ": " + a.Annotations["reason"]
	}
	if isRollout(a) {
		what := a.Statistic.RolloutDecision()
		if a.Status == StatusResolved {
			return fmt.Sprintf("the %s decision on candidate %s no longer stands", what, a.Version)
		}
		s := fmt.Sprintf("%s of candidate %s", what, a.Version)
		if st := a.Labels["stable"]; st != "" {
			s += " (stable " + st + ")"
		}
		s += " decided"
		if r := a.Annotations["reason"]; r != "" {
			s += ": " + r
		}
		return s
	}
	if a.Status == StatusResolved {
		if a.SupersededBy != "" {
			return fmt.Sprintf("%s is %.3g, now %s", subject(a, false), a.Value, a.SupersededBy)
		}
		if math.IsNaN(a.Value) {
			return subject(a, false) + " is no longer evaluated"
		}
		return fmt.Sprintf("%s is %.3g, back %s %g", subject(a, false), a.Value, Back(a.Op), a.Threshold)
	}
	s := fmt.Sprintf("%s is %.3g (%s %g)", subject(a, false), a.Value, a.Op, a.Threshold)
	if c := change(a); c != "" {
		s += ", " + c
	}
	return s
}

// detail is the default description: value, threshold, samples, window,
// and for a resolved alert how long it fired.
func detail(a Alert) string {
	var b strings.Builder
	samples := func() {
		if a.Samples > 0 && !math.IsInf(a.Samples, 0) {
			fmt.Fprintf(&b, " over %.0f samples", a.Samples)
		}
		if !a.WindowEnd.IsZero() {
			fmt.Fprintf(&b, " in the window %s to %s", a.WindowStart.UTC().Format(time.RFC3339), a.WindowEnd.UTC().Format(time.RFC3339))
		}
	}
	switch {
	case isRollout(a):
		what := a.Statistic.RolloutDecision()
		if a.Status == StatusResolved {
			fmt.Fprintf(&b, "the %s decision on candidate %s no longer stands (a new rollout)", what, a.Version)
			break
		}
		fmt.Fprintf(&b, "the rollout of candidate %s", a.Version)
		if st := a.Labels["stable"]; st != "" {
			fmt.Fprintf(&b, " against stable %s", st)
		}
		if m := a.Labels["mode"]; m != "" {
			fmt.Fprintf(&b, " (%s)", m)
		}
		fmt.Fprintf(&b, " is decided: %s", what)
		if r := a.Annotations["reason"]; r != "" {
			fmt.Fprintf(&b, ", because %s", r)
		}
		if !a.WindowEnd.IsZero() {
			fmt.Fprintf(&b, "; events from %s to %s", a.WindowStart.UTC().Format(time.RFC3339), a.WindowEnd.UTC().Format(time.RFC3339))
		}
	case a.Status == StatusResolved && a.SupersededBy != "":
		fmt.Fprintf(&b, "%s is %.4g: the %s alert goes on as %s", subject(a, true), a.Value, a.Severity, a.SupersededBy)
	case a.Status == StatusResolved:
		if math.IsNaN(a.Value) {
			fmt.Fprintf(&b, "%s is no longer evaluated", subject(a, true))
		} else {
			fmt.Fprintf(&b, "%s is %.4g, back %s the threshold %g", subject(a, true), a.Value, Back(a.Op), a.Threshold)
			samples()
		}
		if !a.StartsAt.IsZero() && !a.EndsAt.IsZero() {
			fmt.Fprintf(&b, "; resolved after firing from %s to %s", a.StartsAt.UTC().Format(time.RFC3339), a.EndsAt.UTC().Format(time.RFC3339))
		}
	default:
		side := "at or above"
		if a.Op == OpAtMost {
			side = "at or below"
		}
		fmt.Fprintf(&b, "%s is %.4g, %s the %s threshold %g", subject(a, true), a.Value, side, a.Severity, a.Threshold)
		samples()
		if c := change(a); c != "" {
			b.WriteString("; " + c)
		}
	}
	b.WriteString(".")
	return b.String()
}

// sampleAlert is what NewTemplates executes new templates on, so that a
// template naming a field Alert does not have fails at construction rather
// than at the first alert.
// SampleAlert returns it, for notifiers that check templates of their own
// the same way.
func SampleAlert() Alert {
	a := sampleAlert
	a.Labels, a.Annotations = maps.Clone(a.Labels), map[string]string{}
	return a
}

var sampleAlert = Alert{
	Key: "drift/credit/v1/income", Rule: "drift", Status: StatusFiring, Severity: SeverityWarning,
	Labels:      map[string]string{"alertname": "drift", "model": "credit", "version": "v1"},
	Annotations: map[string]string{},
	Model:       "credit", Version: "v1", Feature: "income", Statistic: vocab.PSI,
	Value: 0.31, Threshold: 0.2, Op: OpAtLeast, Samples: 5000,
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
// a Notification always says something.
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

// Summarize returns the alert's summary and description annotations, or,
// where the rule engine left them empty, the default rendering.
func Summarize(a Alert) (summary, description string) {
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
