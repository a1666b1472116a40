package cbpe

import (
	"driftwatch/internal/testutil/shared"
	"math"
	"path/filepath"
	"slices"
	"testing"
)

// exactAUC is EstimatedROCAUC of rows sorted by raw score, descending.
func exactAUC(r *Reference, raw []float64) float64 {
	s := slices.Clone(raw)
	slices.Sort(s)
	cal := make([]float64, len(s))
	for i := range cal {
		cal[i] = r.Calibrate(s[len(s)-1-i])
	}
	return EstimatedROCAUC(cal)
}

// TestBinsROCAUC holds the binned (streaming) estimated ROC AUC to the
// row-level one within its bound, and within 0.002 at DefaultBins, on
// NannyML's California chunks and on synthetic windows; merged bins equal
// bins filled at once.
func TestBinsROCAUC(t *testing.T) {
	type window struct {
		name string
		ref  *Reference
		raw  []float64
	}
	var windows []window
	s, y, p := benchData(20_000, 7)
	for _, mode := range []Calibration{CalibrationAlways, CalibrationNever} {
		ref, err := Fit(s, y, p, mode)
		if err != nil {
			t.Fatal(err)
		}
		cs, _, _ := benchData(50_000, 8)
		windows = append(windows, window{"synthetic " + string(mode), ref, cs}, window{"synthetic small " + string(mode), ref, cs[:300]})
	}
	if dir := shared.DirOrEmpty(shared.California); dir != "" {
		ref := readColumns(t, filepath.Join(dir, "california_housing_reference.csv"), "y_pred_proba", "clf_target", "y_pred")
		ana := readColumns(t, filepath.Join(dir, "california_housing_analysis.csv"), "y_pred_proba", "y_pred")
		r, err := Fit(ref[0], ref[1], ref[2], CalibrationAuto)
		if err != nil {
			t.Fatal(err)
		}
		windows = append(windows, window{"california [0:4999]", r, ana[0][:5000]}, window{"california [5000:8231]", r, ana[0][5000:]})
	}
	for _, w := range windows {
		exact := exactAUC(w.ref, w.raw)
		b, half := NewBins(DefaultBins), [2]*Bins{NewBins(DefaultBins), NewBins(DefaultBins)}
		for i, v := range w.raw {
			b.Add(v, w.ref.Calibrate(v))
			half[i%2].Add(v, w.ref.Calibrate(v))
		}
		got, bound := b.ROCAUC()
		diff := math.Abs(got - exact)
		if diff > bound+2e-5 || diff > 0.002 {
			t.Errorf("%s: binned %v, exact %v: off by %.2g, bound %.2g", w.name, got, exact, diff, bound)
		}
		half[0].Merge(half[1])
		if m, _ := half[0].ROCAUC(); math.Abs(m-got) > 1e-12 {
			t.Errorf("%s: merged bins %v, one pass %v", w.name, m, got)
		}
		t.Logf("%s: binned %.6f exact %.6f diff %.1e bound %.1e", w.name, got, exact, diff, bound)
	}
	if a, bd := NewBins(10).ROCAUC(); !math.IsNaN(a) || !math.IsNaN(bd) {
		t.Errorf("empty bins: %v %v", a, bd)
	}
}
