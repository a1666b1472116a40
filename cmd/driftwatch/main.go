// Command driftwatch monitors machine-learning models for drift and quality
// loss. All behaviour lives in package cli so tests run it in-process.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"driftwatch/cli"
)

func main() { os.Exit(run()) }

func run() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return cli.Main(os.Args[1:], cli.Env{Stdout: os.Stdout, Stderr: os.Stderr, Ctx: ctx})
}
