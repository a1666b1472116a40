// Package dataset reads tabular files — CSV, JSON Lines, Arrow IPC and
// Parquet — into typed columns: numeric columns as []float64 with NaN for
// null, categorical columns as []string. It infers each column's kind unless
// told, and counts cells that are present but do not parse as a number in a
// numeric column (data quality), never failing on them.
//
// Kind inference: in CSV and JSON Lines a column is numeric when at least
// 99% of its non-null cells in the first 1000 rows are numbers (and at least
// one is); in Arrow and Parquet the schema decides (integers, floats and
// decimals are numeric; strings, booleans and dictionaries categorical).
// Options.Kinds forces a kind per column.
//
// Null cells: empty, NA, N/A, NaN, nan, null, NULL, None (CSV); JSON null or
// a missing key (JSON Lines); the validity bitmap (Arrow, Parquet).
//
// Computing statistics is left to package stats, and deciding what they mean
// to package detectors.
package dataset

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
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
	if format == "csv" {
		// CSV parsing copies every value out, so the file can be mapped.
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("dataset: cannot open %q: %w", path, err)
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			return nil, fmt.Errorf("dataset: cannot open %q: %w", path, err)
		}
		data, unmap, err := mapFile(f, st.Size())
		if err != nil {
			return nil, fmt.Errorf("dataset: cannot read %q: %w", path, err)
		}
		defer unmap()
		return decode(data, path, format, opt)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("dataset: cannot open %q: %w", path, err)
	}
	return decode(data, path, format, opt)
}

// ReadReader reads a whole input from r; name is used in messages and, when
// format is empty, for the extension.
func ReadReader(r io.Reader, name, format string, opt Options) (*Table, error) {
	format, err := formatOf(name, format)
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("dataset: cannot read %q: %w", name, err)
	}
	return decode(data, name, format, opt)
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
	"csv": "csv", "jsonl": "jsonl", "ndjson": "jsonl", "parquet": "parquet",
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
