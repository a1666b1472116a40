package stats

import (
	"encoding/json"
	"math"
	"os"
	"slices"
	"strconv"
	"testing"
)

// Golden values come from testdata/golden/gen_golden.py (scipy 1.10,
// numpy, scikit-learn 1.2).
type sampleSpec struct {
	Values []float64 `json:"values"`
	N      int       `json:"n"`
	Seed   uint64    `json:"seed"`
	Scale  float64   `json:"scale"`
	Shift  float64   `json:"shift"`
	Square bool      `json:"square"`
}

// values reproduces gen_golden.py's lcg() bit for bit.
func (s sampleSpec) values() []float64 {
	if s.Values != nil {
		return slices.Clone(s.Values)
	}
	out := make([]float64, s.N)
	st := s.Seed
	for i := range out {
		st = st*6364136223846793005 + 1442695040888963407
		u := float64(st>>11) / 9007199254740992.0
		if s.Square {
			u = u * u
		}
		out[i] = math.Floor(u*s.Scale*1e4)/1e4 + s.Shift
	}
	return out
}

type golden struct {
	KS []struct {
		Name      string
		A, B      sampleSpec
		Statistic float64
		Pvalue    float64
	}
	KSTwo []struct {
		N     int
		D, SF float64
	} `json:"kstwo"`
	Numeric []struct {
		Name                       string
		Ref, Cur, Edges            []float64
		RefCounts                  []float64 `json:"ref_counts"`
		CurCounts                  []float64 `json:"cur_counts"`
		Quantiles                  map[string]float64
		PSI                        float64 `json:"psi"`
		PSIThreshold               float64 `json:"psi_threshold"`
		JS, Hellinger, Wasserstein float64
		Mean, Std, Min, Max        float64
	}
	Categorical []struct {
		Name         string
		Ref, Cur     []float64
		Chi2, P, PSI float64
		DOF          int
		JS           float64
	}
	Z []struct {
		X1, N1, X2, N2, Z, P float64
	}
	Chi2SF []struct {
		X   float64
		DOF int
		SF  float64
	} `json:"chi2sf"`
	Classification []struct {
		Name           string
		Labels, Preds  []string
		Positive       string
		Scores         []float64
		Accuracy       float64
		PrecisionMacro float64        `json:"precision_macro"`
		RecallMacro    float64        `json:"recall_macro"`
		F1Macro        float64        `json:"f1_macro"`
		PerClass       []ClassMetrics `json:"per_class"`
		ROCAUC         *float64       `json:"roc_auc"`
		LogLoss        float64        `json:"log_loss"`
		Brier, ECE     float64
	}
	Huge []struct {
		Name        string
		Ref, Cur    []float64
		Std, Mean   float64
		Wasserstein float64
		Normalized  float64
	}
	Regression []struct {
		Name                string
		Y, Pred             []float64
		MAE, RMSE, MAPE, R2 float64
		MeanError           float64 `json:"mean_error"`
		ZeroTargets         int     `json:"zero_targets"`
	}
}

func loadGolden(t testing.TB) *golden {
	t.Helper()
	data, err := os.ReadFile("../testdata/golden/golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g golden
	if err := json.Unmarshal(data, &g); err != nil {
		t.Fatal(err)
	}
	return &g
}

// near checks |got−want| ≤ abs, or a relative error ≤ rel for large values.
func near(t *testing.T, what string, got, want, abs, rel float64) {
	t.Helper()
	if got == want || math.Abs(got-want) <= abs || math.Abs(got-want) <= rel*math.Abs(want) {
		return
	}
	t.Errorf("%s: got %.17g, want %.17g (diff %.3g)", what, got, want, got-want)
}

// nearP checks a p-value to 1e-6 relative; both below 1e-300 count as equal.
func nearP(t *testing.T, what string, got, want float64) {
	t.Helper()
	if got < 1e-300 && want < 1e-300 {
		return
	}
	near(t, what, got, want, 0, 1e-6)
}

func TestGoldenKS(t *testing.T) {
	g := loadGolden(t)
	for _, c := range g.KS {
		a, b := c.A.values(), c.B.values()
		// The bucketed path `check` uses, on the unsorted samples.
		bd, _ := KSWasserstein(a, b)
		_, bp := KS2SampPValue(bd, len(a), len(b))
		SortFloat64s(a, nil)
		SortFloat64s(b, nil)
		d, p := KS2Samp(a, b)
		near(t, c.Name+" statistic", d, c.Statistic, 1e-9, 0)
		nearP(t, c.Name+" p-value", p, c.Pvalue)
		near(t, c.Name+" bucketed statistic", bd, c.Statistic, 1e-9, 0)
		nearP(t, c.Name+" bucketed p-value", bp, c.Pvalue)
	}
	for _, c := range g.KSTwo {
		nearP(t, "kstwo.sf(d="+strconv.FormatFloat(c.D, 'g', -1, 64)+", n="+strconv.Itoa(c.N)+")", KSTwoSF(c.D, c.N), c.SF)
	}
}

func TestGoldenNumeric(t *testing.T) {
	g := loadGolden(t)
	for _, c := range g.Numeric {
		ref, cur := slices.Clone(c.Ref), slices.Clone(c.Cur)
		SortFloat64s(ref, nil)
		SortFloat64s(cur, nil)
		for q, want := range c.Quantiles {
			qf, _ := strconv.ParseFloat(q, 64)
			near(t, c.Name+" quantile "+q, Quantile(ref, qf), want, 1e-12, 1e-12)
		}
		edges := QuantileEdges(nil, ref, 10)
		for i := range edges {
			near(t, c.Name+" edge", edges[i], c.Edges[i], 1e-12, 1e-12)
		}
		rc, cc := make([]float64, 10), make([]float64, 10)
		Histogram(rc, edges, c.Ref)
		Histogram(cc, edges, c.Cur)
		if !slices.Equal(rc, c.RefCounts) || !slices.Equal(cc, c.CurCounts) {
			t.Errorf("%s: counts %v %v, want %v %v", c.Name, rc, cc, c.RefCounts, c.CurCounts)
		}
		near(t, c.Name+" psi", PSI(rc, cc, 1e-4), c.PSI, 1e-9, 0)
		near(t, c.Name+" psi threshold", PSIThreshold(0.05, 10, float64(len(ref)), float64(len(cur))), c.PSIThreshold, 1e-9, 0)
		near(t, c.Name+" js", JensenShannon(rc, cc), c.JS, 1e-9, 0)
		near(t, c.Name+" hellinger", Hellinger(rc, cc), c.Hellinger, 1e-9, 0)
		near(t, c.Name+" wasserstein", Wasserstein1(ref, cur), c.Wasserstein, 1e-9, 1e-9)
		_, bw := KSWasserstein(c.Ref, c.Cur)
		near(t, c.Name+" bucketed wasserstein", bw, c.Wasserstein, 1e-9, 1e-9)
		qe, qc := QuantileBins(c.Ref, 10)
		if !slices.Equal(qe[0], edges) || !slices.Equal(qc[0], c.RefCounts) {
			t.Errorf("%s: QuantileBins %v %v", c.Name, qe[0], qc[0])
		}
		s := Summarize(c.Ref)
		near(t, c.Name+" mean", s.Mean, c.Mean, 1e-9, 1e-9)
		near(t, c.Name+" std", s.Std, c.Std, 1e-9, 1e-9)
		if s.Min != c.Min || s.Max != c.Max || s.N != len(c.Ref) {
			t.Errorf("%s: summary %+v", c.Name, s)
		}
	}
}

// A reference holding values near 1e300 has squares beyond float64: the
// std is numpy's on the values scaled by a power of two, not Inf or NaN.
func TestGoldenHugeStd(t *testing.T) {
	g := loadGolden(t)
	if len(g.Huge) == 0 {
		t.Fatal("no huge cases in golden.json")
	}
	for _, c := range g.Huge {
		s := Summarize(c.Ref)
		near(t, c.Name+" std", s.Std, c.Std, 0, 1e-12)
		near(t, c.Name+" mean", s.Mean, c.Mean, 0, 1e-12)
		ref, cur := slices.Clone(c.Ref), slices.Clone(c.Cur)
		SortFloat64s(ref, nil)
		SortFloat64s(cur, nil)
		near(t, c.Name+" wasserstein", Wasserstein1(ref, cur), c.Wasserstein, 0, 1e-9)
	}
}

// ChiSquareUnseen is ChiSquareHomogeneity on the concatenated table, bit
// for bit, and each unseen category is its own column.
func TestChiSquareUnseenIsTheFullTable(t *testing.T) {
	ref := []float64{50, 0, 100, 7}
	cur := []float64{40, 3, 90, 0, 999} // the last (pooled unseen) is ignored
	unseen := []float64{15, 0, 4, 1}
	s1, d1, p1 := ChiSquareUnseen(ref, cur, unseen)
	s2, d2, p2 := ChiSquareHomogeneity([]float64{50, 0, 100, 7, 0, 0, 0, 0}, []float64{40, 3, 90, 0, 15, 0, 4, 1})
	if s1 != s2 || d1 != d2 || p1 != p2 || d1 != 6 {
		t.Fatalf("unseen %v %d %v, full table %v %d %v", s1, d1, p1, s2, d2, p2)
	}
	// Pooling the three unseen columns keeps the statistic (to rounding)
	// but not the degrees of freedom.
	s3, d3, _ := ChiSquareUnseen(ref, cur, []float64{20})
	if math.Abs(s3-s1) > 1e-9*s1 || d3 != 4 {
		t.Fatalf("pooled %v %d vs %v %d", s3, d3, s1, d1)
	}
}

func TestGoldenCategorical(t *testing.T) {
	g := loadGolden(t)
	for _, c := range g.Categorical {
		chi, dof, p := ChiSquareHomogeneity(c.Ref, c.Cur)
		near(t, c.Name+" chi2", chi, c.Chi2, 1e-9, 1e-12)
		nearP(t, c.Name+" chi2 p", p, c.P)
		if dof != c.DOF {
			t.Errorf("%s: dof %d, want %d", c.Name, dof, c.DOF)
		}
		near(t, c.Name+" psi", PSI(c.Ref, c.Cur, 1e-4), c.PSI, 1e-9, 0)
		near(t, c.Name+" js", JensenShannon(c.Ref, c.Cur), c.JS, 1e-9, 0)
	}
	for _, c := range g.Z {
		z, p := TwoProportionZ(c.X1, c.N1, c.X2, c.N2)
		near(t, "z", z, c.Z, 1e-9, 0)
		nearP(t, "z p", p, c.P)
	}
	for _, c := range g.Chi2SF {
		nearP(t, "chi2.sf("+strconv.FormatFloat(c.X, 'g', -1, 64)+", "+strconv.Itoa(c.DOF)+")", ChiSquareSF(c.X, c.DOF), c.SF)
	}
}

func TestGoldenQuality(t *testing.T) {
	g := loadGolden(t)
	for _, c := range g.Classification {
		got := ClassificationMetrics(c.Labels, c.Preds, c.Scores, c.Positive)
		near(t, c.Name+" accuracy", got.Accuracy, c.Accuracy, 1e-9, 0)
		near(t, c.Name+" precision", got.PrecisionMacro, c.PrecisionMacro, 1e-9, 0)
		near(t, c.Name+" recall", got.RecallMacro, c.RecallMacro, 1e-9, 0)
		near(t, c.Name+" f1", got.F1Macro, c.F1Macro, 1e-9, 0)
		if len(got.PerClass) != len(c.PerClass) {
			t.Fatalf("%s: %d classes, want %d", c.Name, len(got.PerClass), len(c.PerClass))
		}
		for i, pc := range c.PerClass {
			gc := got.PerClass[i]
			if gc.Class != pc.Class || gc.Support != pc.Support {
				t.Errorf("%s: class %+v, want %+v", c.Name, gc, pc)
			}
			near(t, c.Name+" "+pc.Class+" f1", gc.F1, pc.F1, 1e-9, 0)
		}
		if c.Scores == nil {
			continue
		}
		if c.ROCAUC != nil {
			near(t, c.Name+" auc", got.ROCAUC, *c.ROCAUC, 1e-9, 0)
		}
		near(t, c.Name+" log loss", got.LogLoss, c.LogLoss, 1e-9, 0)
		near(t, c.Name+" brier", got.Brier, c.Brier, 1e-9, 0)
		near(t, c.Name+" ece", got.ECE, c.ECE, 1e-9, 0)
	}
	for _, c := range g.Regression {
		got := RegressionMetrics(c.Y, c.Pred)
		near(t, c.Name+" mae", got.MAE, c.MAE, 1e-9, 0)
		near(t, c.Name+" rmse", got.RMSE, c.RMSE, 1e-9, 0)
		near(t, c.Name+" mape", got.MAPE, c.MAPE, 1e-9, 0)
		near(t, c.Name+" mean error", got.MeanError, c.MeanError, 1e-9, 0)
		near(t, c.Name+" r2", got.R2, c.R2, 1e-9, 0)
		if got.ZeroTargets != c.ZeroTargets {
			t.Errorf("%s: zero targets %d, want %d", c.Name, got.ZeroTargets, c.ZeroTargets)
		}
	}
}
