// Package shared finds the data sets kept beside the repository (shared/
// next to the clone, as CI lays it out): NannyML's published files that the
// parity tests read. It is test support: the shipped binary never links it.
package shared

import (
	"os"
	"path/filepath"
	"testing"
)

// California is the name of NannyML's California housing data set.
const California = "nannyml-california"

// Dir returns the folder of the named data set under ../shared/data of the
// repository root. Outside CI a missing folder skips the test; in CI
// (CI=true) it fails it, since .ci/run is handed shared/.
func Dir(t testing.TB, name string) string {
	t.Helper()
	dir, err := find(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("shared data %q missing in CI: %v", name, err)
		}
		t.Skipf("shared data %q not found: %v", name, err)
	}
	return dir
}

// DirOrEmpty is Dir for tests that use the data only when it is there: ""
// when it is not.
func DirOrEmpty(name string) string {
	dir, err := find(name)
	if err != nil {
		return ""
	}
	return dir
}

// find looks for ../shared/data/name beside the module root (the first
// folder up from the working directory with a go.mod).
func find(name string) (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	root := wd
	for {
		if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
			break
		}
		up := filepath.Dir(root)
		if up == root {
			return "", os.ErrNotExist
		}
		root = up
	}
	dir := filepath.Join(root, "..", "shared", "data", name)
	if _, err := os.Stat(dir); err != nil {
		return "", err
	}
	return dir, nil
}
