package rollout

import (
	"encoding/binary"
	"fmt"
	"math"

	"driftwatch/wire"
)

// AppendState appends the arm's counters, so that RestoreState gives an
// equal Arm back (the service checkpoints arms with the offsets they
// cover). Histograms are written sparsely: most latency and difference
// buckets of one arm stay empty.
func (a *Arm) AppendState(dst []byte) []byte {
	for _, x := range a.scalars() {
		dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(*x))
	}
	for _, h := range a.histograms() {
		dst = appendSparse(dst, *h)
	}
	return dst
}

// RestoreState replaces the arm with one AppendState wrote and returns the
// bytes after it.
func (a *Arm) RestoreState(src []byte) ([]byte, error) {
	var b Arm
	r := wire.Reader{B: src}
	for _, x := range b.scalars() {
		*x = math.Float64frombits(r.Uint64())
	}
	for i, h := range b.histograms() {
		*h = readSparse(&r, histogramLens[i])
	}
	if r.Err != nil {
		return nil, fmt.Errorf("rollout: arm state: %w", r.Err)
	}
	*a = b
	return r.B, nil
}

// scalars lists the arm's plain counters in encoding order.
func (a *Arm) scalars() []*float64 {
	g := &a.Agreement
	return []*float64{&a.Events, &a.Errors, &a.Joined, &a.Correct, &a.TP, &a.FP, &a.FN,
		&a.AbsErr, &a.SqErr, &a.QuadErr, &g.Pairs, &g.Classified, &g.Agree, &g.Scored, &g.SumDiff, &g.SumAbsDiff}
}

// histograms lists the arm's histograms in encoding order; histogramLens
// are their lengths when set.
func (a *Arm) histograms() []*[]float64 {
	return []*[]float64{&a.Latency, &a.Scores, &a.ScoreByLabel, &a.Agreement.Diff}
}

var histogramLens = []int{LatencyBuckets, ScoreBins, 2 * ScoreBins, DiffBuckets}

// appendSparse writes a histogram as its length (0 for nil) and its
// non-zero counters as (index, value) pairs.
func appendSparse(dst []byte, h []float64) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(h)))
	if h == nil {
		return dst
	}
	nz := 0
	for _, c := range h {
		if c != 0 {
			nz++
		}
	}
	dst = binary.AppendUvarint(dst, uint64(nz))
	for i, c := range h {
		if c != 0 {
			dst = binary.AppendUvarint(dst, uint64(i))
			dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(c))
		}
	}
	return dst
}

// readSparse reads what appendSparse wrote; a histogram of another length
// than want is an error (the reader's Err).
func readSparse(r *wire.Reader, want int) []float64 {
	n := r.Uvarint()
	if n == 0 || r.Err != nil {
		return nil
	}
	if n != uint64(want) {
		r.Err = fmt.Errorf("histogram of %d buckets, want %d", n, want)
		return nil
	}
	h := make([]float64, want)
	for range r.Count() {
		i := r.Uvarint()
		c := math.Float64frombits(r.Uint64())
		if r.Err != nil {
			return nil
		}
		if i >= uint64(want) {
			r.Err = fmt.Errorf("bucket %d of %d", i, want)
			return nil
		}
		h[i] = c
	}
	return h
}
