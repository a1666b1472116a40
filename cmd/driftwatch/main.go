// Command driftwatch monitors machine-learning models for drift and quality
// loss. All behaviour lives in package cli so tests run it in-process.
package main

import (
	"os"

	"driftwatch/cli"
)

func main() { os.Exit(cli.Main(os.Args[1:], cli.Env{Stdout: os.Stdout, Stderr: os.Stderr})) }
