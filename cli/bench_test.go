package cli

import (
	"io"
	"os"
	"testing"
)

// BenchmarkCheckE2E runs `check` on the bench/e2e.sh data when present
// (go run ./bench/gen -out bench/data).
func BenchmarkCheckE2E(b *testing.B) {
	ref, cur := "../bench/data/reference.csv", "../bench/data/current.csv"
	if _, err := os.Stat(ref); err != nil {
		b.Skip("no bench data: go run ./bench/gen -out bench/data")
	}
	for b.Loop() {
		code := Main([]string{"check", "--reference", ref, "--current", cur}, Env{Stdout: io.Discard, Stderr: io.Discard})
		if code == ExitUsage {
			b.Fatal("check failed")
		}
	}
}

// BenchmarkEstimateE2E runs `estimate` on the bench/estimate data when
// present (sh bench/estimate/run.sh writes it).
func BenchmarkEstimateE2E(b *testing.B) {
	ref, cur := "../bench/estimate/data/reference.csv", "../bench/estimate/data/current.csv"
	if _, err := os.Stat(ref); err != nil {
		b.Skip("no bench data: sh bench/estimate/run.sh")
	}
	for b.Loop() {
		code := Main([]string{"estimate", "--reference", ref, "--current", cur, "--label", "y", "--score", "score",
			"--prediction", "pred", "--calibration", "always"}, Env{Stdout: io.Discard, Stderr: io.Discard})
		if code != ExitOK {
			b.Fatal("estimate failed")
		}
	}
}
