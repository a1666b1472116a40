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
