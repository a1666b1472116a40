package join

import (
	"runtime"
	"strconv"
	"testing"
	"time"
)

// benchIDs are ids as a model server writes them.
func benchIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = "p" + strconv.Itoa(i)
	}
	return ids
}

// BenchmarkAddPrediction registers predictions into a join that starts
// empty, as a partition does after it is assigned: growth included.
func BenchmarkAddPrediction(b *testing.B) {
	ids := benchIDs(1 << 16)
	p := Prediction{Version: "v1", Class: "1", Score: 0.7, HasScore: true}
	now := time.Unix(1e9, 0)
	for b.Loop() {
		j := New(1_000_000, time.Hour, 10_000, time.Minute)
		for i, id := range ids {
			p.TS = int64(i)
			j.AddPrediction(id, p, now)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(ids)), "ns/prediction")
}

// BenchmarkSteady holds 100,000 pending predictions; each op adds one and
// joins the outcome of one 50,000 predictions older.
func BenchmarkSteady(b *testing.B) {
	const held = 100_000
	ids := benchIDs(1 << 20)
	p := Prediction{Version: "v1", Class: "1", Score: 0.7, HasScore: true}
	now := time.Unix(1e9, 0)
	j := New(held, time.Hour, 10_000, time.Minute)
	for i := range held {
		j.AddPrediction(ids[i], p, now)
	}
	i := held
	for b.Loop() {
		j.AddPrediction(ids[i&(len(ids)-1)], p, now)
		j.AddOutcome(ids[(i-held/2)&(len(ids)-1)], Outcome{Label: "1"}, now)
		i++
	}
}

// BenchmarkGCWithPending is a full garbage collection while a join holds a
// million pending predictions: what the join costs every GC cycle of a
// service whose models wait long for their outcomes.
func BenchmarkGCWithPending(b *testing.B) {
	ids := benchIDs(1_000_000)
	now := time.Unix(1e9, 0)
	j := New(len(ids), time.Hour, 10_000, time.Minute)
	for i, id := range ids {
		j.AddPrediction(id, Prediction{Version: "v1", TS: int64(i), Class: strconv.Itoa(i % 2), Score: 0.7, HasScore: true}, now)
	}
	ids = nil
	runtime.GC()
	for b.Loop() {
		runtime.GC()
	}
	runtime.KeepAlive(j)
}
