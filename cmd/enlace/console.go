package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/enlace-rfl/enlace/casework"
	"github.com/enlace-rfl/enlace/console"
	"github.com/enlace-rfl/enlace/inbox"
	"github.com/enlace-rfl/enlace/keyring"
	"github.com/enlace-rfl/enlace/places"
	"github.com/enlace-rfl/enlace/staff"
)

// consoleStarted, when set (tests), is told the address the console listens
// on; consoleBuilt is given the console serve built.
var (
	consoleStarted func(addr string)
	consoleBuilt   func(*console.Server)
)

// auditExpiryInterval is how often serve removes audit entries older than ENLACE_AUDIT_TTL.
const auditExpiryInterval = time.Hour

// startConsole starts the staff console on ENLACE_CONSOLE_ADDR (unless it is
// "off") and the audit log's expiry; both end with work (counted in wg). It
// returns a function that stops the console's listener gracefully.
func startConsole(work context.Context, cfg config, a *app, keys *keyring.Keyring, logger *slog.Logger, wg *sync.WaitGroup, reg prometheus.Registerer) (func(context.Context), error) {
	if cfg.ConsoleAddr == "off" {
		logger.Info("staff console is off (ENLACE_CONSOLE_ADDR=off)")
		return func(context.Context) {}, nil
	}
	ss, ok := a.store.(staff.Store)
	if !ok {
		return nil, errors.New("this store keeps no staff accounts")
	}
	scfg := staffConfig(cfg, ss, keys)
	scfg.Logger = logger
	svc := staff.New(scfg)
	in, err := inboxOf(cfg, a, svc)
	if err != nil {
		return nil, err
	}
	cases, err := casesService(work, cfg, a, keys, svc, logger)
	if err != nil {
		return nil, err
	}
	dir, _ := a.store.(places.Store) // the Directory page: the same store the finder reads
	con, err := console.New(console.Config{Staff: svc, Logger: logger, Inbox: in, Cases: cases, Places: dir,
		ClientAddr: console.ClientAddrBehind(cfg.TrustedProxies)})
	if err != nil {
		return nil, err
	}
	if consoleBuilt != nil {
		consoleBuilt(con)
	}
	ln, err := listen(cfg.ConsoleAddr, cfg.MaxConnections)
	if err != nil {
		return nil, fmt.Errorf("console (ENLACE_CONSOLE_ADDR, or off): %w", err)
	}
	for _, c := range ln.collectors("console") {
		if err := reg.Register(c); err != nil {
			ln.Close()
			return nil, fmt.Errorf("console metrics: %w", err)
		}
	}
	// No WriteTimeout: live updates are long-lived streams. Reads stay bounded.
	srv := newServer(con, true)
	wg.Go(func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("console server", "err", err)
		}
	})
	wg.Go(func() { expireAudit(work, svc, logger) })
	if cases != nil {
		wg.Go(func() { refreshMatches(work, cases, logger) })
	}
	logger.Info("staff console listening", "addr", ln.Addr().String(), "url", consoleURL(cfg))
	if consoleStarted != nil {
		consoleStarted(ln.Addr().String())
	}
	return func(ctx context.Context) {
		if err := srv.Shutdown(ctx); err != nil {
			logger.Error("console shutdown", "err", err)
		}
	}, nil
}

// inboxOf is the volunteer inbox on the app's store and pipeline, for the
// staff service svc.
func inboxOf(cfg config, a *app, svc *staff.Service) (*inbox.Service, error) {
	conv := conversationsOf(a.store)
	if conv == nil {
		return nil, errors.New("this store keeps no volunteer inbox")
	}
	return inbox.New(inbox.Config{Conversations: conv, Pipeline: a.pipeline, Staff: svc,
		ClaimTimeout: cfg.ClaimTimeout, TranscriptTTL: cfg.TranscriptTTL}), nil
}

// matchRefreshInterval is how often serve brings the match index in line
// with the store: cases opened in the chat, or changed by another process.
const matchRefreshInterval = time.Minute

// casesService is the caseworkers' tracing cases on the app's store, with
// the pipeline as the way to the enquirers' chats, and its match index
// loaded; nil when the store keeps no cases.
func casesService(ctx context.Context, cfg config, a *app, keys *keyring.Keyring, svc *staff.Service, logger *slog.Logger) (*casework.Service, error) {
	st := casesOf(a.store)
	if st == nil {
		return nil, nil
	}
	cases := casework.New(casework.Config{Cases: st, Keys: keys, Staff: svc, Notifier: a.pipeline, Clock: clock,
		Retention: cfg.CaseRetention, Logger: logger})
	n, err := cases.Load(ctx)
	if err != nil {
		return nil, fmt.Errorf("loading tracing cases for matching: %w", err)
	}
	logger.Info("tracing cases loaded for matching", "matchable", n)
	return cases, nil
}

func refreshMatches(ctx context.Context, cases *casework.Service, logger *slog.Logger) {
	t := time.NewTicker(matchRefreshInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := cases.Load(ctx); err != nil && ctx.Err() == nil {
			logger.Error("refreshing the match index", "err", err)
		}
	}
}

func expireAudit(ctx context.Context, svc *staff.Service, logger *slog.Logger) {
	t := time.NewTicker(auditExpiryInterval)
	defer t.Stop()
	for {
		if n, err := svc.ExpireAudit(ctx); err != nil && ctx.Err() == nil {
			logger.Error("audit expiry", "err", err)
		} else if n > 0 {
			logger.Info("audit entries expired", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
