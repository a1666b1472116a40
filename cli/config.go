package cli

import (
	"fmt"

	"driftwatch/config"
)

// runConfig implements `config example` and `config check FILE`.
func runConfig(args []string, env Env) error {
	switch {
	case len(args) == 1 && args[0] == "example":
		_, err := env.Stdout.Write(config.Example)
		return err
	case len(args) == 2 && args[0] == "check":
		c, err := config.Load(args[1])
		if err != nil {
			return err
		}
		noun := "models"
		if len(c.Models) == 1 {
			noun = "model"
		}
		fmt.Fprintf(env.Stdout, "%s: valid, %d %s\n", args[1], len(c.Models), noun)
		return nil
	}
	return usagef("usage: driftwatch config example | driftwatch config check FILE")
}
