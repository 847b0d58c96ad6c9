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
	env["ENLACE_ADDR"] = "127.0.0.1:0"
	if env["ENLACE_CONSOLE_ADDR"] == "" {
		env["ENLACE_CONSOLE_ADDR"] = "127.0.0.1:0"
	}
	addr := make(chan string, 1)
	serveStarted = func(a string) { addr <- a }
	t.Cleanup(func() { serveStarted = nil })
	ctx, cancel := context.WithCancel(context.Background())
	var stderr syncBuffer
	errc := make(chan error, 1)
	go func() {
		errc <- run(ctx, []string{"serve"}, strings.NewReader(""), io.Discard, &stderr, func(k string) string { return env[k] })
	}()
	select {
	case a := <-addr:
		return "http://" + a, func() error { cancel(); return <-errc }
	case err := <-errc:
		cancel()
		t.Fatalf("serve stopped: %v\n%s", err, stderr.String())
	case <-time.After(15 * time.Second):
		cancel()
		t.Fatalf("serve did not start\n%s", stderr.String())
	}
	return "", nil
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
			base, stop := startServe(t, env)
			if code, _ := get(t, base+"/healthz"); code != 200 {
				t.Errorf("/healthz: got %d, want 200", code)
			}
			if code, _ := get(t, base+"/readyz"); code != 200 {
				t.Errorf("/readyz: got %d, want 200", code)
			}
			code, body := get(t, base+"/metrics")
			for _, m := range []string{"enlace_inbound_queue_people", "enlace_outbound_queue_people", "enlace_dead_letters", "go_goroutines"} {
				if code != 200 || !strings.Contains(body, m) {
					t.Errorf("/metrics lacks %s (status %d)", m, code)
				}
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
