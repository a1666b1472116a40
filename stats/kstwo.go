package stats

import "math"

// This file ports scipy 1.10's scipy/stats/_ksstats.py (kolmogn, the CDF and
// survival function of the two-sided one-sample KS statistic D_n, i.e.
// scipy.stats.kstwo) following Simard & L'Ecuyer 2011, in the same order of
// floating-point operations so p-values agree with scipy to ~1e-12.

const (
	ksE128   = 128
	ksMinLog = -708
)

var (
	ksEP128   = math.Ldexp(1, ksE128)
	ksEM128   = math.Ldexp(1, -ksE128)
	ksSqrt2Pi = math.Sqrt(2 * math.Pi)
	ksLog2Pi  = math.Log(2 * math.Pi)
	ksSqrt3   = math.Sqrt(3)
	ksPi2     = math.Pi * math.Pi
	ksPi4     = ksPi2 * ksPi2
	ksPi6     = ksPi4 * ksPi2
)

var ksStirling = [...]float64{-2.955065359477124183e-2, 6.4102564102564102564e-3,
	-1.9175269175269175269e-3, 8.4175084175084175084e-4,
	-5.952380952380952381e-4, 7.9365079365079365079e-4,
	-2.7777777777777777778e-3, 8.3333333333333333333e-2}

func ksLogNFactorialDivNPowN(n float64) float64 {
	rn := 1.0 / n
	// np.polyval: Horner from the highest-degree coefficient.
	x := rn / n
	p := 0.0
	for _, c := range ksStirling {
		p = p*x + c
	}
	return math.Log(n)/2 - n + ksLog2Pi/2 + rn*p
}

func ksClip(p float64) float64 { return math.Max(0, math.Min(1, p)) }

func ksSelect(cdfprob, sfprob float64, cdf bool) float64 {
	if cdf {
		return ksClip(cdfprob)
	}
	return ksClip(sfprob)
}

// KSTwoSF is scipy.stats.kstwo.sf(d, n): P(D_n >= d).
func KSTwoSF(d float64, n int) float64 { return ksKolmogn(n, d, false) }

func ksKolmogn(n int, x float64, cdf bool) float64 {
	if n <= 0 {
		return math.NaN()
	}
	if x >= 1.0 {
		return ksSelect(1.0, 0.0, cdf)
	}
	if x <= 0.0 {
		return ksSelect(0.0, 1.0, cdf)
	}
	fn := float64(n)
	t := fn * x
	if t <= 1.0 { // Ruben-Gambino: 1/2n <= x <= 1/n
		if t <= 0.5 {
			return ksSelect(0.0, 1.0, cdf)
		}
		var prob float64
		if n <= 140 {
			// np.prod(np.arange(1, n+1) * (1.0/n) * (2*t - 1))
			prob = 1.0
			for i := 1; i <= n; i++ {
				prob *= float64(i) * (1.0 / fn) * (2*t - 1)
			}
		} else {
			prob = math.Exp(ksLogNFactorialDivNPowN(fn) + fn*math.Log(2*t-1))
		}
		return ksSelect(prob, 1.0-prob, cdf)
	}
	if t >= fn-1 { // Ruben-Gambino
		prob := 2 * math.Pow(1.0-x, fn)
		return ksSelect(1-prob, prob, cdf)
	}
	if x >= 0.5 { // Exact: 2 * smirnov
		prob := 2 * ksSmirnov(n, x)
		return ksSelect(1.0-prob, prob, cdf)
	}
	nxsquared := t * x
	if n <= 140 {
		if nxsquared <= 0.754693 {
			prob := ksDMTW(n, x)
			return ksSelect(prob, 1.0-prob, cdf)
		}
		if nxsquared <= 4 {
			prob := ksPomeranz(n, x)
			return ksSelect(prob, 1.0-prob, cdf)
		}
		prob := 2 * ksSmirnov(n, x)
		return ksSelect(1.0-prob, prob, cdf)
	}
	if !cdf {
		if nxsquared >= 370.0 {
			return 0.0
		}
		if nxsquared >= 2.2 {
			return ksClip(2 * ksSmirnov(n, x))
		}
	}
	var cdfprob float64
	switch {
	case nxsquared >= 18.0:
		cdfprob = 1.0
	case n <= 100000 && fn*math.Pow(x, 1.5) <= 1.4:
		cdfprob = ksDMTW(n, x)
	default:
		cdfprob = ksPelzGood(n, x)
	}
	return ksSelect(cdfprob, 1.0-cdfprob, cdf)
}

// ksDMTW is _kolmogn_DMTW: Durbin's matrix algorithm as improved by
// Marsaglia, Tsang and Wang; returns the CDF.
func ksDMTW(n int, d float64) float64 {
	if d >= 1.0 {
		return 1
	}
	fn := float64(n)
	nd := fn * d
	if nd <= 0.5 {
		return 0
	}
	k := int(math.Ceil(nd))
	h := float64(k) - nd
	m := 2*k - 1
	H := make([]float64, m*m)
	v := make([]float64, m)
	w := make([]float64, m)
	for j := 1; j <= m; j++ {
		v[j-1] = 1.0 - math.Pow(h, float64(j))
	}
	fac := 1.0
	for j := 1; j <= m; j++ {
		w[j-1] = fac
		fac /= float64(j)
		v[j-1] *= fac
	}
	tt := math.Pow(math.Max(2*h-1.0, 0), float64(m)) - 2*math.Pow(h, float64(m))
	v[m-1] = (1.0 + tt) * fac
	for i := 1; i < m; i++ {
		// H[i-1:, i] = w[:m-i+1]
		for r := i - 1; r < m; r++ {
			H[r*m+i] = w[r-(i-1)]
		}
	}
	for r := range m {
		H[r*m] = v[r]
	}
	for c := range m {
		H[(m-1)*m+c] = v[m-1-c]
	}
	Hpwr := make([]float64, m*m)
	for i := range m {
		Hpwr[i*m+i] = 1
	}
	tmp := make([]float64, m*m)
	expnt, Hexpnt := 0, 0
	for nn := n; nn > 0; nn /= 2 {
		if nn%2 == 1 {
			ksMatmul(tmp, Hpwr, H, m)
			Hpwr, tmp = tmp, Hpwr
			expnt += Hexpnt
		}
		ksMatmul(tmp, H, H, m)
		H, tmp = tmp, H
		Hexpnt *= 2
		if math.Abs(H[(k-1)*m+k-1]) > ksEP128 {
			for i := range H {
				H[i] /= ksEP128
			}
			Hexpnt += ksE128
		}
	}
	p := Hpwr[(k-1)*m+k-1]
	for i := 1; i <= n; i++ {
		p = float64(i) * p / fn
		if math.Abs(p) < ksEM128 {
			p *= ksEP128
			expnt -= ksE128
		}
	}
	if expnt != 0 {
		p = math.Ldexp(p, expnt)
	}
	return ksClip(p)
}

// ksMatmul sets dst = a·b for m×m row-major matrices (numpy matmul sums in
// index order; BLAS may block differently, which moves only the last bits).
func ksMatmul(dst, a, b []float64, m int) {
	for i := range m {
		row := dst[i*m : (i+1)*m]
		clear(row)
		for l := range m {
			ail := a[i*m+l]
			if ail == 0 {
				continue
			}
			bl := b[l*m : (l+1)*m]
			for j := range row {
				row[j] += ail * bl[j]
			}
		}
	}
}

func ksPomeranzJ1J2(i, n, ll, ceilf, roundf int) (int, int) {
	var j1, j2 int
	if i == 0 {
		j1, j2 = -ll-ceilf-1, ll+ceilf-1
	} else {
		ip1div2, ip1mod2 := (i+1)/2, (i+1)%2
		if ip1mod2 == 0 { // i is odd
			if ip1div2 == n+1 {
				j1, j2 = n-ll-ceilf-1, n+ll+ceilf-1
			} else {
				j1, j2 = ip1div2-1-ll-roundf-1, ip1div2+ll-1+ceilf-1
			}
		} else {
			j1, j2 = ip1div2-1-ll-1, ip1div2+ll+roundf-1
		}
	}
	return max(j1+2, 0), min(j2, n)
}

// ksPomeranz is _kolmogn_Pomeranz; returns the CDF.
func ksPomeranz(n int, x float64) float64 {
	fn := float64(n)
	t := fn * x
	ll := int(math.Floor(t))
	f := t - float64(ll)
	g := math.Min(f, 1.0-f)
	ceilf, roundf := 0, 0
	if f > 0 {
		ceilf = 1
	}
	if f > 0.5 {
		roundf = 1
	}
	npwrs := 2 * (ll + 1)
	gpower := make([]float64, npwrs)
	twogpower := make([]float64, npwrs)
	onem2gpower := make([]float64, npwrs)
	gpower[0], twogpower[0], onem2gpower[0] = 1, 1, 1
	expnt := 0
	gOverN, twoGOverN, oneMinusTwoGOverN := g/fn, 2*g/fn, (1-2*g)/fn
	for m := 1; m < npwrs; m++ {
		fm := float64(m)
		gpower[m] = gpower[m-1] * gOverN / fm
		twogpower[m] = twogpower[m-1] * twoGOverN / fm
		onem2gpower[m] = onem2gpower[m-1] * oneMinusTwoGOverN / fm
	}
	V0 := make([]float64, npwrs)
	V1 := make([]float64, npwrs)
	V1[0] = 1
	V0s, V1s := 0, 0
	j1, _ := ksPomeranzJ1J2(0, n, ll, ceilf, roundf)
	conv := make([]float64, 2*npwrs)
	for i := 1; i < 2*n+2; i++ {
		k1 := j1
		V0, V1 = V1, V0
		V0s, V1s = V1s, V0s
		clear(V1)
		var j2 int
		j1, j2 = ksPomeranzJ1J2(i, n, ll, ceilf, roundf)
		var pwrs []float64
		switch {
		case i == 1 || i == 2*n+1:
			pwrs = gpower
		case i%2 == 1:
			pwrs = twogpower
		default:
			pwrs = onem2gpower
		}
		ln2 := j2 - k1 + 1
		if ln2 > 0 {
			a := V0[k1-V0s : k1-V0s+ln2]
			b := pwrs[:ln2]
			// np.convolve(a, b) full mode, summed in numpy's order.
			full := conv[:len(a)+len(b)-1]
			ksConvolve(full, a, b)
			convStart := j1 - k1
			convLen := j2 - j1 + 1
			copy(V1[:convLen], full[convStart:convStart+convLen])
			mx := math.Inf(-1)
			for _, v := range V1 {
				mx = math.Max(mx, v)
			}
			if 0 < mx && mx < ksEM128 {
				for i := range V1 {
					V1[i] *= ksEP128
				}
				expnt -= ksE128
			}
			V1s = V0s + j1 - k1
		}
	}
	ans := V1[n-V1s]
	for m := 1; m <= n; m++ {
		if math.Abs(ans) > ksEP128 {
			ans *= ksEM128
			expnt += ksE128
		}
		ans *= float64(m)
	}
	if expnt != 0 {
		ans = math.Ldexp(ans, expnt)
	}
	return ksClip(ans)
}

// ksConvolve writes the full discrete convolution of a and b to dst.
func ksConvolve(dst, a, b []float64) {
	clear(dst)
	for i, av := range a {
		for j, bv := range b {
			dst[i+j] += av * bv
		}
	}
}

// ksPelzGood is _kolmogn_PelzGood, the Pelz-Good asymptotic series; CDF.
func ksPelzGood(n int, x float64) float64 {
	if x <= 0.0 {
		return 0
	}
	if x >= 1.0 {
		return 1
	}
	fn := float64(n)
	z := math.Sqrt(fn) * x
	zsquared, zthree, zfour, zsix := z*z, z*z*z, math.Pow(z, 4), math.Pow(z, 6)
	qlog := -ksPi2 / 8 / zsquared
	if qlog < ksMinLog {
		return 0
	}
	q := math.Exp(qlog)
	k1a := -zsquared
	k1b := ksPi2 / 4
	k2a := 6*zsix + 2*zfour
	k2b := (2*zfour - 5*zsquared) * ksPi2 / 4
	k2c := ksPi4 * (1 - 2*zsquared) / 16
	k3d := ksPi6 * (5 - 30*zsquared) / 64
	k3c := ksPi4 * (-60*zsquared + 212*zfour) / 16
	k3b := ksPi2 * (135*zfour - 96*zsix) / 4
	k3a := -30*zsix - 90*math.Pow(z, 8)
	var K [4]float64
	maxk := int(math.Ceil(16 * z / math.Pi))
	for k := maxk; k > 0; k-- {
		m := float64(2*k - 1)
		msquared, mfour, msix := m*m, math.Pow(m, 4), math.Pow(m, 6)
		qpower := math.Pow(q, float64(8*k))
		coeffs := [4]float64{1.0,
			k1a + k1b*msquared,
			k2a + k2b*msquared + k2c*mfour,
			k3a + k3b*msquared + k3c*mfour + k3d*msix}
		for i := range K {
			K[i] *= qpower
			K[i] += coeffs[i]
		}
	}
	div := [4]float64{z, 6 * zfour, 72 * math.Pow(z, 7), 6480 * math.Pow(z, 10)}
	for i := range K {
		K[i] *= q
		K[i] *= ksSqrt2Pi
		K[i] /= div[i]
	}
	q = math.Exp(-ksPi2 / 2 / zsquared)
	sqrt3z := ksSqrt3 * z
	var k2extra, k3extra float64
	for k := maxk; k > 0; k-- { // np.sum over ks = arange(maxk, 0, -1)
		fk := float64(k)
		ksq := fk * fk
		qp := math.Pow(q, ksq)
		k2extra += ksq * qp
		kspi := math.Pi * fk
		k3extra += (sqrt3z + kspi) * (sqrt3z - kspi) * ksq * qp
	}
	k2extra *= ksPi2 * ksSqrt2Pi / (-36 * zthree)
	K[2] += k2extra
	k3extra *= ksPi2 * ksSqrt2Pi / (216 * zsix)
	K[3] += k3extra
	for i := range K {
		K[i] /= math.Pow(fn, float64(i)/2.0)
	}
	return K[0] + K[1] + K[2] + K[3]
}

// ksSmirnov is scipy.special.smirnov(n, x) = P(D+_n >= x), by the exact
// Birnbaum-Tingey sum x·Σ_j C(n,j)(1−x−j/n)^(n−j)(x+j/n)^(j−1), j ≤ n(1−x).
// Every term is positive, so summing them in log space loses nothing to
// cancellation; the unimodal terms are summed until they stop mattering.
func ksSmirnov(n int, x float64) float64 {
	if x <= 0 {
		return 1
	}
	if x >= 1 {
		return 0
	}
	fn := float64(n)
	jmax := int(math.Floor(fn * (1 - x)))
	lgn, _ := math.Lgamma(fn + 1)
	var sum, peak float64
	for j := 0; j <= jmax; j++ {
		fj := float64(j)
		a := 1 - x - fj/fn
		b := x + fj/fn
		lgj, _ := math.Lgamma(fj + 1)
		lgnj, _ := math.Lgamma(fn - fj + 1)
		var la float64
		if a > 0 {
			la = (fn - fj) * math.Log(a)
		} else if fn-fj == 0 {
			la = 0
		} else {
			continue
		}
		term := math.Exp(lgn - lgj - lgnj + la + (fj-1)*math.Log(b))
		sum += term
		if term > peak {
			peak = term
		} else if term < sum*1e-17 {
			break
		}
	}
	return ksClip(x * sum)
}
