package demo

import (
	"context"
	"testing"
	"time"
)

// StartTest is Start for tests of other packages: the demo with drift after
// a second at 500 events/s, stopped (and its error reported) by t.Cleanup.
// It returns the HTTP address.
func StartTest(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addr, done, err := Start(ctx, Options{Duration: 2 * time.Minute, DriftAt: time.Second, Rate: 500, HTTPAddr: "127.0.0.1:0"})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("demo: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("demo did not stop within 30 s")
		}
	})
	return addr
}
