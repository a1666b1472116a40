package monitor

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"driftwatch/dataset"
	"driftwatch/detectors"
	"driftwatch/profile"
	"driftwatch/stats"
	"driftwatch/window"
)

// catTable draws n events: a numeric x and a categorical c whose values
// are the reference's a…e, or with probability pUnseen one of unseen.
func catTable(n int, seed uint64, pUnseen float64, unseen []string) *dataset.Table {
	r := rand.New(rand.NewPCG(seed, 11))
	x := &dataset.Column{Name: "x", Kind: dataset.KindNumeric, Num: make([]float64, n)}
	c := &dataset.Column{Name: "c", Kind: dataset.KindCategorical, Str: make([]string, n), Null: make([]bool, n)}
	for i := range n {
		x.Num[i] = r.NormFloat64()
		if len(unseen) > 0 && r.Float64() < pUnseen {
			c.Str[i] = unseen[r.IntN(len(unseen))]
		} else {
			c.Str[i] = string(rune('a' + r.IntN(5)))
		}
		if i%37 == 0 {
			c.Str[i], c.Null[i] = "", true
			c.Nulls++
		}
	}
	return &dataset.Table{Rows: n, Columns: []*dataset.Column{x, c}}
}

func catNames(prefix string, k int) []string {
	out := make([]string, k)
	for i := range out {
		out[i] = fmt.Sprintf("%s%02d", prefix, i)
	}
	return out
}

func concat(ts ...*dataset.Table) *dataset.Table {
	out := &dataset.Table{Columns: []*dataset.Column{
		{Name: "x", Kind: dataset.KindNumeric}, {Name: "c", Kind: dataset.KindCategorical},
	}}
	for _, t := range ts {
		out.Rows += t.Rows
		out.Columns[0].Num = append(out.Columns[0].Num, t.Columns[0].Num...)
		out.Columns[1].Str = append(out.Columns[1].Str, t.Columns[1].Str...)
		out.Columns[1].Null = append(out.Columns[1].Null, t.Columns[1].Null...)
		out.Columns[1].Nulls += t.Columns[1].Nulls
	}
	return out
}

func catStats(t *testing.T, ev Evaluation) FeatureStats {
	t.Helper()
	for _, f := range ev.Features {
		if f.Name == "c" {
			return f
		}
	}
	t.Fatal("no feature c")
	return FeatureStats{}
}

// sameChiSquare asserts the stream's chi-square is `check`'s bit for bit:
// statistic, degrees of freedom and p-value, and the unseen categories.
func sameChiSquare(t *testing.T, what string, prof *profile.Profile, cur *dataset.Table, fs FeatureStats) {
	t.Helper()
	rep := detectors.Compare(prof, cur, detectors.DefaultConfig())
	var want detectors.FeatureResult
	for _, f := range rep.Features {
		if f.Name == "c" {
			want = f
		}
	}
	s := want.Statistics.ChiSquare
	if fs.ChiSquare != float64(s.Statistic) || fs.ChiSquareDOF != s.DOF || fs.ChiSquareP != float64(s.PValue) {
		t.Fatalf("%s: stream chi-square %v dof %d p %v, check %v %d %v", what, fs.ChiSquare, fs.ChiSquareDOF, fs.ChiSquareP, s.Statistic, s.DOF, s.PValue)
	}
	if !slices.Equal(fs.UnseenCategories, want.DataQuality.UnseenCategories) || fs.UnseenOverflow != 0 {
		t.Fatalf("%s: unseen %v (overflow %v), check %v", what, fs.UnseenCategories, fs.UnseenOverflow, want.DataQuality.UnseenCategories)
	}
	if fs.PSI != float64(want.Statistics.PSI.Value) || fs.JS != float64(want.Statistics.JensenShannon.Value) {
		t.Fatalf("%s: PSI %v JS %v, check %v %v", what, fs.PSI, fs.JS, want.Statistics.PSI.Value, want.Statistics.JensenShannon.Value)
	}
}

func refProfile(t *testing.T) *profile.Profile {
	t.Helper()
	prof, err := profile.Build(catTable(5000, 1, 0, nil), profile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return prof
}

var tu = time.Unix(1_800_000_000, 0)

// Several unseen categories, each its own column: the stream's chi-square
// equals `check`'s on the same events bit for bit, dof and p included.
func TestStreamChiSquareSeveralUnseenEqualsCheck(t *testing.T) {
	prof := refProfile(t)
	for _, k := range []int{1, 5, MaxUnseen} {
		cur := catTable(6000, uint64(k)+2, 0.2, catNames("new", k))
		v, _ := NewWindow(prof, time.Hour, time.Minute, 5*time.Minute)
		v.AddBatch(batchOf(cur, tu, 50*time.Minute))
		fs := catStats(t, v.Evaluate(1e-4))
		if len(fs.UnseenCategories) != k {
			t.Fatalf("%d unseen: kept %v", k, fs.UnseenCategories)
		}
		sameChiSquare(t, fmt.Sprintf("%d unseen", k), prof, cur, fs)
	}
}

// Beyond MaxUnseen the rest share the overflow column: the statistic is
// still check's (to rounding), the degrees of freedom are fewer by the
// overflow's distinct categories − 1, and p follows that dof.
func TestStreamChiSquareOverflow(t *testing.T) {
	prof := refProfile(t)
	const extra = 9
	cur := catTable(8000, 3, 0.3, catNames("new", MaxUnseen+extra))
	v, _ := NewWindow(prof, time.Hour, time.Minute, 5*time.Minute)
	v.AddBatch(batchOf(cur, tu, 50*time.Minute))
	fs := catStats(t, v.Evaluate(1e-4))
	want := detectors.Compare(prof, cur, detectors.DefaultConfig()).Features[1].Statistics.ChiSquare
	if len(fs.UnseenCategories) != MaxUnseen || fs.UnseenOverflow == 0 {
		t.Fatalf("kept %d unseen, overflow %v", len(fs.UnseenCategories), fs.UnseenOverflow)
	}
	if fs.ChiSquareDOF != want.DOF-(extra-1) {
		t.Fatalf("dof %d, check %d: the overflow holds %d categories as one column", fs.ChiSquareDOF, want.DOF, extra)
	}
	if math.Abs(fs.ChiSquare-float64(want.Statistic)) > 1e-9*fs.ChiSquare || fs.ChiSquareP != stats.ChiSquareSF(fs.ChiSquare, fs.ChiSquareDOF) {
		t.Fatalf("chi-square %v p %v, check %v", fs.ChiSquare, fs.ChiSquareP, want.Statistic)
	}
	// Every unseen value is counted, in a slot or the overflow.
	kept := 0.0
	for _, c := range cur.Columns[1].Str {
		if slices.Contains(fs.UnseenCategories, c) {
			kept++
		}
	}
	if kept+fs.UnseenOverflow != fs.UnseenShare*fs.Values {
		t.Fatalf("kept %v + overflow %v, unseen values %v", kept, fs.UnseenOverflow, fs.UnseenShare*fs.Values)
	}
}

// A slot is freed once its category has left the window, so the cap is
// per window: new categories after the old ones expired get columns.
func TestStreamUnseenSlotsFreedAsTheWindowSlides(t *testing.T) {
	prof := refProfile(t)
	v, _ := NewWindow(prof, 10*time.Minute, time.Minute, time.Minute)
	v.AddBatch(batchOf(catTable(3000, 4, 0.5, catNames("old", MaxUnseen)), tu, 2*time.Minute))
	// Still in the window: no slot is free, new ones overflow.
	mid := catTable(500, 5, 0.5, catNames("mid", 3))
	v.AddBatch(batchOf(mid, tu.Add(5*time.Minute), time.Minute))
	if fs := catStats(t, v.Evaluate(1e-4)); fs.UnseenOverflow == 0 || len(fs.UnseenCategories) != MaxUnseen {
		t.Fatalf("while the old categories are in the window: kept %d, overflow %v", len(fs.UnseenCategories), fs.UnseenOverflow)
	}
	// 14 min: the window is [5, 15) min; the old categories' panes left.
	late := catTable(2000, 6, 0.3, catNames("new", 6))
	v.AddBatch(batchOf(late, tu.Add(14*time.Minute), time.Minute))
	fs := catStats(t, v.Evaluate(1e-4))
	if len(fs.UnseenCategories) != 6 || fs.UnseenOverflow == 0 {
		t.Fatalf("after sliding: kept %v, overflow %v (mid's overflow stays until it leaves)", fs.UnseenCategories, fs.UnseenOverflow)
	}
	// Once the overflowed events leave too, the window equals check.
	late2 := catTable(2000, 7, 0.3, catNames("new", 6))
	v.AddBatch(batchOf(late2, tu.Add(16*time.Minute), time.Minute))
	sameChiSquare(t, "after the overflow left", prof, concat(late, late2), catStats(t, v.Evaluate(1e-4)))
}

// Partitions number their slots by arrival; Merge adds them by name, so
// the merged window equals check on all events.
func TestMergeUnseenByName(t *testing.T) {
	prof := refProfile(t)
	a := catTable(3000, 8, 0.2, catNames("new", 10))
	rev := catNames("new", 14)
	slices.Reverse(rev)
	b := catTable(3000, 9, 0.2, rev)
	va, _ := NewWindow(prof, time.Hour, time.Minute, 5*time.Minute)
	vb, _ := NewWindow(prof, time.Hour, time.Minute, 5*time.Minute)
	va.AddBatch(batchOf(a, tu, 30*time.Minute))
	vb.AddBatch(batchOf(b, tu, 30*time.Minute))
	sameChiSquare(t, "merged", prof, concat(a, b), catStats(t, Merge([]*Window{va, vb}, 1e-4)))
}

// A checkpoint carries the slots: the restored version evaluates the same
// and puts the same categories in the same slots afterwards.
func TestUnseenSlotsSurviveCheckpoint(t *testing.T) {
	prof := refProfile(t)
	first := catTable(3000, 10, 0.2, catNames("new", 12))
	v, _ := NewWindow(prof, time.Hour, time.Minute, 5*time.Minute)
	v.AddBatch(batchOf(first, tu, 20*time.Minute))
	state := v.AppendState(nil)
	w, _ := NewWindow(prof, time.Hour, time.Minute, 5*time.Minute)
	if rest, err := w.RestoreState(append(state, 0xAB)); err != nil || !slices.Equal(rest, []byte{0xAB}) {
		t.Fatalf("restore: %v, rest %x", err, rest)
	}
	sameChiSquare(t, "restored", prof, first, catStats(t, w.Evaluate(1e-4)))
	second := catTable(3000, 11, 0.2, catNames("new", MaxUnseen))
	w.AddBatch(batchOf(second, tu.Add(25*time.Minute), 20*time.Minute))
	sameChiSquare(t, "restored and continued", prof, concat(first, second), catStats(t, w.Evaluate(1e-4)))
	for _, cut := range []int{1, 4} {
		x, _ := NewWindow(prof, time.Hour, time.Minute, 5*time.Minute)
		if _, err := x.RestoreState(state[:len(state)-cut]); err == nil {
			t.Fatalf("state without its last %d bytes accepted", cut)
		}
	}
}

// legacyPane is a pane in the layout before unseen slots (categories + one
// unseen counter), written independently of fromLegacy.
func legacyPane(v *Window, pane []float64) []float64 {
	out := slices.Clone(pane[:firstFeatureCounter])
	for _, pf := range v.Profile.Features {
		for _, f := range append(slices.Clone(v.numeric), v.category...) {
			if f.ref != pf {
				continue
			}
			if pf.Kind == profile.Numeric {
				out = append(out, pane[f.off:f.off+f.bins+4]...)
				continue
			}
			out = append(out, pane[f.off:f.off+len(pf.Categories)]...)
			out = append(out, sumOf(pane[f.off+len(pf.Categories):f.off+f.bins]))
			out = append(out, pane[f.nulls:f.nulls+3]...)
		}
	}
	return out
}

// A checkpoint written before unseen slots restores: every count is kept,
// the unseen ones in the overflow.
func TestRestoreLegacyState(t *testing.T) {
	prof := refProfile(t)
	cur := catTable(3000, 12, 0.2, catNames("new", 4))
	v, _ := NewWindow(prof, time.Hour, time.Minute, 5*time.Minute)
	v.AddBatch(batchOf(cur, tu, 30*time.Second)) // one pane
	old := legacyPane(v, v.ring.Pane(tu.UnixMilli()))
	ring, err := window.New(time.Hour, time.Minute, 5*time.Minute, len(old))
	if err != nil {
		t.Fatal(err)
	}
	copy(ring.Pane(tu.UnixMilli()), old)
	state := ring.AppendState([]byte{0, 0}) // late 0, seq 0

	w, _ := NewWindow(prof, time.Hour, time.Minute, 5*time.Minute)
	if _, err := w.RestoreState(state); err != nil {
		t.Fatal(err)
	}
	want, got := catStats(t, v.Evaluate(1e-4)), catStats(t, w.Evaluate(1e-4))
	if got.PSI != want.PSI || got.Values != want.Values || got.NullRate != want.NullRate || got.UnseenShare != want.UnseenShare ||
		got.UnseenOverflow != want.UnseenShare*want.Values || len(got.UnseenCategories) != 0 {
		t.Fatalf("legacy restore: %+v, want the counts of %+v", got, want)
	}
	wx, gx := v.Evaluate(1e-4).Features[0], w.Evaluate(1e-4).Features[0]
	if wx.PSI != gx.PSI || wx.KS != gx.KS || wx.Values != gx.Values {
		t.Fatalf("numeric feature after legacy restore: %+v vs %+v", gx, wx)
	}
}

func sumOf(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s
}

// Once its unseen categories have slots (or overflow), a batch allocates
// nothing.
func TestAddBatchWithUnseenAllocatesNothing(t *testing.T) {
	prof := refProfile(t)
	v, _ := NewWindow(prof, time.Hour, time.Minute, time.Hour)
	b := batchOf(catTable(2000, 13, 0.3, catNames("new", MaxUnseen+5)), tu, time.Minute)
	v.AddBatch(b)
	if a := testing.AllocsPerRun(20, func() { v.AddBatch(b) }); a != 0 {
		t.Fatalf("%v allocs per batch", a)
	}
}

// The golden case of 3,000 zip codes drawn from one distribution on both
// sides (testdata/golden/gen_golden.py, 32 zip codes only in the current
// data) through the stream: scipy's chi2_contingency statistic, dof and
// p-value, no drift.
func TestStreamZipCodesMatchScipy(t *testing.T) {
	data, err := os.ReadFile("../testdata/golden/golden.json")
	if err != nil {
		t.Fatal(err)
	}
	type spec struct {
		N      int
		Seed   uint64
		Scale  float64
		Prefix string
		Square bool
	}
	var g struct {
		CheckCategorical []struct {
			Name     string
			Ref, Cur spec
			Chi2, P  float64
			DOF      int
		} `json:"check_categorical"`
	}
	if err := json.Unmarshal(data, &g); err != nil {
		t.Fatal(err)
	}
	// gen_golden.py's lcg() and categories().
	column := func(s spec) *dataset.Column {
		c := &dataset.Column{Name: "c", Kind: dataset.KindCategorical}
		st := s.Seed
		for range s.N {
			st = st*6364136223846793005 + 1442695040888963407
			u := float64(st>>11) / 9007199254740992.0
			if s.Square {
				u = u * u
			}
			c.Str = append(c.Str, s.Prefix+strconv.Itoa(int(math.Floor(u*s.Scale*1e4)/1e4)))
		}
		return c
	}
	found := false
	for _, c := range g.CheckCategorical {
		if c.Name != "zip_3000_same" {
			continue
		}
		found = true
		prof, err := profile.Build(&dataset.Table{Rows: c.Ref.N, Columns: []*dataset.Column{column(c.Ref)}}, profile.Options{})
		if err != nil {
			t.Fatal(err)
		}
		cur := &dataset.Table{Rows: c.Cur.N, Columns: []*dataset.Column{column(c.Cur)}}
		v, _ := NewWindow(prof, time.Hour, time.Minute, 5*time.Minute)
		v.AddBatch(&Batch{TS: make([]int64, c.Cur.N), Cat: [][]string{cur.Columns[0].Str}, CatNull: [][]bool{nil}})
		fs := v.Evaluate(1e-4).Features[0]
		if fs.ChiSquareDOF != c.DOF || math.Abs(fs.ChiSquare-c.Chi2) > 1e-9*c.Chi2 || math.Abs(fs.ChiSquareP-c.P) > 1e-6*c.P || fs.ChiSquareP < 0.05 {
			t.Fatalf("stream chi-square %v dof %d p %v, scipy %v %d %v", fs.ChiSquare, fs.ChiSquareDOF, fs.ChiSquareP, c.Chi2, c.DOF, c.P)
		}
		rep := detectors.Compare(prof, cur, detectors.DefaultConfig())
		if s := rep.Features[0].Statistics.ChiSquare; fs.ChiSquare != float64(s.Statistic) || fs.ChiSquareP != float64(s.PValue) {
			t.Fatalf("stream %v %v, check %v %v", fs.ChiSquare, fs.ChiSquareP, s.Statistic, s.PValue)
		}
	}
	if !found {
		t.Fatal("golden.json has no zip_3000_same case")
	}
}
