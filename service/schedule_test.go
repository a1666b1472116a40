package service

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"driftwatch/config"
)

// Each model is evaluated on its own interval, on synctest's clock.
func TestRunEvery(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		models := []config.Model{{Name: "fast", EvaluateEvery: time.Second}, {Name: "slow", EvaluateEvery: 3 * time.Second}}
		ctx, cancel := context.WithCancel(context.Background())
		counts := map[string]int{}
		done := make(chan struct{})
		go func() {
			defer close(done)
			runEvery(ctx, models, time.Now, func(due map[string]bool) {
				for m := range due {
					counts[m]++
				}
			})
		}()
		time.Sleep(9*time.Second + time.Millisecond)
		synctest.Wait()
		cancel()
		<-done
		if counts["fast"] != 9 || counts["slow"] != 3 {
			t.Fatalf("evaluations %v, want fast 9 and slow 3 in 9 s", counts)
		}
	})
}
