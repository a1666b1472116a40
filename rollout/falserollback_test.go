package rollout

import (
	"math"
	"runtime"
	"sync"
	"testing"
	"time"

	"gonum.org/v1/gonum/stat/distuv"
)

// Over 500 simulated rollouts with equal arms, evaluated every simulated
// minute for three hours (from the minimum period on: 151 evaluations,
// 3000 to 18000 events per arm), the share of rollouts that get a
// rollback verdict at any evaluation stays within alpha plus three
// binomial standard errors, and each criterion's share of failures within
// alpha/k plus three. Not stopping at a promotion counts every rollback a
// rollout could have had. Two policies see the same simulated arms:
// DefaultConfig, and the same criteria with zero margins (tolerance 0,
// ratio 1), where equal arms sit exactly at every limit: the hardest case
// for a false rollback. The rates are in the README, from
//
//	go test -run TestFalseRollbacks -v ./rollout/
func TestFalseRollbacks(t *testing.T) {
	rollouts := 500
	if testing.Short() {
		rollouts = 200
	}
	zero := named()
	for i := range zero.Criteria {
		zero.Criteria[i].Tolerance, zero.Criteria[i].Ratio = 0, 0
	}
	policies := []struct {
		name string
		cfg  Config
	}{{"default criteria", named()}, {"zero margins", zero}}
	k := len(zero.Criteria)
	naiveZ := distuv.UnitNormal.Quantile(zero.Alpha / float64(k))

	// Per rollout and policy: a rollback at any evaluation, the first
	// decision (what the service would act on) and each criterion's
	// failures.
	// For comparison, naive: a fixed-sample one-sided z test at alpha/k
	// repeated at every evaluation.
	type result struct {
		rollback, first, naive []bool
		failed                 [][]bool
	}
	results := make([]result, rollouts)
	var wg sync.WaitGroup
	next := make(chan int)
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := range next {
				res := result{rollback: make([]bool, len(policies)), first: make([]bool, len(policies)), naive: make([]bool, len(policies)), failed: make([][]bool, len(policies))}
				decided := make([]bool, len(policies))
				for p := range policies {
					res.failed[p] = make([]bool, k)
				}
				rollout(uint64(1000+i), base, base, [2]int{100, 100}, 180, func(m int, s, c *Arm) bool {
					if m < 30 {
						return true
					}
					for p, pol := range policies {
						v := Compare(*s, *c, pol.cfg, time.Duration(m)*time.Minute)
						if v.Decision == Rollback {
							res.rollback[p] = true
						}
						if !decided[p] && v.Decision != Continue {
							decided[p], res.first[p] = true, v.Decision == Rollback
						}
						for j, ch := range v.Checks {
							if ch.Status == Fail {
								res.failed[p][j] = true
							}
							if ch.Z <= naiveZ {
								res.naive[p] = true
							}
						}
					}
					return true
				})
				results[i] = res
			}
		})
	}
	for i := range rollouts {
		next <- i
	}
	close(next)
	wg.Wait()

	n := float64(rollouts)
	slack := func(p float64) float64 { return p + 3*math.Sqrt(p*(1-p)/n) }
	for p, pol := range policies {
		var any, first, naive float64
		fails := make([]float64, k)
		for _, r := range results {
			any += b2f(r.rollback[p])
			first += b2f(r.first[p])
			naive += b2f(r.naive[p])
			for j := range k {
				fails[j] += b2f(r.failed[p][j])
			}
		}
		alpha := pol.cfg.Alpha
		t.Logf("%s: %d rollouts with equal arms: rolled back at some evaluation %.4f (%g), as first decision %.4f (%g); alpha %g; a fixed-sample test at every evaluation would have rolled back %.4f (%g)",
			pol.name, rollouts, any/n, any, first/n, first, alpha, naive/n, naive)
		if any/n > slack(alpha) {
			t.Errorf("%s: false rollback rate %.4f over %g + 3 se", pol.name, any/n, alpha)
		}
		for j, cr := range pol.cfg.Criteria {
			t.Logf("  %s: failed at some evaluation %.4f (%g); alpha/k %.4g", cr, fails[j]/n, fails[j], alpha/float64(k))
			if fails[j]/n > slack(alpha/float64(k)) {
				t.Errorf("%s, %s: false failure rate %.4f over %g + 3 se", pol.name, cr, fails[j]/n, alpha/float64(k))
			}
		}
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
