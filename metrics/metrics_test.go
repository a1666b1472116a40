package metrics

import (
	"strings"
	"testing"
)

// The exposition has one HELP and TYPE line before each family with
// series, none for a family without, and a histogram's buckets, sum and
// count under its one family.
func TestWritePrometheus(t *testing.T) {
	m := New()
	m.Late.Add(2)
	m.Topic("predictions").Batch().Update(0.003)
	m.Topic("predictions").Reject("malformed")
	var b strings.Builder
	m.WritePrometheus(&b)
	out := b.String()
	for _, want := range []string{
		"# HELP driftwatch_late_events_total Events older than their model's window, dropped.\n# TYPE driftwatch_late_events_total counter\ndriftwatch_late_events_total 2\n",
		"# TYPE driftwatch_batch_duration_seconds histogram\ndriftwatch_batch_duration_seconds_bucket{",
		"driftwatch_batch_duration_seconds_bucket{topic=\"predictions\",le=\"0.005\"} 1\n",
		"driftwatch_batch_duration_seconds_count{topic=\"predictions\"} 1\n",
		"driftwatch_events_total{topic=\"predictions\",result=\"malformed\"} 1\n",
		"driftwatch_dead_letters_total{reason=\"malformed\"} 1\n",
		"driftwatch_dead_letters_total{reason=\"oversize\"} 0\n",
		"# TYPE go_goroutines gauge\ngo_goroutines ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("exposition lacks %q", want)
		}
	}
	if strings.Contains(out, "driftwatch_feature_psi") {
		t.Error("a family without series has a HELP line")
	}
	if n := strings.Count(out, "# HELP driftwatch_batch_duration_seconds "); n != 1 {
		t.Errorf("%d HELP lines for the histogram, want 1", n)
	}
	var last string
	for _, line := range strings.Split(out, "\n") {
		if name, ok := strings.CutPrefix(line, "# HELP "); ok {
			name, _, _ = strings.Cut(name, " ")
			if name <= last {
				t.Errorf("family %s after %s: not sorted", name, last)
			}
			last = name
		}
	}
}

func TestLabels(t *testing.T) {
	if got := Labels("model", `a"b`, "version", "v1"); got != `model="a\"b",version="v1"` {
		t.Fatalf("Labels = %s", got)
	}
}
