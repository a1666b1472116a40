package cli

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"driftwatch/dataset"
	"driftwatch/demo"
	"driftwatch/detectors"
	"driftwatch/examples"
	"driftwatch/profile"
)

// runDemo runs the streaming demo (embedded broker, service, synthetic
// producer, drift injected at --drift-at), or with --batch the batch check
// on the bundled credit-scoring example. It exits 0 when the demo ran,
// whatever it found: the demo shows verdicts, it does not gate anything.
func runDemo(args []string, env Env) (int, error) {
	var (
		format, httpAddr, summary string
		batch                     bool
		opt                       demo.Options
	)
	fs := newFlags("demo", env)
	fs.BoolVar(&batch, "batch", false, "run the batch check on the bundled example instead")
	fs.StringVar(&format, "format", "markdown", "batch report format: json or markdown")
	fs.DurationVar(&opt.Duration, "duration", 90*time.Second, "stop after this long")
	fs.DurationVar(&opt.DriftAt, "drift-at", 30*time.Second, "inject input drift this long after the start")
	fs.IntVar(&opt.Rate, "rate", 500, "events per second")
	fs.StringVar(&httpAddr, "http", "127.0.0.1:8080", "listen address for /metrics and the API")
	fs.StringVar(&summary, "summary", "", "write a JSON summary to this file")
	fs.StringVar(&opt.UnleashURL, "unleash", "", "move the canaries' feature flags in this Unleash (admin token in $UNLEASH_ADMIN_TOKEN; examples/unleash)")
	if err := parse(fs, args); err != nil {
		return ExitUsage, err
	}
	if !batch {
		if opt.DriftAt >= opt.Duration || opt.Duration <= 0 {
			return ExitUsage, usagef("demo: --drift-at %s must come before --duration %s", opt.DriftAt, opt.Duration)
		}
		opt.HTTPAddr, opt.Summary, opt.Out = httpAddr, summary, env.Stdout
		ctx := env.Ctx
		if ctx == nil {
			ctx = context.Background()
		}
		if _, err := demo.Run(ctx, opt); err != nil {
			return ExitUsage, err
		}
		return ExitOK, nil
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
