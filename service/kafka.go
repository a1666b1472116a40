package service

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"driftwatch/config"
)

// kafkaOpts turns the config's TLS and SASL settings into client options.
// The SASL password comes from the environment variable password_env
// names, so it never sits in the file; an unset variable is an error.
// groupOpts are the consumer group's settings, for any broker, and its
// dead-letter producer's compression.
func groupOpts(k config.Kafka) []kgo.Opt {
	opts := []kgo.Opt{kgo.SessionTimeout(k.SessionTimeout), compression(k.Compression)}
	if k.InstanceID != "" {
		opts = append(opts, kgo.InstanceID(k.InstanceID))
	}
	return opts
}

func kafkaOpts(k config.Kafka) ([]kgo.Opt, error) {
	var opts []kgo.Opt
	if t := k.TLS; t.Enabled {
		c := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName, InsecureSkipVerify: t.InsecureSkipVerify}
		if t.CAFile != "" {
			pem, err := os.ReadFile(t.CAFile)
			if err != nil {
				return nil, fmt.Errorf("service: kafka.tls.ca_file: %w", err)
			}
			c.RootCAs = x509.NewCertPool()
			if !c.RootCAs.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("service: kafka.tls.ca_file %q holds no PEM certificate", t.CAFile)
			}
		}
		if t.CertFile != "" || t.KeyFile != "" {
			cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
			if err != nil {
				return nil, fmt.Errorf("service: kafka.tls.cert_file/key_file: %w", err)
			}
			c.Certificates = []tls.Certificate{cert}
		}
		opts = append(opts, kgo.DialTLSConfig(c))
	}
	if s := k.SASL; s.Mechanism != "" {
		pass, ok := os.LookupEnv(s.PasswordEnv)
		if !ok {
			return nil, fmt.Errorf("service: kafka.sasl.password_env: environment variable %q is not set", s.PasswordEnv)
		}
		switch s.Mechanism {
		case "PLAIN":
			opts = append(opts, kgo.SASL(plain.Auth{User: s.Username, Pass: pass}.AsMechanism()))
		case "SCRAM-SHA-256":
			opts = append(opts, kgo.SASL(scram.Auth{User: s.Username, Pass: pass}.AsSha256Mechanism()))
		case "SCRAM-SHA-512":
			opts = append(opts, kgo.SASL(scram.Auth{User: s.Username, Pass: pass}.AsSha512Mechanism()))
		}
	}
	return opts, nil
}

// compression is the producer option for a configured codec.
func compression(c config.Compression) kgo.Opt {
	codec := map[config.Compression]kgo.CompressionCodec{
		config.CompressionNone: kgo.NoCompression(), config.CompressionGzip: kgo.GzipCompression(),
		config.CompressionSnappy: kgo.SnappyCompression(), config.CompressionLZ4: kgo.Lz4Compression(),
		config.CompressionZstd: kgo.ZstdCompression(),
	}[c]
	return kgo.ProducerBatchCompression(codec)
}
