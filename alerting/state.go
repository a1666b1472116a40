package alerting

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"
)

// Options configure an Engine.
type Options struct {
	Rules     []Rule              // validated
	Notifiers map[string]Notifier // by the names rules use in actions
	// Cooldown per notifier: after it was sent a firing alert of a rule for
	// a model version, further firing alerts of that rule for that version
	// wait this long for it (a retraining webhook is called once, not once
	// per drifted feature). Resolved notifications are not held back.
	Cooldown map[string]time.Duration
	Delivery Delivery
	// Render fills an alert's summary and description (nil: a plain line).
	Render func(Alert) (summary, description string)
	// StatusURL is the status page's base URL (generator links);
	// DashboardURL the Grafana dashboard of a model, with "{model}" replaced.
	StatusURL, DashboardURL string
	Metrics                 *metrics.Set
	Logger                  *slog.Logger
}

// Engine evaluates rules and dispatches notifications. Eval, the API
// handlers and Snapshot may be called from different goroutines.
type Engine struct {
	opt  Options
	log  *slog.Logger
	disp map[string]*dispatcher

	mu       sync.Mutex
	inst     map[string]*instance
	cooldown map[string]time.Time // action/rule/model/version → last firing sent
	silences map[string]*Silence
	held     *[]heldSend // during EvalHeld
}

// instance is one alert's state between evaluations.
type instance struct {
	Alert      Alert                // as last evaluated (Status firing while pending or firing)
	Firing     bool                 // false: pending
	ActiveAt   time.Time            // when the condition started to hold
	LastTrueAt time.Time            // last evaluation at which it held
	Sent       map[string]sentState // per action
}

// sentState is what an action was last told about an instance.
type sentState struct {
	Severity   string    // "" when nothing was sent
	At         time.Time // when it was sent (resends count)
	Suppressed bool      // held back by the rule's cooldown: never notified
}

// New starts an engine and a dispatcher per notifier.
func New(opt Options) *Engine {
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.Metrics == nil {
		opt.Metrics = metrics.NewSet()
	}
	if opt.Delivery.QueueSize <= 0 {
		opt.Delivery = DefaultDelivery
	}
	e := &Engine{opt: opt, log: opt.Logger, disp: map[string]*dispatcher{},
		inst: map[string]*instance{}, cooldown: map[string]time.Time{}, silences: map[string]*Silence{}}
	for _, name := range slices.Sorted(maps.Keys(opt.Notifiers)) {
		e.disp[name] = newDispatcher(opt.Notifiers[name], opt.Delivery, opt.Metrics, opt.Logger)
	}
	return e
}

// Close delivers what is queued until ctx ends, then stops the
// dispatchers. Safe to call twice.
func (e *Engine) Close(ctx context.Context) {
	var wg sync.WaitGroup
	for _, d := range e.disp {
		wg.Go(func() { d.close(ctx) })
	}
	wg.Wait()
}

func instanceKey(rule string, s *Sample) string {
	return rule + "/" + s.Model + "/" + s.Version + "/" + s.Feature
}

// Eval applies every rule to the samples of one evaluation at time now:
// conditions that start holding make alerts pending, pending alerts fire
// once they have held for the rule's `for`, firing alerts resolve once the
// condition has not held for `keep_firing_for`. An alert whose sample is
// absent (its model or feature went away) counts as not holding. Firing,
// severity changes and resolutions are queued to the rules' actions.
func (e *Engine) Eval(now time.Time, samples []Sample) {
	release, _ := e.EvalHeld(now, samples)
	release()
}

// EvalHeld is Eval with the notifications held back until release is
// called, and their number: the service saves the new alert states before
// anything is sent, so a member that takes over after a crash knows what
// was sent and does not page again.
func (e *Engine) EvalHeld(now time.Time, samples []Sample) (release func(), held int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []heldSend
	e.held = &out
	defer func() { e.held = nil }()
	e.eval(now, samples)
	return func() {
		for _, h := range out {
			e.enqueue(h.action, h.alert)
		}
	}, len(out)
}

type heldSend struct {
	action string
	alert  Alert
}

func (e *Engine) eval(now time.Time, samples []Sample) {
	seen := make(map[string]bool, len(e.inst))
	for ri := range e.opt.Rules {
		r := &e.opt.Rules[ri]
		for si := range samples {
			s := &samples[si]
			if !r.matches(s) {
				continue
			}
			key := instanceKey(r.Name, s)
			seen[key] = true
			min := float64(r.MinSamples)
			if r.MinSamples == 0 {
				min = s.MinSamples
			}
			sev, thr := "", 0.0
			if s.Samples >= min {
				sev, thr = r.judge(s)
			}
			in := e.inst[key]
			if sev == "" {
				e.notHolding(r, key, in, now)
				continue
			}
			if in == nil {
				in = &instance{ActiveAt: now, Sent: map[string]sentState{}}
				e.inst[key] = in
			}
			in.LastTrueAt = now
			e.update(r, key, in, s, sev, thr)
			if !in.Firing && now.Sub(in.ActiveAt) >= r.For {
				in.Firing = true
				in.Alert.StartsAt = now
			}
		}
	}
	for key, in := range e.inst {
		if !seen[key] {
			e.notHolding(e.rule(in.Alert.Rule), key, in, now)
		}
	}
	for _, key := range slices.Sorted(maps.Keys(e.inst)) {
		if in := e.inst[key]; in.Firing {
			e.notifyFiring(e.rule(in.Alert.Rule), in, now)
		}
	}
}

func (e *Engine) rule(name string) *Rule {
	for i := range e.opt.Rules {
		if e.opt.Rules[i].Name == name {
			return &e.opt.Rules[i]
		}
	}
	return nil
}

// update refreshes the alert's value, labels and annotations.
func (e *Engine) update(r *Rule, key string, in *instance, s *Sample, sev string, thr float64) {
	a := &in.Alert
	a.Key, a.Rule, a.Status, a.Severity = key, r.Name, StatusFiring, sev
	a.Model, a.Version, a.Feature, a.Statistic = s.Model, s.Version, s.Feature, s.Statistic
	a.Value, a.Threshold, a.Op, a.Samples = s.Value, thr, r.Op, s.Samples
	a.WindowStart, a.WindowEnd = s.WindowStart, s.WindowEnd
	a.Labels = map[string]string{"alertname": r.Name, "model": s.Model, "version": s.Version, "statistic": s.Statistic, "severity": sev}
	if s.Feature != "" {
		a.Labels["feature"] = s.Feature
	}
	maps.Copy(a.Labels, s.Labels)
	maps.Copy(a.Labels, r.Labels)
	if e.opt.StatusURL != "" {
		a.GeneratorURL = e.opt.StatusURL + "/models/" + url.PathEscape(s.Model)
	}
	if e.opt.DashboardURL != "" {
		a.DashboardURL = replaceModel(e.opt.DashboardURL, s.Model)
	}
	a.Annotations = maps.Clone(s.Annotations)
	if a.Annotations == nil {
		a.Annotations = map[string]string{}
	}
	maps.Copy(a.Annotations, r.Annotations)
	if e.opt.Render != nil {
		a.Annotations["summary"], a.Annotations["description"] = e.opt.Render(*a)
	} else {
		a.Annotations["summary"] = fmt.Sprintf("%s/%s: %s of %s is %.4g (%s %g)", a.Model, a.Version, a.Statistic, a.Feature, a.Value, a.Op, a.Threshold)
	}
}

func replaceModel(u, model string) string {
	out := []byte{}
	for i := 0; i < len(u); i++ {
		if len(u)-i >= 7 && u[i:i+7] == "{model}" {
			out = append(out, url.QueryEscape(model)...)
			i += 6
			continue
		}
		out = append(out, u[i])
	}
	return string(out)
}

// notHolding handles an evaluation at which the condition does not hold.
func (e *Engine) notHolding(r *Rule, key string, in *instance, now time.Time) {
	if in == nil {
		return
	}
	if !in.Firing {
		delete(e.inst, key) // pending alerts never notified anyone
		return
	}
	if r != nil && now.Sub(in.LastTrueAt) < r.KeepFiringFor {
		return
	}
	delete(e.inst, key)
	a := in.Alert
	a.Status, a.EndsAt = StatusResolved, now
	for action, st := range in.Sent {
		if st.Severity != "" && !st.Suppressed {
			e.send(action, a)
		}
	}
}

// notifyFiring sends a firing alert to the actions that have not been told
// about it at its severity, that need a periodic resend, or whose silence
// ended; the rule's cooldown holds back first notifications.
func (e *Engine) notifyFiring(r *Rule, in *instance, now time.Time) {
	if r == nil {
		return
	}
	if e.muted(in.Alert.Labels, now) {
		return
	}
	for _, action := range r.Actions {
		st := in.Sent[action]
		if st.Suppressed {
			continue
		}
		changed := st.Severity != in.Alert.Severity
		resend := false
		if rs, ok := e.opt.Notifiers[action].(Resender); ok {
			resend = now.Sub(st.At) >= rs.ResendInterval()
			if changed && st.Severity != "" {
				// Alertmanager identifies alerts by labels, severity among
				// them: the old one is resolved, not left to time out.
				old := in.Alert
				old.Severity, old.Status, old.EndsAt = st.Severity, StatusResolved, now
				old.Labels = maps.Clone(old.Labels)
				old.Labels["severity"] = st.Severity
				e.send(action, old)
			}
		}
		if !changed && !resend {
			continue
		}
		ck := action + "/" + r.Name + "/" + in.Alert.Model + "/" + in.Alert.Version
		if cd := e.opt.Cooldown[action]; st.Severity == "" && cd > 0 && now.Sub(e.cooldown[ck]) < cd {
			in.Sent[action] = sentState{Severity: in.Alert.Severity, At: now, Suppressed: true}
			continue
		}
		if st.Severity == "" {
			e.cooldown[ck] = now
		}
		e.send(action, in.Alert)
		in.Sent[action] = sentState{Severity: in.Alert.Severity, At: now}
	}
}

func (e *Engine) send(action string, a Alert) {
	if e.held != nil {
		*e.held = append(*e.held, heldSend{action, a})
		return
	}
	e.enqueue(action, a)
}

func (e *Engine) enqueue(action string, a Alert) {
	if d := e.disp[action]; d != nil {
		if !d.enqueue([]Alert{a}) {
			e.log.Warn("alerting: notification queue full; dropped", "notifier", action, "alert", a.Key)
		}
	}
}

func (e *Engine) muted(labels map[string]string, now time.Time) bool {
	for _, s := range e.silences {
		if s.mutes(labels, now) {
			return true
		}
	}
	return false
}

// AlertState is an alert as the API shows it.
type AlertState struct {
	Alert
	State    string    `json:"state"` // pending or firing
	ActiveAt time.Time `json:"active_at"`
	Silenced bool      `json:"silenced"`
}

// Alerts returns the pending and firing alerts, sorted by key.
func (e *Engine) Alerts(now time.Time) []AlertState {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := []AlertState{}
	for _, key := range slices.Sorted(maps.Keys(e.inst)) {
		in := e.inst[key]
		st := AlertState{Alert: in.Alert, State: "pending", ActiveAt: in.ActiveAt, Silenced: e.muted(in.Alert.Labels, now)}
		if in.Firing {
			st.State = "firing"
		}
		out = append(out, st)
	}
	return out
}

// snapshot is the engine's persistent state: kept with the service's
// checkpoints so a restart neither re-pages nor forgets to resolve.
type snapshot struct {
	Version   int                  `json:"version"`
	Instances map[string]*instance `json:"instances"`
	Cooldown  map[string]time.Time `json:"cooldown"`
	Silences  []*Silence           `json:"silences"`
}

// Snapshot encodes the alert states, cooldowns and silences.
func (e *Engine) Snapshot() ([]byte, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := snapshot{Version: 1, Instances: e.inst, Cooldown: e.cooldown}
	for _, id := range slices.Sorted(maps.Keys(e.silences)) {
		s.Silences = append(s.Silences, e.silences[id])
	}
	return json.Marshal(s)
}

// Restore replaces the state with a Snapshot's. Instances of rules that no
// longer exist are dropped (nothing can resolve them: they are not
// notified).
func (e *Engine) Restore(data []byte) error {
	var s snapshot
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("alerting: cannot decode state: %w", err)
	}
	if s.Version != 1 {
		return fmt.Errorf("alerting: unsupported state version %d", s.Version)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.inst, e.cooldown, e.silences = map[string]*instance{}, map[string]time.Time{}, map[string]*Silence{}
	for k, in := range s.Instances {
		if e.rule(in.Alert.Rule) != nil {
			if in.Sent == nil {
				in.Sent = map[string]sentState{}
			}
			e.inst[k] = in
		}
	}
	maps.Copy(e.cooldown, s.Cooldown)
	for _, sl := range s.Silences {
		if err := sl.compile(); err == nil {
			e.silences[sl.ID] = sl
		}
	}
	return nil
}
