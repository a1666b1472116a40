package dataset

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"

	"driftwatch/fastfloat"
)

// errUnterminated reports a quoted field that runs to the end of the input.
var errUnterminated = errors.New("unterminated quoted field")

// splitter splits records. Fields alias the input unless they needed
// unescaping; those live in a scratch buffer reused from record to record,
// so fields are only valid until the next call.
type splitter struct {
	fields  [][]byte
	scratch []byte
}

// split splits the record starting at data[pos:] into s.fields (RFC 4180:
// quoted fields with "" escapes may hold commas and newlines; CRLF or LF
// ends a record). It returns the position after the record and how many
// newlines the record spanned.
func (s *splitter) split(data []byte, pos int) (int, int, error) {
	s.fields, s.scratch = s.fields[:0], s.scratch[:0]
	lines := 0
	for {
		if pos < len(data) && data[pos] == '"' {
			// Quoted field.
			start, i := pos+1, pos+1
			unescaped := -1 // start of the field in scratch, once it has a ""
			for {
				j := bytes.IndexByte(data[i:], '"')
				if j < 0 {
					return len(data), lines, errUnterminated
				}
				lines += bytes.Count(data[i:i+j], []byte{'\n'})
				if i+j+1 < len(data) && data[i+j+1] == '"' {
					if unescaped < 0 {
						unescaped = len(s.scratch)
					}
					s.scratch = append(s.scratch, data[i:i+j+1]...) // keep one quote
					i += j + 2
					continue
				}
				if unescaped < 0 {
					s.fields = append(s.fields, data[start:i+j])
				} else {
					s.scratch = append(s.scratch, data[i:i+j]...)
					s.fields = append(s.fields, s.scratch[unescaped:len(s.scratch):len(s.scratch)])
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
				last := &s.fields[len(s.fields)-1]
				at := len(s.scratch)
				s.scratch = append(append(s.scratch, *last...), data[pos:end]...)
				*last = s.scratch[at:len(s.scratch):len(s.scratch)]
			}
			pos = k
		} else {
			k := pos
			for k < len(data) && data[k] != ',' && data[k] != '\n' {
				k++
			}
			s.fields = append(s.fields, data[pos:trimCR(data, pos, k)])
			pos = k
		}
		if pos >= len(data) {
			return pos, lines, nil
		}
		if data[pos] == '\n' {
			return pos + 1, lines + 1, nil
		}
		pos++ // comma
	}
}

// blankLine reports whether the record at data[pos:] is a blank line (LF,
// CRLF, or a final CR), which is no row. A line holding only "" is not
// blank: it is a row whose one field is empty, a null, as pandas reads it.
func blankLine(data []byte, pos int) bool {
	return data[pos] == '\n' || data[pos] == '\r' && (pos+1 == len(data) || data[pos+1] == '\n')
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
		c.num = append(c.num, textNumber(cell, &c.nulls, &c.invalid))
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

// chunkResult is one chunk's output.
type chunkResult struct {
	cols    []*colBuf
	rows    int
	lines   int   // newlines consumed in the chunk
	errLine int   // line within the chunk (0-based) where err's record starts
	err     error // first ragged row or unterminated quote
	quoted  bool  // the unquoted scanner met a '"' and gave up
}

// failed reports whether the chunk did not parse to its end.
func (r *chunkResult) failed() bool { return r.err != nil || r.quoted }

// parseChunk parses data into cols, whose slices have room for every line
// of the chunk (see readCSV), so appends never reallocate. Unless mayQuote,
// it takes the unquoted scanner and gives up (r.quoted) at the first '"'.
func parseChunk(data []byte, cols []*colBuf, mayQuote bool) *chunkResult {
	r := &chunkResult{cols: cols}
	if !mayQuote || bytes.IndexByte(data, '"') < 0 {
		return parseChunkUnquoted(data, cols, r)
	}
	var sp splitter
	pos := 0
	for pos < len(data) {
		var n int
		var err error
		startLine := r.lines
		blank := blankLine(data, pos)
		pos, n, err = sp.split(data, pos)
		fields := sp.fields
		r.lines += n
		if err != nil {
			r.err, r.errLine = err, startLine
			return r
		}
		if blank {
			continue
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

// csvConfig sets the CSV reader's parallelism; tests force small chunks.
type csvConfig struct {
	workers int // goroutines parsing chunks; < 2 parses on the caller's
	chunks  int // pieces the body is cut into; 0 chooses by size
}

// minChunk is the smallest piece worth a goroutine; chunksPerWorker lets a
// worker that finishes early (another process holding a core, a chunk of
// slow cells) take over work instead of idling.
const (
	minChunk        = 1 << 20
	chunksPerWorker = 4
)

func (c csvConfig) chunkCount(size int) int {
	if c.chunks > 0 {
		return c.chunks
	}
	if c.workers < 2 || size < 2*minChunk {
		return 1
	}
	return max(1, min(c.workers*chunksPerWorker, size/minChunk))
}

func readCSV(data []byte, name string, opt Options) (*Table, error) {
	return readCSVWith(data, name, opt, csvConfig{workers: runtime.GOMAXPROCS(0)})
}

func readCSVWith(data []byte, name string, opt Options, cfg csvConfig) (*Table, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, fmt.Errorf("dataset: %q is empty", name)
	}
	var sp splitter
	pos, hl, err := sp.split(data, 0)
	header := sp.fields
	if err != nil {
		return nil, fmt.Errorf("dataset: %q line 1: %v", name, err)
	}
	names := make([]string, len(header))
	seen := make(map[string]bool, len(header))
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
	kinds := inferCSVKinds(body, names, opt.Kinds)

	// First round: cut the body at line ends and parse every chunk with the
	// unquoted scanner. A quote anywhere can hide a newline inside a field,
	// making those cuts wrong, so when a chunk meets one (or fails while the
	// file has one), the body is cut again where the number of quotes before
	// the cut is even, and parsed quote-aware. If even those cuts prove wrong
	// (a chunk ends inside a quoted field, say from a stray quote in an
	// unquoted field), the body is parsed as one chunk, which is always
	// right. Every cut falls after a newline, so the number of lines, and
	// with it the room the columns need, is the same each time.
	n := cfg.chunkCount(len(body))
	p := planLines(body, n, cfg.workers)
	final := allocColumns(names, kinds, p.total())
	results := p.parse(final, cfg.workers, false)
	if k := firstFailure(results); k >= 0 && (results[k].quoted || bytes.IndexByte(body, '"') >= 0) {
		p = planQuoted(body, n, cfg.workers)
		results = p.parse(final, cfg.workers, true)
		if k := firstFailure(results); k >= 0 && k < len(results)-1 && errors.Is(results[k].err, errUnterminated) {
			p = plan{chunks: [][]byte{body}, newlines: []int{p.total()}, room: []int{p.total()}}
			results = p.parse(final, cfg.workers, true)
		}
	}
	line := hl // lines before the chunk
	rows := 0
	for k, r := range results {
		if r.err != nil {
			return nil, fmt.Errorf("dataset: %q line %d: %v", name, line+r.errLine+1, r.err)
		}
		line += p.newlines[k]
		rows += r.rows
	}
	if rows == 0 {
		return nil, fmt.Errorf("dataset: %q has a header but no rows", name)
	}
	for ci, c := range final {
		compact(c, results, p.room, ci)
	}
	return &Table{Path: name, Rows: rows, Columns: final}, nil
}

func firstFailure(results []*chunkResult) int {
	for k, r := range results {
		if r.failed() {
			return k
		}
	}
	return -1
}

// allocColumns makes the columns; numeric ones share one allocation (see
// MakeFloats), each capped at its own length so an append copies.
func allocColumns(names []string, kinds []Kind, rows int) []*Column {
	final := make([]*Column, len(names))
	numeric := 0
	for _, k := range kinds {
		if k == KindNumeric {
			numeric++
		}
	}
	nums := MakeFloats(numeric * rows)
	for ci, n := range names {
		c := &Column{Name: n, Kind: kinds[ci]}
		if c.Kind == KindNumeric {
			c.Num, nums = nums[:rows:rows], nums[rows:]
		} else {
			c.Str = make([]string, rows)
			c.Null = make([]bool, rows)
		}
		final[ci] = c
	}
	return final
}

// plan is a body cut into chunks that each end at a line end.
type plan struct {
	chunks   [][]byte
	newlines []int // '\n' bytes in each chunk
	room     []int // rows each chunk may hold: its lines
}

func (p plan) total() int {
	t := 0
	for _, r := range p.room {
		t += r
	}
	return t
}

// forEach calls f(0) … f(n-1) on up to workers goroutines, each taking the
// next index when done with one.
func forEach(n, workers int, f func(int)) {
	if workers < 2 || n < 2 {
		for i := range n {
			f(i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(workers, n) {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				f(i)
			}
		})
	}
	wg.Wait()
}

// count fills in newlines and room for p.chunks.
func (p *plan) count(workers int) {
	p.newlines = make([]int, len(p.chunks))
	p.room = make([]int, len(p.chunks))
	forEach(len(p.chunks), workers, func(i int) {
		ch := p.chunks[i]
		p.newlines[i] = bytes.Count(ch, []byte{'\n'})
		p.room[i] = p.newlines[i]
		if ch[len(ch)-1] != '\n' {
			p.room[i]++ // a last line without a newline
		}
	})
}

// planLines cuts body into about n chunks of similar size, each ending at a
// line end (the last one at the end of body).
func planLines(body []byte, n, workers int) plan {
	var p plan
	size := len(body) / max(n, 1)
	for len(body) > 0 {
		cut := len(body)
		if len(p.chunks) < n-1 && size < len(body) {
			if j := bytes.IndexByte(body[size:], '\n'); j >= 0 {
				cut = size + j + 1
			}
		}
		p.chunks = append(p.chunks, body[:cut])
		body = body[cut:]
	}
	p.count(workers)
	return p
}

// planQuoted cuts body into about n chunks at line ends that have an even
// number of quotes before them: outside any quoted field when the file
// follows RFC 4180 (an escaped quote is two). Quotes are counted per piece
// in parallel; the cuts are then placed one after another.
func planQuoted(body []byte, n, workers int) plan {
	n = max(n, 1)
	starts := make([]int, n+1)
	for k := range starts {
		starts[k] = k * len(body) / n
	}
	quotes := make([]int, n)
	forEach(n, workers, func(k int) {
		quotes[k] = bytes.Count(body[starts[k]:starts[k+1]], []byte{'"'})
	})
	var p plan
	prev, parity := 0, 0
	for k := 1; k < n; k++ {
		parity ^= quotes[k-1] & 1 // quotes before starts[k]
		i, par := starts[k], parity
		if i < prev {
			continue
		}
		cut := len(body)
		for {
			j := bytes.IndexByte(body[i:], '\n')
			if j < 0 {
				break
			}
			par ^= bytes.Count(body[i:i+j], []byte{'"'}) & 1
			i += j + 1
			if par == 0 {
				cut = i
				break
			}
		}
		if cut >= len(body) {
			break
		}
		p.chunks = append(p.chunks, body[prev:cut])
		prev = cut
	}
	p.chunks = append(p.chunks, body[prev:])
	p.count(workers)
	return p
}

// parse parses every chunk into its segment of the final columns.
func (p plan) parse(final []*Column, workers int, mayQuote bool) []*chunkResult {
	results := make([]*chunkResult, len(p.chunks))
	offs := make([]int, len(p.chunks))
	off := 0
	for i, r := range p.room {
		offs[i] = off
		off += r
	}
	forEach(len(p.chunks), workers, func(i int) {
		lo, hi := offs[i], offs[i]+p.room[i]
		cols := make([]*colBuf, len(final))
		for ci, c := range final {
			b := &colBuf{kind: c.Kind}
			if c.Kind == KindNumeric {
				b.num = c.Num[lo:lo:hi]
			} else {
				b.str = c.Str[lo:lo:hi]
				b.null = c.Null[lo:lo:hi]
				b.intern = map[string]string{}
			}
			cols[ci] = b
		}
		results[i] = parseChunk(p.chunks[i], cols, mayQuote)
	})
	return results
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
func inferCSVKinds(body []byte, names []string, forced map[string]Kind) []Kind {
	kinds := make([]Kind, len(names))
	numeric := make([]int, len(names))
	nonNull := make([]int, len(names))
	var sp splitter
	pos := 0
	for rows := 0; rows < inferRows && pos < len(body); {
		var err error
		blank := blankLine(body, pos)
		pos, _, err = sp.split(body, pos)
		fields := sp.fields
		if err == nil && blank {
			continue
		}
		if err != nil || len(fields) != len(names) {
			break // parseChunk reports it with its line
		}
		rows++
		for i, f := range fields {
			if isNullToken(f) {
				continue
			}
			nonNull[i]++
			if _, ok := fastfloat.Parse(trimSpace(f)); ok {
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
	return kinds
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
		if data[pos] == '\r' && (pos+1 == len(data) || data[pos+1] == '\n') {
			// The splitter trims a final "\r" as it trims "\r\n".
			pos += 2
			if pos <= len(data) {
				r.lines++
			}
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
			for ; pos < len(data); pos++ {
				if b := data[pos]; b == ',' || b == '\n' {
					break
				} else if b == '"' {
					r.quoted = true
					return r
				}
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
	// The sign is taken without branching: random signs would mispredict.
	i, sign := pos, uint64(0)
	if i < len(data) {
		c := data[i]
		skip := 0
		if (c-'+')&^2 == 0 { // '+' or '-'
			skip = 1
		}
		if c == '-' {
			sign = 1 << 63
		}
		i += skip
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
		f /= fastfloat.Pow10[-exp]
	}
	f = math.Float64frombits(math.Float64bits(f) | sign)
	if end < i { // "\r" before "\n"
		return f, i, i < len(data) && data[i] == '\n'
	}
	return f, end, true
}
