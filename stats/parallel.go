package stats

import (
	"runtime"
	"sync"
)

// Parallel runs f(0), …, f(n-1) on up to GOMAXPROCS goroutines and waits.
// Columns are independent, so per-column work (sorting, binning) is the unit
// of parallelism throughout driftwatch's batch path.
func Parallel(n int, f func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	if workers <= 1 {
		for i := range n {
			f(i)
		}
		return
	}
	next := make(chan int, n)
	for i := range n {
		next <- i
	}
	close(next)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range next {
				f(i)
			}
		})
	}
	wg.Wait()
}
