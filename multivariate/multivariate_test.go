package multivariate_test

import (
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"testing"

	"driftwatch/multivariate"
)

type goldenColumn struct {
	Name string            `json:"name"`
	Kind multivariate.Kind `json:"kind"`
	Ref  []json.RawMessage `json:"ref"`
	Cur  []json.RawMessage `json:"cur"`
}

type goldenCase struct {
	Name       string         `json:"name"`
	Variance   float64        `json:"variance"`
	Columns    []goldenColumn `json:"columns"`
	Components int            `json:"components"`
	Explained  []float64      `json:"explained_variance_ratio"`
	RefErrors  []float64      `json:"ref_errors"`
	CurErrors  []float64      `json:"cur_errors"`
}

// column turns golden values (null for missing) into a Column.
func column(t *testing.T, g goldenColumn, vals []json.RawMessage) multivariate.Column {
	t.Helper()
	c := multivariate.Column{Name: g.Name, Kind: g.Kind}
	for _, raw := range vals {
		null := string(raw) == "null"
		if g.Kind == multivariate.Numeric {
			x := math.NaN()
			if !null {
				if err := json.Unmarshal(raw, &x); err != nil {
					t.Fatal(err)
				}
			}
			c.Num = append(c.Num, x)
			continue
		}
		s := ""
		if !null {
			if err := json.Unmarshal(raw, &s); err != nil {
				t.Fatal(err)
			}
		}
		c.Cat = append(c.Cat, s)
		c.Null = append(c.Null, null)
	}
	return c
}

// TestGoldenSklearn compares the fit and every row's error with scikit-learn
// (testdata/golden.py): correlated Gaussians at two variance shares, missing
// values, and a categorical column with missing and unseen categories.
func TestGoldenSklearn(t *testing.T) {
	data, err := os.ReadFile("testdata/golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g struct{ Cases []goldenCase }
	if err := json.Unmarshal(data, &g); err != nil {
		t.Fatal(err)
	}
	if len(g.Cases) != 4 {
		t.Fatalf("%d golden cases, want 4", len(g.Cases))
	}
	for _, gc := range g.Cases {
		t.Run(gc.Name, func(t *testing.T) {
			var ref, cur []multivariate.Column
			missing := 0
			for _, c := range gc.Columns {
				ref = append(ref, column(t, c, c.Ref))
				cur = append(cur, column(t, c, c.Cur))
			}
			for i := range gc.CurErrors {
				for _, c := range cur {
					if c.Kind == multivariate.Numeric && math.IsNaN(c.Num[i]) || c.Kind == multivariate.Categorical && c.Null[i] {
						missing++
						break
					}
				}
			}
			m, err := multivariate.Fit(ref, gc.Variance)
			if err != nil {
				t.Fatal(err)
			}
			if m.K() != gc.Components {
				t.Fatalf("kept %d components, scikit-learn %d", m.K(), gc.Components)
			}
			for i, want := range gc.Explained {
				if math.Abs(m.Explained[i]-want) > 1e-10 {
					t.Errorf("ratio %d = %.15g, scikit-learn %.15g", i, m.Explained[i], want)
				}
			}
			for _, side := range []struct {
				name string
				cols []multivariate.Column
				want []float64
			}{{"reference", ref, gc.RefErrors}, {"current", cur, gc.CurErrors}} {
				errs, imputed, err := m.Errors(side.cols)
				if err != nil {
					t.Fatal(err)
				}
				if len(errs) != len(side.want) {
					t.Fatalf("%s: %d errors, want %d", side.name, len(errs), len(side.want))
				}
				for i, want := range side.want {
					if math.Abs(errs[i]-want) > 1e-9*math.Max(1, want) {
						t.Fatalf("%s row %d: error %.15g, scikit-learn %.15g", side.name, i, errs[i], want)
					}
				}
				if side.name == "current" && imputed != missing {
					t.Errorf("%d current rows imputed, %d have a missing value", imputed, missing)
				}
			}
		})
	}
}

func TestComponents(t *testing.T) {
	f := func(ratios []float64, variance float64, want int) {
		t.Helper()
		if got := multivariate.Components(ratios, variance); got != want {
			t.Errorf("Components(%v, %g) = %d, want %d", ratios, variance, got, want)
		}
	}
	f([]float64{0.5, 0.3, 0.2}, 0.65, 2)
	f([]float64{0.7, 0.2, 0.1}, 0.65, 1)
	// side="right": a cumulative share equal to the target takes one more.
	f([]float64{0.5, 0.25, 0.25}, 0.75, 3)
	f([]float64{0.5, 0.25, 0.25}, 0.5, 2)
	f([]float64{0.4, 0.3, 0.3}, 0.99, 3)
}

func TestThresholdsAndAlert(t *testing.T) {
	lo, hi := multivariate.Thresholds([]float64{1, 2, 3, math.NaN()}, 1)
	sd := math.Sqrt(2.0 / 3)
	if math.Abs(lo-(2-sd)) > 1e-15 || math.Abs(hi-(2+sd)) > 1e-15 {
		t.Errorf("thresholds %g, %g; want 2 ∓ %g (population std, NaN ignored)", lo, hi, sd)
	}
	lo, hi = multivariate.Thresholds([]float64{1, 2, 3}, 3)
	if !math.IsNaN(lo) || math.Abs(hi-(2+3*sd)) > 1e-15 {
		t.Errorf("thresholds %g, %g; want none (lower ≤ 0) and %g", lo, hi, 2+3*sd)
	}
	for _, c := range []struct {
		v, lo, hi float64
		want      bool
	}{
		{1, 0.5, 1.5, false}, {0.5, 0.5, 1.5, true}, {1.5, 0.5, 1.5, true}, {2, 0.5, 1.5, true},
		{0.1, math.NaN(), 1.5, false}, {math.NaN(), 0.5, 1.5, false},
	} {
		if got := multivariate.Alert(c.v, c.lo, c.hi); got != c.want {
			t.Errorf("Alert(%g, %g, %g) = %v, want %v", c.v, c.lo, c.hi, got, c.want)
		}
	}
}

func TestSummarize(t *testing.T) {
	s := multivariate.Summarize([]float64{1, 2, 3, 4})
	want := math.Sqrt(5.0/3) / 2
	if s.Rows != 4 || s.Value != 2.5 || math.Abs(s.SamplingError-want) > 1e-15 {
		t.Errorf("Summarize = %+v, want 4 rows, 2.5, %g", s, want)
	}
	if s := multivariate.Summarize([]float64{7}); s.Value != 7 || !math.IsNaN(s.SamplingError) {
		t.Errorf("one row: %+v, want 7 and NaN", s)
	}
}

// TestBadInput: constant and all-missing features are left out and named,
// too few features is ErrTooFewFeatures, and nothing panics.
func TestBadInput(t *testing.T) {
	n := 50
	a, b, k, e := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
	for i := range a {
		a[i] = float64(i)
		b[i] = float64(i*i%17) + 0.5*float64(i)
		k[i] = 3
		e[i] = math.NaN()
	}
	cols := []multivariate.Column{
		{Name: "a", Kind: multivariate.Numeric, Num: a},
		{Name: "const", Kind: multivariate.Numeric, Num: k},
		{Name: "b", Kind: multivariate.Numeric, Num: b},
		{Name: "empty", Kind: multivariate.Numeric, Num: e},
	}
	m, err := multivariate.Fit(cols, 0.65)
	if err != nil {
		t.Fatal(err)
	}
	if m.D() != 2 || len(m.Constant) != 2 || m.Constant[0] != "const" || m.Constant[1] != "empty" {
		t.Fatalf("features %d, constant %v; want a and b, const and empty left out", m.D(), m.Constant)
	}
	// Current data may lack the left-out columns and hold NaN anywhere.
	errs, imputed, err := m.Errors([]multivariate.Column{
		{Name: "b", Kind: multivariate.Numeric, Num: []float64{math.NaN(), 1}},
		{Name: "a", Kind: multivariate.Numeric, Num: []float64{math.NaN(), math.Inf(1)}},
	})
	if err != nil || imputed != 2 || len(errs) != 2 || !(errs[0] >= 0) || math.IsInf(errs[1], 0) {
		t.Fatalf("errors %v, imputed %d, err %v; want 2 finite rows, both imputed (NaN, +Inf)", errs, imputed, err)
	}
	// ±Inf in the reference are imputed too: the model stays finite.
	inf := append([]float64(nil), a...)
	inf[3], inf[7] = math.Inf(1), math.Inf(-1)
	mi, err := multivariate.Fit([]multivariate.Column{{Name: "a", Kind: multivariate.Numeric, Num: inf}, cols[2]}, 0.65)
	if err != nil || math.IsNaN(mi.Features[0].Mean) || math.IsInf(mi.Features[0].Impute, 0) {
		t.Fatalf("reference with ±Inf: %+v, %v", mi, err)
	}
	if _, _, err := m.Errors(cols[:1]); err == nil {
		t.Error("a missing feature gave no error")
	}
	if _, err := multivariate.Fit(cols[:2], 0.65); !errors.Is(err, multivariate.ErrTooFewFeatures) {
		t.Errorf("one usable feature: err %v, want ErrTooFewFeatures", err)
	}
	if _, err := multivariate.Fit(cols, 1); err == nil {
		t.Error("variance 1 accepted")
	}
	if _, err := multivariate.Fit([]multivariate.Column{cols[0], {Name: "short", Kind: multivariate.Numeric, Num: a[:3]}}, 0.65); err == nil {
		t.Error("columns of different lengths accepted")
	}
	bad := *m
	bad.Components = [][]float64{{1}}
	if err := bad.Validate(); err == nil {
		t.Error("a component of the wrong length validated")
	}
}

// TestMoments: panes of count, sum and sum of squares give a window's Stat as
// Summarize over the window's rows does.
func TestMoments(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	errs := make([]float64, 10000)
	for i := range errs {
		errs[i] = 1.2 + 0.4*math.Abs(rng.NormFloat64())
	}
	var panes [10]multivariate.Moments
	for i, e := range errs {
		panes[i/1000].Add(e)
	}
	var w multivariate.Moments
	for _, p := range panes[3:8] {
		w.Merge(p)
	}
	got, want := w.Stat(), multivariate.Summarize(errs[3000:8000])
	if got.Rows != want.Rows || math.Abs(got.Value-want.Value) > 1e-12*want.Value ||
		math.Abs(got.SamplingError-want.SamplingError) > 1e-9*want.SamplingError {
		t.Errorf("window %+v, rows %+v", got, want)
	}
	if s := (multivariate.Moments{}).Stat(); !math.IsNaN(s.Value) {
		t.Errorf("empty: %+v", s)
	}
	var one multivariate.Moments
	one.Add(2)
	if s := one.Stat(); s.Value != 2 || !math.IsNaN(s.SamplingError) {
		t.Errorf("one row: %+v", s)
	}
}

// TestRowErrorDirect holds RowError to ‖v − WᵀWv‖ computed term by term, on
// random rows and on rows the components nearly reproduce (where ‖v‖² − ‖Wv‖²
// cancels and RowError sums the residual instead).
func TestRowErrorDirect(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	n, d := 500, 6
	base := make([]float64, n)
	for i := range base {
		base[i] = rng.NormFloat64()
	}
	cols := make([]multivariate.Column, d)
	for j := range cols {
		x := make([]float64, n)
		for i := range x {
			x[i] = base[i]*float64(j%3) + rng.NormFloat64()
		}
		cols[j] = multivariate.Column{Name: string(rune('a' + j)), Kind: multivariate.Numeric, Num: x}
	}
	m, err := multivariate.Fit(cols, 0.65)
	if err != nil {
		t.Fatal(err)
	}
	direct := func(z []float64) float64 {
		v := make([]float64, d)
		for j := range v {
			v[j] = z[j] - m.Center[j]
		}
		r := append([]float64(nil), v...)
		for _, w := range m.Components {
			p := 0.0
			for j := range v {
				p += w[j] * v[j]
			}
			for j := range r {
				r[j] -= p * w[j]
			}
		}
		e := 0.0
		for _, x := range r {
			e += x * x
		}
		return math.Sqrt(e)
	}
	proj := make([]float64, m.K())
	for trial := range 2000 {
		z := make([]float64, d)
		if trial%2 == 0 {
			for j := range z {
				z[j] = 3 * rng.NormFloat64()
			}
		} else {
			// In the components' span, off it by 10^-(trial%9) at most.
			off := math.Pow(10, -float64(trial%9))
			copy(z, m.Center)
			for _, w := range m.Components {
				a := 3 * rng.NormFloat64()
				for j := range z {
					z[j] += a * w[j]
				}
			}
			for j := range z {
				z[j] += off * rng.NormFloat64()
			}
		}
		got, want := m.RowError(z, proj), direct(z)
		if math.Abs(got-want) > 1e-10*want+1e-15 {
			vv := 0.0
			for j := range z {
				vv += (z[j] - m.Center[j]) * (z[j] - m.Center[j])
			}
			t.Fatalf("trial %d: RowError %.17g, direct %.17g (k %d, vv %g)", trial, got, want, m.K(), vv)
		}
	}
}

// TestChanceAlertRate: exact for two chunks (1/3 at 3σ) and against a
// simulation of normal chunk values for more.
func TestChanceAlertRate(t *testing.T) {
	if r := multivariate.ChanceAlertRate(2, 3); math.Abs(r-1.0/3) > 1e-12 {
		t.Errorf("k=2: %g, want 1/3", r)
	}
	if r := multivariate.ChanceAlertRate(1, 3); !math.IsNaN(r) {
		t.Errorf("k=1: %g, want NaN", r)
	}
	rng := rand.New(rand.NewPCG(9, 10))
	for _, k := range []int{3, 5, 10} {
		const trials = 40000
		alerts := 0
		vals := make([]float64, k)
		for range trials {
			for i := range vals {
				vals[i] = rng.NormFloat64()
			}
			mean, sq := 0.0, 0.0
			for _, v := range vals {
				mean += v
			}
			mean /= float64(k)
			for _, v := range vals {
				sq += (v - mean) * (v - mean)
			}
			sd := math.Sqrt(sq / float64(k))
			if x := rng.NormFloat64(); math.Abs(x-mean) > 3*sd {
				alerts++
			}
		}
		got, want := float64(alerts)/trials, multivariate.ChanceAlertRate(k, 3)
		if se := math.Sqrt(want * (1 - want) / trials); math.Abs(got-want) > 4*se {
			t.Errorf("k=%d: simulated %g, formula %g (se %g)", k, got, want, se)
		}
	}
}
