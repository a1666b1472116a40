// Package slack posts alerts as Block Kit messages through a Slack incoming
// webhook or the Web API (chat.postMessage).
//
// Queueing and retries are left to package notify's dispatcher, deciding
// what to send to package alerting.
package slack

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"driftwatch/alerting/notify"
)

// DefaultSlackAPIURL is Slack's Web API base URL.
const DefaultAPIURL = "https://slack.com/api/"

// SlackConfig posts Block Kit messages through an incoming webhook, or
// through chat.postMessage with a bot token and a channel.
type Config struct {
	// Name is set by the caller: the notifier's name in the service config.
	Name string `yaml:"-" json:"-"`
	// WebhookURL is an incoming webhook; the URL is itself a credential, so
	// it may come from the environment variable WebhookURLEnv names.
	WebhookURL    notify.Secret `yaml:"webhook_url" json:"webhook_url,omitempty"`
	WebhookURLEnv string        `yaml:"webhook_url_env" json:"webhook_url_env,omitempty"`
	// Token (a bot token, xoxb-…) and Channel select chat.postMessage.
	Token    notify.Secret `yaml:"token" json:"token,omitempty"`
	TokenEnv string        `yaml:"token_env" json:"token_env,omitempty"`
	Channel  string        `yaml:"channel" json:"channel,omitempty"`
	// APIURL is the Web API's base URL (default https://slack.com/api/).
	APIURL string `yaml:"api_url" json:"api_url,omitempty"`
}

// Validate checks the config and fills its defaults.
func (c *Config) Validate() error {
	webhook := c.WebhookURL != "" || c.WebhookURLEnv != ""
	token := c.Token != "" || c.TokenEnv != ""
	switch {
	case !webhook && !token:
		return errors.New("alerting: slack: webhook_url or token is required")
	case webhook && token:
		return errors.New("alerting: slack: webhook_url and token are exclusive")
	}
	if err := notify.CheckSecret("slack", "webhook_url", c.WebhookURL, c.WebhookURLEnv, false); err != nil {
		return err
	}
	if err := notify.CheckSecret("slack", "token", c.Token, c.TokenEnv, false); err != nil {
		return err
	}
	if c.WebhookURL != "" {
		if err := notify.CheckURL("slack", "webhook_url", string(c.WebhookURL)); err != nil {
			return err
		}
	}
	if token && c.Channel == "" {
		return errors.New("alerting: slack: channel is required with token")
	}
	if c.APIURL == "" {
		c.APIURL = DefaultAPIURL
	}
	if err := notify.CheckURL("slack", "api_url", c.APIURL); err != nil {
		return err
	}
	if !strings.HasSuffix(c.APIURL, "/") {
		c.APIURL += "/" // slack-go appends the method name
	}
	return nil
}

// Slack sends one Block Kit message per alert, firing or resolved.
type Notifier struct {
	name    string
	webhook string        // incoming webhook URL, or ""
	api     *slack.Client // chat.postMessage when webhook is ""
	channel string
	client  *http.Client
	red     *notify.Redaction
}

// Redact removes the incoming webhook URL's secret path and the token
// from s.
func (s *Notifier) Redact(text string) string { return s.red.Redact(text) }

// NewSlack builds a Slack notifier; a nil client takes a default one with a
// 30 s timeout.
func New(cfg Config, client *http.Client) (*Notifier, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Notifier{name: cfg.Name, channel: cfg.Channel, client: notify.Client(client)}
	if s.name == "" {
		s.name = "slack"
	}
	if cfg.WebhookURL != "" || cfg.WebhookURLEnv != "" {
		u, err := notify.SecretValue("slack", "webhook_url_env", cfg.WebhookURL, cfg.WebhookURLEnv)
		if err != nil {
			return nil, err
		}
		if err := notify.CheckURL("slack", "webhook_url_env", u); err != nil {
			return nil, err
		}
		s.webhook = u
		s.red = notify.NewRedaction([]string{u})
		return s, nil
	}
	token, err := notify.SecretValue("slack", "token_env", cfg.Token, cfg.TokenEnv)
	if err != nil {
		return nil, err
	}
	s.api = slack.New(token, slack.OptionHTTPClient(s.client), slack.OptionAPIURL(cfg.APIURL))
	s.red = notify.NewRedaction([]string{cfg.APIURL}, token)
	return s, nil
}

// Name is the notifier's configured name ("slack" by default).
func (s *Notifier) Name() string { return s.name }

// Notify posts one message per alert; it tries them all, and a failure is
// retryable if any message failed retryably.
func (s *Notifier) Notify(ctx context.Context, alerts []notify.Alert) (bool, error) {
	var errs []error
	retry := false
	for _, a := range alerts {
		text, blocks := slackMessage(a)
		var err error
		if s.webhook != "" {
			err = slack.PostWebhookCustomHTTPContext(ctx, s.webhook, s.client,
				&slack.WebhookMessage{Text: text, Blocks: &slack.Blocks{BlockSet: blocks}})
		} else {
			_, _, err = s.api.PostMessageContext(ctx, s.channel, slack.MsgOptionText(text, false), slack.MsgOptionBlocks(blocks...))
		}
		if err != nil {
			r, err := slackError(err)
			errs = append(errs, fmt.Errorf("alerting: slack: alert %q: %w", a.Key, err))
			retry = retry || r
		}
	}
	return retry, errors.Join(errs...)
}

// slackError classifies slack-go's errors by type. A transport error is
// rebuilt without the request URL, which for an incoming webhook is the
// credential.
func slackError(err error) (bool, error) {
	if ue, ok := errors.AsType[*url.Error](err); ok {
		return true, notify.TransportError(ue, "slack")
	}
	if _, ok := errors.AsType[*slack.RateLimitedError](err); ok {
		return true, err
	}
	if e, ok := errors.AsType[slack.StatusCodeError](err); ok {
		return notify.RetryableStatus(e.Code), err
	}
	if e, ok := errors.AsType[slack.SlackErrorResponse](err); ok {
		// Slack answers 200 with ok=false; these codes are transient.
		switch e.Err {
		case "ratelimited", "service_unavailable", "fatal_error", "internal_error", "request_timeout":
			return true, err
		}
	}
	return false, err
}

// Block Kit limits on text: a header block's and a section's or context
// element's, in characters.
const (
	maxHeader  = 150
	maxSection = 3000
)

// slackMessage is an alert's notification text (shown where blocks are
// not: notifications, screen readers) and its blocks: a header, the
// summary with the alert's fields, the description, and links.
func slackMessage(a notify.Alert) (string, []slack.Block) {
	summary, description := notify.Summarize(a)
	status := "Firing"
	if a.Status == notify.StatusResolved {
		status = "Resolved"
	}
	head := status
	if a.Severity != "" && a.Status != notify.StatusResolved {
		head += " (" + string(a.Severity) + ")"
	}
	head += ": " + a.Rule
	if a.Model != "" {
		head += " on " + a.Model + "/" + a.Version
	}

	var fields []*slack.TextBlockObject
	field := func(name, value string) {
		if value != "" {
			fields = append(fields, mrkdwn("*"+name+"*\n"+escapeMrkdwn(value)))
		}
	}
	field("Model", a.Model)
	field("Version", a.Version)
	field("Feature", a.Feature)
	field("Statistic", string(a.Statistic))
	switch {
	case a.Status != notify.StatusResolved:
		field("Value", formatFloat(a.Value)+" "+string(a.Op)+" "+formatFloat(a.Threshold)+" ("+string(a.Severity)+")")
	case math.IsNaN(a.Value):
		field("Value", "no longer evaluated")
	default:
		field("Value", formatFloat(a.Value)+", back "+notify.Back(a.Op)+" "+formatFloat(a.Threshold))
	}
	if a.WindowEnd.IsZero() {
		field("Window", "count window")
	} else {
		field("Window", a.WindowStart.UTC().Format(time.RFC3339)+" to "+a.WindowEnd.UTC().Format(time.RFC3339))
	}
	if a.Samples > 0 && !math.IsInf(a.Samples, 0) {
		field("Samples", strconv.FormatFloat(a.Samples, 'f', -1, 64))
	}
	if a.Status == notify.StatusResolved && !a.EndsAt.IsZero() {
		field("Resolved at", a.EndsAt.UTC().Format(time.RFC3339))
	} else if !a.StartsAt.IsZero() {
		field("Since", a.StartsAt.UTC().Format(time.RFC3339))
	}

	blocks := []slack.Block{
		slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, notify.Shorten(head, maxHeader), false, false)),
		slack.NewSectionBlock(mrkdwn(escapeMrkdwn(notify.Shorten(summary, maxSection))), fields, nil),
	}
	if description != "" && description != summary {
		blocks = append(blocks, slack.NewContextBlock("", mrkdwn(escapeMrkdwn(notify.Shorten(description, maxSection)))))
	}
	var links []string
	if a.GeneratorURL != "" {
		links = append(links, "<"+escapeLinkURL(a.GeneratorURL)+"|Status page>")
	}
	if a.DashboardURL != "" {
		links = append(links, "<"+escapeLinkURL(a.DashboardURL)+"|Dashboard>")
	}
	if len(links) > 0 {
		blocks = append(blocks, slack.NewContextBlock("", mrkdwn(strings.Join(links, " · "))))
	}
	return escapeMrkdwn(status + ": " + summary), blocks
}

func mrkdwn(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, s, false, false)
}

// escapeMrkdwn escapes the three characters Slack's mrkdwn gives meaning.
var escapeMrkdwn = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace

// escapeLinkURL percent-encodes what would end a mrkdwn link early.
var escapeLinkURL = strings.NewReplacer("|", "%7C", "<", "%3C", ">", "%3E", " ", "%20").Replace

func formatFloat(v float64) string { return strconv.FormatFloat(v, 'g', 4, 64) }
