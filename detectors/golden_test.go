package detectors

import (
	"encoding/json"
	"math"
	"os"
	"strconv"
	"testing"

	"driftwatch/dataset"
)

// Golden values from testdata/golden/gen_golden.py (scipy 1.10).
type checkGolden struct {
	CheckCategorical []struct {
		Name     string
		Ref, Cur catSpec
		Chi2, P  float64
		DOF      int
		Unseen   int
	} `json:"check_categorical"`
	CheckBinary []struct {
		Name     string
		Ref, Cur binarySpec
		Z, P     float64
	} `json:"check_binary"`
	Huge []struct {
		Name       string
		Ref, Cur   []float64
		Std        float64
		Normalized float64
	}
}

// lcg is gen_golden.py's lcg(): exact integer steps and correctly rounded
// float operations, so Go draws the same values.
func lcg(n int, seed uint64, scale float64, square bool) []float64 {
	out := make([]float64, n)
	st := seed
	for i := range out {
		st = st*6364136223846793005 + 1442695040888963407
		u := float64(st>>11) / 9007199254740992.0
		if square {
			u = u * u
		}
		out[i] = math.Floor(u*scale*1e4) / 1e4
	}
	return out
}

type catSpec struct {
	N      int
	Seed   uint64
	Scale  float64
	Prefix string
	Square bool
}

func (s catSpec) column() *dataset.Column {
	c := &dataset.Column{Name: "c", Kind: dataset.KindCategorical}
	for _, x := range lcg(s.N, s.Seed, s.Scale, s.Square) {
		c.Str = append(c.Str, s.Prefix+strconv.Itoa(int(x)))
	}
	return c
}

type binarySpec struct {
	N     int
	Seed  uint64
	Share float64
}

func (s binarySpec) column() *dataset.Column {
	c := &dataset.Column{Name: "b", Kind: dataset.KindCategorical}
	for _, x := range lcg(s.N, s.Seed, 1, false) {
		v := "no"
		if x < s.Share {
			v = "yes"
		}
		c.Str = append(c.Str, v)
	}
	return c
}

func loadCheckGolden(t *testing.T) *checkGolden {
	t.Helper()
	data, err := os.ReadFile("../testdata/golden/golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g checkGolden
	if err := json.Unmarshal(data, &g); err != nil {
		t.Fatal(err)
	}
	if len(g.CheckCategorical) == 0 || len(g.CheckBinary) == 0 || len(g.Huge) == 0 {
		t.Fatal("golden.json lacks the check cases")
	}
	return &g
}

func nearRel(t *testing.T, what string, got, want, rel float64) {
	t.Helper()
	if got == want || math.Abs(got-want) <= rel*math.Abs(want) {
		return
	}
	t.Errorf("%s: got %.17g, want %.17g", what, got, want)
}

// Chi-square on `check`'s categorical features is scipy's chi2_contingency
// on the table of categories: every category the reference never had is a
// column of its own, so the degrees of freedom and p-value are scipy's. On
// 3,000 zip codes drawn from one distribution on both sides nothing drifts.
func TestGoldenChiSquareUnseenColumns(t *testing.T) {
	g := loadCheckGolden(t)
	for _, c := range g.CheckCategorical {
		ref, cur := c.Ref.column(), c.Cur.column()
		prof := mustProfile(t, ref)
		r := Compare(prof, &dataset.Table{Rows: len(cur.Str), Columns: []*dataset.Column{cur}}, DefaultConfig())
		s := r.Features[0].Statistics.ChiSquare
		nearRel(t, c.Name+" chi2", float64(s.Statistic), c.Chi2, 1e-9)
		nearRel(t, c.Name+" p", float64(s.PValue), c.P, 1e-6)
		if s.DOF != c.DOF {
			t.Errorf("%s: dof %d, want scipy's %d", c.Name, s.DOF, c.DOF)
		}
		if n := len(r.Features[0].DataQuality.UnseenCategories); n != c.Unseen {
			t.Errorf("%s: %d unseen categories listed, want %d", c.Name, n, c.Unseen)
		}
		if c.Name == "zip_3000_same" && s.Drift {
			t.Errorf("%s: chi-square p %v flags drift on one distribution", c.Name, s.PValue)
		}
	}
}

// Z is current share minus reference share: positive when the share of
// the second category rose.
func TestGoldenZSign(t *testing.T) {
	g := loadCheckGolden(t)
	for _, c := range g.CheckBinary {
		ref, cur := c.Ref.column(), c.Cur.column()
		r := Compare(mustProfile(t, ref), &dataset.Table{Rows: len(cur.Str), Columns: []*dataset.Column{cur}}, DefaultConfig())
		z := r.Features[0].Statistics.Z
		if z == nil {
			t.Fatalf("%s: no z for a binary feature", c.Name)
		}
		nearRel(t, c.Name+" z", float64(z.Statistic), c.Z, 1e-9)
		nearRel(t, c.Name+" p", float64(z.PValue), c.P, 1e-6)
	}
}

// The normalized Wasserstein of a reference holding 1e300 divides by
// numpy's std of the scaled values instead of becoming null.
func TestGoldenHugeNormalizedWasserstein(t *testing.T) {
	g := loadCheckGolden(t)
	for _, c := range g.Huge {
		prof := mustProfile(t, numCol("x", c.Ref))
		r := Compare(prof, &dataset.Table{Rows: len(c.Cur), Columns: []*dataset.Column{numCol("x", c.Cur)}}, DefaultConfig())
		w := r.Features[0].Statistics.Wasserstein
		nearRel(t, c.Name+" std", prof.Features[0].Summary.Std, c.Std, 1e-12)
		nearRel(t, c.Name+" normalized wasserstein", float64(w.Normalized), c.Normalized, 1e-9)
	}
}
