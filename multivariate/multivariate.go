// Package multivariate detects drift in how features move together, by the
// reconstruction error of a PCA fitted on the reference, as NannyML 0.13.1's
// DataReconstructionDriftCalculator does:
//
//   - numeric features: missing values imputed with the reference mean;
//     categorical features: missing values imputed with the reference's most
//     frequent category, then count-encoded (a category's share of the
//     reference rows; a category the reference never saw encodes as 0);
//   - every column standardised with the reference's mean and population
//     standard deviation (scikit-learn's StandardScaler);
//   - a PCA of the standardised reference (full decomposition, no whitening)
//     keeping the fewest components whose explained-variance ratios reach the
//     asked share (scikit-learn's PCA(n_components=0.65));
//   - a row's error is the Euclidean distance between its standardised values
//     and their reconstruction from the kept components; a chunk's value is the
//     mean row error and its sampling error the rows' sample standard
//     deviation over √n;
//   - thresholds are the mean ± σ-multiple × population standard deviation of
//     the reference chunks' values, a lower threshold ≤ 0 meaning none.
//
// One deliberate difference: a feature that is constant in the reference is
// left out (and named in Model.Constant). scikit-learn scales it by 1, so any
// other current value would add its raw distance from the reference value to
// every row's error, in the feature's own units.
//
// The package is pure math on columns: reading files, choosing features and
// chunks, and deciding what a drift means for a report are left to its callers
// (packages profile, detectors). RowError is the streaming hot loop's entry:
// about k × d multiply-adds on a standardised row, allocation-free; Moments
// and WindowThresholds give a window's value, sampling error and thresholds.
package multivariate

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sort"
	"sync"
	"sync/atomic"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat/distuv"

	"driftwatch/chunk"
)

// Kind is a column's kind.
type Kind string

// The column kinds.
const (
	Numeric     Kind = "numeric"
	Categorical Kind = "categorical"
)

// DefaultVariance is NannyML's n_components: the share of the standardised
// reference's variance the kept components must explain.
const DefaultVariance = 0.65

// DefaultSigmas is NannyML's StandardDeviationThreshold multiplier.
const DefaultSigmas = 3

// Column is one feature's values: Num for a numeric column (NaN is missing;
// ±Inf are treated as missing too, since a PCA cannot use them and
// scikit-learn refuses them), Cat for a categorical one (Null marks missing
// cells; nil when none).
type Column struct {
	Name string
	Kind Kind
	Num  []float64
	Cat  []string
	Null []bool
}

func (c *Column) rows() int {
	if c.Kind == Numeric {
		return len(c.Num)
	}
	return len(c.Cat)
}

func (c *Column) null(i int) bool {
	if c.Kind == Numeric {
		return !finite(c.Num[i])
	}
	return c.Null != nil && c.Null[i]
}

// Feature is how one column enters the PCA.
type Feature struct {
	Name string `json:"name"`
	Kind Kind   `json:"kind"`
	// Impute replaces a missing numeric value: the reference mean.
	Impute float64 `json:"impute,omitempty"`
	// Mode replaces a missing category: the reference's most frequent one
	// (the smallest name among ties, as scikit-learn's SimpleImputer).
	Mode string `json:"mode,omitempty"`
	// Frequencies encode a category as its share of the reference rows
	// (missing cells counted as Mode); unseen categories encode as 0.
	Frequencies map[string]float64 `json:"frequencies,omitempty"`
	// Mean and Scale standardise the encoded value: (x − Mean) / Scale.
	Mean  float64 `json:"mean"`
	Scale float64 `json:"scale"`
}

// finite reports whether x is neither NaN nor ±Inf.
func finite(x float64) bool { return x-x == 0 }

// Standardize returns a numeric value standardised, a missing value (NaN or
// ±Inf) imputed first.
func (f *Feature) Standardize(x float64) float64 {
	if !finite(x) {
		x = f.Impute
	}
	return (x - f.Mean) / f.Scale
}

// StandardizeCategory returns a category count-encoded and standardised, a
// missing one imputed with the mode first.
func (f *Feature) StandardizeCategory(s string, null bool) float64 {
	if null {
		s = f.Mode
	}
	return (f.Frequencies[s] - f.Mean) / f.Scale
}

// Model is a PCA fitted on a standardised reference.
type Model struct {
	// Features are the columns in the PCA, in input order; Constant names
	// the columns left out because they were constant in the reference.
	Features []Feature `json:"features"`
	Constant []string  `json:"constant,omitempty"`
	// Variance is the share asked for; Explained the kept components'
	// explained-variance ratios, largest first.
	Variance  float64   `json:"variance"`
	Explained []float64 `json:"explained_variance_ratio"`
	// Center is the mean of the standardised reference rows (≈ 0), which the
	// PCA subtracts; Components holds the k kept principal axes, d values
	// each.
	Center     []float64   `json:"center"`
	Components [][]float64 `json:"components"`
	// Rows is the number of reference rows fitted.
	Rows int `json:"rows"`

	k, d int
	w    []float64 // k × d, component by component
	wt   []float64 // d × k, feature by feature
	wc   []float64 // k: W·Center
}

// K is the number of kept components.
func (m *Model) K() int { return m.k }

// D is the number of features in the PCA.
func (m *Model) D() int { return m.d }

// VarianceExplained is the kept components' share of the variance.
func (m *Model) VarianceExplained() float64 {
	s := 0.0
	for _, v := range m.Explained {
		s += v
	}
	return s
}

// ErrTooFewFeatures is returned by Fit when fewer than two features are left
// once constant ones are set aside: a reconstruction from all of one feature's
// components is exact, so there would be nothing to measure.
var ErrTooFewFeatures = errors.New("multivariate: fewer than two non-constant features")

// Fit fits the model on the reference columns (all of equal length). variance
// is in (0, 1).
func Fit(cols []Column, variance float64) (*Model, error) {
	if !(variance > 0 && variance < 1) {
		return nil, fmt.Errorf("multivariate: variance must be in (0, 1), got %g", variance)
	}
	if len(cols) == 0 {
		return nil, ErrTooFewFeatures
	}
	n := cols[0].rows()
	for i := range cols {
		if cols[i].Kind != Numeric && cols[i].Kind != Categorical {
			return nil, fmt.Errorf("multivariate: column %q has unknown kind %q", cols[i].Name, cols[i].Kind)
		}
		if r := cols[i].rows(); r != n {
			return nil, fmt.Errorf("multivariate: column %q has %d rows, column %q %d", cols[i].Name, r, cols[0].Name, n)
		}
	}
	if n < 2 {
		return nil, fmt.Errorf("multivariate: need at least 2 reference rows, got %d", n)
	}
	m := &Model{Variance: variance, Rows: n}
	var kept []*Column
	enc := make([]float64, n)
	for i := range cols {
		c := &cols[i]
		f := Feature{Name: c.Name, Kind: c.Kind}
		if c.Kind == Numeric {
			s, cnt := 0.0, 0
			for _, x := range c.Num {
				if finite(x) {
					s += x
					cnt++
				}
			}
			if cnt == 0 {
				m.Constant = append(m.Constant, c.Name) // all missing: nothing to scale
				continue
			}
			f.Impute = s / float64(cnt)
		} else {
			f.Mode, f.Frequencies = frequencies(c)
		}
		encode(enc, c, &f)
		mean, variance := meanVar(enc)
		if isConstant(variance, mean, n) {
			m.Constant = append(m.Constant, c.Name)
			continue
		}
		f.Mean, f.Scale = mean, math.Sqrt(variance)
		m.Features = append(m.Features, f)
		kept = append(kept, c)
	}
	d := len(m.Features)
	if d < 2 {
		return nil, ErrTooFewFeatures
	}
	// The standardised columns' means (the PCA's centre), then the centred
	// Gram matrix, whose eigenvalues are the squared singular values of the
	// centred data. Rows go through in blocks, so the standardised data is
	// never held whole.
	const block = 4096
	buf := make([]float64, d*block)
	m.Center = make([]float64, d)
	for j, c := range kept {
		s := 0.0
		for start := 0; start < n; start += block {
			zj := buf[:min(block, n-start)]
			standardize(zj, c, &m.Features[j], start)
			for _, v := range zj {
				s += v
			}
		}
		m.Center[j] = s / float64(n)
	}
	gram := mat.NewSymDense(d, nil)
	for start := 0; start < n; start += block {
		nb := min(block, n-start)
		for j, c := range kept {
			zj := buf[j*block : j*block+nb]
			standardize(zj, c, &m.Features[j], start)
			for i := range zj {
				zj[i] -= m.Center[j]
			}
		}
		for a := 0; a < d; a++ {
			za := buf[a*block : a*block+nb]
			for b := a; b < d; b++ {
				s := floats.Dot(za, buf[b*block:b*block+nb])
				gram.SetSym(a, b, gram.At(a, b)+s)
			}
		}
	}
	var es mat.EigenSym
	if !es.Factorize(gram, true) {
		return nil, errors.New("multivariate: eigendecomposition of the reference did not converge")
	}
	vals := es.Values(nil)
	var vecs mat.Dense
	es.VectorsTo(&vecs)
	order := make([]int, d)
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return vals[order[a]] > vals[order[b]] })
	total := 0.0
	for _, v := range vals {
		total += max(v, 0)
	}
	if !(total > 0) {
		return nil, ErrTooFewFeatures
	}
	ratios := make([]float64, d)
	for i, o := range order {
		ratios[i] = max(vals[o], 0) / total
	}
	k := Components(ratios, variance)
	m.Explained = ratios[:k]
	m.Components = make([][]float64, k)
	for i := 0; i < k; i++ {
		m.Components[i] = mat.Col(nil, order[i], &vecs)
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return m, nil
}

// Components is scikit-learn's choice of the number of components for a
// fractional n_components: np.searchsorted(cumsum(ratios), variance,
// side="right") + 1, at most len(ratios). ratios are sorted largest first.
func Components(ratios []float64, variance float64) int {
	cum := 0.0
	k := 0
	for _, r := range ratios {
		cum += r
		if cum > variance {
			break
		}
		k++
	}
	return min(k+1, len(ratios))
}

// frequencies returns a categorical column's mode (missing cells aside; the
// smallest name among ties) and each category's share of the rows with
// missing cells counted as the mode.
func frequencies(c *Column) (string, map[string]float64) {
	counts := map[string]int{}
	nulls := 0
	for i, s := range c.Cat {
		if c.null(i) {
			nulls++
			continue
		}
		counts[s]++
	}
	mode, best := "", -1
	for s, n := range counts {
		if n > best || n == best && s < mode {
			mode, best = s, n
		}
	}
	if nulls > 0 {
		counts[mode] += nulls // all missing: the mode is the empty category
	}
	freq := make(map[string]float64, len(counts))
	for s, n := range counts {
		freq[s] = float64(n) / float64(len(c.Cat))
	}
	return mode, freq
}

// encode writes a column's imputed, count-encoded values (not yet
// standardised) into dst.
func encode(dst []float64, c *Column, f *Feature) {
	if c.Kind == Numeric {
		for i, x := range c.Num {
			if !finite(x) {
				x = f.Impute
			}
			dst[i] = x
		}
		return
	}
	for i, s := range c.Cat {
		if c.null(i) {
			s = f.Mode
		}
		dst[i] = f.Frequencies[s]
	}
}

// standardize writes the standardised values of a column's rows start,
// start+1, … into dst.
func standardize(dst []float64, c *Column, f *Feature, start int) {
	if c.Kind == Numeric {
		for i, x := range c.Num[start : start+len(dst)] {
			dst[i] = f.Standardize(x)
		}
		return
	}
	for i, s := range c.Cat[start : start+len(dst)] {
		dst[i] = f.StandardizeCategory(s, c.null(start+i))
	}
}

// meanVar returns the mean and population variance, with the corrected
// two-pass sum scikit-learn's StandardScaler uses.
func meanVar(xs []float64) (mean, variance float64) {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	n := float64(len(xs))
	mean = s / n
	sq, corr := 0.0, 0.0
	for _, x := range xs {
		t := x - mean
		corr += t
		sq += t * t
	}
	return mean, max(sq-corr*corr/n, 0) / n
}

// isConstant is scikit-learn's test for a constant feature (whose scale it
// sets to 1): a variance within rounding of 0 for the mean's magnitude.
func isConstant(variance, mean float64, n int) bool {
	eps := 0x1p-52
	fn := float64(n)
	bound := fn*eps*variance + (fn*mean*eps)*(fn*mean*eps)
	return variance <= bound
}

// Validate checks a model read from a file and prepares it for RowError.
func (m *Model) Validate() error {
	d := len(m.Features)
	k := len(m.Components)
	if d < 2 {
		return fmt.Errorf("multivariate: model has %d features, want at least 2", d)
	}
	if k < 1 || k > d || len(m.Explained) != k {
		return fmt.Errorf("multivariate: model has %d components and %d explained ratios for %d features", k, len(m.Explained), d)
	}
	if len(m.Center) != d {
		return fmt.Errorf("multivariate: model has a centre of %d values for %d features", len(m.Center), d)
	}
	for i, f := range m.Features {
		if f.Kind != Numeric && f.Kind != Categorical {
			return fmt.Errorf("multivariate: feature %q has unknown kind %q", f.Name, f.Kind)
		}
		if !(f.Scale > 0) || math.IsInf(f.Scale, 0) || math.IsNaN(f.Mean) || math.IsInf(f.Mean, 0) {
			return fmt.Errorf("multivariate: feature %q has mean %g and scale %g", f.Name, f.Mean, f.Scale)
		}
		if slices.ContainsFunc(m.Features[:i], func(g Feature) bool { return g.Name == f.Name }) {
			return fmt.Errorf("multivariate: feature %q appears twice", f.Name)
		}
	}
	m.k, m.d = k, d
	m.w = make([]float64, k*d)
	m.wt = make([]float64, d*k)
	m.wc = make([]float64, k)
	for i, c := range m.Components {
		if len(c) != d {
			return fmt.Errorf("multivariate: component %d has %d values for %d features", i, len(c), d)
		}
		for j, v := range c {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("multivariate: component %d has value %g", i, v)
			}
			m.w[i*d+j] = v
			m.wt[j*k+i] = v
			m.wc[i] += v * m.Center[j]
		}
	}
	return nil
}

// RowError returns the reconstruction error of one standardised row z (D
// values, in Features order), using proj (K values) as scratch. It allocates
// nothing: the streaming hot loop calls it once per event.
//
// The components are orthonormal, so with v = z − c and p = W·v the error is
// √(‖v‖² − ‖p‖²): k × d multiply-adds for p (computed as W·z − W·c, two
// partial sums per component so the adds do not wait on each other) and 2d
// more. When the difference cancels (error² below 1e-4 of ‖v‖², a row the
// components nearly reproduce) the residual v − Wᵀp is summed instead, which
// keeps every row within 1e-10 relative of the direct computation.
func (m *Model) RowError(z, proj []float64) float64 {
	d, k := m.d, m.k
	z, proj = z[:d], proj[:k]
	c, w, wc := m.Center[:d], m.w[:k*d], m.wc[:k]
	vv := 0.0
	for j, x := range z {
		v := x - c[j]
		vv += v * v
	}
	pp := 0.0
	for i := range proj {
		row := w[i*d : i*d+d]
		_ = row[len(z)-1]
		s0, s1 := 0.0, 0.0
		j := 0
		for ; j+1 < len(z); j += 2 {
			s0 += row[j] * z[j]
			s1 += row[j+1] * z[j+1]
		}
		if j < len(z) {
			s0 += row[j] * z[j]
		}
		p := s0 + s1 - wc[i]
		proj[i] = p
		pp += p * p
	}
	if e2 := vv - pp; e2 >= 1e-4*vv {
		return math.Sqrt(e2)
	}
	return m.residual(z, proj)
}

// residual is ‖z − c − Wᵀp‖ summed term by term.
func (m *Model) residual(z, proj []float64) float64 {
	k := m.k
	c, wt := m.Center[:len(z)], m.wt[:len(z)*k]
	e := 0.0
	for j := range z {
		col := wt[j*k : j*k+k]
		_ = col[len(proj)-1]
		r := z[j] - c[j]
		for i, p := range proj {
			r -= col[i] * p
		}
		e += r * r
	}
	return math.Sqrt(e)
}

// Errors returns the reconstruction error of every row of cols, which must
// hold each of the model's features by name (other columns are ignored), and
// the number of rows in which at least one value was missing and imputed.
func (m *Model) Errors(cols []Column) (errs []float64, imputed int, err error) {
	byName := make(map[string]*Column, len(cols))
	for i := range cols {
		byName[cols[i].Name] = &cols[i]
	}
	use := make([]*Column, m.d)
	n := -1
	for j, f := range m.Features {
		c := byName[f.Name]
		if c == nil {
			return nil, 0, fmt.Errorf("multivariate: feature %q is missing", f.Name)
		}
		if c.Kind != f.Kind {
			return nil, 0, fmt.Errorf("multivariate: feature %q is %s, the model's is %s", f.Name, c.Kind, f.Kind)
		}
		if n >= 0 && c.rows() != n {
			return nil, 0, fmt.Errorf("multivariate: feature %q has %d rows, %q %d", f.Name, c.rows(), m.Features[0].Name, n)
		}
		n = c.rows()
		use[j] = c
	}
	errs = make([]float64, n)
	// Rows are independent: blocks of them on every core.
	workers := min(runtime.GOMAXPROCS(0), max(1, n/errorsBlock))
	counts := make([]int, workers)
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			z := make([]float64, m.d)
			proj := make([]float64, m.k)
			for {
				start := int(next.Add(errorsBlock)) - errorsBlock
				if start >= n {
					return
				}
				counts[w] += m.errorsRange(errs[start:min(start+errorsBlock, n)], use, start, z, proj)
			}
		})
	}
	wg.Wait()
	for _, c := range counts {
		imputed += c
	}
	return errs, imputed, nil
}

// errorsBlock is how many rows a worker of Errors takes at a time.
const errorsBlock = 16384

// errorsRange writes the errors of rows start, start+1, … into dst and
// returns how many of them had a missing value.
func (m *Model) errorsRange(dst []float64, use []*Column, start int, z, proj []float64) (imputed int) {
	for r := range dst {
		i := start + r
		missing := false
		for j, c := range use {
			f := &m.Features[j]
			if c.Kind == Numeric {
				x := c.Num[i]
				missing = missing || !finite(x)
				z[j] = f.Standardize(x)
			} else {
				null := c.null(i)
				missing = missing || null
				z[j] = f.StandardizeCategory(c.Cat[i], null)
			}
		}
		if missing {
			imputed++
		}
		dst[r] = m.RowError(z, proj)
	}
	return imputed
}

// Stat is a chunk's (or window's) reconstruction error: the mean row error
// and its sampling error, the rows' sample standard deviation (ddof 1) over
// √n (NaN for one row, as NannyML).
type Stat struct {
	Rows          int
	Value         float64
	SamplingError float64
}

// Summarize returns the statistic of a chunk's row errors.
func Summarize(errs []float64) Stat {
	n := len(errs)
	if n == 0 {
		return Stat{Value: math.NaN(), SamplingError: math.NaN()}
	}
	mean, _ := meanVar(errs)
	sq := 0.0
	for _, e := range errs {
		sq += (e - mean) * (e - mean)
	}
	se := math.NaN()
	if n > 1 {
		se = math.Sqrt(sq/float64(n-1)) / math.Sqrt(float64(n))
	}
	return Stat{Rows: n, Value: mean, SamplingError: se}
}

// Thresholds returns NannyML's StandardDeviationThreshold over the reference
// chunks' values (NaN values ignored): mean ± sigmas × population standard
// deviation. A lower threshold ≤ 0 means none and is returned as NaN; with no
// values both are NaN.
func Thresholds(values []float64, sigmas float64) (lower, upper float64) {
	s, n := 0.0, 0
	for _, v := range values {
		if !math.IsNaN(v) {
			s += v
			n++
		}
	}
	if n == 0 {
		return math.NaN(), math.NaN()
	}
	mean := s / float64(n)
	sq := 0.0
	for _, v := range values {
		if !math.IsNaN(v) {
			sq += (v - mean) * (v - mean)
		}
	}
	std := math.Sqrt(sq / float64(n))
	lower, upper = mean-sigmas*std, mean+sigmas*std
	if lower <= 0 {
		lower = math.NaN()
	}
	return lower, upper
}

// Alert reports whether a value is not strictly between the thresholds (NaN
// meaning none). A NaN value (an empty chunk) never alerts.
func Alert(value, lower, upper float64) bool {
	if math.IsNaN(value) {
		return false
	}
	if !math.IsNaN(lower) && !(value > lower) {
		return true
	}
	return !math.IsNaN(upper) && !(value < upper)
}

// WindowThresholds returns the thresholds for windows (or chunks) of size
// rows from the reference's row errors in file order: split into consecutive
// chunks of that size, the short last one kept, as NannyML's size-based
// chunker does. The streaming monitor calls it at start for its window.
func WindowThresholds(refErrors []float64, size int, sigmas float64) (lower, upper float64, err error) {
	ranges, err := chunk.BySize(len(refErrors), size)
	if err != nil {
		return math.NaN(), math.NaN(), fmt.Errorf("multivariate: %w", err)
	}
	values := make([]float64, len(ranges))
	for i, r := range ranges {
		values[i] = Summarize(refErrors[r.Start : r.End+1]).Value
	}
	lower, upper = Thresholds(values, sigmas)
	return lower, upper, nil
}

// Moments accumulates row errors as count, sum and sum of squares, so that a
// window made of panes (sums of Moments) has its exact Stat. The zero value
// is empty.
type Moments struct {
	N          int
	Sum, SumSq float64
}

// Add counts one row error.
func (a *Moments) Add(e float64) {
	a.N++
	a.Sum += e
	a.SumSq += e * e
}

// Merge adds b's rows to a.
func (a *Moments) Merge(b Moments) {
	a.N += b.N
	a.Sum += b.Sum
	a.SumSq += b.SumSq
}

// Stat is the rows' mean and sampling error, as Summarize of the same rows
// up to rounding (the sum of squares loses about the square of the mean's
// relative size to the spread, negligible for reconstruction errors).
func (a Moments) Stat() Stat {
	if a.N == 0 {
		return Stat{Value: math.NaN(), SamplingError: math.NaN()}
	}
	n := float64(a.N)
	mean := a.Sum / n
	se := math.NaN()
	if a.N > 1 {
		v := max(a.SumSq-a.Sum*mean, 0) / (n - 1)
		se = math.Sqrt(v) / math.Sqrt(n)
	}
	return Stat{Rows: a.N, Value: mean, SamplingError: se}
}

// ChanceAlertRate is how often a chunk without drift falls outside
// Thresholds computed from k reference chunks of its size, when chunk values
// are normal: (x − mean)/σ̂ with σ̂ the population std of k values is
// √((k+1)/(k−1)) times a Student t with k − 1 degrees of freedom, so the rate
// is P(|t| > sigmas·√((k−1)/(k+1))). With 2 reference chunks and 3σ it is
// 1/3; it falls below 3% only from about 10 chunks. NaN for k < 2.
func ChanceAlertRate(k int, sigmas float64) float64 {
	if k < 2 {
		return math.NaN()
	}
	t := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(k - 1)}
	return 2 * t.Survival(sigmas*math.Sqrt(float64(k-1)/float64(k+1)))
}
