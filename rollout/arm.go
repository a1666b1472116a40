package rollout

import (
	"math"

	"driftwatch/stats"
)

// Arm is what one version did over the rollout so far: sums of counters
// the service keeps per pane, so an Arm is the sum of its panes (Add).
// Compare needs the whole rollout since it started, not a sliding window:
// the sequential guarantee in the package doc holds for evidence that only
// grows. Fields a model does not produce stay zero (or nil), and criteria
// that need them wait.
type Arm struct {
	// Every prediction of the version.
	Events float64
	Errors float64 // failed predictions, or events flagged as errors
	// Latency counts events by LatencyBucket(latency_ms); nil if none came
	// with a latency.
	Latency []float64
	// Scores counts scored predictions by ScoreBin (the output drift
	// between arms); nil without scores.
	Scores []float64

	// Predictions joined to their outcome, credited to the prediction's
	// pane.
	Joined  float64
	Correct float64 // classification: predicted class == label
	// Binary classification: the positive class's confusion counts (true
	// negatives are not needed: F1 ignores them), and the scores of the
	// joined predictions by ScoreBin, negatives then positives (2 ×
	// ScoreBins counters, as package monitor keeps them; nil without
	// scores).
	TP, FP, FN   float64
	ScoreByLabel []float64
	// Regression, with e = prediction − value: Σ|e|, Σe² and Σe⁴ (the
	// fourth moment gives the RMSE's standard error).
	AbsErr, SqErr, QuadErr float64

	// Shadow mode: the candidate's predictions paired with stable's.
	Agreement Agreement
}

// Add adds b's counters to a. Histograms must have the same length when
// both are set.
func (a *Arm) Add(b *Arm) {
	a.Events += b.Events
	a.Errors += b.Errors
	a.Latency = addCounts(a.Latency, b.Latency)
	a.Scores = addCounts(a.Scores, b.Scores)
	a.Joined += b.Joined
	a.Correct += b.Correct
	a.TP += b.TP
	a.FP += b.FP
	a.FN += b.FN
	a.ScoreByLabel = addCounts(a.ScoreByLabel, b.ScoreByLabel)
	a.AbsErr += b.AbsErr
	a.SqErr += b.SqErr
	a.QuadErr += b.QuadErr
	a.Agreement.Add(&b.Agreement)
}

// addCounts adds src to dst elementwise, allocating dst if it is nil.
func addCounts(dst, src []float64) []float64 {
	if len(src) == 0 {
		return dst
	}
	if dst == nil {
		dst = make([]float64, len(src))
	}
	_ = dst[len(src)-1]
	for i, c := range src {
		dst[i] += c
	}
	return dst
}

// ScoreBins is the number of equal-width score bins over [0, 1], the same
// bins package monitor keeps for AUC.
const ScoreBins = 100

// ScoreBin is the bin of a score in [0, 1] (outside values go to the outer
// bins): stats.EqualWidthBin, as in package monitor.
func ScoreBin(score float64) int { return stats.EqualWidthBin(score, ScoreBins) }

// Latency buckets are log-spaced, latencyPerDecade per decade (each 2.3%
// wide) from 0.1 ms to 100 s: a p95 moves by a tenth of a bucket's width
// under the linear-in-log interpolation the quantile uses, far below the
// 10% a latency criterion usually allows. Below 0.1 ms and from 100 s on
// are one bucket each.
const (
	latencyPerDecade = 100
	latencyDecades   = 6
	// LatencyBuckets is the length of Arm.Latency: the edges' buckets
	// plus the underflow and overflow buckets.
	LatencyBuckets = latencyPerDecade*latencyDecades + 2
)

// latencyEdges are 10^(i/100) ms from 0.1 ms: a mantissa table times
// exact powers of ten, so decades (1, 10, 100 ms …) are exact.
var latencyEdges = func() []float64 {
	e := make([]float64, 0, LatencyBuckets-1)
	p := 0.1
	for range latencyDecades {
		for j := range latencyPerDecade {
			e = append(e, p*math.Pow(10, float64(j)/latencyPerDecade))
		}
		p *= 10
	}
	return append(e, p)
}()

// LatencyEdges returns the latency buckets' edges in milliseconds: bucket
// i is [edge(i−1), edge(i)), bucket 0 everything below the first edge and
// the last bucket everything from the last edge on.
func LatencyEdges() []float64 { return append([]float64(nil), latencyEdges...) }

// LatencyBucket is the bucket of a latency in milliseconds: the number of
// edges ≤ ms (stats.BinIndex on LatencyEdges), in constant time. NaN (no
// latency) is −1: count nothing.
func LatencyBucket(ms float64) int {
	// The guess is off by at most one where log10 rounds near an edge.
	return bucketNear(latencyEdges, ms, int((math.Log10(ms)+1)*latencyPerDecade))
}

// bucketNear is the number of edges ≤ x (stats.BinIndex) from guess, the
// index of the edge at or below x give or take one; NaN is −1. The guess
// only matters for x inside the edges (elsewhere, e.g. the log of 0, it
// may be any value: Go converts such floats without panicking).
func bucketNear(e []float64, x float64, guess int) int {
	switch {
	case x != x:
		return -1
	case x < e[0]:
		return 0
	case x >= e[len(e)-1]:
		return len(e)
	}
	i := min(max(guess, 0), len(e)-2)
	if e[i+1] <= x {
		i++
	}
	if e[i] > x {
		i--
	}
	return i + 1
}

// quantiles sets out[i] to the qs[i]-quantile (qs ascending) of values
// counted in buckets with the given edges (bucket i = [edges[i−1],
// edges[i])), in one pass: each is found at rank q·n and interpolated
// inside its bucket, linearly in the log if logScale (log-spaced edges),
// linearly otherwise, and from 0 in the first bucket (values are ≥ 0). A
// rank in the overflow bucket gives the last edge: a lower bound. NaN
// without values.
func quantiles(out, counts, edges, qs []float64, logScale bool) {
	var n float64
	for _, c := range counts {
		n += c
	}
	j := 0
	if n == 0 {
		for ; j < len(qs); j++ {
			out[j] = math.NaN()
		}
		return
	}
	var below float64
	for i, c := range counts {
		for ; j < len(qs) && c > 0 && qs[j]*n <= below+c; j++ {
			f := (qs[j]*n - below) / c
			switch {
			case i == len(edges):
				out[j] = edges[len(edges)-1]
			case i == 0:
				out[j] = f * edges[0]
			case logScale:
				out[j] = edges[i-1] * math.Pow(edges[i]/edges[i-1], f)
			default:
				out[j] = edges[i-1] + f*(edges[i]-edges[i-1])
			}
		}
		below += c
	}
	for ; j < len(qs); j++ {
		out[j] = edges[len(edges)-1]
	}
}

// quantile is one of quantiles.
func quantile(counts, edges []float64, q float64, logScale bool) float64 {
	var out [1]float64
	quantiles(out[:], counts, edges, []float64{q}, logScale)
	return out[0]
}
