package config

import (
	"fmt"
	"net"
	"net/url"
	"time"

	"driftwatch/rollout"
	"driftwatch/vocab"
)

// validate checks everything that can be checked without touching files or
// the network; errors name the key's path.
func (c *Config) validate() error {
	if c.Kafka.EmbeddedAddr != "" {
		if _, _, err := net.SplitHostPort(c.Kafka.EmbeddedAddr); err != nil {
			return fmt.Errorf("kafka.embedded_addr: %w", err)
		}
	}
	if c.Kafka.ClientID == "" || c.Kafka.Group == "" {
		return fmt.Errorf("kafka.client_id and kafka.group must not be empty")
	}
	if c.Kafka.SessionTimeout < time.Second {
		return fmt.Errorf("kafka.session_timeout must be at least 1s, got %s", c.Kafka.SessionTimeout)
	}
	if err := c.Kafka.Embedded.Retention.validate(); err != nil {
		return fmt.Errorf("kafka.embedded.retention.%w", err)
	}
	for _, k := range []struct {
		key string
		c   Compression
	}{{"kafka.compression", c.Kafka.Compression}, {"checkpoint.compression", c.Checkpoint.Compression}} {
		switch k.c {
		case CompressionNone, CompressionGzip, CompressionSnappy, CompressionLZ4, CompressionZstd:
		default:
			return fmt.Errorf("%s must be none, gzip, snappy, lz4 or zstd, got %q", k.key, k.c)
		}
	}
	switch c.Kafka.SASL.Mechanism {
	case "", "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512":
	default:
		return fmt.Errorf("kafka.sasl.mechanism must be PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512, got %q", c.Kafka.SASL.Mechanism)
	}
	if c.Kafka.SASL.Mechanism != "" && (c.Kafka.SASL.Username == "" || c.Kafka.SASL.PasswordEnv == "") {
		return fmt.Errorf("kafka.sasl needs username and password_env with mechanism %s", c.Kafka.SASL.Mechanism)
	}
	t := c.Topics
	if t.Predictions == "" || t.Outcomes == "" || t.DeadLetters == "" {
		return fmt.Errorf("topics.predictions, topics.outcomes and topics.dead_letters must not be empty")
	}
	if t.DeadLetters == t.Predictions || t.DeadLetters == t.Outcomes {
		return fmt.Errorf("topics.dead_letters must differ from the input topics, got %q", t.DeadLetters)
	}
	if c.Format != FormatJSON && c.Format != FormatArrow {
		return fmt.Errorf("format must be json or arrow, got %q", c.Format)
	}
	if c.MaxMessageBytes <= 0 || c.MaxMessageBytes > MaxMessageBytesLimit {
		return fmt.Errorf("max_message_bytes must be between 1 and %d, got %d", MaxMessageBytesLimit, c.MaxMessageBytes)
	}
	if c.StallTimeout < time.Second {
		return fmt.Errorf("stall_timeout must be at least 1s, got %s", c.StallTimeout)
	}
	if c.Checkpoint.Interval <= 0 || c.ShutdownTimeout <= 0 {
		return fmt.Errorf("checkpoint.interval and shutdown_timeout must be positive")
	}
	if c.Checkpoint.Dir == "" && c.Checkpoint.Topic == "" {
		return fmt.Errorf("checkpoint: set dir or topic")
	}
	j := c.Join
	if j.MaxPending <= 0 || j.MaxEarly < 0 || j.TTL <= 0 || j.EarlyTTL < 0 {
		return fmt.Errorf("join: max_pending and ttl must be positive, max_early and early_ttl not negative")
	}
	if len(c.Models) == 0 {
		return fmt.Errorf("models: at least one model is required")
	}
	names := map[string]bool{}
	for i, m := range c.Models {
		at := fmt.Sprintf("models[%d]", i)
		if m.Name == "" {
			return fmt.Errorf("%s.name must not be empty", at)
		}
		if names[m.Name] {
			return fmt.Errorf("%s.name: duplicate model %q", at, m.Name)
		}
		names[m.Name] = true
		if m.Task != vocab.TaskClassification && m.Task != vocab.TaskRegression {
			return fmt.Errorf("%s.task must be classification or regression, got %q", at, m.Task)
		}
		if len(m.Versions) == 0 {
			return fmt.Errorf("%s.versions: at least one version is required", at)
		}
		versions := map[string]bool{}
		for k, v := range m.Versions {
			if v.Name == "" || v.Reference == "" {
				return fmt.Errorf("%s.versions[%d] needs name and reference", at, k)
			}
			if versions[v.Name] {
				return fmt.Errorf("%s.versions[%d].name: duplicate version %q", at, k, v.Name)
			}
			versions[v.Name] = true
		}
		features := map[string]bool{}
		for k, f := range m.Features {
			if f.Name == "" || features[f.Name] {
				return fmt.Errorf("%s.features[%d].name: empty or duplicate %q", at, k, f.Name)
			}
			features[f.Name] = true
			if f.Kind != "numeric" && f.Kind != "categorical" {
				return fmt.Errorf("%s.features[%d].kind must be numeric or categorical, got %q", at, k, f.Kind)
			}
		}
		if err := m.Window.validate(); err != nil {
			return fmt.Errorf("%s.window: %w", at, err)
		}
		if m.EvaluateEvery < time.Second {
			return fmt.Errorf("%s.evaluate_every must be at least 1s, got %s", at, m.EvaluateEvery)
		}
		if m.MinSamples < 0 {
			return fmt.Errorf("%s.min_samples must not be negative", at)
		}
		if !(m.HighConfidence > 0.5 && m.HighConfidence <= 1) {
			return fmt.Errorf("%s.high_confidence must be in (0.5, 1], got %v", at, m.HighConfidence)
		}
		if err := m.Drift.Validate(); err != nil {
			return fmt.Errorf("%s.drift: %w", at, err)
		}
		if m.Rollout != nil {
			if err := m.validateRollout(versions); err != nil {
				return fmt.Errorf("%s.%w", at, err)
			}
		}
	}
	if err := c.Alerting.Validate(); err != nil {
		return fmt.Errorf("alerting.%w", err)
	}
	return nil
}

// validateRollout checks the rollout against the model: both versions
// configured, criteria the task has, and an event-time window (a rollout
// counts from its start in event time).
func (m *Model) validateRollout(versions map[string]bool) error {
	r := m.Rollout
	if err := r.Validate(); err != nil {
		return err
	}
	for _, v := range []string{r.Stable, r.Candidate} {
		if !versions[v] {
			return fmt.Errorf("rollout: version %q is not among the model's versions", v)
		}
	}
	for i, c := range r.Criteria {
		regression := c.Metric == rollout.MAE || c.Metric == rollout.RMSE
		classification := c.Metric == rollout.Accuracy || c.Metric == rollout.F1 || c.Metric == rollout.AUC
		if regression && m.Task != vocab.TaskRegression || classification && m.Task != vocab.TaskClassification {
			return fmt.Errorf("rollout: criteria[%d].metric: %s does not apply to a %s model (classification: accuracy, f1, auc; regression: mae, rmse)", i, c.Metric, m.Task)
		}
	}
	if m.Window.Count > 0 {
		return fmt.Errorf("rollout: needs an event-time window, not window.count")
	}
	return r.validateFlag()
}

// validateFlag checks the flag target and its ramp; without a flag the
// ramp's keys are errors.
func (r *Rollout) validateFlag() error {
	if r.Flag == nil {
		for _, k := range []struct {
			key string
			set bool
		}{{"ramp", r.Ramp != nil}, {"observe", r.Observe != 0}, {"on_rollback", r.OnRollback != ""}, {"dry_run", r.DryRun}} {
			if k.set {
				return fmt.Errorf("rollout.%s: needs a flag to move (rollout.flag)", k.key)
			}
		}
		return nil
	}
	if err := r.Flag.Validate(); err != nil {
		return fmt.Errorf("rollout.%w", err)
	}
	if u, err := url.Parse(r.Flag.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("rollout.flag.url: %q is not an http(s) URL", r.Flag.URL)
	}
	ramp := r.FlagRamp()
	if err := ramp.Validate(); err != nil {
		return fmt.Errorf("rollout.%w", err)
	}
	return nil
}

func (w *Window) validate() error {
	if w.Count < 0 {
		return fmt.Errorf("count must not be negative, got %d", w.Count)
	}
	if w.Pane <= 0 || w.Length < w.Pane || w.Length%w.Pane != 0 {
		return fmt.Errorf("length %s must be a positive multiple of pane %s", w.Length, w.Pane)
	}
	if w.Length/w.Pane > 10000 {
		return fmt.Errorf("%d panes are too many (at most 10000)", w.Length/w.Pane)
	}
	if w.Lateness < 0 || w.Lateness > w.Length {
		return fmt.Errorf("lateness %s must be between 0 and the window length %s", w.Lateness, w.Length)
	}
	return nil
}

func (r *Retention) validate() error {
	if r.Time < 0 {
		return fmt.Errorf("time must not be negative (0: the longest window plus lateness plus margin), got %s", r.Time)
	}
	if r.Margin < 0 {
		return fmt.Errorf("margin must not be negative, got %s", r.Margin)
	}
	if r.Bytes < 1<<20 {
		return fmt.Errorf("bytes must be at least 1048576 (1 MiB), got %d", r.Bytes)
	}
	if r.MaxBytes != 0 && r.MaxBytes < r.Bytes {
		return fmt.Errorf("max_bytes %d must be 0 (no hard cap) or at least bytes %d", r.MaxBytes, r.Bytes)
	}
	if r.Interval < time.Second || r.Interval > time.Hour {
		return fmt.Errorf("interval must be between 1s and 1h, got %s", r.Interval)
	}
	return nil
}
