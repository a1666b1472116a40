package events

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/endian"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Test helpers.

func fld(name string, t arrow.DataType) arrow.Field {
	return arrow.Field{Name: name, Type: t, Nullable: true}
}

func dictOf(idx, val arrow.DataType) *arrow.DictionaryType {
	return &arrow.DictionaryType{IndexType: idx, ValueType: val}
}

var (
	utf8     = arrow.BinaryTypes.String
	f64      = arrow.PrimitiveTypes.Float64
	i64      = arrow.PrimitiveTypes.Int64
	dictText = dictOf(arrow.PrimitiveTypes.Int32, utf8)
	tsMS     = &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}
)

// arrowStream writes one IPC stream with a record batch per JSON array
// (arrow-go's JSON form: objects keyed by column name).
func arrowStream(t testing.TB, fields []arrow.Field, batches []string, opts ...ipc.Option) []byte {
	t.Helper()
	return arrowStreamSchema(t, arrow.NewSchema(fields, nil), batches, opts...)
}

func arrowStreamSchema(t testing.TB, s *arrow.Schema, batches []string, opts ...ipc.Option) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := ipc.NewWriter(&buf, append([]ipc.Option{ipc.WithSchema(s)}, opts...)...)
	for _, js := range batches {
		rec, _, err := array.RecordFromJSON(memory.DefaultAllocator, s, strings.NewReader(js))
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Write(rec); err != nil {
			t.Fatal(err)
		}
		rec.Release()
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func decodeArrow(t testing.TB, msg []byte) (*Columns, error) {
	t.Helper()
	var b Columns
	d := NewArrowDecoder(DefaultFields)
	err := d.Decode(msg, &b)
	if err == nil {
		checkColumns(t, &b)
	}
	return &b, err
}

// checkColumns checks the shape Columns promises after a successful Decode.
func checkColumns(t testing.TB, b *Columns) {
	t.Helper()
	n := b.Rows
	lenIs := func(name string, got int, present bool) {
		t.Helper()
		if present && got != n || !present && got != 0 {
			t.Fatalf("%s: %d entries for %d rows (present %v)", name, got, n, present)
		}
	}
	nullIs := func(name string, null []bool, present bool) {
		t.Helper()
		if null != nil {
			lenIs(name, len(null), present)
			if !slices.Contains(null, true) {
				t.Fatalf("%s: null slice without nulls", name)
			}
		}
	}
	lenIs("id", len(b.ID), true)
	lenIs("model", len(b.Model), true)
	lenIs("version", len(b.Version), true)
	for i := range n {
		if b.ID[i] == "" || b.Model[i] == "" {
			t.Fatalf("row %d: empty id %q or model %q", i, b.ID[i], b.Model[i])
		}
	}
	lenIs("ts", len(b.TS), b.HasTS)
	lenIs("prediction", len(b.Prediction), b.HasPrediction)
	lenIs("prediction num", len(b.PredictionNum), b.HasPrediction)
	nullIs("prediction null", b.PredictionNull, b.HasPrediction)
	lenIs("score", len(b.Score), b.HasScore)
	lenIs("latency", len(b.LatencyMS), b.HasLatency)
	lenIs("error", len(b.Error), b.HasError)
	lenIs("label", len(b.Label), b.HasLabel)
	lenIs("label num", len(b.LabelNum), b.HasLabel)
	nullIs("label null", b.LabelNull, b.HasLabel)
	lenIs("value", len(b.Value), b.HasValue)
	for _, c := range b.Num {
		lenIs(c.Name, len(c.Values), true)
	}
	for _, c := range b.Cat {
		lenIs(c.Name, len(c.Values), true)
		nullIs(c.Name, c.Null, true)
		for i, s := range c.Values {
			if c.Null != nil && c.Null[i] && s != "" {
				t.Fatalf("%s row %d: null with text %q", c.Name, i, s)
			}
		}
	}
}

func num(b *Columns, name string) []float64 {
	for _, c := range b.Num {
		if c.Name == name {
			return c.Values
		}
	}
	return nil
}

func cat(b *Columns, name string) *CatColumn {
	for i := range b.Cat {
		if b.Cat[i].Name == name {
			return &b.Cat[i]
		}
	}
	return nil
}

// sameFloats compares with NaN equal to NaN.
func sameFloats(a, b []float64) bool {
	return slices.EqualFunc(a, b, func(x, y float64) bool { return x == y || x != x && y != y })
}

var nan = math.NaN()

// Round trip: events read by the JSON decoder, encoded by EncodeArrow and
// decoded again, give the same values in columns.
func TestArrowRoundTrip(t *testing.T) {
	f := func(msgs ...string) {
		t.Helper()
		evs := make([]Event, len(msgs))
		for i, m := range msgs {
			if err := NewJSONDecoder(DefaultFields).Decode([]byte(m), &evs[i]); err != nil {
				t.Fatal(err)
			}
		}
		msg, err := EncodeArrow(evs, DefaultFields)
		if err != nil {
			t.Fatal(err)
		}
		b, err := decodeArrow(t, msg)
		if err != nil {
			t.Fatal(err)
		}
		compareEvents(t, evs, b)
	}
	// Predictions: every feature kind, nulls and missing features.
	f(`{"id":"p1","model":"credit","version":"v2","ts":"2026-11-22T10:00:00.5Z","features":{"age":42,"income":51000.5,"home":"RENT","flag":true},"prediction":"1","score":0.83,"latency_ms":12}`,
		`{"id":"p2","model":"credit","version":"v2","ts":1763805600000,"features":{"age":null,"home":"OWN","flag":false,"late":3},"prediction":"0","score":0.1}`,
		`{"id":"p3","model":"credit","ts":1763805600001,"features":{"income":-1e300,"home":null},"prediction":null,"latency_ms":3.5}`)
	// Regression predictions and numeric outcomes.
	f(`{"id":"r1","model":"price","features":{"x":1},"prediction":12.5}`, `{"id":"r2","model":"price","prediction":-3}`)
	f(`{"id":"o1","model":"credit","label":1}`, `{"id":"o2","model":"credit","label":0,"value":0.5}`, `{"id":"o3","model":"credit","value":2}`)
	// Outcomes with text labels that carry their prediction.
	f(`{"id":"o1","model":"credit","label":"fraud","prediction":"fraud","score":0.9}`, `{"id":"o2","model":"credit","label":"ok"}`, `{"id":"o3","model":"credit","label":null}`)
	// Boolean predictions.
	f(`{"id":"b1","model":"m","prediction":true}`, `{"id":"b2","model":"m","prediction":false}`)
	// Error flags of every JSON kind become a boolean column, null when absent.
	f(`{"id":"e1","model":"m","error":"timeout"}`, `{"id":"e2","model":"m","error":0}`, `{"id":"e3","model":"m"}`, `{"id":"e4","model":"m","error":true}`)
}

func compareEvents(t *testing.T, evs []Event, b *Columns) {
	t.Helper()
	if b.Rows != len(evs) {
		t.Fatalf("%d rows, want %d", b.Rows, len(evs))
	}
	text := func(v Value) string {
		if v.Kind == Number {
			return strconv.FormatFloat(v.Num, 'g', -1, 64)
		}
		return v.Str
	}
	for i := range evs {
		e := &evs[i]
		if b.ID[i] != e.ID || b.Model[i] != e.Model || b.Version[i] != e.Version {
			t.Fatalf("row %d: %q %q %q, want %+v", i, b.ID[i], b.Model[i], b.Version[i], e)
		}
		if e.HasTS && (!b.HasTS || b.TS[i] != e.TS) {
			t.Fatalf("row %d: ts %v, want %d", i, b.TS, e.TS)
		}
		for _, v := range e.Features {
			switch v.Kind {
			case Number:
				if got := num(b, v.Name); got == nil || got[i] != v.Num {
					t.Fatalf("row %d: feature %s = %v, want %v", i, v.Name, got, v.Num)
				}
			case String, Bool:
				if c := cat(b, v.Name); c == nil || c.Values[i] != v.Str || c.Null != nil && c.Null[i] {
					t.Fatalf("row %d: feature %s = %+v, want %q", i, v.Name, c, v.Str)
				}
			case Null:
				if got := num(b, v.Name); got != nil && got[i] == got[i] {
					t.Fatalf("row %d: feature %s = %v, want NaN", i, v.Name, got[i])
				}
				if c := cat(b, v.Name); c != nil && (c.Null == nil || !c.Null[i]) {
					t.Fatalf("row %d: feature %s = %+v, want null", i, v.Name, c)
				}
			}
		}
		check := func(name string, has bool, v Value, hasCol bool, txt []string, nums []float64, null []bool) {
			t.Helper()
			switch {
			case has && v.Kind != Null:
				if !hasCol || txt[i] != text(v) || (null != nil && null[i]) {
					t.Fatalf("row %d: %s %v, want %q", i, name, txt, text(v))
				}
				want := nan
				if v.Kind == Number {
					want = v.Num
				}
				if !sameFloats(nums[i:i+1], []float64{want}) {
					t.Fatalf("row %d: %s number %v, want %v", i, name, nums[i], want)
				}
			case hasCol:
				if null == nil || !null[i] || txt[i] != "" || nums[i] == nums[i] {
					t.Fatalf("row %d: %s %q, want null", i, name, txt[i])
				}
			}
		}
		check("prediction", e.HasPrediction, e.Prediction, b.HasPrediction, b.Prediction, b.PredictionNum, b.PredictionNull)
		check("label", e.HasLabel, e.Label, b.HasLabel, b.Label, b.LabelNum, b.LabelNull)
		floatIs := func(name string, has bool, want float64, hasCol bool, got []float64) {
			t.Helper()
			if !has {
				want = nan
			}
			if (has || hasCol) && (!hasCol || !sameFloats(got[i:i+1], []float64{want})) {
				t.Fatalf("row %d: %s %v, want %v", i, name, got, want)
			}
		}
		floatIs("score", e.HasScore, e.Score, b.HasScore, b.Score)
		floatIs("latency", e.HasLatency, e.LatencyMS, b.HasLatency, b.LatencyMS)
		floatIs("value", e.HasValue, e.Value, b.HasValue, b.Value)
		if (e.HasError || b.HasError) && (!b.HasError || b.Error[i] != e.Error) {
			t.Fatalf("row %d: error %v, want %v", i, b.Error, e.Error)
		}
	}
}

func TestEncodeArrowErrors(t *testing.T) {
	f := func(text string, evs ...Event) {
		t.Helper()
		if _, err := EncodeArrow(evs, DefaultFields); err == nil || err.Error() != text {
			t.Fatalf("got %v, want %s", err, text)
		}
	}
	f(`events: cannot encode "a": a string in event 1 after a number`,
		Event{ID: "1", Model: "m", Features: []Value{{Name: "a", Kind: Number}}},
		Event{ID: "2", Model: "m", Features: []Value{{Name: "a", Kind: String, Str: "x"}}})
	f(`events: cannot encode event 1 without ts among events with one`, Event{ID: "1", Model: "m", HasTS: true}, Event{ID: "2", Model: "m"})
	f(`events: cannot encode feature "error": it is a field name`, Event{ID: "1", Model: "m", Features: []Value{{Name: "error", Kind: Bool}}})
	f(`events: cannot encode feature "score": it is a field name`, Event{ID: "1", Model: "m", Features: []Value{{Name: "score", Kind: Number}}})
}

// Every supported Arrow type, with nulls.
func TestDecodeArrowTypes(t *testing.T) {
	fields := []arrow.Field{
		fld("id", i64), fld("model", dictOf(arrow.PrimitiveTypes.Uint8, utf8)), fld("version", arrow.BinaryTypes.LargeString),
		fld("ts", &arrow.TimestampType{Unit: arrow.Second}),
		fld("i8", arrow.PrimitiveTypes.Int8), fld("i16", arrow.PrimitiveTypes.Int16), fld("i32", arrow.PrimitiveTypes.Int32), fld("i64", i64),
		fld("u8", arrow.PrimitiveTypes.Uint8), fld("u16", arrow.PrimitiveTypes.Uint16), fld("u32", arrow.PrimitiveTypes.Uint32), fld("u64", arrow.PrimitiveTypes.Uint64),
		fld("f16", arrow.FixedWidthTypes.Float16), fld("f32", arrow.PrimitiveTypes.Float32), fld("f64", f64),
		fld("dec", &arrow.Decimal128Type{Precision: 10, Scale: 2}),
		fld("dnum", dictOf(arrow.PrimitiveTypes.Int16, f64)),
		fld("s", utf8), fld("ls", arrow.BinaryTypes.LargeString), fld("ds", dictOf(arrow.PrimitiveTypes.Int64, utf8)), fld("b", arrow.FixedWidthTypes.Boolean),
		fld("allnull", arrow.Null),
		fld("prediction", dictOf(arrow.PrimitiveTypes.Int8, i64)), fld("score", arrow.PrimitiveTypes.Float32), fld("latency_ms", arrow.PrimitiveTypes.Uint16),
		fld("label", arrow.FixedWidthTypes.Boolean), fld("value", dictOf(arrow.PrimitiveTypes.Int32, f64)),
	}
	msg := arrowStream(t, fields, []string{`[
		{"id": 1, "model": "m", "version": "v1", "ts": 1763805600, "i8": -8, "i16": -16, "i32": -32, "i64": -64, "u8": 8, "u16": 16, "u32": 32, "u64": 18446744073709551615,
		 "f16": 1.5, "f32": 0.25, "f64": 1e300, "dec": "12.25", "dnum": 2.5, "s": "a", "ls": "la", "ds": "da", "b": true,
		 "prediction": 1000000, "score": 0.5, "latency_ms": 7, "label": true, "value": 1.5},
		{"id": 22, "model": "m", "version": null, "ts": -1, "i8": null, "i16": null, "i32": null, "i64": null, "u8": null, "u16": null, "u32": null, "u64": null,
		 "f16": null, "f32": null, "f64": null, "dec": null, "dnum": null, "s": null, "ls": null, "ds": null, "b": null,
		 "prediction": null, "score": null, "latency_ms": null, "label": null, "value": null},
		{"id": 333, "model": "m", "version": "v1", "ts": 0, "i8": 127, "i16": 1, "i32": 1, "i64": 9007199254740993, "u8": 255, "u16": 1, "u32": 4294967295, "u64": 0,
		 "f16": -2, "f32": -0.5, "f64": -0.0, "dec": "-0.01", "dnum": 2.5, "s": "a", "ls": "", "ds": "db", "b": false,
		 "prediction": 7, "score": 1, "latency_ms": 65535, "label": false, "value": -1}]`})
	b, err := decodeArrow(t, msg)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(b.ID, []string{"1", "22", "333"}) || !slices.Equal(b.Model, []string{"m", "m", "m"}) ||
		!slices.Equal(b.Version, []string{"v1", "", "v1"}) || !slices.Equal(b.TS, []int64{1763805600000, -1000, 0}) {
		t.Fatalf("header: %q %q %q %v", b.ID, b.Model, b.Version, b.TS)
	}
	wantNum := map[string][]float64{
		"i8": {-8, nan, 127}, "i16": {-16, nan, 1}, "i32": {-32, nan, 1}, "i64": {-64, nan, 9007199254740992},
		"u8": {8, nan, 255}, "u16": {16, nan, 1}, "u32": {32, nan, 4294967295}, "u64": {18446744073709551615, nan, 0},
		"f16": {1.5, nan, -2}, "f32": {0.25, nan, -0.5}, "f64": {1e300, nan, 0}, "dec": {12.25, nan, -0.01}, "dnum": {2.5, nan, 2.5},
	}
	names := []string{"i8", "i16", "i32", "i64", "u8", "u16", "u32", "u64", "f16", "f32", "f64", "dec", "dnum"}
	if len(b.Num) != len(names) {
		t.Fatalf("%d numeric columns: %+v", len(b.Num), b.Num)
	}
	for i, n := range names {
		if b.Num[i].Name != n || !sameFloats(b.Num[i].Values, wantNum[n]) {
			t.Fatalf("%s: %+v, want %v", n, b.Num[i], wantNum[n])
		}
	}
	wantCat := []CatColumn{
		{Name: "s", Values: []string{"a", "", "a"}, Null: []bool{false, true, false}},
		{Name: "ls", Values: []string{"la", "", ""}, Null: []bool{false, true, false}},
		{Name: "ds", Values: []string{"da", "", "db"}, Null: []bool{false, true, false}},
		{Name: "b", Values: []string{"true", "", "false"}, Null: []bool{false, true, false}},
	}
	if len(b.Cat) != len(wantCat) {
		t.Fatalf("categorical: %+v", b.Cat)
	}
	for i, w := range wantCat {
		c := b.Cat[i]
		if c.Name != w.Name || !slices.Equal(c.Values, w.Values) || !slices.Equal(c.Null, w.Null) {
			t.Fatalf("%+v, want %+v", c, w)
		}
	}
	if !b.HasPrediction || !slices.Equal(b.Prediction, []string{"1000000", "", "7"}) || !sameFloats(b.PredictionNum, []float64{1e6, nan, 7}) ||
		!slices.Equal(b.PredictionNull, []bool{false, true, false}) {
		t.Fatalf("prediction %q %v %v", b.Prediction, b.PredictionNum, b.PredictionNull)
	}
	if !b.HasScore || !sameFloats(b.Score, []float64{0.5, nan, 1}) || !b.HasLatency || !sameFloats(b.LatencyMS, []float64{7, nan, 65535}) {
		t.Fatalf("score %v latency %v", b.Score, b.LatencyMS)
	}
	if !b.HasLabel || !slices.Equal(b.Label, []string{"true", "", "false"}) || !sameFloats(b.LabelNum, []float64{nan, nan, nan}) ||
		!slices.Equal(b.LabelNull, []bool{false, true, false}) || !b.HasValue || !sameFloats(b.Value, []float64{1.5, nan, -1}) {
		t.Fatalf("label %q %v %v value %v", b.Label, b.LabelNum, b.LabelNull, b.Value)
	}
}

// Error flags from every type the error column takes, with nulls.
func TestDecodeArrowErrorFlag(t *testing.T) {
	f := func(typ arrow.DataType, want []bool, values ...string) {
		t.Helper()
		rows := make([]string, len(values))
		for i, v := range values {
			rows[i] = fmt.Sprintf(`{"id": "r%d", "model": "m", "error": %s}`, i, v)
		}
		// Two batches: the second fills the column from a row offset.
		half := len(rows) / 2
		msg := arrowStream(t, []arrow.Field{fld("id", utf8), fld("model", utf8), fld("error", typ)},
			[]string{"[" + strings.Join(rows[:half], ",") + "]", "[" + strings.Join(rows[half:], ",") + "]"})
		b, err := decodeArrow(t, msg)
		if err != nil || !b.HasError || !slices.Equal(b.Error, want) {
			t.Fatalf("%s: %v (has %v) %v, want %v", typ, b.Error, b.HasError, err, want)
		}
	}
	bools := []bool{true, false, false, true}
	f(arrow.FixedWidthTypes.Boolean, bools, "true", "false", "null", "true")
	f(utf8, bools, `"timeout"`, `""`, "null", `"x"`)
	f(arrow.BinaryTypes.LargeString, bools, `"timeout"`, `""`, "null", `"x"`)
	f(dictOf(arrow.PrimitiveTypes.Int8, utf8), bools, `"timeout"`, `""`, "null", `"timeout"`)
	f(i64, bools, "1", "0", "null", "-9223372036854775808")
	f(arrow.PrimitiveTypes.Uint8, bools, "255", "0", "null", "1")
	f(f64, bools, "0.5", "-0.0", "null", "5e-324")
	f(arrow.PrimitiveTypes.Float32, bools, "-1", "0", "null", "1e-45")
	f(&arrow.Decimal128Type{Precision: 10, Scale: 2}, bools, `"0.01"`, `"0.00"`, "null", `"-3"`)
	f(dictOf(arrow.PrimitiveTypes.Int16, f64), bools, "2", "0", "null", "2")

	// NaN is not an error (arrow-go's JSON has no NaN).
	mem := memory.DefaultAllocator
	fb := array.NewFloat64Builder(mem)
	fb.AppendValues([]float64{nan, 1, 0}, nil)
	sb := array.NewStringBuilder(mem)
	sb.AppendValues([]string{"a", "b", "c"}, nil)
	ids := sb.NewArray()
	sch := arrow.NewSchema([]arrow.Field{fld("id", utf8), fld("model", utf8), fld("error", f64)}, nil)
	rec := array.NewRecordBatch(sch, []arrow.Array{ids, ids, fb.NewArray()}, 3)
	var buf bytes.Buffer
	w := ipc.NewWriter(&buf, ipc.WithSchema(sch))
	if err := w.Write(rec); err != nil || w.Close() != nil {
		t.Fatal(err)
	}
	d := NewArrowDecoder(DefaultFields)
	var b Columns
	if err := d.Decode(buf.Bytes(), &b); err != nil || !slices.Equal(b.Error, []bool{false, true, false}) {
		t.Fatalf("NaN: %v %v", b.Error, err)
	}
	// The next message without the column leaves it empty; one of nulls
	// only (Arrow type null) counts as absent.
	for _, typ := range []arrow.DataType{nil, arrow.Null} {
		fields := []arrow.Field{fld("id", utf8), fld("model", utf8)}
		if typ != nil {
			fields = append(fields, fld("error", typ))
		}
		if err := d.Decode(arrowStream(t, fields, []string{`[{"id": "a", "model": "m"}]`}), &b); err != nil || b.HasError || len(b.Error) != 0 {
			t.Fatalf("%v: %v (has %v) %v", typ, b.Error, b.HasError, err)
		}
	}
}

// Decoding the error column allocates nothing in steady state: no more
// than the same column read as a feature.
func TestDecodeArrowErrorFlagAllocs(t *testing.T) {
	for _, c := range []struct {
		typ  arrow.DataType
		vals string
	}{
		{arrow.FixedWidthTypes.Boolean, `true, false, null`},
		{utf8, `"upstream timeout", "", null`},
		{dictText, `"a", "", null`},
		{i64, `1, 0, null`},
		{f64, `1.5, 0, null`},
	} {
		msg := arrowStream(t, []arrow.Field{fld("id", utf8), fld("model", utf8), fld("error", c.typ)},
			[]string{`[{"id": "a", "model": "m", "error": ` + strings.ReplaceAll(c.vals, ", ", `}, {"id": "a", "model": "m", "error": `) + `}]`})
		asFeature := DefaultFields
		asFeature.Error = ""
		var allocs [2]float64
		for i, f := range []Fields{DefaultFields, asFeature} {
			d := NewArrowDecoder(f)
			var b Columns
			if err := d.Decode(msg, &b); err != nil || b.HasError != (i == 0) {
				t.Fatalf("%s: %v", c.typ, err)
			}
			allocs[i] = testing.AllocsPerRun(100, func() { _ = d.Decode(msg, &b) })
		}
		if allocs[0] > allocs[1] {
			t.Fatalf("%s: %v allocations as the error column, %v as a feature", c.typ, allocs[0], allocs[1])
		}
	}
}

func TestDecodeArrowTimestamps(t *testing.T) {
	f := func(typ arrow.DataType, values string, want ...int64) {
		t.Helper()
		msg := arrowStream(t, []arrow.Field{fld("id", utf8), fld("model", utf8), fld("ts", typ)},
			[]string{`[{"id": "a", "model": "m", "ts": ` + strings.ReplaceAll(values, ",", `}, {"id": "a", "model": "m", "ts": `) + `}]`})
		b, err := decodeArrow(t, msg)
		if err != nil {
			t.Fatal(err)
		}
		if !b.HasTS || !slices.Equal(b.TS, want) {
			t.Fatalf("%s %s: %v, want %v", typ, values, b.TS, want)
		}
	}
	f(&arrow.TimestampType{Unit: arrow.Second}, "1, -1", 1000, -1000)
	f(&arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "Europe/Paris"}, "1763805600123", 1763805600123)
	f(&arrow.TimestampType{Unit: arrow.Microsecond}, "1999, -1", 1, -1)
	f(&arrow.TimestampType{Unit: arrow.Nanosecond}, "1999999, -1", 1, -1)
	f(i64, "1763805600000, 0", 1763805600000, 0)
	f(arrow.PrimitiveTypes.Uint32, "5", 5)
	f(utf8, `"2026-11-22T10:00:00.5Z", "2026-11-22T10:00:00.5Z", "2026-11-22T11:00:00+01:00"`, 1795341600500, 1795341600500, 1795341600000)
	f(dictOf(arrow.PrimitiveTypes.Int8, utf8), `"2026-11-22T10:00:00.5Z", "1970-01-01T00:00:00Z", "2026-11-22T10:00:00.5Z"`, 1795341600500, 0, 1795341600500)
	// Dates: Date64 is epoch milliseconds (arrow-js writes a JavaScript
	// Date as it), Date32 epoch days.
	f(arrow.FixedWidthTypes.Date64, "1795341600500, -86400000", 1795341600500, -86400000)
	f(arrow.FixedWidthTypes.Date32, "20414, -1", 20414*86_400_000, -86_400_000)
}

// Columns that are not known fields and not among the decoder's Features
// are skipped and named; a feature column of a type no feature can have is
// named with its type; neither rejects the message.
func TestDecodeArrowSkipsColumns(t *testing.T) {
	fields := []arrow.Field{fld("id", utf8), fld("model", utf8), fld("created_at", tsMS), fld("income", f64),
		fld("embedding", arrow.ListOf(f64)), fld("geo", arrow.StructOf(fld("x", f64))), fld("city", utf8), fld("extra", f64),
		fld("day", arrow.FixedWidthTypes.Date32)}
	msg := arrowStream(t, fields, []string{`[{"id": "a", "model": "m", "created_at": 1, "income": 2.5, "embedding": [1, 2], "geo": {"x": 1}, "city": "Oslo", "extra": 7, "day": 3},
		{"id": "b", "model": "m", "created_at": 2, "income": null, "embedding": null, "geo": null, "city": null, "extra": 8, "day": 4}]`})
	names := func(b *Columns) (num, cat []string, unsup []Skipped) {
		for _, c := range b.Num {
			num = append(num, c.Name)
		}
		for _, c := range b.Cat {
			cat = append(cat, c.Name)
		}
		return num, cat, b.Unsupported
	}

	// Every column a feature (no Features): the unreadable ones are named.
	d := NewArrowDecoder(DefaultFields)
	var b Columns
	if err := d.Decode(msg, &b); err != nil {
		t.Fatal(err)
	}
	num, cat, unsup := names(&b)
	wantUnsup := []Skipped{{"created_at", "timestamp[ms, tz=UTC]"}, {"embedding", "list<item: float64, nullable>"},
		{"geo", "struct<x: float64 nullable>"}, {"day", "date32"}}
	if b.Rows != 2 || !slices.Equal(num, []string{"income", "extra"}) || !slices.Equal(cat, []string{"city"}) ||
		!slices.Equal(unsup, wantUnsup) || len(b.Ignored) != 0 {
		t.Fatalf("all columns: rows %d num %v cat %v unsupported %v ignored %v", b.Rows, num, cat, unsup, b.Ignored)
	}

	// With Features, the rest is ignored, not decoded.
	d = NewArrowDecoder(DefaultFields)
	d.Features = map[string]bool{"income": true, "city": true, "created_at": true}
	if err := d.Decode(msg, &b); err != nil {
		t.Fatal(err)
	}
	num, cat, unsup = names(&b)
	if b.Rows != 2 || !slices.Equal(num, []string{"income"}) || !slices.Equal(cat, []string{"city"}) ||
		!slices.Equal(unsup, wantUnsup[:1]) || !slices.Equal(b.Ignored, []string{"embedding", "geo", "extra", "day"}) {
		t.Fatalf("features: rows %d num %v cat %v unsupported %v ignored %v", b.Rows, num, cat, unsup, b.Ignored)
	}
	if got := b.Num[0].Values; got[0] != 2.5 || !math.IsNaN(got[1]) {
		t.Fatalf("income %v", got)
	}
	checkColumns(t, &b)

	// The lists are reset by the next message.
	if err := d.Decode(arrowStream(t, fields[:2], []string{`[{"id": "a", "model": "m"}]`}), &b); err != nil {
		t.Fatal(err)
	}
	if len(b.Ignored) != 0 || len(b.Unsupported) != 0 {
		t.Fatalf("after a plain message: ignored %v unsupported %v", b.Ignored, b.Unsupported)
	}
}

func TestDecodeArrowErrors(t *testing.T) {
	f := func(msg []byte, want Reason, text string) {
		t.Helper()
		b, err := decodeArrow(t, msg)
		if ReasonOf(err) != want || err == nil || !strings.Contains(err.Error(), text) {
			t.Fatalf("got %v (%s), want %s containing %q", err, ReasonOf(err), want, text)
		}
		if b.Rows != 0 || len(b.ID) != 0 || len(b.Num) != 0 {
			t.Fatalf("columns left after an error: %+v", b)
		}
	}
	id, model := fld("id", utf8), fld("model", utf8)
	s := func(fields []arrow.Field, rows string) []byte { return arrowStream(t, fields, []string{rows}) }
	f(s([]arrow.Field{model}, `[{"model": "m"}]`), ReasonMissingID, `events: missing_id: field "id" at offset 0: no such column`)
	f(s([]arrow.Field{id, model}, `[{"id": "a", "model": "m"}, {"id": null, "model": "m"}]`), ReasonMissingID, `events: missing_id: field "id" at offset 160: row 1: null or empty`)
	f(s([]arrow.Field{id, model}, `[{"id": "a", "model": "m"}, {"id": "b", "model": "m"}, {"id": "", "model": "m"}]`), ReasonMissingID, "row 2: null or empty")
	f(s([]arrow.Field{fld("id", arrow.Null), model}, `[{"id": null, "model": "m"}]`), ReasonMissingID, "column of nulls")
	f(s([]arrow.Field{id}, `[{"id": "a"}]`), ReasonMissingModel, `field "model"`)
	f(s([]arrow.Field{id, fld("model", dictText)}, `[{"id": "a", "model": null}]`), ReasonMissingModel, "row 0: null or empty")
	f(s([]arrow.Field{id, model, fld("score", utf8)}, `[{"id": "a", "model": "m", "score": "high"}]`), ReasonWrongType,
		`events: wrong_type: field "score" at offset 0: expected a number, got utf8`)
	f(s([]arrow.Field{id, fld("model", i64)}, `[{"id": "a", "model": 1}]`), ReasonWrongType, `field "model" at offset 0: expected utf8, got int64`)
	f(s([]arrow.Field{fld("id", f64), model}, `[{"id": 1.5, "model": "m"}]`), ReasonWrongType, `field "id"`)
	f(s([]arrow.Field{id, model, fld("error", tsMS)}, `[{"id": "a", "model": "m", "error": 1}]`), ReasonWrongType,
		`events: wrong_type: field "error" at offset 0: expected a boolean, utf8 or a number, got timestamp[ms, tz=UTC]`)
	f(s([]arrow.Field{id, model, fld("error", arrow.StructOf(fld("code", i64)))}, `[{"id": "a", "model": "m", "error": {"code": 5}}]`), ReasonWrongType, `field "error"`)
	f(s([]arrow.Field{id, model, fld("ts", arrow.FixedWidthTypes.Boolean)}, `[{"id": "a", "model": "m", "ts": true}]`), ReasonWrongType, `field "ts"`)
	f(s([]arrow.Field{id, model, fld("prediction", arrow.ListOf(f64))}, `[{"id": "a", "model": "m", "prediction": [1]}]`), ReasonWrongType, `field "prediction"`)
	f(s([]arrow.Field{id, model, fld("ts", utf8)}, `[{"id": "a", "model": "m", "ts": "yesterday"}]`), ReasonBadTimestamp,
		`field "ts" at offset 200: row 0: cannot parse "yesterday" as RFC 3339`)
	f(s([]arrow.Field{id, model, fld("ts", tsMS)}, `[{"id": "a", "model": "m", "ts": 1}, {"id": "a", "model": "m", "ts": null}]`), ReasonBadTimestamp, "row 1: null timestamp")
	f(s([]arrow.Field{id, model, fld("ts", i64)}, `[{"id": "a", "model": "m", "ts": 1000000000000001}]`), ReasonBadTimestamp, "out of range")
	f(s([]arrow.Field{id, model, fld("ts", &arrow.TimestampType{Unit: arrow.Second})}, `[{"id": "a", "model": "m", "ts": 9000000000000000000}]`), ReasonBadTimestamp, "out of range")
	f(s([]arrow.Field{id, model, fld("ts", dictOf(arrow.PrimitiveTypes.Int8, utf8))}, `[{"id": "a", "model": "m", "ts": "soon"}]`), ReasonBadTimestamp, `field "ts" at offset 440: dictionary entry 0: cannot parse "soon" as RFC 3339`)
	f(s([]arrow.Field{id, model, fld("ts", arrow.Null)}, `[{"id": "a", "model": "m", "ts": null}]`), ReasonBadTimestamp, "row 0: null timestamp")
	f(s([]arrow.Field{id, model, fld("x", f64), fld("x", utf8)}, `[]`), ReasonMalformed, `field "x" at offset 0: duplicate column`)

	good := s([]arrow.Field{id, model}, `[{"id": "a", "model": "m"}]`)
	f(nil, ReasonMalformed, "events: malformed at offset 0: arrow/ipc: could not read message schema: stream ends without an end-of-stream marker")
	f([]byte("{}"), ReasonMalformed, "truncated message length")
	f(good[:len(good)-8], ReasonMalformed, "stream ends without an end-of-stream marker")
	f(append(slices.Clone(good), 0), ReasonMalformed, "1 bytes after the end-of-stream marker")
	f(slices.Concat(good[:len(good)-8], good), ReasonMalformed, "invalid message type")

	// A big-endian stream (arrow-go would swap it in place, writing to msg).
	be := arrowStreamSchema(t, arrow.NewSchemaWithEndian([]arrow.Field{id, model}, nil, endian.BigEndian), nil)
	f(be, ReasonMalformed, "big-endian")
}

// A dictionary index outside the dictionary is malformed, not a panic.
func TestDecodeArrowBadIndex(t *testing.T) {
	mem := memory.DefaultAllocator
	dict := array.NewStringBuilder(mem)
	dict.AppendValues([]string{"m"}, nil)
	dv := dict.NewArray()
	idx := array.NewInt32Builder(mem)
	idx.AppendValues([]int32{0, 5}, nil)
	iv := idx.NewArray()
	model := array.NewDictionaryArray(dictText, iv, dv)
	ids := array.NewStringBuilder(mem)
	ids.AppendValues([]string{"a", "b"}, nil)
	s := arrow.NewSchema([]arrow.Field{fld("id", utf8), fld("model", dictText)}, nil)
	rec := array.NewRecordBatch(s, []arrow.Array{ids.NewArray(), model}, 2)
	var buf bytes.Buffer
	w := ipc.NewWriter(&buf, ipc.WithSchema(s))
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	w.Close()
	_, err := decodeArrow(t, buf.Bytes())
	if ReasonOf(err) != ReasonMalformed || !strings.Contains(err.Error(), "row 1: dictionary index 5 out of range [0, 1)") {
		t.Fatalf("%v", err)
	}
}

// Columns that share a dictionary share its table, which must survive the
// tables built for other columns in between.
func TestDecodeArrowSharedDictionary(t *testing.T) {
	mem := memory.DefaultAllocator
	values := func(vs ...string) arrow.Array {
		b := array.NewStringBuilder(mem)
		b.AppendValues(vs, nil)
		return b.NewArray()
	}
	column := func(dict arrow.Array, idx ...int32) *array.Dictionary {
		b := array.NewInt32Builder(mem)
		b.AppendValues(idx, nil)
		return array.NewDictionaryArray(dictText, b.NewArray(), dict)
	}
	shared := values("a", "b")
	other := make([]string, 1000)
	for i := range other {
		other[i] = strconv.Itoa(i)
	}
	d := NewArrowDecoder(DefaultFields)
	d.budget = 1 << 20
	got := make([]string, 2)
	null := make([]bool, 2)
	for i, c := range []*array.Dictionary{column(shared, 0, 1), column(values(other...), 999, 0), column(shared, 1, 0)} {
		if _, err := d.textCol(c, got, null, false); err != nil {
			t.Fatal(err)
		}
		want := [][]string{{"a", "b"}, {"999", "0"}, {"b", "a"}}[i]
		if !slices.Equal(got, want) {
			t.Fatalf("column %d: %q, want %q", i, got, want)
		}
	}
	if len(d.dicts) != 2 {
		t.Fatalf("%d dictionary tables, want 2", len(d.dicts))
	}
}

// sampleMessages are valid messages of different shapes, for truncation,
// bit flips and fuzz seeds.
func sampleMessages(t testing.TB) [][]byte {
	evs := benchEvents(5, 3, 2)
	one, err := EncodeArrow(evs, DefaultFields)
	if err != nil {
		t.Fatal(err)
	}
	fields := []arrow.Field{fld("id", dictText), fld("model", dictText), fld("ts", utf8), fld("x", dictOf(arrow.PrimitiveTypes.Int8, f64)),
		fld("c", dictText), fld("label", dictText), fld("value", f64)}
	batches := []string{
		`[{"id": "a", "model": "m", "ts": "2026-01-01T00:00:00Z", "x": 1, "c": "u", "label": "y", "value": 1}]`,
		`[{"id": "b", "model": "m", "ts": "2026-01-01T00:00:01Z", "x": null, "c": "v", "label": null, "value": null},
		  {"id": "c", "model": "n", "ts": "2026-01-01T00:00:01Z", "x": 2, "c": "u", "label": "z", "value": 2}]`,
	}
	multi := arrowStream(t, fields, batches)
	deltas := arrowStream(t, fields, batches, ipc.WithDictionaryDeltas(true))
	lz4 := arrowStream(t, fields, batches, ipc.WithLZ4())
	zstd := arrowStream(t, []arrow.Field{fld("id", utf8), fld("model", utf8), fld("x", f64)}, []string{`[{"id": "a", "model": "m", "x": 1}]`}, ipc.WithZstd())
	return [][]byte{one, multi, deltas, lz4, zstd}
}

// flagMessages carry error columns (text over two batches, dictionary text,
// booleans), for bit flips and fuzz seeds.
func flagMessages(t testing.TB) [][]byte {
	text := arrowStream(t, []arrow.Field{fld("id", utf8), fld("model", utf8), fld("error", utf8)}, []string{
		`[{"id": "a", "model": "m", "error": "timeout"}, {"id": "b", "model": "m", "error": null}]`,
		`[{"id": "c", "model": "m", "error": ""}, {"id": "d", "model": "m", "error": "oom"}]`})
	dict := arrowStream(t, []arrow.Field{fld("id", utf8), fld("model", utf8), fld("error", dictOf(arrow.PrimitiveTypes.Int8, utf8))}, []string{
		`[{"id": "a", "model": "m", "error": "timeout"}, {"id": "b", "model": "m", "error": ""}, {"id": "c", "model": "m", "error": null}]`})
	bools, err := EncodeArrow([]Event{{ID: "a", Model: "m", Error: true, HasError: true}, {ID: "b", Model: "m"}, {ID: "c", Model: "m", HasError: true}}, DefaultFields)
	if err != nil {
		t.Fatal(err)
	}
	return [][]byte{text, dict, bools}
}

func TestDecodeArrowBatches(t *testing.T) {
	msgs := sampleMessages(t)
	for _, msg := range msgs[1:4] {
		b, err := decodeArrow(t, msg)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(b.ID, []string{"a", "b", "c"}) || !slices.Equal(b.Model, []string{"m", "m", "n"}) ||
			!slices.Equal(b.TS, []int64{1767225600000, 1767225601000, 1767225601000}) ||
			len(b.Num) != 1 || !sameFloats(b.Num[0].Values, []float64{1, nan, 2}) || !sameFloats(b.Value, []float64{1, nan, 2}) ||
			len(b.Cat) != 1 || !slices.Equal(b.Cat[0].Values, []string{"u", "v", "u"}) || b.Cat[0].Null != nil ||
			!slices.Equal(b.Label, []string{"y", "", "z"}) || !slices.Equal(b.LabelNull, []bool{false, true, false}) {
			t.Fatalf("%+v", b)
		}
	}
}

// inMsg reports whether v's memory lies inside msg.
func inMsg(v []float64, msg []byte) bool {
	p := uintptr(unsafe.Pointer(unsafe.SliceData(v)))
	start := uintptr(unsafe.Pointer(unsafe.SliceData(msg)))
	return p >= start && p+uintptr(8*len(v)) <= start+uintptr(len(msg))
}

func TestDecodeArrowZeroCopy(t *testing.T) {
	evs := benchEvents(100, 2, 1)
	evs[3].Features[1] = Value{Name: evs[3].Features[1].Name, Kind: Null}
	msg, err := EncodeArrow(evs, DefaultFields)
	if err != nil {
		t.Fatal(err)
	}
	f := func(msg []byte, alignAll, wantView bool) {
		t.Helper()
		saved := slices.Clone(msg)
		d := NewArrowDecoder(DefaultFields)
		d.alignAll = alignAll
		var b Columns
		if err := d.Decode(msg, &b); err != nil {
			t.Fatal(err)
		}
		checkColumns(t, &b)
		// f0 has no nulls: the record's own buffer, a view of msg unless
		// copied for alignment; f1 has a null: converted.
		col := d.recs[0].Schema().FieldIndices("f0")[0]
		own := d.recs[0].Column(col).(*array.Float64).Float64Values()
		if got := b.Num[0].Values; &got[0] != &own[0] || inMsg(got, msg) != wantView || inMsg(b.Score, msg) != wantView {
			t.Fatalf("f0 at %p, record buffer at %p, view of msg %v, want %v", &got[0], &own[0], inMsg(got, msg), wantView)
		}
		if v := b.Num[1].Values; inMsg(v, msg) || v[3] == v[3] || v[4] != evs[4].Features[1].Num {
			t.Fatalf("f1 must be converted: %v", v[:5])
		}
		for i, e := range evs {
			if b.Num[0].Values[i] != e.Features[0].Num {
				t.Fatalf("row %d: %v, want %v", i, b.Num[0].Values[i], e.Features[0].Num)
			}
		}
		// The next message reuses the buffers without writing into msg.
		if err := d.Decode(sampleMessages(t)[1], &b); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(msg, saved) {
			t.Fatal("decoding changed the message")
		}
		d.Close()
		d.Close()
	}
	f(msg, false, true)
	misaligned := make([]byte, len(msg)+1)[1:]
	copy(misaligned, msg)
	f(misaligned, false, unalignedOK)
	f(misaligned, true, false)
	f(msg, true, true) // aligned already: no copy

	// Several batches are concatenated into owned buffers.
	b, err := decodeArrow(t, sampleMessages(t)[1])
	if err != nil || inMsg(b.Value, sampleMessages(t)[1]) {
		t.Fatal(err)
	}
}

// No Arrow memory is leaked: decompressed bodies come from the allocator
// and are released by the next Decode, by an error, and by Close.
func TestDecodeArrowReleases(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	d := NewArrowDecoder(DefaultFields)
	d.mem.mem = mem
	var b Columns
	msgs := sampleMessages(t)
	for range 3 {
		for _, msg := range msgs {
			if err := d.Decode(msg, &b); err != nil {
				t.Fatal(err)
			}
			checkColumns(t, &b)
			if d.mem.live != mem.CurrentAlloc() {
				t.Fatalf("limit allocator counts %d bytes, checked allocator %d", d.mem.live, mem.CurrentAlloc())
			}
		}
		if mem.CurrentAlloc() == 0 {
			t.Fatal("compressed message decoded without the allocator")
		}
	}
	for n := 0; n < len(msgs[3]); n += 7 {
		if err := d.Decode(msgs[3][:n], &b); err == nil {
			t.Fatalf("truncated to %d bytes: no error", n)
		}
		mem.AssertSize(t, 0)
	}
	d.Close()
	mem.AssertSize(t, 0)
	d.Close()
}

// Truncation at every length is an error, and corrupt bytes (one bit or
// all bits of each byte flipped) never panic in this package (arrow-go's
// own panics are recovered).
func TestDecodeArrowCorrupt(t *testing.T) {
	catchPanics(t)
	d := NewArrowDecoder(DefaultFields)
	var b Columns
	msgs := sampleMessages(t)
	if testing.Short() {
		msgs = msgs[:3] // the compressed ones take a millisecond each
	}
	msgs = append(msgs, flagMessages(t)...)
	for _, msg := range msgs {
		for n := range len(msg) {
			err := d.Decode(msg[:n], &b)
			if ReasonOf(err) != ReasonMalformed || err == nil {
				t.Fatalf("truncated to %d of %d bytes: %v", n, len(msg), err)
			}
		}
		buf := slices.Clone(msg)
		for i := range buf {
			for _, flip := range []byte{1 << (i % 8), 0xff} {
				buf[i] ^= flip
				if d.Decode(buf, &b) == nil {
					checkColumns(t, &b)
				}
				buf[i] ^= flip
			}
		}
	}
}

// catchPanics fails the test when a panic Decode recovered started in this
// package rather than in arrow-go.
func catchPanics(t testing.TB) {
	panicHook = func(r any) {
		st := string(debug.Stack())
		// The frame after the runtime's panic is the one that panicked.
		if i := strings.Index(st, "\npanic("); i >= 0 {
			rest := st[i+1:]
			rest = rest[strings.Index(rest, "\n")+1:] // panic's file line
			rest = rest[strings.Index(rest, "\n")+1:]
			if strings.HasPrefix(rest, "driftwatch/events.") {
				t.Errorf("panic in events: %v\n%s", r, st)
			}
		}
	}
	t.Cleanup(func() { panicHook = nil })
}

// fbPos returns the position in meta (an IPC Message flatbuffer) of the
// offset field reached by following table fields, the last one not followed.
func fbPos(t *testing.T, meta []byte, path ...int) int {
	t.Helper()
	v := fbVerifier{b: meta, tables: 1 << 20, strings: 1 << 30}
	tab, err := v.table(le32(meta, 0))
	for _, i := range path[:len(path)-1] {
		if err != nil {
			t.Fatal(err)
		}
		tab, _, err = v.tableField(tab, i)
	}
	if err != nil {
		t.Fatal(err)
	}
	p := v.field(tab, path[len(path)-1])
	if p == 0 {
		t.Fatalf("no field %v", path)
	}
	return p
}

// aliasedBools returns a stream of id, model and nbool boolean columns in
// which every boolean column's data buffer is the first one's.
func aliasedBools(t *testing.T, rows, nbool int) []byte {
	mem := memory.DefaultAllocator
	ids := array.NewUint8Builder(mem)
	bools := array.NewBooleanBuilder(mem)
	models := array.NewDictionaryBuilder(mem, dictOf(arrow.PrimitiveTypes.Uint8, utf8)).(*array.BinaryDictionaryBuilder)
	for i := range rows {
		ids.Append(uint8(i))
		bools.Append(i%3 == 0)
		models.AppendString("m")
	}
	fields := []arrow.Field{fld("id", arrow.PrimitiveTypes.Uint8), fld("model", models.Type())}
	cols := []arrow.Array{ids.NewArray(), models.NewArray()}
	b := bools.NewArray()
	for i := range nbool {
		fields = append(fields, fld("b"+strconv.Itoa(i), arrow.FixedWidthTypes.Boolean))
		cols = append(cols, b)
	}
	s := arrow.NewSchema(fields, nil)
	var buf bytes.Buffer
	w := ipc.NewWriter(&buf, ipc.WithSchema(s))
	if err := w.Write(array.NewRecordBatch(s, cols, int64(rows))); err != nil {
		t.Fatal(err)
	}
	w.Close()
	msg := buf.Bytes()
	var at int
	for _, m := range ipcMessages(t, msg) {
		if m.typ == fbRecordBatch {
			at = m.start
		}
	}
	meta := msg[at+8 : at+8+le32(msg, at+4)]
	bufs := fbPos(t, meta, 2, 2)
	bufs += le32(meta, bufs) + 4 // the first Buffer struct: offset, length
	first := bufs + 16*4         // id and model take two buffers each
	for k := 1; k < nbool; k++ {
		copy(meta[first+32*k:first+32*k+32], meta[first:first+32])
	}
	end := binary.LittleEndian.Uint64(meta[first+16:]) + binary.LittleEndian.Uint64(meta[first+24:])
	end = (end + 7) &^ 7
	binary.LittleEndian.PutUint64(meta[fbPos(t, meta, 3):], end)
	body := at + 8 + len(meta)
	return append(msg[:body+int(end)], 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0)
}

type ipcMsg struct{ start, typ int }

// ipcMessages lists the messages of a stream.
func ipcMessages(t *testing.T, msg []byte) []ipcMsg {
	t.Helper()
	var out []ipcMsg
	for at := 0; le32(msg, at+4) != 0; {
		n := le32(msg, at+4)
		meta := msg[at+8 : at+8+n]
		v := fbVerifier{b: meta, tables: 1 << 20, strings: 1 << 30}
		m, err := v.table(le32(meta, 0))
		if err != nil {
			t.Fatal(err)
		}
		typ, _ := v.scalar(m, 1, 1)
		body, _ := v.scalar(m, 3, 8)
		out = append(out, ipcMsg{at, int(typ)})
		at += 8 + n + int(body)
	}
	return out
}

// Corrupt lengths must fail fast without allocating what they claim.
func TestDecodeArrowHostile(t *testing.T) {
	catchPanics(t)
	fields := []arrow.Field{fld("id", utf8), fld("model", utf8), fld("l", arrow.ListOf(f64))}
	good := arrowStream(t, fields, []string{`[{"id": "a", "model": "m", "l": [1, 2]}]`})
	schemaLen := le32(good, 4)
	meta := good[8 : 8+schemaLen]
	put := func(msg []byte, at int, v uint32) []byte {
		msg = slices.Clone(msg)
		binary.LittleEndian.PutUint32(msg[at:], v)
		return msg
	}
	vec := func(p int) int { return p + le32(meta, p) } // a vector's length
	fieldsVec := vec(fbPos(t, meta, 2, 1))
	firstField := fieldsVec + 4
	lField := fieldsVec + 4 + 4*2
	lTable := lField + le32(meta, lField)
	v := fbVerifier{b: meta, tables: 100, strings: 1 << 20}
	lt, err := v.table(lTable)
	if err != nil {
		t.Fatal(err)
	}
	childrenVec := lt.pos + le16(meta, lt.vt+4+2*5)
	childrenVec += le32(meta, childrenVec)
	child := childrenVec + 4
	batch := 8 + schemaLen // the record batch message
	batchMeta := good[batch+8 : batch+8+le32(good, batch+4)]

	f := func(name string, msg []byte, text string) {
		t.Helper()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := decodeArrow(t, msg)
		runtime.ReadMemStats(&after)
		if ReasonOf(err) != ReasonMalformed || err == nil || !strings.Contains(err.Error(), text) {
			t.Fatalf("%s: got %v, want malformed with %q", name, err, text)
		}
		if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
			t.Fatalf("%s: allocated %d bytes", name, grew)
		}
	}
	f("metadata length", put(good, 4, 0x7fffffff), "message metadata length 2147483647 exceeds")
	f("schema fields", put(good, 8+fieldsVec, 0x7fffffff), "flatbuffer vector of 2147483647 elements exceeds the buffer")
	f("field offset wraps", put(good, 8+firstField, uint32(0x100000000-4)), "flatbuffer out of bounds")
	// A child field pointing back at its parent: arrow-go would recurse
	// until the stack overflows (fatal, not a panic).
	f("cycle", put(good, 8+child, uint32(int64(lTable-child)+1<<32)), "flatbuffer out of bounds")
	bodyLen := fbPos(t, batchMeta, 3)
	f("body length", put(put(good, batch+8+bodyLen, 0), batch+8+bodyLen+4, 1<<20), "message body length 4503599627370496 exceeds")
	rows := fbPos(t, batchMeta, 2, 0)
	f("rows", put(good, batch+8+rows+4, 1<<20), "mismatch number of rows")

	// Columns whose buffers all point at the same bytes: many rows of many
	// columns in a small message. Without the size check the 200 boolean
	// columns below would take 200 × 65536 × 17 bytes of output.
	const nrows, nbool = 1 << 16, 200
	wide := aliasedBools(t, nrows, nbool)
	_, err = decodeArrow(t, wide)
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("%d rows of %d columns need", nrows, nbool+2)) ||
		!strings.HasSuffix(err.Error(), fmt.Sprintf("bytes or more, the message has %d", len(wide))) {
		t.Fatalf("%v", err)
	}
	if _, err := decodeArrow(t, aliasedBools(t, nrows, 1)); err != nil {
		t.Fatal(err) // the same with one boolean column is valid
	}

	// Decompression is capped by the allocator.
	lz := sampleMessages(t)[3]
	var lb int
	for _, m := range ipcMessages(t, lz) {
		if m.typ == fbRecordBatch {
			lb = m.start
			break
		}
	}
	lMeta := lz[lb+8 : lb+8+le32(lz, lb+4)]
	bufs := fbPos(t, lMeta, 2, 2)
	bufs += le32(lMeta, bufs)
	body := lb + 8 + len(lMeta)
	claim := slices.Clone(lz)
	for i := range le32(lMeta, bufs) {
		off := int(binary.LittleEndian.Uint64(lMeta[bufs+4+16*i:]))
		n := int(binary.LittleEndian.Uint64(lMeta[bufs+4+16*i+8:]))
		if n >= 8 {
			binary.LittleEndian.PutUint64(claim[body+off:], 1<<40)
		}
	}
	f("decompressed size", claim, "exceeds the limit of 4194304")

	// A zstd frame that claims a 512 MiB window.
	zs := sampleMessages(t)[4]
	var zb int
	for _, m := range ipcMessages(t, zs) {
		if m.typ == fbRecordBatch {
			zb = m.start
		}
	}
	zMeta := zs[zb+8 : zb+8+le32(zs, zb+4)]
	zbufs := fbPos(t, zMeta, 2, 2)
	zbufs += le32(zMeta, zbufs)
	off := int(binary.LittleEndian.Uint64(zMeta[zbufs+4+16:])) // buffer 1: the ids' offsets
	frame := zb + 8 + len(zMeta) + off + 8
	if zs[frame+4] != 0x04 {
		t.Fatalf("unexpected frame header % x", zs[frame:frame+6])
	}
	wide512 := slices.Clone(zs)
	wide512[frame+5] = 0x98 // window descriptor: 2^29
	f("zstd window", wide512, "buffer 1: zstd window of 536870912 bytes exceeds 8388608")
}

func FuzzDecodeArrow(f *testing.F) {
	// Compressed streams, with correct and misdeclared buffer lengths, so
	// the error path's second decompression (CheckCompressedLengths) is
	// fuzzed too.
	seeds := append(sampleMessages(f), flagMessages(f)...)
	for _, opt := range []ipc.Option{ipc.WithLZ4(), ipc.WithZstd()} {
		msg := compressedEvents(f, 50, opt)
		bad := slices.Clone(msg)
		misdeclareLengths(f, bad)
		seeds = append(seeds, msg, bad)
	}
	if js, err := os.ReadFile("../testdata/arrowjs/lz4_21.2.0.arrows"); err == nil {
		seeds = append(seeds, js)
	}
	for _, msg := range seeds {
		f.Add(msg)
		f.Add(msg[:len(msg)/2])
		flipped := slices.Clone(msg)
		flipped[len(flipped)/3] ^= 0x40
		f.Add(flipped)
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		catchPanics(t)
		d := NewArrowDecoder(DefaultFields)
		var b Columns
		err := d.Decode(msg, &b)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || !strings.HasPrefix(err.Error(), "events: ") {
				t.Fatalf("error %v is not an *Error", err)
			}
			return
		}
		checkColumns(t, &b)
		// Decoding again gives the same rows.
		var b2 Columns
		if err := NewArrowDecoder(DefaultFields).Decode(msg, &b2); err != nil || b2.Rows != b.Rows || !slices.Equal(b2.ID, b.ID) || !slices.Equal(b2.Error, b.Error) {
			t.Fatalf("second decode: %v", err)
		}
		d.Close()
	})
}

// benchEvents makes n prediction events with nNum numeric and nCat
// categorical features (three categories each).
func benchEvents(n, nNum, nCat int) []Event {
	r := rand.New(rand.NewPCG(1, 2))
	evs := make([]Event, n)
	for i := range evs {
		e := &evs[i]
		*e = Event{ID: fmt.Sprintf("p-%06d", i), Model: "credit", Version: "v2", TS: 1763805600000 + int64(i), HasTS: true,
			Score: r.Float64(), HasScore: true}
		for j := range nNum {
			e.Features = append(e.Features, Value{Name: "f" + strconv.Itoa(j), Kind: Number, Num: r.NormFloat64()})
		}
		for j := range nCat {
			e.Features = append(e.Features, Value{Name: "c" + strconv.Itoa(j), Kind: String, Str: [...]string{"RENT", "OWN", "MORTGAGE"}[r.IntN(3)]})
		}
	}
	return evs
}
