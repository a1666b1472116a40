// Command gen writes the data for the end-to-end benchmark (bench/e2e.sh):
// reference.csv and current.csv, each with a header f0..f{F-1} and N rows of
// F numeric features, every value formatted by
// strconv.FormatFloat(x, 'f', 6, 64).
//
//	go run ./bench/gen -rows 1000000 -features 10 -out bench/data
//
// Feature i is drawn from distribution i mod 5:
//
//	0  normal       mean 50, sd 10
//	1  lognormal    exp(3 + 0.5·Z)
//	2  uniform      [0, 100)
//	3  exponential  mean 20
//	4  discrete     integers 0..19, uniform (many ties)
//
// The current file drifts in three features (when the file has them) and
// draws every other feature from the same distribution as the reference:
//
//	f0  mean shift        normal mean 50 → 51 (0.1 sd)
//	f5  variance change   normal sd 10 → 12, same mean
//	f6  mixture           lognormal, 10% of the rows from exp(4.5 + 0.25·Z)
//
// Output is deterministic: each file has its own math/rand/v2 PCG stream
// with a fixed seed, so the same flags always write the same bytes.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
)

const (
	seedReference = 1
	seedCurrent   = 2
	seedStream    = 0x64726966 // "drif"
)

func main() {
	rows := flag.Int("rows", 1_000_000, "rows per file")
	features := flag.Int("features", 10, "numeric features per row")
	out := flag.String("out", "bench/data", "output directory")
	flag.Parse()
	if *rows < 1 || *features < 1 || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: gen [-rows N>0] [-features F>0] [-out DIR]")
		os.Exit(2)
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fatal(err)
	}
	for _, f := range []struct {
		name  string
		drift bool
		seed  uint64
	}{
		{"reference.csv", false, seedReference},
		{"current.csv", true, seedCurrent},
	} {
		if err := write(filepath.Join(*out, f.name), *rows, *features, f.drift, f.seed); err != nil {
			fatal(err)
		}
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "gen:", err)
	os.Exit(1)
}

// value draws feature f of one row; drift selects the current file's
// distributions.
func value(r *rand.Rand, f int, drift bool) float64 {
	switch f % 5 {
	case 0: // normal
		mean, sd := 50.0, 10.0
		if drift && f == 0 {
			mean = 51 // mean shift
		}
		if drift && f == 5 {
			sd = 12 // variance change
		}
		return mean + sd*r.NormFloat64()
	case 1: // lognormal
		if drift && f == 6 && r.IntN(10) == 0 {
			return math.Exp(4.5 + 0.25*r.NormFloat64()) // mixture component
		}
		return math.Exp(3 + 0.5*r.NormFloat64())
	case 2: // uniform
		return 100 * r.Float64()
	case 3: // exponential
		return 20 * r.ExpFloat64()
	default: // discrete, integer-valued
		return float64(r.IntN(20))
	}
}

func write(path string, rows, features int, drift bool, seed uint64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	for i := range features {
		if i > 0 {
			w.WriteByte(',')
		}
		w.WriteString("f" + strconv.Itoa(i))
	}
	w.WriteByte('\n')
	r := rand.New(rand.NewPCG(seed, seedStream))
	buf := make([]byte, 0, 32)
	for range rows {
		for i := range features {
			if i > 0 {
				w.WriteByte(',')
			}
			// Same bytes as strconv.FormatFloat(x, 'f', 6, 64), without
			// allocating a string per value.
			buf = strconv.AppendFloat(buf[:0], value(r, i, drift), 'f', 6, 64)
			w.Write(buf)
		}
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
