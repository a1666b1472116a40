package rollout

import (
	"math"
	"math/rand/v2"
)

// armSpec is a simulated model version: what each of its events does.
type armSpec struct {
	errRate          float64 // P(failed prediction)
	latMedian, latSD float64 // latency: lognormal, median in ms, sd of the log
	joinShare        float64 // P(the outcome arrives)
	// Classification: accuracy > 0 draws "correct" with that probability;
	// otherwise sep > 0 is a binary classifier whose latent score is
	// N(sep·label, 1) with P(label = 1) = posRate, scored as the logistic
	// of its distance from the midpoint sep/2 and predicting positive from
	// score 0.5 on.
	accuracy, posRate, sep float64
	// Regression: errors N(0, errSD²) when errSD > 0.
	errSD float64
}

// add simulates n events of the version into a.
func (s armSpec) add(r *rand.Rand, a *Arm, n int) {
	if a.Latency == nil {
		a.Latency = make([]float64, LatencyBuckets)
	}
	if s.sep > 0 && a.ScoreByLabel == nil {
		a.ScoreByLabel = make([]float64, 2*ScoreBins)
	}
	logMedian := math.Log(s.latMedian)
	for range n {
		a.Events++
		if r.Float64() < s.errRate {
			a.Errors++
		}
		a.Latency[LatencyBucket(math.Exp(logMedian+s.latSD*r.NormFloat64()))]++
		if r.Float64() >= s.joinShare {
			continue
		}
		a.Joined++
		switch {
		case s.accuracy > 0:
			if r.Float64() < s.accuracy {
				a.Correct++
			}
		case s.sep > 0:
			label := r.Float64() < s.posRate
			x := r.NormFloat64() - s.sep/2
			if label {
				x += s.sep
			}
			pred := x >= 0
			switch {
			case label == pred:
				a.Correct++
				if label {
					a.TP++
				}
			case pred:
				a.FP++
			default:
				a.FN++
			}
			b := ScoreBin(1 / (1 + math.Exp(-x)))
			if label {
				b += ScoreBins
			}
			a.ScoreByLabel[b]++
		}
		if s.errSD > 0 {
			e := s.errSD * r.NormFloat64()
			a.AbsErr += math.Abs(e)
			a.SqErr += e * e
			a.QuadErr += e * e * e * e
		}
	}
}

// base is the stable version of the simulations: 90% accurate, 2% errors,
// p95 latency 50·e^(0.5·1.645) ≈ 114 ms.
var base = armSpec{errRate: 0.02, latMedian: 50, latSD: 0.5, joinShare: 1, accuracy: 0.90}

// with returns s changed by f.
func (s armSpec) with(f func(*armSpec)) armSpec {
	f(&s)
	return s
}

// rollout runs one simulated rollout: both arms get perMinute events per
// simulated minute, and the verdict is taken at the end of every minute
// from 1 to minutes; each verdict goes to eval, which returns false to
// stop.
func rollout(seed uint64, stable, canary armSpec, perMinute [2]int, minutes int, eval func(minute int, s, c *Arm) bool) {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	var s, c Arm
	for m := 1; m <= minutes; m++ {
		stable.add(r, &s, perMinute[0])
		canary.add(r, &c, perMinute[1])
		if !eval(m, &s, &c) {
			return
		}
	}
}

// named is DefaultConfig with version names.
func named() Config {
	c := DefaultConfig()
	c.Stable, c.Candidate = "v1", "v2"
	return c
}
