package rollout

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"gonum.org/v1/gonum/stat/distuv"
)

// The error rates of the verdicts at the traffic volumes users run, with
// the service's own schedule: cumulative counters, a look every 30 s, the
// first final decision latched, Poisson traffic with 5% of it on the
// canary, stable 90% accurate with 2% errors and lognormal latency (p95 ≈
// 114 ms), 90% of outcomes joined 1–45 minutes (uniform) after their
// prediction, DefaultConfig with a max_period of two hours.
//
// A per-event simulation at 2,000 events/s over two hours is 14 million
// events per rollout; the looks are drawn exactly instead. With Poisson
// traffic every counter increment is an independent Poisson count: a
// look's events in latency bucket b are Poisson(λ·Δ·p_b), its errors
// Binomial(events, error rate), and the outcomes that join during the look
// (correct and wrong apart) Poisson(λ·join·acc·(H(t)−H(t−Δ))) where H(T) =
// ∫₀ᵀ F(u) du for the delay CDF F: the arrivals whose outcome comes inside
// the look, over every earlier look at once. Latency buckets with a
// probability under 1e−13 are not drawn (at 20,000 events/s for two hours
// that is 2e−5 expected events in all).
//
// The rates are in the README, from
//
//	go test -run TestVerdictErrorRates -v ./rollout/
func TestVerdictErrorRates(t *testing.T) {
	if testing.Short() {
		t.Skip("the volume simulation takes ~30 s of CPU")
	}
	const rollouts = 500
	stable := volumeArm{errRate: 0.02, latMedian: 50, latSD: 0.5, accuracy: 0.90}
	worse := func(f func(*volumeArm)) volumeArm {
		a := stable
		f(&a)
		return a
	}
	type want int
	const (
		holds  want = iota // every criterion holds: rollback at most alpha, each criterion alpha/k
		limit              // one criterion exactly at its limit: also promote at most alpha
		misses             // one criterion clearly missed: promote at most alpha, rollback in ≥ 90%
	)
	cases := []struct {
		name   string
		canary volumeArm
		rates  []float64 // events/s over both arms
		want   want
		metric Metric // the criterion at or past its limit
	}{
		{"identical", stable, []float64{200, 2000, 20000}, holds, ""},
		{"accuracy -0.01", worse(func(a *volumeArm) { a.accuracy -= 0.01 }), []float64{200, 2000}, holds, ""},
		{"accuracy at limit", worse(func(a *volumeArm) { a.accuracy -= 0.02 }), []float64{200, 2000}, limit, Accuracy},
		{"latency_p95 at limit", worse(func(a *volumeArm) { a.latMedian *= 1.1 }), []float64{200, 2000}, limit, LatencyP95},
		{"error_rate at limit", worse(func(a *volumeArm) { a.errRate *= 1.2 }), []float64{200, 2000}, limit, ErrorRate},
		{"accuracy -0.06", worse(func(a *volumeArm) { a.accuracy -= 0.06 }), []float64{200, 2000}, misses, Accuracy},
		{"latency_p95 x1.3", worse(func(a *volumeArm) { a.latMedian *= 1.3 }), []float64{200, 2000}, misses, LatencyP95},
		{"error_rate x2", worse(func(a *volumeArm) { a.errRate *= 2 }), []float64{200, 2000}, misses, ErrorRate},
	}
	cfg := named()
	cfg.MaxPeriod = 2 * time.Hour
	k := float64(len(cfg.Criteria))
	for ci, c := range cases {
		for _, rate := range c.rates {
			name := fmt.Sprintf("%s at %g events per s", c.name, rate)
			res := volumeRun(uint64(ci)<<32|uint64(rate), rollouts, stable, c.canary, rate, cfg)
			n := float64(rollouts)
			t.Logf("%s: %d rollouts: rollback %d (%s), promote %d (%s), inconclusive %d; rollbacks failing %v; median decision at %s",
				name, rollouts, res.rollback, cpString(res.rollback, rollouts), res.promote, cpString(res.promote, rollouts),
				res.inconclusive, res.failed, res.medianAt)
			switch c.want {
			case holds, limit:
				if hi := cpUpper(res.rollback, rollouts); hi >= cfg.Alpha {
					t.Errorf("%s: false rollbacks %d/%d, upper 95%% bound %.4f ≥ alpha %g", name, res.rollback, rollouts, hi, cfg.Alpha)
				}
				for _, cr := range cfg.Criteria {
					if hi := cpUpper(res.failed[cr.Metric], rollouts); hi >= cfg.Alpha/k {
						t.Errorf("%s: %s failed in %d/%d rollbacks, upper 95%% bound %.4f ≥ alpha/k %.4f", name, cr.Metric, res.failed[cr.Metric], rollouts, hi, cfg.Alpha/k)
					}
				}
			}
			switch c.want {
			case limit, misses:
				if hi := cpUpper(res.promote, rollouts); hi >= cfg.Alpha {
					t.Errorf("%s: false promotions %d/%d, upper 95%% bound %.4f ≥ alpha %g", name, res.promote, rollouts, hi, cfg.Alpha)
				}
			}
			if c.want == misses && float64(res.failed[c.metric]) < 0.9*n {
				t.Errorf("%s: rolled back on %s in %d/%d rollouts, want ≥ 90%%", name, c.metric, res.failed[c.metric], rollouts)
			}
		}
	}
}

// volumeArm is a simulated version at the level of its rates.
type volumeArm struct {
	errRate, accuracy float64
	latMedian, latSD  float64 // lognormal latency: median in ms, sd of the log
}

// Traffic and outcome timing of the volume simulation.
const (
	canaryShare = 0.05
	joinShare   = 0.90
	lookEvery   = 30 * time.Second
	delayMin    = 1 * time.Minute // outcome delay: uniform between these
	delayMax    = 45 * time.Minute
)

// joinedBy is H(T) = ∫₀ᵀ F(u) du for the uniform delay CDF F: the expected
// number of outcomes joined by T per unit rate of predictions from 0 on.
func joinedBy(T time.Duration) float64 {
	t, a, b := T.Seconds(), delayMin.Seconds(), delayMax.Seconds()
	switch {
	case t <= a:
		return 0
	case t <= b:
		return (t - a) * (t - a) / (2 * (b - a))
	default:
		return (b-a)/2 + t - b
	}
}

// latencyProbs are the probabilities of the latency buckets under the
// arm's lognormal latency: bucket index and probability, those ≥ 1e−13.
func (v volumeArm) latencyProbs() (idx []int, p []float64) {
	cdf := func(ms float64) float64 {
		return distuv.UnitNormal.CDF((math.Log(ms) - math.Log(v.latMedian)) / v.latSD)
	}
	prev := 0.0
	for b := range LatencyBuckets {
		hi := 1.0
		if b < len(latencyEdges) {
			hi = cdf(latencyEdges[b])
		}
		if hi-prev >= 1e-13 {
			idx, p = append(idx, b), append(p, hi-prev)
		}
		prev = hi
	}
	return idx, p
}

// volumeResult counts the latched decisions of a run of rollouts.
type volumeResult struct {
	rollback, promote, inconclusive int
	failed                          map[Metric]int // criteria failing at the latched rollbacks
	medianAt                        time.Duration  // median time of the final decisions
}

// volumeRun simulates rollouts of stable and canary at rate events/s
// until each latches a final decision (max_period guarantees one).
func volumeRun(seed uint64, rollouts int, stable, canary volumeArm, rate float64, cfg Config) volumeResult {
	type outcome struct {
		decision Decision
		failed   []Metric
		at       time.Duration
	}
	out := make([]outcome, rollouts)
	next := make(chan int)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			arms := [2]volumeArm{stable, canary}
			lambda := [2]float64{rate * (1 - canaryShare), rate * canaryShare}
			var idx [2][]int
			var probs [2][]float64
			for a := range arms {
				idx[a], probs[a] = arms[a].latencyProbs()
			}
			dt := lookEvery.Seconds()
			for i := range next {
				src := rand.NewPCG(seed, uint64(i))
				r := rand.New(src)
				var counts [2]Arm
				for a := range counts {
					counts[a].Latency = make([]float64, LatencyBuckets)
				}
				for look := 1; ; look++ {
					now := time.Duration(look) * lookEvery
					joined := joinedBy(now) - joinedBy(now-lookEvery)
					for a := range arms {
						arm, c := arms[a], &counts[a]
						var events float64
						for j, b := range idx[a] {
							x := poisson(r, src, lambda[a]*dt*probs[a][j])
							c.Latency[b] += x
							events += x
						}
						c.Events += events
						c.Errors += binomial(r, events, arm.errRate)
						right := poisson(r, src, lambda[a]*joinShare*arm.accuracy*joined)
						wrong := poisson(r, src, lambda[a]*joinShare*(1-arm.accuracy)*joined)
						c.Correct += right
						c.Joined += right + wrong
					}
					v := Compare(counts[0], counts[1], cfg, now)
					if !v.Decision.Final() {
						continue
					}
					o := outcome{decision: v.Decision, at: now}
					for _, ch := range v.Checks {
						if ch.Status == Fail {
							o.failed = append(o.failed, ch.Criterion.Metric)
						}
					}
					out[i] = o
					break
				}
			}
		})
	}
	for i := range rollouts {
		next <- i
	}
	close(next)
	wg.Wait()

	res := volumeResult{failed: map[Metric]int{}}
	ats := make([]time.Duration, 0, rollouts)
	for _, o := range out {
		switch o.decision {
		case Rollback:
			res.rollback++
		case Promote:
			res.promote++
		case Inconclusive:
			res.inconclusive++
		}
		for _, m := range o.failed {
			res.failed[m]++
		}
		ats = append(ats, o.at)
	}
	slices.Sort(ats)
	res.medianAt = ats[len(ats)/2]
	return res
}

// poisson draws Poisson(mean): by inversion (sequential search from 0)
// for small means, most of the latency buckets', and gonum's PTRS sampler
// from 10 on.
func poisson(r *rand.Rand, src rand.Source, mean float64) float64 {
	switch {
	case mean <= 0:
		return 0
	case mean >= 10:
		return distuv.Poisson{Lambda: mean, Src: src}.Rand()
	}
	u := r.Float64()
	p := math.Exp(-mean)
	k, cdf := 0.0, p
	for u > cdf && k < 100 {
		k++
		p *= mean / k
		cdf += p
	}
	return k
}

// binomial draws Binomial(n, p) with gonum's sampler.
func binomial(r *rand.Rand, n, p float64) float64 {
	if n == 0 || p == 0 {
		return 0
	}
	return distuv.Binomial{N: n, P: p, Src: rand.NewPCG(r.Uint64(), r.Uint64())}.Rand()
}

// cpUpper is the upper end of the two-sided 95% Clopper–Pearson interval
// of a rate seen x times in n.
func cpUpper(x, n int) float64 {
	if x >= n {
		return 1
	}
	return distuv.Beta{Alpha: float64(x + 1), Beta: float64(n - x)}.Quantile(0.975)
}

// cpString is x/n as a percentage with its Clopper–Pearson interval.
func cpString(x, n int) string {
	lo := 0.0
	if x > 0 {
		lo = distuv.Beta{Alpha: float64(x), Beta: float64(n - x + 1)}.Quantile(0.025)
	}
	return fmt.Sprintf("%.1f%% [%.1f, %.1f]", 100*float64(x)/float64(n), 100*lo, 100*cpUpper(x, n))
}
