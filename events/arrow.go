package events

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Columns is a batch of events as columns: row i of every slice is event i.
// A Columns is filled by ArrowDecoder.Decode and reused by the next Decode
// with the same Columns, so its slices (and the memory they view) are valid
// only until then.
//
// Columns that the message does not carry are empty (length 0) and their
// Has* flag is false; every other slice has Rows entries. Numeric columns
// hold NaN for null (DESIGN.md invariant 4).
type Columns struct {
	Rows int

	// ID is the event id; never empty. The ids of one message share one
	// allocation, so keeping one beyond the batch keeps them all: clone ids
	// that are stored for long (strings.Clone).
	ID []string
	// Model is the model name; never empty. Interned: no allocation per row.
	Model []string
	// Version is the model version, "" when the column is absent or null.
	Version []string

	// TS is the event time in Unix milliseconds, valid when HasTS (the ts
	// column is present; a null ts is an error, not a missing one).
	TS    []int64
	HasTS bool

	// Num are the numeric feature columns and Cat the categorical ones, each
	// in schema order. A feature column of Arrow type null (all values null,
	// as pyarrow infers for all-None data) is left out, like a missing JSON
	// feature.
	Num []NumColumn
	Cat []CatColumn

	// Ignored names the columns that are neither a known field nor one of
	// the decoder's Features, in schema order: they are not decoded, as
	// unknown top-level JSON fields are skipped. Unsupported are the
	// feature columns of a type no feature can have (timestamps, dates,
	// lists, structs, binary): not decoded either; whoever knows the
	// profile decides whether that is an error for the feature.
	Ignored     []string
	Unsupported []Skipped

	// Prediction is the predicted class as text: strings as they are,
	// booleans "true"/"false", integers in decimal, floats by strconv 'g' -1
	// (NaN as null); "" for null. PredictionNum is the numeric prediction
	// (regression), NaN when not a number or null. PredictionNull marks
	// nulls and is nil when there are none. Valid when HasPrediction.
	Prediction     []string
	PredictionNum  []float64
	PredictionNull []bool
	HasPrediction  bool

	// Score is the predicted probability, NaN for null; valid when HasScore.
	Score    []float64
	HasScore bool

	// LatencyMS is the model latency in milliseconds, NaN for null; valid
	// when HasLatency.
	LatencyMS  []float64
	HasLatency bool

	// Error marks failed predictions (see Event.Error): a boolean, a
	// non-empty string or a non-zero number (NaN is not) is an error, null
	// is not. Valid when HasError.
	Error    []bool
	HasError bool

	// Label is an outcome's label as text (formatted like Prediction),
	// LabelNum its numeric value (NaN when not a number or null), LabelNull
	// marks nulls (nil when none). Valid when HasLabel.
	Label     []string
	LabelNum  []float64
	LabelNull []bool
	HasLabel  bool

	// Value is a regression outcome, NaN for null; valid when HasValue.
	Value    []float64
	HasValue bool

	// Buffers owned by the Columns: float slices above may instead view
	// Arrow memory, which must never be written.
	predNum, score, latency, labelNum, value []float64
	predNull, labelNull, errs                []bool
	numOwn                                   [][]float64
	catNull                                  [][]bool
}

// Skipped is a column the decoder did not decode, with its Arrow type.
type Skipped struct {
	Name, Type string
}

// NumColumn is a numeric feature column, NaN for null. Values may view the
// message's own bytes (see ArrowDecoder): read it, never write it.
type NumColumn struct {
	Name   string
	Values []float64
}

// CatColumn is a categorical feature column: strings as they are, booleans
// as "true"/"false". Values are interned (no allocation per row); "" and
// Null[i] for null; Null is nil when there are none.
type CatColumn struct {
	Name   string
	Values []string
	Null   []bool
}

func (b *Columns) reset() {
	*b = Columns{
		ID: b.ID[:0], Model: b.Model[:0], Version: b.Version[:0], TS: b.TS[:0],
		Num: b.Num[:0], Cat: b.Cat[:0], Prediction: b.Prediction[:0], Label: b.Label[:0],
		Ignored: b.Ignored[:0], Unsupported: b.Unsupported[:0],
		predNum: b.predNum, score: b.score, latency: b.latency, labelNum: b.labelNum, value: b.value,
		predNull: b.predNull, labelNull: b.labelNull, errs: b.errs, numOwn: b.numOwn, catNull: b.catNull,
	}
}

// ArrowDecoder decodes Arrow IPC stream messages (one schema message, any
// dictionary batches, one or more record batches and the end-of-stream
// marker) into Columns. Column names are the Fields names; every other
// column is a feature, or with Features set, every other column Features
// names (the rest are skipped and listed in Columns.Ignored). A feature
// column of a type no feature can have is listed in Columns.Unsupported,
// not an error: one extra column (a creation time, an embedding) must not
// reject the message's events. Not safe for concurrent use: one per
// partition worker.
//
// Copies: the decoder frames the stream itself and hands arrow-go message
// bodies that are views of msg, so Arrow arrays view msg and nothing is
// copied on the way in (ipc.NewReader would copy every body). A float64
// column without nulls in a single-batch message is then handed out as the
// Arrow array's own []float64 (Float64Values), a view of msg: no copy at
// all. Other columns are converted into the Columns' reusable buffers. A
// body copy happens only for IPC body compression (decompression), for
// several record batches (concatenated into the Columns' buffers), and on
// CPUs other than amd64/arm64 when a body is not 8-byte aligned (into
// reusable aligned scratch). msg must therefore stay unchanged until the
// next Decode.
//
// Hostile input: message and body lengths are checked against the bytes
// present, flatbuffer metadata is verified before arrow-go reads it,
// arrow-go's allocations (decompression) are capped at 256 times the
// message (4 to 64 MiB), zstd windows are checked before arrow-go's
// decompressor allocates them, the columns must fit the message's bytes,
// and panics are recovered; any of these is ReasonMalformed.
type ArrowDecoder struct {
	Fields Fields
	// Features, when not nil, holds the names of the feature columns to
	// decode (the union of the profiles' features); nil decodes every
	// column that is not a known field.
	Features map[string]bool

	mem     limitAllocator
	mr      sliceReader
	scratch alignScratch
	// alignAll aligns bodies even where misaligned loads are fine (tests).
	alignAll bool

	recs   []arrow.RecordBatch
	starts []int // message offset of each record batch, for errors
	rows   []int // rows of each record batch
	plan   []colPlan
	seen   map[string]bool
	budget int // bytes of values in the message: bounds dictionary lengths

	names map[string]string // interned text
	types map[string]string // Arrow type names, interned

	ignored     []string          // the schema's columns left out (Columns.Ignored)
	unsupported []Skipped         // and of a type no feature can have
	ints        map[int64]string  // formatted integers
	floats      map[uint64]string // formatted floats by bits

	tabS  []string // dictionary tables, cached per dictionary
	tabN  []bool
	tabF  []float64
	tabT  []int64
	tabB  []bool
	dicts map[dictKey]dictRef
	idx   []int32
	nulls []bool
	dictN []bool    // nulls of a timestamp dictionary
	num   []float64 // floats on their way to text
	blob  []byte
	ends  []int
}

// NewArrowDecoder returns a decoder for the given column names.
func NewArrowDecoder(f Fields) *ArrowDecoder {
	return &ArrowDecoder{
		Fields: f,
		mem:    limitAllocator{mem: memory.DefaultAllocator},
		seen:   map[string]bool{}, names: map[string]string{}, types: map[string]string{}, ints: map[int64]string{},
		floats: map[uint64]string{}, dicts: map[dictKey]dictRef{},
	}
}

// Close releases the last message's Arrow records; the last Columns is
// invalid after it. It is safe to call twice, and the decoder stays usable.
func (d *ArrowDecoder) Close() error {
	d.release()
	return nil
}

func (d *ArrowDecoder) release() {
	for i, r := range d.recs {
		r.Release()
		d.recs[i] = nil
	}
	d.recs, d.starts, d.rows = d.recs[:0], d.starts[:0], d.rows[:0]
	d.scratch.used = 0
}

// alignScratch holds copies of misaligned bodies, reused from message to
// message; it is replaced (not grown in place) when full, so earlier copies
// stay valid.
type alignScratch struct {
	words []uint64
	used  int
}

func (s *alignScratch) copy(b []byte) []byte {
	n := (len(b) + 7) / 8
	if s.used+n > len(s.words) {
		s.words, s.used = make([]uint64, max(2*len(s.words), n, 1024)), 0
	}
	dst := unsafe.Slice((*byte)(unsafe.Pointer(&s.words[s.used])), len(b))
	s.used += n
	copy(dst, b)
	return dst
}

// Decode decodes one message into b, reusing b's slices; b's contents are
// valid until the next Decode with the same b or decoder, or Close. On error
// b is empty and the error is an *Error with its dead-letter reason.
func (d *ArrowDecoder) Decode(msg []byte, b *Columns) (err error) {
	d.release()
	b.reset()
	defer func() {
		if r := recover(); r != nil {
			if panicHook != nil {
				panicHook(r)
			}
			e, ok := r.(error)
			if !ok {
				e = fmt.Errorf("%v", r)
			}
			err = &Error{Reason: ReasonMalformed, Offset: d.mr.start, Err: fmt.Errorf("arrow: corrupt input: %w", e)}
		}
		if err != nil {
			d.release()
			b.reset()
			// A short decompressed buffer shows up as some other error;
			// name the cause when it is a misdeclared length.
			if d.mr.compressed {
				var le *BufferLengthError
				if errors.As(CheckCompressedLengths(msg, memLimit(len(msg))), &le) {
					err = &Error{Reason: ReasonMalformed, Offset: le.Offset, Err: fmt.Errorf("arrow: %w", le)}
				}
			}
		}
	}()
	if err := d.read(msg); err != nil {
		return err
	}
	return d.fill(len(msg), b)
}

// panicHook, when set (by tests), sees every panic Decode recovers, so the
// fuzzer can tell arrow-go's panics on corrupt input from bugs here.
var panicHook func(r any)

func (d *ArrowDecoder) malformed(err error) error {
	return &Error{Reason: ReasonMalformed, Offset: d.mr.start, Err: err}
}

// read reads every record batch of msg into d.recs.
func (d *ArrowDecoder) read(msg []byte) error {
	var scratch *alignScratch
	if !unalignedOK || d.alignAll {
		scratch = &d.scratch
	}
	d.mr.reset(msg, scratch)
	d.mem.limit = memLimit(len(msg))
	rdr, err := ipc.NewReaderFromMessageReader(&d.mr, ipc.WithAllocator(&d.mem), ipc.WithEnsureNativeEndian(false))
	if err != nil {
		return d.malformed(err)
	}
	defer rdr.Release()
	if !rdr.Schema().IsNativeEndian() {
		return d.malformed(errors.New("big-endian arrow data is not supported"))
	}
	var total int64
	for rdr.Next() {
		rec := rdr.RecordBatch()
		rec.Retain()
		d.recs = append(d.recs, rec)
		d.starts = append(d.starts, d.mr.start)
		n := rec.NumRows()
		if total += n; n < 0 || total > 8*int64(len(msg)+d.mem.live) { // a bit per row at least
			return d.malformed(fmt.Errorf("record batch claims %d rows in a %d-byte message", n, len(msg)))
		}
		d.rows = append(d.rows, int(n))
	}
	if err := rdr.Err(); err != nil {
		return d.malformed(err)
	}
	if !d.mr.eos {
		return d.malformed(errors.New("stream ends without an end-of-stream marker"))
	}
	if d.mr.pos != len(msg) {
		d.mr.start = d.mr.pos
		return d.malformed(fmt.Errorf("%d bytes after the end-of-stream marker", len(msg)-d.mr.pos))
	}
	return d.plan1(rdr.Schema())
}

// Column roles.
type role uint8

const (
	roleSkip role = iota
	roleID
	roleModel
	roleVersion
	roleTS
	rolePrediction
	roleScore
	roleLatency
	roleError
	roleLabel
	roleValue
	roleNum
	roleCat
)

// vkind is what a column holds, looking through a dictionary.
type vkind uint8

const (
	kOther vkind = iota
	kNull
	kBool
	kInt
	kFloat
	kText
	kTime
)

type colPlan struct {
	role role
	col  int
	name string
	kind vkind
	bits int // bits per row in the message (dictionary: index width)
	slot int // index in Num or Cat
}

// kindOf classifies an Arrow type for decoding.
func kindOf(dt arrow.DataType) (k vkind, bits int) {
	if d, ok := dt.(*arrow.DictionaryType); ok {
		k, _ = kindOf(d.ValueType)
		iw, ok := d.IndexType.(arrow.FixedWidthDataType)
		if !ok || k == kNull || k == kBool || d.ValueType.ID() == arrow.DICTIONARY {
			return kOther, 0
		}
		return k, iw.BitWidth()
	}
	switch dt.ID() {
	case arrow.NULL:
		return kNull, 0
	case arrow.BOOL:
		return kBool, 1
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64, arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64:
		return kInt, dt.(arrow.FixedWidthDataType).BitWidth()
	case arrow.FLOAT16, arrow.FLOAT32, arrow.FLOAT64, arrow.DECIMAL32, arrow.DECIMAL64, arrow.DECIMAL128, arrow.DECIMAL256:
		return kFloat, dt.(arrow.FixedWidthDataType).BitWidth()
	case arrow.STRING:
		return kText, 32
	case arrow.LARGE_STRING:
		return kText, 64
	case arrow.TIMESTAMP, arrow.DATE64:
		return kTime, 64
	case arrow.DATE32:
		return kTime, 32
	}
	return kOther, 0
}

// accepts lists the kinds each known field takes.
var accepts = [...]struct {
	kinds []vkind
	want  string
}{
	roleID:         {[]vkind{kText, kInt}, "utf8 or an integer"},
	roleModel:      {[]vkind{kText}, "utf8"},
	roleVersion:    {[]vkind{kText}, "utf8"},
	roleTS:         {[]vkind{kTime, kInt, kText}, "a timestamp, a date, epoch milliseconds or RFC 3339 text"},
	rolePrediction: {[]vkind{kText, kInt, kFloat, kBool}, "utf8, a number or a boolean"},
	roleScore:      {[]vkind{kInt, kFloat}, "a number"},
	roleLatency:    {[]vkind{kInt, kFloat}, "a number"},
	roleError:      {[]vkind{kBool, kText, kInt, kFloat}, "a boolean, utf8 or a number"},
	roleLabel:      {[]vkind{kText, kInt, kFloat, kBool}, "utf8, a number or a boolean"},
	roleValue:      {[]vkind{kInt, kFloat}, "a number"},
}

func (d *ArrowDecoder) roleOf(name string) role {
	f := &d.Fields
	for _, c := range [...]struct {
		name string
		r    role
	}{{f.ID, roleID}, {f.Model, roleModel}, {f.Version, roleVersion}, {f.TS, roleTS}, {f.Prediction, rolePrediction},
		{f.Score, roleScore}, {f.LatencyMS, roleLatency}, {f.Error, roleError}, {f.Label, roleLabel}, {f.Value, roleValue}} {
		if c.name != "" && c.name == name {
			return c.r
		}
	}
	return roleSkip
}

// plan1 maps the schema's columns to roles and checks their types.
func (d *ArrowDecoder) plan1(s *arrow.Schema) error {
	d.plan = d.plan[:0]
	clear(d.seen)
	at := 0 // the schema message starts the stream
	nnum, ncat := 0, 0
	d.ignored, d.unsupported = d.ignored[:0], d.unsupported[:0]
	for i, f := range s.Fields() {
		if d.seen[f.Name] {
			return &Error{Reason: ReasonMalformed, Field: f.Name, Offset: at, Err: errors.New("duplicate column")}
		}
		d.seen[f.Name] = true
		k, bits := kindOf(f.Type)
		p := colPlan{role: d.roleOf(f.Name), col: i, name: f.Name, kind: k, bits: bits}
		switch {
		case p.role == roleSkip && d.Features != nil && !d.Features[f.Name]:
			d.ignored = append(d.ignored, f.Name)
			continue
		case p.role == roleSkip && (k == kInt || k == kFloat):
			p.role, p.slot = roleNum, nnum
			nnum++
		case p.role == roleSkip && (k == kText || k == kBool):
			p.role, p.slot = roleCat, ncat
			ncat++
		case p.role == roleSkip && k == kNull:
			continue
		case p.role == roleSkip:
			d.unsupported = append(d.unsupported, Skipped{Name: f.Name, Type: d.typeName(f.Type)})
			continue
		case k == kNull:
			switch p.role {
			case roleID:
				return &Error{Reason: ReasonMissingID, Field: f.Name, Offset: at, Err: errors.New("column of nulls")}
			case roleModel:
				return &Error{Reason: ReasonMissingModel, Field: f.Name, Offset: at, Err: errors.New("column of nulls")}
			case roleTS:
				// Checked against the rows in fill: every ts is null.
			default:
				continue // all null: as if absent
			}
		default:
			a := accepts[p.role]
			ok := false
			for _, want := range a.kinds {
				ok = ok || k == want
			}
			if !ok {
				return &Error{Reason: ReasonWrongType, Field: f.Name, Offset: at, Err: fmt.Errorf("expected %s, got %s", a.want, f.Type)}
			}
		}
		d.plan = append(d.plan, p)
	}
	if !d.seen[d.Fields.ID] {
		return &Error{Reason: ReasonMissingID, Field: d.Fields.ID, Offset: at, Err: errors.New("no such column")}
	}
	if !d.seen[d.Fields.Model] {
		return &Error{Reason: ReasonMissingModel, Field: d.Fields.Model, Offset: at, Err: errors.New("no such column")}
	}
	return nil
}

// typeName returns t's name, interned: the same schema arrives with every
// message.
func (d *ArrowDecoder) typeName(t arrow.DataType) string {
	s := t.String()
	if n, ok := d.types[s]; ok {
		return n
	}
	if len(d.types) >= maxInterned {
		clear(d.types)
	}
	d.types[s] = s
	return s
}

// rowError is a bad value in one row (row < 0: in a dictionary); the
// caller adds the field, reason and offset.
type rowError struct {
	row int
	err error
}

func (e *rowError) Error() string {
	if e.row < 0 {
		return e.err.Error()
	}
	return fmt.Sprintf("row %d: %v", e.row, e.err)
}
func (e *rowError) Unwrap() error { return e.err }

// each calls fn on plan p's array in every record batch with the batch's
// rows in the output, and turns its error into an *Error: a rowError gets
// reason r and its row in the whole message, anything else is malformed.
func (d *ArrowDecoder) each(p *colPlan, r Reason, fn func(a arrow.Array, lo, hi int) error) error {
	lo := 0
	for k, rec := range d.recs {
		hi := lo + d.rows[k]
		if err := fn(rec.Column(p.col), lo, hi); err != nil {
			reason := ReasonMalformed
			var re *rowError
			if errors.As(err, &re) {
				if re.row >= 0 {
					re.row += lo
				}
				reason = r
			}
			return &Error{Reason: reason, Field: p.name, Offset: d.starts[k], Err: err}
		}
		lo = hi
	}
	return nil
}

// grow returns s resized to n, reallocated (contents lost) when too small.
func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// extend returns s with n more elements, keeping its contents: the
// dictionary tables are referred to by position.
func extend[T any](s []T, n int) []T {
	return slices.Grow(s, n)[:len(s)+n]
}

// fill converts the planned columns into b.
func (d *ArrowDecoder) fill(msgLen int, b *Columns) error {
	rows := 0
	for _, n := range d.rows {
		rows += n
	}
	// A valid message holds at least bits/8 bytes per row of each column
	// (bodies alias the message; decompressed ones count in mem.live), so
	// output sized by rows stays proportional to the input even when
	// corrupt metadata claims many rows or points columns at the same bytes.
	d.budget = msgLen + d.mem.live
	var need int64
	for _, p := range d.plan {
		// rows ≤ 8·budget (read), so this cannot overflow.
		if need += int64(rows) * int64(p.bits) / 8; need > int64(d.budget) {
			return d.malformed(fmt.Errorf("%d rows of %d columns need %d bytes or more, the message has %d", rows, len(d.plan), need, d.budget))
		}
	}
	clear(d.dicts)
	d.tabS, d.tabN, d.tabF, d.tabT, d.tabB = d.tabS[:0], d.tabN[:0], d.tabF[:0], d.tabT[:0], d.tabB[:0]
	b.Rows = rows
	b.Ignored = append(b.Ignored, d.ignored...)
	b.Unsupported = append(b.Unsupported, d.unsupported...)
	b.Version = grow(b.Version, rows)
	clear(b.Version)
	for i := range d.plan {
		if err := d.fillColumn(&d.plan[i], rows, b); err != nil {
			return err
		}
	}
	return nil
}

func (d *ArrowDecoder) fillColumn(p *colPlan, rows int, b *Columns) error {
	var err error
	switch p.role {
	case roleID:
		b.ID = grow(b.ID, rows)
		err = d.required(p, ReasonMissingID, b.ID, true)
	case roleModel:
		b.Model = grow(b.Model, rows)
		err = d.required(p, ReasonMissingModel, b.Model, false)
	case roleVersion:
		null := grow(d.nulls, rows)
		d.nulls = null
		err = d.each(p, ReasonMalformed, func(a arrow.Array, lo, hi int) error {
			_, err := d.textCol(a, b.Version[lo:hi], null[lo:hi], false)
			return err
		})
	case roleTS:
		b.TS, b.HasTS = grow(b.TS, rows), true
		null := grow(d.nulls, rows)
		d.nulls = null
		err = d.each(p, ReasonBadTimestamp, func(a arrow.Array, lo, hi int) error {
			if err := d.millisCol(a, b.TS[lo:hi], null[lo:hi]); err != nil {
				return err
			}
			for i, n := range null[lo:hi] {
				if n {
					return &rowError{i, errors.New("null timestamp")}
				}
			}
			return nil
		})
	case rolePrediction:
		b.HasPrediction = true
		b.Prediction, b.predNull = grow(b.Prediction, rows), grow(b.predNull, rows)
		var has bool
		has, b.PredictionNum, err = d.textAndNumber(p, rows, b.Prediction, b.predNull, &b.predNum)
		if has {
			b.PredictionNull = b.predNull
		}
	case roleLabel:
		b.HasLabel = true
		b.Label, b.labelNull = grow(b.Label, rows), grow(b.labelNull, rows)
		var has bool
		has, b.LabelNum, err = d.textAndNumber(p, rows, b.Label, b.labelNull, &b.labelNum)
		if has {
			b.LabelNull = b.labelNull
		}
	case roleScore:
		b.Score, err = d.floatsOut(p, rows, &b.score)
		b.HasScore = true
	case roleLatency:
		b.LatencyMS, err = d.floatsOut(p, rows, &b.latency)
		b.HasLatency = true
	case roleError:
		b.errs = grow(b.errs, rows)
		b.Error, b.HasError = b.errs, true
		err = d.each(p, ReasonMalformed, func(a arrow.Array, lo, hi int) error { return d.flagCol(a, b.Error[lo:hi]) })
	case roleValue:
		b.Value, err = d.floatsOut(p, rows, &b.value)
		b.HasValue = true
	case roleNum:
		for len(b.numOwn) <= p.slot {
			b.numOwn = append(b.numOwn, nil)
		}
		var v []float64
		v, err = d.floatsOut(p, rows, &b.numOwn[p.slot])
		b.Num = append(b.Num, NumColumn{Name: p.name, Values: v})
	case roleCat:
		for len(b.catNull) <= p.slot {
			b.catNull = append(b.catNull, nil)
		}
		var values []string
		if p.slot < cap(b.Cat) {
			values = b.Cat[:p.slot+1][p.slot].Values
		}
		values, null := grow(values, rows), grow(b.catNull[p.slot], rows)
		b.catNull[p.slot] = null
		has := false
		err = d.each(p, ReasonMalformed, func(a arrow.Array, lo, hi int) error {
			h, err := d.textCol(a, values[lo:hi], null[lo:hi], false)
			has = has || h
			return err
		})
		c := CatColumn{Name: p.name, Values: values}
		if has {
			c.Null = null
		}
		b.Cat = append(b.Cat, c)
	}
	return err
}

// required fills an id or model column; a null or empty value is an error
// with reason r.
func (d *ArrowDecoder) required(p *colPlan, r Reason, dst []string, blob bool) error {
	null := grow(d.nulls, len(dst))
	d.nulls = null
	return d.each(p, r, func(a arrow.Array, lo, hi int) error {
		if _, err := d.textCol(a, dst[lo:hi], null[lo:hi], blob); err != nil {
			return err
		}
		for i, s := range dst[lo:hi] {
			if s == "" {
				return &rowError{i, errors.New("null or empty")}
			}
		}
		return nil
	})
}

// floatsOut returns plan p's column as floats: the Arrow array's own
// values when it is float64 without nulls in a single batch, else *own
// grown to rows and filled.
func (d *ArrowDecoder) floatsOut(p *colPlan, rows int, own *[]float64) ([]float64, error) {
	if len(d.recs) == 1 {
		if a, ok := d.recs[0].Column(p.col).(*array.Float64); ok && len(a.NullBitmapBytes()) == 0 {
			return a.Float64Values()[:rows:rows], nil
		}
	}
	*own = grow(*own, rows)
	out := *own
	err := d.each(p, ReasonMalformed, func(a arrow.Array, lo, hi int) error { return d.floatCol(a, out[lo:hi]) })
	return out, err
}

// textAndNumber fills a prediction or label column: text into txt, nulls
// into null, and the numeric value (a view or *own).
func (d *ArrowDecoder) textAndNumber(p *colPlan, rows int, txt []string, null []bool, own *[]float64) (bool, []float64, error) {
	has := false
	err := d.each(p, ReasonMalformed, func(a arrow.Array, lo, hi int) error {
		h, err := d.textCol(a, txt[lo:hi], null[lo:hi], false)
		has = has || h
		return err
	})
	if err != nil {
		return false, nil, err
	}
	if p.kind == kInt || p.kind == kFloat {
		num, err := d.floatsOut(p, rows, own)
		return has, num, err
	}
	num := grow(*own, rows)
	*own = num
	for i := range num {
		num[i] = math.NaN()
	}
	return has, num, nil
}
