package alerting

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"driftwatch/alerting/notify"
	"driftwatch/alerting/notify/alertmanager"
	"driftwatch/alerting/notify/pagerduty"
	"driftwatch/alerting/notify/slack"
	"driftwatch/alerting/notify/webhook"
)

// notifierFile is one file of testdata/notifiers: notifier configs as the
// service config embeds them, parsed strictly.
type notifierFile struct {
	Alertmanager *alertmanager.Config    `yaml:"alertmanager"`
	Slack        *slack.Config           `yaml:"slack"`
	PagerDuty    *pagerduty.Config       `yaml:"pagerduty"`
	Webhook      *webhook.Config         `yaml:"webhook"`
	Templates    *notify.TemplatesConfig `yaml:"templates"`
}

func loadNotifierFile(t *testing.T, path string) notifierFile {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f notifierFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return f
}

// build constructs every notifier the file configures.
func (f notifierFile) build() ([]notify.Notifier, error) {
	var ns []notify.Notifier
	add := func(n notify.Notifier, err error) error {
		if err == nil {
			ns = append(ns, n)
		}
		return err
	}
	var err error
	if f.Alertmanager != nil {
		err = errors.Join(err, add(alertmanager.New(*f.Alertmanager, nil)))
	}
	if f.Slack != nil {
		err = errors.Join(err, add(slack.New(*f.Slack, nil)))
	}
	if f.PagerDuty != nil {
		err = errors.Join(err, add(pagerduty.New(*f.PagerDuty, nil)))
	}
	if f.Webhook != nil {
		err = errors.Join(err, add(webhook.New(*f.Webhook, nil)))
	}
	if f.Templates != nil {
		_, terr := notify.NewTemplates(*f.Templates)
		err = errors.Join(err, terr)
	}
	return ns, err
}

func setTestSecrets(t *testing.T) {
	t.Setenv("DRIFTWATCH_TEST_UNSET", "")
	t.Setenv("DRIFTWATCH_TEST_SLACK_TOKEN", "xoxb-from-env")
	t.Setenv("DRIFTWATCH_TEST_PD_KEY", "pd-key-from-env")
	t.Setenv("DRIFTWATCH_TEST_UNLEASH_TOKEN", "unleash-token-from-env")
	t.Setenv("DRIFTWATCH_TEST_HOOK_SECRET", "hook-secret-from-env")
	t.Setenv("DRIFTWATCH_TEST_NEWLINE_TOKEN", "Bearer hunter2\nX-Forged: 1")
}

// TestNotifierConfigErrors: one file per invalid config, its first line
// the exact error.
func TestNotifierConfigErrors(t *testing.T) {
	setTestSecrets(t)
	files, err := filepath.Glob("testdata/notifiers/invalid/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no test files: %v", err)
	}
	for _, path := range files {
		data, _ := os.ReadFile(path)
		first, _, _ := strings.Cut(string(data), "\n")
		want := strings.TrimPrefix(first, "# ")
		_, err := loadNotifierFile(t, path).build()
		if err == nil || err.Error() != want {
			t.Errorf("%s:\n got %v\nwant %s", filepath.Base(path), err, want)
		}
		if err != nil && regexp.MustCompile(`hunter2|SECRET|inline|forged`).MatchString(err.Error()) {
			t.Errorf("%s: the error shows a secret: %v", filepath.Base(path), err)
		}
	}
}

func TestNotifierConfigValid(t *testing.T) {
	setTestSecrets(t)
	f := loadNotifierFile(t, "testdata/notifiers/valid.yaml")
	ns, err := f.build()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, n := range ns {
		names = append(names, n.Name())
	}
	if got := strings.Join(names, ","); got != "alertmanager,slack,pagerduty,webhook" {
		t.Errorf("names %s", got)
	}
	// What each notifier made of its section is checked in its package
	// (TestValidConfigFile).
	if am := ns[0].(*alertmanager.Notifier); am.ResendInterval() != 30*time.Second {
		t.Errorf("alertmanager: resend %s", am.ResendInterval())
	}
}

// TestSecretsRedacted: configs print and marshal without their secrets.
func TestSecretsRedacted(t *testing.T) {
	f := notifierFile{
		Slack:     &slack.Config{WebhookURL: "https://hooks.slack.com/services/T0/B0/SECRET1"},
		PagerDuty: &pagerduty.Config{RoutingKey: "SECRET2"},
		Webhook:   &webhook.Config{URL: "http://127.0.0.1/x", Secret: "SECRET3", Headers: map[string]notify.Secret{"Authorization": "Bearer SECRET4"}},
	}
	if _, err := f.build(); err != nil {
		t.Fatal(err)
	}
	j, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	y, err := yaml.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{string(j), string(y), fmt.Sprintf("%v %+v %#v %s", f, *f.Slack, *f.Webhook, f.PagerDuty.RoutingKey)} {
		if strings.Contains(out, "SECRET") {
			t.Errorf("a secret shows:\n%s", out)
		}
	}
	if !strings.Contains(string(j), `"routing_key":"\u003csecret\u003e"`) {
		t.Errorf("JSON does not mark the routing key: %s", j)
	}
}
