package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/enlace-rfl/enlace/bot"
	"github.com/enlace-rfl/enlace/bot/phone"
	"github.com/enlace-rfl/enlace/flows"
	"github.com/enlace-rfl/enlace/keyring"
	"github.com/enlace-rfl/enlace/locales"
	"github.com/enlace-rfl/enlace/staff"
	"github.com/enlace-rfl/enlace/store/embedded"
	redisstore "github.com/enlace-rfl/enlace/store/redis"
	"github.com/enlace-rfl/enlace/tracing"
)

// openStore picks the store the same way for every subcommand: Redis when
// REDIS_URL is set, otherwise the embedded store in the data directory.
func openStore(ctx context.Context, cfg config) (bot.Store, string, error) {
	if cfg.RedisURL != "" {
		st, err := redisstore.Open(ctx, cfg.RedisURL, redisstore.Options{Retention: retention(cfg)})
		if err != nil && unreachable(err) {
			return nil, "", fmt.Errorf("opening Redis: it does not answer at REDIS_URL (is it running and reachable from here? unset REDIS_URL to use the embedded store): %w", err)
		}
		if err != nil {
			return nil, "", fmt.Errorf("opening Redis: %w", err)
		}
		return st, "redis", nil
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, "", fmt.Errorf("creating the data directory (set ENLACE_DATA_DIR or --data to a directory this user can write): %w", err)
	}
	st, err := embedded.Open(filepath.Join(cfg.DataDir, "enlace.db"), embedded.Options{Retention: retention(cfg)})
	if err != nil {
		return nil, "", fmt.Errorf("opening the embedded store in %s (ENLACE_DATA_DIR or --data): %w", cfg.DataDir, err)
	}
	return st, "embedded", nil
}

// retention is how long the stores keep records about a person: what the
// consent text promises (ENLACE_SESSION_TTL), bot.Retention's defaults otherwise.
func retention(cfg config) bot.Retention { return bot.Retention{Person: cfg.SessionTTL} }

// localKeyFile holds the key the simulator generates when ENLACE_SECRET_KEY is unset.
const localKeyFile = "secret.key"

// loadKeys parses ENLACE_SECRET_KEY. When it is unset and allowLocal is true
// (the simulator), a key kept in the data directory is used, created on first
// use; the user is told, because such a key protects nothing on a shared disk.
func loadKeys(cfg config, allowLocal bool, stderr io.Writer) (*keyring.Keyring, error) {
	if cfg.SecretKey != "" {
		return keyring.Parse(cfg.SecretKey)
	}
	if !allowLocal {
		return nil, errors.New("ENLACE_SECRET_KEY is not set: run `enlace keygen` and set it (see README.md)")
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("creating data directory: %w", err)
	}
	path := filepath.Join(cfg.DataDir, localKeyFile)
	spec, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		s, err := keyring.NewSpec("local")
		if err != nil {
			return nil, err
		}
		// Data sealed with this key is lost if the key is: it must be on
		// disk before anything is sealed with it.
		err = writeFileDurably(path, 0o600, func(w io.Writer) error { _, err := io.WriteString(w, s+"\n"); return err })
		if err != nil {
			return nil, fmt.Errorf("writing local key: %w", err)
		}
		fmt.Fprintf(stderr, "enlace: ENLACE_SECRET_KEY is unset; generated a local key in %s (for trying Enlace only)\n", path)
		spec = []byte(s)
	} else if err != nil {
		return nil, fmt.Errorf("reading local key: %w", err)
	} else {
		fmt.Fprintf(stderr, "enlace: ENLACE_SECRET_KEY is unset; using the local key in %s\n", path)
	}
	return keyring.Parse(strings.TrimSpace(string(spec)))
}

// app is a pipeline with everything it is built from.
type app struct {
	store    bot.Store
	kind     string
	pipeline *bot.Pipeline
}

// buildApp opens the store and builds the pipeline on it.
func buildApp(ctx context.Context, cfg config, keys *keyring.Keyring, logger *slog.Logger, metrics func(bot.Store) *bot.Metrics, channels ...bot.Channel) (*app, error) {
	st, kind, err := openStore(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := st.Ping(ctx); err != nil {
		st.Close()
		return nil, fmt.Errorf("store not reachable: %w", err)
	}
	a, err := newApp(ctx, cfg, st, kind, keys, logger, metrics, channels...)
	if err != nil {
		st.Close()
		return nil, err
	}
	return a, nil
}

// newApp builds the pipeline on an open store (of the kind named).
func newApp(ctx context.Context, cfg config, st bot.Store, kind string, keys *keyring.Keyring, logger *slog.Logger, metrics func(bot.Store) *bot.Metrics, channels ...bot.Channel) (*app, error) {
	cat, err := locales.Load()
	if err != nil {
		return nil, err
	}
	var m *bot.Metrics
	if metrics != nil {
		m = metrics(st)
	}
	dir, towns := shelterFinder(ctx, st, logger) // flows/shelters.go, cmd/enlace/places.go
	gsm7, err := gsm7Option(cfg)
	if err != nil {
		st.Close()
		return nil, err
	}
	engine := flows.New(flows.Config{DialogTimeout: cfg.DialogTimeout, RetentionDays: int(cfg.SessionTTL.Hours() / 24),
		CheckinGrace: cfg.CheckinGrace, ReminderLead: cfg.CheckinReminder, SafeMessagesPerDay: cfg.SafePerDay, VolunteerWait: cfg.VolunteerWait, Hours: cfg.VolunteerHours,
		Places: dir, Towns: towns, Fits: phone.New(cat, gsm7).Fits,
		Tracing: casesOf(st) != nil, CaseRetentionDays: int(cfg.CaseRetention.Hours() / 24)}, cat)
	p := bot.New(bot.Options{
		Config: bot.Config{
			DedupeTTL: cfg.DedupeTTL, SessionTTL: cfg.SessionTTL, RetryFor: cfg.RetryFor, RetryForChannel: cfg.RetryForChannel, Workers: cfg.Workers,
			LaneWorkers: cfg.LaneWorkers, SendTimeout: cfg.SendTimeout, AckTimeout: cfg.AckTimeout,
			ClaimTimeout: cfg.ClaimTimeout, TranscriptTTL: cfg.TranscriptTTL, CaseRetention: cfg.CaseRetention,
			NotifyChat: cfg.VolunteerChat, NotifyLang: cfg.VolunteerLang,
			// On the embedded store a message whose person is free is handled
			// before its webhook is answered, one write fewer; Redis ignores it.
			HandleOnArrival: true,
		},
		Store: st, Conversations: conversationsOf(st), Cases: casesOf(st), Audit: pipelineAudit(cfg, st, keys), Keys: keys, Engine: engine, Catalog: cat, Channels: channels, Logger: logger, Metrics: m,
	})
	return &app{store: st, kind: kind, pipeline: p}, nil
}

// keygen prints a new ENLACE_SECRET_KEY: a sealing key and a key of its own
// for the keyed hash, so the sealing key can be retired one day without
// touching the hash every record is found by.
func keygen(stdout io.Writer) error {
	seal, err := keyring.NewSpec("k1")
	if err != nil {
		return err
	}
	hash, err := keyring.NewSpec(keyring.HashID)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "ENLACE_SECRET_KEY=%s,%s\n", seal, hash)
	return nil
}

// writeFileDurably writes a new file through a temporary one in the same
// directory, synced and closed (a write is not durable until Sync and Close
// succeed), then renamed over name, so a crash leaves the old file or the
// whole new one, never half of it.
func writeFileDurably(name string, perm os.FileMode, write func(io.Writer) error) (err error) {
	dir := filepath.Dir(name)
	f, err := os.CreateTemp(dir, "."+filepath.Base(name)+".tmp*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	}()
	if err := f.Chmod(perm); err != nil {
		return err
	}
	if err := write(f); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), name); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil { // make the rename itself durable
		defer d.Close()
		return d.Sync()
	}
	return nil
}

// conversationsOf is the volunteer inbox of a store (both stores keep one).
// pipelineAudit records the pipeline's actions on cases (wrong PINs, a lock)
// in the staff audit, as Enlace itself; nil when the store keeps no audit.
func pipelineAudit(cfg config, st bot.Store, keys *keyring.Keyring) func(ctx context.Context, action, subject string) error {
	ss, ok := st.(staff.Store)
	if !ok {
		return nil
	}
	svc := staff.New(staffConfig(cfg, ss, keys))
	return func(ctx context.Context, action, subject string) error {
		return svc.Record(ctx, staff.Actor{ID: "enlace", Role: staff.RoleSystem}, action, subject)
	}
}

// casesOf returns the store's tracing cases, nil when it keeps none.
func casesOf(st bot.Store) tracing.Store {
	c, _ := st.(tracing.Store)
	return c
}

func conversationsOf(st bot.Store) bot.Conversations {
	c, _ := st.(bot.Conversations)
	return c
}
