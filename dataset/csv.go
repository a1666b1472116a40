package dataset

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"
)

// errUnterminated reports a quoted field that runs to the end of the input.
var errUnterminated = errors.New("unterminated quoted field")

// splitRecord splits the record starting at data[pos:] into fields (RFC 4180:
// quoted fields with "" escapes may hold commas and newlines; CRLF or LF
// ends a record). Fields alias data unless they needed unescaping. It
// returns the fields, the position after the record and how many newlines
// the record spanned.
func splitRecord(dst [][]byte, data []byte, pos int) ([][]byte, int, int, error) {
	dst = dst[:0]
	lines := 0
	for {
		if pos < len(data) && data[pos] == '"' {
			// Quoted field.
			var buf []byte
			start, i := pos+1, pos+1
			for {
				j := bytes.IndexByte(data[i:], '"')
				if j < 0 {
					return dst, len(data), lines, errUnterminated
				}
				lines += bytes.Count(data[i:i+j], []byte{'\n'})
				if i+j+1 < len(data) && data[i+j+1] == '"' {
					buf = append(buf, data[i:i+j+1]...) // keep one quote
					i += j + 2
					continue
				}
				if buf == nil {
					dst = append(dst, data[start:i+j])
				} else {
					dst = append(dst, append(buf, data[i:i+j]...))
				}
				pos = i + j + 1
				break
			}
			// Anything after the closing quote up to the delimiter is kept
			// literally (lenient, like encoding/csv's LazyQuotes).
			k := pos
			for k < len(data) && data[k] != ',' && data[k] != '\n' {
				k++
			}
			if end := trimCR(data, pos, k); end > pos {
				dst[len(dst)-1] = append(dst[len(dst)-1][:len(dst[len(dst)-1]):len(dst[len(dst)-1])], data[pos:end]...)
			}
			pos = k
		} else {
			k := pos
			for k < len(data) && data[k] != ',' && data[k] != '\n' {
				k++
			}
			dst = append(dst, data[pos:trimCR(data, pos, k)])
			pos = k
		}
		if pos >= len(data) {
			return dst, pos, lines, nil
		}
		if data[pos] == '\n' {
			return dst, pos + 1, lines + 1, nil
		}
		pos++ // comma
	}
}

// trimCR drops a '\r' before a line end at k.
func trimCR(data []byte, start, k int) int {
	if k > start && data[k-1] == '\r' && (k == len(data) || data[k] == '\n') {
		return k - 1
	}
	return k
}

// colBuf accumulates one column of one chunk.
type colBuf struct {
	kind    Kind
	num     []float64
	str     []string
	null    []bool
	hasNull bool
	invalid int
	nulls   int
	intern  map[string]string
}

func (c *colBuf) add(cell []byte) {
	if c.kind == KindNumeric {
		x := math.NaN()
		if isNullToken(cell) {
			c.nulls++
		} else if v, ok := parseFloat(trimSpace(cell)); ok {
			x = v
			if v != v {
				c.nulls++ // a NaN literal such as "nan" spelled otherwise
			}
		} else {
			c.invalid++
		}
		c.num = append(c.num, x)
		return
	}
	null := len(cell) == 0
	s := ""
	if !null {
		var ok bool
		if s, ok = c.intern[string(cell)]; !ok {
			s = string(cell)
			c.intern[s] = s
		}
	} else {
		c.nulls++
		c.hasNull = true
	}
	c.str = append(c.str, s)
	c.null = append(c.null, null)
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// chunkResult is one worker's output.
type chunkResult struct {
	cols    []*colBuf
	rows    int
	lines   int   // newlines consumed in the chunk
	errLine int   // line within the chunk (0-based) of err
	err     error // first ragged row or bad quote
}

func parseChunk(data []byte, kinds []Kind, sizeHint int) *chunkResult {
	r := &chunkResult{cols: make([]*colBuf, len(kinds))}
	for i, k := range kinds {
		c := &colBuf{kind: k}
		if k == KindNumeric {
			c.num = make([]float64, 0, sizeHint)
		} else {
			c.str = make([]string, 0, sizeHint)
			c.null = make([]bool, 0, sizeHint)
			c.intern = map[string]string{}
		}
		r.cols[i] = c
	}
	var fields [][]byte
	pos := 0
	for pos < len(data) {
		var n int
		var err error
		startLine := r.lines
		fields, pos, n, err = splitRecord(fields, data, pos)
		r.lines += n
		if err != nil {
			r.err, r.errLine = err, startLine
			return r
		}
		if len(fields) == 1 && len(fields[0]) == 0 {
			continue // blank line
		}
		if len(fields) != len(kinds) {
			r.err, r.errLine = fmt.Errorf("expected %d fields, got %d", len(kinds), len(fields)), startLine
			return r
		}
		for i, f := range fields {
			r.cols[i].add(f)
		}
		r.rows++
	}
	return r
}

func readCSV(data []byte, name string, opt Options) (*Table, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	header, pos, hl, err := splitRecord(nil, data, 0)
	if err != nil {
		return nil, fmt.Errorf("dataset: %q line 1: %v", name, err)
	}
	names := make([]string, len(header))
	seen := map[string]bool{}
	for i, h := range header {
		names[i] = string(h)
		if seen[names[i]] {
			return nil, fmt.Errorf("dataset: %q line 1: duplicate column %q", name, names[i])
		}
		seen[names[i]] = true
	}
	body := data[pos:]
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, fmt.Errorf("dataset: %q has a header but no rows", name)
	}
	kinds, err := inferCSVKinds(body, names, opt.Kinds)
	if err != nil {
		return nil, fmt.Errorf("dataset: %q line %d: %v", name, 1+hl, err)
	}

	// Split the body at line ends into one chunk per core. A quote can hide
	// a newline inside a field, so quoted files are parsed in one piece.
	chunks := [][]byte{body}
	if w := runtime.GOMAXPROCS(0); w > 1 && len(body) > 1<<20 && bytes.IndexByte(body, '"') < 0 {
		chunks = chunks[:0]
		size := len(body) / w
		for len(body) > 0 {
			cut := len(body)
			if len(chunks) < w-1 && size < len(body) {
				if j := bytes.IndexByte(body[size:], '\n'); j >= 0 {
					cut = size + j + 1
				}
			}
			chunks = append(chunks, body[:cut])
			body = body[cut:]
		}
	}
	results := make([]*chunkResult, len(chunks))
	var wg sync.WaitGroup
	for i, ch := range chunks {
		wg.Go(func() {
			// ~20 bytes per cell is a fair guess that avoids most regrowth.
			results[i] = parseChunk(ch, kinds, len(ch)/(20*len(kinds))+16)
		})
	}
	wg.Wait()

	line := hl // lines before the body
	rows := 0
	for _, r := range results {
		if r.err != nil {
			return nil, fmt.Errorf("dataset: %q line %d: %v", name, line+r.errLine+1, r.err)
		}
		line += r.lines
		rows += r.rows
	}
	if rows == 0 {
		return nil, fmt.Errorf("dataset: %q has a header but no rows", name)
	}
	t := &Table{Path: name, Rows: rows}
	for ci, n := range names {
		t.Columns = append(t.Columns, mergeChunks(n, kinds[ci], results, ci, rows))
	}
	return t, nil
}

// mergeChunks concatenates one column's chunk buffers.
func mergeChunks(name string, kind Kind, results []*chunkResult, ci, rows int) *Column {
	c := &Column{Name: name, Kind: kind}
	if len(results) == 1 {
		b := results[0].cols[ci]
		c.Num, c.Str, c.Invalid, c.Nulls = b.num, b.str, b.invalid, b.nulls
		if b.hasNull {
			c.Null = b.null
		}
		return c
	}
	hasNull := false
	for _, r := range results {
		hasNull = hasNull || r.cols[ci].hasNull
	}
	if kind == KindNumeric {
		c.Num = make([]float64, 0, rows)
	} else {
		c.Str = make([]string, 0, rows)
		if hasNull {
			c.Null = make([]bool, 0, rows)
		}
	}
	for _, r := range results {
		b := r.cols[ci]
		c.Num = append(c.Num, b.num...)
		c.Str = append(c.Str, b.str...)
		if hasNull {
			c.Null = append(c.Null, b.null...)
		}
		c.Invalid += b.invalid
		c.Nulls += b.nulls
	}
	return c
}

// inferCSVKinds decides kinds from the first inferRows rows.
func inferCSVKinds(body []byte, names []string, forced map[string]Kind) ([]Kind, error) {
	kinds := make([]Kind, len(names))
	numeric := make([]int, len(names))
	nonNull := make([]int, len(names))
	var fields [][]byte
	pos := 0
	for rows := 0; rows < inferRows && pos < len(body); {
		var err error
		fields, pos, _, err = splitRecord(fields, body, pos)
		if err != nil || len(fields) != len(names) {
			break // parseChunk reports it with its line
		}
		rows++
		for i, f := range fields {
			if isNullToken(f) {
				continue
			}
			nonNull[i]++
			if _, ok := parseFloat(trimSpace(f)); ok {
				numeric[i]++
			}
		}
	}
	for i, n := range names {
		if k := forced[n]; k != KindAuto {
			kinds[i] = k
		} else {
			kinds[i] = kindVote(numeric[i], nonNull[i])
		}
	}
	return kinds, nil
}
