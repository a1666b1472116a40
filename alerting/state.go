package alerting

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"driftwatch/alerting/notify"
)

// Options configure an Engine.
type Options struct {
	Rules     []Rule                     // validated
	Notifiers map[string]notify.Notifier // by the names rules use in actions
	// Cooldown per notifier (see Cooldown).
	Cooldown map[string]Cooldown
	Delivery notify.Delivery
	// Settled, when set, is called after a notification left the outbox
	// (acknowledged, given up or dropped), from a dispatcher's goroutine:
	// the service saves the state file, so an acknowledged notification
	// is not sent again after a restart.
	Settled func()
	// Render fills an alert's summary and description (nil: a plain line).
	Render func(notify.Alert) (summary, description string)
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
	disp map[string]*notify.Dispatcher

	mu       sync.Mutex
	inst     map[string]*instance
	cooldown map[string]time.Time // action/rule/model/version → last firing sent
	silences map[string]*Silence
	held     *[]*notify.Notification // during EvalHeld
	// outbox holds the notifications queued or being delivered, by
	// outboxKey; seq numbers them in creation order.
	outbox map[string]*notify.Notification
	seq    uint64
	// delivered are the outbox keys of the latest acknowledged
	// notifications, oldest first (at most deliveredKeep): a restore from
	// an older snapshot does not send them again.
	delivered []string
}

// deliveredKeep bounds Engine.delivered.
const deliveredKeep = 1024

// Cooldown is a notifier's cooldown policy, per rule and model version:
// after a firing notification of a rule for a model version was sent to
// the notifier, new firing alerts of that rule and version are held back
// for Period (a retraining webhook is called once, not once per drifted
// feature). Every firing notification sent restarts the period, so each
// call counts. Escalations (warning to critical) pass unless Escalations is
// EscalationSuppress; de-escalations and resolved notifications of alerts
// the notifier was told about always pass. An alert held back stays so
// until it escalates past the cooldown or resolves (its resolve is not
// sent: the notifier never heard of it). Held-back notifications are
// counted in driftwatch_notifications_total{outcome="suppressed"}.
type Cooldown struct {
	Period      time.Duration
	Escalations EscalationPolicy
}

// EscalationPolicy says whether an escalation passes a notifier's cooldown.
type EscalationPolicy string

// Escalation policies.
const (
	EscalationNotify   EscalationPolicy = "notify" // the default
	EscalationSuppress EscalationPolicy = "suppress"
)

// State is an alert's state as the API shows it.
type State string

// Alert states: pending while the condition has held for less than the
// rule's `for`, then firing (resolved alerts are gone from the API).
const (
	StatePending State = "pending"
	StateFiring  State = "firing"
)

// instance is one alert's state between evaluations.
type instance struct {
	Alert      notify.Alert         // as last evaluated (Status firing while pending or firing)
	Firing     bool                 // false: pending
	ActiveAt   time.Time            // when the condition started to hold
	LastTrueAt time.Time            // last evaluation at which it held
	Sent       map[string]sentState // per action
}

// sentState is what an action was last told about an instance.
type sentState struct {
	Severity notify.Severity // "" when nothing was sent
	At       time.Time       // when it was sent (resends count)
	// Held is the severity the cooldown holds back ("" none): the alert's
	// first firing when Severity is "", else an escalation.
	Held notify.Severity `json:",omitempty"`
	// Suppressed is the snapshot field of earlier versions, for Held with
	// nothing sent; read on restore only.
	Suppressed bool `json:",omitempty"`
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
		opt.Delivery = notify.DefaultDelivery
	}
	e := &Engine{opt: opt, log: opt.Logger, disp: map[string]*notify.Dispatcher{},
		inst: map[string]*instance{}, cooldown: map[string]time.Time{}, silences: map[string]*Silence{},
		outbox: map[string]*notify.Notification{}}
	for _, name := range slices.Sorted(maps.Keys(opt.Notifiers)) {
		e.disp[name] = notify.NewDispatcher(opt.Notifiers[name], opt.Delivery, opt.Metrics, opt.Logger, e.settled)
	}
	return e
}

// Close delivers what is queued until ctx ends, then stops the
// dispatchers; what is left stays in the outbox, for the next Snapshot.
// Safe to call twice.
func (e *Engine) Close(ctx context.Context) {
	var wg sync.WaitGroup
	for _, d := range e.disp {
		wg.Go(func() { d.Close(ctx) })
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
	var out []*notify.Notification
	e.held = &out
	defer func() { e.held = nil }()
	e.eval(now, samples)
	return func() { e.dispatch(out) }, len(out)
}

// outboxKey identifies a notification in the outbox.
func outboxKey(notifier, key string) string { return notifier + "\x00" + key }

// dispatch hands notifications to their dispatchers, in order. The caller
// does not hold e.mu: a full queue settles at once.
func (e *Engine) dispatch(ns []*notify.Notification) {
	for _, n := range ns {
		if d := e.disp[n.Notifier]; d != nil && !d.Enqueue(n) {
			e.log.Warn("alerting: notification queue full; dropped", "notifier", n.Notifier, "alert", n.Alert.Key)
		}
	}
}

// settled takes a notification out of the outbox.
func (e *Engine) settled(n *notify.Notification, o notify.Outcome) {
	e.mu.Lock()
	k := outboxKey(n.Notifier, n.Key)
	if e.outbox[k] == n {
		delete(e.outbox, k)
	}
	if o == notify.OutcomeSent {
		e.delivered = append(e.delivered, k)
		if len(e.delivered) > deliveredKeep {
			e.delivered = slices.Delete(e.delivered, 0, len(e.delivered)-deliveredKeep)
		}
	}
	hook := e.opt.Settled
	e.mu.Unlock()
	if hook != nil {
		hook()
	}
}

// OnSettled sets Options.Settled.
func (e *Engine) OnSettled(f func()) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.opt.Settled = f
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
			var sev notify.Severity
			thr := 0.0
			if s.Samples >= min {
				sev, thr = r.judge(s)
			}
			in := e.inst[key]
			if sev == "" {
				valid := s.Samples >= min && !math.IsNaN(s.Value)
				e.notHolding(r, key, in, now, s, valid)
				continue
			}
			if in == nil {
				in = &instance{ActiveAt: now, Sent: map[string]sentState{}}
				e.inst[key] = in
			}
			in.LastTrueAt = now
			e.update(r, key, in, s, sev, thr, now)
			if !in.Firing && now.Sub(in.ActiveAt) >= r.For {
				in.Firing = true
				in.Alert.StartsAt = now
			}
		}
	}
	for key, in := range e.inst {
		if !seen[key] {
			e.notHolding(e.rule(in.Alert.Rule), key, in, now, nil, false)
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
func (e *Engine) update(r *Rule, key string, in *instance, s *Sample, sev notify.Severity, thr float64, now time.Time) {
	a := &in.Alert
	if a.Severity != sev {
		a.ChangedAt = now
	}
	a.Key, a.Rule, a.Status, a.Severity = key, r.Name, notify.StatusFiring, sev
	a.Model, a.Version, a.Feature, a.Statistic = s.Model, s.Version, s.Feature, s.Statistic
	a.Value, a.Threshold, a.Op, a.Samples = s.Value, thr, r.Op, s.Samples
	a.WindowStart, a.WindowEnd = s.WindowStart, s.WindowEnd
	a.Labels = map[string]string{"alertname": r.Name, "model": s.Model, "version": s.Version, "statistic": string(s.Statistic), "severity": string(sev)}
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
	e.render(a)
}

// render fills the summary and description annotations of a (whose
// annotations it owns).
func (e *Engine) render(a *notify.Alert) {
	if e.opt.Render != nil {
		a.Annotations["summary"], a.Annotations["description"] = e.opt.Render(*a)
	} else {
		delete(a.Annotations, "summary")
		delete(a.Annotations, "description")
		a.Annotations["summary"], a.Annotations["description"] = notify.Summarize(*a)
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

// notHolding handles an evaluation at which the condition does not hold:
// s is the rule's sample (nil when absent), valid when its value is a
// verdict. The resolved notification carries the value at resolution
// (NaN when there is none) and the threshold it is back behind.
func (e *Engine) notHolding(r *Rule, key string, in *instance, now time.Time, s *Sample, valid bool) {
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
	a.Status, a.EndsAt, a.ChangedAt = notify.StatusResolved, now, now
	a.Value = math.NaN()
	if s != nil {
		a.Samples, a.WindowStart, a.WindowEnd = s.Samples, s.WindowStart, s.WindowEnd
		if valid {
			a.Value = s.Value
		}
	}
	if r != nil {
		if t, ok := r.lowest(s); ok {
			a.Threshold = t
		}
	}
	a.Annotations = maps.Clone(a.Annotations)
	for _, action := range slices.Sorted(maps.Keys(in.Sent)) {
		if st := in.Sent[action]; st.Severity != "" {
			e.send(action, a)
		}
	}
}

// notifyFiring sends a firing alert to the actions that have not been told
// about it at its severity, that need a periodic resend, or whose silence
// ended; the notifier's cooldown holds back new firings and, per its
// policy, escalations.
func (e *Engine) notifyFiring(r *Rule, in *instance, now time.Time) {
	if r == nil {
		return
	}
	if e.muted(in.Alert.Labels, now) {
		return
	}
	sev := in.Alert.Severity
	for _, action := range r.Actions {
		st := in.Sent[action]
		told := st.Severity != ""
		rose := notify.SeverityRank(sev) > max(notify.SeverityRank(st.Severity), notify.SeverityRank(st.Held))
		resend := false
		switch {
		case !told && !rose && st.Held != "":
			continue // held back, and no worse since
		case told && sev == st.Severity:
			st.Held = "" // an escalation held back is over
			in.Sent[action] = st
			if rs, ok := e.opt.Notifiers[action].(notify.Resender); ok && now.Sub(st.At) >= rs.ResendInterval() {
				resend = true
				break
			}
			continue
		}
		if !resend {
			cd := e.opt.Cooldown[action]
			ck := action + "/" + r.Name + "/" + in.Alert.Model + "/" + in.Alert.Version
			escalation := told && notify.SeverityRank(sev) > notify.SeverityRank(st.Severity) || !told && st.Held != ""
			gated := !told && st.Held == "" || escalation && cd.Escalations == EscalationSuppress
			if gated && cd.Period > 0 && now.Sub(e.cooldown[ck]) < cd.Period {
				if st.Held != sev {
					if d := e.disp[action]; d != nil {
						d.CountSuppressed()
					}
				}
				st.Held = sev
				in.Sent[action] = st
				continue
			}
			e.cooldown[ck] = now
		}
		a := in.Alert
		if told && st.Severity != sev {
			a.PreviousSeverity = st.Severity
			if _, ok := e.opt.Notifiers[action].(notify.Resender); ok {
				// Alertmanager identifies alerts by labels, severity among
				// them: the old one is resolved, not left to time out.
				old := in.Alert
				old.Severity, old.Status, old.EndsAt, old.ChangedAt = st.Severity, notify.StatusResolved, now, now
				old.SupersededBy = sev
				old.Labels = maps.Clone(old.Labels)
				old.Labels["severity"] = string(st.Severity)
				old.Annotations = maps.Clone(old.Annotations)
				e.send(action, old)
			}
		}
		a.Annotations = maps.Clone(a.Annotations)
		e.send(action, a)
		in.Sent[action] = sentState{Severity: sev, At: now}
	}
}

// send adds a notification to the outbox, rendering its text for what this
// action was told before; one already queued for the action with the same
// idempotency key (a resend while the receiver is down) is not queued again.
func (e *Engine) send(action string, a notify.Alert) {
	if e.disp[action] == nil {
		return
	}
	e.render(&a)
	key := notify.IdempotencyKey(a)
	k := outboxKey(action, key)
	if e.outbox[k] != nil {
		return
	}
	e.seq++
	n := &notify.Notification{Seq: e.seq, Notifier: action, Key: key, Alert: a,
		ValueUnknown: math.IsNaN(a.Value), SamplesInf: math.IsInf(a.Samples, 1)}
	e.outbox[k] = n
	*e.held = append(*e.held, n) // evaluations run in EvalHeld
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
	notify.Alert
	State    State     `json:"state"`
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
		st := AlertState{Alert: in.Alert, State: StatePending, ActiveAt: in.ActiveAt, Silenced: e.muted(in.Alert.Labels, now)}
		if in.Firing {
			st.State = StateFiring
		}
		out = append(out, st)
	}
	return out
}

// snapshot is the engine's persistent state: kept with the service's
// checkpoints so a restart neither re-pages nor forgets to resolve, and
// delivers the notifications that were waiting.
type snapshot struct {
	Version   int                  `json:"version"`
	Instances map[string]*instance `json:"instances"`
	Cooldown  map[string]time.Time `json:"cooldown"`
	Silences  []*Silence           `json:"silences"`
	// Outbox: the notifications not yet acknowledged, in creation order;
	// Delivered: the outbox keys of the latest acknowledged ones.
	Outbox    []*notify.Notification `json:"outbox,omitempty"`
	Delivered []string               `json:"delivered,omitempty"`
}

// Snapshot encodes the alert states, cooldowns, silences and the
// notifications not yet delivered.
func (e *Engine) Snapshot() ([]byte, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := snapshot{Version: 1, Instances: e.inst, Cooldown: e.cooldown, Delivered: e.delivered}
	for _, id := range slices.Sorted(maps.Keys(e.silences)) {
		s.Silences = append(s.Silences, e.silences[id])
	}
	s.Outbox = e.sortedOutbox()
	return json.Marshal(s)
}

func (e *Engine) sortedOutbox() []*notify.Notification {
	out := slices.Collect(maps.Values(e.outbox))
	slices.SortFunc(out, func(a, b *notify.Notification) int { return cmp.Compare(a.Seq, b.Seq) })
	return out
}

// Pending returns the number of notifications not yet acknowledged or
// given up.
func (e *Engine) Pending() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.outbox)
}

// Restore replaces the state with a Snapshot's. Instances of rules that no
// longer exist are dropped (nothing can resolve them: they are not
// notified). The snapshot's waiting notifications join the outbox and are
// delivered, in their order, unless the engine already has them queued or
// knows them delivered (restoring the state file, then an older
// checkpoint, sends each once); those for notifiers no longer configured
// are dropped.
func (e *Engine) Restore(data []byte) error {
	var s snapshot
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("alerting: cannot decode state: %w", err)
	}
	if s.Version != 1 {
		return fmt.Errorf("alerting: unsupported state version %d", s.Version)
	}
	e.mu.Lock()
	var fresh []*notify.Notification
	defer func() {
		e.mu.Unlock()
		e.dispatch(fresh)
	}()
	e.inst, e.cooldown, e.silences = map[string]*instance{}, map[string]time.Time{}, map[string]*Silence{}
	for k, in := range s.Instances {
		if e.rule(in.Alert.Rule) != nil {
			if in.Sent == nil {
				in.Sent = map[string]sentState{}
			}
			for action, st := range in.Sent {
				if st.Suppressed {
					st.Held, st.Severity, st.Suppressed = st.Severity, "", false
					in.Sent[action] = st
				}
			}
			e.inst[k] = in
		}
	}
	known := map[string]bool{}
	for _, k := range e.delivered {
		known[k] = true
	}
	for _, k := range s.Delivered {
		if !known[k] {
			known[k] = true
			e.delivered = append(e.delivered, k)
		}
	}
	if len(e.delivered) > deliveredKeep {
		e.delivered = slices.Delete(e.delivered, 0, len(e.delivered)-deliveredKeep)
	}
	slices.SortFunc(s.Outbox, func(a, b *notify.Notification) int { return cmp.Compare(a.Seq, b.Seq) })
	for _, n := range s.Outbox {
		if n == nil {
			continue
		}
		k := outboxKey(n.Notifier, n.Key)
		if e.disp[n.Notifier] == nil || e.outbox[k] != nil || known[k] {
			continue
		}
		if n.ValueUnknown {
			n.Alert.Value = math.NaN()
		}
		if n.SamplesInf {
			n.Alert.Samples = math.Inf(1)
		}
		e.seq++
		n.Seq = e.seq
		e.outbox[k] = n
		fresh = append(fresh, n)
	}
	maps.Copy(e.cooldown, s.Cooldown)
	for _, sl := range s.Silences {
		if err := sl.compile(); err == nil {
			e.silences[sl.ID] = sl
		}
	}
	return nil
}
