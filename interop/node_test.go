// Package interop runs driftwatch against producers written in other
// languages: interop/node holds a JavaScript producer (apache-arrow and
// kafkajs, versions pinned in its package-lock.json) that sends Arrow and
// JSON events to a serve started here and reads the dead-letter topic with
// a stock kafkajs consumer. The C client (kcat) is covered in cli.
package interop

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"driftwatch/config"
	"driftwatch/dataset"
	"driftwatch/detectors"
	"driftwatch/profile"
	"driftwatch/service"
)

// node returns the node binary, or skips the test without it (fails under
// CI=true, where .ci/run installs Node and the packages).
func node(t *testing.T) string {
	t.Helper()
	miss := t.Skipf
	if os.Getenv("CI") == "true" {
		miss = t.Fatalf
	}
	bin, err := exec.LookPath("node")
	if err != nil {
		miss("node not found (apt-get install nodejs npm): %v", err)
	}
	for _, pkg := range []string{"apache-arrow", "kafkajs", "kafkajs-snappy", "lz4js"} {
		if _, err := os.Stat(filepath.Join("node", "node_modules", pkg, "package.json")); err != nil {
			miss("interop/node/node_modules/%s missing (run npm ci in interop/node): %v", pkg, err)
		}
	}
	return bin
}

// runNode runs a script of interop/node and returns its standard output.
func runNode(t *testing.T, ctx context.Context, bin string, args ...string) []byte {
	t.Helper()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = "node"
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node %v: %v\n%s", args, err, stderr.String())
	}
	return out
}

// rows is the current data as the producer reads it (rows.json).
type rows struct {
	ID     []string  `json:"id"`
	Income []float64 `json:"income"`
	Home   []string  `json:"home"`
	Tenure []int     `json:"tenure"`
	TS     []int64   `json:"ts"`
	Label  []string  `json:"label"`
}

func credit(n int, shift float64, seed uint64) (*dataset.Table, rows) {
	r := rand.New(rand.NewPCG(seed, 1))
	income := &dataset.Column{Name: "income", Kind: dataset.KindNumeric, Num: make([]float64, n)}
	home := &dataset.Column{Name: "home", Kind: dataset.KindCategorical, Str: make([]string, n)}
	tenure := &dataset.Column{Name: "tenure", Kind: dataset.KindNumeric, Num: make([]float64, n)}
	var rs rows
	t0 := time.Now().Add(-10 * time.Minute).UnixMilli()
	for i := range n {
		income.Num[i] = math.Round((50+10*r.NormFloat64()+shift)*100) / 100
		home.Str[i] = []string{"OWN", "RENT", "MORTGAGE", "RENT"}[r.IntN(min(4, 3+int(shift/3)))]
		tenure.Num[i] = float64(r.IntN(20 + int(shift)))
		rs.ID = append(rs.ID, fmt.Sprintf("p%05d", i))
		rs.Income, rs.Home, rs.Tenure = append(rs.Income, income.Num[i]), append(rs.Home, home.Str[i]), append(rs.Tenure, int(tenure.Num[i]))
		rs.TS = append(rs.TS, t0+int64(i))
		// The producer predicts "1" above an income of 50; the label
		// agrees most of the time.
		label := income.Num[i] > 50
		if r.IntN(5) == 0 {
			label = !label
		}
		rs.Label = append(rs.Label, map[bool]string{false: "0", true: "1"}[label])
	}
	return &dataset.Table{Rows: n, Columns: []*dataset.Column{income, home, tenure}}, rs
}

// syncBuffer collects the service's log.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// A JavaScript producer's Arrow and JSON events are counted and give the
// PSI check computes on the same rows (read from an Arrow file arrow-js
// wrote), and its outcomes join to them; what serve must reject reaches the
// dead-letter topic with its reason, readable by a stock kafkajs consumer.
func TestNodeProducer(t *testing.T) {
	bin := node(t)
	dir := t.TempDir()
	ref, _ := credit(4000, 0, 7)
	prof, err := profile.Build(ref, profile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := prof.WriteFile(filepath.Join(dir, "p.dwprof")); err != nil {
		t.Fatal(err)
	}
	cur, rs := credit(3000, 6, 11)
	js, _ := json.Marshal(rs)
	rowsPath := filepath.Join(dir, "rows.json")
	if err := os.WriteFile(rowsPath, js, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	// check's side: the rows as arrow-js writes them to a file, read with
	// the reference's kinds as check reads them.
	arrowFile := filepath.Join(dir, "cur.arrow")
	runNode(t, ctx, bin, "producer.mjs", "file", rowsPath, arrowFile)
	kinds := map[string]dataset.Kind{}
	for _, f := range prof.Features {
		kinds[f.Name] = map[profile.Kind]dataset.Kind{profile.Numeric: dataset.KindNumeric, profile.Categorical: dataset.KindCategorical}[f.Kind]
	}
	fromJS, err := dataset.Read(arrowFile, dataset.Options{Kinds: kinds})
	if err != nil {
		t.Fatal(err)
	}
	if fromJS.Rows != cur.Rows {
		t.Fatalf("arrow-js file: %d rows, want %d", fromJS.Rows, cur.Rows)
	}
	rep := detectors.Compare(prof, fromJS, detectors.DefaultConfig())
	want := map[string]float64{}
	for _, f := range rep.Features {
		want[f.Name] = float64(f.Statistics.PSI.Value)
	}
	if direct := detectors.Compare(prof, cur, detectors.DefaultConfig()); len(direct.Features) != 3 ||
		float64(direct.Features[0].Statistics.PSI.Value) != want["income"] {
		t.Fatalf("check on the arrow-js file differs from check on the rows: %v", want)
	}

	for _, format := range []string{"arrow", "json"} {
		t.Run(format, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			cfg, err := config.Parse([]byte(fmt.Sprintf(`
kafka: {embedded_addr: "127.0.0.1:0"}
format: %s
defaults: {min_samples: 10}
models:
  - {name: credit, task: classification, versions: [{name: v1, reference: p.dwprof}], evaluate_every: 1h}
`, format)))
			if err != nil {
				t.Fatal(err)
			}
			cfg.Dir = dir
			var log syncBuffer
			s, err := service.Start(ctx, service.Options{Config: cfg, HTTPAddr: "127.0.0.1:0",
				Logger: slog.New(slog.NewTextHandler(&log, nil))})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close(context.Background())
			broker := s.Brokers()[0]

			var sent struct {
				Messages    int            `json:"messages"`
				Events      int64          `json:"events"`
				DeadLetters map[string]int `json:"dead_letters"`
			}
			if err := json.Unmarshal(runNode(t, ctx, bin, "producer.mjs", "produce", broker, format, rowsPath), &sent); err != nil {
				t.Fatal(err)
			}
			for s.Processed() < sent.Events {
				if ctx.Err() != nil {
					t.Fatalf("processed %d of %d events", s.Processed(), sent.Events)
				}
				time.Sleep(20 * time.Millisecond)
			}
			for s.Joined() < int64(cur.Rows) {
				if ctx.Err() != nil {
					t.Fatalf("joined %d of %d outcomes", s.Joined(), cur.Rows)
				}
				time.Sleep(20 * time.Millisecond)
			}
			s.Evaluate()
			v1, _ := s.Latest("credit", "v1")
			if v1.Events != float64(cur.Rows) || v1.Joined != float64(cur.Rows) {
				t.Fatalf("%v events in the window and %v outcomes joined, want %d", v1.Events, v1.Joined, cur.Rows)
			}
			correct := 0
			for i, x := range rs.Income {
				if (x > 50) == (rs.Label[i] == "1") {
					correct++
				}
			}
			if want := float64(correct) / float64(cur.Rows); v1.Accuracy != want {
				t.Fatalf("accuracy %v, want %v", v1.Accuracy, want)
			}
			for _, f := range v1.Features {
				if f.PSI != want[f.Name] || f.NullRate != 0 {
					t.Fatalf("%s: streaming PSI %v (null rate %v), check %v", f.Name, f.PSI, f.NullRate, want[f.Name])
				}
				t.Logf("%s %s: PSI %.6f equal to check's", format, f.Name, f.PSI)
			}

			// Dead letters: counted by reason, and readable by kafkajs
			// without any codec beyond its own.
			total := 0
			for _, n := range sent.DeadLetters {
				total += n
			}
			var got struct {
				Reasons map[string]int
				Errors  []string
			}
			if err := json.Unmarshal(runNode(t, ctx, bin, "deadletters.mjs", broker, cfg.Topics.DeadLetters, fmt.Sprint(total)), &got); err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got.Reasons) != fmt.Sprint(sent.DeadLetters) {
				t.Fatalf("dead letters read by kafkajs %v, want %v", got.Reasons, sent.DeadLetters)
			}
			for _, e := range got.Errors {
				if e == "" {
					t.Fatalf("a dead letter without its cause (driftwatch-error): %q", got.Errors)
				}
			}
			text := get(t, "http://"+s.HTTPAddr()+"/metrics")
			for reason, n := range sent.DeadLetters {
				if w := fmt.Sprintf(`driftwatch_dead_letters_total{reason=%q} %d`, reason, n); !strings.Contains(text, w) {
					t.Fatalf("/metrics lacks %q", w)
				}
			}
			if format == "arrow" {
				// Every third message carries a Date64 creation time and a
				// list embedding the profile does not know.
				extras := 0
				for lo := 0; lo < cur.Rows; lo += 1500 {
					extras += min(500, cur.Rows-lo)
				}
				for _, col := range []string{"created_at", "embedding"} {
					if w := fmt.Sprintf(`driftwatch_ignored_columns_total{model="credit",version="v1",column=%q} %d`, col, extras); !strings.Contains(text, w) {
						t.Fatalf("/metrics lacks %q", w)
					}
				}
				// The LZ4 message from arrow-js names its cause, in the log
				// and on its dead letter.
				if !strings.Contains(log.String(), "declares") || !strings.Contains(log.String(), "compress on the Kafka producer instead") {
					t.Fatalf("the service log does not name the misdeclared buffer length:\n%s", log.String())
				}
				if !slices.ContainsFunc(got.Errors, func(e string) bool { return strings.Contains(e, "declares") }) {
					t.Fatalf("no dead letter names the misdeclared buffer length: %q", got.Errors)
				}
			}
		})
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
