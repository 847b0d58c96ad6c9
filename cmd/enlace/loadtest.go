package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/enlace-rfl/enlace/loadtest"
)

// errLoadtestFailed is the exit status 1 of a load test that lost, doubled
// or reordered replies; the report says which.
var errLoadtestFailed = errors.New("loadtest: replies lost, doubled, out of order or refused (see the report)")

// loadtestCmd runs `enlace loadtest`: serve gets the variables Enlace reads
// from this environment (REDIS_URL, ENLACE_WORKERS…), and the load test adds
// the stand-ins' settings.
func loadtestCmd(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	cfg, asJSON, err := loadtest.ParseFlags(args)
	if err != nil {
		return usageError{err.Error() + "\n" + loadtest.Usage}
	}
	if cfg.Serves > 1 && getenv("REDIS_URL") == "" {
		return usageError{fmt.Sprintf("loadtest: -serves %d needs REDIS_URL: the embedded store belongs to one process\n%s", cfg.Serves, loadtest.Usage)}
	}
	for _, o := range allOptions() {
		if v := getenv(o.Name); v != "" {
			cfg.Env = append(cfg.Env, o.Name+"="+v)
		}
	}
	cfg.Command = loadtestServe
	cfg.Env = append(cfg.Env, loadtestEnv...)
	cfg.Progress = stderr
	if loadtestAct != nil {
		cfg.Act, cfg.ActAfter = loadtestAct(cfg)
	}
	rep, err := loadtest.Run(ctx, cfg)
	if err != nil {
		return err
	}
	if err := rep.Write(stdout, asJSON); err != nil {
		return err
	}
	if !rep.OK() {
		return errLoadtestFailed
	}
	return nil
}

// loadtestServe is how `enlace loadtest` runs serve, and loadtestEnv what
// else serve's environment holds: nil, this binary as it is (a test runs its
// own binary as enlace instead, see TestMain).
var loadtestServe, loadtestEnv []string

// loadtestAct, set by a test, gives what to do during the run and after how
// many accepted messages (a Redis failover).
var loadtestAct func(loadtest.Config) (func() error, int)
