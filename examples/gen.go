//go:build ignore

// gen writes the bundled example data: a credit-scoring model's training
// sample (reference.csv) and a later production sample (current.csv) in
// which income fell, utilization rose, a new loan purpose appeared and the
// model's accuracy dropped. Run: go run examples/gen.go (from the repo root).
package main

import (
	"encoding/csv"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
)

func main() {
	write("examples/reference.csv", 5000, false, rand.New(rand.NewPCG(1, 2)))
	write("examples/current.csv", 2000, true, rand.New(rand.NewPCG(3, 4)))
}

func write(path string, n int, drift bool, r *rand.Rand) {
	f, err := os.Create(path)
	if err != nil {
		panic(err)
	}
	w := csv.NewWriter(f)
	w.Write([]string{"age", "income", "debt_ratio", "credit_lines", "utilization", "months_employed",
		"late_payments_90d", "loan_amount", "home_ownership", "purpose", "region", "default", "score", "prediction"})
	purposes := []string{"car", "debt_consolidation", "education", "home_improvement", "medical", "small_business"}
	regions := []string{"north", "south", "east", "west"}
	homes := []string{"MORTGAGE", "OWN", "RENT"}
	f2 := func(x float64) string { return strconv.FormatFloat(x, 'f', 2, 64) }
	for range n {
		age := math.Round(math.Max(18, 42+12*r.NormFloat64()))
		income := math.Exp(10.8 + 0.5*r.NormFloat64())
		util := math.Min(1, math.Max(0, 0.35+0.2*r.NormFloat64()))
		if drift {
			income *= 0.75
			util = math.Min(1, util+0.15)
		}
		debt := math.Max(0, 0.3+0.15*r.NormFloat64())
		lines := float64(r.IntN(15) + 1)
		months := math.Round(math.Max(0, 60+40*r.NormFloat64()))
		late := float64(r.IntN(10) / 7)
		loan := math.Round(math.Exp(9.5 + 0.6*r.NormFloat64()))
		purpose := purposes[r.IntN(len(purposes))]
		if drift && r.Float64() < 0.08 {
			purpose = "crypto"
		}
		z := -3 + 2.5*util + 1.5*debt + 0.8*late - 0.00001*(income-50000) - 0.01*(age-40)
		p := 1 / (1 + math.Exp(-z))
		y := 0
		if r.Float64() < p {
			y = 1
		}
		score := p
		if drift {
			// The world changed under the model: its scores lag reality.
			score = 1 / (1 + math.Exp(-(z - 1.2 + 0.8*r.NormFloat64())))
		}
		pred := 0
		if score >= 0.5 {
			pred = 1
		}
		ageS := f2(age)
		if r.Float64() < 0.01 {
			ageS = "" // a few missing values, as in real exports
		}
		w.Write([]string{ageS, f2(income), f2(debt), f2(lines), f2(util), f2(months), f2(late), f2(loan),
			homes[r.IntN(3)], purpose, regions[r.IntN(4)], strconv.Itoa(y), strconv.FormatFloat(score, 'f', 4, 64), strconv.Itoa(pred)})
	}
	w.Flush()
	if err := f.Close(); err != nil {
		panic(err)
	}
	fmt.Println("wrote", path)
}
