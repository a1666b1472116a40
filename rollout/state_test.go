package rollout

import (
	"math/rand/v2"
	"reflect"
	"testing"
)

// randomArm fills every counter, leaving some histograms nil.
func randomArm(r *rand.Rand) Arm {
	var a Arm
	for _, x := range a.scalars() {
		*x = float64(r.IntN(1000)) + r.Float64()
	}
	for i, h := range a.histograms() {
		if r.IntN(4) == 0 {
			continue
		}
		*h = make([]float64, histogramLens[i])
		for range 20 {
			(*h)[r.IntN(histogramLens[i])] += float64(r.IntN(50))
		}
	}
	return a
}

func TestArmStateRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 50 {
		a := randomArm(r)
		data := append(a.AppendState(nil), 7, 8)
		var b Arm
		rest, err := b.RestoreState(data)
		if err != nil {
			t.Fatal(err)
		}
		if string(rest) != "\x07\x08" {
			t.Fatalf("rest %q", rest)
		}
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("restored %+v\nwant %+v", b, a)
		}
		// Every truncation is an error, never a panic, and leaves b alone.
		for n := range len(data) - 2 {
			c := b
			if _, err := c.RestoreState(data[:n]); err == nil {
				t.Fatalf("truncated to %d of %d bytes: no error", n, len(data)-2)
			}
			if !reflect.DeepEqual(c, b) {
				t.Fatalf("a failed restore changed the arm")
			}
		}
	}
}

func TestArmStateRejectsWrongLength(t *testing.T) {
	a := Arm{Latency: make([]float64, LatencyBuckets)}
	a.Latency[3] = 1
	data := a.AppendState(nil)
	// The latency histogram's length sits right after the 16 scalars.
	data[16*8]++ // a length of LatencyBuckets+1: varint 603 → 604 in its first byte
	var b Arm
	if _, err := b.RestoreState(data); err == nil {
		t.Fatal("a histogram of the wrong length was accepted")
	}
}
