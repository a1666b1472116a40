package rollout

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// Decision is what a verdict tells the operator (or the webhook) to do.
type Decision string

const (
	Promote  Decision = "promote"  // every criterion is shown to hold
	Rollback Decision = "rollback" // some criterion is shown to be violated
	Continue Decision = "continue" // keep watching: waiting or undecided
	// Inconclusive: max_period passed without a promote or rollback; the
	// candidate is neither shown to hold nor to miss its criteria.
	Inconclusive Decision = "inconclusive"
)

// Final tells whether the decision ends the rollout: the caller acts on
// the first final decision and keeps it.
func (d Decision) Final() bool { return d == Promote || d == Rollback || d == Inconclusive }

// Status is one criterion's part in the decision.
type Status string

const (
	Pass      Status = "pass"      // shown to hold at level alpha
	Fail      Status = "fail"      // shown to be violated at level alpha/k
	Undecided Status = "undecided" // enough data to decide, not yet enough evidence
	Waiting   Status = "waiting"   // min_samples or min_period not reached
)

// Check is one criterion's comparison.
type Check struct {
	Criterion Criterion
	Status    Status
	// The metric on each arm (NaN until computable), and the limit the
	// candidate must meet: Criterion.Limit(Stable).
	Stable, Candidate, Limit float64
	// Observations behind each value: outcomes, scored outcomes, latencies
	// or events.
	StableN, CandidateN float64
	Unit                string // what StableN and CandidateN count
	Test                string // how the difference was tested
	// Z is the candidate's margin over the limit in standard errors:
	// positive on the good side. Information is t, 1 where both arms have
	// min_samples (see sequential.go).
	Z, Information float64
	// Anytime-valid p-values: PFail of "the criterion holds" (small: it
	// is violated), PPass of "it is violated" (small: it holds); the check
	// fails when PFail ≤ FailLevel (= alpha/k) and passes when PPass ≤
	// PassLevel (= alpha). ZFail < 0 < ZPass are the values of Z where
	// that happens at the current information.
	PFail, PPass         float64
	FailLevel, PassLevel float64
	ZFail, ZPass         float64
	// Waiting says what a waiting check waits for.
	Waiting string
}

// Verdict is the outcome of one comparison.
type Verdict struct {
	Decision Decision
	Reason   string
	Checks   []Check // one per criterion, in the config's order
	// Drift of the candidate against stable: information only, never
	// part of the decision. Compare adds the output (score distribution)
	// when both arms have Scores; the caller may add input features with
	// Drift.
	Drift []DriftCheck
	// Shadow summarises the candidate's agreement with stable, in shadow
	// mode or whenever pairs were counted.
	Shadow *AgreementSummary
}

// Compare decides a rollout from both arms' counters since it started and
// how long it has been running (observed: the caller's clock, never read
// here). See the package doc for the rules. An invalid config gives
// Continue with the error as the reason.
func Compare(stable, candidate Arm, cfg Config, observed time.Duration) Verdict {
	if err := cfg.validateCriteria(); err != nil {
		return Verdict{Decision: Continue, Reason: "invalid config: " + err.Error()}
	}
	k := float64(len(cfg.Criteria))
	failLevel, passLevel := cfg.Alpha/k, cfg.Alpha
	failRho, passRho := mixtureRho(failLevel), mixtureRho(passLevel)
	m := float64(cfg.MinSamples)
	v := Verdict{Checks: make([]Check, len(cfg.Criteria))}
	for i, cr := range cfg.Criteria {
		c := &v.Checks[i]
		*c = compareOne(cr, &stable, &candidate, m)
		c.FailLevel, c.PassLevel = failLevel, passLevel
		if !math.IsNaN(c.Z) {
			c.PFail = mixtureP(-c.Z, c.Information, failRho)
			c.PPass = mixtureP(c.Z, c.Information, passRho)
			c.ZFail = -mixtureZ(failLevel, c.Information, failRho)
			c.ZPass = mixtureZ(passLevel, c.Information, passRho)
		}
		switch {
		case c.Waiting != "":
			c.Status = Waiting
		case observed < cfg.MinPeriod:
			c.Status, c.Waiting = Waiting, fmt.Sprintf("min_period: observed %s of %s", observed, cfg.MinPeriod)
		case c.PFail <= failLevel:
			c.Status = Fail
		case c.PPass <= passLevel:
			c.Status = Pass
		default:
			c.Status = Undecided
		}
	}
	v.Decision, v.Reason = decide(v.Checks, observed, cfg.MinPeriod)
	if v.Decision == Continue && cfg.MaxPeriod > 0 && observed >= cfg.MaxPeriod {
		v.Decision = Inconclusive
		v.Reason = fmt.Sprintf("max_period %s reached without a decision: %s", cfg.MaxPeriod, v.Reason)
	}
	if stable.Scores != nil && candidate.Scores != nil {
		v.Drift = append(v.Drift, Drift("output", stable.Scores, candidate.Scores, DefaultPSIEpsilon))
	}
	if cfg.Mode == Shadow || candidate.Agreement.Pairs > 0 {
		s := candidate.Agreement.Summary(cfg.Alpha)
		v.Shadow = &s
	}
	return v
}

// compareOne estimates the criterion's margin on both arms: the
// candidate's distance from the limit, positive on the good side, its z
// and its information.
func compareOne(cr Criterion, stable, candidate *Arm, minSamples float64) Check {
	es, ec := estimateOf(cr.Metric, stable), estimateOf(cr.Metric, candidate)
	nan := math.NaN()
	c := Check{
		Criterion: cr, Stable: es.show, Candidate: ec.show, Limit: cr.Limit(es.show),
		StableN: es.n, CandidateN: ec.n, Unit: ec.unit, Test: ec.test,
		Z: nan, Information: nan, PFail: 1, PPass: 1, ZFail: nan, ZPass: nan,
	}
	switch {
	case es.missing != "":
		c.Waiting = "stable: " + es.missing
		return c
	case ec.missing != "":
		c.Waiting = "candidate: " + ec.missing
		return c
	case es.n < minSamples:
		c.Waiting = fmt.Sprintf("min_samples: stable has %g of %g %s", es.n, minSamples, es.unit)
	case ec.n < minSamples:
		c.Waiting = fmt.Sprintf("min_samples: candidate has %g of %g %s", ec.n, minSamples, ec.unit)
	}
	higher, _ := cr.Metric.HigherIsBetter()
	r := cr.ratio()
	margin := ec.value - (r*es.value - cr.Tolerance)
	if !higher {
		margin = r*es.value + cr.Tolerance - ec.value
	}
	variance := ec.variance + r*r*es.variance
	// Information relative to both arms at min_samples with the same
	// per-observation variances: 1/SE² over its value there.
	perObs := ec.variance*ec.n + r*r*es.variance*es.n
	switch {
	case variance > 0:
		c.Z = margin / math.Sqrt(variance)
		c.Information = perObs / minSamples / variance
	case margin > 0:
		c.Z, c.Information = math.Inf(1), 1
	case margin < 0:
		c.Z, c.Information = math.Inf(-1), 1
	default:
		c.Z, c.Information = 0, 1
	}
	return c
}

// decide applies the rules of the package doc to the checks.
func decide(checks []Check, observed, minPeriod time.Duration) (Decision, string) {
	if observed < minPeriod {
		return Continue, fmt.Sprintf("waiting: min_period, observed %s of %s", observed, minPeriod)
	}
	var failed, waiting, undecided []string
	for _, c := range checks {
		switch c.Status {
		case Fail:
			failed = append(failed, fmt.Sprintf("%s %.4g %s limit %.4g (%s, stable %.4g): p %.3g ≤ %.3g",
				c.Criterion.Metric, c.Candidate, worseOp(c.Criterion.Metric), c.Limit, c.Criterion, c.Stable, c.PFail, c.FailLevel))
		case Waiting:
			waiting = append(waiting, fmt.Sprintf("%s (%s)", c.Criterion.Metric, c.Waiting))
		case Undecided:
			undecided = append(undecided, fmt.Sprintf("%s (candidate %.4g, limit %.4g, z %.2f: fails at %.2f, passes at %.2f)",
				c.Criterion.Metric, c.Candidate, c.Limit, c.Z, c.ZFail, c.ZPass))
		}
	}
	if len(failed) > 0 {
		return Rollback, strings.Join(failed, "; ")
	}
	if len(waiting) == 0 && len(undecided) == 0 {
		parts := make([]string, len(checks))
		for i, c := range checks {
			parts[i] = fmt.Sprintf("%s %.4g vs limit %.4g (p %.3g)", c.Criterion.Metric, c.Candidate, c.Limit, c.PPass)
		}
		return Promote, fmt.Sprintf("every criterion holds at p ≤ %.3g: %s", checks[0].PassLevel, strings.Join(parts, "; "))
	}
	var b strings.Builder
	if len(waiting) > 0 {
		b.WriteString("waiting: " + strings.Join(waiting, "; "))
	}
	if len(undecided) > 0 {
		if b.Len() > 0 {
			b.WriteString("; ")
		}
		b.WriteString("undecided: " + strings.Join(undecided, "; "))
	}
	return Continue, b.String()
}

// worseOp is how a violating candidate compares with its limit.
func worseOp(m Metric) string {
	if higher, _ := m.HigherIsBetter(); higher {
		return "<"
	}
	return ">"
}
