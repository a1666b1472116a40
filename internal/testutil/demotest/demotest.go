// Package demotest runs the demo in the background for tests of other
// packages (dashboards, status page) that need a live service with data.
// It is test support: the shipped binary never links it.
package demotest

import (
	"context"
	"testing"
	"time"

	"driftwatch/demo"
)

// stopWait bounds how long the demo may take to stop at the test's end.
const stopWait = 30 * time.Second

// Start runs the demo with drift after a second at 500 events/s, stopped
// (and its error reported) by t.Cleanup. It returns the HTTP address.
func Start(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addr, done, err := demo.Start(ctx, demo.Options{Duration: 2 * time.Minute, DriftAt: time.Second, Rate: 500, HTTPAddr: "127.0.0.1:0"})
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
		case <-time.After(stopWait):
			t.Errorf("demo did not stop within %s", stopWait)
		}
	})
	return addr
}
