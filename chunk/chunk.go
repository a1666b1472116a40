// Package chunk splits a run of rows into consecutive chunks the way NannyML's
// size- and count-based chunkers do, so batch reports (`check`, `estimate`)
// can be compared chunk for chunk with NannyML's.
//
// It only computes row ranges; reading rows and computing statistics per chunk
// is left to the callers.
package chunk

import "fmt"

// Range is one chunk: rows Start..End inclusive, as NannyML prints them
// ("[0:4999]"), numbered from 0 in file order.
type Range struct {
	Index int
	Start int
	End   int
}

// Rows is the number of rows in the chunk.
func (r Range) Rows() int { return r.End - r.Start + 1 }

// String formats the range as NannyML labels chunks: "[start:end]".
func (r Range) String() string { return fmt.Sprintf("[%d:%d]", r.Start, r.End) }

// BySize splits n rows into chunks of size rows; a shorter last chunk holds the
// remainder and is kept (NannyML's SizeBasedChunker with incomplete="keep").
// n = 0 gives no chunks.
func BySize(n, size int) ([]Range, error) {
	if size <= 0 {
		return nil, fmt.Errorf("chunk: chunk size must be positive, got %d", size)
	}
	if n < 0 {
		return nil, fmt.Errorf("chunk: negative row count %d", n)
	}
	out := make([]Range, 0, (n+size-1)/size)
	for start := 0; start < n; start += size {
		end := min(start+size, n) - 1
		out = append(out, Range{Index: len(out), Start: start, End: end})
	}
	return out, nil
}

// ByCount splits n rows into chunks of ⌊n/k⌋ rows plus the remainder as a last,
// shorter chunk (NannyML's CountBasedChunker: 8,232 rows with k = 10 give ten
// chunks of 823 and one of 2). Fewer rows than k is an error: the chunks would
// be empty.
func ByCount(n, k int) ([]Range, error) {
	if k <= 0 {
		return nil, fmt.Errorf("chunk: chunk count must be positive, got %d", k)
	}
	if n < k {
		return nil, fmt.Errorf("chunk: %d rows cannot make %d chunks", n, k)
	}
	return BySize(n, n/k)
}

// Whole is the single chunk covering all n rows (no chunking asked for).
func Whole(n int) []Range {
	if n <= 0 {
		return nil
	}
	return []Range{{Index: 0, Start: 0, End: n - 1}}
}
