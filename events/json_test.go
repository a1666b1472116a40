package events

import (
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

func decode(t *testing.T, msg string) (*Event, error) {
	t.Helper()
	var e Event
	err := NewJSONDecoder(DefaultFields).Decode([]byte(msg), &e)
	return &e, err
}

func TestDecodePrediction(t *testing.T) {
	e, err := decode(t, `{"id": "p1", "model": "credit", "version": "v2", "ts": "2026-11-22T10:00:00.5Z",
		"features": {"age": 42, "income": 51000.5, "home": "RENT", "flag": true, "missing": null},
		"prediction": "1", "score": 0.83, "latency_ms": 12, "extra": {"nested": [1, {"x": "}"}]}}`)
	if err != nil {
		t.Fatal(err)
	}
	if e.ID != "p1" || e.Model != "credit" || e.Version != "v2" || e.TS != 1795341600500 || !e.HasTS {
		t.Fatalf("header: %+v", e)
	}
	want := []Value{{Name: "age", Kind: Number, Num: 42}, {Name: "income", Kind: Number, Num: 51000.5},
		{Name: "home", Kind: String, Str: "RENT"}, {Name: "flag", Kind: Bool, Str: "true"}, {Name: "missing", Kind: Null}}
	if len(e.Features) != len(want) {
		t.Fatalf("features: %+v", e.Features)
	}
	for i := range want {
		if e.Features[i] != want[i] {
			t.Fatalf("feature %d: %+v, want %+v", i, e.Features[i], want[i])
		}
	}
	if !e.HasPrediction || e.Prediction.Str != "1" || e.Score != 0.83 || e.LatencyMS != 12 || e.HasLabel {
		t.Fatalf("outputs: %+v", e)
	}
}

func TestDecodeOutcomeAndScores(t *testing.T) {
	e, err := decode(t, `{"id":7,"model":"m","ts":1763805600000,"label":"fraud","scores":{"fraud":0.9,"ok":0.1},"value":null}`)
	if err != nil {
		t.Fatal(err)
	}
	if e.ID != "7" || e.TS != 1763805600000 || e.Label.Str != "fraud" || len(e.Scores) != 2 || e.Scores[1].Name != "ok" || e.HasValue {
		t.Fatalf("%+v", e)
	}
	// Reuse keeps capacity and forgets the previous event.
	if err := NewJSONDecoder(DefaultFields).Decode([]byte(`{"id":"x","model":"m"}`), e); err != nil || len(e.Scores) != 0 || e.HasLabel {
		t.Fatalf("reset: %+v %v", e, err)
	}
}

func TestCustomFieldNames(t *testing.T) {
	f := DefaultFields
	f.ID, f.Features = "request_id", "inputs"
	var e Event
	if err := NewJSONDecoder(f).Decode([]byte(`{"request_id":"r","model":"m","inputs":{"a":1}}`), &e); err != nil || e.ID != "r" || len(e.Features) != 1 {
		t.Fatalf("%+v %v", e, err)
	}
}

func TestDecodeErrorFlag(t *testing.T) {
	f := func(value string, want, has bool) {
		t.Helper()
		e, err := decode(t, `{"id":"1","model":"m","error":`+value+`}`)
		if err != nil || e.Error != want || e.HasError != has {
			t.Fatalf("error %s: %v %v %v, want %v %v", value, e.Error, e.HasError, err, want, has)
		}
	}
	f(`true`, true, true)
	f(`false`, false, true)
	f(`null`, false, false)
	f(`"timeout"`, true, true)
	f(`"\u0000"`, true, true)
	f(`""`, false, true)
	f(`0`, false, true)
	f(`-0.0`, false, true)
	f(`1`, true, true)
	f(`-2.5e-3`, true, true)
	// encoding/json keeps a repeated key's last value, null included.
	f(`true, "error": null`, false, false)
	f(`"x", "error": 0`, false, true)
	if e, err := decode(t, `{"id":"1","model":"m"}`); err != nil || e.Error || e.HasError {
		t.Fatalf("absent: %+v %v", e, err)
	}
	// Reuse forgets the previous flag.
	var e Event
	dec := NewJSONDecoder(DefaultFields)
	if err := dec.Decode([]byte(`{"id":"1","model":"m","error":"timeout"}`), &e); err != nil || !e.Error {
		t.Fatalf("%+v %v", e, err)
	}
	if err := dec.Decode([]byte(`{"id":"1","model":"m"}`), &e); err != nil || e.Error || e.HasError {
		t.Fatalf("reset: %+v %v", e, err)
	}
	// The flag's text is never copied: a message with one allocates no
	// more than the same message without.
	without := []byte(`{"id":"p1","model":"m","score":0.5}`)
	for _, msg := range []string{`{"id":"p1","model":"m","score":0.5,"error":"upstream timeout"}`, `{"id":"p1","model":"m","score":0.5,"error":"\ttab"}`} {
		with := []byte(msg)
		a := testing.AllocsPerRun(100, func() { _ = dec.Decode(with, &e) })
		b := testing.AllocsPerRun(100, func() { _ = dec.Decode(without, &e) })
		if a != b {
			t.Fatalf("%s: %v allocations, %v without the error field", msg, a, b)
		}
	}
	renamed := DefaultFields
	renamed.Error = "failed"
	if err := NewJSONDecoder(renamed).Decode([]byte(`{"id":"1","model":"m","failed":1,"error":{"x":1}}`), &e); err != nil || !e.Error {
		t.Fatalf("renamed: %+v %v", e, err)
	}
}

// Numbers of every length, in every position relative to the message's
// end (the eight-byte reads stop short of it), decode bit for bit as
// strconv parses them.
func TestDecodeNumbersAsStrconv(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	texts := []string{"0", "-0", "0.5", "-0.0", "7", "12345678", "123456789", "1234567890123456789",
		"12345678901234567890", "0.000000000000000000001", "9007199254740993", "1e5", "-1.5E-3", "2.5e+300",
		"1.7976931348623157e308", "99999999.99999999", "0.1234567812345678"}
	for range 3000 {
		x := r.NormFloat64() * math.Pow(10, float64(r.IntN(24)-12))
		texts = append(texts, strconv.FormatFloat(x, 'f', r.IntN(14), 64), strconv.FormatFloat(x, 'g', -1, 64),
			strconv.FormatUint(r.Uint64()>>r.IntN(64), 10))
	}
	dec := NewJSONDecoder(DefaultFields)
	var e Event
	for _, text := range texts {
		want, err := strconv.ParseFloat(text, 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			t.Fatalf("%q: %v", text, err)
		}
		for _, msg := range []string{
			`{"id":"x","model":"m","features":{"a":` + text + `}}`,
			`{"id":"x","model":"m","features":{"a":` + text + `,"b":1}}`,
			`{"id":"x","model":"m","score":` + text + `}`,
		} {
			if err := dec.Decode([]byte(msg), &e); err != nil {
				t.Fatalf("%s: %v", msg, err)
			}
			got := e.Score
			if len(e.Features) > 0 {
				got = e.Features[0].Num
			}
			if math.Float64bits(got) != math.Float64bits(want) {
				t.Fatalf("%s: %v, strconv %v", msg, got, want)
			}
		}
	}
}

func TestReasons(t *testing.T) {
	f := func(msg string, want Reason, text string) {
		t.Helper()
		_, err := decode(t, msg)
		if ReasonOf(err) != want || (text != "" && err.Error() != text) {
			t.Fatalf("%s: got %v (%s), want %s", msg, err, ReasonOf(err), want)
		}
	}
	f(`{"id": "1", "model": "m"`, ReasonMalformed, "events: malformed at offset 24: expected ',' or '}'")
	f(`[1, 2]`, ReasonMalformed, "events: malformed at offset 0: expected a JSON object")
	f(`{"id": "1", "model": "m"} x`, ReasonMalformed, "")
	f(`{"id": {"a": 1}, "model": "m"}`, ReasonWrongType, `events: wrong_type: field "id" at offset 7: expected a scalar`)
	f(`{"id": "1", "model": "m", "score": "high"}`, ReasonWrongType, `events: wrong_type: field "score" at offset 35: expected a number`)
	f(`{"id": "1", "model": "m", "features": [1]}`, ReasonWrongType, "")
	f(`{"id": "1", "model": "m", "error": {"code": 5}}`, ReasonWrongType, `events: wrong_type: field "error" at offset 35: expected a scalar`)
	f(`{"id": "1", "model": "m", "error": ["timeout"]}`, ReasonWrongType, `events: wrong_type: field "error" at offset 35: expected a scalar`)
	f(`{"id": "1", "model": "m", "error": "\x"}`, ReasonMalformed, `events: malformed: field "error" at offset 36: invalid escape in string`)
	f(`{"id": "1", "model": "m", "error": "a`, ReasonMalformed, "")
	f(`{"id": "1", "model": "m", "error": tru}`, ReasonMalformed, "")
	f(`{"id": "1", "model": "m", "features": {"a": {"b": 1}}}`, ReasonWrongType, "")
	f(`{"model": "m"}`, ReasonMissingID, `events: missing_id: field "id" at offset 0: missing or empty`)
	f(`{"id": "1"}`, ReasonMissingModel, "")
	f(`{"id": "1", "model": "m", "ts": "yesterday"}`, ReasonBadTimestamp, "")
	f(`{"id": "1", "model": "m", "ts": true}`, ReasonBadTimestamp, "")
	f(`{"id": "1", "model": "m", "x": 01}`, ReasonMalformed, "")
	f(`{"id": "1", "model": "m", "x": `+strings.Repeat("[", 100)+strings.Repeat("]", 100)+`}`, ReasonMalformed, "")
	f(`{"id": "1\u0001", "model": "m"}`, ReasonMalformed, "")
	// A model is a name: a number is the wrong type, not an unknown model.
	f(`{"id": "1", "model": 42}`, ReasonWrongType, `events: wrong_type: field "model" at offset 21: expected a string, got a number`)
	f(`{"id": "1", "model": -4.5e1, "version": "v"}`, ReasonWrongType, "")
	f(`{"id": "1", "model": -x}`, ReasonMalformed, "")
}

// A numeric id (or version) is taken as its text, as the README says.
func TestNumericIDIsItsText(t *testing.T) {
	e, err := decode(t, `{"id": 12345, "model": "m", "version": 2, "label": 1}`)
	if err != nil || e.ID != "12345" || e.Version != "2" {
		t.Fatalf("numeric id and version: %+v, %v", e, err)
	}
	if e, err := decode(t, `{"id": 1.50, "model": "m"}`); err != nil || e.ID != "1.50" {
		t.Fatalf("id keeps the producer's text: %q, %v", e.ID, err)
	}
}

// The scanner accepts only valid JSON, accepts every valid event object
// encoding/json reads the same way, and agrees with it on the values.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{
		`{"id":"p1","model":"m","ts":"2026-01-02T03:04:05Z","features":{"a":1.5,"b":"x","c":null,"d":false},"score":0.5}`,
		`{"id":"a\"b\\u00e9","model":"m","scores":{"x":1e-3}}`, `{"id":1,"model":"m","label":true}`, `[]`, `{"id":"1","model":"m","x":[{}]}`,
		`{"id":"e","model":"m","error":"timeout"}`, `{"id":"e","model":"m","error":"\u00e9","error":null}`, `{"id":"e","model":"m","error":0.0}`,
		`{"id":"e","model":"m","error":false,"Error":true}`, `{"id":"e","model":"m","error":[1]}`,
		`{"id":"n","model":"m","features":{"a":-0,"b":0.1,"c":123456789012345678901,"d":1e-5,"e":9007199254740993,"f":-0.0000000000000000000001,"g":0.30000000000000004,"h":1E+2}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		var e Event
		err := NewJSONDecoder(DefaultFields).Decode(msg, &e)
		if err == nil && !json.Valid(msg) {
			t.Fatalf("accepted invalid JSON %q", msg)
		}
		if err != nil && ReasonOf(err) == ReasonMalformed && json.Valid(msg) {
			var top any
			_ = json.Unmarshal(msg, &top)
			if _, isObject := top.(map[string]any); isObject && !strings.Contains(err.Error(), "nested too deeply") {
				t.Fatalf("rejected valid JSON object %q as malformed: %v", msg, err)
			}
		}
		if err != nil {
			return
		}
		var ref struct {
			ID       any            `json:"id"`
			Model    any            `json:"model"`
			Features map[string]any `json:"features"`
		}
		if json.Unmarshal(msg, &ref) != nil {
			return // duplicate keys of other types: encoding/json keeps the last
		}
		if s, ok := ref.Model.(string); ok && s != e.Model && !strings.Contains(string(msg), `"model"`+`:`) {
			t.Fatalf("model %q vs %q", e.Model, s)
		}
		if ref.Features != nil && len(e.Features) < len(ref.Features) {
			t.Fatalf("features %d vs %d", len(e.Features), len(ref.Features))
		}
		// The error flag as encoding/json sees the last "error" key (a map,
		// not a struct field: those match keys case-insensitively).
		var top map[string]any
		if json.Unmarshal(msg, &top) != nil {
			return
		}
		var wantErr bool
		v, wantHas := top["error"]
		switch v := v.(type) {
		case nil:
			wantHas = false
		case bool:
			wantErr = v
		case string:
			wantErr = v != ""
		case float64:
			wantErr = v != 0
		default:
			t.Fatalf("accepted error field %v", v)
		}
		if e.Error != wantErr || e.HasError != wantHas {
			t.Fatalf("error %v %v, encoding/json %v (%v)", e.Error, e.HasError, wantErr, v)
		}
		// Numbers are strconv's bits (encoding/json keeps a key's last value).
		last := map[string]Value{}
		for _, v := range e.Features {
			last[v.Name] = v
		}
		for name, want := range ref.Features {
			if w, ok := want.(float64); ok && math.Float64bits(last[name].Num) != math.Float64bits(w) {
				t.Fatalf("feature %q: %v, encoding/json %v", name, last[name].Num, w)
			}
		}
	})
}

func BenchmarkDecodeJSON(b *testing.B) {
	benchDecode(b, `{"id":"p-000123","model":"credit","version":"v2","ts":1763805600000,"features":{"age":42,"income":51000.5,"debt_ratio":0.31,"credit_lines":4,"utilization":0.42,"months_employed":60,"late":0,"loan":25000,"home":"RENT","purpose":"car","region":"north"},"prediction":"0","score":0.17,"latency_ms":3.2}`)
}

// BenchmarkDecodeJSONWide is a message of bench/stream's workload: 17
// numeric and 3 categorical features.
func BenchmarkDecodeJSONWide(b *testing.B) {
	benchDecode(b, `{"id":"p2","model":"m","version":"v1","ts":1795410680925,"features":{"f0":-0.5767,"f1":2.2975,"f2":3.1566,"f3":3.7383,"f4":2.3886,"f5":12.2925,"f6":2.3681,"f7":6.8974,"f8":-9.1367,"f9":7.035,"f10":-14.8491,"f11":6.4736,"f12":5.562,"f13":19.5427,"f14":10.6368,"f15":17.7013,"f16":18.2809,"c0":"gamma","c1":"delta","c2":"gamma"},"score":0.0204,"latency_ms":14}`)
}

func benchDecode(b *testing.B, text string) {
	msg := []byte(text)
	var e Event
	dec := NewJSONDecoder(DefaultFields)
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if err := dec.Decode(msg, &e); err != nil {
			b.Fatal(err)
		}
	}
}
