package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
)

// keysCmd manages the keys of ENLACE_SECRET_KEY: `reseal` seals every record
// again with the current key, so that an older key can be dropped.
func keysCmd(ctx context.Context, cfg config, args []string, stdout, stderr io.Writer) error {
	if len(args) != 1 || args[0] != "reseal" {
		return usageError{"keys: want `reseal`"}
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
