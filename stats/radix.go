package stats

import (
	"math"
	"slices"
)

// radixMin is the size below which a comparison sort wins.
const radixMin = 256

// Radix digits: 6 passes of 11 bits (the last 9) keep each pass's 2048
// counters in L1 and take two fewer scatters than bytes.
const (
	radixBits   = 11
	radixPasses = (64 + radixBits - 1) / radixBits
	radixMask   = 1<<radixBits - 1
)

// SortFloat64s sorts NaN-free xs ascending in O(n): an LSD radix sort on
// keys that order like the floats (sign bit flipped for positives, all bits
// for negatives). Passes whose digit is the same in every key are skipped,
// which for real columns is usually the top one. scratch is reused when
// large enough and returned for pooling. −0 sorts before +0; both compare
// equal in every statistic.
func SortFloat64s(xs []float64, scratch []uint64) []uint64 {
	n := len(xs)
	if n < radixMin {
		slices.Sort(xs)
		return scratch
	}
	if cap(scratch) < 2*n {
		scratch = make([]uint64, 2*n)
	}
	keys, tmp := scratch[:n], scratch[n:2*n]
	var counts [radixPasses][1 << radixBits]int
	for i, x := range xs {
		k := math.Float64bits(x)
		k ^= uint64(int64(k)>>63) | 1<<63
		keys[i] = k
		for p := range radixPasses {
			counts[p][(k>>(radixBits*p))&radixMask]++
		}
	}
	var active [radixPasses]int
	na := 0
	for p := range radixPasses {
		if counts[p][(keys[0]>>(radixBits*p))&radixMask] != n {
			active[na] = p // skip digits that are the same in every key
			na++
		}
	}
	for a, p := range active[:na] {
		c := &counts[p]
		sum := 0
		for i := range c {
			c[i], sum = sum, sum+c[i]
		}
		shift := uint(radixBits * p)
		if a == na-1 {
			// The last pass writes the floats themselves: no separate
			// pass to undo the key transform (negatives had every bit
			// flipped, positives the sign bit).
			for _, k := range keys {
				d := (k >> shift) & radixMask
				xs[c[d]] = math.Float64frombits(k ^ (uint64(int64(^k)>>63) | 1<<63))
				c[d]++
			}
			break
		}
		for _, k := range keys {
			d := (k >> shift) & radixMask
			tmp[c[d]] = k
			c[d]++
		}
		keys, tmp = tmp, keys
	}
	// With no active pass every key is equal and xs is already sorted.
	return scratch
}
