package dataset

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/parquet-go/parquet-go"
)

func readString(t testing.TB, name, content string, opt Options) (*Table, error) {
	t.Helper()
	return ReadReader(strings.NewReader(content), name, "", opt)
}

func mustRead(t testing.TB, name, content string, opt Options) *Table {
	t.Helper()
	tab, err := readString(t, name, content, opt)
	if err != nil {
		t.Fatal(err)
	}
	checkTable(t, tab)
	return tab
}

// checkTable asserts the invariants every table keeps.
func checkTable(t testing.TB, tab *Table) {
	t.Helper()
	if tab.Rows <= 0 {
		t.Fatalf("table with %d rows and no error", tab.Rows)
	}
	for _, c := range tab.Columns {
		switch c.Kind {
		case KindNumeric:
			nan := 0
			for _, v := range c.Num {
				if v != v {
					nan++
				}
			}
			if len(c.Num) != tab.Rows || c.Str != nil || c.Null != nil || nan != c.Nulls+c.Invalid {
				t.Fatalf("numeric column %q: %d values for %d rows, %d NaN for %d nulls + %d invalid", c.Name, len(c.Num), tab.Rows, nan, c.Nulls, c.Invalid)
			}
		case KindCategorical:
			nulls := 0
			for i, n := range c.Null {
				if n {
					nulls++
					if c.Str[i] != "" {
						t.Fatalf("column %q: null row %d holds %q", c.Name, i, c.Str[i])
					}
				}
			}
			if len(c.Str) != tab.Rows || c.Num != nil || c.Invalid != 0 || nulls != c.Nulls ||
				(c.Null != nil && (len(c.Null) != tab.Rows || nulls == 0)) {
				t.Fatalf("categorical column %q: %d values for %d rows, null mask %d with %d set, Nulls %d, Invalid %d", c.Name, len(c.Str), tab.Rows, len(c.Null), nulls, c.Nulls, c.Invalid)
			}
		default:
			t.Fatalf("column %q has kind %v", c.Name, c.Kind)
		}
	}
}

// sameTables reports how two tables differ (NaN equals NaN), or "".
func sameTables(a, b *Table) string {
	if a.Rows != b.Rows || len(a.Columns) != len(b.Columns) {
		return fmt.Sprintf("rows %d vs %d, columns %d vs %d", a.Rows, b.Rows, len(a.Columns), len(b.Columns))
	}
	for i, x := range a.Columns {
		y := b.Columns[i]
		if x.Name != y.Name || x.Kind != y.Kind || x.Nulls != y.Nulls || x.Invalid != y.Invalid || len(x.Num) != len(y.Num) ||
			!reflect.DeepEqual(x.Str, y.Str) || !reflect.DeepEqual(x.Null, y.Null) {
			return fmt.Sprintf("column %d: %q %v nulls %d invalid %d vs %q %v nulls %d invalid %d", i, x.Name, x.Kind, x.Nulls, x.Invalid, y.Name, y.Kind, y.Nulls, y.Invalid)
		}
		for r, v := range x.Num {
			if w := y.Num[r]; math.Float64bits(v) != math.Float64bits(w) && !(v != v && w != w) {
				return fmt.Sprintf("column %q row %d: %v vs %v", x.Name, r, v, w)
			}
		}
	}
	return ""
}

func nanCount(xs []float64) int {
	n := 0
	for _, x := range xs {
		if x != x {
			n++
		}
	}
	return n
}

func TestKindString(t *testing.T) {
	for k, want := range map[Kind]string{KindAuto: "auto", KindNumeric: "numeric", KindCategorical: "categorical"} {
		if k.String() != want {
			t.Errorf("%d: %q", k, k.String())
		}
	}
}

func TestCSVQuotingBOMAndLineEndings(t *testing.T) {
	// The same table in LF and CRLF, with and without a final newline.
	rows := []string{
		"\xef\xbb\xbfx,name,note",
		`1.5,a,"hello, world"`,
		`-2,b,"say ""hi"""`,
		`3,,"two` + "\n" + `lines"`,
		`4,"a",""`,
	}
	for _, eol := range []string{"\n", "\r\n"} {
		for _, final := range []string{"", eol} {
			text := strings.Join(rows, eol) + final
			tab := mustRead(t, "a.csv", text, Options{})
			x, name, note := tab.Column("x"), tab.Column("name"), tab.Column("note")
			if tab.Rows != 4 || x == nil || x.Kind != KindNumeric || !reflect.DeepEqual(x.Num, []float64{1.5, -2, 3, 4}) {
				t.Fatalf("eol %q final %q: rows %d x %+v", eol, final, tab.Rows, x)
			}
			if !reflect.DeepEqual(name.Str, []string{"a", "b", "", "a"}) || name.Nulls != 1 || !name.Null[2] {
				t.Fatalf("name: %+v", name)
			}
			wantNote := []string{"hello, world", `say "hi"`, "two\nlines", ""}
			if !reflect.DeepEqual(note.Str, wantNote) || note.Nulls != 1 {
				t.Fatalf("eol %q: note %q", eol, note.Str)
			}
			if tab.Columns[0].Name != "x" {
				t.Fatalf("BOM kept in %q", tab.Columns[0].Name)
			}
		}
	}
	// Blank lines are no rows.
	tab := mustRead(t, "b.csv", "a,b\n\n1,x\r\n\r\n\n2,y\n\n", Options{})
	if tab.Rows != 2 || !reflect.DeepEqual(tab.Columns[0].Num, []float64{1, 2}) {
		t.Fatalf("blank lines: %+v", tab.Columns[0])
	}
}

func TestInference(t *testing.T) {
	build := func(bad, nulls int) string {
		var b strings.Builder
		b.WriteString("v,id\n")
		for i := range 1000 {
			switch {
			case i < bad:
				fmt.Fprintf(&b, "x%d,%d\n", i, i)
			case i < bad+nulls:
				fmt.Fprintf(&b, ",%d\n", i)
			default:
				fmt.Fprintf(&b, "%d.25,%d\n", i, i)
			}
		}
		b.WriteString("later garbage,1001\n") // beyond the inference rows
		return b.String()
	}
	for _, tc := range []struct {
		bad, nulls int
		want       Kind
	}{
		{0, 0, KindNumeric},
		{10, 0, KindNumeric},       // 990 of 1000: exactly 99%
		{11, 0, KindCategorical},   // 989 of 1000
		{10, 500, KindCategorical}, // nulls do not count: 490 of 500 is 98%
		{5, 500, KindNumeric},      // 495 of 500
		{0, 1000, KindCategorical}, // no number at all
	} {
		tab := mustRead(t, "i.csv", build(tc.bad, tc.nulls), Options{})
		v := tab.Column("v")
		if v.Kind != tc.want {
			t.Errorf("bad %d nulls %d: %v, want %v", tc.bad, tc.nulls, v.Kind, tc.want)
			continue
		}
		if v.Kind == KindNumeric && (v.Invalid != tc.bad+1 || v.Nulls != tc.nulls) {
			t.Errorf("bad %d nulls %d: invalid %d nulls %d", tc.bad, tc.nulls, v.Invalid, v.Nulls)
		}
	}
	// Booleans and text are categorical; ±Inf and exponents are numbers.
	tab := mustRead(t, "k.csv", "flag,word,inf,e\ntrue,a,inf,1e3\nfalse,b,-Infinity,-2.5E-3\ntrue,c,+Inf,1e999\n", Options{})
	if k := tab.Column("flag").Kind; k != KindCategorical {
		t.Errorf("flag: %v", k)
	}
	if k := tab.Column("word").Kind; k != KindCategorical {
		t.Errorf("word: %v", k)
	}
	inf := tab.Column("inf")
	if inf.Kind != KindNumeric || !math.IsInf(inf.Num[0], 1) || !math.IsInf(inf.Num[1], -1) || !math.IsInf(inf.Num[2], 1) || inf.Invalid != 0 || inf.Nulls != 0 {
		t.Errorf("inf: %+v", inf)
	}
	if e := tab.Column("e"); e.Kind != KindNumeric || e.Num[0] != 1000 || e.Num[1] != -0.0025 || !math.IsInf(e.Num[2], 1) {
		t.Errorf("e: %+v", e)
	}
}

func TestNullsAndInvalid(t *testing.T) {
	tab := mustRead(t, "n.csv", "x,c\n1,a\n,b\nNA,\nNaN,c\nnull,d\nN/A,e\nnan,f\noops,g\n 7 ,h\n\t-8\t,i\n1.2.3,j\n", Options{Kinds: map[string]Kind{"x": KindNumeric}})
	x, c := tab.Column("x"), tab.Column("c")
	if x.Kind != KindNumeric || x.Nulls != 6 || x.Invalid != 2 || nanCount(x.Num) != 8 || x.Num[8] != 7 || x.Num[9] != -8 {
		t.Fatalf("x: %+v", x)
	}
	if c.Kind != KindCategorical || c.Nulls != 1 || !c.Null[2] || c.Str[2] != "" {
		t.Fatalf("c: %+v", c)
	}
	// Categorical columns without nulls have no mask.
	tab = mustRead(t, "m.csv", "c\na\nb\n", Options{})
	if tab.Columns[0].Null != nil || tab.Columns[0].Nulls != 0 {
		t.Fatalf("mask without nulls: %+v", tab.Columns[0])
	}
}

func TestForcedKinds(t *testing.T) {
	text := "x,n,word\n1.50,1,a\n,2,b\noops,3,c\n-inf,4,5\n"
	tab := mustRead(t, "f.csv", text, Options{Kinds: map[string]Kind{"x": KindNumeric, "n": KindCategorical, "word": KindNumeric}})
	x, n, w := tab.Column("x"), tab.Column("n"), tab.Column("word")
	if x.Kind != KindNumeric || x.Num[0] != 1.5 || !math.IsNaN(x.Num[1]) || !math.IsNaN(x.Num[2]) || !math.IsInf(x.Num[3], -1) || x.Invalid != 1 || x.Nulls != 1 {
		t.Fatalf("forced numeric x: %+v", x)
	}
	if n.Kind != KindCategorical || !reflect.DeepEqual(n.Str, []string{"1", "2", "3", "4"}) {
		t.Fatalf("forced categorical n: %+v", n)
	}
	if w.Kind != KindNumeric || w.Invalid != 3 || w.Num[3] != 5 {
		t.Fatalf("forced numeric word: %+v", w)
	}
	// Forced categorical keeps the raw text.
	tab = mustRead(t, "g.csv", "x\n1.50\n1e3\n-0\n", Options{Kinds: map[string]Kind{"x": KindCategorical}})
	if got := tab.Columns[0].Str; !reflect.DeepEqual(got, []string{"1.50", "1e3", "-0"}) {
		t.Fatalf("raw text: %q", got)
	}
	// Kinds for absent columns are ignored.
	mustRead(t, "h.csv", "a\n1\n", Options{Kinds: map[string]Kind{"zzz": KindNumeric}})
}

func TestErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	f := func(path string, opt Options, want string) {
		t.Helper()
		_, err := Read(path, opt)
		if err == nil || err.Error() != want {
			t.Errorf("%s:\n got %v\nwant %s", filepath.Base(path), err, want)
		}
	}
	missing := filepath.Join(dir, "missing.csv")
	f(missing, Options{}, fmt.Sprintf("dataset: cannot open %q: open %s: no such file or directory", missing, missing))
	if _, err := Read(missing, Options{}); !os.IsNotExist(unwrapAll(err)) {
		t.Errorf("missing file error does not wrap the os error: %v", err)
	}
	sub := filepath.Join(dir, "dir.csv")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	f(sub, Options{}, fmt.Sprintf("dataset: cannot open %q: read %s: is a directory", sub, sub))
	for _, name := range []string{"empty.csv", "empty.jsonl", "empty.parquet", "empty.arrow"} {
		p := write(name, "")
		f(p, Options{}, fmt.Sprintf("dataset: %q is empty", p))
	}
	for _, content := range []string{" \n\r\n", "\xef\xbb\xbf", "\xef\xbb\xbf\n"} {
		p := write("blank.csv", content)
		f(p, Options{}, fmt.Sprintf("dataset: %q is empty", p))
	}
	p := write("blank.jsonl", "\n  \n")
	f(p, Options{}, fmt.Sprintf("dataset: %q is empty", p))
	for _, content := range []string{"a,b\n", "a,b", "a,b\r\n\r\n\n"} {
		p := write("header.csv", content)
		f(p, Options{}, fmt.Sprintf("dataset: %q has a header but no rows", p))
	}
	for _, tc := range []struct{ content, want string }{
		{"a,b\n1,2\n\"x\ny\",3\n4\n", "line 5: expected 2 fields, got 1"},
		{"a,b\r\n1,2\r\n\r\n3,4,5\r\n", "line 4: expected 2 fields, got 3"},
		{"a,b,c\n1,x,3\n4,y\n", "line 3: expected 3 fields, got 2"},
		{"a,b\n1,2\n3,4,", "line 3: expected 2 fields, got 3"},
		{"a,b\n1,\"x,y\",z\n", "line 2: expected 2 fields, got 3"},
		{"a\n1\n2,3\n", "line 3: expected 1 fields, got 2"},
		{"a,a\n1,2\n", "line 1: duplicate column \"a\""},
		{"a,b\n1,\"open\n2,3\n", "line 2: unterminated quoted field"},
		{"\"a\nb\",c\n1,2\n3\n", "line 4: expected 2 fields, got 1"},
	} {
		p := write("bad.csv", tc.content)
		f(p, Options{}, fmt.Sprintf("dataset: %q %s", p, tc.want))
	}
	p = write("data.txt", "a\n1\n")
	f(p, Options{}, fmt.Sprintf("dataset: %q: unknown input format \"txt\" (want csv, parquet, arrow or jsonl)", p))
	f(p, Options{Format: "xml"}, fmt.Sprintf("dataset: %q: unknown input format \"xml\" (want csv, parquet, arrow or jsonl)", p))
	p = write("noext", "a\n1\n")
	f(p, Options{}, fmt.Sprintf("dataset: %q: unknown input format \"\" (want csv, parquet, arrow or jsonl)", p))
	if tab, err := Read(p, Options{Format: "csv"}); err != nil || tab.Rows != 1 {
		t.Errorf("explicit format: %v", err)
	}
	p = write("upper.CSV", "a\n1\n")
	if _, err := Read(p, Options{}); err != nil {
		t.Errorf("upper-case extension: %v", err)
	}
	for _, tc := range []struct{ content, want string }{
		{"{\"a\": 1}\n{\"a\": \n", "line 2: unexpected EOF"},
		{"{\"a\": 1}\n\n[1,2]\n", "line 3: expected a JSON object"},
		{"\"text\"\n", "line 1: expected a JSON object"},
		{"null\n", "line 1: expected a JSON object"},
		{"{\"a\": tru}\n", "line 1: invalid character '}' in literal true (expecting 'e')"},
		{"{\"a\": 1} {\"a\": 2}\n", "line 1: unexpected data after the object"},
		{"{\"a\": 01}\n", "line 1: invalid character '1' after object key:value pair"},
	} {
		p := write("bad.jsonl", tc.content)
		f(p, Options{}, fmt.Sprintf("dataset: %q %s", p, tc.want))
	}
	p = write("bad.parquet", "PAR1 not really")
	if _, err := Read(p, Options{}); err == nil || !strings.HasPrefix(err.Error(), fmt.Sprintf("dataset: %q: cannot read parquet: ", p)) {
		t.Errorf("corrupt parquet: %v", err)
	}
	for _, content := range []string{"ARROW1\x00\x00garbage", "not arrow at all"} {
		p = write("bad.arrow", content)
		if _, err := Read(p, Options{}); err == nil || !strings.HasPrefix(err.Error(), fmt.Sprintf("dataset: %q: cannot read arrow: ", p)) {
			t.Errorf("corrupt arrow %q: %v", content, err)
		}
	}
}

func unwrapAll(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return err
		}
		err = u.Unwrap()
	}
}

// genCSV writes rows of cols numeric columns (values like -1.234567, some
// empty, some "NA", rarely an invalid cell) and a categorical column. With
// quoted, the categorical cells are sometimes quoted with commas, escaped
// quotes or newlines in them.
func genCSV(rows, cols int, seed uint64, quoted bool) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	var b bytes.Buffer
	for c := range cols {
		fmt.Fprintf(&b, "f%d,", c)
	}
	b.WriteString("cat\n")
	buf := make([]byte, 0, 32)
	for range rows {
		for c := range cols {
			switch r.IntN(2000) {
			case 0: // empty: null
			case 1:
				b.WriteString("NA")
			case 2:
				b.WriteString("bad")
			default:
				buf = strconv.AppendFloat(buf[:0], r.NormFloat64()*float64(c+1), 'f', 6, 64)
				b.Write(buf)
			}
			b.WriteByte(',')
		}
		k := r.IntN(7)
		switch {
		case quoted && k == 0:
			b.WriteString(`"k0, with ""quotes"""`)
		case quoted && k == 1:
			b.WriteString("\"k1\nspans lines\"")
		case k == 2 && r.IntN(50) == 0:
			// empty: null
		default:
			fmt.Fprintf(&b, "k%d", k)
		}
		b.WriteByte('\n')
	}
	return b.Bytes()
}

func readCSVBytes(t testing.TB, data []byte, cfg csvConfig) (*Table, error) {
	t.Helper()
	data = bytes.Clone(data)
	return readCSVWith(data, "p.csv", Options{}, cfg)
}

// Parallel parsing (in any number of chunks, on any number of goroutines)
// reads the same table as one sequential pass, for plain and quoted files.
func TestParallelEqualsSequential(t *testing.T) {
	for _, quoted := range []bool{false, true} {
		data := genCSV(200_000, 4, 1, quoted)
		seq, err := readCSVBytes(t, data, csvConfig{workers: 1, chunks: 1})
		if err != nil {
			t.Fatal(err)
		}
		checkTable(t, seq)
		if seq.Rows != 200_000 || seq.Columns[0].Nulls == 0 || seq.Columns[0].Invalid == 0 {
			t.Fatalf("rows %d nulls %d invalid %d", seq.Rows, seq.Columns[0].Nulls, seq.Columns[0].Invalid)
		}
		for _, cfg := range []csvConfig{{workers: 2}, {workers: 2, chunks: 2}, {workers: 3, chunks: 7}, {workers: 4, chunks: 64}} {
			par, err := readCSVBytes(t, data, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if d := sameTables(seq, par); d != "" {
				t.Fatalf("quoted %v, %+v: %s", quoted, cfg, d)
			}
		}
	}
}

// A stray quote inside an unquoted field throws the quote-parity cuts off;
// the chunk that then ends inside a "quoted field" sends the parse back to
// one piece, which reads it as the sequential parse does.
func TestParallelStrayQuote(t *testing.T) {
	var b bytes.Buffer
	b.WriteString("x,note\n")
	for i := range 50_000 {
		switch {
		case i == 10:
			fmt.Fprintf(&b, "%d,a 5\" screen\n", i)
		case i%1000 == 0:
			fmt.Fprintf(&b, "%d,\"quoted, %d\"\n", i, i)
		default:
			fmt.Fprintf(&b, "%d,n%d\n", i, i%5)
		}
	}
	data := b.Bytes()
	seq, err := readCSVBytes(t, data, csvConfig{workers: 1, chunks: 1})
	if err != nil {
		t.Fatal(err)
	}
	par, err := readCSVBytes(t, data, csvConfig{workers: 2, chunks: 5})
	if err != nil {
		t.Fatal(err)
	}
	if d := sameTables(seq, par); d != "" {
		t.Fatal(d)
	}
	if seq.Rows != 50_000 || seq.Column("note").Str[10] != `a 5" screen` {
		t.Fatalf("rows %d, note %q", seq.Rows, seq.Column("note").Str[10])
	}
}

// Line numbers in errors are exact wherever the chunks fall.
func TestParallelErrorLines(t *testing.T) {
	for _, quoted := range []bool{false, true} {
		data := genCSV(100_000, 3, 2, quoted)
		// Break the row that starts at line 70,001 (counting physical lines).
		line, at := 1, 0
		for i, c := range data {
			if c == '\n' {
				line++
				if line == 70_001 {
					at = i + 1
					break
				}
			}
		}
		// Find the start of a record: a line not inside a quoted field.
		for bytes.Count(data[:at], []byte{'"'})%2 != 0 {
			at += bytes.IndexByte(data[at:], '\n') + 1
			line++
		}
		bad := append(append(bytes.Clone(data[:at]), "1,2\n"...), data[at:]...)
		want := fmt.Sprintf(`dataset: "p.csv" line %d: expected 4 fields, got 2`, line)
		for _, cfg := range []csvConfig{{workers: 1, chunks: 1}, {workers: 2, chunks: 3}, {workers: 4, chunks: 16}} {
			if _, err := readCSVBytes(t, bad, cfg); err == nil || err.Error() != want {
				t.Errorf("quoted %v %+v: got %v, want %s", quoted, cfg, err, want)
			}
		}
	}
}

// Round trips through Read on a real file, read into a huge-page buffer.
func TestReadFileCSV(t *testing.T) {
	data := genCSV(30_000, 3, 3, false)
	p := filepath.Join(t.TempDir(), "r.csv")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := Read(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkTable(t, got)
	want, err := readCSVBytes(t, data, csvConfig{workers: 1, chunks: 1})
	if err != nil {
		t.Fatal(err)
	}
	if d := sameTables(got, want); d != "" || got.Path != p {
		t.Fatalf("%s (path %q)", d, got.Path)
	}
}

// MakeFloats hands out zeroed slices of the length asked for, large ones
// starting on a huge page.
func TestMakeFloats(t *testing.T) {
	for _, n := range []int{0, 10, 3 << 20} {
		f := MakeFloats(n)
		if len(f) != n || cap(f) != n || slices.ContainsFunc(f, func(x float64) bool { return x != 0 }) {
			t.Fatalf("n %d: len %d cap %d", n, len(f), cap(f))
		}
		if runtime.GOOS == "linux" && n*8 >= 4*hugePage && uintptr(unsafe.Pointer(unsafe.SliceData(f)))%hugePage != 0 {
			t.Fatalf("n %d: not on a huge page", n)
		}
	}
}

func TestJSONL(t *testing.T) {
	text := "{\"x\": 1.5, \"c\": \"a\", \"b\": true}\r\n" +
		"\n" +
		"{\"c\": null, \"x\": \"2\", \"extra\": {\"k\": [1, 2]}}\n" +
		"{\"x\": \"bad\", \"c\": \"b\\u00e9\", \"b\": false, \"x\": 99}\n" +
		"  {\"x\": [1], \"c\": \"a\", \"b\": null, \"e\\\"sc\": 1e999}  \n" +
		"{\"x\": \"NaN\", \"c\": 7, \"b\": true}"
	tab := mustRead(t, "e.jsonl", text, Options{Kinds: map[string]Kind{"x": KindNumeric}})
	names := []string{}
	for _, c := range tab.Columns {
		names = append(names, c.Name)
	}
	if !reflect.DeepEqual(names, []string{"x", "c", "b", "extra", `e"sc`}) || tab.Rows != 5 {
		t.Fatalf("columns %q rows %d", names, tab.Rows)
	}
	x, c, b, extra, esc := tab.Column("x"), tab.Column("c"), tab.Column("b"), tab.Column("extra"), tab.Column(`e"sc`)
	// "2" counts as a number; "bad" and [1] are invalid; the repeated key
	// keeps its first value; "NaN" is null.
	if x.Num[0] != 1.5 || x.Num[1] != 2 || !math.IsNaN(x.Num[2]) || !math.IsNaN(x.Num[3]) || !math.IsNaN(x.Num[4]) || x.Invalid != 2 || x.Nulls != 1 {
		t.Fatalf("x: %+v", x)
	}
	// A JSON number in a categorical column keeps its text.
	if c.Kind != KindCategorical || !reflect.DeepEqual(c.Str, []string{"a", "", "bé", "a", "7"}) || c.Nulls != 1 || !c.Null[1] {
		t.Fatalf("c: %+v", c)
	}
	if b.Kind != KindCategorical || !reflect.DeepEqual(b.Str, []string{"true", "", "false", "", "true"}) || b.Nulls != 2 {
		t.Fatalf("b: %+v", b)
	}
	// Nested values keep their JSON text as written; missing keys are null.
	if extra.Kind != KindCategorical || extra.Str[1] != `{"k": [1, 2]}` || extra.Nulls != 4 || !extra.Null[0] {
		t.Fatalf("extra: %+v", extra)
	}
	if esc.Kind != KindNumeric || !math.IsInf(esc.Num[3], 1) || esc.Nulls != 4 {
		t.Fatalf("escaped key: %+v", esc)
	}

	inferred := mustRead(t, "n.jsonl", "{\"n\": 1}\n{\"n\": 2.5}\n{\"n\": null}\n{\"s\": \"1\"}\n", Options{})
	if n, s := inferred.Column("n"), inferred.Column("s"); n.Kind != KindNumeric || n.Nulls != 2 || s.Kind != KindCategorical || s.Nulls != 3 {
		t.Fatalf("inferred: %+v %+v", n, s)
	}
}

// A column that first appears after the inference rows is judged on its own
// first rows, and its earlier rows are null.
func TestJSONLLateColumn(t *testing.T) {
	var b strings.Builder
	for i := range 2500 {
		if i < 1800 {
			fmt.Fprintf(&b, "{\"a\": %d}\n", i)
		} else {
			fmt.Fprintf(&b, "{\"a\": %d, \"late\": %d.5, \"word\": \"w%d\"}\n", i, i, i%3)
		}
	}
	tab := mustRead(t, "l.jsonl", b.String(), Options{})
	late, word := tab.Column("late"), tab.Column("word")
	if late.Kind != KindNumeric || late.Nulls != 1800 || late.Num[2499] != 2499.5 || !math.IsNaN(late.Num[0]) {
		t.Fatalf("late: kind %v nulls %d", late.Kind, late.Nulls)
	}
	if word.Kind != KindCategorical || word.Nulls != 1800 || word.Str[1800] != "w0" {
		t.Fatalf("word: kind %v nulls %d", word.Kind, word.Nulls)
	}
}

// The scanner and encoding/json read the same members from a line.
func TestJSONScannerMatchesDecoder(t *testing.T) {
	lines := []string{
		`{}`, `{"a":1}`, `{ "a" : -0.5e+3 , "b" : "x\ny" }`, `{"a":"\u00e9\ud83d\ude00","b":[{"c":{}}],"c":true,"d":false,"e":null}`,
		`{"":""}`, `{"k":"bad utf8 ` + "\xff" + `"}`, `{"k": 12345678901234567890123}`, `{"a":[1,2,[3,{"x":"]"}]]}`,
	}
	for _, l := range lines {
		scanned, ok := scanObject(nil, []byte(l))
		if !ok {
			t.Errorf("%s: scanner declined", l)
			continue
		}
		decoded, err := decodeObject(nil, []byte(l))
		if err != nil {
			t.Errorf("%s: %v", l, err)
			continue
		}
		if !sameMembers(scanned, decoded) {
			t.Errorf("%s:\n scanned %q\n decoded %q", l, scanned, decoded)
		}
	}
	for _, l := range []string{`{"a":01}`, `{"a":1,}`, `{"a" 1}`, `{a:1}`, `{"a":1`, `{"a":"` + "\x01" + `"}`, `{"a":.5}`, `{"a":1.}`, `{"a":-}`, `{"a":[1,]}`, `{"a":"\x"}`} {
		if _, ok := scanObject(nil, []byte(l)); ok {
			t.Errorf("%s: scanner accepted", l)
		}
		if _, err := decodeObject(nil, []byte(l)); err == nil {
			t.Errorf("%s: decoder accepted", l)
		}
	}
}

func sameMembers(a, b []member) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i].key, b[i].key) || a[i].tag != b[i].tag || !bytes.Equal(a[i].text, b[i].text) {
			return false
		}
	}
	return true
}

type pqRow struct {
	X    float64  `parquet:"x"`
	N    int64    `parquet:"n"`
	I    int32    `parquet:"i"`
	U    uint64   `parquet:"u,uint(64)"`
	F    float32  `parquet:"f"`
	C    *string  `parquet:"c,optional"`
	D    string   `parquet:"d,dict"`
	B    bool     `parquet:"b"`
	Opt  *float64 `parquet:"opt,optional"`
	Dec  int64    `parquet:"dec,decimal(2:18)"`
	Dec2 []byte   `parquet:"dec2,decimal(3:20)"`
	Str  string   `parquet:"str"`
}

func TestParquetRoundTrip(t *testing.T) {
	red := "red"
	var rows []pqRow
	for i := range 3000 {
		r := pqRow{X: float64(i) + 0.5, N: int64(i), I: int32(-i), U: math.MaxUint64 - uint64(i), F: 1.25, D: "d" + strconv.Itoa(i%3),
			B: i%2 == 0, Dec: int64(i)*100 + 1, Dec2: append(bytes.Repeat([]byte{0xff}, 8), 0xfe), Str: strconv.Itoa(i)}
		if i%3 != 1 {
			r.C = &red
		}
		if i%5 != 0 {
			v := float64(i)
			if i == 7 {
				v = math.NaN() // a NaN value counts as null
			}
			r.Opt = &v
		}
		if i == 2 {
			r.Str = "not a number"
		}
		rows = append(rows, r)
	}
	path := filepath.Join(t.TempDir(), "t.parquet")
	// Small pages and row groups: many pages per column.
	if err := parquet.WriteFile(path, rows, parquet.PageBufferSize(512), parquet.MaxRowsPerRowGroup(1000)); err != nil {
		t.Fatal(err)
	}
	tab, err := Read(path, Options{Kinds: map[string]Kind{"n": KindCategorical, "str": KindNumeric, "f": KindCategorical}})
	if err != nil {
		t.Fatal(err)
	}
	checkTable(t, tab)
	col := func(name string, kind Kind) *Column {
		c := tab.Column(name)
		if c == nil || c.Kind != kind {
			t.Fatalf("%s: %+v", name, c)
		}
		return c
	}
	x, n, i, u, f := col("x", KindNumeric), col("n", KindCategorical), col("i", KindNumeric), col("u", KindNumeric), col("f", KindCategorical)
	c, d, b, opt := col("c", KindCategorical), col("d", KindCategorical), col("b", KindCategorical), col("opt", KindNumeric)
	dec, dec2, str := col("dec", KindNumeric), col("dec2", KindNumeric), col("str", KindNumeric)
	if tab.Rows != 3000 || x.Num[2999] != 2999.5 || n.Str[42] != "42" || i.Num[5] != -5 || u.Num[0] != math.MaxUint64 || f.Str[0] != "1.25" {
		t.Fatalf("x %v n %q i %v u %v f %q", x.Num[2999], n.Str[42], i.Num[5], u.Num[0], f.Str[0])
	}
	if c.Str[0] != "red" || !c.Null[1] || c.Nulls != 1000 || d.Str[4] != "d1" || b.Str[0] != "true" || b.Str[1] != "false" {
		t.Fatalf("c %+v d %q b %q", c.Str[:3], d.Str[4], b.Str[:2])
	}
	if opt.Num[1] != 1 || !math.IsNaN(opt.Num[0]) || opt.Nulls != 601 || opt.Invalid != 0 {
		t.Fatalf("opt: %v nulls %d", opt.Num[:3], opt.Nulls)
	}
	if dec.Num[3] != 3.01 || dec2.Num[0] != -0.002 || str.Num[7] != 7 || str.Invalid != 1 {
		t.Fatalf("dec %v dec2 %v str %v invalid %d", dec.Num[3], dec2.Num[0], str.Num[7], str.Invalid)
	}
}

func arrowBytes(t *testing.T, file bool) []byte {
	t.Helper()
	mem := memory.DefaultAllocator
	dictType := &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int8, ValueType: arrow.BinaryTypes.String}
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "x", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "i", Type: arrow.PrimitiveTypes.Int32},
		{Name: "u", Type: arrow.PrimitiveTypes.Uint64},
		{Name: "f", Type: arrow.PrimitiveTypes.Float32},
		{Name: "c", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "l", Type: arrow.BinaryTypes.LargeString},
		{Name: "d", Type: dictType},
		{Name: "b", Type: arrow.FixedWidthTypes.Boolean},
		{Name: "dec", Type: &arrow.Decimal128Type{Precision: 10, Scale: 2}},
		{Name: "s", Type: arrow.BinaryTypes.String},
	}, nil)
	var buf bytes.Buffer
	var w interface {
		Write(arrow.RecordBatch) error
		Close() error
	}
	if file {
		fw, err := ipc.NewFileWriter(&buf, ipc.WithSchema(schema))
		if err != nil {
			t.Fatal(err)
		}
		w = fw
	} else {
		w = ipc.NewWriter(&buf, ipc.WithSchema(schema))
	}
	for batch := range 2 {
		bld := array.NewRecordBuilder(mem, schema)
		bld.Field(0).(*array.Float64Builder).AppendValues([]float64{1, 2, 0, math.NaN()}, []bool{true, true, false, true})
		bld.Field(1).(*array.Int32Builder).AppendValues([]int32{7, 8, 9, int32(batch)}, nil)
		bld.Field(2).(*array.Uint64Builder).AppendValues([]uint64{math.MaxUint64, 1, 2, 3}, nil)
		bld.Field(3).(*array.Float32Builder).AppendValues([]float32{0.1, 1, 2, 3}, nil)
		bld.Field(4).(*array.StringBuilder).AppendValues([]string{"a", "", "b", "a"}, []bool{true, false, true, true})
		bld.Field(5).(*array.LargeStringBuilder).AppendValues([]string{"p", "q", "p", "q"}, nil)
		db := bld.Field(6).(*array.BinaryDictionaryBuilder)
		for _, s := range []string{"red", "blue", "red", "green"} {
			if err := db.AppendString(s); err != nil {
				t.Fatal(err)
			}
		}
		bld.Field(7).(*array.BooleanBuilder).AppendValues([]bool{true, false, true, false}, nil)
		bld.Field(8).(*array.Decimal128Builder).AppendValues([]decimal128.Num{decimal128.FromI64(12345), decimal128.FromI64(-5), decimal128.FromI64(0), decimal128.FromI64(100)}, nil)
		bld.Field(9).(*array.StringBuilder).AppendValues([]string{"1.5", "x", "NA", "-inf"}, nil)
		rec := bld.NewRecordBatch()
		if err := w.Write(rec); err != nil {
			t.Fatal(err)
		}
		rec.Release()
		bld.Release()
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestArrowRoundTrip(t *testing.T) {
	for _, file := range []bool{true, false} {
		for _, ext := range []string{"t.arrow", "t.arrows", "t.ipc", "t.feather"} {
			tab, err := ReadReader(bytes.NewReader(arrowBytes(t, file)), ext, "", Options{Kinds: map[string]Kind{"i": KindCategorical, "f": KindCategorical, "s": KindNumeric}})
			if err != nil {
				t.Fatal(err)
			}
			checkTable(t, tab)
			x, i, u, f, c := tab.Column("x"), tab.Column("i"), tab.Column("u"), tab.Column("f"), tab.Column("c")
			l, d, b, dec, s := tab.Column("l"), tab.Column("d"), tab.Column("b"), tab.Column("dec"), tab.Column("s")
			if tab.Rows != 8 || x.Kind != KindNumeric || x.Num[1] != 2 || !math.IsNaN(x.Num[2]) || x.Nulls != 4 || x.Invalid != 0 {
				t.Fatalf("file=%v: x %+v", file, x)
			}
			if i.Kind != KindCategorical || i.Str[2] != "9" || i.Str[7] != "1" || u.Kind != KindNumeric || u.Num[0] != math.MaxUint64 {
				t.Fatalf("i %+v u %+v", i, u)
			}
			if f.Kind != KindCategorical || f.Str[0] != "0.1" {
				t.Fatalf("f: %q", f.Str)
			}
			if c.Str[2] != "b" || !c.Null[1] || c.Nulls != 2 || l.Str[1] != "q" || d.Kind != KindCategorical || d.Str[3] != "green" {
				t.Fatalf("c %+v l %+v d %+v", c, l, d)
			}
			if b.Kind != KindCategorical || b.Str[0] != "true" || dec.Kind != KindNumeric || dec.Num[0] != 123.45 || dec.Num[1] != -0.05 {
				t.Fatalf("b %+v dec %+v", b, dec)
			}
			if s.Kind != KindNumeric || s.Num[0] != 1.5 || s.Invalid != 2 || s.Nulls != 2 || !math.IsInf(s.Num[3], -1) {
				t.Fatalf("s: %+v", s)
			}
		}
	}
}

// The CSV scanner's numbers equal strconv.ParseFloat bit for bit.
func TestScanNumberMatchesStrconv(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 21))
	var b strings.Builder
	b.WriteString("x\n")
	var cells []string
	for range 50000 {
		var s string
		switch r.IntN(5) {
		case 0:
			s = strconv.FormatFloat(r.NormFloat64()*math.Pow(10, float64(r.IntN(24)-8)), 'f', r.IntN(14), 64)
		case 1:
			s = strconv.FormatFloat(r.NormFloat64(), 'g', -1, 64)
		case 2:
			s = strconv.Itoa(r.IntN(1 << 30))
		case 3:
			s = strings.Repeat("0", r.IntN(12)) + strconv.Itoa(r.IntN(1000)) + "." + strings.Repeat("9", r.IntN(12))
		default:
			s = "-" + strconv.FormatUint(r.Uint64()>>uint(r.IntN(64)), 10)
		}
		cells = append(cells, s)
		b.WriteString(s)
		if r.IntN(10) == 0 {
			b.WriteString("\r")
		}
		b.WriteString("\n")
	}
	tab := mustRead(t, "n.csv", b.String(), Options{Kinds: map[string]Kind{"x": KindNumeric}})
	for i, s := range cells {
		want, _ := strconv.ParseFloat(s, 64)
		if got := tab.Columns[0].Num[i]; math.Float64bits(got) != math.Float64bits(want) {
			t.Fatalf("%q: got %v, want %v", s, got, want)
		}
	}
}

// The unquoted scanner and the quote-aware splitter read the same table.
func TestFastPathMatchesSplitter(t *testing.T) {
	data := "x,c,y\r\n1.5,a,-2\r\n\r\n 3 ,b,1e3\r\nNA,,inf\r\n7,\"q\",8\r\n9,r,\r"
	quoted := mustRead(t, "q.csv", data, Options{})
	plain := mustRead(t, "p.csv", strings.Replace(data, `"q"`, "q", 1), Options{})
	if d := sameTables(quoted, plain); d != "" {
		t.Fatal(d)
	}
}

// fuzzCSV checks one input: no panic, invariants when it reads, and the same
// result (table or error) from one sequential chunk and from small parallel
// chunks.
func fuzzCSV(t *testing.T, data []byte) {
	seq, errSeq := readCSVBytes(t, data, csvConfig{workers: 1, chunks: 1})
	par, errPar := readCSVBytes(t, data, csvConfig{workers: 2, chunks: 3})
	if (errSeq == nil) != (errPar == nil) || (errSeq != nil && errSeq.Error() != errPar.Error()) {
		t.Fatalf("sequential %v, parallel %v", errSeq, errPar)
	}
	if errSeq != nil {
		return
	}
	checkTable(t, seq)
	if d := sameTables(seq, par); d != "" {
		t.Fatal(d)
	}
}

func FuzzReadCSV(f *testing.F) {
	for _, s := range []string{
		"a,b\n1,2\n", "a\n\"x\"\"y\"\n", "a,b\r\n1,\"2\n3\"\r\n", "\xef\xbb\xbfa\n1\n", "a,b\n1\n", "a\n\"open\n", "a,a\n1,2\n",
		"a,b\n1,2\n\n3,4", "a,b\n-1.5,x\n2e3,\"y,z\"\n\r\nNA,\n", "a\ninf\n-Infinity\nnan\n", "", "a,b\n", "x\n1\r2\n",
		"a,b\n1,\"q\"x\n2,\"\"\n", "a,b\n1,2,\n", "a\n5\" screen\n\"x\ny\"\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(fuzzCSV)
}

func FuzzReadJSONL(f *testing.F) {
	for _, s := range []string{
		"{\"a\":1}\n{\"a\":\"x\",\"b\":null}\n", "[1]\n", "{\"a\":{\"b\":[1,2]}}\n", "{\"a\":1}{\"a\":2}\n", "{\"a\":1e999}\n",
		"{\"a\":\"\\u00e9\"}\r\n\n{}\n", "{\"a\":", "{\"a\":01}\n", "{\"a\":true,\"a\":false}\n", "\xef\xbb\xbf{\"a\":1}\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tab, err := ReadReader(bytes.NewReader(data), "fuzz.jsonl", "jsonl", Options{})
		if err == nil {
			checkTable(t, tab)
		}
		// Whatever the scanner accepts, encoding/json reads alike.
		for l := range bytes.SplitSeq(data, []byte{'\n'}) {
			l = bytes.TrimSpace(l)
			if scanned, ok := scanObject(nil, l); ok {
				decoded, err := decodeObject(nil, l)
				if err != nil || !sameMembers(scanned, decoded) {
					t.Fatalf("%q: scanned %q, decoded %q %v", l, scanned, decoded, err)
				}
			}
		}
	})
}

func FuzzReadArrow(f *testing.F) {
	f.Add([]byte("ARROW1\x00\x00"))
	// An LZ4-compressed stream from arrow-js with misdeclared buffer
	// lengths: the error path decompresses it a second time.
	if js, err := os.ReadFile("../testdata/arrowjs/lz4_21.2.0.arrows"); err == nil {
		f.Add(js)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tab, err := ReadReader(bytes.NewReader(data), "fuzz.arrow", "arrow", Options{})
		if err == nil {
			checkTable(t, tab)
		}
	})
}

// benchCSV is the end-to-end target's input: rows × 10 numeric columns of
// values like -1.234567.
func benchCSV(rows int) []byte {
	r := rand.New(rand.NewPCG(3, 3))
	var b bytes.Buffer
	b.Grow(rows * 100)
	b.WriteString("f0,f1,f2,f3,f4,f5,f6,f7,f8,f9\n")
	buf := make([]byte, 0, 32)
	for range rows {
		for c := range 10 {
			if c > 0 {
				b.WriteByte(',')
			}
			buf = strconv.AppendFloat(buf[:0], r.NormFloat64()*float64(c+1), 'f', 6, 64)
			b.Write(buf)
		}
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// BenchmarkReadCSV reads a 1M × 10 numeric CSV file (~100 MB) with Read.
func BenchmarkReadCSV(b *testing.B) {
	data := benchCSV(1_000_000)
	path := filepath.Join(b.TempDir(), "bench.csv")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Read(path, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReadCSVQuoted: 1M rows with a quoted categorical column.
func BenchmarkReadCSVQuoted(b *testing.B) {
	data := genCSV(1_000_000, 4, 4, true)
	path := filepath.Join(b.TempDir(), "quoted.csv")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Read(path, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReadJSONL(b *testing.B) {
	var buf bytes.Buffer
	r := rand.New(rand.NewPCG(5, 5))
	for i := range 200_000 {
		fmt.Fprintf(&buf, `{"a": %.6f, "b": %.6f, "c": "k%d", "d": %v}`+"\n", r.NormFloat64(), r.NormFloat64(), i%7, i%2 == 0)
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ReadReader(bytes.NewReader(data), "b.jsonl", "", Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

type benchPQRow struct {
	A, B, C, D, E, F, G, H, I, J float64
}

func BenchmarkReadParquet(b *testing.B) {
	r := rand.New(rand.NewPCG(6, 6))
	rows := make([]benchPQRow, 1_000_000)
	for i := range rows {
		rows[i] = benchPQRow{r.NormFloat64(), r.NormFloat64(), r.NormFloat64(), r.NormFloat64(), r.NormFloat64(),
			r.NormFloat64(), r.NormFloat64(), r.NormFloat64(), r.NormFloat64(), r.NormFloat64()}
	}
	path := filepath.Join(b.TempDir(), "bench.parquet")
	if err := parquet.WriteFile(path, rows); err != nil {
		b.Fatal(err)
	}
	st, _ := os.Stat(path)
	b.SetBytes(st.Size())
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Read(path, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// An Arrow stream whose compressed buffers misdeclare their length (as
// arrow-js 21.2.0 writes LZ4 bodies) is an error naming the cause, not a
// slice-bounds panic.
func TestReadArrowMisdeclaredLength(t *testing.T) {
	path := "../testdata/arrowjs/lz4_21.2.0.arrows"
	_, err := Read(path, Options{})
	want := fmt.Sprintf(`dataset: %q: cannot read arrow: lz4-compressed buffer 4 of the message at offset 1672 declares 29 uncompressed bytes in its 8-byte prefix but decompresses to 800`, path)
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("got %v\nwant %s...", err, want)
	}
}
