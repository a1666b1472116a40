package alerting

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"driftwatch/alerting/notify"
	"driftwatch/alerting/notify/alertmanager"
	"driftwatch/alerting/notify/pagerduty"
	"driftwatch/alerting/notify/slack"
	"driftwatch/alerting/notify/webhook"
	"driftwatch/vocab"
)

// Config is the `alerting` section of the service configuration.
type Config struct {
	Rules     []Rule                 `yaml:"rules"`
	Notifiers []NotifierConfig       `yaml:"notifiers"`
	Templates notify.TemplatesConfig `yaml:"templates"`
	Delivery  notify.Delivery        `yaml:"delivery"`
	// APITokenEnv names the environment variable holding the bearer token
	// of the mutating API endpoints (silences); unset disables them.
	APITokenEnv string `yaml:"api_token_env"`
	// StatusURL is how receivers reach this service's status page (alert
	// links); DashboardURL a Grafana dashboard URL with {model} in it.
	StatusURL    string `yaml:"status_url"`
	DashboardURL string `yaml:"dashboard_url"`
	// StateFile keeps alert states and silences across restarts ("" keeps
	// them in memory only).
	StateFile string `yaml:"state_file"`
}

// NotifierConfig is one receiver, named for the rules' actions, with
// exactly one of the receiver kinds set.
type NotifierConfig struct {
	Name string `yaml:"name"`
	// Cooldown and CooldownEscalations (notify, the default, or
	// suppress): see Cooldown.
	Cooldown            time.Duration        `yaml:"cooldown"`
	CooldownEscalations EscalationPolicy     `yaml:"cooldown_escalations"`
	Log                 *struct{}            `yaml:"log"`
	Alertmanager        *alertmanager.Config `yaml:"alertmanager"`
	Slack               *slack.Config        `yaml:"slack"`
	PagerDuty           *pagerduty.Config    `yaml:"pagerduty"`
	Webhook             *webhook.Config      `yaml:"webhook"`
}

// DefaultConfig logs alerts of the default rules; notifiers are the user's
// to add. The notifier "log" (the service log) exists unless the config
// defines another notifier of that name.
func DefaultConfig() Config {
	f := func(x float64) *float64 { return &x }
	return Config{
		Delivery: notify.DefaultDelivery,
		Rules: []Rule{
			{Name: "FeatureDrift", Statistic: vocab.PSI, Warning: f(0.1), Critical: f(0.2), For: 2 * time.Minute, KeepFiringFor: 5 * time.Minute, Actions: []string{"log"}},
			{Name: "FeatureNulls", Statistic: vocab.NullRate, Warning: f(0.05), Critical: f(0.2), For: 5 * time.Minute, KeepFiringFor: 5 * time.Minute, Actions: []string{"log"}},
			{Name: "UnseenCategories", Statistic: vocab.UnseenShare, Warning: f(0.05), Critical: f(0.2), For: 5 * time.Minute, KeepFiringFor: 5 * time.Minute, Actions: []string{"log"}},
			// The bundled example model is 0.805 accurate: a warning at
			// reference − 0.05 is ~2 standard errors below it over
			// min_samples outcomes, so it holds while nothing changes.
			{Name: "AccuracyDrop", Statistic: vocab.Accuracy, Warning: f(0.75), Critical: f(0.7), For: 10 * time.Minute, KeepFiringFor: 10 * time.Minute, MinSamples: 200, Actions: []string{"log"}},
			{Name: "NoData", Statistic: vocab.NoData, Warning: f(600), Critical: f(1800), Actions: []string{"log"}},
			{Name: "ConsumerLag", Statistic: vocab.ConsumerLag, Warning: f(100_000), Critical: f(1_000_000), For: 5 * time.Minute, Actions: []string{"log"}},
		},
	}
}

// Validate checks notifiers and rules; it is called by the config package.
func (c *Config) Validate() error {
	c.addLog()
	var names []string
	seen := map[string]bool{}
	for i := range c.Notifiers {
		n := &c.Notifiers[i]
		if n.Name == "" || seen[n.Name] {
			return fmt.Errorf("notifiers[%d].name: empty or duplicate %q", i, n.Name)
		}
		seen[n.Name] = true
		names = append(names, n.Name)
		kinds := 0
		var err error
		if n.Log != nil {
			kinds++
		}
		if n.Alertmanager != nil {
			kinds++
			err = n.Alertmanager.Validate()
		}
		if n.Slack != nil {
			kinds++
			err = errors.Join(err, n.Slack.Validate())
		}
		if n.PagerDuty != nil {
			kinds++
			err = errors.Join(err, n.PagerDuty.Validate())
		}
		if n.Webhook != nil {
			kinds++
			err = errors.Join(err, n.Webhook.Validate())
		}
		if kinds != 1 {
			return fmt.Errorf("notifiers[%d] (%q): set exactly one of log, alertmanager, slack, pagerduty, webhook", i, n.Name)
		}
		if err != nil {
			return fmt.Errorf("notifiers[%d] (%q): %w", i, n.Name, err)
		}
		if n.Cooldown < 0 {
			return fmt.Errorf("notifiers[%d] (%q): cooldown must not be negative", i, n.Name)
		}
		switch n.CooldownEscalations {
		case "":
			n.CooldownEscalations = EscalationNotify
		case EscalationNotify, EscalationSuppress:
		default:
			return fmt.Errorf("notifiers[%d] (%q): cooldown_escalations must be %s or %s, got %q", i, n.Name, EscalationNotify, EscalationSuppress, n.CooldownEscalations)
		}
	}
	rules := map[string]bool{}
	for i := range c.Rules {
		if err := c.Rules[i].Validate(names); err != nil {
			return fmt.Errorf("rules[%d]: %w", i, err)
		}
		if rules[c.Rules[i].Name] {
			return fmt.Errorf("rules[%d]: duplicate rule %q", i, c.Rules[i].Name)
		}
		rules[c.Rules[i].Name] = true
	}
	d := c.Delivery
	if d.QueueSize <= 0 || d.Timeout <= 0 || d.MinBackoff <= 0 || d.MaxBackoff < d.MinBackoff || d.MaxAge <= 0 {
		return fmt.Errorf("delivery: queue_size, timeout, min_backoff, max_age must be positive and max_backoff at least min_backoff")
	}
	if _, err := notify.NewTemplates(c.Templates); err != nil {
		return fmt.Errorf("templates: %w", err)
	}
	return nil
}

// Build creates the notifiers and starts an engine; statusURL is used
// when the config has none. The API token comes from the environment.
func (c *Config) Build(statusURL string, set *metrics.Set, log *slog.Logger, client *http.Client) (*Engine, *API, error) {
	c.addLog()
	tpl, err := notify.NewTemplates(c.Templates)
	if err != nil {
		return nil, nil, err
	}
	ns := map[string]notify.Notifier{}
	cooldown := map[string]Cooldown{}
	for _, nc := range c.Notifiers {
		var n notify.Notifier
		switch {
		case nc.Log != nil:
			n = notify.NewLog(nc.Name, log)
		case nc.Alertmanager != nil:
			cfg := *nc.Alertmanager
			cfg.Name = nc.Name
			n, err = alertmanager.New(cfg, client)
		case nc.Slack != nil:
			cfg := *nc.Slack
			cfg.Name = nc.Name
			n, err = slack.New(cfg, client)
		case nc.PagerDuty != nil:
			cfg := *nc.PagerDuty
			cfg.Name = nc.Name
			n, err = pagerduty.New(cfg, client)
		case nc.Webhook != nil:
			cfg := *nc.Webhook
			cfg.Name = nc.Name
			n, err = webhook.New(cfg, client)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("alerting: notifier %q: %w", nc.Name, err)
		}
		ns[nc.Name] = n
		cooldown[nc.Name] = Cooldown{Period: nc.Cooldown, Escalations: nc.CooldownEscalations}
	}
	if c.StatusURL != "" {
		statusURL = c.StatusURL
	}
	e := New(Options{Rules: c.Rules, Notifiers: ns, Cooldown: cooldown, Delivery: c.Delivery, Render: tpl.Render,
		StatusURL: statusURL, DashboardURL: c.DashboardURL, Metrics: set, Logger: log})
	api := &API{Engine: e}
	if c.APITokenEnv != "" {
		api.Token = os.Getenv(c.APITokenEnv)
	}
	return e, api, nil
}

// addLog adds the built-in "log" notifier unless one is named so.
func (c *Config) addLog() {
	for _, n := range c.Notifiers {
		if n.Name == "log" {
			return
		}
	}
	c.Notifiers = append(c.Notifiers, NotifierConfig{Name: "log", Log: &struct{}{}})
}
