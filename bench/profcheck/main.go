// Command profcheck profiles `driftwatch check` on the bench/e2e.sh data,
// since the CLI has no -cpuprofile flag. It runs the same steps as
// `driftwatch check --reference REF --current CUR` (cli/check.go), times
// each step, and writes a CPU profile of all iterations:
//
//	go run ./bench/profcheck -n 5 -cpuprofile bench/data/check.prof
//	go tool pprof -top bench/data/check.prof
//
// Steps: read the reference CSV (dataset.Read), build the profile
// (profile.Build), read the current CSV with the reference's kinds, compare
// (detectors.Compare), write the JSON report (report.Write). With -cli it
// instead calls cli.Main, the exact code path of the binary, and reports
// only the total. Steps are timed in wall and CPU time (user + system): their
// ratio is how many of the cores a step kept busy. -trace writes an
// execution trace for go tool trace.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"slices"
	"syscall"
	"time"

	"driftwatch/cli"
	"driftwatch/dataset"
	"driftwatch/detectors"
	"driftwatch/profile"
	"driftwatch/report"
)

func main() {
	ref := flag.String("reference", "bench/data/reference.csv", "reference CSV")
	cur := flag.String("current", "bench/data/current.csv", "current CSV")
	n := flag.Int("n", 5, "iterations")
	cpu := flag.String("cpuprofile", "", "write a CPU profile of all iterations to this file")
	tr := flag.String("trace", "", "write an execution trace of all iterations to this file (go tool trace)")
	viaCLI := flag.Bool("cli", false, "run cli.Main (the binary's code path) instead of the separate steps")
	flag.Parse()

	if *cpu != "" {
		f, err := os.Create(*cpu)
		if err != nil {
			fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fatal(err)
		}
		defer func() {
			pprof.StopCPUProfile()
			f.Close()
		}()
	}
	if *tr != "" {
		f, err := os.Create(*tr)
		if err != nil {
			fatal(err)
		}
		if err := trace.Start(f); err != nil {
			fatal(err)
		}
		defer func() {
			trace.Stop()
			f.Close()
		}()
	}
	steps := []string{"read reference", "build profile", "read current", "compare", "write report", "total"}
	times := make([][]time.Duration, len(steps))
	cpus := make([][]time.Duration, len(steps))
	for i := range *n {
		runtime.GC() // start every iteration from the same heap
		var d, c []time.Duration
		if *viaCLI {
			t0, c0 := time.Now(), cpuTime()
			code := cli.Main([]string{"check", "--reference", *ref, "--current", *cur},
				cli.Env{Stdout: io.Discard, Stderr: os.Stderr})
			if code == cli.ExitUsage {
				fatal(fmt.Errorf("check failed"))
			}
			d = []time.Duration{0, 0, 0, 0, 0, time.Since(t0)}
			c = []time.Duration{0, 0, 0, 0, 0, cpuTime() - c0}
		} else {
			d, c = runSteps(*ref, *cur)
		}
		for s := range d {
			times[s] = append(times[s], d[s])
			cpus[s] = append(cpus[s], c[s])
		}
		fmt.Fprintf(os.Stderr, "iteration %d: %v\n", i+1, d[len(d)-1].Round(time.Millisecond))
	}
	fmt.Printf("%d iterations, GOMAXPROCS %d; median per step (wall, CPU time user + system):\n", *n, runtime.GOMAXPROCS(0))
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	for s, name := range steps {
		if *viaCLI && name != "total" {
			continue
		}
		slices.Sort(times[s])
		slices.Sort(cpus[s])
		fmt.Printf("  %-15s %8.1f ms wall %8.1f ms CPU\n", name, ms(times[s][len(times[s])/2]), ms(cpus[s][len(cpus[s])/2]))
	}
}

// cpuTime is the process's user + system time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// runSteps is cli/check.go's check for two CSVs with default flags, timed
// step by step.
func runSteps(refPath, curPath string) (wall, cpu []time.Duration) {
	t, c := time.Now(), cpuTime()
	lap := func() {
		now, cnow := time.Now(), cpuTime()
		wall, cpu = append(wall, now.Sub(t)), append(cpu, cnow-c)
		t, c = now, cnow
	}
	start, cstart := t, c
	cfg := detectors.DefaultConfig()
	rt, err := dataset.Read(refPath, dataset.Options{Kinds: map[string]dataset.Kind{}})
	if err != nil {
		fatal(err)
	}
	lap()
	p, err := profile.Build(rt, profile.Options{Bins: cfg.Bins, Exclude: map[string]bool{}})
	if err != nil {
		fatal(err)
	}
	lap()
	kinds := map[string]dataset.Kind{}
	for _, f := range p.Features {
		if f.Kind == profile.Numeric {
			kinds[f.Name] = dataset.KindNumeric
		} else {
			kinds[f.Name] = dataset.KindCategorical
		}
	}
	ct, err := dataset.Read(curPath, dataset.Options{Kinds: kinds})
	if err != nil {
		fatal(err)
	}
	lap()
	r := detectors.Compare(p, ct, cfg)
	lap()
	if err := report.Write(io.Discard, r, "json"); err != nil {
		fatal(err)
	}
	lap()
	return append(wall, time.Since(start)), append(cpu, cpuTime()-cstart)
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "profcheck:", err)
	os.Exit(1)
}
