package profile

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"driftwatch/dataset"
	"driftwatch/multivariate"
)

// multivariateTable is testTable plus two numeric columns correlated with x
// and a constant one.
func multivariateTable(n int) *dataset.Table {
	t := testTable(n, 3)
	r := rand.New(rand.NewPCG(4, 5))
	y := &dataset.Column{Name: "y", Kind: dataset.KindNumeric, Num: make([]float64, n)}
	z := &dataset.Column{Name: "z", Kind: dataset.KindNumeric, Num: make([]float64, n)}
	k := &dataset.Column{Name: "k", Kind: dataset.KindNumeric, Num: make([]float64, n)}
	x := t.Columns[0].Num
	for i := range n {
		y.Num[i] = 2*x[i] + r.NormFloat64()
		z.Num[i] = r.NormFloat64() - x[i]
		k.Num[i] = 7
	}
	t.Columns = append(t.Columns, y, z, k)
	return t
}

func TestMultivariateBuild(t *testing.T) {
	p, err := Build(multivariateTable(2000), Options{})
	if err != nil {
		t.Fatal(err)
	}
	mv := p.Multivariate
	if mv == nil || mv.Model == nil {
		t.Fatalf("no model: %+v", mv)
	}
	var names []string
	for _, f := range mv.Model.Features {
		names = append(names, f.Name)
	}
	if strings.Join(names, ",") != "x,c,y,z" || strings.Join(mv.Model.Constant, ",") != "k" {
		t.Errorf("features %v, constant %v; want x,c,y,z and k left out", names, mv.Model.Constant)
	}
	if mv.Rows != 2000 || len(mv.Errors) != 2000 {
		t.Errorf("%d row errors for 2000 rows", len(mv.Errors))
	}
	for i, e := range mv.Errors {
		if math.IsNaN(e) || e < 0 {
			t.Fatalf("row %d error %g", i, e)
		}
	}
	if q, _ := Build(multivariateTable(100), Options{NoMultivariate: true}); q.Multivariate != nil {
		t.Error("NoMultivariate still fitted")
	}
	if q, _ := Build(testTable(100, 1), Options{}); q.Multivariate == nil || q.Multivariate.Model != nil ||
		!strings.Contains(q.Multivariate.Skipped, "fewer than two numeric features (1)") {
		t.Errorf("one numeric feature: %+v", q.Multivariate)
	}
}

// TestMultivariateRoundTrip: the model and the row errors survive the file;
// a truncated row-error block is an error, not a panic.
func TestMultivariateRoundTrip(t *testing.T) {
	p, err := Build(multivariateTable(3000), Options{})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "p.dwprof")
	if err := p.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	q, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(p.Multivariate, q.Multivariate) {
		t.Fatal("multivariate section differs after the round trip")
	}
	z := make([]float64, q.Multivariate.Model.D())
	proj := make([]float64, q.Multivariate.Model.K())
	if e := q.Multivariate.Model.RowError(z, proj); math.IsNaN(e) {
		t.Error("loaded model is not ready for RowError")
	}
	var b bytes.Buffer
	if err := p.Encode(&b); err != nil {
		t.Fatal(err)
	}
	p.Multivariate.Rows-- // header promises one row error fewer than the data holds
	var c bytes.Buffer
	if err := p.Encode(&c); err != nil {
		t.Fatal(err)
	}
	p.Multivariate.Rows++
	if _, err := Decode(c.Bytes()); err == nil || !strings.Contains(err.Error(), "row errors for 3000 rows") {
		t.Errorf("a row-error count different from the rows: %v", err)
	}
}

// TestMultivariateCorruptModel: a checksummed file whose model does not hold
// together is refused with the reason, never a panic.
func TestMultivariateCorruptModel(t *testing.T) {
	for _, c := range []struct {
		name    string
		breakIt func(m *multivariate.Model)
		want    string
	}{
		{"short component", func(m *multivariate.Model) { m.Components[0] = m.Components[0][:1] }, "component 0 has 1 values for 4 features"},
		{"zero scale", func(m *multivariate.Model) { m.Features[1].Scale = 0 }, `feature "c" has mean`},
		{"unknown kind", func(m *multivariate.Model) { m.Features[0].Kind = "text" }, `feature "x" has unknown kind "text"`},
		{"too many components", func(m *multivariate.Model) {
			for len(m.Components) <= 4 {
				m.Components = append(m.Components, m.Components[0])
				m.Explained = append(m.Explained, 0)
			}
		}, "components"},
		{"short centre", func(m *multivariate.Model) { m.Center = m.Center[:2] }, "centre of 2 values"},
		{"one feature", func(m *multivariate.Model) { m.Features = m.Features[:1] }, "model has 1 features"},
	} {
		p, err := Build(multivariateTable(300), Options{})
		if err != nil {
			t.Fatal(err)
		}
		c.breakIt(p.Multivariate.Model)
		var b bytes.Buffer
		if err := p.Encode(&b); err != nil {
			t.Fatal(err)
		}
		if _, err := Decode(b.Bytes()); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v, want %q", c.name, err, c.want)
		}
	}
}

// TestMultivariateHugeRowCount: a header promising more row errors than any
// file holds is truncation, not an allocation.
func TestMultivariateHugeRowCount(t *testing.T) {
	p, err := Build(multivariateTable(100), Options{})
	if err != nil {
		t.Fatal(err)
	}
	errs := p.Multivariate.Errors
	p.Multivariate.Rows = 1 << 61
	js, err := p.header()
	if err != nil {
		t.Fatal(err)
	}
	p.Multivariate.Rows = len(errs)
	var b bytes.Buffer
	if err := p.encode(&b, js); err != nil {
		t.Fatal(err)
	}
	if _, err := Decode(b.Bytes()); err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("err %v, want truncated", err)
	}
}

// TestHugeStoredCount: the same for a feature's stored values (n·8 would
// wrap around).
func TestHugeStoredCount(t *testing.T) {
	p, err := Build(testTable(100, 1), Options{})
	if err != nil {
		t.Fatal(err)
	}
	h := header{Profile: *p, Stored: []int{1 << 61, 0}}
	js, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := p.encode(&b, js); err != nil {
		t.Fatal(err)
	}
	if _, err := Decode(b.Bytes()); err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("err %v, want truncated", err)
	}
}
