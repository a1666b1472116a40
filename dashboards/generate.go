//go:build ignore

// generate writes the dashboards' JSON and the Prometheus rules file from
// the code in this package. Run: go generate ./dashboards/ (or make
// dashboards) from the repository root.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"driftwatch/dashboards"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run() error {
	boards, err := dashboards.Boards()
	if err != nil {
		return err
	}
	files := map[string][]byte{}
	for _, b := range boards {
		if files[b.File], err = dashboards.JSON(b.Dashboard); err != nil {
			return err
		}
	}
	if files[dashboards.RulesFile], err = dashboards.Rules(); err != nil {
		return err
	}
	if files[dashboards.InhibitFile], err = dashboards.Inhibit(); err != nil {
		return err
	}
	for name, data := range files {
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(name, data, 0o644); err != nil {
			return err
		}
	}
	return nil
}
