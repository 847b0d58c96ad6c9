package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/enlace-rfl/enlace/store/redis/redistest"
)

// startServe runs `enlace serve` in-process on a free port and returns its
// base URL and a function that stops it (as SIGTERM would) and returns its error.
func startServe(t *testing.T, env map[string]string) (string, func() error) {
	t.Helper()
	r := startServeRun(t, env, true)
	return r.base, r.stop
}

// serveRun is one `enlace serve` started by startServeRun.
type serveRun struct {
	base, metrics string // http://host:port of ENLACE_ADDR and ENLACE_METRICS_ADDR
	stderr        *syncBuffer
	stop          func() error
}

// startServeRun starts serve with its listeners on free ports. With
// untilReady it returns once serve has connected everything; otherwise as
// soon as it listens (it may still wait for its store).
func startServeRun(t *testing.T, env map[string]string, untilReady bool) serveRun {
	t.Helper()
	env["ENLACE_ADDR"] = "127.0.0.1:0"
	if env["ENLACE_CONSOLE_ADDR"] == "" {
		env["ENLACE_CONSOLE_ADDR"] = "127.0.0.1:0"
	}
	if env["ENLACE_METRICS_ADDR"] == "" {
		env["ENLACE_METRICS_ADDR"] = "127.0.0.1:0"
	}
	addr, metrics := make(chan string, 1), make(chan string, 1)
	if untilReady {
		serveStarted = func(a string) { addr <- a }
	} else {
		serveListening = func(a string) { addr <- a }
	}
	metricsStarted = func(a string) { metrics <- a }
	t.Cleanup(func() { serveStarted, serveListening, metricsStarted = nil, nil, nil })
	ctx, cancel := context.WithCancel(context.Background())
	r := serveRun{stderr: &syncBuffer{}}
	errc := make(chan error, 1)
	go func() {
		errc <- run(ctx, []string{"serve"}, strings.NewReader(""), io.Discard, r.stderr, func(k string) string { return env[k] })
	}()
	select {
	case a := <-addr:
		r.base = "http://" + a
		select {
		case m := <-metrics:
			r.metrics = "http://" + m
		default: // ENLACE_METRICS_ADDR=off
		}
		var once sync.Once
		var err error
		r.stop = func() error { once.Do(func() { cancel(); err = <-errc }); return err }
		t.Cleanup(func() { r.stop() })
		return r
	case err := <-errc:
		cancel()
		t.Fatalf("serve stopped: %v\n%s", err, r.stderr.String())
	case <-time.After(15 * time.Second):
		cancel()
		t.Fatalf("serve did not start\n%s", r.stderr.String())
	}
	return r
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestServeHealthReadyMetricsAndShutdown(t *testing.T) {
	for name, env := range storesEnv(t) {
		t.Run(name, func(t *testing.T) {
			r := startServeRun(t, env, true)
			base, stop := r.base, r.stop
			if code, _ := get(t, base+"/healthz"); code != 200 {
				t.Errorf("/healthz: got %d, want 200", code)
			}
			if code, _ := get(t, base+"/readyz"); code != 200 {
				t.Errorf("/readyz: got %d, want 200", code)
			}
			code, body := get(t, r.metrics+"/metrics")
			for _, m := range []string{"enlace_inbound_queue_people", "enlace_outbound_queue_people", "enlace_dead_letters", `enlace_lane_queue_people{lane="none"}`, "go_goroutines", `enlace_http_connections{listener="public"}`} {
				if code != 200 || !strings.Contains(body, m) {
					t.Errorf("/metrics on ENLACE_METRICS_ADDR lacks %s (status %d)", m, code)
				}
			}
			// Queue lengths are nobody's business on the public address.
			if code, _ := get(t, base+"/metrics"); code != 404 {
				t.Errorf("/metrics on ENLACE_ADDR: got %d, want 404", code)
			}
			if err := stop(); err != nil {
				t.Errorf("graceful shutdown: %v", err)
			}
		})
	}
}

func TestServeNeedsASecretKey(t *testing.T) {
	err := run(context.Background(), []string{"serve"}, strings.NewReader(""), io.Discard, io.Discard,
		func(k string) string { return map[string]string{"ENLACE_DATA_DIR": t.TempDir()}[k] })
	if err == nil || !strings.Contains(err.Error(), "ENLACE_SECRET_KEY") {
		t.Errorf("serve without a key: got %v, want an error naming ENLACE_SECRET_KEY", err)
	}
}

func TestReadyzFollowsTheStore(t *testing.T) {
	srv := redistest.StartWith(t, redistest.Config{Durable: true})
	env := map[string]string{"REDIS_URL": srv.URL, "ENLACE_SECRET_KEY": "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", "ENLACE_DATA_DIR": t.TempDir()}
	base, stop := startServe(t, env)
	defer stop()
	if code, _ := get(t, base+"/readyz"); code != 200 {
		t.Fatalf("/readyz with Redis up: got %d, want 200", code)
	}
	srv.Stop()
	if code, _ := get(t, base+"/readyz"); code != 503 {
		t.Errorf("/readyz with Redis down: got %d, want 503", code)
	}
	if code, _ := get(t, base+"/healthz"); code != 200 {
		t.Errorf("/healthz with Redis down: got %d, want 200 (the process is alive)", code)
	}
	srv.Restart()
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, _ := get(t, base+"/readyz")
		if code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz after Redis came back: got %d, want 200", code)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
