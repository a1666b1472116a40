package join

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"strconv"
	"testing"
	"time"

	"driftwatch/wire"
)

// A restored join behaves as the original from then on: the same pairs,
// the same evictions in the same order, the same counters; and so does one
// restored from the same state with its pending entries out of order, as
// states written before the queue held the entries came (map order).
func TestStateContinuesExactly(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	step := func(j *Join, r *rand.Rand, now time.Time) string {
		id := fmt.Sprint("p", r.IntN(300))
		switch r.IntN(3) {
		case 0, 1:
			p, ok := j.AddPrediction(id, Prediction{Version: "v" + fmt.Sprint(r.IntN(2)), TS: r.Int64N(1000),
				Class: fmt.Sprint(r.IntN(3)), Score: r.Float64(), HasScore: r.IntN(2) == 0, Value: r.NormFloat64()}, now)
			return fmt.Sprintf("%+v %v", p, ok)
		default:
			p, ok := j.AddOutcome(id, Outcome{Label: fmt.Sprint(r.IntN(3)), Value: r.NormFloat64()}, now)
			return fmt.Sprintf("%+v %v", p, ok)
		}
	}
	for round := range 20 {
		j := New(50+round, 40*time.Second, 20, 15*time.Second)
		now := t0
		for range 400 + 37*round {
			now = now.Add(time.Duration(r.IntN(300)) * time.Millisecond)
			step(j, r, now)
		}
		data := j.AppendState(nil)
		k := New(50+round, 40*time.Second, 20, 15*time.Second)
		if _, err := k.RestoreState(data); err != nil {
			t.Fatal(err)
		}
		if round%2 == 1 {
			// Every other round continues from the shuffled state instead.
			k = New(50+round, 40*time.Second, 20, 15*time.Second)
			if _, err := k.RestoreState(shufflePending(t, data, r)); err != nil {
				t.Fatal(err)
			}
		}
		if j.Stats() != k.Stats() {
			t.Fatalf("stats %+v, restored %+v", j.Stats(), k.Stats())
		}
		seed := r.Uint64()
		rj, rk := rand.New(rand.NewPCG(seed, 1)), rand.New(rand.NewPCG(seed, 1))
		for i := range 2000 {
			now = now.Add(time.Duration(rj.IntN(300)) * time.Millisecond)
			rk.IntN(300)
			if a, b := step(j, rj, now), step(k, rk, now); a != b {
				t.Fatalf("round %d step %d: original %s, restored %s", round, i, a, b)
			}
		}
		if !reflect.DeepEqual(j.Stats(), k.Stats()) {
			t.Fatalf("after: stats %+v, restored %+v", j.Stats(), k.Stats())
		}
		for n := range len(data) {
			if _, err := New(1, time.Hour, 1, time.Hour).RestoreState(data[:n]); err == nil {
				t.Fatalf("state cut to %d of %d bytes restored without error", n, len(data))
			}
		}
	}
}

// shufflePending rewrites a state with its pending entries in random order.
func shufflePending(t *testing.T, data []byte, r *rand.Rand) []byte {
	d := wire.Reader{B: data[16:]}
	for range 6 {
		d.Uvarint()
	}
	n := d.Count()
	head := len(data) - len(d.B)
	var ents [][]byte
	for range n {
		rest := d.B
		d.Uint64()
		d.Uvarint()
		d.Varint()
		d.Bytes()
		d.Varint()
		d.Bytes()
		d.Byte()
		d.Uint64()
		d.Uint64()
		ents = append(ents, rest[:len(rest)-len(d.B)])
	}
	if d.Err != nil || n < 2 {
		t.Fatalf("state of %d pending: %v", n, d.Err)
	}
	r.Shuffle(len(ents), func(a, b int) { ents[a], ents[b] = ents[b], ents[a] })
	out := append([]byte(nil), data[:head]...)
	for _, e := range ents {
		out = append(out, e...)
	}
	return append(out, d.B...)
}

// A join at the default max_pending: what a checkpoint encodes and a
// restore decodes.
func fullJoin(n int) *Join {
	j := New(n, time.Hour, 0, time.Minute)
	now := time.Unix(1e9, 0)
	for i := range n {
		j.AddPrediction("p"+strconv.Itoa(i), Prediction{Version: "v1", TS: int64(i), Class: "1", Score: 0.7, HasScore: true}, now)
	}
	return j
}

func BenchmarkAppendState(b *testing.B) {
	j := fullJoin(1_000_000)
	var buf []byte
	b.ResetTimer()
	for b.Loop() {
		buf = j.AppendState(buf[:0])
	}
	b.ReportMetric(float64(len(buf))/1e6, "MB")
}

func BenchmarkRestoreState(b *testing.B) {
	data := fullJoin(1_000_000).AppendState(nil)
	b.ResetTimer()
	for b.Loop() {
		j := New(1_000_000, time.Hour, 0, time.Minute)
		if _, err := j.RestoreState(data); err != nil {
			b.Fatal(err)
		}
	}
}
