package detectors

import (
	"math"
	"strings"
	"testing"

	"driftwatch/dataset"
	"driftwatch/profile"
)

func mvTable(n int, seed uint64) *dataset.Table {
	a := normal(n, 0, 1, seed)
	b, c := normal(n, 0, 0.3, seed+1), normal(n, 0, 0.5, seed+2)
	for i := range a {
		b[i] += a[i]
		c[i] -= a[i]
	}
	return &dataset.Table{Rows: n, Columns: []*dataset.Column{numCol("a", a), numCol("b", b), numCol("c", c)}}
}

func TestCompareMultivariateNotes(t *testing.T) {
	ref, cur := mvTable(6000, 1), mvTable(500, 10)
	cfg := DefaultConfig()
	f := func(p *profile.Profile, cfg Config, ch Chunking, wantNote string, wantSection bool) *Report {
		t.Helper()
		r := Compare(p, cur, cfg)
		if err := CompareMultivariate(r, p, cur, cfg, ch); err != nil {
			t.Fatal(err)
		}
		if (r.Multivariate != nil) != wantSection {
			t.Fatalf("section %+v, want present %v", r.Multivariate, wantSection)
		}
		if wantNote == "" && len(r.Notes) != 0 || wantNote != "" && (len(r.Notes) != 1 || !strings.Contains(r.Notes[0], wantNote)) {
			t.Fatalf("notes %q, want one containing %q", r.Notes, wantNote)
		}
		return r
	}
	p, err := profile.Build(ref, profile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := f(p, cfg, Chunking{}, "", true)
	// 6000 reference rows in chunks of the current 500: twelve, all full.
	if len(r.Multivariate.ReferenceChunks) != 12 || r.Chunks != nil || math.IsNaN(float64(r.Multivariate.UpperThreshold)) {
		t.Fatalf("implicit chunking: %+v", r.Multivariate)
	}
	// Four reference chunks: the thresholds stand, with the chance alert
	// rate noted (10% at 3σ); explicit chunking follows NannyML silently.
	few, _ := profile.Build(mvTable(2000, 1), profile.Options{})
	f(few, cfg, Chunking{}, "from only 4 reference chunks of the current data's 500 rows; data without drift falls outside them about 10% of the time", true)
	f(few, cfg, Chunking{Size: 500}, "", true)
	// A profile from before the section.
	old, _ := profile.Build(ref, profile.Options{NoMultivariate: true})
	f(old, cfg, Chunking{}, "has no multivariate model", false)
	// Disabled: nothing, not even a note; chunks still listed.
	off := cfg
	off.Multivariate.Enabled = false
	if r := f(p, off, Chunking{Count: 5}, "", false); len(r.Chunks) != 5 {
		t.Fatalf("%d chunks, want 5", len(r.Chunks))
	}
	// A model feature the check ignores.
	ign := cfg
	ign.Features = map[string]FeatureConfig{"b": {Ignore: true}}
	f(p, ign, Chunking{}, "includes b, which this check ignores", true)
	// Chunkings the rows cannot make are errors.
	if err := CompareMultivariate(Compare(p, cur, cfg), p, cur, cfg, Chunking{Count: 501}); err == nil {
		t.Error("501 chunks of 500 rows accepted")
	}
}
