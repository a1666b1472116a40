// Command gen writes the end-to-end benchmark data: a reference and a
// current CSV of N rows × F numeric features with six decimals, drawn from a
// mix of distributions, the current one drifted in three features.
//
//	go run ./bench/gen -rows 1000000 -features 10 -out bench/data
package main

import (
	"bufio"
	"flag"
	"fmt"
	"log"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
)

func main() {
	rows := flag.Int("rows", 1_000_000, "rows per file")
	features := flag.Int("features", 10, "numeric features")
	out := flag.String("out", "bench/data", "output directory")
	flag.Parse()
	if err := os.MkdirAll(*out, 0o755); err != nil {
		log.Fatal(err)
	}
	write(filepath.Join(*out, "reference.csv"), *rows, *features, false, 1)
	write(filepath.Join(*out, "current.csv"), *rows, *features, true, 2)
}

// value draws feature f; drift shifts features 0 (mean), 3 (variance) and 6
// (a mixture component).
func value(r *rand.Rand, f int, drift bool) float64 {
	switch f % 5 {
	case 0:
		x := 50 + 10*r.NormFloat64()
		if drift && f == 0 {
			x += 1
		}
		return x
	case 1:
		return math.Exp(3 + 0.5*r.NormFloat64())
	case 2:
		return r.Float64() * 100
	case 3:
		s := 1.0
		if drift && f == 3 {
			s = 1.2
		}
		return r.ExpFloat64() * 20 * s
	default:
		x := float64(r.IntN(20))
		if drift && f == 6 && r.IntN(10) == 0 {
			x = 25 + float64(r.IntN(5))
		}
		return x
	}
}

func write(path string, rows, features int, drift bool, seed uint64) {
	f, err := os.Create(path)
	if err != nil {
		log.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	for i := range features {
		if i > 0 {
			w.WriteByte(',')
		}
		fmt.Fprintf(w, "f%d", i)
	}
	w.WriteByte('\n')
	r := rand.New(rand.NewPCG(seed, 42))
	buf := make([]byte, 0, 32)
	for range rows {
		for i := range features {
			if i > 0 {
				w.WriteByte(',')
			}
			buf = strconv.AppendFloat(buf[:0], value(r, i, drift), 'f', 6, 64)
			w.Write(buf)
		}
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		log.Fatal(err)
	}
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
}
