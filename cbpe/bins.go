package cbpe

import "math"

// DefaultBins is the number of equal-width raw-score bins a streaming
// window keeps for the estimated ROC AUC.
const DefaultBins = 1000

// Bins accumulates a window's rows for the estimated ROC AUC without
// keeping them: per equal-width bin of the raw score over [0, 1], the row
// count and the sum of calibrated scores. Like Expected it is a sum, so
// panes and partitions merge by adding, and adding a row is O(1).
//
// The estimate walks the bins from the highest score down, as NannyML walks
// the rows, but moves through each bin in one straight step: rows within a
// bin are taken as tied. The exact curve inside a bin is monotone and stays
// in the rectangle its step spans, so the area differs from the exact
// (row-level) estimate by at most half that rectangle, summed over bins:
// ErrorBound. Both sides round the running sums to 5 decimals as NannyML
// does, which moves either area by about 1e-5 at most for windows of a few
// rows and far less for larger ones.
type Bins struct {
	N   []float64 // rows per bin
	Cal []float64 // sum of calibrated scores per bin
}

// NewBins returns k empty bins.
func NewBins(k int) *Bins {
	return &Bins{N: make([]float64, k), Cal: make([]float64, k)}
}

// Add counts one row with a valid raw score and its calibrated value.
func (b *Bins) Add(raw, cal float64) {
	k := len(b.N)
	i := min(int(raw*float64(k)), k-1)
	b.N[i]++
	b.Cal[i] += cal
}

// Merge adds o (same number of bins) to b.
func (b *Bins) Merge(o *Bins) {
	for i := range b.N {
		b.N[i] += o.N[i]
		b.Cal[i] += o.Cal[i]
	}
}

// ROCAUC is the estimated ROC AUC from the bins and the bound on its
// distance to the row-level EstimatedROCAUC of the same rows (NaN, NaN when
// there are no rows or every calibrated score is 0 or 1).
func (b *Bins) ROCAUC() (auc, bound float64) {
	var n, tps float64
	for i := range b.N {
		n += b.N[i]
		tps += b.Cal[i]
	}
	tpsN, fpsN := round5(tps), round5(n-tps)
	if n == 0 || tpsN == 0 || fpsN == 0 {
		return math.NaN(), math.NaN()
	}
	var rows, cum, prevT, prevF float64
	for i := len(b.N) - 1; i >= 0; i-- {
		if b.N[i] == 0 {
			continue
		}
		rows += b.N[i]
		cum += b.Cal[i]
		t, f := round5(cum)/tpsN, round5(rows-cum)/fpsN
		auc += (f - prevF) * (t + prevT) / 2
		bound += (f - prevF) * (t - prevT) / 2
		prevT, prevF = t, f
	}
	return auc, math.Abs(bound)
}
