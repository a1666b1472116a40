// Package broker runs the embedded Kafka-protocol broker, franz-go's
// in-process kfake cluster, that driftwatch uses when no brokers are
// configured: the service and the demo then run on a fresh machine with no
// Kafka installed, and any Kafka client (kcat, a producer library) can talk
// to it on a loopback port. It starts, seeds and stops the broker and
// bounds its log (Retention); consuming and committing are left to package
// consumer, checkpoints to the service.
package broker

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"sync"

	"github.com/twmb/franz-go/pkg/kfake"
)

// Options configure the embedded broker.
type Options struct {
	// Addr is host:port to listen on; the host must be a loopback address,
	// port 0 picks a free one.
	Addr string
	// Topics are created with Partitions partitions each.
	Topics     []string
	Partitions int32
	// MaxMessageBytes, when positive, is the largest record batch the
	// broker accepts (message.max.bytes); 0 keeps Kafka's default.
	MaxMessageBytes int
	// DataDir keeps the broker's data across restarts; empty keeps it in
	// memory only.
	DataDir string
	// Retention bounds the topics' logs; nil keeps every record.
	Retention *Retention
}

// Embedded is a running in-process broker.
type Embedded struct {
	cluster   *kfake.Cluster
	closeOnce sync.Once
	ret       *retainer // nil without retention
}

// Start starts the broker and creates the topics.
func Start(opt Options) (*Embedded, error) {
	host, portText, err := net.SplitHostPort(opt.Addr)
	if err != nil {
		return nil, fmt.Errorf("broker: listen address %q: %w", opt.Addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		// kfake listens on 127.0.0.1 only; refusing other hosts keeps the
		// configuration honest about where the broker is reachable.
		return nil, fmt.Errorf("broker: listen address %q: the embedded broker listens on loopback only", opt.Addr)
	}
	port, err := strconv.Atoi(portText)
	if err != nil || port < 0 || port > 65535 {
		return nil, fmt.Errorf("broker: listen address %q: bad port", opt.Addr)
	}
	if opt.Partitions <= 0 {
		opt.Partitions = 1
	}
	opts := []kfake.Opt{kfake.NumBrokers(1), kfake.SeedTopics(opt.Partitions, opt.Topics...)}
	if opt.MaxMessageBytes > 0 {
		opts = append(opts, kfake.BrokerConfigs(map[string]string{"message.max.bytes": strconv.Itoa(opt.MaxMessageBytes)}))
	}
	if port != 0 {
		opts = append(opts, kfake.Ports(port))
	}
	if opt.DataDir != "" {
		opts = append(opts, kfake.DataDir(opt.DataDir))
	}
	if r := opt.Retention; r != nil {
		if err := r.validate(); err != nil {
			return nil, err
		}
		// The cleaner applies the hard cap (retention.bytes) and compacts
		// compacted topics, such as a checkpoint topic, on this interval.
		opts = append(opts, kfake.BrokerConfigs(map[string]string{
			"log.cleaner.backoff.ms": strconv.FormatInt(r.Interval.Milliseconds(), 10)}))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		return nil, fmt.Errorf("broker: cannot start the embedded broker on %s: %w", opt.Addr, err)
	}
	e := &Embedded{cluster: c}
	if opt.Retention != nil {
		if e.ret, err = startRetainer(c.ListenAddrs(), opt.Topics, *opt.Retention); err != nil {
			c.Close()
			return nil, err
		}
	}
	return e, nil
}

// Addrs returns the addresses clients dial.
func (e *Embedded) Addrs() []string { return e.cluster.ListenAddrs() }

// Cluster exposes the kfake cluster for fault injection in tests.
func (e *Embedded) Cluster() *kfake.Cluster { return e.cluster }

// Retain runs one retention pass now (the broker also runs one every
// Retention.Interval); without retention it does nothing.
func (e *Embedded) Retain(ctx context.Context) error {
	if e.ret == nil {
		return nil
	}
	return e.ret.pass(ctx)
}

// Close stops the broker; it is safe to call more than once.
func (e *Embedded) Close() {
	e.closeOnce.Do(func() {
		if e.ret != nil {
			e.ret.stop()
		}
		e.cluster.Close()
	})
}
