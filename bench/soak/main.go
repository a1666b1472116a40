// Command soak runs driftwatch's demo (the service on the embedded broker,
// fed by the demo's producer at a fixed rate) for a long time and samples
// the process every 10 s: resident memory, Go heap after a forced GC,
// goroutines and open file descriptors. After the warm-up it takes each
// one's Theil–Sen slope (the median of the pairwise slopes) and prints it per
// 10 minutes against
// the goals (heap after GC ≤ 1 MB per 10 minutes, goroutines and
// descriptors flat: within ±2 per 10 minutes). With -broker process the broker runs in a child
// process (the same embedded broker, with the same retention) that samples
// itself the same way, so the service's own memory is measured without the
// broker's log in it.
//
// It is a benchmark, not a test: `make test` does not run it. It measures;
// the statistics, the service and the broker are other packages'.
//
//	go run ./bench/soak                      # 30 minutes, embedded broker, retention defaults
//	go run ./bench/soak -smoke               # 3 minutes, 90 s warm-up, small byte caps
//	go run ./bench/soak -smoke -broker process
//	go run ./bench/soak -report samples.jsonl -warmup 90s   # the summary again, from -json samples
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"driftwatch/broker"
	"driftwatch/config"
	"driftwatch/demo"
)

// Sample is one measurement of one process.
type Sample struct {
	At         time.Duration `json:"at_ns"` // since the start
	RSS        int64         `json:"rss"`   // bytes
	HeapAfter  int64         `json:"heap_after_gc"`
	Goroutines int           `json:"goroutines"`
	FDs        int           `json:"fds"`
}

type brokerMode string

const (
	embedded brokerMode = "embedded"
	process  brokerMode = "process"
)

func main() {
	var (
		duration, warmup, every, retTime time.Duration
		rate                             int
		smoke                            bool
		mode, role, out                  string
		bytes, maxBytes                  int64
	)
	d := config.Default().Kafka.Embedded.Retention
	flag.DurationVar(&duration, "duration", 30*time.Minute, "how long to run")
	flag.DurationVar(&warmup, "warmup", 15*time.Minute, "samples before this are left out of the slopes")
	flag.DurationVar(&every, "every", 10*time.Second, "sampling interval")
	flag.IntVar(&rate, "rate", 500, "demo events per second per model (three models)")
	flag.BoolVar(&smoke, "smoke", false, "3 minutes, 90 s warm-up, bytes 4 MiB, max_bytes 16 MiB (caps reached within the warm-up)")
	flag.StringVar(&mode, "broker", string(embedded), "embedded (in the service's process) or process (a child process)")
	flag.Int64Var(&bytes, "retention-bytes", d.Bytes, "kafka.embedded.retention.bytes")
	flag.Int64Var(&maxBytes, "retention-max-bytes", d.MaxBytes, "kafka.embedded.retention.max_bytes")
	// The demo's windows are 2m with 1m lateness: the default time is
	// those plus the 10m margin. The child broker cannot read the demo's
	// configuration, so it is given the same value.
	flag.DurationVar(&retTime, "retention-time", 13*time.Minute, "retention time of a child broker")
	flag.StringVar(&out, "json", "", "write every sample here as JSON lines")
	flag.StringVar(&role, "role", "", "internal: broker runs the child broker")
	var saved string
	flag.StringVar(&saved, "report", "", "print the summary of samples saved with -json, and run nothing")
	flag.Parse()
	if smoke {
		duration, warmup, bytes, maxBytes = 3*time.Minute, 90*time.Second, 4<<20, 16<<20
	}
	ret := config.Retention{Time: retTime, Bytes: bytes, MaxBytes: maxBytes, Interval: d.Interval}
	var err error
	switch {
	case saved != "":
		err = reportSaved(saved, warmup)
	case role == "broker":
		err = runBroker(ret, every)
	case brokerMode(mode) != embedded && brokerMode(mode) != process:
		err = fmt.Errorf("soak: -broker must be embedded or process, got %q", mode)
	case warmup >= duration:
		err = fmt.Errorf("soak: -warmup %s must be shorter than -duration %s", warmup, duration)
	default:
		err = run(brokerMode(mode), duration, warmup, every, rate, ret, out)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// sample measures this process; the forced GC makes the heap figure the
// live heap.
func sample(start time.Time) Sample {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	s := Sample{At: time.Since(start), HeapAfter: int64(ms.HeapAlloc), Goroutines: runtime.NumGoroutine()}
	if fds, err := os.ReadDir("/proc/self/fd"); err == nil {
		s.FDs = len(fds) - 1 // the ReadDir's own descriptor
	}
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
				kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
				s.RSS = kb << 10
			}
		}
	}
	return s
}

// runBroker is the child: the embedded broker with the service's topics and
// retention, its address on the first stdout line, then one sample per
// line, until stdin closes or a signal arrives.
func runBroker(r config.Retention, every time.Duration) error {
	c := config.Default()
	br := r.Broker(c.Kafka.Group, c.Topics.Predictions, c.Topics.Outcomes)
	br.Log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	b, err := broker.Start(broker.Options{Addr: "127.0.0.1:0", Partitions: 1, Retention: br,
		Topics: []string{c.Topics.Predictions, c.Topics.Outcomes, c.Topics.DeadLetters}})
	if err != nil {
		return err
	}
	defer b.Close()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		io.Copy(io.Discard, os.Stdin)
		stop()
	}()
	fmt.Printf("addr %s\n", b.Addrs()[0])
	start := time.Now()
	tick := time.NewTicker(every)
	defer tick.Stop()
	enc := json.NewEncoder(os.Stdout)
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			if err := enc.Encode(sample(start)); err != nil {
				return err
			}
		}
	}
}

func run(mode brokerMode, duration, warmup, every time.Duration, rate int, ret config.Retention, out string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var (
		child     *exec.Cmd
		childMu   sync.Mutex
		childSamp []Sample
		childDone = make(chan struct{})
		brokers   []string
	)
	if mode == process {
		exe, err := os.Executable()
		if err != nil {
			return err
		}
		child = exec.Command(exe, "-role", "broker", "-every", every.String(), "-retention-time", ret.Time.String(),
			"-retention-bytes", strconv.FormatInt(ret.Bytes, 10), "-retention-max-bytes", strconv.FormatInt(ret.MaxBytes, 10))
		child.Stderr = os.Stderr
		stdin, err := child.StdinPipe() // closed when this process ends: the child stops
		if err != nil {
			return err
		}
		defer stdin.Close()
		stdout, err := child.StdoutPipe()
		if err != nil {
			return err
		}
		if err := child.Start(); err != nil {
			return err
		}
		defer child.Wait()
		sc := bufio.NewScanner(stdout)
		if !sc.Scan() {
			return fmt.Errorf("soak: the broker process said nothing: %v", sc.Err())
		}
		addr, ok := strings.CutPrefix(sc.Text(), "addr ")
		if !ok {
			return fmt.Errorf("soak: the broker process said %q", sc.Text())
		}
		brokers = []string{addr}
		go func() {
			defer close(childDone)
			for sc.Scan() {
				var s Sample
				if json.Unmarshal(sc.Bytes(), &s) == nil {
					childMu.Lock()
					childSamp = append(childSamp, s)
					childMu.Unlock()
				}
			}
		}()
	} else {
		close(childDone)
	}

	var resolved config.Retention
	opt := demo.Options{Duration: duration, DriftAt: duration / 3, Rate: rate, HTTPAddr: "127.0.0.1:0", Out: io.Discard,
		Tune: func(c *config.Config) {
			if len(brokers) > 0 {
				c.Kafka.Brokers = brokers
			}
			c.Kafka.Embedded.Retention.Bytes = ret.Bytes
			c.Kafka.Embedded.Retention.MaxBytes = ret.MaxBytes
			resolved = c.Kafka.Embedded.Retention
		}}
	type result struct {
		sum *demo.Summary
		err error
	}
	done := make(chan result, 1)
	start := time.Now()
	go func() {
		s, err := demo.Run(ctx, opt)
		done <- result{s, err}
	}()

	var w io.Writer = io.Discard
	if out != "" {
		f, err := os.Create(out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	enc := json.NewEncoder(w)
	fmt.Printf("soak: %s broker, %d events/s per model for %s, warm-up %s, a sample every %s\n", mode, rate, duration, warmup, every)
	fmt.Printf("%8s %9s %10s %10s %5s", "t", "rss_MB", "heap_MB", "goroutines", "fds")
	if mode == process {
		fmt.Printf("   broker: %7s %8s %5s %4s", "rss_MB", "heap_MB", "gor", "fds")
	}
	fmt.Println()
	var samples []Sample
	tick := time.NewTicker(every)
	defer tick.Stop()
	var res result
loop:
	for {
		select {
		case res = <-done:
			break loop
		case <-tick.C:
			s := sample(start)
			samples = append(samples, s)
			enc.Encode(struct {
				Process string `json:"process"`
				Sample
			}{"service", s})
			fmt.Printf("%8s %9.1f %10.1f %10d %5d", s.At.Round(time.Second), mb(s.RSS), mb(s.HeapAfter), s.Goroutines, s.FDs)
			if mode == process {
				childMu.Lock()
				if n := len(childSamp); n > 0 {
					c := childSamp[n-1]
					fmt.Printf("   broker: %7.1f %8.1f %5d %4d", mb(c.RSS), mb(c.HeapAfter), c.Goroutines, c.FDs)
				}
				childMu.Unlock()
			}
			fmt.Println()
		}
	}
	if res.err != nil {
		return res.err
	}
	fmt.Printf("retention: time %s, bytes %d, max_bytes %d, interval %s\n", resolved.Time, resolved.Bytes, resolved.MaxBytes, resolved.Interval)
	fmt.Printf("demo: produced %d events, processed %d; %d outcomes, %d joined\n",
		res.sum.EventsProduced, res.sum.EventsProcessed, res.sum.OutcomesProduced, res.sum.OutcomesJoined)
	report("service", samples, warmup)
	if child != nil {
		child.Process.Signal(syscall.SIGTERM)
		<-childDone
		childMu.Lock()
		for _, s := range childSamp {
			enc.Encode(struct {
				Process string `json:"process"`
				Sample
			}{"broker", s})
		}
		report("broker", childSamp, warmup)
		childMu.Unlock()
	}
	return nil
}

// reportSaved prints the summary of each process's samples in a -json file.
func reportSaved(path string, warmup time.Duration) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	byProc := map[string][]Sample{}
	var order []string
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		var s struct {
			Process string `json:"process"`
			Sample
		}
		if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
			return fmt.Errorf("soak: %s:%d: %w", path, line, err)
		}
		if _, ok := byProc[s.Process]; !ok {
			order = append(order, s.Process)
		}
		byProc[s.Process] = append(byProc[s.Process], s.Sample)
	}
	if err := sc.Err(); err != nil {
		return err
	}
	for _, p := range order {
		report(p, byProc[p], warmup)
	}
	return nil
}

func mb(b int64) float64 { return float64(b) / 1e6 }

// report prints the slopes per 10 minutes after the warm-up and the goals.
func report(name string, all []Sample, warmup time.Duration) {
	var s []Sample
	for _, x := range all {
		if x.At >= warmup {
			s = append(s, x)
		}
	}
	if len(s) < 3 {
		fmt.Printf("%s: %d samples after the warm-up, too few for a slope\n", name, len(s))
		return
	}
	field := func(f func(Sample) float64) (slope, lo, hi float64) {
		var xs, ys []float64
		lo, hi = math.Inf(1), math.Inf(-1)
		for _, x := range s {
			y := f(x)
			xs, ys = append(xs, x.At.Minutes()/10), append(ys, y)
			lo, hi = min(lo, y), max(hi, y)
		}
		return theilSen(xs, ys), lo, hi
	}
	heap, hlo, hhi := field(func(x Sample) float64 { return mb(x.HeapAfter) })
	rss, rlo, rhi := field(func(x Sample) float64 { return mb(x.RSS) })
	gor, glo, ghi := field(func(x Sample) float64 { return float64(x.Goroutines) })
	fds, flo, fhi := field(func(x Sample) float64 { return float64(x.FDs) })
	fmt.Printf("%s, %d samples from %s to %s:\n", name, len(s), s[0].At.Round(time.Second), s[len(s)-1].At.Round(time.Second))
	fmt.Printf("  heap after GC %6.1f..%6.1f MB, slope %+7.2f MB/10min  %s\n", hlo, hhi, heap, verdict(heap <= 1))
	fmt.Printf("  RSS           %6.1f..%6.1f MB, slope %+7.2f MB/10min\n", rlo, rhi, rss)
	fmt.Printf("  goroutines    %6.0f..%6.0f,    slope %+7.2f /10min      %s\n", glo, ghi, gor, verdict(math.Abs(gor) <= 2))
	fmt.Printf("  open fds      %6.0f..%6.0f,    slope %+7.2f /10min      %s\n", flo, fhi, fds, verdict(math.Abs(fds) <= 2))
}

func verdict(ok bool) string {
	if ok {
		return "goal met"
	}
	return "GOAL MISSED"
}

// theilSen is the median of the slopes between every pair of points: one
// sample taken mid-compaction or with a burst of connections open moves it
// little, where it would tilt a least-squares line over a short run.
func theilSen(xs, ys []float64) float64 {
	// Past 400 points (over an hour at 10 s) every k-th is used, so the
	// pairs stay below 80,000 however long the run.
	if k := (len(xs) + 399) / 400; k > 1 {
		var tx, ty []float64
		for i := 0; i < len(xs); i += k {
			tx, ty = append(tx, xs[i]), append(ty, ys[i])
		}
		xs, ys = tx, ty
	}
	var slopes []float64
	for i := range xs {
		for j := i + 1; j < len(xs); j++ {
			if xs[j] != xs[i] {
				slopes = append(slopes, (ys[j]-ys[i])/(xs[j]-xs[i]))
			}
		}
	}
	if len(slopes) == 0 {
		return 0
	}
	slices.Sort(slopes)
	m := len(slopes) / 2
	if len(slopes)%2 == 1 {
		return slopes[m]
	}
	return (slopes[m-1] + slopes[m]) / 2
}
