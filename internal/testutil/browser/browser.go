// Package browser runs headless Chromium for the tests that look at pages
// as a person does: load a URL, read the rendered DOM, collect console
// errors and the requests the page made, save a screenshot. It is test
// support and nothing else; what to assert is the tests' business.
//
// Chromium is Debian's `chromium`, driven over the DevTools protocol by
// chromedp. Without it the tests skip, except in CI (CI=true), where
// .ci/run installs it and a missing browser is a failure. The browser is
// started so that it reaches nothing on its own: no background networking,
// component updates, sync or QUIC, and a fresh profile directory.
package browser

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// Timeout bounds every wait on the browser: start, navigation, each query.
const Timeout = 30 * time.Second

// Browser is one headless Chromium process for a test.
type Browser struct {
	t   testing.TB
	ctx context.Context
}

// execNames are where Debian and others put Chromium.
var execNames = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}

// Start starts Chromium and stops it when the test ends. It skips the test
// when no browser is installed, unless CI=true.
func Start(t testing.TB) *Browser {
	t.Helper()
	path := ""
	for _, name := range execNames {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("browser: no Chromium found (%v); .ci/run installs Debian's chromium", execNames)
		}
		t.Skipf("browser: no Chromium found (%v); apt-get install chromium to run this test", execNames)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-features", "Translate,MediaRouter,OptimizationHints,AutofillServerCommunication"),
		chromedp.Flag("metrics-recording-only", true),
		chromedp.Flag("safebrowsing-disable-auto-update", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.WindowSize(1280, 900),
		chromedp.UserDataDir(t.TempDir()),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	// Do with no action starts the browser. It must get the browser's own
	// context, not one with a deadline (its end would stop the browser), so
	// the wait is bounded here.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx) }()
	select {
	case err := <-started:
		if err != nil {
			t.Fatalf("browser: cannot start %s: %v", path, err)
		}
	case <-time.After(Timeout):
		cancel()
		t.Fatalf("browser: %s did not start within %v", path, Timeout)
	}
	return &Browser{t: t, ctx: ctx}
}

// Page is one loaded page in its own tab.
type Page struct {
	t   testing.TB
	ctx context.Context
	URL string

	mu       sync.Mutex
	console  []chromedp.ConsoleMessage
	requests []string
}

// Open loads url in a new tab and waits for its load event. Console
// messages and requests are recorded from before the navigation on.
func (b *Browser) Open(url string) *Page {
	b.t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx)
	b.t.Cleanup(cancel)
	p := &Page{t: b.t, ctx: ctx, URL: url}
	// Subscribing creates the tab; the subscriptions end with the tab.
	console := chromedp.Console(ctx)
	requests := chromedp.Events(ctx, network.RequestWillBeSent)
	go func() {
		for m, err := range console {
			if err != nil {
				return
			}
			p.mu.Lock()
			p.console = append(p.console, m)
			p.mu.Unlock()
		}
	}()
	go func() {
		for ev, err := range requests {
			if err != nil {
				return
			}
			p.mu.Lock()
			p.requests = append(p.requests, ev.Request.URL)
			p.mu.Unlock()
		}
	}()
	// As in Start, the tab's first action gets the tab's own context.
	loaded := make(chan error, 1)
	go func() { loaded <- chromedp.Do(ctx, chromedp.Navigate(url)) }()
	select {
	case err := <-loaded:
		if err != nil {
			b.t.Fatalf("browser: cannot load %s: %v", url, err)
		}
	case <-time.After(Timeout):
		cancel()
		b.t.Fatalf("browser: %s did not load within %v", url, Timeout)
	}
	return p
}

// Eval evaluates a JavaScript expression in the page and decodes its
// result into T.
func Eval[T any](p *Page, expr string) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, Timeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		p.t.Fatalf("browser: evaluating %q on %s: %v", expr, p.URL, err)
	}
	return v
}

// WaitFor polls a JavaScript condition until it is true or timeout passes.
func (p *Page) WaitFor(cond string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(p.ctx, Timeout)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("!!("+cond+")"))
		cancel()
		if err == nil && ok {
			return nil
		}
		if time.Now().After(deadline) {
			if err == nil {
				err = errors.New("still false")
			}
			return fmt.Errorf("browser: waiting for %s on %s: %w", cond, p.URL, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// settle lets events sent before now reach the recorders: one round trip
// to the page, then a moment for the goroutines.
func (p *Page) settle() {
	Eval[int](p, "1")
	time.Sleep(200 * time.Millisecond)
}

// Errors returns the console errors, uncaught exceptions and browser log
// errors (failed loads, blocked resources) seen so far.
func (p *Page) Errors() []string {
	p.settle()
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, m := range p.console {
		if m.Type == chromedp.ConsoleError || m.IsException() {
			out = append(out, fmt.Sprintf("%s (%s:%d)", m.String(), m.URL, m.Line))
		}
	}
	return out
}

// Requests returns the URLs the page requested so far, the page itself
// first.
func (p *Page) Requests() []string {
	p.settle()
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.requests...)
}

// Screenshot saves a PNG of the whole page as artifacts/NAME.png at the
// module root (git-ignored), logs its path and returns it.
func (p *Page) Screenshot(name string) string {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, Timeout)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		p.t.Fatalf("browser: screenshot of %s: %v", p.URL, err)
	}
	dir := ArtifactDir(p.t)
	path := filepath.Join(dir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		p.t.Fatalf("browser: %v", err)
	}
	p.t.Logf("screenshot of %s: %s", p.URL, path)
	return path
}

// ArtifactDir returns artifacts/ at the module root, created if needed; the
// test's temporary directory when there is no module root above.
func ArtifactDir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		return t.TempDir()
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return t.TempDir()
		}
		dir = parent
	}
	out := filepath.Join(dir, "artifacts")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatalf("browser: %v", err)
	}
	return out
}
