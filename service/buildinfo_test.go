package service

import (
	"bytes"
	"strings"
	"testing"

	"driftwatch/metrics"
	"driftwatch/stats"
)

// TestBuildInfoNamesKernel: the exposition carries the binning kernel as a
// label, with its HELP line.
func TestBuildInfoNamesKernel(t *testing.T) {
	var buf bytes.Buffer
	metrics.New().WritePrometheus(&buf)
	want := `driftwatch_build_info{kernel="` + stats.ActiveKernel().String() + `"} 1`
	if !strings.Contains(buf.String(), want+"\n") || !strings.Contains(buf.String(), "# HELP driftwatch_build_info ") {
		t.Fatalf("metrics lack %q and its HELP line:\n%s", want, buf.String())
	}
}
