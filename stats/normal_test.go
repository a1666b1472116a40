package stats

import (
	"encoding/json"
	"math"
	"os"
	"testing"
)

// TestLogNormCDFGolden holds LogNormCDF to scipy.special.log_ndtr on a grid
// from −1e4 to +40 (testdata/golden/gen_log_ndtr.py), to 1e−12 relative;
// values that are themselves subnormal (x ≳ 37.5, where log Φ ≈ −Φ(−x))
// carry fewer significant bits in any float64, and are held to within
// 1e−310 absolute.
func TestLogNormCDFGolden(t *testing.T) {
	data, err := os.ReadFile("../testdata/golden/log_ndtr.json")
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		LogNdtr [][2]float64 `json:"log_ndtr"`
	}
	if err := json.Unmarshal(data, &g); err != nil {
		t.Fatal(err)
	}
	if len(g.LogNdtr) < 2000 {
		t.Fatalf("golden grid has %d points", len(g.LogNdtr))
	}
	var worst, worstX float64
	for _, p := range g.LogNdtr {
		x, want := p[0], p[1]
		got := LogNormCDF(x)
		if math.Abs(want) < 1e-300 {
			if math.Abs(got-want) > 1e-310 {
				t.Errorf("LogNormCDF(%v) = %v, want %v", x, got, want)
			}
			continue
		}
		rel := math.Abs(got-want) / math.Abs(want)
		if rel > worst {
			worst, worstX = rel, x
		}
		if rel > 1e-12 {
			t.Errorf("LogNormCDF(%v) = %v, want %v (relative error %.3g)", x, got, want, rel)
		}
	}
	t.Logf("worst relative error %.3g at x = %v over %d points", worst, worstX, len(g.LogNdtr))
}

// TestLogNormCDFSubnormal is the case that broke the rollout tests: Φ(−38)
// ≈ 2.9e−316 is subnormal, and math.Log of it is off by ~17 on amd64.
func TestLogNormCDFSubnormal(t *testing.T) {
	const want = -726.5572160188201 // scipy.special.log_ndtr(-38.0)
	if got := LogNormCDF(-38); math.Abs(got-want) > 1e-12*math.Abs(want) {
		t.Fatalf("LogNormCDF(-38) = %v, want %v", got, want)
	}
	if got := LogNormCDF(math.Inf(-1)); !math.IsInf(got, -1) {
		t.Fatalf("LogNormCDF(-Inf) = %v", got)
	}
	if got := LogNormCDF(math.Inf(1)); got != 0 {
		t.Fatalf("LogNormCDF(+Inf) = %v", got)
	}
	if got := LogNormCDF(math.NaN()); !math.IsNaN(got) {
		t.Fatalf("LogNormCDF(NaN) = %v", got)
	}
	// φ/Φ: x → +∞ gives 0, x → −∞ approaches |x|.
	if r := NormPDFOverCDF(-1000); math.Abs(r-1000)/1000 > 1e-5 {
		t.Fatalf("NormPDFOverCDF(-1000) = %v", r)
	}
}
