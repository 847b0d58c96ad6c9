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
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/enlace-rfl/enlace/bot"
)

// channelSetup connects one messaging channel to serve: it registers its
// webhooks on the mux, adds its bot.Channel to the pipeline, and may start
// background work (long polling) that ends with ctx and is counted in wg. It
// returns false, nil when the channel is not configured. Each channel's file
// adds its setup (and its options) in an init function.
type channelSetup func(ctx context.Context, s serveEnv) (bool, error)

// serveEnv is what a channel setup gets.
type serveEnv struct {
	cfg      config
	mux      *http.ServeMux
	pipeline *bot.Pipeline
	logger   *slog.Logger
	wg       *sync.WaitGroup
	registry prometheus.Registerer // for a channel's own metrics
}

// channelSetups are the channels serve can connect, by name.
var channelSetups = map[string]channelSetup{}

// serveStarted, when set (tests), is told the address serve listens on.
var serveStarted func(addr string)

func serveCmd(ctx context.Context, cfg config, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	logger := newLogger(stderr, cfg.LogLevel)
	keys, err := loadKeys(cfg, false, stderr)
	if err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	a, err := buildApp(ctx, cfg, keys, logger, func(st bot.Store) *bot.Metrics { return bot.NewMetrics(reg, st) })
	if err != nil {
		return err
	}
	defer a.store.Close()

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := a.store.Ping(ctx); err != nil {
			http.Error(w, "store not reachable", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ready\n"))
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", cfg.Addr, err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second}
	work, stopWork := context.WithCancel(context.Background())
	defer stopWork()
	var background sync.WaitGroup
	names := make([]string, 0, len(channelSetups))
	for name := range channelSetups {
		names = append(names, name)
	}
	sort.Strings(names)
	var connected []string
	for _, name := range names {
		ok, err := channelSetups[name](work, serveEnv{cfg: cfg, mux: mux, pipeline: a.pipeline, logger: logger, wg: &background, registry: reg})
		if err != nil {
			stopWork()
			background.Wait()
			ln.Close()
			return fmt.Errorf("connecting %s: %w", name, err)
		}
		if ok {
			connected = append(connected, name)
		}
	}
	stopConsole, err := startConsole(work, cfg, a.store, keys, logger, &background)
	if err != nil {
		stopWork()
		background.Wait()
		ln.Close()
		return err
	}
	logger.Info("enlace serving", "addr", ln.Addr().String(), "store", a.kind, "channels", connected, "version", version)
	if len(connected) == 0 {
		logger.Warn("no messaging channel is configured: only the health and metrics endpoints answer")
	}
	if serveStarted != nil {
		serveStarted(ln.Addr().String())
	}

	done := make(chan struct{})
	go func() {
		a.pipeline.Run(work)
		close(done)
	}()
	srvErr := make(chan error, 1)
	go func() { srvErr <- srv.Serve(ln) }()

	select {
	case <-ctx.Done():
		logger.Info("shutting down: finishing in-flight work")
	case err := <-srvErr:
		stopConsole(context.Background())
		stopWork()
		<-done
		return fmt.Errorf("http server: %w", err)
	}
	shutdown, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	// Stop taking webhooks first (those in flight finish and are recorded),
	// then let the pipeline finish the pass it is in.
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		logger.Error("http shutdown", "err", err)
	}
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
