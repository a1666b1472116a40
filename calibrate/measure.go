package calibrate

import (
	"errors"
	"math"
	"time"

	"driftwatch/profile"
	"driftwatch/stats"
)

// MeasureFalseAlarms simulates the stream with no drift, under the
// calibration's null and from its own seed (give one the calibration did
// not use), for at least evaluated time per feature, and counts the alerts
// at level l's thresholds: evaluations at which a statistic is at or beyond
// its threshold and was not at the one before, summed over features and
// statistics, as rules with `for: 0` and `keep_firing_for: 0` raise them.
// It returns the count and the evaluated time it stands for.
func MeasureFalseAlarms(p *profile.Profile, l *profile.Level, evaluated time.Duration, seed uint64) (float64, time.Duration, error) {
	c := p.Calibration
	if c == nil || l == nil {
		return 0, 0, errors.New("calibrate: the profile has no calibration")
	}
	o := optionsOf(c)
	if err := o.defaults(); err != nil {
		return 0, 0, err
	}
	g, err := o.geometry()
	if err != nil {
		return 0, 0, err
	}
	perRun := o.runLength()
	runSeconds := float64(perRun) * o.EvaluateEvery.Seconds()
	runs := max(1, int(math.Ceil(evaluated.Seconds()/runSeconds)))
	type task struct {
		m      *feature
		limits []float64
		run    int
		alerts int
	}
	var tasks []*task
	for i, f := range p.Features {
		m := newFeature(f, i, o.Statistics, o.nominal(), o.Null)
		if m == nil {
			continue
		}
		limits := make([]float64, len(m.stats))
		for k, st := range m.stats {
			t, ok := l.Thresholds[st][f.Name]
			limits[k] = math.Inf(1)
			if ok {
				limits[k] = badness(st, t)
			}
		}
		for r := range runs {
			tasks = append(tasks, &task{m: m, limits: limits, run: r})
		}
	}
	stats.Parallel(len(tasks), func(i int) {
		t := tasks[i]
		s := newStream(t.m, g, o.PSIEpsilon, o.MinSamples)
		s.rng.Seed(seed, seedOf(streamVerify, t.m.index, t.run))
		prob := t.m.prob
		if o.Null == NullPopulation {
			prob = bootstrap(s.rng, t.m.ref, nil)
		}
		s.reset(prob)
		for range g.warmTicks {
			s.step()
		}
		bad := make([]float64, len(t.limits))
		held := make([]bool, len(t.limits))
		s.evaluate(bad)
		for k, b := range bad {
			held[k] = b >= t.limits[k]
		}
		for range perRun {
			for range g.perEval {
				s.step()
			}
			s.evaluate(bad)
			for k, b := range bad {
				h := b >= t.limits[k]
				if h && !held[k] {
					t.alerts++
				}
				held[k] = h
			}
		}
	})
	n := 0
	for _, t := range tasks {
		n += t.alerts
	}
	return float64(n), time.Duration(float64(runs) * runSeconds * float64(time.Second)), nil
}
