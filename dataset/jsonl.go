package dataset

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"unicode/utf8"

	"driftwatch/fastfloat"
)

// JSON Lines: every non-blank line is one JSON object. A hand-written
// scanner reads the common line; any line it declines (bad syntax, deep
// nesting) is read again by encoding/json, which either accepts it or
// supplies the error message.

// jsonTag is a JSON value's type.
type jsonTag uint8

const (
	jNull jsonTag = iota
	jNumber
	jString
	jBool
	jRaw // an object or array
)

// member is one key and value of an object. text is the number as written,
// the string's content, "true"/"false", or an object's or array's JSON
// text; it may alias the line.
type member struct {
	key  []byte
	tag  jsonTag
	text []byte
}

// jsonColumn builds one column. Until its kind is known it buffers cells
// (the first inferRows rows from its first appearance); rows before its
// first appearance are null.
type jsonColumn struct {
	name    string
	col     *Column
	pending []pendingCell // while col.Kind == KindAuto
	lead    int           // null rows before the first appearance
	rows    int           // rows filled, lead included
	intern  map[string]string
}

type pendingCell struct {
	tag  jsonTag
	text string
}

func readJSONL(data []byte, name string, opt Options) (*Table, error) {
	var (
		cols    []*jsonColumn
		index   = map[string]int{}
		order   []int // column of each member position in the last row
		members []member
		rows    int
	)
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	line := 0
	for len(data) > 0 {
		line++
		var l []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			l, data = data[:i], data[i+1:]
		} else {
			l, data = data, nil
		}
		l = bytes.TrimSpace(l)
		if len(l) == 0 {
			continue
		}
		var ok bool
		if members, ok = scanObject(members[:0], l); !ok {
			var err error
			if members, err = decodeObject(members[:0], l); err != nil {
				return nil, fmt.Errorf("dataset: %q line %d: %v", name, line, err)
			}
		}
		for j, m := range members {
			// Lines usually repeat the last line's keys in its order.
			ci := -1
			if j < len(order) && cols[order[j]].name == string(m.key) {
				ci = order[j]
			} else if k, ok := index[string(m.key)]; ok {
				ci = k
			} else {
				ci = len(cols)
				c := &jsonColumn{name: string(m.key), lead: rows, rows: rows, intern: map[string]string{}}
				c.col = &Column{Name: c.name, Kind: opt.Kinds[c.name]}
				if c.col.Kind != KindAuto {
					c.decide(c.col.Kind)
				}
				cols = append(cols, c)
				index[c.name] = ci
			}
			if j < len(order) {
				order[j] = ci
			} else {
				order = append(order, ci)
			}
			if c := cols[ci]; c.rows == rows { // else a repeated key: the first value wins
				c.add(m.tag, m.text)
			}
		}
		order = order[:len(members)]
		rows++
		for _, c := range cols {
			if c.rows < rows {
				c.add(jNull, nil) // a missing key
			}
		}
	}
	if rows == 0 {
		return nil, fmt.Errorf("dataset: %q is empty", name)
	}
	t := &Table{Path: name, Rows: rows, Columns: make([]*Column, len(cols))}
	for i, c := range cols {
		if c.col.Kind == KindAuto {
			c.vote()
		}
		t.Columns[i] = c.col
	}
	return t, nil
}

// add appends one cell.
func (c *jsonColumn) add(tag jsonTag, text []byte) {
	c.rows++
	col := c.col
	switch col.Kind {
	case KindAuto:
		c.pending = append(c.pending, pendingCell{tag, string(text)})
		if len(c.pending) == inferRows {
			c.vote()
		}
	case KindNumeric:
		x := math.NaN()
		switch tag {
		case jNull:
			col.Nulls++
		case jNumber:
			x, _ = fastfloat.Parse(text) // valid JSON numbers always parse
		case jString:
			// A string holding a number counts as that number.
			x = textNumber(text, &col.Nulls, &col.Invalid)
		default:
			col.Invalid++
		}
		col.Num = append(col.Num, x)
	default:
		s := ""
		switch tag {
		case jNull:
			if col.Null == nil {
				col.Null = make([]bool, len(col.Str), cap(col.Str))
			}
			col.Null = append(col.Null, true)
			col.Str = append(col.Str, "")
			col.Nulls++
			return
		case jRaw:
			s = string(text)
		default:
			var ok bool
			if s, ok = c.intern[string(text)]; !ok {
				s = string(text)
				c.intern[s] = s
			}
		}
		col.Str = append(col.Str, s)
		if col.Null != nil {
			col.Null = append(col.Null, false)
		}
	}
}

// vote decides the kind from the buffered cells (numeric when at least 99%
// of the non-null ones are JSON numbers) and replays them.
func (c *jsonColumn) vote() {
	numeric, nonNull := 0, 0
	for _, p := range c.pending {
		if p.tag != jNull {
			nonNull++
			if p.tag == jNumber {
				numeric++
			}
		}
	}
	c.decide(kindVote(numeric, nonNull))
}

func (c *jsonColumn) decide(k Kind) {
	col := c.col
	col.Kind = k
	pending := c.pending
	c.pending, c.rows = nil, c.lead
	if k == KindNumeric {
		col.Num = make([]float64, c.lead, c.lead+inferRows)
		for i := range col.Num {
			col.Num[i] = math.NaN()
		}
	} else {
		col.Str = make([]string, c.lead, c.lead+inferRows)
		if c.lead > 0 {
			col.Null = make([]bool, c.lead, c.lead+inferRows)
			for i := range col.Null {
				col.Null[i] = true
			}
		}
	}
	col.Nulls = c.lead
	for _, p := range pending {
		c.add(p.tag, []byte(p.text))
	}
}

// scanObject appends the members of the JSON object l to dst; ok is false
// when l is not a well-formed object this scanner handles.
func scanObject(dst []member, l []byte) ([]member, bool) {
	s := jsonScanner{b: l}
	if !s.eat('{') {
		return dst, false
	}
	s.ws()
	if s.peek() == '}' {
		s.i++
	} else {
		for {
			s.ws()
			if s.peek() != '"' {
				return dst, false
			}
			key, ok := s.str()
			if !ok {
				return dst, false
			}
			s.ws()
			if !s.eat(':') {
				return dst, false
			}
			s.ws()
			tag, text, ok := s.value()
			if !ok {
				return dst, false
			}
			dst = append(dst, member{key, tag, text})
			s.ws()
			if s.eat(',') {
				continue
			}
			if !s.eat('}') {
				return dst, false
			}
			break
		}
	}
	s.ws()
	return dst, s.i == len(l)
}

type jsonScanner struct {
	b []byte
	i int
}

func (s *jsonScanner) peek() byte {
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

func (s *jsonScanner) eat(c byte) bool {
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

func (s *jsonScanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\r', '\n':
			s.i++
		default:
			return
		}
	}
}

// maxDepth bounds nesting; deeper values go to encoding/json.
const maxDepth = 1000

// value scans one value.
func (s *jsonScanner) value() (jsonTag, []byte, bool) {
	start := s.i
	switch c := s.peek(); {
	case c == '"':
		text, ok := s.str()
		return jString, text, ok
	case c == '-' || c-'0' <= 9:
		ok := s.number()
		return jNumber, s.b[start:s.i], ok
	case c == 't':
		ok := s.literal("true")
		return jBool, s.b[start:s.i], ok
	case c == 'f':
		ok := s.literal("false")
		return jBool, s.b[start:s.i], ok
	case c == 'n':
		return jNull, nil, s.literal("null")
	case c == '{' || c == '[':
		ok := s.skip(0)
		return jRaw, s.b[start:s.i], ok
	}
	return 0, nil, false
}

func (s *jsonScanner) literal(w string) bool {
	if len(s.b)-s.i >= len(w) && string(s.b[s.i:s.i+len(w)]) == w {
		s.i += len(w)
		return true
	}
	return false
}

// number scans a number by the JSON grammar.
func (s *jsonScanner) number() bool {
	s.eat('-')
	switch {
	case s.eat('0'):
	case s.peek()-'1' <= 8:
		s.digits()
	default:
		return false
	}
	if s.eat('.') && !s.digits() {
		return false
	}
	if c := s.peek(); c == 'e' || c == 'E' {
		s.i++
		if c := s.peek(); c == '+' || c == '-' {
			s.i++
		}
		if !s.digits() {
			return false
		}
	}
	return true
}

func (s *jsonScanner) digits() bool {
	start := s.i
	for s.i < len(s.b) && s.b[s.i]-'0' <= 9 {
		s.i++
	}
	return s.i > start
}

// str scans a string and returns its content. Content with escapes or
// invalid UTF-8 is decoded by encoding/json (which replaces bad bytes).
func (s *jsonScanner) str() ([]byte, bool) {
	start := s.i
	s.i++
	plain := true
	for s.i < len(s.b) {
		switch c := s.b[s.i]; {
		case c == '"':
			s.i++
			content := s.b[start+1 : s.i-1]
			if plain || utf8.Valid(content) && bytes.IndexByte(content, '\\') < 0 {
				return content, true
			}
			var dec string
			if json.Unmarshal(s.b[start:s.i], &dec) != nil {
				return nil, false
			}
			return []byte(dec), true
		case c == '\\':
			if s.i+1 >= len(s.b) {
				return nil, false // a line ending inside an escape
			}
			plain = false
			s.i += 2
		case c < 0x20:
			return nil, false
		case c >= 0x80:
			plain = false
			s.i++
		default:
			s.i++
		}
	}
	return nil, false
}

// skip scans an object or array.
func (s *jsonScanner) skip(depth int) bool {
	if depth >= maxDepth {
		return false
	}
	open := s.b[s.i]
	close := byte('}')
	if open == '[' {
		close = ']'
	}
	s.i++
	s.ws()
	if s.eat(close) {
		return true
	}
	for {
		s.ws()
		if open == '{' {
			if s.peek() != '"' {
				return false
			}
			if _, ok := s.str(); !ok {
				return false
			}
			s.ws()
			if !s.eat(':') {
				return false
			}
			s.ws()
		}
		switch c := s.peek(); {
		case c == '{' || c == '[':
			if !s.skip(depth + 1) {
				return false
			}
		default:
			if _, _, ok := s.value(); !ok {
				return false
			}
		}
		s.ws()
		if s.eat(',') {
			continue
		}
		return s.eat(close)
	}
}

// decodeObject reads the members of l with encoding/json, for lines the
// scanner declined; its errors are the messages users see.
func decodeObject(dst []member, l []byte) ([]member, error) {
	dec := json.NewDecoder(bytes.NewReader(l))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return dst, jsonErr(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return dst, errors.New("expected a JSON object")
	}
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return dst, jsonErr(err)
		}
		key, _ := kt.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return dst, jsonErr(err)
		}
		m := member{key: []byte(key), text: raw}
		switch raw[0] {
		case 'n':
			m.tag, m.text = jNull, nil
		case 't', 'f':
			m.tag = jBool
		case '{', '[':
			m.tag = jRaw
		case '"':
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return dst, err
			}
			m.tag, m.text = jString, []byte(s)
		default:
			m.tag = jNumber
		}
		dst = append(dst, m)
	}
	if _, err := dec.Token(); err != nil {
		return dst, jsonErr(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return dst, errors.New("unexpected data after the object")
	}
	return dst, nil
}

// jsonErr names a line that ends inside a value.
func jsonErr(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
