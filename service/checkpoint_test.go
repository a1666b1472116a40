package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"driftwatch/alerting/notify/webhook"
	"driftwatch/broker"
	"driftwatch/config"
	"driftwatch/profile"
)

// fixture is a broker of its own (3 partitions per topic), a profile and a
// fixed set of events: predictions with drifted income, outcomes for half
// of them, some malformed messages, all keyed by prediction id.
type fixture struct {
	t     *testing.T
	b     *broker.Embedded
	dir   string
	recs  []*kgo.Record
	preds int
	ctx   context.Context
	hook  string // webhook URL counting alerts
	mu    sync.Mutex
	// firing counts firing notifications per alert key, deduplicated by
	// Idempotency-Key as the README asks receivers to: delivery is at least
	// once (a leader killed after a delivery and before its next checkpoint
	// leaves it in the outbox its successor restores), its effect once.
	firing map[string]int
	seen   map[string]bool // Idempotency-Keys received
}

func newFixture(t *testing.T, n int) *fixture {
	t.Helper()
	b, err := broker.Start(broker.Options{Addr: "127.0.0.1:0", Partitions: 3,
		Topics: []string{"predictions", "outcomes", "driftwatch-dead-letters"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close) // last: after every member's Close
	// One bound for the whole test (20 kill/restart rounds run ~30 s idle,
	// longer beside the rest of the suite).
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	t.Cleanup(cancel)
	f := &fixture{t: t, b: b, dir: t.TempDir(), ctx: ctx, firing: map[string]int{}, seen: map[string]bool{}}
	prof, err := profile.Build(credit(2000, 0, 7), profile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := prof.WriteFile(filepath.Join(f.dir, "p.dwprof")); err != nil {
		t.Fatal(err)
	}
	cur := credit(n, 3, 11)
	t0 := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC).UnixMilli()
	for i := range n {
		id := fmt.Sprintf("p%d", i)
		msg := fmt.Sprintf(`{"id":%q,"model":"credit","version":"v1","ts":%d,"features":{"income":%v,"home":%q},"score":%v,"prediction":"%d"}`,
			id, t0+int64(i)*500, cur.Columns[0].Num[i], cur.Columns[1].Str[i], float64(i%10)/10, i%2)
		f.recs = append(f.recs, &kgo.Record{Topic: "predictions", Key: []byte(id), Value: []byte(msg)})
		f.preds++
		if i%97 == 0 {
			f.recs = append(f.recs, &kgo.Record{Topic: "predictions", Key: []byte(id), Value: []byte(`{"id":`)})
			f.preds++
		}
		if j := i - 40; j >= 0 && j%2 == 0 {
			oid := fmt.Sprintf("p%d", j)
			f.recs = append(f.recs, &kgo.Record{Topic: "outcomes", Key: []byte(oid),
				Value: []byte(fmt.Sprintf(`{"id":%q,"model":"credit","label":"%d"}`, oid, (j/3)%2))})
		}
	}
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var p webhook.Payload
		json.Unmarshal(body, &p)
		if key := r.Header.Get(webhook.IdempotencyHeader); p.Status == "firing" {
			f.mu.Lock()
			if !f.seen[key] {
				f.seen[key] = true
				f.firing[p.Rule+"/"+p.Feature]++
			}
			f.mu.Unlock()
		}
	}))
	t.Cleanup(hook.Close)
	f.hook = hook.URL
	return f
}

// produce produces records [from, to) of the event set.
func (f *fixture) produce(from, to int) {
	f.t.Helper()
	recs := make([]*kgo.Record, 0, to-from)
	for _, r := range f.recs[from:to] {
		recs = append(recs, &kgo.Record{Topic: r.Topic, Key: r.Key, Value: r.Value})
	}
	pr, err := kgo.NewClient(kgo.SeedBrokers(f.b.Addrs()...))
	if err != nil {
		f.t.Fatal(err)
	}
	defer pr.Close()
	if err := pr.ProduceSync(f.ctx, recs...).FirstErr(); err != nil {
		f.t.Fatal(err)
	}
}

// config is a member of group with checkpoints in store ("dir:PATH" or a
// topic), optionally sending alerts to the fixture's webhook.
func (f *fixture) config(group, store string, alerts bool) *config.Config {
	f.t.Helper()
	ckpt := fmt.Sprintf("{interval: 50ms, topic: %q}", store)
	if len(store) > 4 && store[:4] == "dir:" {
		ckpt = fmt.Sprintf("{interval: 50ms, dir: %q}", store[4:])
	}
	text := fmt.Sprintf(`
kafka: {brokers: [%q], group: %q}
checkpoint: %s
defaults: {min_samples: 100}
models: [{name: credit, task: classification, versions: [{name: v1, reference: p.dwprof}], evaluate_every: 1s}]
`, f.b.Addrs()[0], group, ckpt)
	if alerts {
		text += fmt.Sprintf(`
alerting:
  notifiers: [{name: hook, webhook: {url: %q, secret: s3cret}}]
  rules: [{name: IncomeDrift, statistic: psi, feature: income, critical: 0.1, actions: [hook]}]
`, f.hook)
	}
	cfg, err := config.Parse([]byte(text))
	if err != nil {
		f.t.Fatal(err)
	}
	cfg.Dir = f.dir
	return cfg
}

func (f *fixture) start(cfg *config.Config) *Service {
	f.t.Helper()
	// A short session so that members notice one another quickly.
	s, err := Start(f.ctx, Options{Config: cfg, KafkaOpts: []kgo.Opt{kgo.SessionTimeout(6 * time.Second), kgo.HeartbeatInterval(200 * time.Millisecond)}})
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { s.Close(context.Background()) })
	return s
}

// waitDone waits until the group has committed every offset of both
// topics: commits follow checkpoints, so every record is then in a
// checkpointed state.
func (f *fixture) waitDone(group string) {
	f.t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(f.b.Addrs()...))
	if err != nil {
		f.t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	var last string
	for {
		if f.ctx.Err() != nil {
			f.t.Fatalf("group %s never caught up: %s", group, last)
		}
		ends, err1 := adm.ListEndOffsets(f.ctx, "predictions", "outcomes")
		committed, err2 := adm.FetchOffsets(f.ctx, group)
		done := err1 == nil && err2 == nil
		ends.Each(func(o kadm.ListedOffset) {
			c, ok := committed.Lookup(o.Topic, o.Partition)
			if o.Offset > 0 && (!ok || c.At != o.Offset) {
				done = false
				last = fmt.Sprintf("%s/%d: committed %d of %d", o.Topic, o.Partition, c.At, o.Offset)
			}
		})
		if done {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// result is what must be equal after any history of crashes: the merged
// window of the model, every count and statistic.
func result(s *Service) string {
	s.Evaluate()
	ev, _ := s.Latest("credit", "v1")
	return fmt.Sprintf("%+v", ev)
}

// reference runs one member without interruption over the whole set, on
// a broker of its own, so the test's broker starts empty.
func (f *fixture) reference() string {
	f.t.Helper()
	main := f.b
	b, err := broker.Start(broker.Options{Addr: "127.0.0.1:0", Partitions: 3,
		Topics: []string{"predictions", "outcomes", "driftwatch-dead-letters"}})
	if err != nil {
		f.t.Fatal(err)
	}
	f.b = b
	defer func() { f.b = main; b.Close() }()
	f.produce(0, len(f.recs))
	s := f.start(f.config("reference", "ckpt-reference", false))
	f.waitDone("reference")
	want := result(s)
	s.Close(f.ctx)
	return want
}

// equalSoon waits for a member's result to equal want (a member merges
// partitions it does not own from their checkpoints, which trail by the
// checkpoint interval) and fails with both if it never does.
func (f *fixture) equalSoon(s *Service, want, what string) {
	f.t.Helper()
	var got string
	for range 100 {
		if got = result(s); got == want {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	f.t.Fatalf("%s: result differs from the uninterrupted run\n got: %.600s\nwant: %.600s", what, got, want)
}

// Hard-kill loop: 20 times, a member is stopped without Close at a random
// point (no last checkpoint, no commit, in-flight work abandoned) and a new
// one finishes; the final window equals an uninterrupted run's exactly.
// Checkpoints alternate between a compacted topic and a state directory.
func TestHardKillLoop(t *testing.T) {
	f := newFixture(t, 1500)
	want := f.reference()
	f.produce(0, len(f.recs))
	iterations := 20
	if testing.Short() {
		iterations = 3
	}
	rng := rand.New(rand.NewPCG(4, 2))
	for i := range iterations {
		group, store := fmt.Sprintf("kill%d", i), fmt.Sprintf("ckpt-kill%d", i)
		if i%2 == 1 {
			store = "dir:" + t.TempDir()
		}
		s := f.start(f.config(group, store, false))
		stopAt := int64(rng.IntN(f.preds))
		for s.Processed() < stopAt && f.ctx.Err() == nil {
			time.Sleep(time.Millisecond)
		}
		time.Sleep(time.Duration(rng.IntN(60)) * time.Millisecond)
		s.Kill()
		s2 := f.start(f.config(group, store, false))
		f.waitDone(group)
		f.equalSoon(s2, want, fmt.Sprintf("iteration %d (killed after %d predictions)", i, stopAt))
		s2.Close(f.ctx)
	}
}

// Three members share the partitions; the one that leads (owns partition
// 0, evaluates alerts) is hard-stopped mid-stream; the survivors take over
// its partitions and its alert states; every member's merged window ends
// equal to an uninterrupted run's, and the drift alert is delivered once.
func TestScaleOutThreeMembers(t *testing.T) {
	f := newFixture(t, 1500)
	want := f.reference()

	var members []*Service
	for range 3 {
		members = append(members, f.start(f.config("fleet", "ckpt-fleet", true)))
	}
	third := len(f.recs) / 3
	f.produce(0, third)
	// Wait for the three to share the partitions, then find the leader.
	var leader *Service
	for deadline := time.Now().Add(10 * time.Second); leader == nil && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		all := true
		for _, m := range members {
			all = all && len(m.ownedParts()) == 1
		}
		for _, m := range members {
			if all && m.owned(0) != nil {
				leader = m
			}
		}
	}
	if leader == nil {
		for i, m := range members {
			t.Logf("member %d owns %d partitions", i, len(m.ownedParts()))
		}
		t.Fatal("the three members never shared the partitions")
	}
	// The leader restored what earlier owners counted; it dies while
	// counting the next third.
	f.produce(third, 2*third)
	for leader.Processed() < 50 && f.ctx.Err() == nil {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // the alert has fired, most of the time
	leader.Kill()
	f.produce(2*third, len(f.recs))
	f.waitDone("fleet")
	for i, m := range members {
		if m != leader {
			f.equalSoon(m, want, fmt.Sprintf("member %d", i))
		}
	}
	time.Sleep(300 * time.Millisecond) // evaluations after the end
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.firing) != 1 || f.firing["IncomeDrift/income"] != 1 {
		t.Fatalf("firing notifications %v (distinct idempotency keys), want IncomeDrift/income once", f.firing)
	}
}

// Fetches fail for a while (kfake control: every fetch request is refused
// by closing the connection): /readyz turns false, the client retries, and
// nothing is lost. Then a rebalance storm: members join and leave over and
// over while records arrive. Counts end exact.
func TestBrokerFaultsAndRebalanceStorm(t *testing.T) {
	f := newFixture(t, 1500)
	want := f.reference()
	c := f.b.Cluster()

	a := f.start(f.config("storm", "ckpt-storm", false))
	for !a.assignedOnce.Load() && f.ctx.Err() == nil {
		time.Sleep(5 * time.Millisecond)
	}
	chunk := len(f.recs) / 6
	f.produce(0, chunk)
	var failing atomic.Bool
	failing.Store(true)
	c.ControlKey(int16(kmsg.Fetch), func(kmsg.Request) (kmsg.Response, error, bool) {
		if !failing.Load() {
			return nil, nil, false // not handled, and the control is dropped
		}
		c.KeepControl()
		return nil, errors.New("injected fetch failure"), true
	})
	f.produce(chunk, 2*chunk)
	for a.cons.Healthy() && f.ctx.Err() == nil {
		time.Sleep(5 * time.Millisecond)
	}
	if !a.cons.Healthy() {
		t.Log("fetches failing: /readyz reports not ready")
	}
	if code := readyCode(t, a); code != http.StatusServiceUnavailable {
		t.Fatalf("/readyz %d while fetches fail", code)
	}
	time.Sleep(500 * time.Millisecond)
	failing.Store(false)
	for i := 2; i < 6; i++ {
		b := f.start(f.config("storm", "ckpt-storm", false))
		f.produce(i*chunk, (i+1)*chunk)
		time.Sleep(time.Duration(100+50*i) * time.Millisecond)
		if i%2 == 0 {
			b.Close(f.ctx) // leaves gracefully
		} else {
			b.Kill()
		}
	}
	f.produce(6*chunk, len(f.recs))
	f.waitDone("storm")
	f.equalSoon(a, want, "after faults and the storm")
	// Health follows the next fetch to complete (a long poll at most).
	code := readyCode(t, a)
	for deadline := time.Now().Add(15 * time.Second); code != http.StatusOK && time.Now().Before(deadline); code = readyCode(t, a) {
		time.Sleep(50 * time.Millisecond)
	}
	if code != http.StatusOK {
		t.Fatalf("/readyz %d after the brokers recovered", code)
	}
}

// readyCode calls the /readyz handler.
func readyCode(t *testing.T, s *Service) int {
	t.Helper()
	rec := httptest.NewRecorder()
	routes(s).ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	return rec.Code
}

// SIGTERM under load: Close stops fetching, finishes the batches in
// flight, checkpoints and commits within the deadline; a restarted member
// finishes with nothing lost or counted twice.
func TestShutdownUnderLoad(t *testing.T) {
	f := newFixture(t, 3000)
	want := f.reference()

	cfg := f.config("shutdown", "ckpt-shutdown", false)
	a := f.start(cfg)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < len(f.recs); i += 200 {
			f.produce(i, min(i+200, len(f.recs)))
		}
	}()
	for a.Processed() < int64(f.preds/3) && f.ctx.Err() == nil {
		time.Sleep(time.Millisecond)
	}
	start := time.Now()
	if err := a.Close(context.Background()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if took := time.Since(start); took > cfg.ShutdownTimeout {
		t.Fatalf("shutdown took %s, deadline %s", took, cfg.ShutdownTimeout)
	} else {
		t.Logf("shutdown under load took %s (deadline %s)", took, cfg.ShutdownTimeout)
	}
	a.Close(context.Background()) // safe twice
	<-done
	b := f.start(cfg)
	f.waitDone("shutdown")
	f.equalSoon(b, want, "after a graceful shutdown under load")
}

// Groups sharing a checkpoint topic keep apart: a second group starts from
// its own (no) offsets and counts everything, not from the first group's
// checkpoints.
func TestCheckpointTopicSharedByGroups(t *testing.T) {
	f := newFixture(t, 600)
	want := f.reference()
	f.produce(0, len(f.recs))
	for _, group := range []string{"first", "second"} {
		s := f.start(f.config(group, "ckpt-shared", false))
		f.waitDone(group)
		f.equalSoon(s, want, "group "+group)
		if err := s.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}
