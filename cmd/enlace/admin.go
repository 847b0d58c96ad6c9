package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
)

const deadLettersUsage = `usage:
  enlace deadletters [list] [--data DIR]            (one JSON object per line: person, id, channel, attempts, error; no text, no address)
  enlace deadletters replay PERSON ID [--data DIR]  (queues the letter again; serve delivers it)
--data DIR is the embedded store's directory (default ENLACE_DATA_DIR); with REDIS_URL set, Redis is read.`

// deadLettersCmd lets an operator see and replay replies that could not be
// delivered. It shows no message text and no address.
func deadLettersCmd(ctx context.Context, cfg config, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("deadletters")
	data := fs.String("data", "", "directory of the embedded store (overrides ENLACE_DATA_DIR)")
	rest, err := parseInterleaved(fs, args)
	if err != nil {
		return usageError{err.Error() + "\n" + deadLettersUsage}
	}
	if *data != "" {
		cfg.DataDir = *data
	}
	switch {
	case len(rest) == 0, len(rest) == 1 && rest[0] == "list":
	case len(rest) == 3 && rest[0] == "replay":
	default:
		return usageError{"deadletters: want `list` or `replay PERSON ID`\n" + deadLettersUsage}
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
	if len(rest) <= 1 {
		letters, err := a.pipeline.DeadLetters(ctx, 1000)
		if err != nil {
			return err
		}
		enc := json.NewEncoder(stdout)
		for _, l := range letters {
			if err := enc.Encode(l); err != nil {
				return err
			}
		}
		fmt.Fprintf(stderr, "%d dead letter(s)\n", len(letters))
		return nil
	}
	if err := a.pipeline.Replay(ctx, rest[1], rest[2]); err != nil {
		return fmt.Errorf("deadletters: replay: %w (see `enlace deadletters list` for the person and id)", err)
	}
	fmt.Fprintln(stdout, "queued again; `enlace serve` will deliver it")
	return nil
}
