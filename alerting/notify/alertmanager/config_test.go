package alertmanager

import (
	"os"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// TestValidConfigFile builds the alertmanager section of the config file
// package alerting's TestNotifierConfigValid reads.
func TestValidConfigFile(t *testing.T) {
	data, err := os.ReadFile("../../testdata/notifiers/valid.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Alertmanager Config `yaml:"alertmanager"`
	}
	if err := yaml.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	am, err := New(f.Alertmanager, nil)
	if err != nil {
		t.Fatal(err)
	}
	if am.ResendInterval() != 30*time.Second || am.urls[1] != "http://127.0.0.1:9094/api/v2/alerts" {
		t.Errorf("alertmanager: resend %s urls %v", am.ResendInterval(), am.urls)
	}
}
