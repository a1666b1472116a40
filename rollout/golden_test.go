package rollout

import (
	"encoding/json"
	"math"
	"os"
	"testing"
)

// Golden values come from testdata/rollout/gen_rollout.py (scipy 1.10,
// statsmodels 0.13, scikit-learn 1.2): statsmodels' Agresti–Caffo test
// and Wilson interval, scikit-learn's AUC and F1, and, where no library
// has the statistic, an independent route to it (the mixture p-value by
// numerical integration, DeLong by midranks on the expanded sample, the
// F1 variance from a numerical gradient).
type golden struct {
	Proportions []struct {
		XC, NC, XS, NS   float64
		Ratio, Tolerance float64
		Higher           bool
		Z                float64
	}
	Mixture []struct {
		Level, Rho, T, Z, P, Boundary float64
	}
	AUC []struct {
		Hist          []float64
		AUC, Variance float64
	}
	F1 []struct {
		TP, FP, FN, TN, F1, Variance float64
	}
	Regression []struct {
		Errors       []float64
		MAE, RMSE    float64
		MAEVariance  float64 `json:"mae_variance"`
		RMSEVariance float64 `json:"rmse_variance"`
	}
	Wilson []struct {
		Agree, N, Alpha, Low, High float64
	}
}

func readGolden(t *testing.T) golden {
	data, err := os.ReadFile("../testdata/rollout/golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g golden
	if err := json.Unmarshal(data, &g); err != nil {
		t.Fatal(err)
	}
	return g
}

// near: relative error within tol, or both within tol of 0 in absolute
// terms where the value is tiny.
func near(got, want, tol float64) bool {
	return got == want || math.Abs(got-want) <= tol*math.Max(math.Abs(want), 1e-300) || math.Abs(got-want) <= tol*1e-3
}

func TestGolden(t *testing.T) {
	g := readGolden(t)
	if len(g.Proportions) == 0 || len(g.Mixture) == 0 || len(g.AUC) == 0 || len(g.F1) == 0 || len(g.Regression) == 0 || len(g.Wilson) == 0 {
		t.Fatal("golden file lacks a section")
	}
	for _, c := range g.Proportions {
		m, s, c2 := Accuracy, Arm{Joined: c.NS, Correct: c.XS}, Arm{Joined: c.NC, Correct: c.XC}
		if !c.Higher {
			m, s, c2 = ErrorRate, Arm{Events: c.NS, Errors: c.XS}, Arm{Events: c.NC, Errors: c.XC}
		}
		got := compareOne(Criterion{Metric: m, Tolerance: c.Tolerance, Ratio: c.Ratio}, &s, &c2, 1).Z
		if !near(got, c.Z, 1e-12) {
			t.Errorf("%s %g/%g vs %g/%g ratio %g tolerance %g: z %.17g, want %.17g", m, c.XC, c.NC, c.XS, c.NS, c.Ratio, c.Tolerance, got, c.Z)
		}
	}
	for _, c := range g.Mixture {
		rho := mixtureRho(c.Level)
		if !near(rho, c.Rho, 1e-13) {
			t.Errorf("level %g: rho %.17g, want %.17g", c.Level, rho, c.Rho)
		}
		if p := mixtureP(c.Z, c.T, c.Rho); !near(p, c.P, 1e-12) {
			t.Errorf("z %g t %g rho %g: p %.17g, want %.17g", c.Z, c.T, c.Rho, p, c.P)
		}
		if z := mixtureZ(c.Level, c.T, c.Rho); !near(z, c.Boundary, 1e-12) {
			t.Errorf("level %g t %g: boundary %.17g, want %.17g", c.Level, c.T, z, c.Boundary)
		}
	}
	for _, c := range g.AUC {
		e := aucEstimate(c.Hist)
		if !near(e.value, c.AUC, 1e-12) || !near(e.variance, c.Variance, 1e-12) {
			t.Errorf("AUC %.17g ± var %.17g, want %.17g ± %.17g", e.value, e.variance, c.AUC, c.Variance)
		}
	}
	for _, c := range g.F1 {
		e := f1Estimate(c.TP, c.FP, c.FN, c.TP+c.FP+c.FN+c.TN)
		// The numerical gradient is good to about 1e-9.
		if !near(e.value, c.F1, 1e-12) || !near(e.variance, c.Variance, 1e-8) {
			t.Errorf("TP %g FP %g FN %g: F1 %.17g var %.17g, want %.17g, %.17g", c.TP, c.FP, c.FN, e.value, e.variance, c.F1, c.Variance)
		}
	}
	for _, c := range g.Regression {
		var a Arm
		for _, e := range c.Errors {
			a.Joined++
			a.AbsErr += math.Abs(e)
			a.SqErr += e * e
			a.QuadErr += e * e * e * e
		}
		mae, rmse := estimateOf(MAE, &a), estimateOf(RMSE, &a)
		if !near(mae.value, c.MAE, 1e-12) || !near(mae.variance, c.MAEVariance, 1e-12) || !near(rmse.value, c.RMSE, 1e-12) || !near(rmse.variance, c.RMSEVariance, 1e-12) {
			t.Errorf("%d errors: MAE %.17g var %.17g, RMSE %.17g var %.17g; want %.17g %.17g %.17g %.17g",
				len(c.Errors), mae.value, mae.variance, rmse.value, rmse.variance, c.MAE, c.MAEVariance, c.RMSE, c.RMSEVariance)
		}
	}
	for _, c := range g.Wilson {
		a := Agreement{Pairs: c.N, Classified: c.N, Agree: c.Agree}
		s := a.Summary(c.Alpha)
		if !near(s.RateLow, c.Low, 1e-12) || !near(s.RateHigh, c.High, 1e-12) {
			t.Errorf("%g of %g at alpha %g: [%.17g, %.17g], want [%.17g, %.17g]", c.Agree, c.N, c.Alpha, s.RateLow, s.RateHigh, c.Low, c.High)
		}
	}
}
