package calibrate

import (
	"math"
	"math/bits"
	"math/rand/v2"
)

// aliasTable draws an index with probability proportional to its weight
// with one 64-bit random number (Vose's alias method): the high word of
// r·n picks a column, the low word decides between it and its alias.
type aliasTable struct {
	keep  []uint64 // keep column i when the low word is below keep[i]
	alias []int32
	// scratch for build
	scaled       []float64
	small, large []int32
}

func (t *aliasTable) build(w []float64) {
	n := len(w)
	t.keep = growU(t.keep, n)
	t.alias = growI(t.alias, n)
	total := 0.0
	for _, x := range w {
		total += x
	}
	if cap(t.scaled) < n {
		t.scaled = make([]float64, n)
	}
	scaled, small, large := t.scaled[:n], t.small[:0], t.large[:0]
	for i, x := range w {
		scaled[i] = x * float64(n) / total
		t.alias[i] = int32(i)
		if scaled[i] < 1 {
			small = append(small, int32(i))
		} else {
			large = append(large, int32(i))
		}
	}
	for len(small) > 0 && len(large) > 0 {
		s, l := small[len(small)-1], large[len(large)-1]
		small = small[:len(small)-1]
		t.keep[s] = toThreshold(scaled[s])
		t.alias[s] = l
		scaled[l] += scaled[s] - 1
		if scaled[l] < 1 {
			large = large[:len(large)-1]
			small = append(small, l)
		}
	}
	// What is left has probability 1 up to rounding.
	for _, i := range small {
		t.keep[i] = math.MaxUint64
	}
	for _, i := range large {
		t.keep[i] = math.MaxUint64
	}
	t.small, t.large = small, large
}

func (t *aliasTable) draw(r uint64) int {
	hi, lo := bits.Mul64(r, uint64(len(t.keep)))
	if lo < t.keep[hi] {
		return int(hi)
	}
	return int(t.alias[hi])
}

// toThreshold maps q in [0, 1] to a threshold on a uniform 64-bit word.
func toThreshold(q float64) uint64 {
	if q >= 1 {
		return math.MaxUint64
	}
	if q <= 0 {
		return 0
	}
	return uint64(math.Ldexp(q, 64))
}

func growU(s []uint64, n int) []uint64 {
	if cap(s) < n {
		return make([]uint64, n)
	}
	return s[:n]
}

func growI(s []int32, n int) []int32 {
	if cap(s) < n {
		return make([]int32, n)
	}
	return s[:n]
}

// maxTable bounds one Poisson table; larger means use PTRS.
const maxTable = 1024

// poisson draws Poisson(mean) counts. Up to moderate means it is an alias
// table over the probabilities from the mode outward until they fall below
// 1e-20 of the mode's (the distribution conditioned on that range: off by
// less than 1e-18 in total), one random number per draw; larger means use
// Hörmann's PTRS, which is exact.
type poisson struct {
	lo      int // table: the count of entry 0
	table   aliasTable
	w, down []float64
	ptrs    ptrs
	big     bool // draw by PTRS
}

func (p *poisson) set(mean float64) {
	p.big = false
	if mean <= 0 {
		p.lo = 0
		p.table.build(append(p.w[:0], 1))
		return
	}
	if mean >= 10 && 2*10*math.Sqrt(mean)+40 > maxTable {
		p.big, p.ptrs = true, newPTRS(mean)
		return
	}
	mode := int(mean)
	// Relative probabilities around the mode by the ratio recurrences.
	down := p.down[:0]
	for k, w := mode, 1.0; k > 0; k-- {
		w *= float64(k) / mean // P(k−1)/P(k)
		if w < 1e-20 {
			break
		}
		down = append(down, w)
	}
	p.down = down
	p.lo = mode - len(down)
	p.w = p.w[:0]
	for i := len(down) - 1; i >= 0; i-- {
		p.w = append(p.w, down[i])
	}
	p.w = append(p.w, 1)
	for k, w := mode, 1.0; k < mode+maxTable; k++ {
		w *= mean / float64(k+1) // P(k+1)/P(k)
		if w < 1e-20 {
			break
		}
		p.w = append(p.w, w)
	}
	p.table.build(p.w)
}

func (p *poisson) draw(r *rand.PCG) float64 {
	if p.big {
		return p.ptrs.draw(r)
	}
	return float64(p.lo + p.table.draw(r.Uint64()))
}

// ptrs is Hörmann's transformed rejection with squeeze for means ≥ 10
// (W. Hörmann 1993, as numpy's random_poisson_ptrs).
type ptrs struct {
	mean, logMean, b, a, logInvAlpha, vr float64
}

func newPTRS(mean float64) ptrs {
	sm := math.Sqrt(mean)
	b := 0.931 + 2.53*sm
	return ptrs{mean: mean, logMean: math.Log(mean), b: b, a: -0.059 + 0.02483*b,
		logInvAlpha: math.Log(1.1239 + 1.1328/(b-3.4)), vr: 0.9277 - 3.6224/(b-2)}
}

func (p *ptrs) draw(r *rand.PCG) float64 {
	// Each round accepts with probability above 0.9; 1024 rejections in a
	// row do not happen.
	for range 1024 {
		u := unit(r) - 0.5
		v := unit(r)
		us := 0.5 - math.Abs(u)
		k := math.Floor((2*p.a/us+p.b)*u + p.mean + 0.43)
		if us >= 0.07 && v <= p.vr {
			return k
		}
		if k < 0 || us < 0.013 && v > us {
			continue
		}
		lg, _ := math.Lgamma(k + 1)
		if math.Log(v)+p.logInvAlpha-math.Log(p.a/(us*us)+p.b) <= -p.mean+k*p.logMean-lg {
			return k
		}
	}
	return math.Round(p.mean)
}

// unit is a uniform float64 in [0, 1).
func unit(r *rand.PCG) float64 { return float64(r.Uint64()>>11) * 0x1p-53 }

// poissonOnce draws one Poisson(mean) count without a table (the
// population bootstrap draws each mean once per run).
func poissonOnce(r *rand.PCG, mean float64) float64 {
	if mean <= 0 {
		return 0
	}
	if mean >= 10 {
		p := newPTRS(mean)
		return p.draw(r)
	}
	// Inversion by sequential search; the cap only guards rounding.
	u := unit(r)
	k, prob := 0.0, math.Exp(-mean)
	cdf := prob
	for u > cdf && k < 1000 {
		k++
		prob *= mean / k
		cdf += prob
	}
	return k
}
