package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
)

// deadLettersCmd lets an operator see and replay replies that could not be
// delivered. It shows no message text and no address.
func deadLettersCmd(ctx context.Context, cfg config, args []string, stdout, stderr io.Writer) error {
	keys, err := loadKeys(cfg, true, stderr)
	if err != nil {
		return err
	}
	a, err := buildApp(ctx, cfg, keys, newLogger(stderr, cfg.LogLevel), nil)
	if err != nil {
		return err
	}
	defer a.store.Close()
	if len(args) == 0 || args[0] == "list" {
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
	if args[0] == "replay" && len(args) == 3 {
		if err := a.pipeline.Replay(ctx, args[1], args[2]); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "queued again; `enlace serve` will deliver it")
		return nil
	}
	return usageError{"deadletters: want `list` or `replay PERSON ID`"}
}
