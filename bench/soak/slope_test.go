package main

import "testing"

// The slope of points on a line is the line's, with one outlier among them
// or not, and after thinning a long run.
func TestTheilSen(t *testing.T) {
	xs := []float64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
	ys := make([]float64, len(xs))
	for i, x := range xs {
		ys[i] = 3 + 0.5*x
	}
	if got := theilSen(xs, ys); got != 0.5 {
		t.Fatalf("on a line: %v", got)
	}
	ys[7] += 40 // one sample taken mid-compaction
	if got := theilSen(xs, ys); got != 0.5 {
		t.Fatalf("with an outlier: %v", got)
	}
	// Thinned past 400 points, still exact on a line.
	long := make([]float64, 1000)
	ly := make([]float64, 1000)
	for i := range long {
		long[i], ly[i] = float64(i), -2*float64(i)
	}
	if got := theilSen(long, ly); got != -2 {
		t.Fatalf("thinned: %v", got)
	}
	if theilSen([]float64{1, 1}, []float64{2, 5}) != 0 {
		t.Fatal("no spread in x")
	}
}
