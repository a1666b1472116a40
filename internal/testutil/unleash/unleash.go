// Package unleash runs a real unleash-server for the tests that check
// driftwatch's flag provider against it: a throwaway PostgreSQL cluster
// (Debian's postgresql package: initdb into a temporary directory, pg_ctl
// on a loopback port) and unleash-server from npm (the version pinned in
// the package.json + package-lock.json the caller names, installed there
// with `npm ci`), started by that folder's start.mjs on another loopback
// port with an admin and a client token. It is test support and nothing
// else: what to create in Unleash and what to assert are the tests'
// business. Without PostgreSQL, Node or the installed packages the tests
// skip, except in CI (CI=true), where .ci/run installs them and their
// absence is a failure.
package unleash

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Tokens the server is started with; they go raw in the Authorization
// header.
const (
	AdminToken  = "*:*.driftwatch-test-admin-token"
	ClientToken = "default:development.driftwatch-test-client-token"
)

// startTimeout bounds PostgreSQL's and Unleash's start (the first Unleash
// start runs its migrations: 5–9 s on an idle machine).
const startTimeout = 90 * time.Second

// Server is a running unleash-server with its PostgreSQL cluster.
type Server struct {
	URL string // http://127.0.0.1:PORT

	dir     string // the package folder with start.mjs and node_modules
	tmp     string // the cluster's data and socket directory
	pgBin   string
	pgPort  int
	port    int
	asUser  []string // runuser prefix when running as root
	mu      sync.Mutex
	node    *exec.Cmd
	exited  chan struct{}
	out     *lockedBuffer
	pgOut   *lockedBuffer
	stopped bool
}

// Require skips the test when a real Unleash cannot run here (Node,
// PostgreSQL or the packages in dir missing), or fails it when CI=true.
func Require(t testing.TB, dir string) {
	t.Helper()
	if err := Missing(dir); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("unleash: %v (.ci/run installs postgresql and runs npm ci in %s)", err, dir)
		}
		t.Skipf("unleash: %v (apt-get install postgresql; npm ci in %s)", err, dir)
	}
}

// Missing says what is missing to run a real Unleash from dir.
func Missing(dir string) error {
	if _, err := exec.LookPath("node"); err != nil {
		return fmt.Errorf("no node: %w", err)
	}
	if _, err := pgBinDir(); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "unleash-server", "package.json")); err != nil {
		return fmt.Errorf("unleash-server is not installed in %q: %w", dir, err)
	}
	return nil
}

// pgBinDir finds PostgreSQL's initdb and pg_ctl: on PATH, or in Debian's
// /usr/lib/postgresql/VERSION/bin.
func pgBinDir() (string, error) {
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		if _, err := exec.LookPath("initdb"); err == nil {
			return filepath.Dir(p), nil
		}
	}
	m, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pg_ctl")
	if len(m) == 0 {
		return "", errors.New("no PostgreSQL (pg_ctl, initdb)")
	}
	return filepath.Dir(m[len(m)-1]), nil
}

// Start starts PostgreSQL and Unleash from dir. Close stops both.
func Start(dir string) (*Server, error) {
	if err := Missing(dir); err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	pgBin, _ := pgBinDir()
	s := &Server{dir: abs, pgBin: pgBin, pgOut: &lockedBuffer{}}
	if s.tmp, err = os.MkdirTemp("", "driftwatch-unleash-pg-"); err != nil {
		return nil, err
	}
	if err := s.startPostgres(); err != nil {
		s.Close()
		return nil, err
	}
	if s.port, err = freePort(); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.startNode(); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// startPostgres initialises a cluster as the postgres user when running
// as root (PostgreSQL refuses to run as root), starts it on a loopback
// port and creates the unleash user and database.
func (s *Server) startPostgres() error {
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return fmt.Errorf("running as root without a postgres user: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(s.tmp, uid, gid); err != nil {
			return err
		}
		s.asUser = []string{"runuser", "-u", "postgres", "--"}
	}
	data := filepath.Join(s.tmp, "data")
	if err := s.pg("initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"); err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		port, err := freePort()
		if err != nil {
			return err
		}
		s.pgPort = port
		opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off", port, s.tmp)
		err = s.pg("pg_ctl", "start", "-w", "-t", "60", "-D", data, "-l", filepath.Join(s.tmp, "log"), "-o", opts)
		if err == nil {
			break
		}
		if attempt == 2 {
			log, _ := os.ReadFile(filepath.Join(s.tmp, "log"))
			return fmt.Errorf("%w\n%s", err, log)
		}
	}
	psql := filepath.Join(s.pgBin, "psql")
	if _, err := os.Stat(psql); err != nil {
		psql = "psql"
	}
	for _, q := range []string{"CREATE USER unleash PASSWORD 'unleash'", "CREATE DATABASE unleash OWNER unleash"} {
		cmd := exec.Command(psql, "-h", "127.0.0.1", "-p", strconv.Itoa(s.pgPort), "-U", "postgres", "-v", "ON_ERROR_STOP=1", "-c", q)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("psql %q: %w: %s", q, err, out)
		}
	}
	return nil
}

// pg runs one of PostgreSQL's programs, as the postgres user when root.
func (s *Server) pg(prog string, args ...string) error {
	argv := append(append(append([]string{}, s.asUser...), filepath.Join(s.pgBin, prog)), args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = s.tmp
	out, err := cmd.CombinedOutput()
	s.pgOut.Write(out)
	if err != nil {
		return fmt.Errorf("%s: %w: %s", prog, err, out)
	}
	return nil
}

// startNode starts start.mjs on s.port and waits for /health.
func (s *Server) startNode() error {
	cmd := exec.Command("node", "start.mjs")
	cmd.Dir = s.dir
	cmd.Env = append(os.Environ(),
		"UNLEASH_PG_PORT="+strconv.Itoa(s.pgPort), "UNLEASH_PG_USER=unleash", "UNLEASH_PG_PASSWORD=unleash",
		"UNLEASH_PG_DATABASE=unleash", "UNLEASH_PORT="+strconv.Itoa(s.port),
		"UNLEASH_ADMIN_TOKEN="+AdminToken, "UNLEASH_CLIENT_TOKEN="+ClientToken,
		"CHECK_VERSION=false", "SEND_TELEMETRY=false", "UNLEASH_TELEMETRY_DISABLED=true", "SCARF_ANALYTICS=false")
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	s.mu.Lock()
	s.node, s.exited, s.out, s.stopped = cmd, exited, out, false
	s.mu.Unlock()
	s.URL = fmt.Sprintf("http://127.0.0.1:%d", s.port)
	deadline := time.Now().Add(startTimeout)
	for {
		select {
		case <-exited:
			return fmt.Errorf("unleash exited during start:\n%s", out.String())
		default:
		}
		if err := s.healthy(); err == nil {
			return nil
		} else if time.Now().After(deadline) {
			return fmt.Errorf("unleash not healthy after %v: %w\n%s", startTimeout, err, out.String())
		}
		time.Sleep(100 * time.Millisecond) // polling interval of the start wait
	}
}

func (s *Server) healthy() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/health", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /health: %s", resp.Status)
	}
	return nil
}

// Stop kills Unleash (PostgreSQL keeps running) and waits until its port
// refuses connections: the server is down until Restart.
func (s *Server) Stop() {
	s.mu.Lock()
	cmd, exited, stopped := s.node, s.exited, s.stopped
	s.stopped = true
	s.mu.Unlock()
	if cmd == nil || stopped {
		return
	}
	_ = cmd.Process.Kill()
	<-exited
}

// Restart starts Unleash again on the same port, with the same database.
func (s *Server) Restart() error {
	s.Stop()
	return s.startNode()
}

// Output is what Unleash printed, for a failing test's log.
func (s *Server) Output() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.out == nil {
		return ""
	}
	return s.out.String()
}

// Close stops Unleash and PostgreSQL and removes the cluster.
func (s *Server) Close() {
	s.Stop()
	if s.pgPort != 0 {
		_ = s.pg("pg_ctl", "stop", "-m", "immediate", "-w", "-D", filepath.Join(s.tmp, "data"))
	}
	if s.tmp != "" {
		_ = os.RemoveAll(s.tmp)
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
