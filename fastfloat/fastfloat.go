// Package fastfloat parses decimal numbers as strconv.ParseFloat does, bit
// for bit, without allocating, taking Clinger's fast path for the plain
// decimals that CSV files and JSON events are made of. Deciding what text is
// a number (null tokens, trimming) is left to the readers and decoders.
package fastfloat

import (
	"errors"
	"strconv"
	"unsafe"
)

// Pow10 holds the exactly representable powers of ten, 1e0 … 1e22.
var Pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// Parse parses a decimal number, bit-for-bit equal to
// strconv.ParseFloat(s, 64). Plain decimals with at most 19 significant
// digits whose mantissa fits in 53 bits and whose exponent is within ±22 take
// Clinger's fast path: one correctly rounded multiply or divide of exact
// operands. Everything else (exponents, long mantissas, inf, hex) goes to
// strconv without allocating. Overflow parses as ±Inf.
func Parse(b []byte) (float64, bool) {
	i, neg := 0, false
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		neg = b[0] == '-'
		i++
	}
	var mant uint64
	exp, digits, seen := 0, 0, false
	for ; i < len(b) && b[i]-'0' <= 9; i++ {
		mant = mant*10 + uint64(b[i]-'0')
		if mant != 0 {
			digits++
		}
		seen = true
	}
	if i < len(b) && b[i] == '.' {
		for i++; i < len(b) && b[i]-'0' <= 9; i++ {
			mant = mant*10 + uint64(b[i]-'0')
			if mant != 0 {
				digits++
			}
			exp--
			seen = true
		}
	}
	if i == len(b) && seen && digits <= 19 && mant <= 1<<53 && exp >= -22 {
		f := float64(mant)
		if exp < 0 {
			f /= Pow10[-exp]
		}
		if neg {
			f = -f
		}
		return f, true
	}
	return parseSlow(b)
}

func parseSlow(b []byte) (float64, bool) {
	f, err := strconv.ParseFloat(unsafe.String(unsafe.SliceData(b), len(b)), 64)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) && ne.Err == strconv.ErrRange {
			return f, true // ±Inf or a denormal underflow, as strconv rounds it
		}
		return 0, false
	}
	return f, true
}
