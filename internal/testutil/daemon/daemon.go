// Package daemon starts a server binary from Debian's packages (prometheus,
// prometheus-alertmanager) on a free loopback port for the tests that
// check a contract against the real thing, and stops it when the test
// ends. It is test support and nothing else: configuring the daemon and
// what to assert are the tests' business.
package daemon

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"sync"
	"testing"
	"time"
)

// Start runs bin with args(attempt, addr), addr a free 127.0.0.1 port, waits
// until GET /-/ready answers 200 (at most 30 s) and returns the base URL;
// t.Cleanup kills the process and logs its output if the test failed. A
// port taken between picking and binding is retried, three times at most.
func Start(t testing.TB, name, bin string, args func(attempt int, addr string) []string) string {
	t.Helper()
	for attempt := 0; ; attempt++ {
		addr := freeLoopbackAddr(t)
		var out lockedBuffer
		cmd := exec.Command(bin, args(attempt, addr)...)
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		stop := func() {
			_ = cmd.Process.Kill()
			<-exited
		}
		base := "http://" + addr
		err := waitReady(base+"/-/ready", exited, 30*time.Second)
		if err == nil {
			t.Cleanup(func() {
				stop()
				if t.Failed() {
					t.Logf("%s output:\n%s", name, out.String())
				}
			})
			return base
		}
		stop()
		if attempt == 2 {
			t.Fatalf("%s did not start: %v\n%s", name, err, out.String())
		}
	}
}

func freeLoopbackAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func waitReady(url string, exited <-chan error, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	client := &http.Client{Timeout: time.Second}
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return fmt.Errorf("exited: %v", err)
		case <-time.After(100 * time.Millisecond):
		}
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
	}
	return errors.New("not ready after " + limit.String())
}

// lockedBuffer collects a process's output written from two pipes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
