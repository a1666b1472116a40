package stream

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"driftwatch/config"
	"driftwatch/service"
)

// Events per model and pane in BenchmarkRestore: 60 panes × 100 models ×
// 100 = 600,000 predictions, and outcomes for two thirds of them.
const restorePerPane = 100

// BenchmarkRestore fills the default window (1 h of 1 min panes) of 100
// models × 20 features on 3 partitions — every pane of every model holds
// events, a third of the predictions wait for their outcome — closes the
// service, which saves its checkpoints to a state directory, and then
// starts new services on copies of that directory:
//
//	go test -run '^$' -bench Restore -benchtime 5x ./bench/stream/
//
// Reported per iteration (means): restore-s, the time to load and decode
// the 3 partitions' checkpoints (driftwatch_checkpoint_restore_seconds,
// summed); start-s, the time Start takes (profiles loaded, the group
// consumer created); ready-s, from Start until /readyz answers 200 (group
// joined, partitions assigned and restored); and, for the checkpoints the restored service
// then saves of the same state, MB (the three together), encode-ms and
// save-ms per partition.
func BenchmarkRestore(b *testing.B) {
	const models = 100
	s := start(b, nil)
	var tails [][]byte
	for _, m := range jsonEvents(1024) {
		tails = append(tails, m[bytes.Index(m, []byte(`"features"`)):])
	}
	base := time.Now().Add(-70 * time.Minute).Truncate(time.Minute).UnixMilli()
	var preds, outs []*kgo.Record
	for p := range 60 {
		for j := range restorePerPane {
			ts := base + int64(p)*60_000 + int64(j)*60_000/restorePerPane
			for m := range models {
				id := fmt.Sprintf("m%d-%d-%d", m, p, j)
				v := fmt.Appendf(nil, `{"id":%q,"model":"m%d","version":"v1","ts":%d,"prediction":"%d",`, id, m, ts, j%2)
				preds = append(preds, &kgo.Record{Topic: "predictions", Key: []byte(id), Value: append(v, tails[(p*restorePerPane+j)%len(tails)]...)})
				if j%3 != 0 {
					outs = append(outs, &kgo.Record{Topic: "outcomes", Key: []byte(id), Value: fmt.Appendf(nil, `{"id":%q,"model":"m%d","label":"%d"}`, id, m, (j/2)%2)})
				}
			}
		}
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(s.brokers...), kgo.ProducerLinger(5*time.Millisecond), kgo.MaxBufferedRecords(100_000))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	for _, recs := range [][]*kgo.Record{preds, outs} {
		for i := 0; i < len(recs); i += 20_000 {
			if err := cl.ProduceSync(ctx, recs[i:min(i+20_000, len(recs))]...).FirstErr(); err != nil {
				b.Fatal(err)
			}
		}
	}

	var text strings.Builder
	fmt.Fprintf(&text, "kafka: {brokers: [%q], group: GROUP}\ncheckpoint: {interval: INTERVAL, dir: DIR}\nmodels:\n", s.brokers[0])
	for m := range models {
		fmt.Fprintf(&text, "  - {name: m%d, task: classification, versions: [{name: v1, reference: p.dwprof}], evaluate_every: 1h}\n", m)
	}
	cfg := func(group, dir, interval string) *config.Config {
		c, err := config.Parse([]byte(strings.NewReplacer("GROUP", group, "DIR", fmt.Sprintf("%q", dir), "INTERVAL", interval).Replace(text.String())))
		if err != nil {
			b.Fatal(err)
		}
		c.Dir = s.dir
		return c
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))

	// Fill, then Close: the last checkpoint of every partition.
	state := b.TempDir()
	fill, err := service.Start(ctx, service.Options{Config: cfg("fill", state, "1h"), Logger: logger})
	if err != nil {
		b.Fatal(err)
	}
	for fill.Processed() < int64(len(preds)) || fill.Joined() < int64(len(outs)) {
		if ctx.Err() != nil {
			b.Fatalf("filling: %d of %d predictions, %d of %d outcomes joined", fill.Processed(), len(preds), fill.Joined(), len(outs))
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := fill.Close(ctx); err != nil {
		b.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(state, "checkpoints", "*.ckpt"))
	if len(files) != 3 {
		b.Fatalf("%d checkpoint files, want one per partition: %v", len(files), files)
	}

	touch, err := kgo.NewClient(kgo.SeedBrokers(s.brokers...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		b.Fatal(err)
	}
	defer touch.Close()
	var restore, started, ready, size, encode, save, ckpts float64
	iter := 0
	for b.Loop() {
		iter++
		dir := b.TempDir()
		if err := os.MkdirAll(filepath.Join(dir, "checkpoints"), 0o755); err != nil {
			b.Fatal(err)
		}
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				b.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "checkpoints", filepath.Base(f)), data, 0o644); err != nil {
				b.Fatal(err)
			}
		}
		begin := time.Now()
		svc, err := service.Start(ctx, service.Options{Config: cfg(fmt.Sprintf("restore-%d", iter), dir, "1s"), HTTPAddr: "127.0.0.1:0", Logger: logger})
		if err != nil {
			b.Fatal(err)
		}
		started += time.Since(begin).Seconds()
		url := "http://" + svc.HTTPAddr()
		for code(url+"/readyz") != http.StatusOK {
			if ctx.Err() != nil {
				b.Fatal("the restored service never became ready")
			}
			time.Sleep(time.Millisecond)
		}
		ready += time.Since(begin).Seconds()
		m := scrape(b, url+"/metrics")
		if m["driftwatch_checkpoint_restore_seconds_count"] != 3 {
			b.Fatalf("%v partitions restored, want 3", m["driftwatch_checkpoint_restore_seconds_count"])
		}
		restore += m["driftwatch_checkpoint_restore_seconds_sum"]
		svc.Evaluate()
		if ev, _ := svc.Latest("m7", "v1"); ev.Events != 60*restorePerPane || ev.Joined != float64(len(outs)/models) {
			b.Fatalf("restored window of m7: %v events, %v joined; want %d and %d", ev.Events, ev.Joined, 60*restorePerPane, len(outs)/models)
		}

		// One more event per partition (in the newest pane, so nothing
		// expires) makes each dirty: the next tick saves the restored state.
		for p := range int32(3) {
			v := fmt.Appendf(nil, `{"id":"touch-%d-%d","model":"m0","version":"v1","ts":%d,`, iter, p, base+59*60_000)
			r := &kgo.Record{Topic: "predictions", Partition: p, Value: append(v, tails[0]...)}
			if err := touch.ProduceSync(ctx, r).FirstErr(); err != nil {
				b.Fatal(err)
			}
		}
		for m["driftwatch_checkpoints_total"] < 3 {
			if ctx.Err() != nil {
				b.Fatal("the restored service never checkpointed")
			}
			time.Sleep(20 * time.Millisecond)
			m = scrape(b, url+"/metrics")
		}
		size += m["driftwatch_checkpoint_bytes"]
		ckpts += m["driftwatch_checkpoint_duration_seconds_count"]
		save += m["driftwatch_checkpoint_duration_seconds_sum"]
		encode += m["driftwatch_checkpoint_encode_seconds_sum"]
		svc.Close(ctx)
	}
	n := float64(iter)
	b.ReportMetric(restore/n, "restore-s")
	b.ReportMetric(started/n, "start-s")
	b.ReportMetric(ready/n, "ready-s")
	b.ReportMetric(size/n/1e6, "MB")
	b.ReportMetric(encode/ckpts*1e3, "encode-ms")
	b.ReportMetric(save/ckpts*1e3, "save-ms")
	b.Logf("%d models × 20 features, %d predictions (%d per model and pane), %d outcomes; checkpoint files %s", models, len(preds), restorePerPane, len(outs), sizes(files))
}

func code(url string) int {
	resp, err := http.Get(url)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

func sizes(files []string) string {
	var out []string
	for _, f := range files {
		if st, err := os.Stat(f); err == nil {
			out = append(out, fmt.Sprintf("%s %.1f MB", filepath.Base(f), float64(st.Size())/1e6))
		}
	}
	return strings.Join(out, ", ")
}
