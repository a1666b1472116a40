package config

import (
	"testing"
	"time"

	"driftwatch/alerting"
)

// `threshold: auto` rules parse with their budgets; the critical budget
// defaults to one false alert a week.
func TestAutoThresholdRules(t *testing.T) {
	c, err := Parse([]byte(`
models: [{name: m, task: classification, versions: [{name: v1, reference: r.dwprof}]}]
alerting:
  rules:
    - {name: Drift, statistic: psi, threshold: auto}
    - {name: Pages, statistic: chi_square_p, threshold: auto, false_alarms: {critical: 1/720h, warning: 0.5/24h}}
`))
	if err != nil {
		t.Fatal(err)
	}
	drift, pages := c.Alerting.Rules[0], c.Alerting.Rules[1]
	if drift.Threshold != alerting.ThresholdAuto || *drift.FalseAlarms.Critical != alerting.DefaultBudget || drift.FalseAlarms.Warning != nil || drift.Op != ">=" {
		t.Fatalf("Drift: %+v", drift)
	}
	if *pages.FalseAlarms.Critical != (alerting.Budget{Alerts: 1, Per: 720 * time.Hour}) || pages.FalseAlarms.Warning.String() != "0.5/24h" || pages.Op != "<=" {
		t.Fatalf("Pages: %+v %s", pages, pages.FalseAlarms.Warning)
	}
}
