package calibrate

import (
	"testing"
	"time"

	"driftwatch/alerting"
	"driftwatch/vocab"
)

// BenchmarkCalibrate calibrates a model of 20 features (16 numeric, 4
// categorical, 200,000 reference rows) for 50 events/s, a 1 h window of
// 1 min panes evaluated every 30 s and budgets of one false alert a week and
// a day: the README's timing. One op is one calibration; run it with
// -benchtime 1x.
func BenchmarkCalibrate(b *testing.B) {
	p, err := Synthetic(16, 4, 200000, 1)
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name  string
		stats []vocab.Statistic
		null  string
	}{
		{"psi/population", []vocab.Statistic{vocab.PSI}, NullPopulation},
		{"psi,ks,chi_square_p/population", []vocab.Statistic{vocab.PSI, vocab.KS, vocab.ChiSquareP}, NullPopulation},
		{"psi,ks,chi_square_p/reference", []vocab.Statistic{vocab.PSI, vocab.KS, vocab.ChiSquareP}, NullReference},
	} {
		b.Run("20features/"+bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				c, err := Calibrate(p, Options{Rate: 50, Window: time.Hour, Pane: time.Minute, EvaluateEvery: 30 * time.Second,
					MinSamples: 500, Statistics: bc.stats, Null: bc.null, Seed: 1,
					Budgets: []alerting.Budget{{Alerts: 1, Per: 168 * time.Hour}, {Alerts: 1, Per: 24 * time.Hour}}})
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(c.Simulated.Hours(), "simulated-h/feature")
			}
		})
	}
}
