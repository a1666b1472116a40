// Package events decodes prediction and outcome messages, JSON into Event
// values and Arrow IPC streams into Columns (a batch of events as columns
// for the hot loop), and classifies every malformed message by a Reason
// from a small fixed set, so the consumer can send the original bytes to
// the dead-letter topic with the reason in a header and count it. It
// decodes one message at a time and keeps nothing; joining, windows and
// statistics are left to the monitor.
//
// The JSON decoder is a small scanner for the flat event shape rather than
// encoding/json: it allocates nothing per message beyond the strings it
// must return, and a fuzzer checks it against encoding/json. The Arrow
// decoder reads through arrow-go's IPC reader but frames the stream itself,
// so record buffers view the message and float64 columns reach the caller
// without a copy; it verifies the metadata first, because arrow-go trusts
// the lengths in it.
package events

import (
	"errors"
	"fmt"
)

// Reason says why a message was dead-lettered. The set is bounded: it is a
// metric label.
type Reason string

// Dead-letter reasons.
const (
	ReasonMalformed    Reason = "malformed"     // not a JSON object, or invalid JSON
	ReasonWrongType    Reason = "wrong_type"    // a known field has the wrong JSON type
	ReasonMissingID    Reason = "missing_id"    // no id
	ReasonMissingModel Reason = "missing_model" // no model
	ReasonMissingField Reason = "missing_field" // a field the message needs is absent (an outcome's label or value)
	ReasonBadTimestamp Reason = "bad_timestamp" // ts neither RFC 3339 nor epoch milliseconds
	ReasonOversize     Reason = "oversize"      // larger than the configured limit
	ReasonUnknownModel Reason = "unknown_model" // decided by the monitor, listed here for the set
)

// Error is a decoding failure with its dead-letter reason.
type Error struct {
	Reason Reason
	Field  string // the offending field, if any
	Offset int    // byte offset in the message
	Err    error
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("events: %s: field %q at offset %d: %v", e.Reason, e.Field, e.Offset, e.Err)
	}
	return fmt.Sprintf("events: %s at offset %d: %v", e.Reason, e.Offset, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// ReasonOf returns the dead-letter reason of a Decode error.
func ReasonOf(err error) Reason {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ReasonMalformed
}

// Kind is the JSON type of a value.
type Kind uint8

// Value kinds.
const (
	Null Kind = iota
	Number
	String
	Bool
)

// Value is one feature (or class score) value.
type Value struct {
	Name string
	Kind Kind
	Num  float64 // Number
	Str  string  // String; "true"/"false" for Bool
}

// Event is a decoded prediction or outcome. Has* report which optional
// fields were present.
type Event struct {
	ID, Model, Version string
	TS                 int64 // Unix milliseconds
	HasTS              bool

	Features []Value // in message order
	Scores   []Value // class → probability

	Prediction    Value // number or string
	HasPrediction bool
	Score         float64
	HasScore      bool
	LatencyMS     float64
	HasLatency    bool

	// Error: the prediction failed or was flagged as an error (canary
	// error rates). true, a non-empty string ("timeout") or a non-zero
	// number set it; false, "" and 0 leave it false with HasError set; null
	// or no field leave both false.
	Error    bool
	HasError bool

	// Outcomes: a label (number or string) or a numeric value.
	Label    Value
	HasLabel bool
	Value    float64
	HasValue bool
}

// Reset empties e for reuse, keeping its slices' capacity.
func (e *Event) Reset() {
	*e = Event{Features: e.Features[:0], Scores: e.Scores[:0]}
}

// Fields names the event fields in messages (config.Fields has the same
// shape; the monitor converts).
type Fields struct {
	ID, Model, Version, TS, Features, Prediction, Score, Scores, LatencyMS, Error, Label, Value string
}

// DefaultFields are the documented field names.
var DefaultFields = Fields{ID: "id", Model: "model", Version: "version", TS: "ts", Features: "features",
	Prediction: "prediction", Score: "score", Scores: "scores", LatencyMS: "latency_ms", Error: "error", Label: "label", Value: "value"}
