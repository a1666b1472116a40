package api

import (
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"driftwatch/statuspage"
)

type fake struct {
	notReady []string
	models   map[string]Model
}

func (f fake) WriteMetrics(w io.Writer) { io.WriteString(w, "x 1\n") }
func (f fake) NotReady() []string       { return f.notReady }
func (f fake) ModelNames() []string     { return []string{"m"} }
func (f fake) Model(name string) (Model, error) {
	m, ok := f.models[name]
	if !ok {
		return Model{}, NotFound("unknown model %q", name)
	}
	return m, nil
}
func (f fake) Rollout(name string) (Rollout, error) {
	if name != "m" {
		return Rollout{}, NotFound("unknown model %q", name)
	}
	return Rollout{Model: "m", Checks: []Check{}, Alpha: 0.05}, nil
}
func (f fake) Status() []statuspage.Version { return nil }

func get(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
	return rec.Code, rec.Body.String()
}

func TestRoutes(t *testing.T) {
	b := fake{notReady: []string{"predictions/0 stalled", "outcomes/0 stalled"}, models: map[string]Model{
		"m": {Model: "m", Versions: []Version{{Version: "v1", AlertsFiring: []string{},
			Output:  Output{HighConfidenceShare: Float(math.NaN())},
			Quality: Quality{Accuracy: FloatPtr(math.NaN()), Joined: 0}}}},
	}}
	h := Handler(b, Options{})
	if code, body := get(t, h, "/readyz"); code != http.StatusServiceUnavailable || body != "predictions/0 stalled\noutcomes/0 stalled\n" {
		t.Fatalf("/readyz %d %q", code, body)
	}
	if code, body := get(t, Handler(fake{}, Options{}), "/readyz"); code != http.StatusOK || body != "ready\n" {
		t.Fatalf("/readyz when ready %d %q", code, body)
	}
	if code, body := get(t, h, "/api/v1/models/nope"); code != http.StatusNotFound || body != "unknown model \"nope\"\n" {
		t.Fatalf("unknown model %d %q", code, body)
	}
	code, body := get(t, h, "/api/v1/models/m")
	// A classifier's accuracy is present and null before any outcome; a
	// regression model's mae and rmse are absent; the window of a time
	// window has no count.
	for _, want := range []string{`"accuracy": null`, `"high_confidence_share": null`, `"alerts_firing": []`, `"window": {}`} {
		if code != http.StatusOK || !strings.Contains(body, want) {
			t.Fatalf("model %d: %s lacks %s", code, body, want)
		}
	}
	for _, absent := range []string{`"mae"`, `"rmse"`, `"count"`} {
		if strings.Contains(body, absent) {
			t.Fatalf("model: %s has %s", body, absent)
		}
	}
	// Before the first evaluation a rollout has no evaluated_at, and an
	// empty list of checks is an empty list, not absent.
	code, body = get(t, h, "/api/v1/models/m/rollout")
	if code != http.StatusOK || strings.Contains(body, "evaluated_at") || !strings.Contains(body, `"checks": []`) ||
		!strings.Contains(body, `"decided_at": null`) || strings.Contains(body, "shadow") {
		t.Fatalf("rollout %d: %s", code, body)
	}
}

func TestFloat(t *testing.T) {
	for x, want := range map[float64]string{math.NaN(): "null", math.Inf(1): "null", 1e-7: "1e-7", 1234567: "1234567", 0.25: "0.25"} {
		got, err := Float(x).MarshalJSON()
		if err != nil || string(got) != want {
			t.Errorf("Float(%g) = %s, %v; want %s", x, got, err, want)
		}
	}
}
