// Package dataset reads tabular files into typed columns for driftwatch:
// CSV, JSON Lines, Arrow IPC (file or stream) and Parquet become a Table of
// numeric columns ([]float64, NaN for a missing value) and categorical
// columns ([]string with a null mask). It infers each column's kind unless
// told, and counts, per numeric column, the cells that were present but did
// not parse as a number (data quality). A bad cell is never fatal: it becomes
// NaN and counts as Invalid. Computing statistics is left to package stats,
// and deciding whether anything drifted to package detectors.
//
// # Kinds
//
// CSV and JSON Lines: a column is numeric when at least 99% of its non-null
// cells in the first 1000 data rows are numbers, and at least one is;
// otherwise it is categorical. In CSV a number is what strconv.ParseFloat
// accepts after trimming spaces and tabs, so ±Inf ("inf", "-Infinity") are
// numbers; in JSON Lines only JSON numbers count (strings and booleans are
// categorical), and a column that first appears further down is judged on
// its first 1000 rows from there. Arrow and Parquet: the schema decides;
// integers, floats and decimals (and dictionaries of them) are numeric;
// strings, booleans and everything else categorical.
//
// Options.Kinds forces a kind per column, overriding all of that: a forced
// categorical column keeps the text as written (Arrow and Parquet floats are
// formatted by strconv 'g' -1), and a forced numeric column parses text
// cells, counting those that do not parse as Invalid.
//
// # Nulls
//
// Null cells are: in CSV, an empty cell, or in a numeric column also NA,
// N/A, NaN, nan, null, NULL or None; in JSON Lines, null or a missing key (and
// those words in a string in a numeric column); in Arrow and Parquet, a null
// slot. A NaN value read as a number is null too. In a numeric column every
// NaN is either null or invalid, so NaN count = Nulls + Invalid; in a
// categorical column Null marks the null rows (nil when there are none) and
// Nulls counts them.
//
// # Formats
//
// CSV follows RFC 4180: quoted fields with "" escapes may hold commas and
// newlines; LF or CRLF line endings; an optional final newline; a UTF-8 BOM
// is dropped. The header names the columns (no duplicates) and every row
// must have as many fields; blank lines are skipped. The file is read whole,
// cut into chunks at line ends and parsed on GOMAXPROCS goroutines straight
// into the columns (quoted files too: cuts go where the number of quotes
// before them is even, and a cut proved wrong falls back to one chunk).
//
// JSON Lines: one object per line, blank lines skipped; columns appear in the
// order their keys are first seen; nested objects and arrays are kept as
// their JSON text in a categorical column and are invalid in a numeric one.
// Parquet columns must be flat.
//
// Errors name the file and, for text formats, the 1-based line, e.g.
// dataset: "a.csv" line 7: expected 3 fields, got 2.
package dataset

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"unsafe"

	"driftwatch/fastfloat"
)

// Kind is a column's kind.
type Kind uint8

// Column kinds; KindAuto asks for inference.
const (
	KindAuto Kind = iota
	KindNumeric
	KindCategorical
)

func (k Kind) String() string {
	switch k {
	case KindNumeric:
		return "numeric"
	case KindCategorical:
		return "categorical"
	}
	return "auto"
}

// Column is one column of a table.
type Column struct {
	Name string
	Kind Kind
	// Num holds a numeric column's values; NaN is null or invalid.
	Num []float64
	// Str holds a categorical column's values; Null marks null cells (nil
	// when there are none).
	Str  []string
	Null []bool
	// Invalid counts cells of a numeric column that were present but did not
	// parse as numbers (stored as NaN, not counted in Nulls).
	Invalid int
	// Nulls counts null cells.
	Nulls int
}

// Len is the number of values.
func (c *Column) Len() int { return max(len(c.Num), len(c.Str)) }

// Table is a read file.
type Table struct {
	Path    string
	Rows    int
	Columns []*Column
}

// Column returns the named column or nil.
func (t *Table) Column(name string) *Column {
	for _, c := range t.Columns {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// Options controls reading.
type Options struct {
	// Format is csv, parquet, arrow or jsonl; empty means by extension.
	Format string
	// Kinds forces kinds per column name; others are inferred.
	Kinds map[string]Kind
}

// inferRows is how many leading rows kind inference looks at.
const inferRows = 1000

// Read reads the file at path.
func Read(path string, opt Options) (*Table, error) {
	format, err := formatOf(path, opt.Format)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("dataset: cannot open %q: %w", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("dataset: cannot open %q: %w", path, err)
	}
	var data []byte
	if format == "csv" && st.Mode().IsRegular() {
		data, err = readFile(f, st.Size())
	} else {
		data, err = readAll(f, st.Size())
	}
	if err != nil {
		return nil, fmt.Errorf("dataset: cannot open %q: %w", path, err)
	}
	return decode(data, path, format, opt)
}

// readFile reads a regular file of the given size (a short read, from a file
// that shrank, gives what was there) into a buffer on huge pages (see
// MakeFloats). That measured faster than mapping the file, as Read did
// before: a page fault per 64 KiB of file and a TLB entry per 4 KiB cost
// more than the copy. CSV parsing copies every value out, so the buffer is
// garbage once the table is read, and the next large allocation reuses it.
func readFile(f *os.File, size int64) ([]byte, error) {
	if size > math.MaxInt-hugePage {
		return nil, fmt.Errorf("file of %d bytes is too large", size)
	}
	buf := makeBytes(int(size))
	n, err := io.ReadFull(f, buf)
	if err == io.ErrUnexpectedEOF {
		err = nil
	}
	return buf[:n], err
}

// ReadReader reads a whole input from r; name is used in messages and, when
// format is empty, for the extension.
func ReadReader(r io.Reader, name, format string, opt Options) (*Table, error) {
	format, err := formatOf(name, format)
	if err != nil {
		return nil, err
	}
	size := int64(0)
	if l, ok := r.(interface{ Len() int }); ok { // bytes.Reader, strings.Reader, bytes.Buffer
		size = int64(l.Len())
	}
	data, err := readAll(r, size)
	if err != nil {
		return nil, fmt.Errorf("dataset: cannot read %q: %w", name, err)
	}
	return decode(data, name, format, opt)
}

// readAll reads r to the end into a buffer sized for size bytes (a hint).
func readAll(r io.Reader, size int64) ([]byte, error) {
	var buf bytes.Buffer
	if size > 0 && size < 1<<40 {
		buf.Grow(int(size) + bytes.MinRead)
	}
	_, err := buf.ReadFrom(r)
	return buf.Bytes(), err
}

func decode(data []byte, name, format string, opt Options) (*Table, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, fmt.Errorf("dataset: %q is empty", name)
	}
	switch format {
	case "csv":
		return readCSV(data, name, opt)
	case "jsonl":
		return readJSONL(data, name, opt)
	case "arrow":
		return readArrow(data, name, opt)
	case "parquet":
		return readParquet(bytes.NewReader(data), int64(len(data)), name, opt)
	}
	panic("unreachable")
}

var extFormats = map[string]string{
	"csv": "csv", "jsonl": "jsonl", "ndjson": "jsonl", "parquet": "parquet", "pq": "parquet",
	"arrow": "arrow", "arrows": "arrow", "ipc": "arrow", "feather": "arrow",
}

func formatOf(name, format string) (string, error) {
	f := format
	if f == "" {
		f = strings.ToLower(strings.TrimPrefix(filepath.Ext(name), "."))
	}
	if canon, ok := extFormats[f]; ok && (format == "" || canon == f) {
		return canon, nil
	}
	return "", fmt.Errorf("dataset: %q: unknown input format %q (want csv, parquet, arrow or jsonl)", name, f)
}

// isNullToken reports whether a text cell means null.
func isNullToken(b []byte) bool {
	switch len(b) {
	case 0:
		return true
	case 2:
		return string(b) == "NA"
	case 3:
		s := string(b)
		return s == "N/A" || s == "NaN" || s == "nan"
	case 4:
		s := string(b)
		return s == "null" || s == "NULL" || s == "None"
	}
	return false
}

// kindVote decides a kind from counts of numeric and non-null cells.
func kindVote(numeric, nonNull int) Kind {
	if numeric > 0 && numeric*100 >= nonNull*99 {
		return KindNumeric
	}
	return KindCategorical
}

// textNumber converts a text cell of a numeric column: a null token is null,
// a number (±Inf included) is itself, a NaN literal is null, anything else
// is invalid. Null and invalid cells are NaN and counted.
func textNumber(b []byte, nulls, invalid *int) float64 {
	if isNullToken(b) {
		*nulls++
		return math.NaN()
	}
	v, ok := fastfloat.Parse(trimSpace(b))
	if !ok {
		*invalid++
		return math.NaN()
	}
	if v != v {
		*nulls++ // a NaN literal spelled otherwise, such as "NAN"
	}
	return v
}

// bytesOf views s as bytes without copying; the bytes must not be changed.
func bytesOf(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }
