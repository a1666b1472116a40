package profile

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"driftwatch/dataset"
	"driftwatch/stats"
)

func testTable(n int, seed uint64) *dataset.Table {
	r := rand.New(rand.NewPCG(seed, 9))
	x := &dataset.Column{Name: "x", Kind: dataset.KindNumeric, Num: make([]float64, n)}
	c := &dataset.Column{Name: "c", Kind: dataset.KindCategorical, Str: make([]string, n), Null: make([]bool, n)}
	for i := range n {
		x.Num[i] = r.NormFloat64()
		if i%50 == 0 {
			x.Num[i] = math.NaN()
			x.Nulls++
		}
		c.Str[i] = []string{"red", "green", "blue"}[r.IntN(3)]
		if i%97 == 0 {
			c.Null[i], c.Str[i] = true, ""
			c.Nulls++
		}
	}
	return &dataset.Table{Path: "mem", Rows: n, Columns: []*dataset.Column{x, c}}
}

func TestBuild(t *testing.T) {
	p, err := Build(testTable(1000, 1), Options{})
	if err != nil {
		t.Fatal(err)
	}
	x, c := p.Feature("x"), p.Feature("c")
	if x.Kind != Numeric || x.Values != 980 || len(x.Sample) != 980 || len(x.Edges) != 9 || x.Nulls != 20 {
		t.Fatalf("x: kind %s values %d edges %d nulls %d", x.Kind, x.Values, len(x.Edges), x.Nulls)
	}
	var total float64
	for _, n := range x.Counts {
		total += n
	}
	if total != 980 {
		t.Fatalf("counts sum to %g", total)
	}
	if c.Kind != Categorical || strings.Join(c.Categories, ",") != "blue,green,red" || c.CatCounts[0]+c.CatCounts[1]+c.CatCounts[2] != float64(1000-c.Nulls) {
		t.Fatalf("c: %+v", c)
	}
}

// Load's samples are views of its read buffer, placed so they are aligned
// whatever the header's length (the source name varies it).
func TestEncodeRoundTrip(t *testing.T) {
	p, err := Build(testTable(5000, 2), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, source := range []string{"m", "me", "mem", "memo", "memor", "memory", "memory1", "memory12"} {
		p.Source = source
		path := filepath.Join(t.TempDir(), "p.dwprof")
		if err := p.WriteFile(path); err != nil {
			t.Fatal(err)
		}
		q, err := Load(path)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(p, q) {
			t.Fatalf("source %q: round trip differs:\n%+v\n%+v", source, p.Features[0], q.Features[0])
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	p, _ := Build(testTable(100, 3), Options{})
	var buf bytes.Buffer
	if err := p.Encode(&buf); err != nil {
		t.Fatal(err)
	}
	good := buf.Bytes()
	f := func(name string, data []byte, want string) {
		t.Helper()
		_, err := Decode(data)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("%s: error %v, want %q", name, err, want)
		}
	}
	f("not a profile", []byte("x,y\n1,2\n3,4\n5,6\n7,8\n"), "not a driftwatch profile (bad magic)")
	flipped := bytes.Clone(good)
	flipped[len(flipped)/2] ^= 1
	f("bit flip", flipped, "checksum mismatch (file is corrupt)")
	f("truncated", good[:len(good)-9], "checksum mismatch")
	v2 := bytes.Clone(good)
	binary.LittleEndian.PutUint32(v2[8:], 2)
	f("version", v2, "unsupported profile format version 2 (want 1)")
}

// A sample of m order statistics moves the empirical CDF by at most 1/(m-1),
// so the KS statistic against it is within that bound of the exact one.
func TestSampledKSErrorBound(t *testing.T) {
	tab := testTable(200000, 4)
	full, _ := Build(tab, Options{})
	const m = 2001
	sampled, _ := Build(tab, Options{MaxSample: m})
	fx, sx := full.Feature("x"), sampled.Feature("x")
	all := slices.Clone(fx.Sample)
	slices.Sort(all)
	if !sx.Sampled() || len(sx.Sample) != m || sx.Values != fx.Values || sx.Sample[0] != all[0] || sx.Sample[m-1] != all[len(all)-1] {
		t.Fatalf("sample: %d values of %d", len(sx.Sample), sx.Values)
	}
	r := rand.New(rand.NewPCG(5, 5))
	for _, shift := range []float64{0, 0.02, 0.1, 1} {
		cur := make([]float64, 30000)
		for i := range cur {
			cur[i] = r.NormFloat64() + shift
		}
		stats.SortFloat64s(cur, nil)
		exact := stats.KSStatistic(all, cur)
		approx := stats.KSStatistic(sx.Sample, cur)
		if d := math.Abs(exact - approx); d > 1.0/(m-1) {
			t.Fatalf("shift %g: |D_exact - D_sample| = %g > %g", shift, d, 1.0/(m-1))
		}
	}
}

func FuzzDecodeProfile(f *testing.F) {
	p, _ := Build(testTable(50, 6), Options{})
	var buf bytes.Buffer
	_ = p.Encode(&buf)
	f.Add(buf.Bytes())
	mv, _ := Build(multivariateTable(40), Options{})
	buf.Reset()
	_ = mv.Encode(&buf)
	f.Add(buf.Bytes())
	f.Add([]byte("DWPROFIL\x01\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Decode(data)
		if err == nil && p == nil {
			t.Fatal("nil profile without error")
		}
	})
}

func BenchmarkLoadVsBuild(b *testing.B) {
	tab := testTable(1_000_000, 7)
	path := filepath.Join(b.TempDir(), "p.dwprof")
	p, _ := Build(tab, Options{})
	if err := p.WriteFile(path); err != nil {
		b.Fatal(err)
	}
	b.Run("build", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Build(tab, Options{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("load", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := Load(path); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// Streaming PSI equals batch PSI: the fine edges contain the PSI edges bit
// for bit, so any sample's fine counts, summed per PSI bin, are its PSI
// counts — even with repeated edges from heavy ties.
func TestFineBinsContainPSIBins(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 8))
	for _, bins := range []int{10, 7, 16} {
		x := &dataset.Column{Name: "x", Kind: dataset.KindNumeric, Num: make([]float64, 30000)}
		for i := range x.Num {
			x.Num[i] = math.Round(r.ExpFloat64()*3) / 3 // ties
		}
		p, err := Build(&dataset.Table{Rows: len(x.Num), Columns: []*dataset.Column{x}}, Options{Bins: bins})
		if err != nil {
			t.Fatal(err)
		}
		f := p.Features[0]
		for k, e := range f.Edges {
			if f.FineEdges[(k+1)*FineFactor-1] != e {
				t.Fatalf("bins %d: PSI edge %d (%v) is not fine edge %d (%v)", bins, k, e, (k+1)*FineFactor-1, f.FineEdges[(k+1)*FineFactor-1])
			}
		}
		cur := make([]float64, 5000)
		for i := range cur {
			cur[i] = math.Round(r.ExpFloat64()*3.3) / 3
		}
		coarse, fine := make([]float64, bins), make([]float64, bins*FineFactor)
		stats.Histogram(coarse, f.Edges, cur)
		stats.Histogram(fine, f.FineEdges, cur)
		summed := make([]float64, bins)
		for i, c := range fine {
			summed[i/FineFactor] += c
		}
		if !reflect.DeepEqual(coarse, summed) {
			t.Fatalf("bins %d: fine counts sum to %v, PSI counts %v", bins, summed, coarse)
		}
		if stats.PSI(f.Counts, summed, 1e-4) != stats.PSI(f.Counts, coarse, 1e-4) {
			t.Fatal("streaming PSI differs from batch PSI")
		}
	}
}
