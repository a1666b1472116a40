package stats

import (
	"math"

	"gonum.org/v1/gonum/mathext"
)

// ChiSquareHomogeneity is scipy.stats.chi2_contingency([ref, cur],
// correction=False) on a 2×K table of counts. Columns empty on both sides
// are dropped first (scipy rejects them); with fewer than two columns left
// there is nothing to test and it returns (0, 0, 1).
func ChiSquareHomogeneity(ref, cur []float64) (stat float64, dof int, p float64) {
	rt, ct := sumCounts(ref), sumCounts(cur)
	n := rt + ct
	k := 0
	for i := range ref {
		col := ref[i] + cur[i]
		if col == 0 {
			continue
		}
		k++
		er, ec := rt*col/n, ct*col/n
		stat += (ref[i]-er)*(ref[i]-er)/er + (cur[i]-ec)*(cur[i]-ec)/ec
	}
	if k < 2 {
		return 0, 0, 1
	}
	dof = k - 1
	return stat, dof, ChiSquareSF(stat, dof)
}

// ChiSquareUnseen is ChiSquareHomogeneity on the table whose columns are
// the reference's categories (counts ref, cur[:len(ref)]) followed by one
// column per category the reference never had (counts unseen, reference
// count 0), bit for bit, without building the table: scipy's
// chi2_contingency on the table of categories, each its own column. Pooling
// the unseen columns into one would leave the statistic unchanged (each
// contributes its count × n_ref/n_cur) but take len(unseen) − 1 degrees of
// freedom away, and with them the p-value's meaning.
func ChiSquareUnseen(ref, cur, unseen []float64) (stat float64, dof int, p float64) {
	rt, ct := sumCounts(ref), sumCounts(cur[:len(ref)])
	for _, c := range unseen {
		ct += c
	}
	n := rt + ct
	k := 0
	term := func(r, c float64) {
		col := r + c
		if col == 0 {
			return
		}
		k++
		er, ec := rt*col/n, ct*col/n
		stat += (r-er)*(r-er)/er + (c-ec)*(c-ec)/ec
	}
	for i := range ref {
		term(ref[i], cur[i])
	}
	for _, c := range unseen {
		term(0, c)
	}
	if k < 2 {
		return 0, 0, 1
	}
	dof = k - 1
	return stat, dof, ChiSquareSF(stat, dof)
}

// ChiSquareSF is scipy.stats.chi2.sf(x, dof): the regularized upper
// incomplete gamma Q(dof/2, x/2), accurate in the far tail.
func ChiSquareSF(x float64, dof int) float64 {
	if x <= 0 {
		return 1
	}
	return mathext.GammaIncRegComp(float64(dof)/2, x/2)
}

// ChiSquareQuantile is scipy.stats.chi2.ppf(p, dof).
func ChiSquareQuantile(p float64, dof int) float64 {
	return 2 * mathext.GammaIncRegInv(float64(dof)/2, p)
}

// TwoProportionZ is the pooled two-proportion z-test of x1/n1 against
// x2/n2: p̂ = (x1+x2)/(n1+n2), z = (x1/n1 − x2/n2)/sqrt(p̂(1−p̂)(1/n1+1/n2)),
// two-sided p = 2·Φ(−|z|). With p̂ at 0 or 1 the shares are equal: (0, 1).
func TwoProportionZ(x1, n1, x2, n2 float64) (z, p float64) {
	ph := (x1 + x2) / (n1 + n2)
	if ph <= 0 || ph >= 1 {
		return 0, 1
	}
	z = (x1/n1 - x2/n2) / math.Sqrt(ph*(1-ph)*(1/n1+1/n2))
	return z, math.Erfc(math.Abs(z) / math.Sqrt2)
}
