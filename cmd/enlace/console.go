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

	"github.com/enlace-rfl/enlace/console"
	"github.com/enlace-rfl/enlace/inbox"
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
func startConsole(work context.Context, cfg config, a *app, keys staff.Sealer, logger *slog.Logger, wg *sync.WaitGroup, reg prometheus.Registerer) (func(context.Context), error) {
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
	con, err := console.New(console.Config{Staff: svc, Logger: logger, Inbox: in})
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
