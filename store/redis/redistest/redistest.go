// Package redistest gives tests a Redis to talk to. With REDIS_URL set it uses
// that server, isolating each test by a unique key prefix; otherwise it starts a
// private redis-server on a free 127.0.0.1 port and stops it when the test ends.
// Without a redis-server binary the test is skipped, or fails when CI=true.
package redistest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// Config chooses how a private redis-server runs.
type Config struct {
	// Durable starts Redis with an fsync-always append-only file, so Restart
	// keeps every acknowledged write. Otherwise persistence is off.
	Durable bool
	// Args are more redis-server arguments (e.g. "--maxmemory-policy",
	// "allkeys-lru"); with REDIS_URL set, a test that needs them is skipped.
	Args []string
}

// Server is a Redis for one test.
type Server struct {
	// URL is what to pass to redis.Open.
	URL string
	// Prefix is a key prefix unique to this Server. Use it, or NewPrefix for
	// one store of many, so tests sharing a REDIS_URL do not see each other's
	// keys; with REDIS_URL, keys under Prefix are deleted when the test ends.
	Prefix string

	tb    testing.TB
	bin   string
	args  []string
	addr  string
	mu    sync.Mutex
	cmd   *exec.Cmd
	done  chan struct{}
	log   *syncBuffer
	owned bool // a private redis-server, not REDIS_URL
}

// Start returns a Redis with persistence off.
func Start(tb testing.TB) *Server { return StartWith(tb, Config{}) }

// StartWith returns a Redis configured by cfg. cfg only applies to a private
// server; with REDIS_URL set, a Durable config skips the test, since it
// would need to stop and restart a server it does not own.
func StartWith(tb testing.TB, cfg Config) *Server {
	tb.Helper()
	s := &Server{tb: tb, Prefix: UniquePrefix()}
	if u := os.Getenv("REDIS_URL"); u != "" {
		if cfg.Durable || len(cfg.Args) > 0 {
			tb.Skip("REDIS_URL is set: a private redis-server of its own configuration is needed for this test")
		}
		s.URL = u
		tb.Cleanup(s.deleteKeys)
		return s
	}
	dir := tb.TempDir()
	extra := []string{"--appendonly", "no"}
	if cfg.Durable {
		extra = []string{"--appendonly", "yes", "--appendfsync", "always"}
	}
	return startLocal(tb, dir, append(extra, cfg.Args...)...)
}

// need returns the path of a program the tests need, or skips the test
// loudly (fails it when CI=true) when the machine lacks it.
func need(tb testing.TB, program, hint string) string {
	tb.Helper()
	path, err := exec.LookPath(program)
	if err != nil {
		msg := program + " not found: Redis tests SKIPPED; " + hint
		if os.Getenv("CI") == "true" {
			tb.Fatal(msg)
		}
		tb.Skip(msg)
	}
	return path
}

// startLocal starts a private redis-server on a free port with its files in
// dir, stopped when the test ends; extra are more redis-server arguments.
func startLocal(tb testing.TB, dir string, extra ...string) *Server {
	tb.Helper()
	bin := need(tb, "redis-server", "install redis-server (apt-get install redis-server) or set REDIS_URL")
	port, err := freePort()
	if err != nil {
		tb.Fatalf("redistest: %v", err)
	}
	s := &Server{tb: tb, Prefix: UniquePrefix(), owned: true, bin: bin}
	s.addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	s.URL = "redis://" + s.addr
	s.args = append([]string{
		"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
		"--save", "", "--daemonize", "no", "--logfile", "",
	}, extra...)
	tb.Cleanup(s.Stop)
	s.start()
	return s
}

// UniquePrefix returns a fresh random key prefix.
func UniquePrefix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "enlacetest-" + hex.EncodeToString(b[:])
}

// NewPrefix returns a fresh key prefix under s.Prefix.
func (s *Server) NewPrefix() string {
	return s.Prefix + "-" + strings.TrimPrefix(UniquePrefix(), "enlacetest-")
}

// deleteKeys removes this Server's keys from a REDIS_URL server. Only a
// single-node URL is cleaned; a cluster URL leaves the keys and says so.
func (s *Server) deleteKeys() {
	opts, err := goredis.ParseURL(s.URL)
	if err != nil {
		s.tb.Logf("redistest: keys under %s left in place: %v", s.Prefix, err)
		return
	}
	c := goredis.NewClient(opts)
	defer c.Close()
	ctx := context.Background()
	iter := c.Scan(ctx, 0, s.Prefix+"*", 500).Iterator()
	for iter.Next(ctx) {
		if err := c.Del(ctx, iter.Val()).Err(); err != nil {
			s.tb.Errorf("redistest: delete test keys: %v", err)
			return
		}
	}
	if err := iter.Err(); err != nil {
		s.tb.Errorf("redistest: scan test keys: %v", err)
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (s *Server) start() {
	s.tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return
	}
	s.log = &syncBuffer{}
	cmd := exec.Command(s.bin, s.args...)
	cmd.Stdout, cmd.Stderr = s.log, s.log
	if err := cmd.Start(); err != nil {
		s.tb.Fatalf("redistest: start redis-server: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	s.cmd, s.done = cmd, done

	deadline := time.Now().Add(10 * time.Second)
	for !ping(s.addr) {
		select {
		case <-done:
			s.cmd = nil
			s.tb.Fatalf("redistest: redis-server exited:\n%s", s.log.String())
		default:
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-done
			s.cmd = nil
			s.tb.Fatalf("redistest: redis-server did not answer PING within 10s:\n%s", s.log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ping reports whether a Redis at addr answers PING, loading data included.
func ping(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && line == "+PONG\r\n"
}

// Stop shuts the private server down (SIGTERM, so a durable one flushes) and
// waits for it to exit. It does nothing for a stopped server, and skips the
// test with REDIS_URL set.
func (s *Server) Stop() {
	if !s.owned {
		s.tb.Skip("REDIS_URL is set: cannot stop a server this test does not own")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	s.cmd = nil
}

// Restart stops the private server if it runs and starts it again on the same
// port and data directory. With REDIS_URL it skips the test.
func (s *Server) Restart() {
	s.tb.Helper()
	if !s.owned {
		s.tb.Skip("REDIS_URL is set: cannot restart a server this test does not own")
	}
	s.Stop()
	s.start()
}

// Log returns what the private server has logged since it last started.
func (s *Server) Log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.log == nil {
		return ""
	}
	return s.log.String()
}

// syncBuffer is a bytes.Buffer safe for the writer goroutine exec starts.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
