package statuspage

import (
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"driftwatch/monitor"
	"driftwatch/profile"
	"driftwatch/vocab"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// fixture is a classification model with a drifting numeric feature and a
// categorical one whose categories (and name) carry markup.
func fixture(events uint64) []Version {
	nan := math.NaN()
	income := monitor.FeatureStats{Name: "income", Kind: profile.Numeric, Values: 3000, PSI: 0.41, JS: 0.3, Hellinger: 0.2,
		KS: 0.25, KSBound: 0.01, Wasserstein: 1500, WassersteinNormalized: 0.31, ChiSquare: nan, ChiSquareP: nan,
		Edges: []float64{10, 20, 30}, Reference: []float64{250, 250, 250, 250}, Current: []float64{1500, 900, 400, 200}}
	purpose := monitor.FeatureStats{Name: "<b>purpose</b>", Kind: profile.Categorical, Values: 3000, PSI: 0.02, JS: 0.05,
		ChiSquare: 12, ChiSquareP: 0.2, UnseenShare: 0.01, Categories: []string{"car", `<script>alert("x")</script>`},
		Reference: []float64{500, 500, 0}, Current: []float64{1480, 1490, 30}}
	var hist []Point
	for i := range 20 {
		psi := 0.01
		if i >= 12 {
			psi = 0.3
		}
		hist = append(hist, Point{At: t0.Add(time.Duration(i-20) * 5 * time.Second), Events: 3000, Accuracy: 0.9 - float64(i)*0.005,
			MAE: nan, RMSE: nan, PSI: []float64{psi, 0.02}})
	}
	return []Version{{Model: "credit", Version: "v1", Task: "classification", EventsTotal: events, LastEvent: t0.Add(-2 * time.Second),
		Latest: monitor.Evaluation{Start: t0.Add(-2 * time.Minute), End: t0, Events: 3000, Joined: 2500, Accuracy: 0.8, MAE: nan, RMSE: nan,
			Scored: 3000, HighConfidenceShare: 0.4, Features: []monitor.FeatureStats{income, purpose}},
		History: hist, Drift: []bool{true, false}, State: []string{"drift", "ok"}, PSIThreshold: []float64{0.2, 0.2}, MinSamples: 1000,
		Verdict: []Verdict{{Test: vocab.Wasserstein, Value: 0.31, Threshold: 0.1}, {Test: vocab.ChiSquare, Value: 0.2, Threshold: 0.05, Calibrated: true}},
		Firing:  []string{"FeatureDrift income (critical)"}}}
}

// server serves the pages on a fake clock; advance moves it.
type server struct {
	*httptest.Server
	mu     sync.Mutex
	now    time.Time
	status []Version
}

func newServer(t *testing.T, status []Version, grafana string) *server {
	s := &server{now: t0, status: status}
	p := New(func() []Version {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.status
	}, Options{Now: func() time.Time { s.mu.Lock(); defer s.mu.Unlock(); return s.now }, GrafanaURL: grafana})
	mux := http.NewServeMux()
	p.Register(mux)
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

func (s *server) get(t *testing.T, path string) (int, http.Header, string) {
	t.Helper()
	resp, err := http.Get(s.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

func contains(t *testing.T, page string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(page, w) {
			t.Errorf("page lacks %s", w)
		}
	}
}

func lacks(t *testing.T, page string, bad ...string) {
	t.Helper()
	for _, b := range bad {
		if strings.Contains(page, b) {
			t.Errorf("page contains %s", b)
		}
	}
}

func TestFleetPage(t *testing.T) {
	s := newServer(t, fixture(10_000), "")
	code, h, page := s.get(t, "/")
	if code != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/html") || !strings.Contains(h.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Fatalf("GET /: %d %v", code, h)
	}
	contains(t, page,
		`<meta http-equiv="refresh" content="10">`,
		`data-model="credit" data-version="v1" data-health="drift"`,
		`<a class="name" href="/models/credit">credit</a>`,
		`<td><code>income</code></td>`, // the drifting feature
		`<td><code>FeatureDrift income (critical)</code> <a class="small" href="/api/v1/alerts">API</a></td>`,
		`accuracy 80.0%`, `2s ago`,
		`href="/api/v1/models"`, `href="/metrics"`,
		"1 with features in drift")
	lacks(t, page, "Grafana", "<script")

	// The rate needs a second snapshot: 5000 more events in 10 s.
	contains(t, page, `<td class="n">–</td>`)
	s.mu.Lock()
	s.now, s.status = t0.Add(10*time.Second), fixture(15_000)
	s.mu.Unlock()
	_, _, page = s.get(t, "/?refresh=0")
	contains(t, page, `<td class="n">500</td>`, "auto-refresh paused", `<a href="/">resume</a>`)
	lacks(t, page, `http-equiv="refresh"`)
}

func TestModelPage(t *testing.T) {
	s := newServer(t, fixture(10_000), "https://grafana.example/d/driftwatch")
	code, _, page := s.get(t, "/models/credit")
	if code != 200 {
		t.Fatalf("GET /models/credit: %d", code)
	}
	contains(t, page,
		`<h1 class="name">credit</h1>`,
		`href="/api/v1/models/credit"`, `<a href="https://grafana.example/d/driftwatch">Grafana</a>`,
		`Features in drift: <code>income</code>`, `Firing: <code>FeatureDrift income (critical)</code>`,
		`<article class="card feature drift" id="v1-f1" data-feature="income" data-drift="true">`,
		`data-feature="&lt;b&gt;purpose&lt;/b&gt;" data-drift="false"`,
		`class="chart histogram"`, `class="series"`, `threshold 0.2`, `class="meter"`,
		`<code>&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;</code>`, // the category, in the bin table
		"Drift by feature", "Data quality", "accuracy over recent evaluations",
		"3000", // values in window
		// The deciding test of each feature, its statistic and threshold.
		`<td class="test" data-test="wasserstein">Wasserstein / σ</td><td class="n">0.3100</td><td class="n">≥ 0.1000</td>`,
		`<td class="test" data-test="chi_square">χ² p</td><td class="n">0.2000</td><td class="n">&lt; 0.0500 (calibrated)</td>`,
		"decided by Wasserstein / σ 0.3100 (threshold 0.1000)", "0.3100 reference standard deviations")
	lacks(t, page, "<script", "<b>purpose", "Versions side by side")
	// Drifting features come first.
	if strings.Index(page, `id="v1-f1"`) > strings.Index(page, `id="v1-f2"`) {
		t.Error("features out of order")
	}
	// Two PSI charts and two histograms, one per feature.
	if n := strings.Count(page, `class="chart histogram"`); n != 2 {
		t.Errorf("%d histograms", n)
	}
}

func TestUnknownModelIsEscaped(t *testing.T) {
	s := newServer(t, fixture(0), "")
	code, _, page := s.get(t, "/models/%3Cscript%3Ealert(1)%3C%2Fscript%3E")
	if code != http.StatusNotFound {
		t.Fatalf("code %d", code)
	}
	contains(t, page, "<code>&lt;script&gt;alert(1)&lt;/script&gt;</code>")
	lacks(t, page, "<script")
}

func TestVersionsSideBySide(t *testing.T) {
	vs := fixture(10_000)
	v2 := fixture(500)[0]
	v2.Version, v2.Drift, v2.State = "v2", []bool{false, false}, []string{"ok", "ok"}
	_, _, page := newServer(t, append(vs, v2), "").get(t, "/models/credit")
	contains(t, page, `id="compare"`, "Versions side by side", `<a href="#v2" class="name">v2</a>`,
		`<th scope="row">features in drift</th><td class="n">1 of 2</td><td class="n">0 of 2</td>`,
		`id="v2"`)
}

func TestWaitingForFirstEvaluation(t *testing.T) {
	v := Version{Model: "fresh", Version: "v1", Task: "regression", Latest: monitor.Evaluation{Accuracy: math.NaN(), MAE: math.NaN(), RMSE: math.NaN(), HighConfidenceShare: math.NaN()}}
	s := newServer(t, []Version{v}, "")
	_, _, page := s.get(t, "/")
	contains(t, page, `data-health="no data"`, "MAE –", "never")
	_, _, page = s.get(t, "/models/fresh")
	contains(t, page, "Waiting for events and the first evaluation.")
}

func TestRates(t *testing.T) {
	var r rates
	f := func(at time.Duration, total uint64, want float64) {
		t.Helper()
		got := r.observe("m/v", t0.Add(at), total)
		if !(got == want || math.IsNaN(got) && math.IsNaN(want)) {
			t.Errorf("at +%v total %d: %v, want %v", at, total, got, want)
		}
	}
	nan := math.NaN()
	f(0, 0, nan)                      // first snapshot
	f(500*time.Millisecond, 100, nan) // under a second
	f(10*time.Second, 1000, 100)      // since +0
	f(50*time.Second, 5000, 100)      // since +0
	f(70*time.Second, 13000, 200)     // +0 left the minute: since +10s, 12000 in 60 s
	f(10*time.Minute, 14000, nan)     // everything older than a minute
	f(10*time.Minute+2*time.Second, 14100, 50)
}

// Pages render concurrently (the race detector runs this in make test).
func TestConcurrentRenders(t *testing.T) {
	s := newServer(t, fixture(10_000), "")
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			path := "/"
			if i%2 == 0 {
				path = "/models/credit"
			}
			if code, _, _ := s.get(t, path); code != 200 {
				t.Errorf("GET %s: %d", path, code)
			}
		})
	}
	wg.Wait()
}

// Evaluations below min_samples are gaps in the PSI charts: their PSI
// (here 6 from a window of 2 events) neither appears nor sets the scale.
func TestPSIChartSkipsEvaluationsBelowMinSamples(t *testing.T) {
	st := fixture(100)
	for i := range 4 {
		st[0].History[i].Events, st[0].History[i].PSI = 2, []float64{6, 5}
	}
	p := New(func() []Version { return st }, Options{Now: func() time.Time { return t0 }})
	for _, f := range p.version(&st[0], t0, 0).Features {
		for k, y := range f.PSI.Y {
			if small := k < 4; small != math.IsNaN(y) {
				t.Fatalf("%s: point %d (events %v) plotted as %v", f.F.Name, k, st[0].History[k].Events, y)
			}
		}
	}
	_, _, body := newServer(t, st, "").get(t, "/models/credit")
	if strings.Contains(body, ">6<") || strings.Contains(body, ">5<") {
		t.Fatalf("the chart's scale reaches the small windows' PSI")
	}
}
