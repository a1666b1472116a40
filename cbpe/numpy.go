package cbpe

// The pieces of numpy and scikit-learn that NannyML's calibration decision
// depends on bit for bit: numpy's legacy RandomState (MT19937 seeded from an
// integer, permutation by Fisher-Yates over rejection-sampled intervals),
// scikit-learn's StratifiedShuffleSplit and numpy's default argsort (the
// introsort "quicksort", whose order of equal keys decides which rows of a
// tie fall on either side of a bin edge). Held to Debian's numpy 1.24.2 and
// scikit-learn 1.2.1, NannyML 0.13.1's versions, by testdata goldens.

import "math"

// mt19937 is numpy's legacy RandomState generator.
type mt19937 struct {
	key [624]uint32
	pos int
}

func newMT19937(seed uint32) *mt19937 {
	m := &mt19937{pos: 624}
	for i := range m.key {
		m.key[i] = seed
		seed = 1812433253*(seed^(seed>>30)) + uint32(i) + 1
	}
	return m
}

func (m *mt19937) next32() uint32 {
	const upper, lower, matrixA = 0x80000000, 0x7fffffff, 0x9908b0df
	if m.pos == 624 {
		for i := range 624 {
			y := (m.key[i] & upper) | (m.key[(i+1)%624] & lower)
			v := m.key[(i+397)%624] ^ (y >> 1)
			if y&1 != 0 {
				v ^= matrixA
			}
			m.key[i] = v
		}
		m.pos = 0
	}
	y := m.key[m.pos]
	m.pos++
	y ^= y >> 11
	y ^= (y << 7) & 0x9d2c5680
	y ^= (y << 15) & 0xefc60000
	y ^= y >> 18
	return y
}

// interval is numpy's random_interval: uniform in [0, max] by masking and
// rejection (max < 2^32 here).
func (m *mt19937) interval(max uint32) uint32 {
	if max == 0 {
		return 0
	}
	mask := max
	mask |= mask >> 1
	mask |= mask >> 2
	mask |= mask >> 4
	mask |= mask >> 8
	mask |= mask >> 16
	for {
		if v := m.next32() & mask; v <= max {
			return v
		}
	}
}

// shuffle is RandomState.shuffle of a 1-d array.
func (m *mt19937) shuffle(x []int) {
	for i := len(x) - 1; i >= 1; i-- {
		j := m.interval(uint32(i))
		x[i], x[j] = x[j], x[i]
	}
}

// permutation is RandomState.permutation(n).
func (m *mt19937) permutation(n int) []int {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	m.shuffle(p)
	return p
}

// approximateMode is scikit-learn's _approximate_mode: the most likely
// class counts of n draws without replacement, ties in the remainders
// broken with rng.
func approximateMode(counts []int, draws int, rng *mt19937) []int {
	total := 0
	for _, c := range counts {
		total += c
	}
	cont := make([]float64, len(counts))
	floored := make([]int, len(counts))
	sumFloor := 0.0
	for i, c := range counts {
		cont[i] = float64(c) / float64(total) * float64(draws)
		f := math.Floor(cont[i])
		floored[i] = int(f)
		sumFloor += f
	}
	need := int(float64(draws) - sumFloor)
	if need <= 0 {
		return floored
	}
	rem := make([]float64, len(counts))
	for i := range rem {
		rem[i] = cont[i] - math.Floor(cont[i])
	}
	// Distinct remainders, largest first.
	values := uniqueSorted(rem)
	for v := len(values) - 1; v >= 0 && need > 0; v-- {
		var inds []int
		for i, r := range rem {
			if r == values[v] {
				inds = append(inds, i)
			}
		}
		add := min(len(inds), need)
		// rng.choice(inds, add, replace=False) = inds[permutation(len)[:add]]
		perm := rng.permutation(len(inds))
		for _, p := range perm[:add] {
			floored[inds[p]]++
		}
		need -= add
	}
	return floored
}

func uniqueSorted(xs []float64) []float64 {
	out := append([]float64(nil), xs...)
	// Few classes: insertion sort.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	k := 0
	for i, v := range out {
		if i == 0 || v != out[k-1] {
			out[k] = v
			k++
		}
	}
	return out[:k]
}

// stratifiedShuffleSplit yields the test indices of scikit-learn's
// StratifiedShuffleSplit(n_splits, test_size, random_state=seed) over
// labels y (class numbers 0..k-1, every class present), and the train
// indices. ok is false when scikit-learn would refuse the split (a class
// with fewer than two members, or too few rows for one per class).
func stratifiedShuffleSplit(y []int, classes, splits int, testSize float64, seed uint32) (trains, tests [][]int, ok bool) {
	n := len(y)
	nTest := int(math.Ceil(testSize * float64(n)))
	nTrain := n - nTest
	counts := make([]int, classes)
	for _, c := range y {
		counts[c]++
	}
	for _, c := range counts {
		if c < 2 {
			return nil, nil, false
		}
	}
	if nTrain < classes || nTest < classes {
		return nil, nil, false
	}
	// Indices per class in row order (argsort with kind="mergesort").
	byClass := make([][]int, classes)
	for i, c := range y {
		byClass[c] = append(byClass[c], i)
	}
	rng := newMT19937(seed)
	for range splits {
		ni := approximateMode(counts, nTrain, rng)
		remaining := make([]int, classes)
		for i := range remaining {
			remaining[i] = counts[i] - ni[i]
		}
		ti := approximateMode(remaining, nTest, rng)
		var train, test []int
		for c := range classes {
			perm := rng.permutation(counts[c])
			for k, p := range perm {
				switch {
				case k < ni[c]:
					train = append(train, byClass[c][p])
				case k < ni[c]+ti[c]:
					test = append(test, byClass[c][p])
				}
			}
		}
		rng.shuffle(train)
		rng.shuffle(test)
		trains = append(trains, train)
		tests = append(tests, test)
	}
	return trains, tests, true
}

// argsort returns numpy.argsort(v) with the default kind ("quicksort":
// numpy's introsort, not stable). v must hold no NaN.
func argsort(v []float64) []int {
	idx := make([]int, len(v))
	for i := range idx {
		idx[i] = i
	}
	aquicksort(v, idx)
	return idx
}

const smallQuicksort = 15

func aquicksort(v []float64, tosort []int) {
	num := len(tosort)
	if num < 2 {
		return
	}
	type span struct{ l, r, depth int }
	var stack []span
	pl, pr := 0, num-1
	cdepth := msb(uint(num)) * 2
	for {
		if cdepth < 0 {
			aheapsort(v, tosort[pl:pr+1])
		} else {
			for pr-pl > smallQuicksort {
				pm := pl + (pr-pl)>>1
				if v[tosort[pm]] < v[tosort[pl]] {
					tosort[pm], tosort[pl] = tosort[pl], tosort[pm]
				}
				if v[tosort[pr]] < v[tosort[pm]] {
					tosort[pr], tosort[pm] = tosort[pm], tosort[pr]
				}
				if v[tosort[pm]] < v[tosort[pl]] {
					tosort[pm], tosort[pl] = tosort[pl], tosort[pm]
				}
				vp := v[tosort[pm]]
				pi, pj := pl, pr-1
				tosort[pm], tosort[pj] = tosort[pj], tosort[pm]
				for {
					pi++
					for v[tosort[pi]] < vp {
						pi++
					}
					pj--
					for vp < v[tosort[pj]] {
						pj--
					}
					if pi >= pj {
						break
					}
					tosort[pi], tosort[pj] = tosort[pj], tosort[pi]
				}
				pk := pr - 1
				tosort[pi], tosort[pk] = tosort[pk], tosort[pi]
				cdepth--
				if pi-pl < pr-pi {
					stack = append(stack, span{pi + 1, pr, cdepth})
					pr = pi - 1
				} else {
					stack = append(stack, span{pl, pi - 1, cdepth})
					pl = pi + 1
				}
			}
			for pi := pl + 1; pi <= pr; pi++ {
				vi := tosort[pi]
				vp := v[vi]
				pj, pk := pi, pi-1
				for pj > pl && vp < v[tosort[pk]] {
					tosort[pj] = tosort[pk]
					pj--
					pk--
				}
				tosort[pj] = vi
			}
		}
		if len(stack) == 0 {
			return
		}
		s := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		pl, pr, cdepth = s.l, s.r, s.depth
	}
}

// aheapsort is numpy's fallback when the introsort recursion is too deep.
func aheapsort(v []float64, tosort []int) {
	n := len(tosort)
	a := func(i int) *int { return &tosort[i-1] } // one-based
	for l := n >> 1; l > 0; l-- {
		tmp := *a(l)
		i, j := l, l<<1
		for j <= n {
			if j < n && v[*a(j)] < v[*a(j + 1)] {
				j++
			}
			if v[tmp] < v[*a(j)] {
				*a(i) = *a(j)
				i = j
				j += j
			} else {
				break
			}
		}
		*a(i) = tmp
	}
	for n > 1 {
		tmp := *a(n)
		*a(n) = *a(1)
		n--
		i, j := 1, 2
		for j <= n {
			if j < n && v[*a(j)] < v[*a(j + 1)] {
				j++
			}
			if v[tmp] < v[*a(j)] {
				*a(i) = *a(j)
				i = j
				j += j
			} else {
				break
			}
		}
		*a(i) = tmp
	}
}

// msb is numpy's npy_get_msb: the index of the highest set bit.
func msb(n uint) int {
	d := 0
	for n > 1 {
		n >>= 1
		d++
	}
	return d
}
