package calibrate

import (
	"encoding/json"
	"math"
	"os"
	"testing"
	"time"

	"driftwatch/vocab"
)

// Every row of the README's power table (calibrate/testdata/power.json,
// written by `go run ./calibrate/cmd/power -json ...` with the Markdown the
// README shows) reproduces on a new seed with fewer simulations: each
// detection share within four binomial standard errors of the difference,
// and the table's median time to detect inside the new run's distribution-
// free 3-sigma interval for the median.
func TestPowerTableReproduces(t *testing.T) {
	data, err := os.ReadFile("testdata/power.json")
	if err != nil {
		t.Fatal(err)
	}
	var table Table
	if err := json.Unmarshal(data, &table); err != nil {
		t.Fatal(err)
	}
	p, err := TableModel(table.Options)
	if err != nil {
		t.Fatal(err)
	}
	sims := 400
	if testing.Short() {
		sims = 150
	}
	rows := 0
	for _, w := range table.Windows {
		p.Calibration = w.Calibration
		for _, want := range w.Rows {
			rows++
			got, err := MeasurePower(p, &w.Calibration.Levels[0], want.Feature, want.Shift, PowerOptions{Sims: sims, Seed: 77})
			if err != nil {
				t.Fatal(err)
			}
			for stat, a := range want.WithinWindow {
				b := got.WithinWindow[stat]
				n1, n2 := float64(want.Sims), float64(sims)
				pool := (a*n1 + b*n2) / (n1 + n2)
				se := math.Sqrt(pool*(1-pool)*(1/n1+1/n2)) + 1/n2
				if math.Abs(a-b) > 4*se {
					t.Errorf("%d events, %s, %s: within one window %.3f in the table, %.3f now (se %.3f)", w.Events, want.Shift, stat, a, b, se)
				}
			}
			half := 3 * math.Sqrt(float64(sims)) / 2
			lo := got.Times[max(0, int(math.Floor(float64(sims)/2-half)))]
			hi := got.Times[min(sims-1, int(math.Ceil(float64(sims)/2+half)))]
			if want.Median < lo || want.Median > hi {
				t.Errorf("%d events, %s: median time to detect %s in the table, now in [%s, %s]", w.Events, want.Shift, want.Median, show(lo), show(hi))
			}
		}
	}
	if rows != 15 {
		t.Fatalf("the table has %d rows, want 3 windows × 5 shifts", rows)
	}
}

func show(d time.Duration) string {
	if d == time.Duration(math.MaxInt64) {
		return "never"
	}
	return d.String()
}

func TestShifts(t *testing.T) {
	p, err := Synthetic(1, 1, 100000, 3)
	if err != nil {
		t.Fatal(err)
	}
	for _, stats := range [][]vocab.Statistic{{vocab.PSI}, {vocab.PSI, vocab.KS}} {
		x := newFeature(p.Features[0], 0, stats, 1000, NullReference)
		// A mean shift of one σ moves the median bin by about a third of
		// the mass; with or without the values (uniform within fine bins)
		// the shifted shares agree.
		q, err := x.shifted(Shift{Kind: "mean", Size: 1})
		if err != nil {
			t.Fatal(err)
		}
		sample := p.Features[0].Sample
		p.Features[0].Sample = nil
		u, err := x.shifted(Shift{Kind: "mean", Size: 1})
		p.Features[0].Sample = sample
		if err != nil {
			t.Fatal(err)
		}
		below := func(v []float64) float64 { // share below the reference median
			s := 0.0
			for _, c := range v[:len(v)/2] {
				s += c
			}
			return s
		}
		// Φ(−1) = 0.1587 of a N(1, 1) lies below 0.
		if math.Abs(below(q)-0.1587) > 0.005 || math.Abs(below(u)-below(q)) > 0.005 {
			t.Errorf("%v: shifted share below the median %.4f (values), %.4f (bins)", stats, below(q), below(u))
		}
	}
	c := newFeature(p.Features[1], 1, []vocab.Statistic{vocab.PSI}, 1000, NullReference)
	q, err := c.shifted(Shift{Kind: "share", Category: "b", Size: 0.05})
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, x := range q {
		sum += x
	}
	if math.Abs(q[1]-c.prob[1]-0.05) > 1e-12 || math.Abs(sum-1) > 1e-12 || math.Abs(q[0]/q[2]-c.prob[0]/c.prob[2]) > 1e-12 {
		t.Errorf("share shift %v from %v", q, c.prob)
	}
}
