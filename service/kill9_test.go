package service

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"driftwatch/config"
)

// kill9Config is the configuration of the serve processes and of the
// in-process reference: the fixture's broker, checkpoints in dir.
func (f *fixture) kill9Config(group, dir string) string {
	return fmt.Sprintf(`
kafka: {brokers: [%q], group: %q, instance_id: kill9-member}
checkpoint: {interval: 200ms, dir: %q}
defaults: {min_samples: 100}
models: [{name: credit, task: classification, versions: [{name: v1, reference: p.dwprof}], evaluate_every: 1s}]
`, f.b.Addrs()[0], group, dir)
}

// serveProc is a `driftwatch serve` child process.
type serveProc struct {
	cmd  *exec.Cmd
	addr chan string // the HTTP address, once logged
	mu   sync.Mutex
	log  bytes.Buffer
	done chan struct{} // closed when the process has exited and its stderr is read
}

var servingAddr = regexp.MustCompile(`msg="driftwatch serving" http=(\S+)`)

func startServe(t *testing.T, bin, cfgPath string) *serveProc {
	t.Helper()
	p := &serveProc{addr: make(chan string, 1), done: make(chan struct{})}
	p.cmd = exec.Command(bin, "serve", "--config", cfgPath, "--http", "127.0.0.1:0")
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			p.mu.Lock()
			p.log.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			if m := servingAddr.FindStringSubmatch(sc.Text()); m != nil {
				p.addr <- m[1]
			}
		}
		io.Copy(io.Discard, stderr) // after an overlong line: never let the child block on a full pipe
		p.cmd.Wait()
	}()
	t.Cleanup(p.kill)
	return p
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *serveProc) kill() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

func (p *serveProc) logs() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

// ready waits for the process's address and its /readyz.
func (p *serveProc) ready(t *testing.T, ctx context.Context) string {
	t.Helper()
	var addr string
	select {
	case addr = <-p.addr:
	case <-p.done:
		t.Fatalf("serve exited before serving:\n%s", p.logs())
	case <-ctx.Done():
		t.Fatalf("serve never logged its address:\n%s", p.logs())
	}
	for ctx.Err() == nil {
		if code, _ := fetch("http://" + addr + "/readyz"); code == http.StatusOK {
			return addr
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("serve never became ready:\n%s", p.logs())
	return ""
}

var httpClient = &http.Client{Timeout: 2 * time.Second}

// fetch GETs url; errors are a status of 0 (the process may be dead).
func fetch(url string) (int, []byte) {
	resp, err := httpClient.Get(url)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil
	}
	return resp.StatusCode, body
}

// modelsJSON drops what is wall clock (last_event_at) from an
// /api/v1/models body and re-encodes it with sorted keys.
func modelsJSON(t *testing.T, body []byte) string {
	t.Helper()
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("/api/v1/models: %v: %.300s", err, body)
	}
	var strip func(any)
	strip = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			delete(v, "last_event_at")
			for _, x := range v {
				strip(x)
			}
		case []any:
			for _, x := range v {
				strip(x)
			}
		}
	}
	strip(v)
	out, _ := json.Marshal(v)
	return string(out)
}

// metricValue reads one series' value from a /metrics body ("" if absent).
func metricValue(body []byte, series string) string {
	for line := range strings.Lines(string(body)) {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// A real kill -9: a `driftwatch serve` process with a state directory is
// SIGKILLed at random points while events arrive, and restarted on the
// same directory each time; the last one finishes, and its /api/v1/models
// equals an uninterrupted run's exactly.
//
// Every process is the same static member of one group (kafka.instance_id):
// a SIGKILLed member stays in its group until its session times out (45 s)
// and a dynamic successor would wait for that; a static one takes its
// partitions over at once.
func TestKill9Serve(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs serve processes")
	}
	f := newFixture(t, 3000)
	bin := filepath.Join(t.TempDir(), "driftwatch")
	build := exec.CommandContext(f.ctx, "go", "build", "-o", bin, "driftwatch/cmd/driftwatch")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	state := t.TempDir()
	write := func(group string) string {
		path := filepath.Join(f.dir, group+".yaml")
		if err := os.WriteFile(path, []byte(f.kill9Config(group, state)), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}

	// The events arrive in chunks while processes come and go, so that
	// kills land mid-stream, between and during checkpoints; the last
	// tenth arrives for the last process, which must read on from where
	// the checkpoints left off.
	cut := len(f.recs) * 9 / 10
	produced := make(chan struct{})
	go func() {
		defer close(produced)
		for i := 0; i < cut && f.ctx.Err() == nil; i += 100 {
			f.produce(i, min(i+100, cut))
			time.Sleep(40 * time.Millisecond)
		}
	}()
	rng := rand.New(rand.NewPCG(9, 9))
	kills, saved := 0, false
	// At least three kills, more until the events are all produced and a
	// killed process had saved a checkpoint (so the last one has state to
	// restore).
	for ; kills < 3 || (kills < 10 && (!closed(produced) || !saved)); kills++ {
		p := startServe(t, bin, write("kill9"))
		addr := p.ready(t, f.ctx)
		time.Sleep(time.Duration(rng.IntN(500)) * time.Millisecond)
		_, metrics := fetch("http://" + addr + "/metrics")
		p.kill()
		ckpts := metricValue(metrics, "driftwatch_checkpoints_total")
		saved = saved || (ckpts != "" && ckpts != "0")
		t.Logf("kill %d: SIGKILL after %s partitions restored, %s predictions handled, %s checkpoints saved by this process", kills,
			metricValue(metrics, "driftwatch_checkpoint_restore_seconds_count"), metricValue(metrics, okPredictions), ckpts)
	}
	if !saved {
		t.Fatalf("no process saved a checkpoint in %d kills", kills)
	}
	<-produced
	last := startServe(t, bin, write("kill9"))
	addr := last.ready(t, f.ctx)
	f.produce(cut, len(f.recs))

	// The uninterrupted run: in-process, over the same topics, with a
	// state directory of its own.
	cfg, err := config.Parse([]byte(f.kill9Config("kill9-reference", t.TempDir())))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Dir = f.dir
	ref := f.start(cfg)
	f.waitDone("kill9-reference")
	ref.Evaluate()
	rec := httptest.NewRecorder()
	routes(ref).ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/models", nil))
	want := modelsJSON(t, rec.Body.Bytes())
	if !strings.Contains(want, fmt.Sprintf(`"events":%d`, 3000)) {
		t.Fatalf("the reference window does not hold the 3000 predictions: %.300s", want)
	}

	// serve evaluates every second: wait for an evaluation after the end.
	var got string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline) && f.ctx.Err() == nil; time.Sleep(100 * time.Millisecond) {
		if code, body := fetch("http://" + addr + "/api/v1/models"); code == http.StatusOK {
			if got = modelsJSON(t, body); got == want {
				break
			}
		}
	}
	if got != want {
		t.Fatalf("after %d kills /api/v1/models differs from the uninterrupted run's\n got: %.800s\nwant: %.800s\nlast process:\n%s",
			kills, got, want, last.logs())
	}
	// Equal windows alone would not tell a restore from a re-read of
	// everything: the last process must have restored state, then read
	// what followed the checkpoints and not the whole set.
	_, metrics := fetch("http://" + addr + "/metrics")
	restored, handled := metricValue(metrics, "driftwatch_checkpoint_restore_seconds_count"), metricValue(metrics, okPredictions)
	if n, err := strconv.Atoi(handled); restored == "" || restored == "0" || err != nil || n == 0 || n >= 3000 {
		t.Fatalf("the last process restored %q partitions and handled %q of 3000 predictions: it did not resume from the checkpoints", restored, handled)
	}
	t.Logf("after %d kills, /api/v1/models equals the uninterrupted run's; the last process restored %s partitions and handled %s predictions", kills, restored, handled)
}

const okPredictions = `driftwatch_events_total{topic="predictions",result="ok"}`

func closed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}
