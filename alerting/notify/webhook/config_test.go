package webhook

import (
	"os"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestValidConfigFile builds the webhook section of the config file
// package alerting's TestNotifierConfigValid reads, its header and secret
// from the environment.
func TestValidConfigFile(t *testing.T) {
	t.Setenv("DRIFTWATCH_TEST_UNLEASH_TOKEN", "unleash-token-from-env")
	t.Setenv("DRIFTWATCH_TEST_HOOK_SECRET", "hook-secret-from-env")
	data, err := os.ReadFile("../../testdata/notifiers/valid.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Webhook Config `yaml:"webhook"`
	}
	if err := yaml.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	w, err := New(f.Webhook, nil)
	if err != nil {
		t.Fatal(err)
	}
	if w.sendResolved || w.header.Get("Authorization") != "unleash-token-from-env" || string(w.secret) != "hook-secret-from-env" {
		t.Errorf("webhook: %+v", w)
	}
}
