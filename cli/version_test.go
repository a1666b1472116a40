package cli

import (
	"bytes"
	"strings"
	"testing"

	"driftwatch/stats"
)

// TestVersionNamesKernel: `driftwatch version` says which binning kernel
// runs, so that a user can tell an AVX-512, AVX2 or pure-Go deployment.
func TestVersionNamesKernel(t *testing.T) {
	var out, errb bytes.Buffer
	if code := Main([]string{"version"}, Env{Stdout: &out, Stderr: &errb}); code != ExitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	want := "kernel=" + stats.ActiveKernel().String()
	if !strings.Contains(out.String(), want) || strings.Contains(out.String(), "unknown") {
		t.Fatalf("version printed %q, want it to contain %q", out.String(), want)
	}
}
