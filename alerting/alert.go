// Package alerting turns the monitor's evaluations into alerts. Rules
// (which model, version, feature and statistic, warning and critical
// thresholds, `for`, `keep_firing_for`, minimum samples) move each alert
// through the states of a Prometheus alerting rule — inactive, pending,
// firing, resolved — on an injected clock; firing and resolved alerts are
// kept in an outbox (part of the engine's snapshot) until their notifiers
// acknowledge them. Silences mute notifications by label matchers; the API
// serves alerts and silences.
//
// Delivery — the Alert notifiers see, the dispatcher with its bounded queue
// and retries, templates, redaction — is package notify's, and each
// receiver has its own package under it. Computing the statistics is left
// to package monitor, turning them into samples to the service.
package alerting

import (
	"encoding/json"
	"time"
)

// MarshalJSON is needed because AlertState embeds Alert, whose MarshalJSON
// would otherwise stand for the whole state.
func (s AlertState) MarshalJSON() ([]byte, error) {
	a, err := s.Alert.MarshalJSON()
	if err != nil {
		return nil, err
	}
	rest, err := json.Marshal(struct {
		State    State     `json:"state"`
		ActiveAt time.Time `json:"active_at"`
		Silenced bool      `json:"silenced"`
	}{s.State, s.ActiveAt, s.Silenced})
	if err != nil {
		return nil, err
	}
	return append(append(a[:len(a)-1], ','), rest[1:]...), nil
}
