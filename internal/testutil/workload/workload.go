// Package workload is the synthetic load of the streaming benchmarks: a
// reference table and prediction events of one model version ("m"/"v1")
// with 17 numeric features f0…f16 (normal, feature f with mean f and
// standard deviation f+1) and 3 categorical ones c0…c2, a score and a
// latency, as JSON messages of one event or Arrow IPC messages of many.
// The same seed gives the same events in both formats. Producing them to a
// broker and measuring are left to the benchmarks.
package workload

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"driftwatch/dataset"
	"driftwatch/events"
	"driftwatch/profile"
)

// Features per event.
const (
	Numeric    = 17
	Categories = 3
)

var cats = []string{"alpha", "beta", "gamma", "delta"}

// WriteProfile writes the profile of 50,000 reference rows (default
// options) to path: what the benchmarks' service configurations load.
func WriteProfile(path string) error {
	prof, err := profile.Build(Reference(50_000), profile.Options{})
	if err != nil {
		return err
	}
	return prof.WriteFile(path)
}

// Reference returns n rows of the features' reference distribution.
func Reference(n int) *dataset.Table {
	r := rand.New(rand.NewPCG(1, 2))
	t := &dataset.Table{Rows: n}
	for f := range Numeric {
		c := &dataset.Column{Name: "f" + strconv.Itoa(f), Kind: dataset.KindNumeric, Num: make([]float64, n)}
		for i := range c.Num {
			c.Num[i] = r.NormFloat64()*float64(f+1) + float64(f)
		}
		t.Columns = append(t.Columns, c)
	}
	for f := range Categories {
		c := &dataset.Column{Name: "c" + strconv.Itoa(f), Kind: dataset.KindCategorical, Str: make([]string, n)}
		for i := range c.Str {
			c.Str[i] = cats[r.IntN(len(cats))]
		}
		t.Columns = append(t.Columns, c)
	}
	return t
}

// Events returns n prediction events with ids p0…p(n−1), a thousand per
// second of event time starting ten minutes before now.
func Events(n int) []events.Event {
	r := rand.New(rand.NewPCG(3, 4))
	ts := time.Now().Add(-10 * time.Minute).UnixMilli()
	evs := make([]events.Event, n)
	for i := range evs {
		ev := &evs[i]
		*ev = events.Event{ID: "p" + strconv.Itoa(i), Model: "m", Version: "v1", TS: ts + int64(i)/1000, HasTS: true,
			Features: make([]events.Value, 0, Numeric+Categories)}
		for f := range Numeric {
			ev.Features = append(ev.Features, events.Value{Name: "f" + strconv.Itoa(f), Kind: events.Number,
				Num: math.Round((r.NormFloat64()*float64(f+1)+float64(f))*1e4) / 1e4})
		}
		for f := range Categories {
			ev.Features = append(ev.Features, events.Value{Name: "c" + strconv.Itoa(f), Kind: events.String, Str: cats[r.IntN(len(cats))]})
		}
		ev.Score, ev.HasScore = math.Round(r.Float64()*1e4)/1e4, true
		ev.LatencyMS, ev.HasLatency = float64(5+r.IntN(20)), true
	}
	return evs
}

// JSON renders the events as a model server would log them, one per
// message.
func JSON(evs []events.Event) [][]byte {
	out := make([][]byte, len(evs))
	for i, ev := range evs {
		b := fmt.Appendf(nil, `{"id":%q,"model":%q,"version":%q,"ts":%d,"features":{`, ev.ID, ev.Model, ev.Version, ev.TS)
		for k, f := range ev.Features {
			if k > 0 {
				b = append(b, ',')
			}
			if f.Kind == events.Number {
				b = fmt.Appendf(b, `%q:%s`, f.Name, strconv.FormatFloat(f.Num, 'f', -1, 64))
			} else {
				b = fmt.Appendf(b, `%q:%q`, f.Name, f.Str)
			}
		}
		out[i] = fmt.Appendf(b, `},"score":%s,"latency_ms":%d}`, strconv.FormatFloat(ev.Score, 'f', -1, 64), int(ev.LatencyMS))
	}
	return out
}

// Arrow encodes the events perMessage to an IPC message.
func Arrow(evs []events.Event, perMessage int) ([][]byte, error) {
	var out [][]byte
	for len(evs) > 0 {
		k := min(perMessage, len(evs))
		msg, err := events.EncodeArrow(evs[:k], events.DefaultFields)
		if err != nil {
			return nil, err
		}
		out, evs = append(out, msg), evs[k:]
	}
	return out, nil
}
