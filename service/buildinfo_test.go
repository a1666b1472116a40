package service

import (
	"bytes"
	"strings"
	"testing"

	"github.com/VictoriaMetrics/metrics"

	"driftwatch/stats"
)

// TestBuildInfoNamesKernel: the exposition carries the binning kernel as a
// label, with its HELP line.
func TestBuildInfoNamesKernel(t *testing.T) {
	set := metrics.NewSet()
	initMetrics(set)
	var buf bytes.Buffer
	writeMetrics(&buf, set)
	want := `driftwatch_build_info{kernel="` + stats.ActiveKernel().String() + `"} 1`
	if !strings.Contains(buf.String(), want+"\n") || !strings.Contains(buf.String(), "# HELP driftwatch_build_info ") {
		t.Fatalf("metrics lack %q and its HELP line:\n%s", want, buf.String())
	}
}
