package calibrate

import (
	"math"
	"math/rand/v2"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"driftwatch/alerting"
	"driftwatch/config"
	"driftwatch/dataset"
	"driftwatch/monitor"
	"driftwatch/profile"
	"driftwatch/stats"
	"driftwatch/vocab"
)

// reference is a small model with the shapes that matter: a smooth
// feature, a skewed one with ties, a discrete one whose ties leave fine
// bins empty, and a categorical one.
func reference(t testing.TB, rows int) *profile.Profile {
	t.Helper()
	r := rand.New(rand.NewPCG(7, 7))
	cols := []*dataset.Column{
		{Name: "normal", Kind: dataset.KindNumeric, Num: make([]float64, rows)},
		{Name: "skewed", Kind: dataset.KindNumeric, Num: make([]float64, rows)},
		{Name: "count", Kind: dataset.KindNumeric, Num: make([]float64, rows)},
		{Name: "plan", Kind: dataset.KindCategorical, Str: make([]string, rows)},
	}
	for i := range rows {
		cols[0].Num[i] = r.NormFloat64()
		cols[1].Num[i] = math.Round(r.ExpFloat64()*10) / 10
		cols[2].Num[i] = float64(r.IntN(3) + r.IntN(3))
		cols[3].Str[i] = []string{"free", "free", "free", "basic", "basic", "pro"}[r.IntN(6)]
	}
	p, err := profile.Build(&dataset.Table{Rows: rows, Columns: cols}, profile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestKSBinnedMatchesStats(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		n := 2 + r.IntN(300)
		ref, cur := make([]float64, n), make([]float64, n)
		for i := range ref {
			ref[i] = float64(r.IntN(50))
			cur[i] = float64(r.IntN(50) * r.IntN(2))
		}
		ref[0]++
		cur[n-1]++
		m := &feature{}
		rt, rc, total := 0.0, 0.0, 0.0
		for i := range ref {
			rt += ref[i]
			total += cur[i]
		}
		for _, c := range ref {
			rc += c / rt
			m.refCum = append(m.refCum, rc)
		}
		want, _ := stats.KSBinned(ref, cur)
		if got := ksBinned(m.refCum, cur, total); got != want {
			t.Fatalf("ksBinned %v, stats.KSBinned %v", got, want)
		}
	}
}

// The Poisson draws have the right mean, variance and probabilities, by
// table and by PTRS.
func TestPoisson(t *testing.T) {
	r := rand.NewPCG(3, 4)
	for _, mean := range []float64{0.01, 0.7, 7.5, 150, 3000, 1e5} {
		var p poisson
		p.set(mean)
		const n = 200000
		var s, ss, zeros float64
		for range n {
			k := p.draw(r)
			s += k
			ss += k * k
			if k == 0 {
				zeros++
			}
		}
		m, v := s/n, ss/n-(s/n)*(s/n)
		// Five standard errors of the mean and of the variance.
		if math.Abs(m-mean) > 5*math.Sqrt(mean/n) || math.Abs(v-mean) > 5*math.Sqrt((2*mean*mean+mean)/n) {
			t.Errorf("mean %g (ptrs %v): drew mean %g variance %g", mean, p.big, m, v)
		}
		if pz := math.Exp(-mean); math.Abs(zeros/n-pz) > 5*math.Sqrt(pz*(1-pz)/n)+1e-9 {
			t.Errorf("mean %g: P(0) %g, want %g", mean, zeros/n, pz)
		}
	}
}

func TestTransformsInvert(t *testing.T) {
	for _, st := range alerting.AutoStatistics() {
		tf := transform{stat: st, dof: 9, scale: 1/1e5 + 1/2e4, en: 1 / (1/1e5 + 1/2e4)}
		for _, alpha := range []float64{0.3, 1e-3, 1e-6, 1e-9} {
			x := tf.threshold(alpha)
			if got := tf.p(badness(st, x)); math.Abs(got-alpha) > 1e-6*alpha {
				t.Errorf("%s: p(threshold(%g)) = %g", st, alpha, got)
			}
		}
	}
}

// testOptions: a 10-minute window of 1-minute panes evaluated every 30 s,
// at 10 events/s, with a budget of one false alert per 100 evaluations.
func testOptions() Options {
	return Options{Rate: 10, Window: 10 * time.Minute, Pane: time.Minute, EvaluateEvery: 30 * time.Second,
		MinSamples: 500, Budgets: []alerting.Budget{{Alerts: 1, Per: 50 * time.Minute}},
		Statistics: []vocab.Statistic{vocab.PSI, vocab.KS, vocab.ChiSquareP}, Null: NullReference, Alerts: 200, Seed: 1}
}

// Under no drift, with events drawn from the reference, the thresholds give
// the budget's alert rate through the service's own code: the monitor's
// window and statistics and the alert engine with `threshold: auto` rules,
// over 10,000 evaluations (about 100 alerts expected).
func TestFalseAlarmRateThroughTheService(t *testing.T) {
	p := reference(t, 50000)
	opt := testOptions()
	c, err := Calibrate(p, opt)
	if err != nil {
		t.Fatal(err)
	}
	p.Calibration = c
	budget := opt.Budgets[0]
	var rules []alerting.Rule
	for _, st := range opt.Statistics {
		r := alerting.Rule{Name: "auto-" + string(st), Statistic: st, Threshold: alerting.ThresholdAuto,
			FalseAlarms: alerting.FalseAlarms{Critical: &budget}}
		if err := r.Validate(nil); err != nil {
			t.Fatal(err)
		}
		rules = append(rules, r)
	}
	const evals = 10000
	alerts := serviceAlerts(t, p, rules, evals, 99)
	configured := budget.Rate() * (evals * opt.EvaluateEvery).Seconds()
	t.Logf("%d false alerts in %d evaluations through monitor and alerting; the budget allows %.0f (simulated at calibration: %.0f ± %.0f%%)",
		alerts, evals, configured, c.Levels[0].SimulatedAlerts, 100*c.Levels[0].StdErr)
	if ratio := float64(alerts) / configured; ratio < 0.5 || ratio > 2 {
		t.Fatalf("measured rate is %.2f× the configured one", ratio)
	}

	// The simulator agrees with itself on a new seed.
	n, span, err := MeasureFalseAlarms(p, &c.Levels[0], 20000*opt.EvaluateEvery, 42)
	if err != nil {
		t.Fatal(err)
	}
	if ratio := n / (budget.Rate() * span.Seconds()); ratio < 0.5 || ratio > 2 {
		t.Fatalf("simulated rate on a new seed is %.2f× the configured one (%v alerts in %s)", ratio, n, span)
	}
}

// serviceAlerts streams events drawn from the reference (each value a
// bootstrap draw from the feature's values or categories) through a
// monitor.Window with the calibration's window, evaluates it every
// evaluate_every after a warm-up window, hands the samples to an alert
// engine and counts the alerts that start firing.
func serviceAlerts(t *testing.T, p *profile.Profile, rules []alerting.Rule, evals int, seed uint64) int {
	t.Helper()
	c := p.Calibration
	v, err := monitor.NewWindow(p, c.Window, c.Pane, 0)
	if err != nil {
		t.Fatal(err)
	}
	engine := alerting.New(alerting.Options{Rules: rules})
	auto := &Thresholds{cal: c}
	r := rand.New(rand.NewPCG(seed, 11))
	var cats []aliasTable
	for _, f := range p.Features {
		if f.Kind == profile.Categorical {
			var a aliasTable
			a.build(f.CatCounts)
			cats = append(cats, a)
		}
	}
	var count poisson
	count.set(c.Rate * c.EvaluateEvery.Seconds())
	pcg := rand.NewPCG(seed, 12)
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	warm := int(c.Window / c.EvaluateEvery)
	firing := map[string]bool{}
	alerts := 0
	var b monitor.Batch
	for e := range warm + evals {
		n := int(count.draw(pcg))
		b.TS, b.Num, b.Cat, b.CatNull = b.TS[:0], b.Num[:0], b.Cat[:0], b.CatNull[:0]
		for i := range n {
			b.TS = append(b.TS, now.Add(time.Duration(i)*c.EvaluateEvery/time.Duration(n)).UnixMilli())
		}
		ci := 0
		for _, f := range p.Features {
			if f.Kind == profile.Numeric {
				col := make([]float64, n)
				for i := range col {
					col[i] = f.Sample[r.IntN(len(f.Sample))]
				}
				b.Num = append(b.Num, col)
				continue
			}
			col := make([]string, n)
			for i := range col {
				col[i] = f.Categories[cats[ci].draw(r.Uint64())]
			}
			b.Cat, b.CatNull = append(b.Cat, col), append(b.CatNull, nil)
			ci++
		}
		v.AddBatch(&b)
		now = now.Add(c.EvaluateEvery)
		ev := v.Evaluate(c.PSIEpsilon)
		var samples []alerting.Sample
		for _, f := range ev.Features {
			for st, x := range map[vocab.Statistic]float64{vocab.PSI: f.PSI, vocab.KS: f.KS, vocab.ChiSquareP: f.ChiSquareP} {
				if st == "ks" && f.Kind != profile.Numeric || st == "chi_square_p" && f.Kind != profile.Categorical {
					continue
				}
				samples = append(samples, alerting.Sample{Model: "m", Version: "v", Feature: f.Name, Statistic: st,
					Value: x, Samples: f.Values, MinSamples: float64(c.MinSamples), Auto: auto})
			}
		}
		engine.Eval(now, samples)
		next := map[string]bool{}
		for _, a := range engine.Alerts(now) {
			if a.State == "firing" {
				next[a.Key] = true
				if !firing[a.Key] && e >= warm {
					alerts++
				}
			}
		}
		firing = next
	}
	return alerts
}

// The same profile and options give the same thresholds on any number of
// cores: seeds are per feature and run, not per worker.
func TestDeterministic(t *testing.T) {
	p := reference(t, 20000)
	opt := testOptions()
	opt.Alerts = 30
	a, err := Calibrate(p, opt)
	if err != nil {
		t.Fatal(err)
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	b, err := Calibrate(p, opt)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("calibrations differ:\n%+v\n%+v", a.Levels, b.Levels)
	}
}

// A profile gets thresholds for every feature a statistic applies to, a
// warning budget gets lower thresholds than the critical one, and the
// population null (the reference's own sampling error) raises them.
func TestThresholdsShape(t *testing.T) {
	p := reference(t, 20000)
	opt := testOptions()
	opt.Alerts = 50
	opt.Budgets = append(opt.Budgets, alerting.Budget{Alerts: 1, Per: 10 * time.Minute})
	ref, err := Calibrate(p, opt)
	if err != nil {
		t.Fatal(err)
	}
	opt.Null = NullPopulation
	pop, err := Calibrate(p, opt)
	if err != nil {
		t.Fatal(err)
	}
	crit, warn := ref.Levels[0].Thresholds, ref.Levels[1].Thresholds
	if len(crit["psi"]) != 4 || len(crit["ks"]) != 3 || len(crit["chi_square_p"]) != 1 {
		t.Fatalf("thresholds %v", crit)
	}
	for _, f := range []string{"normal", "skewed", "count"} {
		if !(warn["psi"][f] < crit["psi"][f] && warn["ks"][f] < crit["ks"][f]) {
			t.Errorf("%s: warning thresholds %v, %v not below critical %v, %v", f, warn["psi"][f], warn["ks"][f], crit["psi"][f], crit["ks"][f])
		}
		if !(pop.Levels[0].Thresholds["psi"][f] > crit["psi"][f]) {
			t.Errorf("%s: population-null PSI threshold %v not above the reference-null one %v", f, pop.Levels[0].Thresholds["psi"][f], crit["psi"][f])
		}
	}
	if !(warn["chi_square_p"]["plan"] > crit["chi_square_p"]["plan"]) {
		t.Errorf("chi_square_p: warning %v, critical %v", warn["chi_square_p"]["plan"], crit["chi_square_p"]["plan"])
	}
}

func TestResolve(t *testing.T) {
	p := reference(t, 20000)
	cfg, err := config.Parse([]byte(`
models: [{name: credit, task: classification, versions: [{name: v1, reference: p.dwprof}]}]
alerting:
  rules:
    - {name: Drift, statistic: psi, threshold: auto, false_alarms: {critical: 1/50m}}
    - {name: Other, model: other, statistic: ks, threshold: auto}
`))
	if err != nil {
		t.Fatal(err)
	}
	m := &cfg.Models[0]
	_, _, err = Resolve(p, "p.dwprof", m, "v1", cfg.Alerting.Rules)
	want := `profile "p.dwprof" has no false-alarm calibration, which rule "Drift" (threshold: auto) needs; run: driftwatch profile calibrate --profile p.dwprof --rate EVENTS_PER_SECOND --window 1h --pane 1m --evaluate-every 30s --min-samples 500 --budget 1/50m --statistics psi`
	if err == nil || err.Error() != want {
		t.Fatalf("got  %v\nwant %s", err, want)
	}
	opt := testOptions()
	opt.Alerts = 20
	if p.Calibration, err = Calibrate(p, opt); err != nil {
		t.Fatal(err)
	}
	th, warnings, err := Resolve(p, "p.dwprof", m, "v1", cfg.Alerting.Rules)
	if err != nil {
		t.Fatal(err)
	}
	wantWarning := `profile "p.dwprof" was calibrated for window 10m (the model has 1h); false-alarm rates will differ from the budget: ` +
		`run driftwatch profile calibrate --profile p.dwprof --rate 10 --window 1h --pane 1m --evaluate-every 30s --min-samples 500 --budget 1/50m --statistics psi,ks,chi_square_p`
	if len(warnings) != 1 || warnings[0] != wantWarning {
		t.Fatalf("warnings %q\nwant %q", warnings, wantWarning)
	}
	x, ok := th.Threshold("psi", "normal", alerting.Budget{Alerts: 2, Per: 100 * time.Minute})
	if !ok || x != p.Calibration.Levels[0].Thresholds["psi"]["normal"] {
		t.Fatalf("threshold %v %v", x, ok)
	}
	if _, ok := th.Threshold("psi", "normal", alerting.DefaultBudget); ok {
		t.Fatal("a budget that was not calibrated has a threshold")
	}
	cfg.Alerting.Rules[0].FalseAlarms.Critical = &alerting.DefaultBudget
	if _, _, err := Resolve(p, "p.dwprof", m, "v1", cfg.Alerting.Rules); err == nil || !strings.Contains(err.Error(), "has no thresholds for a budget of 1/168h") {
		t.Fatalf("missing budget: %v", err)
	}
}
