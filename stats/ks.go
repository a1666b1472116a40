package stats

import "math"

// KSStatistic is the two-sample KS statistic sup|F_a − F_b| of sorted,
// NaN-free samples, by one merge walk that steps past every copy of a value
// in both samples before comparing (so ties match scipy's searchsorted).
func KSStatistic(a, b []float64) float64 {
	na, nb := len(a), len(b)
	fa, fb := float64(na), float64(nb)
	i, j := 0, 0
	var d float64
	for i < na && j < nb {
		x := a[i]
		if b[j] < x {
			x = b[j]
		}
		for i < na && a[i] == x {
			i++
		}
		for j < nb && b[j] == x {
			j++
		}
		// scipy: cdf1 - cdf2 with each cdf = count / n.
		if v := math.Abs(float64(i)/fa - float64(j)/fb); v > d {
			d = v
		}
	}
	return d
}

// ksMaxAutoN is scipy's MAX_AUTO_N: the exact distribution is used up to it.
const ksMaxAutoN = 10000

// KS2Samp is scipy.stats.ks_2samp(a, b) (method "auto", two-sided) for
// sorted, NaN-free samples: it returns scipy's statistic and p-value.
func KS2Samp(a, b []float64) (d, p float64) {
	if len(a) == 0 || len(b) == 0 {
		return math.NaN(), math.NaN()
	}
	return KS2SampPValue(KSStatistic(a, b), len(a), len(b))
}

// KS2SampPValue returns scipy's (possibly rounded) statistic and two-sided
// p-value for statistic d of samples of sizes n1 and n2.
func KS2SampPValue(d float64, n1, n2 int) (float64, float64) {
	if max(n1, n2) <= ksMaxAutoN {
		if dd, p, ok := ksExact2Samp(n1, n2, d); ok {
			return dd, ksClip(p)
		}
	}
	m, n := float64(max(n1, n2)), float64(min(n1, n2))
	en := m * n / (m + n)
	return d, ksClip(KSTwoSF(d, int(math.RoundToEven(en))))
}

// ksExact2Samp is _attempt_exact_2kssamp (two-sided).
func ksExact2Samp(n1, n2 int, d float64) (float64, float64, bool) {
	g := ksGCD(n1, n2)
	lcm := float64((n1 / g) * n2)
	h := int(math.RoundToEven(d * lcm))
	d = float64(h) * 1.0 / lcm
	if h == 0 {
		return d, 1.0, true
	}
	var prob float64
	if n1 == n2 {
		prob = ksProbOutsideSquare(n1, h)
	} else {
		prob = ksOuterProbInside(n1, n2, g, h)
	}
	if math.IsNaN(prob) || math.IsInf(prob, 0) || prob < 0 || prob > 1 {
		return d, prob, false
	}
	return d, prob, true
}

func ksGCD(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// ksProbOutsideSquare is _compute_prob_outside_square: P(D_{n,n} >= h/n)
// by a Horner-like alternating sum.
func ksProbOutsideSquare(n, h int) float64 {
	P := 0.0
	k := int(math.Floor(float64(n) / float64(h)))
	for k >= 0 {
		p1 := 1.0
		for j := 0; j < h; j++ {
			p1 = float64(n-k*h-j) * p1 / float64(n+k*h+j+1)
		}
		P = p1 * (1.0 - P)
		k--
	}
	return 2 * P
}

// ksOuterProbInside is _compute_outer_prob_inside_method (scipy's
// _stats_pythran.py): the share of lattice paths from (0,0) to (m,n) that
// leave the band |x/m − y/n| < h/lcm, computed column by column with
// probabilities rather than counts so nothing overflows.
func ksOuterProbInside(m, n, g, h int) float64 {
	if m < n {
		m, n = n, m
	}
	mg, ng := m/g, n/g
	minj, maxj := 0, min(int(math.Ceil(float64(h)/float64(mg))), n+1)
	curlen := maxj - minj
	lenA := min(2*maxj+2, n+1)
	// A holds, for the current column, the probability that a uniformly
	// random path to each point has already left the band (Viehmann 2021,
	// arXiv:2102.08037): 0 inside the band at x = 0, 1 outside.
	A := make([]float64, lenA)
	for i := range A {
		A[i] = 1
	}
	clear(A[minj:maxj])
	for i := 1; i <= m; i++ {
		lastminj, lastlen := minj, curlen
		minj = max(int(math.Floor(float64(ng*i-h)/float64(mg)))+1, 0)
		minj = min(minj, n)
		maxj = min(int(math.Ceil(float64(ng*i+h)/float64(mg))), n+1)
		if maxj <= minj {
			return 1.0
		}
		val := 1.0
		if minj == 0 {
			val = 0.0
		}
		fi := float64(i)
		for jj := 0; jj < maxj-minj; jj++ {
			j := jj + minj
			val = (A[jj+minj-lastminj]*fi + val*float64(j)) / (fi + float64(j))
			A[jj] = val
		}
		curlen = maxj - minj
		if lastlen > curlen {
			for k := maxj - minj; k < maxj-minj+(lastlen-curlen); k++ {
				A[k] = 1
			}
		}
	}
	return A[maxj-minj-1]
}
