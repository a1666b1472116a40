package profile

import (
	"math"
	"path/filepath"
	"reflect"
	"testing"

	"driftwatch/cbpe"
	"driftwatch/dataset"
)

// TestEstimationRoundTrip: the estimation section survives WriteFile and
// Load (NaN components as null), and a profile without it loads with none.
func TestEstimationRoundTrip(t *testing.T) {
	tab := &dataset.Table{Path: "mem", Rows: 4, Columns: []*dataset.Column{{Name: "x", Kind: dataset.KindNumeric, Num: []float64{1, 2, 3, 4}}}}
	p, err := Build(tab, Options{Bins: 2})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	plain := filepath.Join(dir, "plain.prof")
	if err := p.WriteFile(plain); err != nil {
		t.Fatal(err)
	}
	// Every prediction positive, so the negative cells' components are 0.
	ref, err := cbpe.Fit([]float64{0.9, 0.8, 0.7, 0.6, 0.3, 0.2}, []float64{1, 1, 0, 1, 0, 0}, []float64{1, 1, 1, 1, 1, 1}, cbpe.CalibrationAlways)
	if err != nil {
		t.Fatal(err)
	}
	ref.Components.F1Std = cbpe.Num(math.NaN()) // as when a reference has no TP, FP or FN
	p.Estimation = &Estimation{Label: "y", Score: "s", Prediction: "p", Positive: "1", Negative: "0", Model: ref}
	withEst := filepath.Join(dir, "est.prof")
	if err := p.WriteFile(withEst); err != nil {
		t.Fatal(err)
	}
	q, err := Load(withEst)
	if err != nil {
		t.Fatal(err)
	}
	if q.Estimation == nil || q.Estimation.Validate() != nil {
		t.Fatalf("estimation after load: %+v", q.Estimation)
	}
	got, want := q.Estimation.Model, p.Estimation.Model
	if !math.IsNaN(float64(got.Components.F1Std)) {
		t.Errorf("NaN component loaded as %v", got.Components.F1Std)
	}
	got.Components.F1Std, want.Components.F1Std = 0, 0
	if !reflect.DeepEqual(got, want) {
		t.Errorf("round trip differs:\n%+v\n%+v", got, want)
	}
	old, err := Load(plain)
	if err != nil || old.Estimation != nil {
		t.Fatalf("profile without estimation: %v, %+v", err, old.Estimation)
	}
	bad := &Estimation{Score: "s", Prediction: "p", Positive: "1", Negative: "0",
		Model: &cbpe.Reference{Mode: cbpe.CalibrationAlways, Calibrated: true, Calibrator: &cbpe.Isotonic{X: []float64{0.5, 0.2}, Y: []float64{0, 1}}}}
	if err := bad.Validate(); err == nil {
		t.Error("a decreasing calibrator validated")
	}
}
