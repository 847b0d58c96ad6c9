package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	goredis "github.com/redis/go-redis/v9"

	"github.com/enlace-rfl/enlace/bot"
)

// connectFunc connects one configured messaging channel to serve: it
// registers its webhooks on the mux, adds its bot.Channel to the pipeline,
// and may start background work (long polling) that ends with ctx and is
// counted in wg.
type connectFunc func(ctx context.Context, s serveEnv) error

// serveEnv is what a channel's connectFunc gets.
type serveEnv struct {
	cfg      config
	mux      *http.ServeMux
	pipeline *bot.Pipeline
	logger   *slog.Logger
	wg       *sync.WaitGroup
	registry prometheus.Registerer // for a channel's own metrics
}

// channel is one messaging channel serve can connect. prepare reads and
// checks its configuration before serve waits for anything, and returns a
// nil connectFunc when the channel is not configured.
type channel struct {
	name    string
	prepare func(cfg config) (connectFunc, error)
}

// serveChannels are the channels serve connects, in this order.
func serveChannels() []channel {
	return []channel{
		{"telegram", prepareTelegram},
		{"twilio", prepareTwilio},
	}
}

// Test hooks: serveListening is told the address serve listens on as soon
// as it does (before the store is reached), serveStarted once everything is
// connected, metricsStarted the metrics address.
var serveListening, serveStarted, metricsStarted func(addr string)

const serveUsage = `usage: enlace serve [--data DIR]

Runs the service: the providers' webhooks, /healthz and /readyz on
ENLACE_ADDR, /metrics on ENLACE_METRICS_ADDR, the staff console on
ENLACE_CONSOLE_ADDR. Needs ENLACE_SECRET_KEY. Uses Redis when REDIS_URL is
set (waiting for it to answer), otherwise the embedded store in
ENLACE_DATA_DIR. Stops gracefully on SIGTERM or SIGINT.`

// Waiting for Redis at start: one attempt at most storeAttempt long, then a
// pause from storeRetryFirst doubling to storeRetryMax.
const (
	storeAttempt    = 5 * time.Second
	storeRetryFirst = 500 * time.Millisecond
	storeRetryMax   = 30 * time.Second
)

func serveCmd(ctx context.Context, cfg config, args []string, stderr io.Writer) error {
	fs := newFlagSet("serve")
	data := fs.String("data", "", "directory of the embedded store (overrides ENLACE_DATA_DIR)")
	if err := parseFlags(fs, args, serveUsage); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{"serve takes no arguments\n" + serveUsage}
	}
	if *data != "" {
		cfg.DataDir = *data
	}
	logger := newLogger(stderr, cfg.LogLevel)
	keys, err := loadKeys(cfg, false, stderr)
	if err != nil {
		return err
	}
	type prepared struct {
		name    string
		connect connectFunc
	}
	var channels []prepared
	for _, ch := range serveChannels() {
		connect, err := ch.prepare(cfg)
		if err != nil {
			return err
		}
		if connect != nil {
			channels = append(channels, prepared{ch.name, connect})
		}
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	var ready atomic.Pointer[app] // set once the store is open and every channel connected
	public := http.NewServeMux()
	public.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok\n"))
	})
	public.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		a := ready.Load()
		if a == nil {
			http.Error(w, "starting: waiting for the store", http.StatusServiceUnavailable)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := a.store.Ping(ctx); err != nil {
			http.Error(w, "store not reachable", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ready\n"))
	})
	// Webhooks answer 503 until serve can record what they bring: providers
	// deliver again later.
	webhooks := http.NewServeMux()
	public.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if ready.Load() == nil {
			w.Header().Set("Retry-After", "5")
			http.Error(w, "starting: try again later", http.StatusServiceUnavailable)
			return
		}
		webhooks.ServeHTTP(w, r)
	})

	var servers []*http.Server
	srvErr := make(chan error, 2)
	stopServers := func(ctx context.Context) {
		for _, srv := range servers {
			if err := srv.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
				logger.Error("http shutdown", "err", err)
			}
		}
	}
	start := func(name string, ln *limitListener, h http.Handler) {
		reg.MustRegister(ln.collectors(name)...)
		srv := newServer(h, false)
		servers = append(servers, srv)
		go func() {
			if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				srvErr <- fmt.Errorf("%s server: %w", name, err)
			}
		}()
	}
	ln, err := listen(cfg.Addr, cfg.MaxConnections)
	if err != nil {
		return err
	}
	start("public", ln, public)
	defer func() { // on an early return; a no-op after a graceful stop
		for _, srv := range servers {
			srv.Close()
		}
	}()
	if cfg.MetricsAddr != "off" {
		mln, err := listen(cfg.MetricsAddr, cfg.MaxConnections)
		if err != nil {
			return fmt.Errorf("metrics (ENLACE_METRICS_ADDR, or off): %w", err)
		}
		metrics := http.NewServeMux()
		metrics.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
		start("metrics", mln, metrics)
		logger.Info("metrics listening", "addr", mln.Addr().String())
		if metricsStarted != nil {
			metricsStarted(mln.Addr().String())
		}
	}
	if serveListening != nil {
		serveListening(ln.Addr().String())
	}

	st, kind, err := waitForStore(ctx, cfg, logger)
	if err != nil {
		if ctx.Err() != nil {
			logger.Info("stopped before the store answered")
			return nil
		}
		return err
	}
	a, err := newApp(ctx, cfg, st, kind, keys, logger, func(st bot.Store) *bot.Metrics { return bot.NewMetrics(reg, st) })
	if err != nil {
		st.Close()
		return err
	}
	defer a.store.Close()

	work, stopWork := context.WithCancel(context.Background())
	defer stopWork()
	var background sync.WaitGroup
	abort := func(err error) error {
		stopWork()
		background.Wait()
		return err
	}
	env := serveEnv{cfg: cfg, mux: webhooks, pipeline: a.pipeline, logger: logger, wg: &background, registry: reg}
	var connected []string
	for _, ch := range channels {
		if err := ch.connect(work, env); err != nil {
			return abort(fmt.Errorf("connecting %s: %w", ch.name, err))
		}
		connected = append(connected, ch.name)
	}
	if err := reg.Register(a.pipeline.LaneMetrics()); err != nil {
		return abort(fmt.Errorf("lane metrics: %w", err))
	}
	stopConsole, err := startConsole(work, cfg, a, keys, logger, &background, reg)
	if err != nil {
		return abort(err)
	}
	ready.Store(a)
	logger.Info("enlace serving", "addr", ln.Addr().String(), "store", a.kind, "channels", connected, "version", version)
	if len(connected) == 0 {
		logger.Warn("no messaging channel is configured: only the health endpoints answer")
	}
	if serveStarted != nil {
		serveStarted(ln.Addr().String())
	}

	done := make(chan struct{})
	go func() {
		a.pipeline.Run(work)
		close(done)
	}()
	select {
	case <-ctx.Done():
		logger.Info("shutting down: finishing in-flight work")
	case err := <-srvErr:
		stopConsole(context.Background())
		stopWork()
		<-done
		return err
	}
	shutdown, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	// Stop taking webhooks first (those in flight finish and are recorded),
	// then let the pipeline finish the pass it is in.
	stopServers(shutdown)
	stopConsole(shutdown)
	stopWork()
	finished := make(chan struct{})
	go func() {
		<-done
		background.Wait()
		close(finished)
	}()
	select {
	case <-finished:
	case <-shutdown.Done():
		logger.Error("pipeline did not stop in time; unfinished work stays queued in the store")
	}
	logger.Info("stopped")
	return nil
}

// waitForStore opens the store. Redis that does not answer yet (its
// container still starting, a failover) is tried again, with a pause doubling
// to storeRetryMax, each attempt logged, until ctx ends; a configuration
// Redis refuses, or an embedded store that cannot be opened, is an error at once.
func waitForStore(ctx context.Context, cfg config, logger *slog.Logger) (bot.Store, string, error) {
	pause := storeRetryFirst
	for attempt := 1; ; attempt++ {
		try, cancel := context.WithTimeout(ctx, storeAttempt)
		st, kind, err := openStore(try, cfg)
		cancel()
		if err == nil {
			if attempt > 1 {
				logger.Info("Redis answers", "attempts", attempt)
			}
			return st, kind, nil
		}
		if cfg.RedisURL == "" || !unreachable(err) || ctx.Err() != nil {
			return nil, "", err
		}
		logger.Warn("Redis does not answer yet; trying again", "attempt", attempt, "in", pause.String(), "err", err)
		select {
		case <-ctx.Done():
			return nil, "", ctx.Err()
		case <-time.After(pause):
		}
		pause = min(2*pause, storeRetryMax)
	}
}

// unreachable tells whether an error opening Redis may go away by itself:
// a network error (no such host yet, connection refused or reset, a
// timeout) or Redis still loading its data.
func unreachable(err error) bool {
	var netErr net.Error
	return errors.As(err, &netErr) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, context.DeadlineExceeded) ||
		goredis.IsLoadingError(err)
}

// newFlagSet is a subcommand's flag set; parseFlags reports its errors.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// parseFlags parses args; an error is a usageError that ends with usage.
// (--help never gets here: run answers it first.)
func parseFlags(fs *flag.FlagSet, args []string, usage string) error {
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error() + "\n" + usage}
	}
	return nil
}
