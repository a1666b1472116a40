package events

import (
	"strconv"
	"testing"
)

// BenchmarkDecodeArrow decodes messages of 20 float64 features, 3
// dictionary-encoded categoricals, id, model, version, ts and score.
// "misaligned" starts the message at an odd address, as a Kafka record
// value inside a fetch buffer usually does; "copied" forces the aligned
// copy made on CPUs without cheap misaligned loads.
func BenchmarkDecodeArrow(b *testing.B) {
	for _, rows := range []int{100, 1000, 10000} {
		msg, err := EncodeArrow(benchEvents(rows, 20, 3), DefaultFields)
		if err != nil {
			b.Fatal(err)
		}
		misaligned := make([]byte, len(msg)+1)[1:]
		copy(misaligned, msg)
		for _, c := range []struct {
			name     string
			msg      []byte
			alignAll bool
		}{{"aligned", msg, false}, {"misaligned", misaligned, false}, {"copied", misaligned, true}} {
			if rows != 1000 && c.name != "aligned" {
				continue
			}
			b.Run("rows="+strconv.Itoa(rows)+"/"+c.name, func(b *testing.B) {
				d := NewArrowDecoder(DefaultFields)
				d.alignAll = c.alignAll
				defer d.Close()
				var cols Columns
				b.SetBytes(int64(len(c.msg)))
				b.ReportAllocs()
				for b.Loop() {
					if err := d.Decode(c.msg, &cols); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*rows), "ns/event")
			})
		}
	}
}
