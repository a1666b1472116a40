package service

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"driftwatch/alerting"
	"driftwatch/api"
	"driftwatch/config"
	"driftwatch/dataset"
	"driftwatch/detectors"
	"driftwatch/metrics"
	"driftwatch/monitor"
	"driftwatch/profile"
	"driftwatch/vocab"
)

// calibration is a profile's calibrated thresholds by statistic and
// feature (one level, whatever the budget).
type calibration map[vocab.Statistic]map[string]float64

func (c calibration) Threshold(stat vocab.Statistic, feature string, _ alerting.Budget) (float64, bool) {
	t, ok := c[stat][feature]
	return t, ok
}

// The verdict on the status page and in driftwatch_feature_drift uses the
// threshold the alert rules use: a `threshold: auto` rule on the deciding
// statistic replaces the configured threshold by its calibrated level.
func TestVerdictUsesCalibratedThresholds(t *testing.T) {
	prof, err := profile.Build(credit(3000, 0, 1), profile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	drift := detectors.DefaultConfig()
	drift.Test = detectors.TestPSI // PSI decides both features, at 0.2
	m := &config.Model{Name: "credit", MinSamples: 100, Drift: drift}
	rules := []alerting.Rule{
		{Name: "PSIAuto", Statistic: vocab.PSI, Feature: "income", Threshold: alerting.ThresholdAuto},
		{Name: "PSIFixed", Statistic: vocab.PSI, Critical: new(0.5)},
	}
	for i := range rules {
		if err := rules[i].Validate(nil); err != nil {
			t.Fatal(err)
		}
	}
	v := &version{name: "v1", model: &model{name: "credit"}, cfg: m, prof: prof,
		auto: calibration{vocab.PSI: {"income": 0.05, "home": 0.01}}, rules: rules}
	nan := math.NaN()
	ev := monitor.Evaluation{Features: []monitor.FeatureStats{
		{Name: "income", Kind: profile.Numeric, Values: 1000, PSI: 0.1, KS: nan, WassersteinNormalized: nan},
		// No auto rule applies to home: its configured 0.2 holds.
		{Name: "home", Kind: profile.Categorical, Values: 1000, PSI: 0.1, ChiSquareP: nan},
	}}
	got := v.verdicts(&ev)
	if d := got[0]; d.Test != vocab.PSI || d.Threshold != 0.05 || !d.Calibrated || d.State != api.StateDrift || d.PSIThreshold != 0.05 {
		t.Errorf("income: %+v, want drift at the calibrated 0.05", d)
	}
	if d := got[1]; d.Threshold != 0.2 || d.Calibrated || d.State != api.StateOK {
		t.Errorf("home: %+v, want ok at the configured 0.2", d)
	}
	// The drift chart and driftwatch_feature_drift read the same verdicts.
	v.record(time.Unix(0, 0), &ev, got)
	if n := v.history[0].Drifted; n != 1 {
		t.Errorf("history counts %d drifted features, want 1", n)
	}
	s := &Service{metrics: metrics.New(), cfg: &config.Config{}}
	s.versionMetrics(v, &ev, got, time.Time{})
	var b strings.Builder
	s.metrics.WritePrometheus(&b)
	for _, want := range []string{
		`driftwatch_feature_drift{model="credit",version="v1",feature="income"} 1`,
		`driftwatch_feature_drift{model="credit",version="v1",feature="home"} 0`,
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	// Without calibration the configured threshold holds.
	v.auto = nil
	if d := v.verdicts(&ev)[0]; d.Threshold != 0.2 || d.State != api.StateOK {
		t.Errorf("uncalibrated income: %+v", d)
	}
}

// A binary feature with a small reference is decided by the two-proportion
// Z test in `check`; the stream computes the same Z p-value from the
// window's category counts.
func TestVerdictZMatchesCheck(t *testing.T) {
	binary := func(n int, share float64, seed uint64) *dataset.Table {
		r := rand.New(rand.NewPCG(seed, 9))
		c := &dataset.Column{Name: "default", Kind: dataset.KindCategorical, Str: make([]string, n)}
		for i := range n {
			c.Str[i] = "0"
			if r.Float64() < share {
				c.Str[i] = "1"
			}
		}
		return &dataset.Table{Rows: n, Columns: []*dataset.Column{c}}
	}
	prof, err := profile.Build(binary(600, 0.2, 1), profile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, share := range []float64{0.2, 0.26} {
		cur := binary(1500, share, 2)
		w, err := monitor.NewWindow(prof, time.Hour, time.Minute, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		b := &monitor.Batch{TS: make([]int64, cur.Rows), Cat: [][]string{cur.Columns[0].Str}, CatNull: [][]bool{nil}}
		for i := range b.TS {
			b.TS[i] = time.Unix(1_800_000_000, 0).UnixMilli()
		}
		w.AddBatch(b)
		ev := w.Evaluate(1e-4)
		v := &version{name: "v1", model: &model{name: "m"}, cfg: &config.Model{MinSamples: 100, Drift: detectors.DefaultConfig()}, prof: prof}
		d := v.verdicts(&ev)[0]
		want := detectors.Compare(prof, cur, detectors.DefaultConfig()).Features[0]
		if want.Drift != (share > 0.2) {
			t.Fatalf("share %g: check drift %v (p %v)", share, want.Drift, want.Statistics.Z.PValue)
		}
		if want.Test != vocab.Z || d.Test != vocab.Z {
			t.Fatalf("share %g: check decides by %s, the stream by %s", share, want.Test, d.Test)
		}
		if p := float64(want.Statistics.Z.PValue); math.Abs(d.Value-p) > 1e-12*p || d.drift() != want.Drift {
			t.Errorf("share %g: stream Z p %g drift %v, check %g drift %v", share, d.Value, d.drift(), p, want.Drift)
		}
	}
}
