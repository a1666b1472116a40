package cli

import (
	"driftwatch/internal/testutil/shared"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type mvReport struct {
	DriftDetected bool `json:"drift_detected"`
	Multivariate  *struct {
		Method            string   `json:"method"`
		Features          []string `json:"features"`
		ConstantFeatures  []string `json:"constant_features"`
		Components        int      `json:"components"`
		VarianceExplained float64  `json:"variance_explained"`
		ReferenceValue    float64  `json:"reference_value"`
		Value             float64  `json:"value"`
		SamplingError     float64  `json:"sampling_error"`
		LowerThreshold    *float64 `json:"lower_threshold"`
		UpperThreshold    *float64 `json:"upper_threshold"`
		Drift             bool     `json:"drift"`
		ImputedRows       int      `json:"imputed_rows"`
		ReferenceChunks   []struct {
			Rows  int     `json:"rows"`
			Value float64 `json:"value"`
		} `json:"reference_chunks"`
	} `json:"multivariate"`
	Chunks []struct {
		Index, Start, End, Rows int
		Multivariate            *struct {
			Value         float64 `json:"value"`
			SamplingError float64 `json:"sampling_error"`
			Drift         bool    `json:"drift"`
		} `json:"multivariate"`
	} `json:"chunks"`
	Features []struct {
		Name  string `json:"name"`
		Drift bool   `json:"drift"`
	} `json:"features"`
	Gates []struct {
		Expr string `json:"expr"`
		Pass bool   `json:"pass"`
	} `json:"gates"`
	Notes []string `json:"notes"`
}

func decodeMV(t *testing.T, out string) mvReport {
	t.Helper()
	var r mvReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	return r
}

// TestCheckMultivariateNannyML runs `check` on NannyML's California files with
// chunk_size 5000, from the raw reference and from a profile, and compares
// with NannyML 0.13.1's numbers (../shared/data/nannyml-california/README.md).
func TestCheckMultivariateNannyML(t *testing.T) {
	dir := shared.Dir(t, shared.California)
	ref := filepath.Join(dir, "california_housing_reference.csv")
	cur := filepath.Join(dir, "california_housing_analysis.csv")
	cfg := writeFile(t, "check.yaml", "features:\n  id: {ignore: true}\n  timestamp: {ignore: true}\n  clf_target: {ignore: true}\n  y_pred_proba: {ignore: true}\n  y_pred: {ignore: true}\n")
	prof := filepath.Join(t.TempDir(), "ref.dwprof")
	if code, _, errs := run(t, "profile", "build", "--input", ref, "--out", prof, "--exclude", "id,timestamp,clf_target,y_pred_proba,y_pred"); code != ExitOK {
		t.Fatalf("profile build: %s", errs)
	}
	_, raw, _ := run(t, "check", "--reference", ref, "--current", cur, "--config", cfg, "--chunk-size", "5000")
	_, fromProfile, _ := run(t, "check", "--reference", prof, "--current", cur, "--config", cfg, "--chunk-size", "5000")
	if raw != fromProfile {
		t.Fatalf("profile and raw reference differ:\n%s\n---\n%s", raw, fromProfile)
	}
	r := decodeMV(t, raw)
	m := r.Multivariate
	if m == nil || m.Method != "pca_reconstruction" || m.Components != 3 || len(m.Features) != 8 || len(m.ReferenceChunks) != 2 {
		t.Fatalf("multivariate section: %+v", m)
	}
	near := func(what string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-6*math.Abs(want) {
			t.Errorf("%s = %.17g, NannyML %.17g", what, got, want)
		}
	}
	near("reference chunk 0", m.ReferenceChunks[0].Value, 1.2054057546034)
	near("reference chunk 1", m.ReferenceChunks[1].Value, 1.4966028289202942)
	near("lower threshold", *m.LowerThreshold, 0.914208680286506)
	near("upper threshold", *m.UpperThreshold, 1.7877999032371883)
	want := []struct {
		start, end     int
		value, sampErr float64
	}{{0, 4999, 1.4707411361801896, 0.06449238821892089}, {5000, 8231, 1.5679869741150265, 0.22248739842414322}}
	if len(r.Chunks) != 2 {
		t.Fatalf("%d chunks, want 2", len(r.Chunks))
	}
	for i, w := range want {
		c := r.Chunks[i]
		if c.Start != w.start || c.End != w.end || c.Multivariate == nil || c.Multivariate.Drift {
			t.Fatalf("chunk %d: %+v", i, c)
		}
		near("chunk value", c.Multivariate.Value, w.value)
		near("chunk sampling error", c.Multivariate.SamplingError, w.sampErr)
	}
	if m.Drift {
		t.Error("multivariate drift; NannyML raises no alert")
	}

	// More chunkings, against NannyML's pipeline in scikit-learn
	// (../multivariate/testdata/california.py).
	data, err := os.ReadFile("../multivariate/testdata/california.json")
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		Cases []struct {
			Chunking string
			Arg      int
			Current  []struct {
				Start, End int
				Value      float64
				Alert      bool
			}
			Reference []struct{ Value float64 }
			Upper     float64 `json:"upper_threshold"`
		}
	}
	if err := json.Unmarshal(data, &g); err != nil {
		t.Fatal(err)
	}
	for _, c := range g.Cases {
		flag := map[string]string{"size": "--chunk-size", "count": "--chunks"}[c.Chunking]
		_, out, _ := run(t, "check", "--reference", prof, "--current", cur, "--config", cfg, flag, fmt.Sprint(c.Arg))
		r := decodeMV(t, out)
		name := fmt.Sprintf("%s %d", flag, c.Arg)
		if r.Multivariate == nil || len(r.Chunks) != len(c.Current) || len(r.Multivariate.ReferenceChunks) != len(c.Reference) {
			t.Fatalf("%s: %d chunks, want %d:\n%s", name, len(r.Chunks), len(c.Current), out)
		}
		near(name+" upper threshold", *r.Multivariate.UpperThreshold, c.Upper)
		alert := false
		for i, w := range c.Current {
			got := r.Chunks[i]
			if got.Start != w.Start || got.End != w.End || got.Multivariate.Drift != w.Alert {
				t.Errorf("%s chunk %d: %+v, want [%d:%d] alert %v", name, i, got, w.Start, w.End, w.Alert)
			}
			near(name+" chunk value", got.Multivariate.Value, w.Value)
			alert = alert || w.Alert
		}
		if r.Multivariate.Drift != alert {
			t.Errorf("%s: section drift %v, want %v", name, r.Multivariate.Drift, alert)
		}
	}
}

// correlatedCSV writes n rows of a, b, c (b and c follow a) and a category;
// with shuffle, b is permuted among the rows: the marginals stay, the
// correlation breaks.
func correlatedCSV(t *testing.T, name string, n int, seed uint64, shuffle bool, constant, missing bool) string {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 3))
	a, b, c := make([]float64, n), make([]float64, n), make([]float64, n)
	for i := range n {
		a[i] = r.NormFloat64()
		b[i] = 0.9*a[i] + 0.3*r.NormFloat64()
		c[i] = -0.8*a[i] + 0.5*r.NormFloat64()
	}
	if shuffle {
		r.Shuffle(n, func(i, j int) { b[i], b[j] = b[j], b[i] })
	}
	var s strings.Builder
	s.WriteString("a,b,c,k,g\n")
	for i := range n {
		bs := fmt.Sprintf("%.6f", b[i])
		if missing && i%10 == 0 {
			bs = ""
		}
		k := 5.0
		if !constant {
			k = r.Float64()
		}
		fmt.Fprintf(&s, "%.6f,%s,%.6f,%.6f,%s\n", a[i], bs, c[i], k, []string{"x", "y", "y"}[i%3])
	}
	return writeFile(t, name, s.String())
}

// TestCheckCorrelationBreak: a shuffled column keeps every marginal, so no
// univariate test drifts, but the reconstruction error does; it decides
// drift_detected, the exit code and the multivariate gate.
func TestCheckCorrelationBreak(t *testing.T) {
	ref := correlatedCSV(t, "ref.csv", 6000, 1, false, true, false)
	same := correlatedCSV(t, "same.csv", 2000, 2, false, true, false)
	broken := correlatedCSV(t, "broken.csv", 2000, 3, true, true, false)

	code, out, _ := run(t, "check", "--reference", ref, "--current", same, "--chunk-size", "1000", "--require", "multivariate")
	r := decodeMV(t, out)
	if code != ExitOK || r.DriftDetected || r.Multivariate == nil || r.Multivariate.Drift || !r.Gates[0].Pass {
		t.Fatalf("same distribution: exit %d\n%s", code, out)
	}
	if got := strings.Join(r.Multivariate.Features, ","); got != "a,b,c,g" || strings.Join(r.Multivariate.ConstantFeatures, ",") != "k" {
		t.Errorf("features %s, constant %v; want a,b,c,g and k named as constant", got, r.Multivariate.ConstantFeatures)
	}
	if len(r.Chunks) != 2 || len(r.Multivariate.ReferenceChunks) != 6 {
		t.Errorf("%d chunks, %d reference chunks; want 2 and 6", len(r.Chunks), len(r.Multivariate.ReferenceChunks))
	}

	code, out, _ = run(t, "check", "--reference", ref, "--current", broken, "--chunk-size", "1000", "--require", "multivariate")
	r = decodeMV(t, out)
	for _, f := range r.Features {
		if f.Drift {
			t.Errorf("feature %s drifts; a shuffle keeps the marginals", f.Name)
		}
	}
	if code != ExitDrift || !r.DriftDetected || r.Multivariate == nil || !r.Multivariate.Drift || r.Gates[0].Pass {
		t.Fatalf("broken correlation: exit %d\n%s", code, out)
	}
	for i, c := range r.Chunks {
		if c.Multivariate == nil || !c.Multivariate.Drift || !(c.Multivariate.Value > *r.Multivariate.UpperThreshold) {
			t.Errorf("chunk %d: %+v, want above %g", i, c.Multivariate, *r.Multivariate.UpperThreshold)
		}
	}

	// Without a chunk flag the reference is split into chunks of the current
	// data's 2000 rows: three of them.
	_, out, _ = run(t, "check", "--reference", ref, "--current", broken)
	r = decodeMV(t, out)
	if r.Multivariate == nil || !r.Multivariate.Drift || len(r.Multivariate.ReferenceChunks) != 3 || r.Chunks != nil {
		t.Fatalf("no chunk flag:\n%s", out)
	}

	// Disabled by the config: no section, no drift from it.
	cfg := writeFile(t, "off.yaml", "multivariate: {enabled: false}\n")
	code, out, _ = run(t, "check", "--reference", ref, "--current", broken, "--config", cfg)
	if r = decodeMV(t, out); code != ExitOK || r.Multivariate != nil {
		t.Fatalf("disabled: exit %d\n%s", code, out)
	}
}

func TestCheckMultivariateBadInput(t *testing.T) {
	ref := correlatedCSV(t, "ref.csv", 6000, 1, false, false, false)
	// Missing values in the current data are imputed and counted.
	holes := correlatedCSV(t, "holes.csv", 500, 2, false, false, true)
	_, out, _ := run(t, "check", "--reference", ref, "--current", holes)
	if r := decodeMV(t, out); r.Multivariate == nil || r.Multivariate.ImputedRows != 50 {
		t.Fatalf("imputed rows:\n%s", out)
	}
	// One numeric feature: no section, said once.
	one := writeFile(t, "one.csv", "x,g\n1,a\n2,b\n3,a\n4,b\n")
	_, out, _ = run(t, "check", "--reference", one, "--current", one)
	r := decodeMV(t, out)
	if r.Multivariate != nil || len(r.Notes) != 1 || !strings.Contains(r.Notes[0], "fewer than two numeric features (1)") {
		t.Fatalf("one numeric feature:\n%s", out)
	}
	// Constant features leaving fewer than two: named in the note.
	flat := writeFile(t, "flat.csv", "x,y,z\n1,5,7\n2,5,7\n3,5,7\n")
	_, out, _ = run(t, "check", "--reference", flat, "--current", flat)
	if r := decodeMV(t, out); r.Multivariate != nil || len(r.Notes) != 1 || !strings.Contains(r.Notes[0], "constant: y, z") {
		t.Fatalf("constant features:\n%s", out)
	}
	// The current data as large as the reference: one reference chunk, no thresholds.
	_, out, _ = run(t, "check", "--reference", ref, "--current", ref)
	if r := decodeMV(t, out); r.Multivariate == nil || r.Multivariate.LowerThreshold != nil || r.Multivariate.Drift ||
		len(r.Notes) != 1 || !strings.Contains(r.Notes[0], "no thresholds") {
		t.Fatalf("one reference chunk:\n%s", out)
	}
	// A feature missing from the current data: a note, no section.
	noB := writeFile(t, "nob.csv", "a,c,k,g\n1,2,3,x\n2,1,0,y\n")
	_, out, _ = run(t, "check", "--reference", ref, "--current", noB)
	if r := decodeMV(t, out); r.Multivariate != nil || len(r.Notes) != 1 || !strings.Contains(r.Notes[0], `feature "b" is missing`) {
		t.Fatalf("missing feature:\n%s", out)
	}
	// A profile fitted at another variance share than the config asks: said.
	prof := filepath.Join(t.TempDir(), "ref.dwprof")
	if code, _, errs := run(t, "profile", "build", "--input", ref, "--out", prof, "--multivariate-variance", "0.9"); code != ExitOK {
		t.Fatalf("profile build: %s", errs)
	}
	_, out, _ = run(t, "check", "--reference", prof, "--current", holes)
	if r := decodeMV(t, out); r.Multivariate == nil || len(r.Notes) != 1 || !strings.Contains(r.Notes[0], "keeps 0.9 of the variance, the configuration asks 0.65") {
		t.Fatalf("variance mismatch:\n%s", out)
	}
	if code, _, _ := run(t, "profile", "build", "--input", ref, "--out", prof, "--multivariate-variance", "1"); code != ExitUsage {
		t.Errorf("--multivariate-variance 1: exit %d, want usage error", code)
	}
	for _, args := range [][]string{
		{"--chunk-size", "10", "--chunks", "3"},
		{"--chunk-size", "-1"},
		{"--chunks", "1000"}, // more chunks than the current data's rows
	} {
		code, _, errs := run(t, append([]string{"check", "--reference", ref, "--current", noB}, args...)...)
		if code != ExitUsage || errs == "" {
			t.Errorf("%v: exit %d, stderr %q; want a usage error", args, code, errs)
		}
	}
}

// TestMultivariateSampledProfile: the multivariate section from a profile
// that keeps only a sample of each feature, over data with missing values,
// equals the raw reference's (the profile stores every row's error).
func TestMultivariateSampledProfile(t *testing.T) {
	ref := correlatedCSV(t, "ref.csv", 5000, 1, false, false, true)
	cur := correlatedCSV(t, "cur.csv", 1500, 2, true, false, true)
	prof := filepath.Join(t.TempDir(), "ref.dwprof")
	if code, _, errs := run(t, "profile", "build", "--input", ref, "--out", prof, "--max-sample", "100"); code != ExitOK {
		t.Fatalf("profile build: %s", errs)
	}
	section := func(refPath string) string {
		_, out, _ := run(t, "check", "--reference", refPath, "--current", cur, "--chunks", "3")
		var r struct {
			Multivariate json.RawMessage `json:"multivariate"`
			Chunks       json.RawMessage `json:"chunks"`
		}
		if err := json.Unmarshal([]byte(out), &r); err != nil || r.Multivariate == nil {
			t.Fatalf("%v:\n%s", err, out)
		}
		return string(r.Multivariate) + string(r.Chunks)
	}
	if raw, fromProfile := section(ref), section(prof); raw != fromProfile {
		t.Fatalf("raw reference:\n%s\nsampled profile:\n%s", raw, fromProfile)
	}
}
