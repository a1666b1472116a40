package rollout

import (
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// Agreement is what a shadow candidate's predictions have in common with
// stable's on the same requests (paired by request id). Like Arm it is a
// sum of pane counters.
type Agreement struct {
	Pairs float64 // candidate predictions paired with stable's
	// Classification: pairs where both predicted a class, and of those
	// the ones that predicted the same class.
	Classified, Agree float64
	// Pairs where both have a score (a regression model's prediction
	// counts as its score), with Σd and Σ|d| for d = candidate − stable,
	// and d counted by DiffBucket (DiffBuckets counters; nil without
	// scores).
	Scored, SumDiff, SumAbsDiff float64
	Diff                        []float64
}

// Add adds b's counters to a.
func (a *Agreement) Add(b *Agreement) {
	a.Pairs += b.Pairs
	a.Classified += b.Classified
	a.Agree += b.Agree
	a.Scored += b.Scored
	a.SumDiff += b.SumDiff
	a.SumAbsDiff += b.SumAbsDiff
	a.Diff = addCounts(a.Diff, b.Diff)
}

// Score differences are counted in 0.01-wide buckets over [−1, 1], the
// range of a difference of probabilities, plus one bucket below and one
// above (where a regression model's differences mostly go: its mean
// |difference| is exact, its quantiles stop at 1).
const (
	diffPerUnit = 100
	// DiffBuckets is the length of Agreement.Diff.
	DiffBuckets = 2*diffPerUnit + 2
)

// diffEdges are k/100 for k = −100 … 100.
var diffEdges = func() []float64 {
	e := make([]float64, 2*diffPerUnit+1)
	for i := range e {
		e[i] = float64(i-diffPerUnit) / diffPerUnit
	}
	return e
}()

// DiffEdges returns the score-difference buckets' edges: bucket i is
// [edge(i−1), edge(i)), with an underflow and an overflow bucket.
func DiffEdges() []float64 { return append([]float64(nil), diffEdges...) }

// DiffBucket is the bucket of a score difference d = candidate − stable:
// the number of edges ≤ d, in constant time; NaN is −1 (count nothing).
func DiffBucket(d float64) int {
	return bucketNear(diffEdges, d, int(math.Floor(d*diffPerUnit))+diffPerUnit)
}

// AgreementSummary is how a verdict reports Agreement.
type AgreementSummary struct {
	Pairs float64
	// Agreement rate over the classified pairs, with its Wilson interval
	// at level 1 − alpha (NaN without classified pairs).
	Classified, Rate, RateLow, RateHigh float64
	// Score differences over the scored pairs: mean d, mean |d| (exact),
	// and quantiles of |d| from the buckets (NaN without scored pairs).
	Scored, MeanDiff, MeanAbsDiff      float64
	AbsDiffP50, AbsDiffP90, AbsDiffP99 float64
}

// Summary reports the agreement with intervals at level 1 − alpha.
func (a *Agreement) Summary(alpha float64) AgreementSummary {
	nan := math.NaN()
	s := AgreementSummary{
		Pairs: a.Pairs, Classified: a.Classified, Scored: a.Scored,
		Rate: nan, RateLow: nan, RateHigh: nan, MeanDiff: nan, MeanAbsDiff: nan,
		AbsDiffP50: nan, AbsDiffP90: nan, AbsDiffP99: nan,
	}
	if n := a.Classified; n > 0 {
		z := distuv.UnitNormal.Quantile(1 - alpha/2)
		p := a.Agree / n
		d := 1 + z*z/n
		mid := (p + z*z/(2*n)) / d
		half := z * math.Sqrt(p*(1-p)/n+z*z/(4*n*n)) / d
		s.Rate, s.RateLow, s.RateHigh = p, math.Max(mid-half, 0), math.Min(mid+half, 1)
	}
	if a.Scored > 0 {
		s.MeanDiff, s.MeanAbsDiff = a.SumDiff/a.Scored, a.SumAbsDiff/a.Scored
	}
	if a.Diff != nil {
		abs := foldAbs(a.Diff)
		s.AbsDiffP50 = quantile(abs, absDiffEdges, 0.5, false)
		s.AbsDiffP90 = quantile(abs, absDiffEdges, 0.9, false)
		s.AbsDiffP99 = quantile(abs, absDiffEdges, 0.99, false)
	}
	return s
}

// absDiffEdges are the edges of |d|'s buckets: 0.01 … 1, so bucket k is
// [k/100, (k+1)/100) and the last one is |d| ≥ 1.
var absDiffEdges = diffEdges[diffPerUnit+1:]

// foldAbs turns counts of d into counts of |d| on absDiffEdges: bucket
// [(j−1)/100, j/100) and its mirror [−j/100, −(j−1)/100) both give |d| in
// the same 0.01-wide bucket (up to which side owns the edge), and both
// outer buckets give |d| ≥ 1.
func foldAbs(diff []float64) []float64 {
	abs := make([]float64, diffPerUnit+1)
	last := len(diff) - 1
	abs[diffPerUnit] = diff[0] + diff[last]
	for k := range diffPerUnit {
		abs[k] = diff[diffPerUnit-k] + diff[diffPerUnit+1+k]
	}
	return abs
}
