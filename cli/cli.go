// Package cli implements the driftwatch command line: it parses flags into
// options and calls the packages that do the work, so tests run every
// command in-process. It owns exit codes and user-facing messages, nothing
// else.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"driftwatch/stats"
)

// Exit codes of every command.
const (
	ExitOK    = 0 // no drift, gates pass
	ExitDrift = 1 // drift detected or a gate failed
	ExitUsage = 2 // usage or input error
)

// Env is what a command may touch besides its flags.
type Env struct {
	Stdout, Stderr io.Writer
	// Ctx ends long-running commands (serve); main cancels it on SIGINT or
	// SIGTERM.
	Ctx context.Context
}

// usageError marks errors that are the caller's fault (exit 2) without
// wrapping another error.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

const usage = `driftwatch: streaming drift and quality monitor for machine-learning models

Usage:
  driftwatch demo [--duration 90s] [--drift-at 30s] [--summary FILE] [--batch]
                                            live demo: embedded broker, monitor, drifting producer
  driftwatch check --reference REF --current CUR [flags]
                                            compare current data to a reference; exit 1 on drift
  driftwatch estimate --reference REF --current CUR --score COL --prediction COL --label COL [flags]
                                            estimate performance from scores before labels arrive (CBPE); exit 1 when a gate fails
  driftwatch profile build --input REF --out FILE [flags]
                                            write a reference profile
  driftwatch profile calibrate --profile FILE --rate N/s [flags]
                                            store thresholds for a false-alarm budget (threshold: auto)
  driftwatch serve --config FILE [--http ADDR]
                                            run the streaming monitor (embedded broker when no brokers are set)
  driftwatch config example | config check FILE
                                            print a complete service config, or validate one
  driftwatch version

Run 'driftwatch COMMAND -h' for a command's flags.
`

// Main runs the command in args (without the program name) and returns the
// process exit code.
func Main(args []string, env Env) int {
	if len(args) == 0 {
		fmt.Fprint(env.Stderr, usage)
		return ExitUsage
	}
	var (
		code int
		err  error
	)
	switch args[0] {
	case "check":
		code, err = runCheck(args[1:], env)
	case "estimate":
		code, err = runEstimate(args[1:], env)
	case "profile":
		switch {
		case len(args) >= 2 && args[1] == "build":
			err = runProfileBuild(args[2:], env)
		case len(args) >= 2 && args[1] == "calibrate":
			err = runProfileCalibrate(args[2:], env)
		default:
			err = usagef("usage: driftwatch profile build --input REF --out FILE | profile calibrate --profile FILE --rate N/s")
		}
	case "config":
		err = runConfig(args[1:], env)
	case "serve":
		err = runServe(args[1:], env)
	case "demo":
		code, err = runDemo(args[1:], env)
	case "version":
		fmt.Fprintln(env.Stdout, "driftwatch", Version, "kernel="+stats.ActiveKernel().String())
	case "-h", "--help", "help":
		fmt.Fprint(env.Stdout, usage)
	default:
		err = usagef("unknown command %q\n\n%s", args[0], usage)
	}
	if errors.Is(err, flag.ErrHelp) {
		return ExitOK
	}
	if err != nil {
		fmt.Fprintf(env.Stderr, "driftwatch: %v\n", err)
		return ExitUsage
	}
	return code
}

// Version is set at build time with -ldflags "-X driftwatch/cli.Version=…".
var Version = "dev"

// newFlags returns a flag set that reports errors instead of exiting.
func newFlags(name string, env Env) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	return fs
}

// parse parses flags and rejects positional arguments, which every command
// takes as flags.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return usagef("%s: unexpected argument %q", fs.Name(), fs.Arg(0))
	}
	return nil
}

// listFlag splits a comma-separated flag value, skipping empty items.
func listFlag(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
