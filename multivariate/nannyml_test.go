package multivariate_test

import (
	"driftwatch/internal/testutil/shared"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"driftwatch/chunk"
	"driftwatch/dataset"
	"driftwatch/multivariate"
)

var californiaFeatures = []string{"MedInc", "HouseAge", "AveRooms", "AveBedrms", "Population", "AveOccup", "Latitude", "Longitude"}

func readCalifornia(t *testing.T, name string) []multivariate.Column {
	t.Helper()
	path := filepath.Join(shared.Dir(t, shared.California), name)
	tab, err := dataset.Read(path, dataset.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cols := make([]multivariate.Column, len(californiaFeatures))
	for i, name := range californiaFeatures {
		c := tab.Column(name)
		if c == nil || c.Kind != dataset.KindNumeric {
			t.Fatalf("%s: column %q missing or not numeric", path, name)
		}
		cols[i] = multivariate.Column{Name: name, Kind: multivariate.Numeric, Num: c.Num}
	}
	return cols
}

func chunkStats(t *testing.T, errs []float64, size int) []multivariate.Stat {
	t.Helper()
	ranges, err := chunk.BySize(len(errs), size)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]multivariate.Stat, len(ranges))
	for i, r := range ranges {
		out[i] = multivariate.Summarize(errs[r.Start : r.End+1])
	}
	return out
}

func near(t *testing.T, what string, got, want float64) {
	t.Helper()
	if math.Abs(got-want) > 1e-6*math.Abs(want) {
		t.Errorf("%s = %.17g, NannyML 0.13.1 gives %.17g (relative difference %.2g)", what, got, want, math.Abs(got-want)/math.Abs(want))
	}
}

// TestNannyMLCalifornia holds the method to NannyML 0.13.1's own
// data-reconstruction drift numbers on its California housing files with
// chunk_size=5000 (../shared/data/nannyml-california/README.md).
func TestNannyMLCalifornia(t *testing.T) {
	ref := readCalifornia(t, "california_housing_reference.csv")
	ana := readCalifornia(t, "california_housing_analysis.csv")
	m, err := multivariate.Fit(ref, multivariate.DefaultVariance)
	if err != nil {
		t.Fatal(err)
	}
	if m.K() != 3 || len(m.Constant) != 0 {
		t.Fatalf("kept %d components (constant: %v), NannyML keeps 3", m.K(), m.Constant)
	}
	for i, want := range []float64{0.27892, 0.21645, 0.15874} {
		if math.Abs(m.Explained[i]-want) > 5e-6 {
			t.Errorf("component %d explains %.6f, NannyML %.5f", i, m.Explained[i], want)
		}
	}
	refErrs, _, err := m.Errors(ref)
	if err != nil {
		t.Fatal(err)
	}
	refStats := chunkStats(t, refErrs, 5000)
	if len(refStats) != 2 {
		t.Fatalf("%d reference chunks, want 2", len(refStats))
	}
	near(t, "reference [0:4999]", refStats[0].Value, 1.2054057546034)
	near(t, "reference [5000:5831]", refStats[1].Value, 1.4966028289202942)
	values := []float64{refStats[0].Value, refStats[1].Value}
	lower, upper := multivariate.Thresholds(values, multivariate.DefaultSigmas)
	near(t, "lower threshold", lower, 0.914208680286506)
	near(t, "upper threshold", upper, 1.7877999032371883)
	wl, wu, err := multivariate.WindowThresholds(refErrs, 5000, multivariate.DefaultSigmas)
	if err != nil || wl != lower || wu != upper {
		t.Errorf("WindowThresholds = %g, %g, %v; want %g, %g", wl, wu, err, lower, upper)
	}

	anaErrs, imputed, err := m.Errors(ana)
	if err != nil {
		t.Fatal(err)
	}
	if imputed != 0 {
		t.Errorf("%d analysis rows imputed, the file has no missing values", imputed)
	}
	anaStats := chunkStats(t, anaErrs, 5000)
	want := []struct{ value, se float64 }{
		{1.4707411361801896, 0.06449238821892089},
		{1.5679869741150265, 0.22248739842414322},
	}
	if len(anaStats) != len(want) {
		t.Fatalf("%d analysis chunks, want %d", len(anaStats), len(want))
	}
	for i, w := range want {
		near(t, "analysis value", anaStats[i].Value, w.value)
		near(t, "analysis sampling error", anaStats[i].SamplingError, w.se)
		if multivariate.Alert(anaStats[i].Value, lower, upper) {
			t.Errorf("analysis chunk %d alerts; NannyML does not", i)
		}
	}
}

// californiaGolden is testdata/california.json: NannyML's pipeline in
// scikit-learn and pandas on the California files for more chunkings
// (testdata/california.py, which checks itself against NannyML's own
// chunk_size=5000 numbers first).
type californiaGolden struct {
	Components int `json:"components"`
	Cases      []struct {
		Chunking       string        `json:"chunking"` // size | count
		Arg            int           `json:"arg"`
		Reference      []goldenChunk `json:"reference"`
		Current        []goldenChunk `json:"current"`
		LowerThreshold *float64      `json:"lower_threshold"`
		UpperThreshold float64       `json:"upper_threshold"`
	} `json:"cases"`
}

type goldenChunk struct {
	Start         int      `json:"start"`
	End           int      `json:"end"`
	Value         float64  `json:"value"`
	SamplingError *float64 `json:"sampling_error"`
	Alert         bool     `json:"alert"`
}

func TestCaliforniaChunkings(t *testing.T) {
	ref := readCalifornia(t, "california_housing_reference.csv")
	ana := readCalifornia(t, "california_housing_analysis.csv")
	data, err := os.ReadFile("testdata/california.json")
	if err != nil {
		t.Fatal(err)
	}
	var g californiaGolden
	if err := json.Unmarshal(data, &g); err != nil {
		t.Fatal(err)
	}
	m, err := multivariate.Fit(ref, multivariate.DefaultVariance)
	if err != nil {
		t.Fatal(err)
	}
	refErrs, _, _ := m.Errors(ref)
	anaErrs, _, _ := m.Errors(ana)
	split := func(n int, kind string, arg int) []chunk.Range {
		var rs []chunk.Range
		var err error
		if kind == "size" {
			rs, err = chunk.BySize(n, arg)
		} else {
			rs, err = chunk.ByCount(n, arg)
		}
		if err != nil {
			t.Fatal(err)
		}
		return rs
	}
	if len(g.Cases) != 6 || m.K() != g.Components {
		t.Fatalf("%d cases, %d components (golden %d)", len(g.Cases), m.K(), g.Components)
	}
	for _, c := range g.Cases {
		name := fmt.Sprintf("%s=%d", c.Chunking, c.Arg)
		check := func(side string, errs []float64, want []goldenChunk) []float64 {
			rs := split(len(errs), c.Chunking, c.Arg)
			if len(rs) != len(want) {
				t.Fatalf("%s %s: %d chunks, want %d", name, side, len(rs), len(want))
			}
			values := make([]float64, len(rs))
			for i, r := range rs {
				s := multivariate.Summarize(errs[r.Start : r.End+1])
				values[i] = s.Value
				w := want[i]
				if r.Start != w.Start || r.End != w.End {
					t.Fatalf("%s %s chunk %d: [%d:%d], want [%d:%d]", name, side, i, r.Start, r.End, w.Start, w.End)
				}
				near(t, name+" "+side+" value", s.Value, w.Value)
				if w.SamplingError != nil {
					near(t, name+" "+side+" sampling error", s.SamplingError, *w.SamplingError)
				} else if !math.IsNaN(s.SamplingError) {
					t.Errorf("%s %s chunk %d: sampling error %g of one row, want NaN", name, side, i, s.SamplingError)
				}
			}
			return values
		}
		lower, upper := multivariate.Thresholds(check("reference", refErrs, c.Reference), multivariate.DefaultSigmas)
		near(t, name+" upper threshold", upper, c.UpperThreshold)
		if c.LowerThreshold == nil {
			if !math.IsNaN(lower) {
				t.Errorf("%s: lower threshold %g, want none", name, lower)
			}
		} else {
			near(t, name+" lower threshold", lower, *c.LowerThreshold)
		}
		for i, v := range check("current", anaErrs, c.Current) {
			if got := multivariate.Alert(v, lower, upper); got != c.Current[i].Alert {
				t.Errorf("%s current chunk %d: alert %v, want %v", name, i, got, c.Current[i].Alert)
			}
		}
	}
}
