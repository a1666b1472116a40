package alerting

import (
	"encoding/csv"
	"math/rand/v2"
	"os"
	"testing"
)

// The default AccuracyDrop thresholds hold on the bundled example model
// while nothing changes: over windows of the rule's min_samples outcomes
// drawn from its reference (accuracy 0.805), at most 5% reach the warning
// and almost none the critical level. A warning of 0.8 flapped: about half
// of such windows reached it.
func TestDefaultAccuracyDropHoldsOnTheExampleModel(t *testing.T) {
	f, err := os.Open("../examples/reference.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, name := range rows[0] {
		col[name] = i
	}
	var correct []bool
	for _, r := range rows[1:] {
		correct = append(correct, r[col["default"]] == r[col["prediction"]])
	}
	var rule *Rule
	for _, r := range DefaultConfig().Rules {
		if r.Name == "AccuracyDrop" {
			rule = &r
		}
	}
	if rule == nil || rule.Warning == nil || rule.Critical == nil || rule.MinSamples <= 0 {
		t.Fatalf("no default AccuracyDrop rule with both levels and min_samples: %+v", rule)
	}
	rng := rand.New(rand.NewPCG(22, 11))
	const windows = 4000
	warn, crit := 0, 0
	for range windows {
		ok := 0
		for range rule.MinSamples {
			if correct[rng.IntN(len(correct))] {
				ok++
			}
		}
		acc := float64(ok) / float64(rule.MinSamples)
		if acc <= *rule.Warning {
			warn++
		}
		if acc <= *rule.Critical {
			crit++
		}
	}
	t.Logf("%d of %d windows reach the warning %v, %d the critical %v", warn, windows, *rule.Warning, crit, *rule.Critical)
	if float64(warn) > 0.05*windows || float64(crit) > 0.002*windows {
		t.Fatalf("of %d windows of %d outcomes at the example's accuracy, %d reach the warning %v and %d the critical %v",
			windows, rule.MinSamples, warn, *rule.Warning, crit, *rule.Critical)
	}
}
