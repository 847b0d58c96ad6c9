package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
)

const keysUsage = `usage: enlace keys reseal [--data DIR]

Seals every record again with the first key of ENLACE_SECRET_KEY, so that
older sealing keys can be dropped. --data DIR is the embedded store's
directory (default ENLACE_DATA_DIR); with REDIS_URL set, Redis is used.`

// keysCmd manages the keys of ENLACE_SECRET_KEY: `reseal` seals every record
// again with the current key, so that an older key can be dropped.
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
	if err := json.NewEncoder(stdout).Encode(rep); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "%d record(s) sealed again with key %q; %d unreadable left as they were.\n", rep.Resealed, rep.Current, rep.Unreadable)
	fmt.Fprintf(stderr, "Every other sealing key can now be dropped from ENLACE_SECRET_KEY; keep the hashing key (%q).\n", keys.HashKeyID())
	return nil
}
