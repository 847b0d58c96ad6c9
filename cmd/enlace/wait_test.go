package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/enlace-rfl/enlace/store/redis/redistest"
)

// poll calls check until it reports true or ctx ends (the test fails then).
func poll(t *testing.T, ctx context.Context, what string, check func() bool) {
	t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !check() {
		select {
		case <-ctx.Done():
			t.Fatalf("%s: not before the test's deadline", what)
		case <-tick.C:
		}
	}
}

// status is the HTTP status of GET url, 0 when it does not answer.
func status(ctx context.Context, url string) int {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// healthcheck runs `enlace healthcheck` against addr and returns its error.
func healthcheck(ctx context.Context, base string) error {
	addr := strings.TrimPrefix(base, "http://")
	return run(ctx, []string{"healthcheck", "--timeout", "5s"}, strings.NewReader(""), io.Discard, io.Discard,
		func(k string) string { return map[string]string{"ENLACE_ADDR": addr}[k] })
}

// TestServeWaitsForRedis starts serve while Redis is down: it listens,
// answers /healthz, says it is not ready (and `enlace healthcheck` fails)
// while it tries again, logged; once a redis-server starts on that port it
// becomes ready by itself, and `enlace healthcheck` succeeds.
func TestServeWaitsForRedis(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	srv := redistest.Start(t)
	srv.Stop() // its port stays free for it: nothing answers there yet
	env := map[string]string{"REDIS_URL": srv.URL, "ENLACE_SECRET_KEY": "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", "ENLACE_DATA_DIR": t.TempDir()}
	r := startServeRun(t, env, false)

	if code := status(ctx, r.base+"/healthz"); code != 200 {
		t.Errorf("/healthz while Redis is down: got %d, want 200", code)
	}
	if code := status(ctx, r.base+"/readyz"); code != 503 {
		t.Errorf("/readyz while Redis is down: got %d, want 503", code)
	}
	if code := status(ctx, r.base+"/webhooks/telegram"); code != 503 {
		t.Errorf("a webhook while Redis is down: got %d, want 503 (the provider delivers again)", code)
	}
	if err := healthcheck(ctx, r.base); err == nil || !strings.Contains(err.Error(), "503") {
		t.Errorf("healthcheck while Redis is down: got %v, want not ready (503)", err)
	}
	poll(t, ctx, "two attempts logged", func() bool {
		return strings.Count(r.stderr.String(), "Redis does not answer yet") >= 2
	})
	if strings.Contains(r.stderr.String(), "enlace serving") {
		t.Fatal("serve says it serves while Redis is down")
	}

	srv.Restart()
	poll(t, ctx, "/readyz 200 after Redis started", func() bool { return status(ctx, r.base+"/readyz") == 200 })
	if err := healthcheck(ctx, r.base); err != nil {
		t.Errorf("healthcheck once ready: %v", err)
	}
	if !strings.Contains(r.stderr.String(), `"msg":"Redis answers"`) {
		t.Errorf("serve did not log that Redis answers:\n%s", r.stderr.String())
	}
	if err := r.stop(); err != nil {
		t.Errorf("shutdown: %v", err)
	}
	// Stopped: nothing answers, and healthcheck says so.
	if err := healthcheck(ctx, r.base); err == nil || !strings.Contains(err.Error(), "does not answer") {
		t.Errorf("healthcheck with serve stopped: got %v, want does not answer", err)
	}
}

// TestServeStopsWhileWaitingForRedis: SIGTERM while Redis never comes ends
// serve at once, without an error.
func TestServeStopsWhileWaitingForRedis(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	srv := redistest.Start(t)
	srv.Stop()
	env := map[string]string{"REDIS_URL": srv.URL, "ENLACE_SECRET_KEY": "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", "ENLACE_DATA_DIR": t.TempDir()}
	r := startServeRun(t, env, false)
	poll(t, ctx, "an attempt logged", func() bool { return strings.Contains(r.stderr.String(), "Redis does not answer yet") })
	stopped := make(chan error, 1)
	go func() { stopped <- r.stop() }()
	select {
	case err := <-stopped:
		if err != nil {
			t.Errorf("serve stopped while waiting: got %v, want nil", err)
		}
	case <-ctx.Done():
		t.Fatal("serve did not stop while waiting for Redis")
	}
}

// TestServeRefusesABadRedisConfigAtOnce: what waiting cannot fix (Redis that
// may evict keys) stops serve with the reason, without retrying.
func TestServeRefusesABadRedisConfigAtOnce(t *testing.T) {
	srv := redistest.StartWith(t, redistest.Config{Args: []string{"--maxmemory-policy", "allkeys-lru"}})
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	env := map[string]string{"REDIS_URL": srv.URL, "ENLACE_SECRET_KEY": "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", "ENLACE_DATA_DIR": t.TempDir(),
		"ENLACE_ADDR": "127.0.0.1:0", "ENLACE_METRICS_ADDR": "off", "ENLACE_CONSOLE_ADDR": "off"}
	err := run(ctx, []string{"serve"}, strings.NewReader(""), io.Discard, io.Discard, func(k string) string { return env[k] })
	if err == nil || !strings.Contains(err.Error(), "noeviction") {
		t.Errorf("got %v, want an error asking for noeviction", err)
	}
}

// rawGet sends one HTTP/1.1 request on c and returns the status line.
func rawGet(c net.Conn, r *bufio.Reader, path string) (string, error) {
	if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: enlace\r\n\r\n", path); err != nil {
		return "", err
	}
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		return "", err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.Status, nil
}

// TestConnectionsPerListenerAreCapped: with ENLACE_MAX_CONNECTIONS=2 and two
// connections open, a third is held unanswered until one of them closes,
// and then answered.
func TestConnectionsPerListenerAreCapped(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	env := storesEnv(t)["embedded"]
	env["ENLACE_MAX_CONNECTIONS"] = "2"
	r := startServeRun(t, env, true)
	addr := strings.TrimPrefix(r.base, "http://")
	var d net.Dialer
	dial := func() (net.Conn, *bufio.Reader) {
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		if dl, ok := ctx.Deadline(); ok {
			c.SetDeadline(dl)
		}
		t.Cleanup(func() { c.Close() })
		return c, bufio.NewReader(c)
	}
	// Two connections, each answered once and kept open (keep-alive).
	first, firstR := dial()
	second, secondR := dial()
	for _, cr := range []struct {
		c net.Conn
		r *bufio.Reader
	}{{first, firstR}, {second, secondR}} {
		if st, err := rawGet(cr.c, cr.r, "/healthz"); err != nil || st != "200 OK" {
			t.Fatalf("GET /healthz: %q %v", st, err)
		}
	}
	gauge := func(name string) string {
		_, body := get(t, r.metrics+"/metrics")
		for _, line := range strings.Split(body, "\n") {
			if strings.HasPrefix(line, name+`{listener="public"} `) {
				return strings.TrimPrefix(line, name+`{listener="public"} `)
			}
		}
		return ""
	}
	if got := gauge("enlace_http_connections"); got != "2" {
		t.Fatalf("open connections: got %q, want 2", got)
	}
	third, thirdR := dial()
	answered := make(chan string, 1)
	go func() {
		st, err := rawGet(third, thirdR, "/healthz")
		if err != nil {
			st = err.Error()
		}
		answered <- st
	}()
	// The listener holds the third connection: it is never handed to the
	// HTTP server, so nothing can answer it until a place frees.
	poll(t, ctx, "the third connection held", func() bool { return gauge("enlace_http_connections_waiting") == "1" })
	select {
	case st := <-answered:
		t.Fatalf("the third connection was answered (%s) while two were open", st)
	default:
	}
	first.Close()
	select {
	case st := <-answered:
		if st != "200 OK" {
			t.Errorf("third connection once a place freed: got %q, want 200 OK", st)
		}
	case <-ctx.Done():
		t.Fatal("the third connection was never answered after one closed")
	}
	if got := gauge("enlace_http_connections_waiting"); got != "0" {
		t.Errorf("waiting connections: got %q, want 0", got)
	}
}

func TestReadyzURL(t *testing.T) {
	tests := []struct{ addr, want string }{
		{":8080", "http://127.0.0.1:8080/readyz"},
		{"0.0.0.0:8080", "http://127.0.0.1:8080/readyz"},
		{"[::]:8080", "http://[::1]:8080/readyz"},
		{"10.0.0.5:80", "http://10.0.0.5:80/readyz"},
		{"localhost:8080", "http://localhost:8080/readyz"},
		{"8080", ""},
	}
	for _, tt := range tests {
		got, err := readyzURL(tt.addr)
		if tt.want == "" {
			if err == nil || !strings.Contains(err.Error(), ":8080") {
				t.Errorf("%q: got %q, %v, want an error showing the form", tt.addr, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%q: got %q, %v, want %q", tt.addr, got, err, tt.want)
		}
	}
}
