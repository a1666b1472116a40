package service

import (
	"fmt"
	"testing"

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

	// A wrong password is refused by the broker: the service does not start.
	t.Setenv("DW_KAFKA_PASSWORD", "wrong")
	cfg, err := config.Parse([]byte(fmt.Sprintf(`
kafka: {brokers: [%q], group: other, sasl: {mechanism: SCRAM-SHA-256, username: dw, password_env: DW_KAFKA_PASSWORD}}
models: [{name: credit, task: classification, versions: [{name: v1, reference: p.dwprof}], evaluate_every: 1h}]
`, c.ListenAddrs()[0])))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Dir = s.cfg.Dir
	if bad, err := Start(ctx, Options{Config: cfg}); err == nil {
		bad.Close(ctx)
		t.Fatal("started with a wrong password")
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
