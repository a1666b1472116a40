package events

import (
	"bytes"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// EncodeArrow encodes events as one Arrow IPC stream (schema, one record
// batch, end-of-stream marker) with f's column names: the message
// ArrowDecoder reads, for producers, tests and benchmarks.
//
// Columns, in this order: id (utf8); model (dictionary of utf8); version
// (dictionary of utf8) when an event has one; ts (timestamp in ms, UTC) when
// an event has one; one column per feature in order of first appearance,
// typed by its first non-null value (number → float64, string → dictionary
// of utf8, bool → bool, float64 when always null); prediction and label
// typed the same way when present; score and latency_ms (float64), error
// (bool) and value (float64) when present. Values an event lacks are null.
// Scores (per class) are JSON-only and not encoded.
func EncodeArrow(evs []Event, f Fields) ([]byte, error) {
	type column struct {
		name string
		kind Kind
		set  bool // a non-null value fixed the kind
	}
	var (
		feats                              []column
		index                              = map[string]int{}
		version, ts, score, latency, value bool
		hasPred, hasLabel, hasError        bool
		pred, label                        column
		reserved                           = map[string]bool{}
	)
	for _, n := range []string{f.ID, f.Model, f.Version, f.TS, f.Prediction, f.Score, f.LatencyMS, f.Error, f.Label, f.Value} {
		reserved[n] = true
	}
	setKind := func(c *column, v Value, i int) error {
		switch {
		case v.Kind == Null:
		case !c.set:
			c.kind, c.set = v.Kind, true
		case c.kind != v.Kind:
			return fmt.Errorf("events: cannot encode %q: a %s in event %d after a %s", c.name, kindName(v.Kind), i, kindName(c.kind))
		}
		return nil
	}
	pred.name, label.name = f.Prediction, f.Label
	for i := range evs {
		e := &evs[i]
		version = version || e.Version != ""
		ts, score, latency, value = ts || e.HasTS, score || e.HasScore, latency || e.HasLatency, value || e.HasValue
		hasPred, hasLabel, hasError = hasPred || e.HasPrediction, hasLabel || e.HasLabel, hasError || e.HasError
		for _, v := range e.Features {
			j, ok := index[v.Name]
			if !ok {
				if reserved[v.Name] {
					return nil, fmt.Errorf("events: cannot encode feature %q: it is a field name", v.Name)
				}
				j = len(feats)
				index[v.Name] = j
				feats = append(feats, column{name: v.Name, kind: Number})
			}
			if err := setKind(&feats[j], v, i); err != nil {
				return nil, err
			}
		}
		if e.HasPrediction {
			if err := setKind(&pred, e.Prediction, i); err != nil {
				return nil, err
			}
		}
		if e.HasLabel {
			if err := setKind(&label, e.Label, i); err != nil {
				return nil, err
			}
		}
	}
	for i := range evs {
		if ts && !evs[i].HasTS { // a null ts is an error for the decoder
			return nil, fmt.Errorf("events: cannot encode event %d without ts among events with one", i)
		}
	}
	dictText := &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}
	typeOf := func(c column) arrow.DataType {
		switch {
		case c.set && c.kind == String:
			return dictText
		case c.set && c.kind == Bool:
			return arrow.FixedWidthTypes.Boolean
		}
		return arrow.PrimitiveTypes.Float64
	}
	type writer func(b array.Builder, e *Event)
	var (
		fields  []arrow.Field
		writers []writer
	)
	add := func(name string, t arrow.DataType, w writer) {
		fields = append(fields, arrow.Field{Name: name, Type: t, Nullable: true})
		writers = append(writers, w)
	}
	add(f.ID, arrow.BinaryTypes.String, func(b array.Builder, e *Event) { b.(*array.StringBuilder).Append(e.ID) })
	add(f.Model, dictText, func(b array.Builder, e *Event) { appendText(b, e.Model, true) })
	if version {
		add(f.Version, dictText, func(b array.Builder, e *Event) { appendText(b, e.Version, e.Version != "") })
	}
	if ts {
		add(f.TS, &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}, func(b array.Builder, e *Event) {
			if e.HasTS {
				b.(*array.TimestampBuilder).Append(arrow.Timestamp(e.TS))
			} else {
				b.AppendNull()
			}
		})
	}
	featAt := len(fields)
	for _, c := range feats {
		add(c.name, typeOf(c), nil) // filled from each event's features below
	}
	if hasPred {
		add(f.Prediction, typeOf(pred), func(b array.Builder, e *Event) {
			if e.HasPrediction {
				appendValue(b, e.Prediction)
			} else {
				b.AppendNull()
			}
		})
	}
	floatCol := func(name string, get func(e *Event) (float64, bool)) {
		add(name, arrow.PrimitiveTypes.Float64, func(b array.Builder, e *Event) {
			if x, ok := get(e); ok {
				b.(*array.Float64Builder).Append(x)
			} else {
				b.AppendNull()
			}
		})
	}
	if score {
		floatCol(f.Score, func(e *Event) (float64, bool) { return e.Score, e.HasScore })
	}
	if latency {
		floatCol(f.LatencyMS, func(e *Event) (float64, bool) { return e.LatencyMS, e.HasLatency })
	}
	if hasError {
		add(f.Error, arrow.FixedWidthTypes.Boolean, func(b array.Builder, e *Event) {
			if e.HasError {
				b.(*array.BooleanBuilder).Append(e.Error)
			} else {
				b.AppendNull()
			}
		})
	}
	if hasLabel {
		add(f.Label, typeOf(label), func(b array.Builder, e *Event) {
			if e.HasLabel {
				appendValue(b, e.Label)
			} else {
				b.AppendNull()
			}
		})
	}
	if value {
		floatCol(f.Value, func(e *Event) (float64, bool) { return e.Value, e.HasValue })
	}

	schema := arrow.NewSchema(fields, nil)
	rb := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer rb.Release()
	filled := make([]bool, len(feats))
	for i := range evs {
		e := &evs[i]
		for j, w := range writers {
			if w != nil {
				w(rb.Field(j), e)
			}
		}
		clear(filled)
		for _, v := range e.Features {
			if j := index[v.Name]; !filled[j] { // a repeated name keeps the first
				filled[j] = true
				appendValue(rb.Field(featAt+j), v)
			}
		}
		for j, ok := range filled {
			if !ok {
				rb.Field(featAt + j).AppendNull()
			}
		}
	}
	rec := rb.NewRecordBatch()
	defer rec.Release()
	var buf bytes.Buffer
	w := ipc.NewWriter(&buf, ipc.WithSchema(schema))
	if err := w.Write(rec); err != nil {
		return nil, fmt.Errorf("events: cannot encode arrow: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("events: cannot encode arrow: %w", err)
	}
	return buf.Bytes(), nil
}

func kindName(k Kind) string {
	return [...]string{Null: "null", Number: "number", String: "string", Bool: "bool"}[k]
}

func appendText(b array.Builder, s string, ok bool) {
	if !ok {
		b.AppendNull()
		return
	}
	if err := b.(*array.BinaryDictionaryBuilder).AppendString(s); err != nil {
		panic(err) // only on dictionary overflow, beyond 2^31 values
	}
}

// appendValue appends v to a builder made by typeOf for v's column, whose
// kind matches v's unless v is null.
func appendValue(b array.Builder, v Value) {
	switch bb := b.(type) {
	case *array.Float64Builder:
		if v.Kind == Number {
			bb.Append(v.Num)
			return
		}
	case *array.BooleanBuilder:
		if v.Kind == Bool {
			bb.Append(v.Str == "true")
			return
		}
	case *array.BinaryDictionaryBuilder:
		if v.Kind == String {
			appendText(b, v.Str, true)
			return
		}
	}
	b.AppendNull()
}
