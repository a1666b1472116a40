package stats

import (
	"math"
	"slices"
)

// radixMin is the size below which a comparison sort wins.
const radixMin = 256

// SortFloat64s sorts NaN-free xs ascending in O(n): an LSD radix sort, 8
// passes of 8 bits, on keys that order like the floats (sign bit flipped
// for positives, all bits for negatives). Passes whose byte is the same in
// every key are skipped, which for real columns is usually the top one or
// two. scratch is reused when large enough and returned for pooling.
// −0 sorts before +0; both compare equal in every statistic.
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
	var counts [8][256]int
	for i, x := range xs {
		k := math.Float64bits(x)
		k ^= uint64(int64(k)>>63) | 1<<63
		keys[i] = k
		for p := range 8 {
			counts[p][byte(k>>(8*p))]++
		}
	}
	for p := range 8 {
		c := &counts[p]
		if c[byte(keys[0]>>(8*p))] == n {
			continue // every key has the same byte here
		}
		sum := 0
		for i := range c {
			c[i], sum = sum, sum+c[i]
		}
		shift := uint(8 * p)
		for _, k := range keys {
			b := byte(k >> shift)
			tmp[c[b]] = k
			c[b]++
		}
		keys, tmp = tmp, keys
	}
	for i, k := range keys {
		// Undo the key transform: negatives had every bit flipped.
		mask := uint64(int64(^k)>>63) | 1<<63
		xs[i] = math.Float64frombits(k ^ mask)
	}
	return scratch
}
