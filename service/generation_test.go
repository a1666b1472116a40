package service

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
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
		if _, err := os.Stat(file + prevSuffix); err != nil {
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

// A corrupt latest record in the checkpoint topic falls back to the
// generation before it, which compaction keeps under the other key.
func TestKafkaStoreKeepsTwoGenerations(t *testing.T) {
	f := newFixture(t, 10)
	ctx := f.ctx
	k, err := newKafkaStore(ctx, f.b.Addrs(), "ckpt-gen", "g", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer k.close()
	for _, v := range []string{"one", "two", "three"} {
		if err := k.save(ctx, 1, []byte(v)); err != nil {
			t.Fatal(err)
		}
	}
	// A fresh reader of the topic sees the last two, newest first.
	k2, err := newKafkaStore(ctx, f.b.Addrs(), "ckpt-gen", "g", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer k2.close()
	gens, err := k2.load(ctx, 1)
	if err != nil || len(gens) != 2 || string(gens[0]) != "three" || string(gens[1]) != "two" {
		t.Fatalf("generations %q, %v; want three, two", gens, err)
	}
	// Records of the old single-key layout and of other groups do not
	// confuse it.
	pr, err := kgo.NewClient(kgo.SeedBrokers(f.b.Addrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	if err := pr.ProduceSync(ctx, &kgo.Record{Topic: "ckpt-gen", Key: []byte("other/partition-1"), Value: []byte("x")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if err := k2.save(ctx, 1, []byte("four")); err != nil {
		t.Fatal(err)
	}
	if gens, err := k.load(ctx, 1); err != nil || len(gens) != 2 || string(gens[0]) != "four" || string(gens[1]) != "three" {
		t.Fatalf("generations %q, %v; want four, three", gens, err)
	}
}

// metricLine returns the value of an exact series in s's /metrics.
func metricLine(s *Service, series string) string {
	var b strings.Builder
	writeMetrics(&b, s.metrics)
	for _, line := range strings.Split(b.String(), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			return v
		}
	}
	return ""
}
