package service

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"driftwatch/config"
)

// serve authenticates with SASL/SCRAM against a broker that requires it,
// the password coming from the environment.
func TestSASL(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.EnableSASL(), kfake.Superuser("SCRAM-SHA-256", "dw", "s3cret"),
		kfake.SeedTopics(1, "predictions", "outcomes", "driftwatch-dead-letters"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close) // after the services' Close (cleanups run last in, first out)
	t.Setenv("DW_KAFKA_PASSWORD", "s3cret")
	s, _, ctx := startWith(t, fmt.Sprintf(`
kafka: {brokers: [%q], sasl: {mechanism: SCRAM-SHA-256, username: dw, password_env: DW_KAFKA_PASSWORD}}
models: [{name: credit, task: classification, versions: [{name: v1, reference: p.dwprof}], evaluate_every: 1h}]
`, c.ListenAddrs()[0]), nil)
	pr, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.DefaultProduceTopic("predictions"),
		kgo.SASL(scram.Auth{User: "dw", Pass: "s3cret"}.AsSha256Mechanism()))
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	for i := range 20 {
		pr.ProduceSync(ctx, &kgo.Record{Value: []byte(fmt.Sprintf(`{"id":"p%d","model":"credit","version":"v1","features":{"income":50}}`, i))})
	}
	waitProcessed(t, ctx, s, 20)

	// A wrong password or mechanism, or TLS against a plaintext listener:
	// the service does not start, within kafkaCheckTimeout, and says
	// authentication failed.
	for _, tc := range []struct{ name, password, kafka string }{
		{"wrong password", "wrong", `sasl: {mechanism: SCRAM-SHA-256, username: dw, password_env: DW_KAFKA_PASSWORD}`},
		{"wrong mechanism", "s3cret", `sasl: {mechanism: PLAIN, username: dw, password_env: DW_KAFKA_PASSWORD}`},
		{"TLS to plaintext", "s3cret", `tls: {enabled: true}, sasl: {mechanism: SCRAM-SHA-256, username: dw, password_env: DW_KAFKA_PASSWORD}`},
	} {
		t.Setenv("DW_KAFKA_PASSWORD", tc.password)
		cfg, err := config.Parse([]byte(fmt.Sprintf(`
kafka: {brokers: [%q], group: other, %s}
models: [{name: credit, task: classification, versions: [{name: v1, reference: p.dwprof}], evaluate_every: 1h}]
`, c.ListenAddrs()[0], tc.kafka)))
		if err != nil {
			t.Fatal(err)
		}
		cfg.Dir = s.cfg.Dir
		start := time.Now()
		bad, err := Start(ctx, Options{Config: cfg})
		took := time.Since(start)
		if err == nil {
			bad.Close(ctx)
			t.Fatalf("%s: started", tc.name)
		}
		if !strings.Contains(err.Error(), "kafka authentication failed") || took > 10*time.Second {
			t.Errorf("%s: start failed after %s with %v; want an authentication failure within 10s", tc.name, took.Round(time.Millisecond), err)
		} else {
			t.Logf("%s: start failed after %s: %v", tc.name, took.Round(time.Millisecond), err)
		}
	}
}

func TestKafkaOptsErrors(t *testing.T) {
	f := func(k config.Kafka, want string) {
		t.Helper()
		if _, err := kafkaOpts(k); err == nil || err.Error() != want {
			t.Fatalf("got %v, want %q", err, want)
		}
	}
	f(config.Kafka{SASL: config.SASL{Mechanism: "PLAIN", Username: "u", PasswordEnv: "DW_UNSET_FOR_TEST"}},
		`service: kafka.sasl.password_env: environment variable "DW_UNSET_FOR_TEST" is not set`)
	f(config.Kafka{TLS: config.TLS{Enabled: true, CAFile: "/nonexistent/ca.pem"}},
		`service: kafka.tls.ca_file: open /nonexistent/ca.pem: no such file or directory`)
}
