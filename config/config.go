// Package config loads driftwatch's YAML files: the service configuration of
// `driftwatch serve` and the drift configuration of `driftwatch check`. It
// parses strictly (an unknown key is an error naming the key and its line),
// fills defaults, and validates in one place, so every other package receives
// a complete, valid configuration. It starts nothing: the service packages
// act on what it returns.
package config

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"driftwatch/alerting"
	"driftwatch/broker"
	"driftwatch/detectors"
	"driftwatch/rollout"
)

// Example is a complete, commented configuration with every default.
//
//go:embed example.yaml
var Example []byte

// Config is the service configuration.
type Config struct {
	Kafka           Kafka         `yaml:"kafka"`
	Topics          Topics        `yaml:"topics"`
	Format          string        `yaml:"format"`
	Fields          Fields        `yaml:"fields"`
	MaxMessageBytes int           `yaml:"max_message_bytes"`
	Join            Join          `yaml:"join"`
	Checkpoint      Checkpoint    `yaml:"checkpoint"`
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// StallTimeout is how long a partition may have records waiting
	// without any being processed before the instance reports it stalled
	// (/readyz 503, driftwatch_partition_stalled 1).
	StallTimeout time.Duration   `yaml:"stall_timeout"`
	Defaults     Defaults        `yaml:"defaults"`
	Models       []Model         `yaml:"models"`
	Alerting     alerting.Config `yaml:"alerting"`

	// Dir is the directory of the config file; relative reference paths are
	// resolved against it.
	Dir string `yaml:"-"`
}

// Kafka says how to reach the cluster; no brokers means the embedded one.
type Kafka struct {
	Brokers      []string `yaml:"brokers"`
	EmbeddedAddr string   `yaml:"embedded_addr"`
	ClientID     string   `yaml:"client_id"`
	Group        string   `yaml:"group"`
	// SessionTimeout is how long the group waits for a member that stopped
	// answering before its partitions move. InstanceID, unique per
	// instance, makes the membership static: a restarted instance with
	// the same id takes its partitions back at once, without a rebalance,
	// but a stopped one keeps them until the session times out.
	SessionTimeout time.Duration `yaml:"session_timeout"`
	InstanceID     string        `yaml:"instance_id"`
	TLS            TLS           `yaml:"tls"`
	SASL           SASL          `yaml:"sasl"`
	// Compression is the codec of the record batches driftwatch produces
	// to the dead-letter topic: gzip by default, which every common client
	// decodes (kafkajs has no snappy, lz4 or zstd without extra packages).
	Compression Compression `yaml:"compression"`
	// Embedded configures the in-process broker started when Brokers is
	// empty.
	Embedded Embedded `yaml:"embedded"`
}

// Embedded configures the in-process broker.
type Embedded struct {
	Retention Retention `yaml:"retention"`
}

// Retention bounds the embedded broker's log, in memory and in the state
// directory. Every partition of the input topics keeps what the consumer
// group has not committed (commits follow checkpoints, so that is what no
// checkpoint covers yet) plus, below the committed offset, at most Time of
// records and at most about Bytes; the dead-letter topic, which the service
// does not consume, keeps Time and Bytes without the committed-offset guard.
// MaxBytes is the hard cap that holds even when the service stops
// committing: past it the broker deletes the oldest records, committed or
// not, so a stalled service cannot exhaust memory.
type Retention struct {
	// Time keeps committed records this long by their timestamp. 0 means
	// the longest event-time window (count windows do not count) plus its
	// lateness plus Margin; Parse replaces 0 with that value.
	Time     time.Duration `yaml:"time"`
	Margin   time.Duration `yaml:"margin"`
	Bytes    int64         `yaml:"bytes"`     // per partition, below the committed offset
	MaxBytes int64         `yaml:"max_bytes"` // per partition, hard; 0: none
	// Interval is how often retention runs (the broker's
	// log.cleaner.backoff.ms, which also compacts the checkpoint topic).
	Interval time.Duration `yaml:"interval"`
}

// Broker is the retention as package broker applies it: group is the
// consumer group whose committed offsets guard the consumed topics.
func (r Retention) Broker(group string, consumed ...string) *broker.Retention {
	return &broker.Retention{Time: r.Time, Bytes: r.Bytes, MaxBytes: r.MaxBytes, Interval: r.Interval,
		Group: group, Consumed: consumed}
}

// retentionTime is the default Time: the longest event-time window plus
// its lateness (the event time one window spans) plus margin.
func (c *Config) retentionTime() time.Duration {
	var longest time.Duration
	for _, m := range c.Models {
		if m.Window.Count == 0 {
			longest = max(longest, m.Window.Length+m.Window.Lateness)
		}
	}
	return longest + c.Kafka.Embedded.Retention.Margin
}

// Compression is a Kafka producer compression codec.
type Compression string

// Producer compression codecs.
const (
	CompressionNone   Compression = "none"
	CompressionGzip   Compression = "gzip"
	CompressionSnappy Compression = "snappy"
	CompressionLZ4    Compression = "lz4"
	CompressionZstd   Compression = "zstd"
)

// TLS client settings.
type TLS struct {
	Enabled            bool   `yaml:"enabled"`
	CAFile             string `yaml:"ca_file"`
	CertFile           string `yaml:"cert_file"`
	KeyFile            string `yaml:"key_file"`
	ServerName         string `yaml:"server_name"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify"`
}

// SASL settings; the password comes from an environment variable so it never
// sits in the file.
type SASL struct {
	Mechanism   string `yaml:"mechanism"`
	Username    string `yaml:"username"`
	PasswordEnv string `yaml:"password_env"`
}

// Topics names the topics.
type Topics struct {
	Predictions string `yaml:"predictions"`
	Outcomes    string `yaml:"outcomes"`
	DeadLetters string `yaml:"dead_letters"`
}

// Fields maps event fields to names.
type Fields struct {
	ID         string `yaml:"id"`
	Model      string `yaml:"model"`
	Version    string `yaml:"version"`
	TS         string `yaml:"ts"`
	Features   string `yaml:"features"`
	Prediction string `yaml:"prediction"`
	Score      string `yaml:"score"`
	Scores     string `yaml:"scores"`
	LatencyMS  string `yaml:"latency_ms"`
	Error      string `yaml:"error"`
	Label      string `yaml:"label"`
	Value      string `yaml:"value"`
}

// Join bounds the prediction/outcome join.
type Join struct {
	MaxPending int           `yaml:"max_pending"`
	TTL        time.Duration `yaml:"ttl"`
	MaxEarly   int           `yaml:"max_early"`
	EarlyTTL   time.Duration `yaml:"early_ttl"`
}

// Checkpoint says where and how often each partition's state is saved
// together with the offsets it covers.
type Checkpoint struct {
	Interval time.Duration `yaml:"interval"`
	// Dir, when set, keeps checkpoints (and the embedded broker's log) in a
	// local directory; otherwise Topic, a compacted Kafka topic, holds them.
	Dir   string `yaml:"dir"`
	Topic string `yaml:"topic"`
	// Compression is the codec of checkpoint records on the topic; only
	// driftwatch reads them, so the cheap lz4 is the default.
	Compression Compression `yaml:"compression"`
}

// Window is an event-time sliding window of panes, or a count window.
type Window struct {
	Length   time.Duration `yaml:"length"`
	Pane     time.Duration `yaml:"pane"`
	Lateness time.Duration `yaml:"lateness"`
	Count    int           `yaml:"count"`
}

// Defaults apply to every model unless it overrides them.
type Defaults struct {
	Window        Window        `yaml:"window"`
	EvaluateEvery time.Duration `yaml:"evaluate_every"`
	MinSamples    int           `yaml:"min_samples"`
	// HighConfidence: a prediction whose confidence (max(score, 1 − score),
	// or the largest class probability) reaches it counts as high-confidence.
	HighConfidence float64          `yaml:"high_confidence"`
	Drift          detectors.Config `yaml:"drift"`
}

// Model is one monitored model.
type Model struct {
	Name           string           `yaml:"name"`
	Task           string           `yaml:"task"`
	Positive       string           `yaml:"positive"`
	Versions       []Version        `yaml:"versions"`
	Features       []Feature        `yaml:"features"`
	Window         Window           `yaml:"window"`
	EvaluateEvery  time.Duration    `yaml:"evaluate_every"`
	MinSamples     int              `yaml:"min_samples"`
	HighConfidence float64          `yaml:"high_confidence"`
	Drift          detectors.Config `yaml:"drift"`
	// Rollout compares a candidate version with the stable one (nil: no
	// rollout); keys it leaves out take rollout.DefaultConfig's values.
	Rollout *rollout.Config `yaml:"rollout"`
}

// Version is a model version and its reference profile.
type Version struct {
	Name      string `yaml:"name"`
	Reference string `yaml:"reference"`
}

// Feature is a monitored input.
type Feature struct {
	Name string `yaml:"name"`
	Kind string `yaml:"kind"`
}

// MaxMessageBytesLimit bounds max_message_bytes: a dead letter is a
// message plus headers, and a Kafka client writes at most 100 MiB to a
// broker at once.
const MaxMessageBytesLimit = 64 << 20

// DefaultStallTimeout is stall_timeout's default: far above the time one
// fetch takes, below the time an operator would notice by hand.
const DefaultStallTimeout = 2 * time.Minute

// DefaultPositive is a classifier's positive class (F1, AUC, ECE) when the
// model does not name one.
const DefaultPositive = "1"

// Default returns the defaults, which are also what Example shows.
func Default() Config {
	return Config{
		Kafka: Kafka{EmbeddedAddr: "127.0.0.1:9092", ClientID: "driftwatch", Group: "driftwatch", SessionTimeout: 45 * time.Second,
			Compression: CompressionGzip,
			Embedded:    Embedded{Retention: Retention{Margin: 10 * time.Minute, Bytes: 64 << 20, MaxBytes: 256 << 20, Interval: 10 * time.Second}}},
		Topics:          Topics{Predictions: "predictions", Outcomes: "outcomes", DeadLetters: "driftwatch-dead-letters"},
		Format:          "json",
		Fields:          Fields{ID: "id", Model: "model", Version: "version", TS: "ts", Features: "features", Prediction: "prediction", Score: "score", Scores: "scores", LatencyMS: "latency_ms", Error: "error", Label: "label", Value: "value"},
		MaxMessageBytes: 1 << 20,
		Join:            Join{MaxPending: 1_000_000, TTL: 24 * time.Hour, MaxEarly: 100_000, EarlyTTL: 10 * time.Minute},
		Checkpoint:      Checkpoint{Interval: 10 * time.Second, Topic: "driftwatch-checkpoints", Compression: CompressionLZ4},
		ShutdownTimeout: 10 * time.Second,
		StallTimeout:    DefaultStallTimeout,
		Defaults: Defaults{
			Window:         Window{Length: time.Hour, Pane: time.Minute, Lateness: 5 * time.Minute},
			EvaluateEvery:  30 * time.Second,
			MinSamples:     500,
			HighConfidence: 0.9,
			Drift:          detectors.DefaultConfig(),
		},
		Alerting: alerting.DefaultConfig(),
	}
}

// Load reads and validates the service configuration at path.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: cannot open %q: %w", path, err)
	}
	c, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("config: %q: %w", path, err)
	}
	c.Dir = filepath.Dir(path)
	return c, nil
}

// Parse parses and validates configuration bytes on top of the defaults.
// Model overrides start from the defaults in force.
func Parse(data []byte) (*Config, error) {
	c := Default()
	if err := decodeStrict(data, &c); err != nil {
		return nil, err
	}
	// A model's settings start from the defaults in force, so a partial
	// override (drift: {bins: 20}) keeps the other defaults. The strict pass
	// above has checked every key; this one re-decodes each model onto them.
	var doc struct {
		Models []yaml.Node `yaml:"models"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, yamlError(data, err)
	}
	for i := range c.Models {
		m := Model{Positive: DefaultPositive, Window: c.Defaults.Window, EvaluateEvery: c.Defaults.EvaluateEvery,
			MinSamples: c.Defaults.MinSamples, HighConfidence: c.Defaults.HighConfidence, Drift: c.Defaults.Drift}
		m.Drift.Features = maps.Clone(c.Defaults.Drift.Features)
		if err := doc.Models[i].Decode(&m); err != nil {
			return nil, yamlError(data, err)
		}
		if m.Rollout != nil {
			r := rollout.DefaultConfig()
			if err := mapValue(&doc.Models[i], "rollout").Decode(&r); err != nil {
				return nil, yamlError(data, err)
			}
			m.Rollout = &r
		}
		c.Models[i] = m
	}
	err := c.validate()
	if err == nil && c.Kafka.Embedded.Retention.Time == 0 {
		c.Kafka.Embedded.Retention.Time = c.retentionTime()
	}
	return &c, err
}

// mapValue is the value of key in a YAML mapping (the strict pass has seen
// it there).
func mapValue(n *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return &yaml.Node{}
}

// LoadCheck reads the drift configuration of `driftwatch check`.
func LoadCheck(path string) (detectors.Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return detectors.Config{}, fmt.Errorf("config: cannot open %q: %w", path, err)
	}
	c, err := ParseCheck(data)
	if err != nil {
		return detectors.Config{}, fmt.Errorf("config: %q: %w", path, err)
	}
	return c, nil
}

// ParseCheck parses a drift configuration on top of detectors' defaults.
func ParseCheck(data []byte) (detectors.Config, error) {
	c := detectors.DefaultConfig()
	if err := decodeStrict(data, &c); err != nil {
		return detectors.Config{}, err
	}
	return c, c.Validate()
}

// decodeStrict decodes one YAML document into v, rejecting unknown keys.
func decodeStrict(data []byte, v any) error {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		return yamlError(data, err)
	}
	return nil
}

var (
	unknownField = regexp.MustCompile(`^line (\d+): field (.+) not found in type \S+$`)
	// typeError is yaml.v3's message for a value of the wrong kind; it
	// quotes the value's first characters.
	typeError = regexp.MustCompile("^line (\\d+): cannot unmarshal (!!\\S+) `.*` into (.+)$")
)

// yamlError rewrites yaml.v3's type errors into one line per problem, with
// unknown keys named as such: `line 3: unknown key "binz"`. A value of the
// wrong kind on a line that holds a secret-bearing key (see secretKey) is
// not quoted: `line 6: cannot unmarshal !!str (value of "headers" not
// shown) into map[string]alerting.Secret`.
func yamlError(data []byte, err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return err
	}
	var secretLines map[int]string
	msgs := make([]string, len(te.Errors))
	for i, m := range te.Errors {
		if g := unknownField.FindStringSubmatch(m); g != nil {
			m = fmt.Sprintf("line %s: unknown key %q", g[1], g[2])
		} else if g := typeError.FindStringSubmatch(m); g != nil {
			if secretLines == nil {
				secretLines = secretKeyLines(data)
			}
			if key, ok := secretLines[lineNumber(g[1])]; ok {
				m = fmt.Sprintf("line %s: cannot unmarshal %s (value of %q not shown) into %s", g[1], g[2], key, g[3])
			}
		}
		msgs[i] = m
	}
	return errors.New(strings.Join(msgs, "; "))
}

func lineNumber(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// secretKeyLines maps the lines of data that hold a key or value under a
// secret-bearing key to that key. Data that does not parse maps nothing.
func secretKeyLines(data []byte) map[int]string {
	out := map[int]string{}
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil {
		return out
	}
	var walk func(n *yaml.Node, secret string)
	walk = func(n *yaml.Node, secret string) {
		if n == nil {
			return
		}
		if secret != "" {
			out[n.Line] = secret
		}
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				s := secret
				if secretKey(k.Value) { // the innermost names it
					s = k.Value
				}
				if s != "" {
					out[k.Line] = s
				}
				walk(v, s)
			}
			return
		}
		for _, c := range n.Content {
			walk(c, secret)
		}
	}
	walk(&doc, "")
	return out
}

// secretKey reports whether values under a key may hold a credential:
// headers, secrets, passwords, tokens and keys, URLs (tokens in the query
// or path), and whole notifier and Kafka security sections, whose wrongly
// typed value may be a credential typed in the wrong place.
func secretKey(k string) bool {
	switch k = strings.ToLower(k); k {
	case "headers", "url", "urls", "webhook_url", "api_url", "status_url", "dashboard_url", "brokers",
		"notifiers", "webhook", "slack", "pagerduty", "alertmanager", "sasl", "tls":
		return true
	}
	for _, s := range []string{"secret", "password", "token", "key", "auth", "credential"} {
		if strings.Contains(k, s) {
			return true
		}
	}
	return false
}
