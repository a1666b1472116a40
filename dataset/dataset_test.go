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
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/parquet-go/parquet-go"
)

func readString(t *testing.T, name, content string, opt Options) (*Table, error) {
	t.Helper()
	return ReadReader(strings.NewReader(content), name, "", opt)
}

func TestCSV(t *testing.T) {
	tab, err := readString(t, "a.csv", "\xef\xbb\xbfx,name,note\r\n1.5,a,\"hello, world\"\r\n,b,\"say \"\"hi\"\"\"\r\noops,,\"two\nlines\"\r\n-inf,a,x\r\n", Options{})
	if err != nil {
		t.Fatal(err)
	}
	x, name, note := tab.Columns[0], tab.Columns[1], tab.Columns[2]
	if tab.Rows != 4 || x.Name != "x" || x.Kind != KindCategorical {
		// 2 of 3 non-null cells parse: below 99%, so x is categorical.
		t.Fatalf("rows %d, x %+v", tab.Rows, x)
	}
	if name.Kind != KindCategorical || !reflect.DeepEqual(name.Str, []string{"a", "b", "", "a"}) || name.Nulls != 1 || !name.Null[2] {
		t.Fatalf("name: %+v", name)
	}
	if !reflect.DeepEqual(note.Str, []string{"hello, world", `say "hi"`, "two\nlines", "x"}) {
		t.Fatalf("note: %q", note.Str)
	}
	tab, err = readString(t, "a.csv", "x,name\n1.5,a\n,b\noops,c\n-inf,a\n", Options{Kinds: map[string]Kind{"x": KindNumeric}})
	if err != nil {
		t.Fatal(err)
	}
	x = tab.Columns[0]
	if x.Kind != KindNumeric || x.Num[0] != 1.5 || !math.IsNaN(x.Num[1]) || !math.IsNaN(x.Num[2]) || !math.IsInf(x.Num[3], -1) || x.Invalid != 1 || x.Nulls != 1 {
		t.Fatalf("forced numeric x: %+v", x)
	}
}

func TestInference(t *testing.T) {
	var b strings.Builder
	b.WriteString("mostly,text,flag\n")
	for i := range 1000 {
		v := strconv.Itoa(i)
		if i == 500 {
			v = "n/a?" // 1 bad cell in 1000: still numeric, counted invalid
		}
		fmt.Fprintf(&b, "%s,id%d,%v\n", v, i, i%2 == 0)
	}
	b.WriteString("later-garbage,x,true\n") // beyond the inference rows
	tab, err := readString(t, "a.csv", b.String(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	m := tab.Column("mostly")
	if m.Kind != KindNumeric || m.Invalid != 2 || tab.Column("text").Kind != KindCategorical || tab.Column("flag").Kind != KindCategorical {
		t.Fatalf("kinds: %v invalid %d, %v, %v", m.Kind, m.Invalid, tab.Column("text").Kind, tab.Column("flag").Kind)
	}
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
			t.Fatalf("%s:\n got %v\nwant %s", path, err, want)
		}
	}
	missing := filepath.Join(dir, "missing.csv")
	f(missing, Options{}, fmt.Sprintf("dataset: cannot open %q: open %s: no such file or directory", missing, missing))
	p := write("empty.csv", "")
	f(p, Options{}, fmt.Sprintf("dataset: %q is empty", p))
	p = write("header.csv", "a,b\n")
	f(p, Options{}, fmt.Sprintf("dataset: %q has a header but no rows", p))
	p = write("ragged.csv", "a,b\n1,2\n\"x\ny\",3\n4\n")
	f(p, Options{}, fmt.Sprintf("dataset: %q line 5: expected 2 fields, got 1", p))
	p = write("long.csv", "a,b\r\n1,2\r\n\r\n3,4,5\r\n")
	f(p, Options{}, fmt.Sprintf("dataset: %q line 4: expected 2 fields, got 3", p))
	p = write("short.csv", "a,b,c\n1,x,3\n4,y\n")
	f(p, Options{}, fmt.Sprintf("dataset: %q line 3: expected 3 fields, got 2", p))
	p = write("dup.csv", "a,a\n1,2\n")
	f(p, Options{}, fmt.Sprintf("dataset: %q line 1: duplicate column \"a\"", p))
	p = write("quote.csv", "a,b\n1,\"open\n")
	f(p, Options{}, fmt.Sprintf("dataset: %q line 2: unterminated quoted field", p))
	p = write("data.txt", "a\n1\n")
	f(p, Options{}, fmt.Sprintf("dataset: %q: unknown input format \"txt\" (want csv, parquet, arrow or jsonl)", p))
	f(p, Options{Format: "xml"}, fmt.Sprintf("dataset: %q: unknown input format \"xml\" (want csv, parquet, arrow or jsonl)", p))
	p = write("bad.jsonl", "{\"a\": 1}\n{\"a\": \n")
	f(p, Options{}, fmt.Sprintf("dataset: %q line 2: unexpected EOF", p))
	p = write("array.jsonl", "[1,2]\n")
	f(p, Options{}, fmt.Sprintf("dataset: %q line 1: expected a JSON object", p))
	p = write("bad.parquet", "PAR1 not really")
	if _, err := Read(p, Options{}); err == nil || !strings.HasPrefix(err.Error(), fmt.Sprintf("dataset: %q: cannot read parquet: ", p)) {
		t.Fatalf("corrupt parquet: %v", err)
	}
	p = write("bad.arrow", "ARROW1\x00\x00garbage")
	if _, err := Read(p, Options{}); err == nil || !strings.HasPrefix(err.Error(), fmt.Sprintf("dataset: %q: cannot read arrow: ", p)) {
		t.Fatalf("corrupt arrow: %v", err)
	}
}

func TestJSONL(t *testing.T) {
	tab, err := readString(t, "e.jsonl", `{"x": 1.5, "c": "a", "b": true}

{"c": null, "x": "2", "extra": {"k": 1}}
{"x": "bad", "c": "b", "b": false}
`, Options{Kinds: map[string]Kind{"x": KindNumeric}})
	if err != nil {
		t.Fatal(err)
	}
	x, c, b, extra := tab.Column("x"), tab.Column("c"), tab.Column("b"), tab.Column("extra")
	if tab.Rows != 3 || x.Kind != KindNumeric || x.Num[0] != 1.5 || x.Num[1] != 2 || !math.IsNaN(x.Num[2]) || x.Invalid != 1 {
		t.Fatalf("x: %+v", x)
	}
	if c.Kind != KindCategorical || c.Nulls != 1 || !c.Null[1] || c.Str[2] != "b" {
		t.Fatalf("c: %+v", c)
	}
	if b.Str[0] != "true" || !b.Null[1] || extra.Str[1] != `{"k":1}` || !extra.Null[0] {
		t.Fatalf("b %+v extra %+v", b, extra)
	}
	inferred, err := readString(t, "n.jsonl", "{\"n\": 1}\n{\"n\": 2.5}\n{\"n\": null}\n", Options{})
	if err != nil || inferred.Columns[0].Kind != KindNumeric || inferred.Columns[0].Nulls != 1 {
		t.Fatalf("inferred: %+v %v", inferred.Columns[0], err)
	}
	if names := []string{tab.Columns[0].Name, tab.Columns[1].Name, tab.Columns[2].Name, tab.Columns[3].Name}; !reflect.DeepEqual(names, []string{"x", "c", "b", "extra"}) {
		t.Fatalf("column order %v", names)
	}
}

type pqRow struct {
	X   float64  `parquet:"x"`
	N   int64    `parquet:"n"`
	C   *string  `parquet:"c,optional"`
	B   bool     `parquet:"b"`
	Opt *float64 `parquet:"opt,optional"`
}

func TestParquet(t *testing.T) {
	s := "red"
	v := 2.5
	rows := []pqRow{{X: 1.5, N: 3, C: &s, B: true, Opt: &v}, {X: -2, N: 4, C: nil, B: false}}
	path := filepath.Join(t.TempDir(), "t.parquet")
	if err := parquet.WriteFile(path, rows); err != nil {
		t.Fatal(err)
	}
	tab, err := Read(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	x, n, c, b, opt := tab.Column("x"), tab.Column("n"), tab.Column("c"), tab.Column("b"), tab.Column("opt")
	if tab.Rows != 2 || x.Kind != KindNumeric || x.Num[1] != -2 || n.Num[0] != 3 || c.Kind != KindCategorical || c.Str[0] != "red" ||
		!c.Null[1] || b.Str[0] != "true" || opt.Num[0] != 2.5 || !math.IsNaN(opt.Num[1]) || opt.Nulls != 1 {
		t.Fatalf("parquet table: x %+v n %+v c %+v b %+v opt %+v", x, n, c, b, opt)
	}
}

func arrowBytes(t *testing.T, file bool) []byte {
	t.Helper()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "x", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "i", Type: arrow.PrimitiveTypes.Int32},
		{Name: "c", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	bld := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer bld.Release()
	bld.Field(0).(*array.Float64Builder).AppendValues([]float64{1, 2, 0}, []bool{true, true, false})
	bld.Field(1).(*array.Int32Builder).AppendValues([]int32{7, 8, 9}, nil)
	bld.Field(2).(*array.StringBuilder).AppendValues([]string{"a", "", "b"}, []bool{true, false, true})
	rec := bld.NewRecordBatch()
	defer rec.Release()
	var buf bytes.Buffer
	if file {
		w, err := ipc.NewFileWriter(&buf, ipc.WithSchema(schema))
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Write(rec); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	} else {
		w := ipc.NewWriter(&buf, ipc.WithSchema(schema))
		if err := w.Write(rec); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

func TestArrow(t *testing.T) {
	for _, file := range []bool{true, false} {
		tab, err := ReadReader(bytes.NewReader(arrowBytes(t, file)), "t.arrow", "", Options{Kinds: map[string]Kind{"i": KindCategorical}})
		if err != nil {
			t.Fatal(err)
		}
		x, i, c := tab.Column("x"), tab.Column("i"), tab.Column("c")
		if tab.Rows != 3 || x.Num[1] != 2 || !math.IsNaN(x.Num[2]) || x.Nulls != 1 || i.Kind != KindCategorical || i.Str[2] != "9" ||
			c.Str[2] != "b" || !c.Null[1] || c.Nulls != 1 {
			t.Fatalf("file=%v: x %+v i %+v c %+v", file, x, i, c)
		}
	}
}

func genCSV(rows, cols int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	var b bytes.Buffer
	for c := range cols {
		if c > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "f%d", c)
	}
	b.WriteString(",cat\n")
	buf := make([]byte, 0, 32)
	for range rows {
		for c := range cols {
			if c > 0 {
				b.WriteByte(',')
			}
			if r.IntN(1000) == 0 {
				continue // null
			}
			buf = strconv.AppendFloat(buf[:0], r.NormFloat64()*float64(c+1), 'f', 6, 64)
			b.Write(buf)
		}
		fmt.Fprintf(&b, ",k%d\n", r.IntN(7))
	}
	return b.Bytes()
}

func TestParallelEqualsSequential(t *testing.T) {
	data := genCSV(200000, 4, 1)
	par, err := ReadReader(bytes.NewReader(data), "p.csv", "", Options{})
	if err != nil {
		t.Fatal(err)
	}
	prev := runtime.GOMAXPROCS(1)
	seq, err := ReadReader(bytes.NewReader(data), "p.csv", "", Options{})
	runtime.GOMAXPROCS(prev)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOMAXPROCS(0) > 1 && !reflect.DeepEqual(withoutNaN(par), withoutNaN(seq)) {
		t.Fatal("parallel and sequential parses differ")
	}
	if par.Rows != 200000 || par.Columns[0].Nulls == 0 {
		t.Fatalf("rows %d nulls %d", par.Rows, par.Columns[0].Nulls)
	}
}

// withoutNaN maps NaN to a sentinel so DeepEqual compares tables.
func withoutNaN(t *Table) *Table {
	for _, c := range t.Columns {
		for i, v := range c.Num {
			if v != v {
				c.Num[i] = -12345.678
			}
		}
	}
	return t
}

func TestParseFloatMatchesStrconv(t *testing.T) {
	inputs := []string{"0", "-0", "+0.0", "1", "-1.5", "123456.789012", "0.1", "0.30000000000000004", "9007199254740993",
		"9007199254740992", "1e10", "1E-5", "-2.5e+300", "1e400", "-1e400", "1e-400", "4.9e-324", ".5", "5.", "00012.50",
		"1234567890123456789", "12345678901234567890", "0.0000000000000000000000001", "123.456e7", "inf", "-Infinity", "NaN",
		"0x1p-2", "1_000", "", ".", "-", "+", "1.2.3", "abc", "1e", "--1", " 1"}
	r := rand.New(rand.NewPCG(2, 2))
	for range 20000 {
		inputs = append(inputs, strconv.FormatFloat(r.NormFloat64()*math.Pow(10, float64(r.IntN(30)-15)), 'f', r.IntN(12), 64))
		inputs = append(inputs, strconv.FormatFloat(r.NormFloat64(), 'g', -1, 64))
	}
	for _, s := range inputs {
		want, err := strconv.ParseFloat(s, 64)
		wantOK := err == nil || strings.Contains(err.Error(), "value out of range")
		got, ok := parseFloat([]byte(s))
		if ok != wantOK || (ok && math.Float64bits(got) != math.Float64bits(want) && !(got != got && want != want)) {
			t.Fatalf("%q: got %v %v, want %v %v", s, got, ok, want, wantOK)
		}
	}
}

func FuzzParseFloat(f *testing.F) {
	for _, s := range []string{"1.5", "-0", "1e10", "123456789012345678901", "0.1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := strconv.ParseFloat(s, 64)
		wantOK := err == nil || strings.Contains(err.Error(), "value out of range")
		got, ok := parseFloat([]byte(s))
		if ok != wantOK || (ok && math.Float64bits(got) != math.Float64bits(want) && !(got != got && want != want)) {
			t.Fatalf("%q: got %v %v, want %v %v", s, got, ok, want, wantOK)
		}
	})
}

func checkTable(t *testing.T, tab *Table) {
	if tab.Rows <= 0 {
		t.Fatalf("table with %d rows and no error", tab.Rows)
	}
	for _, c := range tab.Columns {
		if c.Len() != tab.Rows || (c.Null != nil && len(c.Null) != tab.Rows) {
			t.Fatalf("column %q has %d values for %d rows", c.Name, c.Len(), tab.Rows)
		}
	}
}

// The unquoted fast path and the general splitter read the same table.
func TestFastPathMatchesSplitter(t *testing.T) {
	data := "x,c,y\r\n1.5,a,-2\r\n\r\n 3 ,b,1e3\r\nNA,,inf\r\n7,\"q\",8\r\n"
	quoted, err := readString(t, "q.csv", data, Options{})
	if err != nil {
		t.Fatal(err)
	}
	plain, err := readString(t, "p.csv", strings.Replace(data, `"q"`, "q", 1), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(withoutNaN(quoted).Columns, withoutNaN(plain).Columns) {
		t.Fatalf("paths differ:\n%+v\n%+v", quoted.Columns[0], plain.Columns[0])
	}
}

func FuzzReadCSV(f *testing.F) {
	for _, s := range []string{"a,b\n1,2\n", "a\n\"x\"\"y\"\n", "a,b\r\n1,\"2\n3\"\r\n", "\xef\xbb\xbfa\n1\n", "a,b\n1\n", "a\n\"open\n", "a,a\n1,2\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tab, err := ReadReader(bytes.NewReader(data), "fuzz.csv", "csv", Options{})
		if err == nil {
			checkTable(t, tab)
		}
	})
}

func FuzzReadJSONL(f *testing.F) {
	for _, s := range []string{"{\"a\":1}\n{\"a\":\"x\",\"b\":null}\n", "[1]\n", "{\"a\":{\"b\":[1,2]}}\n", "{\"a\":1}{\"a\":2}\n", "{\"a\":1e999}\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		tab, err := ReadReader(bytes.NewReader(data), "fuzz.jsonl", "jsonl", Options{})
		if err == nil {
			checkTable(t, tab)
		}
	})
}

func FuzzReadArrow(f *testing.F) {
	f.Add([]byte("ARROW1\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		tab, err := ReadReader(bytes.NewReader(data), "fuzz.arrow", "arrow", Options{})
		if err == nil {
			checkTable(t, tab)
		}
	})
}

func BenchmarkReadCSV(b *testing.B) {
	data := genCSV(1_000_000, 10, 3)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ReadReader(bytes.NewReader(data), "bench.csv", "", Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseFloat(b *testing.B) {
	cells := make([][]byte, 1024)
	r := rand.New(rand.NewPCG(4, 4))
	for i := range cells {
		cells[i] = strconv.AppendFloat(nil, r.NormFloat64()*100, 'f', 6, 64)
	}
	b.ReportAllocs()
	var s float64
	for i := 0; b.Loop(); i++ {
		v, _ := parseFloat(cells[i&1023])
		s += v
	}
	_ = s
}

// The CSV scanner's numbers equal strconv.ParseFloat bit for bit, whatever
// the digit counts around the 8-byte SWAR steps.
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
	tab, err := readString(t, "n.csv", b.String(), Options{Kinds: map[string]Kind{"x": KindNumeric}})
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range cells {
		want, _ := strconv.ParseFloat(s, 64)
		if got := tab.Columns[0].Num[i]; math.Float64bits(got) != math.Float64bits(want) {
			t.Fatalf("%q: got %v, want %v", s, got, want)
		}
	}
}
