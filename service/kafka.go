package service

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"driftwatch/config"
)

// kafkaOpts turns the config's TLS and SASL settings into client options.
// The SASL password comes from the environment variable password_env
// names, so it never sits in the file; an unset variable is an error.
// groupOpts are the consumer group's settings, for any broker (the
// instance id goes to the consumer, which leaves with it on Close), and
// its dead-letter producer's compression.
func groupOpts(k config.Kafka) []kgo.Opt {
	return []kgo.Opt{kgo.SessionTimeout(k.SessionTimeout), compression(k.Compression)}
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

// kafkaCheckTimeout bounds the connection check at start: a wrong
// password, SASL mechanism or TLS setting fails start this soon, naming
// the cause, instead of surfacing as EOF from a later request.
const kafkaCheckTimeout = 8 * time.Second

// checkKafka connects to the brokers with the client options and asks one
// for metadata, and explains a failure in terms of the config.
func checkKafka(ctx context.Context, k config.Kafka, brokers []string, opts []kgo.Opt) error {
	ctx, cancel := context.WithTimeout(ctx, kafkaCheckTimeout)
	defer cancel()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(brokers...)}, opts...)...)
	if err != nil {
		return fmt.Errorf("service: kafka client: %w", err)
	}
	defer cl.Close()
	err = cl.Ping(ctx)
	if err == nil {
		return nil
	}
	var (
		unknownCA   x509.UnknownAuthorityError
		hostname    x509.HostnameError
		invalidCert x509.CertificateInvalidError
		verify      *tls.CertificateVerificationError
		record      tls.RecordHeaderError
	)
	switch {
	case errors.Is(err, kerr.SaslAuthenticationFailed), errors.Is(err, kerr.UnsupportedSaslMechanism), errors.Is(err, kerr.IllegalSaslState):
		return fmt.Errorf("service: kafka authentication failed: the brokers refused SASL mechanism %q for user %q (check kafka.sasl and the password in $%s): %w",
			k.SASL.Mechanism, k.SASL.Username, k.SASL.PasswordEnv, err)
	case errors.As(err, &unknownCA), errors.As(err, &hostname), errors.As(err, &invalidCert), errors.As(err, &verify):
		return fmt.Errorf("service: kafka authentication failed: the brokers' TLS certificate is not trusted (check kafka.tls ca_file and server_name): %w", err)
	case errors.As(err, &record):
		return fmt.Errorf("service: kafka authentication failed: the brokers do not speak TLS on %v (kafka.tls.enabled is true): %w", brokers, err)
	case (k.TLS.Enabled || k.SASL.Mechanism != "") &&
		(errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET)):
		return fmt.Errorf("service: kafka authentication failed: the brokers closed the connection during the handshake: a wrong password, SASL mechanism or security protocol (kafka.tls.enabled %v, kafka.sasl.mechanism %q, user %q): %w",
			k.TLS.Enabled, k.SASL.Mechanism, k.SASL.Username, err)
	case k.TLS.Enabled && (errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded)):
		// A plaintext listener takes the TLS ClientHello for the start of
		// a huge request and waits for the rest.
		return fmt.Errorf("service: kafka authentication failed: no TLS handshake with %v completed within %s (is the listener plaintext? kafka.tls.enabled is true): %w",
			brokers, kafkaCheckTimeout, err)
	case !k.TLS.Enabled && k.SASL.Mechanism == "" &&
		(errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET)):
		return fmt.Errorf("service: kafka authentication failed: the brokers closed the connection (they may require TLS or SASL: kafka.tls, kafka.sasl): %w", err)
	}
	return fmt.Errorf("service: no kafka broker of %v answered within %s: %w", brokers, kafkaCheckTimeout, err)
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
