package cli

import (
	"context"
	"fmt"
	"log/slog"

	"driftwatch/config"
	"driftwatch/service"
)

// runServe runs the service until the context ends (SIGINT or SIGTERM).
func runServe(args []string, env Env) error {
	var cfgPath, httpAddr, grafana string
	fs := newFlags("serve", env)
	fs.StringVar(&cfgPath, "config", "", "service configuration (see 'driftwatch config example')")
	fs.StringVar(&httpAddr, "http", "127.0.0.1:8080", "listen address for the status page, /metrics, health and the API")
	fs.StringVar(&grafana, "grafana-url", "", "Grafana dashboard to link from the status page")
	if err := parse(fs, args); err != nil {
		return err
	}
	if cfgPath == "" {
		return usagef("serve: --config is required")
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		return err
	}
	ctx := env.Ctx
	if ctx == nil {
		ctx = context.Background()
	}
	log := slog.New(slog.NewTextHandler(env.Stderr, nil))
	s, err := service.Start(ctx, service.Options{Config: cfg, HTTPAddr: httpAddr, Logger: log, GrafanaURL: grafana})
	if err != nil {
		return err
	}
	log.Info("driftwatch serving", "http", s.HTTPAddr(), "brokers", fmt.Sprint(s.Brokers()))
	<-ctx.Done()
	log.Info("driftwatch stopping", "cause", context.Cause(ctx)) // names the signal
	// Shutdown: stop fetching, finish in-flight batches, last checkpoint and
	// commit, leave the group, all within shutdown_timeout.
	closeCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	return s.Close(closeCtx)
}
