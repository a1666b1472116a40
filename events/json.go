package events

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"driftwatch/fastfloat"
)

// JSONDecoder decodes JSON events. It interns feature and class names, so
// steady-state decoding allocates only for string values. Not safe for
// concurrent use: each partition worker has its own.
type JSONDecoder struct {
	Fields Fields
	names  map[string]string
	// recent[k] is the k-th name of the last message: producers send the
	// same layout every time, so comparing with it usually replaces a map
	// lookup (hashing every name) by one short comparison.
	recent []string
	values map[string]string // interned string values (see interned)
	// The last model and version read: most messages repeat them.
	model, version string
}

// NewJSONDecoder returns a decoder for the given field names.
func NewJSONDecoder(f Fields) *JSONDecoder {
	return &JSONDecoder{Fields: f, names: map[string]string{}, values: map[string]string{}}
}

// maxNames bounds the intern table: names come from producers.
const maxNames = 4096

// intern returns b as a string from table, adding it while the table has
// room (its contents come from producers).
func intern(table map[string]string, b []byte) string {
	if s, ok := table[string(b)]; ok {
		return s
	}
	s := string(b)
	if len(table) < maxNames {
		table[s] = s
	}
	return s
}

// Decode decodes one JSON event into e (reset first). Unknown top-level
// fields are ignored, so producers can add fields freely.
func (j *JSONDecoder) Decode(msg []byte, e *Event) error {
	e.Reset()
	f := &j.Fields
	d := jdec{b: msg, j: j}
	d.ws()
	if !d.eat('{') {
		return d.fail(ReasonMalformed, "", errors.New("expected a JSON object"))
	}
	var hasID, hasModel bool
	first := true
	for {
		d.ws()
		if d.eat('}') {
			break
		}
		if !first && !d.eat(',') {
			return d.fail(ReasonMalformed, "", errors.New("expected ',' or '}'"))
		}
		first = false
		d.ws()
		key, err := d.key("")
		if err != nil {
			return err
		}
		d.ws()
		at := d.i
		switch key {
		case f.ID:
			if e.ID, err = d.stringField(key); err != nil {
				return err
			}
			hasID = e.ID != ""
		case f.Model:
			// A model is named by a string: a number is a type error, not
			// the name of a model nobody configured.
			if c := d.peek(); c == '-' || c >= '0' && c <= '9' {
				if _, err := d.value(key); err != nil {
					return err // not even a number
				}
				return &Error{Reason: ReasonWrongType, Field: key, Offset: at, Err: errors.New("expected a string, got a number")}
			}
			if e.Model, err = d.internedAs(key, &j.model); err != nil {
				return err
			}
			hasModel = e.Model != ""
		case f.Version:
			if e.Version, err = d.internedAs(key, &j.version); err != nil {
				return err
			}
		case f.TS:
			v, err := d.value(key)
			if err != nil {
				return err
			}
			if e.TS, err = timestamp(v); err != nil {
				return &Error{Reason: ReasonBadTimestamp, Field: key, Offset: at, Err: err}
			}
			e.HasTS = true
		case f.Features, f.Scores:
			if d.peek() == 'n' {
				if _, err := d.value(key); err != nil { // null: no features
					return err
				}
				continue
			}
			if d.peek() != '{' {
				return d.fail(ReasonWrongType, key, errors.New("expected an object"))
			}
			list := &e.Features
			if key == f.Scores && key != f.Features {
				list = &e.Scores
			}
			if err := d.object(key, list); err != nil {
				return err
			}
		case f.Prediction, f.Label:
			v, err := d.value(key)
			if err != nil {
				return err
			}
			if v.Kind == Null {
				continue
			}
			if v.Kind == Number {
				v.Str = string(d.num) // class names keep the producer's text
			}
			if key == f.Prediction {
				e.Prediction, e.HasPrediction = v, true
			} else {
				e.Label, e.HasLabel = v, true
			}
		case f.Score, f.LatencyMS, f.Value:
			v, err := d.value(key)
			if err != nil {
				return err
			}
			if v.Kind == Null {
				continue
			}
			if v.Kind != Number {
				return &Error{Reason: ReasonWrongType, Field: key, Offset: at, Err: errors.New("expected a number")}
			}
			switch key {
			case f.Score:
				e.Score, e.HasScore = v.Num, true
			case f.LatencyMS:
				e.LatencyMS, e.HasLatency = v.Num, true
			default:
				e.Value, e.HasValue = v.Num, true
			}
		case f.Error:
			// Last one wins, null included, as in encoding/json.
			if e.Error, e.HasError, err = d.flag(key); err != nil {
				return err
			}
		default:
			if err := d.skip(key); err != nil {
				return err
			}
		}
	}
	d.ws()
	if d.i != len(d.b) {
		return d.fail(ReasonMalformed, "", errors.New("data after the object"))
	}
	if !hasID {
		return &Error{Reason: ReasonMissingID, Field: f.ID, Err: errors.New("missing or empty")}
	}
	if !hasModel {
		return &Error{Reason: ReasonMissingModel, Field: f.Model, Err: errors.New("missing or empty")}
	}
	return nil
}

// timestamp reads RFC 3339 text or epoch milliseconds.
func timestamp(v Value) (int64, error) {
	switch v.Kind {
	case Number:
		if v.Num != v.Num || v.Num < -1e15 || v.Num > 1e15 {
			return 0, errors.New("epoch milliseconds out of range")
		}
		return int64(v.Num), nil
	case String:
		t, err := time.Parse(time.RFC3339Nano, v.Str)
		if err != nil {
			return 0, err
		}
		return t.UnixMilli(), nil
	}
	return 0, errors.New("expected RFC 3339 text or epoch milliseconds")
}

// jdec scans one message.
type jdec struct {
	b     []byte
	i     int
	j     *JSONDecoder
	num   []byte // text of the last number read by value
	names int    // names read so far (see JSONDecoder.recent)
}

func (d *jdec) fail(r Reason, field string, err error) error {
	return &Error{Reason: r, Field: field, Offset: d.i, Err: err}
}

func (d *jdec) ws() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

func (d *jdec) peek() byte {
	if d.i < len(d.b) {
		return d.b[d.i]
	}
	return 0
}

func (d *jdec) eat(c byte) bool {
	if d.peek() == c {
		d.i++
		return true
	}
	return false
}

// str reads a string token. Strings without escapes are copied once;
// escaped ones go through encoding/json, which knows every JSON escape.
func (d *jdec) str() (string, error) {
	start := d.i + 1
	raw, escaped, err := d.strToken()
	if err != nil || !escaped {
		return string(raw), err
	}
	var s string
	if err := json.Unmarshal(d.b[start-1:d.i], &s); err != nil {
		return "", &Error{Reason: ReasonMalformed, Offset: start, Err: err}
	}
	return s, nil
}

// strToken reads a string token and returns its raw bytes between the
// quotes, a view of the message, and whether it has escapes (unchecked).
func (d *jdec) strToken() (raw []byte, escaped bool, err error) {
	if !d.eat('"') {
		return nil, false, d.fail(ReasonMalformed, "", errors.New("expected a string"))
	}
	start := d.i
	for d.i < len(d.b) {
		c := d.b[d.i]
		switch {
		case c == '"':
			raw = d.b[start:d.i]
			d.i++
			return raw, escaped, nil
		case c == '\\':
			escaped = true
			d.i += 2
			continue
		case c < 0x20:
			return nil, false, d.fail(ReasonMalformed, "", errors.New("control character in string"))
		}
		d.i++
	}
	return nil, false, d.fail(ReasonMalformed, "", errors.New("unterminated string"))
}

// flag reads the error field without allocating: true, a non-empty string
// and a non-zero number are errors; false, "" and 0 are not (present is
// true); null is neither (present is false).
func (d *jdec) flag(key string) (set, present bool, err error) {
	if d.peek() == '"' {
		start := d.i + 1
		raw, escaped, err := d.strToken()
		if err != nil {
			return false, false, err
		}
		// Every escape stands for at least one character, so an escaped
		// string is non-empty; checking it is all that is left, and
		// json.Valid does that with pooled state, keeping nothing.
		if escaped && !json.Valid(d.b[start-1:d.i]) {
			return false, false, &Error{Reason: ReasonMalformed, Field: key, Offset: start, Err: errors.New("invalid escape in string")}
		}
		return len(raw) > 0, true, nil
	}
	v, err := d.value(key)
	switch {
	case err != nil:
		return false, false, err
	case v.Kind == Null:
		return false, false, nil
	case v.Kind == Bool:
		return v.Str == "true", true, nil
	}
	return v.Num != 0, true, nil // a Number: value returns no other kind
}

// plain reads a string token without escapes or control characters and
// returns its bytes (a view of the message); ok is false, and nothing is
// read, for any other token.
func (d *jdec) plain() (b []byte, ok bool) {
	if d.peek() != '"' {
		return nil, false
	}
	end := d.i + 1
	for end < len(d.b) && d.b[end] != '"' && d.b[end] != '\\' && d.b[end] >= 0x20 {
		end++
	}
	if end >= len(d.b) || d.b[end] != '"' {
		return nil, false
	}
	b, d.i = d.b[d.i+1:end], end+1
	return b, true
}

// key reads an object key and its colon (field names the enclosing object
// in errors). The common case is one comparison: the key at this position
// in the last message, written the same way (recent holds only keys
// without escapes, so equal bytes between the quotes are the same token).
func (d *jdec) key(field string) (string, error) {
	if k, recent := d.names, d.j.recent; k < len(recent) {
		r := recent[k]
		if end := d.i + 1 + len(r); end+1 < len(d.b) && d.b[d.i] == '"' && d.b[end] == '"' && d.b[end+1] == ':' && string(d.b[d.i+1:end]) == r {
			d.i, d.names = end+2, k+1
			return r, nil
		}
	}
	name, err := d.name()
	if err != nil {
		return "", err
	}
	d.ws()
	if !d.eat(':') {
		if field == "" {
			field = name
		}
		return "", d.fail(ReasonMalformed, field, errors.New("expected ':'"))
	}
	return name, nil
}

// name reads an object key through the intern table when it has no
// escapes, remembering it as the key at this position (see key).
func (d *jdec) name() (string, error) {
	k, recent := d.names, d.j.recent
	b, ok := d.plain()
	if !ok {
		return d.str()
	}
	d.names++
	s := intern(d.j.names, b)
	if k < len(recent) {
		recent[k] = s
	} else if k == len(recent) && k < maxNames {
		d.j.recent = append(recent, s)
	}
	return s, nil
}

// interned reads a string field through the values intern table when it
// has no escapes: model, version and categorical values repeat from message
// to message, so most need no allocation.
func (d *jdec) interned(key string) (string, error) {
	if b, ok := d.plain(); ok {
		return intern(d.j.values, b), nil
	}
	return d.stringField(key)
}

// internedAs is interned, comparing first with *last (and keeping the
// result there).
func (d *jdec) internedAs(key string, last *string) (string, error) {
	if b, ok := d.plain(); ok {
		if string(b) != *last {
			*last = intern(d.j.values, b)
		}
		return *last, nil
	}
	return d.stringField(key)
}

func (d *jdec) stringField(key string) (string, error) {
	at := d.i
	v, err := d.value(key)
	if err != nil {
		return "", err
	}
	switch v.Kind {
	case String:
		return v.Str, nil
	case Null:
		return "", nil
	case Number:
		// Numeric ids (and versions) are common: their text, as the
		// producer wrote it, is the string.
		return string(d.num), nil
	}
	return "", &Error{Reason: ReasonWrongType, Field: key, Offset: at, Err: errors.New("expected a string")}
}

// value reads a scalar; objects and arrays are type errors for the field.
func (d *jdec) value(key string) (Value, error) {
	switch c := d.peek(); {
	case c == '"':
		s, err := d.str()
		return Value{Kind: String, Str: s}, err
	case c == '-' || c >= '0' && c <= '9':
		f, err := d.number(key)
		return Value{Kind: Number, Num: f}, err
	case c == 't' || c == 'f' || c == 'n':
		for _, lit := range [...]string{"true", "false", "null"} {
			if len(d.b)-d.i >= len(lit) && string(d.b[d.i:d.i+len(lit)]) == lit {
				d.i += len(lit)
				if lit == "null" {
					return Value{Kind: Null}, nil
				}
				return Value{Kind: Bool, Str: lit}, nil
			}
		}
	case c == '{' || c == '[':
		at := d.i
		if err := d.skip(key); err != nil {
			return Value{}, err
		}
		return Value{}, &Error{Reason: ReasonWrongType, Field: key, Offset: at, Err: errors.New("expected a scalar")}
	}
	return Value{}, d.fail(ReasonMalformed, key, errors.New("invalid value"))
}

// number reads a JSON number (d.num is its text). A plain decimal's value
// is computed while it is scanned — Clinger's fast path, exactly as
// fastfloat.Parse takes it; anything else is parsed from the scanned text.
func (d *jdec) number(key string) (float64, error) {
	b, i, start := d.b, d.i, d.i
	neg := i < len(b) && b[i] == '-'
	if neg {
		i++
	}
	var mant uint64
	n, frac := 0, 0 // digits, and how many follow the point
	if i < len(b) && b[i] == '0' {
		i++ // no leading zeros: "0" adds nothing to the mantissa
	} else {
		for ; i < len(b) && b[i]-'0' <= 9; i++ {
			mant = mant*10 + uint64(b[i]-'0')
			n++
		}
		if n == 0 {
			return 0, d.fail(ReasonMalformed, key, errors.New("invalid number"))
		}
	}
	if i < len(b) && b[i] == '.' {
		i++
		for ; i < len(b) && b[i]-'0' <= 9; i++ {
			mant = mant*10 + uint64(b[i]-'0')
			frac++
		}
		if frac == 0 {
			d.i = i
			return 0, d.fail(ReasonMalformed, key, errors.New("invalid number"))
		}
	}
	plain := true
	if i < len(b) && b[i]|0x20 == 'e' {
		plain = false
		if i++; i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		e := i
		for i < len(b) && b[i]-'0' <= 9 {
			i++
		}
		if i == e {
			d.i = i
			return 0, d.fail(ReasonMalformed, key, errors.New("invalid number"))
		}
	}
	d.i, d.num = i, b[start:i]
	// At most 19 digits cannot overflow the mantissa.
	if plain && n+frac <= 19 && mant <= 1<<53 && frac <= 22 {
		f := float64(mant)
		if frac > 0 {
			f /= fastfloat.Pow10[frac]
		}
		if neg {
			f = -f
		}
		return f, nil
	}
	f, ok := fastfloat.Parse(d.num) // out of range is ±Inf or 0, as strconv rounds it
	if !ok {
		return 0, &Error{Reason: ReasonMalformed, Field: key, Offset: start, Err: fmt.Errorf("invalid number %q", d.num)}
	}
	return f, nil
}

// object reads a flat object of scalars into list; a nested value is a type
// error naming the inner key.
func (d *jdec) object(field string, list *[]Value) error {
	d.eat('{')
	first := true
	for {
		d.ws()
		if d.eat('}') {
			return nil
		}
		if !first && !d.eat(',') {
			return d.fail(ReasonMalformed, field, errors.New("expected ',' or '}'"))
		}
		first = false
		d.ws()
		name, err := d.key(field)
		if err != nil {
			return err
		}
		d.ws()
		// Filled in place: a Value is 48 bytes.
		*list = append(*list, Value{Name: name})
		v := &(*list)[len(*list)-1]
		switch c := d.peek(); {
		case c == '"':
			// Categorical values repeat: intern them like names.
			v.Kind = String
			v.Str, err = d.interned(field)
		case c == '-' || c-'0' <= 9:
			v.Kind = Number
			v.Num, err = d.number(field)
		default:
			*v, err = d.value(field)
			v.Name = name
		}
		if err != nil {
			*list = (*list)[:len(*list)-1]
			return err
		}
	}
}

// maxDepth bounds nesting in skipped values: a hostile message must not
// turn into deep recursion.
const maxDepth = 64

// skip passes over any JSON value.
func (d *jdec) skip(key string) error { return d.skipDepth(key, 0) }

func (d *jdec) skipDepth(key string, depth int) error {
	if depth > maxDepth {
		return d.fail(ReasonMalformed, key, errors.New("nested too deeply"))
	}
	switch d.peek() {
	case '{', '[':
		open, close := d.b[d.i], byte('}')
		if open == '[' {
			close = ']'
		}
		d.i++
		first := true
		for {
			d.ws()
			if d.eat(close) {
				return nil
			}
			if !first && !d.eat(',') {
				return d.fail(ReasonMalformed, key, errors.New("expected ','"))
			}
			first = false
			d.ws()
			if open == '{' {
				if _, err := d.str(); err != nil {
					return err
				}
				d.ws()
				if !d.eat(':') {
					return d.fail(ReasonMalformed, key, errors.New("expected ':'"))
				}
				d.ws()
			}
			if err := d.skipDepth(key, depth+1); err != nil {
				return err
			}
		}
	}
	_, err := d.value(key)
	return err
}
