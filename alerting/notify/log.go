package notify

import (
	"context"
	"log/slog"
)

// LogNotifier writes alerts to the service log: the default receiver, and
// a record of what the others were sent.
type LogNotifier struct {
	name string
	log  *slog.Logger
}

// NewLog returns a notifier named name that writes to log.
func NewLog(name string, log *slog.Logger) *LogNotifier { return &LogNotifier{name: name, log: log} }

// Name is the notifier's configured name.
func (l *LogNotifier) Name() string { return l.name }

// Notify logs each alert at warning level; it never fails.
func (l *LogNotifier) Notify(_ context.Context, alerts []Alert) (bool, error) {
	for _, a := range alerts {
		l.log.Warn("alert "+string(a.Status), "alert", a.Rule, "severity", a.Severity, "model", a.Model, "version", a.Version,
			"feature", a.Feature, "statistic", a.Statistic, "value", a.Value, "threshold", a.Threshold, "summary", a.Annotations["summary"])
	}
	return false, nil
}
