package cbpe

import (
	"encoding/json"
	"math"
	"os"
	"slices"
	"strings"
	"testing"
)

// goldens is testdata/goldens.json, written by testdata/goldens.py with
// Debian's numpy and scikit-learn.
type goldens struct {
	Isotonic []struct {
		Name        string    `json:"name"`
		X, Y        []float64 `json:"-"`
		XS          []float64 `json:"x"`
		YS          []float64 `json:"y"`
		ThresholdsX []float64 `json:"thresholds_x"`
		ThresholdsY []float64 `json:"thresholds_y"`
		Query       []float64 `json:"query"`
		Predict     []float64 `json:"predict"`
	} `json:"isotonic"`
	Permutations []struct {
		N    int   `json:"n"`
		Perm []int `json:"perm"`
	} `json:"permutations"`
	Stratified struct {
		Y      []int `json:"y"`
		Splits []struct {
			Train []int `json:"train"`
			Test  []int `json:"test"`
		} `json:"splits"`
	} `json:"stratified"`
	Argsort []struct {
		V     []float64 `json:"v"`
		Order []int     `json:"order"`
	} `json:"argsort"`
	Cases []struct {
		Name             string             `json:"name"`
		Score            []float64          `json:"score"`
		Label            []float64          `json:"label"`
		Pred             []float64          `json:"pred"`
		NeedsCalibration bool               `json:"needs_calibration"`
		ECEBefore        *float64           `json:"ece_before"`
		ECEAfter         *float64           `json:"ece_after"`
		EstimatedROCAUC  float64            `json:"estimated_roc_auc"`
		EstimatedAP      float64            `json:"estimated_ap"`
		AUROCStd         float64            `json:"auroc_std"`
		AUROCFraction    float64            `json:"auroc_fraction"`
		Realized         map[string]float64 `json:"realized"`
		Components       map[string]float64 `json:"components"`
	} `json:"cases"`
}

func loadGoldens(t *testing.T) *goldens {
	t.Helper()
	data, err := os.ReadFile("testdata/goldens.json")
	if err != nil {
		t.Fatal(err)
	}
	var g goldens
	if err := json.Unmarshal(data, &g); err != nil {
		t.Fatal(err)
	}
	return &g
}

func near(got, want, rel float64) bool {
	if math.IsNaN(want) {
		return math.IsNaN(got)
	}
	return math.Abs(got-want) <= rel*math.Max(1, math.Abs(want))
}

func TestIsotonicGolden(t *testing.T) {
	for _, c := range loadGoldens(t).Isotonic {
		iso, err := FitIsotonic(c.XS, c.YS)
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		if len(iso.X) != len(c.ThresholdsX) {
			t.Errorf("%s: %d thresholds, scikit-learn %d (%v vs %v)", c.Name, len(iso.X), len(c.ThresholdsX), iso.X, c.ThresholdsX)
			continue
		}
		for i := range iso.X {
			if !near(iso.X[i], c.ThresholdsX[i], 1e-15) || !near(iso.Y[i], c.ThresholdsY[i], 1e-12) {
				t.Errorf("%s: threshold %d (%v, %v), scikit-learn (%v, %v)", c.Name, i, iso.X[i], iso.Y[i], c.ThresholdsX[i], c.ThresholdsY[i])
			}
		}
		for i, q := range c.Query {
			if got := iso.Calibrate(q); !near(got, c.Predict[i], 1e-12) {
				t.Errorf("%s: predict(%v) = %v, scikit-learn %v", c.Name, q, got, c.Predict[i])
			}
		}
	}
}

func TestNumpyGolden(t *testing.T) {
	g := loadGoldens(t)
	rng := newMT19937(42)
	for _, p := range g.Permutations {
		if got := rng.permutation(p.N); !slices.Equal(got, p.Perm) {
			t.Fatalf("permutation(%d) = %v, numpy %v", p.N, got, p.Perm)
		}
	}
	trains, tests, ok := stratifiedShuffleSplit(g.Stratified.Y, 2, 10, 0.1, 42)
	if !ok || len(tests) != len(g.Stratified.Splits) {
		t.Fatalf("split: ok %v, %d splits", ok, len(tests))
	}
	for k, s := range g.Stratified.Splits {
		if !slices.Equal(trains[k], s.Train) || !slices.Equal(tests[k], s.Test) {
			t.Fatalf("split %d: train %v test %v, scikit-learn %v %v", k, trains[k], tests[k], s.Train, s.Test)
		}
	}
	for _, a := range g.Argsort {
		if got := argsort(a.V); !slices.Equal(got, a.Order) {
			t.Errorf("argsort of %d values differs from numpy's", len(a.V))
		}
	}
}

func TestCasesGolden(t *testing.T) {
	for _, c := range loadGoldens(t).Cases {
		if got := NeedsCalibration(c.Score, c.Label); got != c.NeedsCalibration {
			t.Errorf("%s: needs calibration %v, NannyML %v", c.Name, got, c.NeedsCalibration)
		}
		mode := CalibrationNever
		if c.NeedsCalibration {
			mode = CalibrationAlways
		}
		r, err := Fit(c.Score, c.Label, c.Pred, mode)
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		if !near(float64(r.Components.ROCAUCStd), c.AUROCStd, 1e-12) || !near(float64(r.Components.ROCAUCFraction), c.AUROCFraction, 1e-15) {
			t.Errorf("%s: ROC AUC components (%v, %v), NannyML (%v, %v)", c.Name, r.Components.ROCAUCStd, r.Components.ROCAUCFraction, c.AUROCStd, c.AUROCFraction)
		}
		js, err := json.Marshal(r.Components)
		if err != nil {
			t.Fatal(err)
		}
		var comps map[string]any
		if err := json.Unmarshal(js, &comps); err != nil {
			t.Fatal(err)
		}
		if len(c.Components) != 13 {
			t.Fatalf("%s: golden has %d components", c.Name, len(c.Components))
		}
		for name, want := range c.Components {
			got, ok := comps[name].(float64)
			if !ok || !near(got, want, 1e-12) {
				t.Errorf("%s: sampling-error component %s = %v, NannyML %v", c.Name, name, comps[name], want)
			}
		}
		e := r.Estimate(c.Score, c.Pred)
		if !near(e.Estimated.ROCAUC, c.EstimatedROCAUC, 1e-12) {
			t.Errorf("%s: estimated ROC AUC %v, NannyML %v", c.Name, e.Estimated.ROCAUC, c.EstimatedROCAUC)
		}
		if !near(e.Estimated.AveragePrecision, c.EstimatedAP, 1e-12) {
			t.Errorf("%s: estimated AP %v, NannyML %v", c.Name, e.Estimated.AveragePrecision, c.EstimatedAP)
		}
		m, n := Realized(c.Score, c.Pred, c.Label)
		if n != len(c.Label) {
			t.Errorf("%s: %d labelled rows, want %d", c.Name, n, len(c.Label))
		}
		for i, name := range Names {
			want, ok := c.Realized[name]
			if !ok {
				t.Fatalf("%s: golden lacks %s", c.Name, name)
			}
			if got := m.Values()[i]; !near(got, want, 1e-12) {
				t.Errorf("%s: realized %s %v, scikit-learn %v", c.Name, name, got, want)
			}
		}
	}
}

// TestECEGolden holds the two expected calibration errors behind the
// decision to NannyML's.
func TestECEGolden(t *testing.T) {
	for _, c := range loadGoldens(t).Cases {
		if c.ECEBefore == nil {
			continue
		}
		before, after := eceOfSplits(c.Score, c.Label)
		if !near(before, *c.ECEBefore, 1e-12) || !near(after, *c.ECEAfter, 1e-12) {
			t.Errorf("%s: ECE before/after %v/%v, NannyML %v/%v", c.Name, before, after, *c.ECEBefore, *c.ECEAfter)
		}
	}
}

// TestCalibrateDescending: the one-walk calibration of sorted scores equals
// Calibrate value by value, and the weighted bootstrap AP equals the AP of
// the expanded sample.
func TestCalibrateDescending(t *testing.T) {
	s, y, p := benchData(5000, 3)
	ref, err := Fit(s, y, p, CalibrationAlways)
	if err != nil {
		t.Fatal(err)
	}
	asc := append([]float64{-1, 2, 0, 1}, s...)
	slices.Sort(asc)
	got := make([]float64, len(asc))
	ref.Calibrator.calibrateDescending(got, asc)
	if ref.Calibrator.grid == nil {
		t.Fatal("no lookup grid")
	}
	plain := &Isotonic{X: ref.Calibrator.X, Y: ref.Calibrator.Y} // binary search
	for i, v := range got {
		sc := asc[len(asc)-1-i]
		if w, b := ref.Calibrator.Calibrate(sc), plain.Calibrate(sc); v != w || w != b {
			t.Fatalf("score %v: walk %v, grid %v, binary search %v", sc, v, w, b)
		}
	}
	code := scoreGroups(s, y)
	groups := int32(0)
	for _, c := range code {
		groups = max(groups, c/2+1)
	}
	counts := make([]int32, 2*groups)
	var es, ey []float64
	for i := range s {
		reps := int32(i % 3)
		counts[code[i]] += reps
		for range reps {
			es, ey = append(es, s[i]), append(ey, y[i])
		}
	}
	if a, b := weightedAP(counts), averagePrecision(es, ey); math.Abs(a-b) > 1e-12 {
		t.Errorf("weighted AP %v, expanded %v", a, b)
	}
}

type multiGolden struct {
	RefScore   [][]float64         `json:"ref_score"`
	RefLabel   []float64           `json:"ref_label"`
	RefPred    []float64           `json:"ref_pred"`
	CurScore   [][]float64         `json:"cur_score"`
	CurPred    []float64           `json:"cur_pred"`
	CurLabel   []float64           `json:"cur_label"`
	Calibrated []bool              `json:"calibrated"`
	Estimated  map[string]float64  `json:"estimated"`
	Components map[string]any      `json:"components"`
	Realized   map[string]*float64 `json:"realized"`
}

// TestMulticlassGolden holds multiclass CBPE to NannyML's multiclass code
// (transcribed into goldens.py): the per-class calibration decisions, the
// macro estimates, the sampling-error components, and the realized macro
// metrics to scikit-learn's.
func TestMulticlassGolden(t *testing.T) {
	data, err := os.ReadFile("testdata/goldens.json")
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		Multiclass []multiGolden `json:"multiclass"`
	}
	if err := json.Unmarshal(data, &g); err != nil {
		t.Fatal(err)
	}
	if len(g.Multiclass) == 0 {
		t.Fatal("no multiclass goldens")
	}
	for n, c := range g.Multiclass {
		r, err := FitMulti(c.RefScore, c.RefLabel, c.RefPred, CalibrationAuto)
		if err != nil {
			t.Fatal(err)
		}
		for k, want := range c.Calibrated {
			if got := r.Calibrators[k] != nil; got != want {
				t.Errorf("case %d class %d: calibrated %v, NannyML %v", n, k, got, want)
			}
		}
		e := r.Estimate(c.CurScore, c.CurPred)
		vals := e.Estimated.Values()
		for i, name := range Names[:7] {
			if want := c.Estimated[name]; !near(vals[i], want, 1e-12) {
				t.Errorf("case %d: estimated %s %v, NannyML %v", n, name, vals[i], want)
			}
		}
		for i := 7; i < len(vals); i++ {
			if !math.IsNaN(vals[i]) {
				t.Errorf("case %d: multiclass %s = %v, want NaN", n, Names[i], vals[i])
			}
		}
		comps := map[string][]VarFrac{"f1": r.Components.F1, "precision": r.Components.Precision, "recall": r.Components.Recall,
			"specificity": r.Components.Specificity, "roc_auc": r.Components.ROCAUC}
		for name, got := range comps {
			want := c.Components[name].([]any)
			for k := range want {
				pair := want[k].([]any)
				if !near(float64(got[k].Var), pair[0].(float64), 1e-12) || !near(float64(got[k].Fraction), pair[1].(float64), 1e-12) {
					t.Errorf("case %d: %s component of class %d (%v, %v), NannyML %v", n, name, k, got[k].Var, got[k].Fraction, pair)
				}
			}
		}
		if want := c.Components["accuracy_std"].(float64); !near(float64(r.Components.AccuracyStd), want, 1e-12) {
			t.Errorf("case %d: accuracy std %v, NannyML %v", n, r.Components.AccuracyStd, want)
		}
		m, labelled := RealizedMulti(c.CurScore, c.CurPred, c.CurLabel)
		if labelled != len(c.CurLabel) {
			t.Errorf("case %d: %d labelled rows", n, labelled)
		}
		mv := m.Values()
		for i, name := range Names[:7] {
			want := math.NaN()
			if w := c.Realized[name]; w != nil {
				want = *w
			}
			if !near(mv[i], want, 1e-12) {
				t.Errorf("case %d: realized %s %v, scikit-learn %v", n, name, mv[i], want)
			}
		}
		// The sampling error follows NannyML's formulas from the components.
		se := e.SamplingError
		var sum float64
		for _, v := range r.Components.ROCAUC {
			sum += float64(v.Var) / (float64(e.Rows) * float64(v.Fraction))
		}
		if want := math.Sqrt(sum) / float64(r.Classes) * 1.2; !near(se.ROCAUC, want, 1e-12) || !(se.F1 > 0) || !(se.AveragePrecision > 0) {
			t.Errorf("case %d: sampling errors %+v", n, se)
		}
	}
}

// TestMulticlassBadInput: too few classes, a class absent from the labels
// and no valid rows are errors; invalid rows are counted, never a panic.
func TestMulticlassBadInput(t *testing.T) {
	nan := math.NaN()
	s := [][]float64{{0.7, 0.1, 0.2, 0.6, 1.5, nan}, {0.2, 0.8, 0.1, 0.3, 0.1, 0.5}, {0.1, 0.1, 0.7, 0.1, 0.1, 0.5}}
	y := []float64{0, 1, 2, 0, 1, 2}
	p := []float64{0, 1, 2, 1, 1, 2}
	if _, err := FitMulti(s[:2], y, p, CalibrationNever); err == nil {
		t.Error("two classes accepted")
	}
	if _, err := FitMulti(s, []float64{0, 1, 1, 0, 1, 1}, p, CalibrationNever); err == nil || !strings.Contains(err.Error(), "never hold class 2") {
		t.Errorf("absent class: %v", err)
	}
	if _, err := FitMulti(s, []float64{nan, nan, nan, nan, nan, nan}, p, CalibrationNever); err == nil {
		t.Error("no valid rows accepted")
	}
	r, err := FitMulti(s, y, p, CalibrationAuto)
	if err != nil {
		t.Fatal(err)
	}
	if r.Rows != 4 || r.Invalid != 2 || r.Validate() != nil {
		t.Errorf("rows %d invalid %d validate %v", r.Rows, r.Invalid, r.Validate())
	}
	c := r.Estimate(s, []float64{0, 7, nan, 1, 1, 2})
	if c.Rows != 2 || c.Invalid != 4 || !(c.Estimated.Accuracy >= 0 && c.Estimated.Accuracy <= 1) {
		t.Errorf("chunk %+v", c)
	}
	if e := r.Estimate(s, []float64{nan, nan, nan, nan, nan, nan}); e.Rows != 0 || !math.IsNaN(e.Estimated.ROCAUC) {
		t.Errorf("empty chunk %+v", e)
	}
}
