package cli

import (
	"bytes"
	"fmt"

	"driftwatch/dataset"
	"driftwatch/detectors"
	"driftwatch/examples"
	"driftwatch/profile"
)

// runDemo runs the batch check on the bundled credit-scoring example and
// prints the Markdown report. It exits 0 when the check ran, whatever it
// found: the demo shows the verdict, it does not gate anything.
func runDemo(args []string, env Env) (int, error) {
	format := "markdown"
	fs := newFlags("demo", env)
	fs.StringVar(&format, "format", format, "report format: json or markdown")
	if err := parse(fs, args); err != nil {
		return ExitUsage, err
	}
	o := checkOptions{Label: "default", Score: "score", Prediction: "prediction", Format: format,
		Require: []string{"roc_auc>=0.7"}}
	cfg := detectors.DefaultConfig()
	cfg.Features = map[string]detectors.FeatureConfig{}
	exclude := map[string]bool{}
	for _, c := range []string{o.Label, o.Score, o.Prediction} {
		cfg.Features[c] = detectors.FeatureConfig{Ignore: true}
		exclude[c] = true
	}
	refT, err := dataset.ReadReader(bytes.NewReader(examples.ReferenceCSV), "examples/reference.csv", "csv", dataset.Options{})
	if err != nil {
		return ExitUsage, err
	}
	ref, err := profile.Build(refT, profile.Options{Exclude: exclude})
	if err != nil {
		return ExitUsage, err
	}
	kinds := map[string]dataset.Kind{}
	for _, c := range refT.Columns {
		kinds[c.Name] = c.Kind
	}
	cur, err := dataset.ReadReader(bytes.NewReader(examples.CurrentCSV), "examples/current.csv", "csv", dataset.Options{Kinds: kinds})
	if err != nil {
		return ExitUsage, err
	}
	gates, err := parseGates(o.Require)
	if err != nil {
		return ExitUsage, err
	}
	fmt.Fprintf(env.Stderr, "driftwatch demo: checking %d current rows of a credit-scoring model against %d reference rows\n\n", cur.Rows, refT.Rows)
	if _, err := finish(ref, cur, cfg, o, gates, env); err != nil {
		return ExitUsage, err
	}
	return ExitOK, nil
}
