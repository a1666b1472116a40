//go:build !linux

package dataset

const hugePage = 2 << 20

// MakeFloats returns a zeroed slice of n float64s for column data.
func MakeFloats(n int) []float64 { return make([]float64, n) }

func makeBytes(n int) []byte { return make([]byte, n) }
