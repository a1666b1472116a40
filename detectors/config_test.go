package detectors

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseConfig(t *testing.T) {
	c, err := ParseConfig([]byte(`
bins: 20
psi_auto: true
thresholds:
  psi: 0.1
features:
  age: {kind: numeric, test: psi, thresholds: {psi: 0.25}}
  zip: {ignore: true}
`))
	if err != nil {
		t.Fatal(err)
	}
	if c.Bins != 20 || !c.PSIAuto || c.Thresholds.PSI != 0.1 || c.thresholds("age").PSI != 0.25 || c.thresholds("x").PSI != 0.1 ||
		!c.Features["zip"].Ignore || c.Thresholds.KS != 0.05 || c.PSIEpsilon != 1e-4 {
		t.Fatalf("config: %+v", c)
	}
	if _, err := ParseConfig(nil); err != nil {
		t.Fatalf("empty config must give the defaults: %v", err)
	}
}

// Each file in testdata/config/invalid holds a bad config; its first line is
// "# want: <exact error>".
func TestInvalidConfigs(t *testing.T) {
	files, _ := filepath.Glob("testdata/config/invalid/*.yaml")
	if len(files) == 0 {
		t.Fatal("no invalid configs")
	}
	for _, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		first, _, _ := strings.Cut(string(data), "\n")
		want := strings.TrimPrefix(first, "# want: ")
		_, err = ParseConfig(data)
		if err == nil || err.Error() != want {
			t.Errorf("%s:\n got %v\nwant %s", path, err, want)
		}
	}
}

func FuzzParseConfig(f *testing.F) {
	files, _ := filepath.Glob("testdata/config/*/*.yaml")
	for _, p := range files {
		data, _ := os.ReadFile(p)
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseConfig(data)
		if err == nil {
			if err := c.Validate(); err != nil {
				t.Fatalf("accepted config does not validate: %v", err)
			}
		}
	})
}
