package dataset

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
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

// parseChunk parses data into cols, whose slices have room for every line
// of the chunk (see readCSV), so appends never reallocate.
func parseChunk(data []byte, cols []*colBuf) *chunkResult {
	r := &chunkResult{cols: cols}
	if bytes.IndexByte(data, '"') < 0 {
		return parseChunkUnquoted(data, cols, r)
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
		if len(fields) != len(cols) {
			r.err, r.errLine = fmt.Errorf("expected %d fields, got %d", len(cols), len(fields)), startLine
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

	// Split the body at line ends into one chunk per core, and count each
	// chunk's lines in parallel: every line is at most one row, so each chunk
	// gets its segment of the final columns and workers append in place. A
	// quote can hide a newline inside a field, so a file with any quote is
	// parsed in one piece.
	chunks := splitLines(body, runtime.GOMAXPROCS(0))
	bounds := make([]int, len(chunks))
	quoted := make([]bool, len(chunks))
	countLines := func(i int) {
		ch := chunks[i]
		bounds[i] = bytes.Count(ch, []byte{'\n'})
		if ch[len(ch)-1] != '\n' {
			bounds[i]++ // a last line without a newline
		}
		quoted[i] = bytes.IndexByte(ch, '"') >= 0
	}
	var cw sync.WaitGroup
	for i := range chunks {
		cw.Go(func() { countLines(i) })
	}
	cw.Wait()
	if len(chunks) > 1 && slices.Contains(quoted, true) {
		chunks, bounds = [][]byte{body}, bounds[:1]
		countLines(0)
	}
	total := 0
	for _, b := range bounds {
		total += b
	}
	final := make([]*Column, len(names))
	for ci, n := range names {
		c := &Column{Name: n, Kind: kinds[ci]}
		if kinds[ci] == KindNumeric {
			c.Num = make([]float64, total)
		} else {
			c.Str = make([]string, total)
			c.Null = make([]bool, total)
		}
		final[ci] = c
	}
	results := make([]*chunkResult, len(chunks))
	var wg sync.WaitGroup
	off := 0
	for i, ch := range chunks {
		cols := make([]*colBuf, len(names))
		for ci, c := range final {
			b := &colBuf{kind: c.Kind}
			if c.Kind == KindNumeric {
				b.num = c.Num[off : off : off+bounds[i]]
			} else {
				b.str = c.Str[off : off : off+bounds[i]]
				b.null = c.Null[off : off : off+bounds[i]]
				b.intern = map[string]string{}
			}
			cols[ci] = b
		}
		off += bounds[i]
		wg.Go(func() { results[i] = parseChunk(ch, cols) })
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
	t := &Table{Path: name, Rows: rows, Columns: final}
	for ci, c := range final {
		compact(c, results, bounds, ci)
	}
	return t, nil
}

// splitLines cuts body into at most w pieces of similar size, each ending
// at a line end (the last one at the end of body).
func splitLines(body []byte, w int) [][]byte {
	if w < 2 || len(body) < 1<<20 {
		return [][]byte{body}
	}
	var chunks [][]byte
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
	return chunks
}

// compact closes the gaps that blank lines (and the bound's spare row) left
// between chunk segments and sums the counts.
func compact(c *Column, results []*chunkResult, bounds []int, ci int) {
	dst, src := 0, 0
	hasNull := false
	for i, r := range results {
		b := r.cols[ci]
		n := r.rows
		hasNull = hasNull || b.hasNull
		switch {
		case dst == src:
			// No blank lines so far: the segment is already in place.
		case c.Kind == KindNumeric:
			copy(c.Num[dst:], c.Num[src:src+n])
		default:
			copy(c.Str[dst:], c.Str[src:src+n])
			copy(c.Null[dst:], c.Null[src:src+n])
		}
		c.Invalid += b.invalid
		c.Nulls += b.nulls
		dst += n
		src += bounds[i]
	}
	if c.Kind == KindNumeric {
		c.Num = c.Num[:dst:dst]
		return
	}
	c.Str = c.Str[:dst:dst]
	c.Null = c.Null[:dst:dst]
	if !hasNull {
		c.Null = nil
	}
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

// parseChunkUnquoted is parseChunk for data without quotes, the common case:
// it scans each cell once, parsing numbers as it goes, without building a
// slice of fields per record.
func parseChunkUnquoted(data []byte, cols []*colBuf, r *chunkResult) *chunkResult {
	pos := 0
	for pos < len(data) {
		// A blank line (LF or CRLF) is no row.
		if data[pos] == '\n' {
			pos++
			r.lines++
			continue
		}
		if data[pos] == '\r' && pos+1 < len(data) && data[pos+1] == '\n' {
			pos += 2
			r.lines++
			continue
		}
		for ci, c := range cols {
			start := pos
			if c.kind == KindNumeric {
				if v, end, ok := scanNumber(data, pos); ok {
					c.num = append(c.num, v)
					pos = end
					goto delimiter
				}
			}
			for pos < len(data) && data[pos] != ',' && data[pos] != '\n' {
				pos++
			}
			c.add(data[start:trimCR(data, start, pos)])
		delimiter:
			last := ci == len(cols)-1
			switch {
			case pos < len(data) && data[pos] == ',' && !last:
				pos++
			case (pos == len(data) || data[pos] == '\n') && last:
			default:
				return r.ragged(data, pos, ci, len(cols))
			}
		}
		if pos < len(data) {
			pos++ // '\n'
		}
		r.lines++
		r.rows++
	}
	return r
}

// ragged records a row with the wrong number of fields; the row's fields
// are counted from the line it started on.
func (r *chunkResult) ragged(data []byte, pos, ci, want int) *chunkResult {
	start := bytes.LastIndexByte(data[:min(pos, len(data))], '\n') + 1
	end := len(data)
	if i := bytes.IndexByte(data[start:], '\n'); i >= 0 {
		end = start + i
	}
	got := bytes.Count(data[start:end], []byte{','}) + 1
	r.err, r.errLine = fmt.Errorf("expected %d fields, got %d", want, got), r.lines
	return r
}

// scanNumber parses a plain decimal at data[pos:] that ends at a delimiter,
// by parseFloat's fast path; ok is false for anything else (which the caller
// then treats as a general cell).
func scanNumber(data []byte, pos int) (float64, int, bool) {
	i, neg := pos, false
	if i < len(data) && (data[i] == '-' || data[i] == '+') {
		neg = data[i] == '-'
		i++
	}
	// Up to 19 digits cannot overflow uint64; counting every digit, leading
	// zeros included, keeps the loop to one multiply-add.
	var mant uint64
	intStart := i
	for ; i < len(data) && data[i]-'0' <= 9; i++ {
		mant = mant*10 + uint64(data[i]-'0')
	}
	n := i - intStart
	exp := 0
	if i < len(data) && data[i] == '.' {
		i++
		fracStart := i
		for ; i < len(data) && data[i]-'0' <= 9; i++ {
			mant = mant*10 + uint64(data[i]-'0')
		}
		exp = fracStart - i
		n -= exp
	}
	seen, digits := n > 0, n
	end := i
	if i < len(data) && data[i] == '\r' {
		i++
	}
	if !seen || digits > 19 || mant > 1<<53 || exp < -22 || (i < len(data) && data[i] != ',' && data[i] != '\n') {
		return 0, pos, false
	}
	f := float64(mant)
	if exp < 0 {
		f /= pow10[-exp]
	}
	if neg {
		f = -f
	}
	if end < i { // "\r" before "\n"
		return f, i, i < len(data) && data[i] == '\n'
	}
	return f, end, true
}
