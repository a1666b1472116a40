// Command power measures the detection-power table in the README: it
// calibrates a synthetic 20-feature model for a false-alarm budget at each
// window size, checks the false-alarm rate on a new seed, and simulates
// each shift. Run from the repository root:
//
//	go run ./calibrate/cmd/power [-windows 1000,10000,100000] [-shifts mean:0.1,share:b:0.05] [-json FILE]
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"

	"driftwatch/calibrate"
)

func main() { os.Exit(run()) }

func run() int {
	opt := calibrate.DefaultTable()
	windows := flag.String("windows", "1000,10000,100000", "window sizes in events")
	shifts := flag.String("shifts", "mean:0.05,mean:0.1,mean:0.25,variance:1.2,share:b:0.05", "shifts: mean:SIGMAS, variance:FACTOR, share:CATEGORY:POINTS")
	jsonOut := flag.String("json", "", "also write the table as JSON (the tests' calibrate/testdata/power.json)")
	flag.Float64Var(&opt.Rate, "rate", opt.Rate, "events per second")
	flag.IntVar(&opt.Sims, "sims", opt.Sims, "simulated drifts per row")
	flag.Float64Var(&opt.Alerts, "alerts", opt.Alerts, "false alerts the calibration simulates")
	flag.Parse()
	opt.Windows, opt.Shifts = nil, nil
	for _, w := range strings.Split(*windows, ",") {
		n, err := strconv.Atoi(w)
		if err != nil || n <= 0 {
			fmt.Fprintf(os.Stderr, "power: bad window %q\n", w)
			return 2
		}
		opt.Windows = append(opt.Windows, n)
	}
	for _, s := range strings.Split(*shifts, ",") {
		sh, err := calibrate.ParseShift(s)
		if err != nil {
			fmt.Fprintln(os.Stderr, "power:", err)
			return 2
		}
		opt.Shifts = append(opt.Shifts, sh)
	}
	t, err := calibrate.MeasureTable(opt, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "power:", err)
		return 1
	}
	fmt.Printf("Model: 16 numeric N(0,1) and 4 categorical (40/25/15/12/8 %%) features, %d reference rows; %g events/s; "+
		"rules on psi, ks and chi_square_p with threshold: auto, budget %s per model (population null); %d simulations per row.\n\n",
		opt.Rows, opt.Rate, opt.Budget, opt.Sims)
	t.Markdown(os.Stdout)
	fmt.Println()
	t.Summary(os.Stdout)
	if *jsonOut != "" {
		data, err := json.MarshalIndent(t, "", " ")
		if err == nil {
			err = os.WriteFile(*jsonOut, append(data, '\n'), 0o644)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "power:", err)
			return 1
		}
	}
	return 0
}
