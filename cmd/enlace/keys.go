package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/enlace-rfl/enlace/bot"
	"github.com/enlace-rfl/enlace/staff"
	"github.com/enlace-rfl/enlace/tracing"
)

// resealOutput is what `enlace keys reseal` prints: the people's report, its
// before counting staff records too, and the staff's own.
type resealOutput struct {
	bot.ResealReport
	Staff *staff.ResealReport `json:"staff,omitempty"`
	// Cases is the tracing cases' report.
	Cases *tracing.ResealReport `json:"cases,omitempty"`
}

const keysUsage = `usage: enlace keys reseal [--data DIR]

Seals every record again with the first key of ENLACE_SECRET_KEY, the
people's, the staff's (accounts, sessions, audit log) and the tracing
cases', so that older sealing keys can be dropped. --data DIR is the embedded store's
directory (default ENLACE_DATA_DIR); with REDIS_URL set, Redis is used.`

// keysCmd manages the keys of ENLACE_SECRET_KEY: `reseal` seals every record
// again with the current key, the people's, the staff's (accounts,
// sessions, audit log) and the tracing cases', so that an older key can be dropped.
func keysCmd(ctx context.Context, cfg config, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("keys")
	data := fs.String("data", "", "directory of the embedded store (overrides ENLACE_DATA_DIR)")
	rest, err := parseInterleaved(fs, args)
	if err != nil {
		return usageError{err.Error() + "\n" + keysUsage}
	}
	if len(rest) != 1 || rest[0] != "reseal" {
		return usageError{"keys: want `reseal`\n" + keysUsage}
	}
	if *data != "" {
		cfg.DataDir = *data
	}
	keys, err := loadKeys(cfg, true, stderr)
	if err != nil {
		return err
	}
	a, err := buildApp(ctx, cfg, keys, newLogger(stderr, cfg.LogLevel), nil)
	if err != nil {
		return err
	}
	defer a.store.Close()
	rep, err := a.pipeline.Reseal(ctx)
	if err != nil {
		return err
	}
	out := resealOutput{ResealReport: rep}
	if ss, ok := a.store.(staff.Store); ok {
		srep, err := staff.New(staffConfig(cfg, ss, keys)).Reseal(ctx)
		if err != nil {
			return err
		}
		out.Staff = &srep
		// One report: before counts every record, people's and staff's.
		for id, n := range srep.Before {
			out.Before[id] += n
		}
	}
	if cs, ok := a.store.(tracing.Store); ok {
		crep, err := tracing.ResealCases(ctx, cs, keys)
		if err != nil {
			return err
		}
		out.Cases = &crep
		for id, n := range crep.Before {
			out.Before[id] += n
		}
	}
	if err := json.NewEncoder(stdout).Encode(out); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "%d record(s) of people sealed again with key %q; %d unreadable left as they were.\n", rep.Resealed, rep.Current, rep.Unreadable)
	if out.Staff != nil {
		fmt.Fprintf(stderr, "%d staff record(s) (accounts, sessions, audit log) sealed again; %d unreadable left as they were.\n", out.Staff.Resealed, out.Staff.Unreadable)
	}
	if out.Cases != nil {
		fmt.Fprintf(stderr, "%d tracing case(s) sealed again; %d unreadable left as they were.\n", out.Cases.Resealed, out.Cases.Unreadable)
	}
	fmt.Fprintf(stderr, "Every other sealing key can now be dropped from ENLACE_SECRET_KEY; keep the hashing key (%q).\n", keys.HashKeyID())
	return nil
}
