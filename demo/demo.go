// Package demo runs driftwatch end to end on one machine: the embedded
// broker, the service, and a synthetic producer for a credit-scoring model
// whose inputs drift at a known moment, for a credit-line regressor whose
// inputs and outcomes drift at the same moment, and for two models in a
// canary rollout (a worse canary, to be rolled back, and an equal one, to be
// promoted). It prints a live view; the service's alert rules send drift
// alerts and rollout decisions through real notifiers (signed webhooks and
// Slack's incoming-webhook format) to local receivers the demo starts and
// prints; and it writes a summary a test can check. The statistics and the service are
// other packages'; this one only drives them.
package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"driftwatch/alerting/notify"
	"driftwatch/config"
	"driftwatch/dataset"
	"driftwatch/flag"
	"driftwatch/profile"
	"driftwatch/service"
)

// Options configure a demo run.
type Options struct {
	Duration time.Duration // total run time
	DriftAt  time.Duration // when input drift is injected
	Rate     int           // events per second
	HTTPAddr string
	Summary  string    // write the summary JSON here when set
	Out      io.Writer // nil: discard
	// Started, when set, is called with the HTTP address once the service
	// listens.
	Started func(httpAddr string)
	// Tune, when set, adjusts the service configuration before the service
	// starts (the soak benchmark sets retention or an external broker).
	Tune func(*config.Config)
	// UnleashURL, when set, has each rollout move its feature flag (named
	// after the model, project default, environment development) in that
	// Unleash, the admin token in $UNLEASH_ADMIN_TOKEN (examples/unleash).
	UnleashURL string
}

// Start runs the demo in the background until ctx ends or Duration passes
// and returns once its service listens, with its HTTP address; done
// receives Run's error when it ends.
func Start(ctx context.Context, opt Options) (addr string, done <-chan error, err error) {
	up := make(chan string, 1)
	opt.Started = func(a string) { up <- a }
	ended := make(chan error, 1)
	go func() {
		_, err := Run(ctx, opt)
		ended <- err
	}()
	select {
	case a := <-up:
		return a, ended, nil
	case err := <-ended:
		if err == nil {
			err = errors.New("demo: ended before its service started")
		}
		return "", ended, err
	}
}

// Alert is one fired alert, as the retraining webhook received it.
type Alert struct {
	Name     string          `json:"name"`
	Model    string          `json:"model"`
	Feature  string          `json:"feature"`
	Severity notify.Severity `json:"severity"`
	FiredAt  time.Time       `json:"fired_at"`
	PSI      float64         `json:"psi"`
}

// Summary is the demo's contract (README).
type Summary struct {
	DriftInjectedAt  time.Time `json:"drift_injected_at"`
	EventsProduced   int64     `json:"events_produced"`
	EventsProcessed  int64     `json:"events_processed"`
	OutcomesProduced int64     `json:"outcomes_produced"`
	OutcomesJoined   int64     `json:"outcomes_joined"`
	Alerts           []Alert   `json:"alerts"`
	// Rollouts are the rollback and promote calls the deploy webhooks got.
	RolloutsStarted time.Time         `json:"rollouts_started"`
	Rollouts        []RolloutDecision `json:"rollouts"`
	// Regression is the credit-line regressor's error before and after the
	// injection.
	Regression RegressionSummary `json:"regression"`
}

// RegressionSummary is the regressor's quality over its window's joined
// outcomes: the last evaluation before the injection and the last one of
// the run (NaN, written as null, when there was none).
type RegressionSummary struct {
	Model           string    `json:"model"`
	MAEBeforeDrift  jsonFloat `json:"mae_before_drift"`
	RMSEBeforeDrift jsonFloat `json:"rmse_before_drift"`
	MAEAtEnd        jsonFloat `json:"mae_at_end"`
	RMSEAtEnd       jsonFloat `json:"rmse_at_end"`
}

// jsonFloat is a float64 that marshals NaN as null (encoding/json refuses
// NaN).
type jsonFloat float64

func (f jsonFloat) MarshalJSON() ([]byte, error) {
	if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
		return []byte("null"), nil
	}
	return json.Marshal(float64(f))
}

func (f *jsonFloat) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*f = jsonFloat(math.NaN())
		return nil
	}
	return json.Unmarshal(b, (*float64)(f))
}

// RolloutDecision is one call of a deploy webhook.
type RolloutDecision struct {
	Action    string    `json:"action"` // rollback or promote
	Model     string    `json:"model"`
	Candidate string    `json:"candidate"`
	Stable    string    `json:"stable"`
	At        time.Time `json:"at"`
	Reason    string    `json:"reason"`
}

// The rollout models: each serves half its requests with the canary v2.
// worseModel's canary flips a fifth of its predictions, is 40% slower and
// fails 3% of requests; equalModel's behaves as stable does.
const (
	worseModel, equalModel = "credit-limit", "fraud-screen"
	rolloutMinPeriod       = 20 * time.Second
)

// The regressor: credit-line predicts the credit line granted to an
// applicant, in dollars, and its outcome is the line the underwriters
// granted, known outcomeDelay later. It gets a fifth of Rate (at least one
// event a tick): enough for its MAE and RMSE, little CPU.
const (
	lineModel, lineShare = "credit-line", 5
)

// Alert rule: PSI at or above psiThreshold on at least minSamples events
// for two evaluations.
const (
	psiThreshold   = 0.2
	minSamples     = 1000
	evaluateEvery  = time.Second
	model, version = "credit-scoring", "v1"
)

var (
	purposes = []string{"car", "debt_consolidation", "education", "home_improvement", "medical", "small_business"}
	regions  = []string{"north", "south", "east", "west"}
	homes    = []string{"MORTGAGE", "OWN", "RENT"}
)

// event draws one applicant; drift lowers income, raises utilization and
// brings a new loan purpose.
func event(r *rand.Rand, drift bool) (num map[string]float64, cat map[string]string, score, truth float64) {
	income := math.Exp(10.8 + 0.5*r.NormFloat64())
	util := math.Min(1, math.Max(0, 0.35+0.2*r.NormFloat64()))
	purpose := purposes[r.IntN(len(purposes))]
	if drift {
		income *= 0.75
		util = math.Min(1, util+0.15)
		if r.Float64() < 0.08 {
			purpose = "crypto"
		}
	}
	num = map[string]float64{
		"age":             math.Round(math.Max(18, 42+12*r.NormFloat64())),
		"income":          math.Round(income*100) / 100,
		"debt_ratio":      math.Round(math.Max(0, 0.3+0.15*r.NormFloat64())*100) / 100,
		"credit_lines":    float64(r.IntN(15) + 1),
		"utilization":     math.Round(util*100) / 100,
		"months_employed": math.Round(math.Max(0, 60+40*r.NormFloat64())),
		"late_90d":        float64(r.IntN(10) / 7),
		"loan_amount":     math.Round(math.Exp(9.5 + 0.6*r.NormFloat64())),
	}
	cat = map[string]string{"home_ownership": homes[r.IntN(3)], "purpose": purpose, "region": regions[r.IntN(4)]}
	z := -3 + 2.5*util - 0.00001*(income-50000)
	score = 1 / (1 + math.Exp(-z))
	truth = score
	if drift {
		// The world changed under the model: defaults rise beyond what its
		// scores say, so its accuracy drops.
		truth = 1 / (1 + math.Exp(-(z + 1.5)))
	}
	return num, cat, score, truth
}

// lineEvent draws one applicant of the credit-line regressor: its features,
// the line the model predicts and the line granted. Drift lowers incomes
// and raises debt ratios (input drift), and tightens the underwriters'
// policy: they grant 30% less than the model, trained before, predicts, so
// its MAE and RMSE rise.
func lineEvent(r *rand.Rand, drift bool) (num map[string]float64, cat map[string]string, pred, granted float64) {
	income := math.Exp(10.8 + 0.5*r.NormFloat64())
	debt := math.Max(0, 0.3+0.15*r.NormFloat64())
	if drift {
		income *= 0.75
		debt += 0.1
	}
	num = map[string]float64{
		"income":          math.Round(income*100) / 100,
		"debt_ratio":      math.Round(debt*100) / 100,
		"months_employed": math.Round(math.Max(0, 60+40*r.NormFloat64())),
		"credit_lines":    float64(r.IntN(15) + 1),
	}
	cat = map[string]string{"home_ownership": homes[r.IntN(3)]}
	pred = math.Max(500, 0.2*num["income"]*math.Max(0, 1-num["debt_ratio"])+40*num["months_employed"])
	granted = pred + 1500*r.NormFloat64()
	if drift {
		granted *= 0.7
	}
	return num, cat, math.Round(pred), math.Round(math.Max(0, granted))
}

// features is an event's "features" object.
func features(num map[string]float64, cat map[string]string) map[string]any {
	feats := make(map[string]any, len(num)+len(cat))
	for k, v := range num {
		feats[k] = v
	}
	for k, v := range cat {
		feats[k] = v
	}
	return feats
}

// canaryEvent draws one request of a rollout model, served by the canary
// v2 or by stable v1, and its outcome.
func canaryEvent(r *rand.Rand, model string, canary bool, id int, now time.Time) (msg, out []byte, pid string) {
	num, cat, score, truth := event(r, false)
	feats := features(num, cat)
	version, latency, failed := "v1", math.Exp(3+0.3*r.NormFloat64()), r.Float64() < 0.01
	if canary {
		version = "v2"
		if model == worseModel {
			if r.Float64() < 0.2 {
				score = 1 - score
			}
			latency *= 1.4
			failed = r.Float64() < 0.03
		}
	}
	pid = fmt.Sprintf("p%d", id)
	msg, _ = json.Marshal(map[string]any{"id": pid, "model": model, "version": version, "ts": now.UnixMilli(), "features": feats,
		"score": score, "latency_ms": math.Round(latency*10) / 10, "error": failed})
	label := 0
	if r.Float64() < truth {
		label = 1
	}
	out, _ = json.Marshal(map[string]any{"id": pid, "model": model, "label": fmt.Sprint(label)})
	return msg, out, pid
}

// reference builds the classifier's training profile from the same
// generator.
func reference(n int) (*profile.Profile, error) {
	r := rand.New(rand.NewPCG(1, 1))
	return build("synthetic training sample", n, func() (map[string]float64, map[string]string) {
		num, cat, score, _ := event(r, false)
		// The model's outputs are monitored like inputs (output drift).
		num["score"] = score
		cat["prediction"] = "0"
		if score >= 0.5 {
			cat["prediction"] = "1"
		}
		return num, cat
	})
}

// lineReference builds the regressor's training profile from its generator.
func lineReference(n int) (*profile.Profile, error) {
	r := rand.New(rand.NewPCG(4, 4))
	return build("synthetic credit-line training sample", n, func() (map[string]float64, map[string]string) {
		num, cat, _, _ := lineEvent(r, false)
		return num, cat
	})
}

// build profiles n rows drawn by draw.
func build(path string, n int, draw func() (map[string]float64, map[string]string)) (*profile.Profile, error) {
	cols := map[string]*dataset.Column{}
	var order []*dataset.Column
	col := func(name string, kind dataset.Kind) *dataset.Column {
		c := cols[name]
		if c == nil {
			c = &dataset.Column{Name: name, Kind: kind}
			cols[name] = c
			order = append(order, c)
		}
		return c
	}
	for range n {
		num, cat := draw()
		for _, k := range sortedKeys(num) {
			c := col(k, dataset.KindNumeric)
			c.Num = append(c.Num, num[k])
		}
		for _, k := range sortedKeys(cat) {
			c := col(k, dataset.KindCategorical)
			c.Str = append(c.Str, cat[k])
		}
	}
	return profile.Build(&dataset.Table{Path: path, Rows: n, Columns: order}, profile.Options{})
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Run runs the demo until Duration has passed or ctx ends.
func Run(ctx context.Context, opt Options) (*Summary, error) {
	if opt.Rate <= 0 {
		opt.Rate = 500
	}
	out := opt.Out
	if out == nil {
		out = io.Discard
	}
	dir, err := os.MkdirTemp("", "driftwatch-demo")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	prof, err := reference(20000)
	if err != nil {
		return nil, err
	}
	if err := prof.WriteFile(filepath.Join(dir, "credit.dwprof")); err != nil {
		return nil, err
	}
	if prof, err = lineReference(20000); err != nil {
		return nil, err
	}
	if err := prof.WriteFile(filepath.Join(dir, "credit-line.dwprof")); err != nil {
		return nil, err
	}
	start := time.Now()
	secret := []byte("demo-secret")
	recv, err := startReceivers(out, secret, start)
	if err != nil {
		return nil, err
	}
	defer recv.close()
	cfg, err := config.Parse([]byte(fmt.Sprintf(`
kafka: {embedded_addr: "127.0.0.1:0"}
defaults: {window: {length: 2m, pane: 5s, lateness: 1m}, evaluate_every: %s, min_samples: %d}
models:
  - {name: %[3]s, task: classification, versions: [{name: %[4]s, reference: credit.dwprof}]}
  - {name: %[14]s, task: regression, versions: [{name: v1, reference: credit-line.dwprof}]}
  - name: %[9]s
    task: classification
    versions: [{name: v1, reference: credit.dwprof}, {name: v2, reference: credit.dwprof}]
    rollout: &rollout
      stable: v1
      candidate: v2
      min_period: %[11]s
      min_samples: 1000
      criteria: [{metric: accuracy, tolerance: 0.03}, {metric: latency_p95, ratio: 1.1}, {metric: error_rate, ratio: 1.2, tolerance: 0.005}]
  - name: %[10]s
    task: classification
    versions: [{name: v1, reference: credit.dwprof}, {name: v2, reference: credit.dwprof}]
    rollout: *rollout
alerting:
  notifiers:
    - {name: retrain, cooldown: 10m, webhook: {url: %[5]q, secret: %[6]q}}
    - {name: slack, slack: {webhook_url: %[7]q}}
    - {name: rollback, webhook: {url: %[12]q, secret: %[6]q}}
    - {name: promote, webhook: {url: %[13]q, secret: %[6]q}}
  rules:
    - {name: FeatureDrift, model: %[3]s, statistic: psi, critical: %[8]v, for: 2s, keep_firing_for: 30s, actions: [retrain, slack, log]}
    - {name: AccuracyDrop, model: %[3]s, statistic: accuracy, warning: 0.75, for: 3s, keep_firing_for: 30s, min_samples: 500, actions: [slack, log]}
    - {name: CanaryRollback, statistic: rollout_rollback, critical: 1, actions: [rollback, slack, log]}
    - {name: CanaryPromote, statistic: rollout_promote, warning: 1, actions: [promote, slack, log]}
`, evaluateEvery, minSamples, model, version, recv.url("/retrain"), secret, recv.url("/slack"), psiThreshold,
		worseModel, equalModel, rolloutMinPeriod, recv.url("/deploy/rollback"), recv.url("/deploy/promote"), lineModel)))
	if err != nil {
		return nil, err
	}
	cfg.Dir = dir
	if opt.UnleashURL != "" {
		for i := range cfg.Models {
			if r := cfg.Models[i].Rollout; r != nil {
				r.Flag = &flag.Target{Provider: flag.ProviderUnleash, URL: opt.UnleashURL, TokenEnv: "UNLEASH_ADMIN_TOKEN", Project: "default",
					Environment: "development", Feature: cfg.Models[i].Name, Strategy: flag.FlexibleRollout}
				r.Ramp, r.Observe, r.OnRollback = flag.DefaultSteps, rolloutMinPeriod/2, flag.RollbackZero
			}
		}
	}
	if opt.Tune != nil {
		opt.Tune(cfg)
	}
	// The service outlives the run's deadline: it must still consume what
	// the producer sent last.
	svc, err := service.Start(ctx, service.Options{Config: cfg, HTTPAddr: opt.HTTPAddr})
	if err != nil {
		return nil, err
	}
	defer svc.Close(context.Background())
	ctx, cancel := context.WithTimeout(ctx, opt.Duration)
	defer cancel()
	fmt.Fprintf(out, "driftwatch demo: embedded broker %s, status %s, %d events/s, drift injected at +%s\n",
		strings.Join(svc.Brokers(), ","), svc.HTTPAddr(), opt.Rate, opt.DriftAt)
	if opt.Started != nil {
		opt.Started(svc.HTTPAddr())
	}

	pr, err := kgo.NewClient(kgo.SeedBrokers(svc.Brokers()...), kgo.DefaultProduceTopic(cfg.Topics.Predictions))
	if err != nil {
		return nil, err
	}
	defer pr.Close()

	sum := &Summary{DriftInjectedAt: start.Add(opt.DriftAt).UTC(), RolloutsStarted: start.UTC(), Alerts: []Alert{},
		Regression: RegressionSummary{Model: lineModel, MAEBeforeDrift: jsonFloat(math.NaN()), RMSEBeforeDrift: jsonFloat(math.NaN())}}
	produced := make(chan [2]int64, 1)
	go func() { produced <- produce(ctx, pr, opt, start, cfg.Topics.Outcomes) }()

	// Print until the run ends; the service evaluates and alerts.
	tick := time.NewTicker(evaluateEvery)
	defer tick.Stop()
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-tick.C:
		}
		ev, _ := svc.Latest(model, version)
		var top []string
		for _, f := range ev.Features {
			if f.PSI >= 0.05 {
				top = append(top, fmt.Sprintf("%s=%.3f", f.Name, f.PSI))
			}
		}
		var ro []string
		for _, m := range []string{worseModel, equalModel} {
			d, _, _ := svc.Rollout(m)
			ro = append(ro, fmt.Sprintf("%s v2 %s", m, d))
		}
		line, _ := svc.Latest(lineModel, "v1")
		if time.Now().Before(sum.DriftInjectedAt) && line.Joined > 0 {
			sum.Regression.MAEBeforeDrift, sum.Regression.RMSEBeforeDrift = jsonFloat(line.MAE), jsonFloat(line.RMSE)
		}
		fmt.Fprintf(out, "+%-4s processed %7d  window %6.0f events  accuracy %s  PSI≥0.05: %-40s  %s MAE %s  canaries: %s\n", time.Since(start).Round(time.Second),
			svc.Processed(), ev.Events, pct(ev.Joined, ev.Accuracy), strings.Join(top, " "), lineModel, dollars(line.Joined, line.MAE), strings.Join(ro, ", "))
	}
	counts := <-produced
	sum.EventsProduced, sum.OutcomesProduced = counts[0], counts[1]
	// Every produced event is processed before the summary: bounded wait.
	deadline := time.Now().Add(drainTimeout)
	for svc.Processed() < sum.EventsProduced && time.Now().Before(deadline) {
		time.Sleep(drainPoll)
	}
	sum.EventsProcessed = svc.Processed()
	for svc.Joined() < sum.OutcomesProduced && time.Now().Before(deadline) {
		time.Sleep(drainPoll)
	}
	sum.OutcomesJoined = svc.Joined()
	line, _ := svc.Latest(lineModel, "v1")
	sum.Regression.MAEAtEnd, sum.Regression.RMSEAtEnd = jsonFloat(line.MAE), jsonFloat(line.RMSE)
	svc.Close(context.Background()) // delivers the queued notifications
	sum.Alerts, sum.Rollouts = recv.fired()
	fmt.Fprintf(out, "produced %d events, processed %d; %d outcomes, %d joined; %d drift alerts; %d rollout decisions\n",
		sum.EventsProduced, sum.EventsProcessed, sum.OutcomesProduced, sum.OutcomesJoined, len(sum.Alerts), len(sum.Rollouts))
	if opt.Summary != "" {
		b, _ := json.MarshalIndent(sum, "", "  ")
		if err := os.WriteFile(opt.Summary, append(b, '\n'), 0o644); err != nil {
			return sum, fmt.Errorf("demo: cannot write summary: %w", err)
		}
	}
	return sum, nil
}

// pct prints a share over n outcomes, "–" before any.
func pct(n, x float64) string {
	if n == 0 || math.IsNaN(x) {
		return "  –  "
	}
	return fmt.Sprintf("%4.1f%%", 100*x)
}

// dollars prints an error in dollars over n outcomes, "–" before any.
func dollars(n, x float64) string {
	if n == 0 || math.IsNaN(x) {
		return "    –"
	}
	return fmt.Sprintf("$%4.0f", x)
}

// outcomeDelay is how long after a prediction its label arrives.
const outcomeDelay = 2 * time.Second

// Pacing and bounds of the demo's producer and of its final wait.
const (
	ticksPerSecond = 10               // the producer sends Rate/ticksPerSecond predictions a tick
	flushTimeout   = 10 * time.Second // producing what is buffered when the demo ends
	drainTimeout   = 15 * time.Second // the service processing and joining everything produced
	drainPoll      = 20 * time.Millisecond
)

// produce sends Rate predictions per second, and each one's outcome
// outcomeDelay later, until ctx ends; it returns how many predictions and
// outcomes the broker acknowledged.
func produce(ctx context.Context, pr *kgo.Client, opt Options, start time.Time, outcomes string) [2]int64 {
	r := rand.New(rand.NewPCG(2, 2))
	var preds, outs atomic.Int64
	type due struct {
		at  time.Time
		msg []byte
	}
	var queue []due
	tick := time.NewTicker(time.Second / ticksPerSecond)
	defer tick.Stop()
	perTick := max(1, opt.Rate/ticksPerSecond)
	id := 0
	send := func(pid string, msg []byte) {
		pr.Produce(context.Background(), &kgo.Record{Key: []byte(pid), Value: msg}, func(_ *kgo.Record, err error) {
			if err == nil {
				preds.Add(1)
			}
		})
	}
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.Background(), flushTimeout)
			pr.Flush(fctx)
			cancel()
			return [2]int64{preds.Load(), outs.Load()}
		case now := <-tick.C:
			drift := now.Sub(start) >= opt.DriftAt
			for range perTick {
				num, cat, score, truth := event(r, drift)
				feats := features(num, cat)
				pid := fmt.Sprintf("p%d", id)
				id++
				msg, _ := json.Marshal(map[string]any{"id": pid, "model": model, "version": version,
					"ts": now.UnixMilli(), "features": feats, "score": score})
				send(pid, msg)
				label := 0
				if r.Float64() < truth {
					label = 1
				}
				out, _ := json.Marshal(map[string]any{"id": pid, "model": model, "label": fmt.Sprint(label)})
				queue = append(queue, due{now.Add(outcomeDelay), out})
			}
			for range max(1, perTick/lineShare) {
				num, cat, pred, granted := lineEvent(r, drift)
				pid := fmt.Sprintf("p%d", id)
				id++
				msg, _ := json.Marshal(map[string]any{"id": pid, "model": lineModel, "version": "v1",
					"ts": now.UnixMilli(), "features": features(num, cat), "prediction": pred})
				send(pid, msg)
				out, _ := json.Marshal(map[string]any{"id": pid, "model": lineModel, "value": granted})
				queue = append(queue, due{now.Add(outcomeDelay), out})
			}
			for _, m := range []string{worseModel, equalModel} {
				for k := range perTick {
					msg, out, pid := canaryEvent(r, m, k%2 == 1, id, now)
					id++
					send(pid, msg)
					queue = append(queue, due{now.Add(outcomeDelay), out})
				}
			}
			for len(queue) > 0 && !queue[0].at.After(now) {
				pr.Produce(context.Background(), &kgo.Record{Topic: outcomes, Value: queue[0].msg}, func(_ *kgo.Record, err error) {
					if err == nil {
						outs.Add(1)
					}
				})
				queue = queue[1:]
			}
		}
	}
}
