package service

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"driftwatch/checkpoint"
)

// A flipped byte in the latest checkpoint costs one interval, not the
// state: the previous generation is restored, the partition replays from
// its offsets, every count equals an uninterrupted run's, and the failed
// generation is counted in driftwatch_checkpoint_restore_errors_total.
func TestCorruptLatestCheckpointRestoresPrevious(t *testing.T) {
	f := newFixture(t, 1500)
	want := f.reference()
	dir := filepath.Join(t.TempDir(), "state")
	half := len(f.recs) / 2

	a := f.start(f.config("gen", "dir:"+dir, false))
	f.produce(0, half)
	f.waitDone("gen")
	a.Close(f.ctx)
	b := f.start(f.config("gen", "dir:"+dir, false))
	f.produce(half, len(f.recs))
	f.waitDone("gen")
	b.Close(f.ctx)

	files, _ := filepath.Glob(filepath.Join(dir, "checkpoints", "partition-*.ckpt"))
	if len(files) != 3 {
		t.Fatalf("checkpoint files %v, want one per partition", files)
	}
	for _, file := range files {
		if _, err := os.Stat(file + checkpoint.PrevSuffix); err != nil {
			t.Fatalf("no previous generation: %v", err)
		}
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		data[len(data)/2] ^= 0x40
		if err := os.WriteFile(file, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	c := f.start(f.config("gen", "dir:"+dir, false))
	f.waitDone("gen")
	f.equalSoon(c, want, "after restoring the previous generations")
	if got := metricLine(c, "driftwatch_checkpoint_restore_errors_total"); got != "3" {
		t.Fatalf("driftwatch_checkpoint_restore_errors_total %q, want 3 (one per partition)", got)
	}
}

// metricLine returns the value of an exact series in s's /metrics.
func metricLine(s *Service, series string) string {
	var b strings.Builder
	s.metrics.WritePrometheus(&b)
	for _, line := range strings.Split(b.String(), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			return v
		}
	}
	return ""
}
