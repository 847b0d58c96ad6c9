package redis_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/enlace-rfl/enlace/bot"
	"github.com/enlace-rfl/enlace/staff"
	"github.com/enlace-rfl/enlace/store/redis"
	"github.com/enlace-rfl/enlace/store/redis/redistest"
	"github.com/enlace-rfl/enlace/store/storetest"
)

func open(t *testing.T, srv *redistest.Server) *redis.Store {
	t.Helper()
	return openWith(t, srv, srv.NewPrefix(), bot.Retention{})
}

func openWith(t *testing.T, srv *redistest.Server, prefix string, r bot.Retention) *redis.Store {
	t.Helper()
	s, err := redis.Open(context.Background(), srv.URL, redis.Options{Prefix: prefix, Retention: r})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	srv := redistest.Start(t)
	prefixes := map[bot.Store]string{}
	var mu sync.Mutex
	prefixOf := func(s bot.Store) string {
		mu.Lock()
		defer mu.Unlock()
		return prefixes[s]
	}
	storetest.Run(t, storetest.Backend{
		Open: func(t *testing.T, r bot.Retention) bot.Store {
			p := srv.NewPrefix()
			s := openWith(t, srv, p, r)
			mu.Lock()
			prefixes[s] = p
			mu.Unlock()
			return s
		},
		Elapse: func(t *testing.T, s bot.Store, d time.Duration) {
			redistest.Elapse(t, s.(*redis.Store).Client(), prefixOf(s), d)
		},
		Contents: func(t *testing.T, s bot.Store) []string {
			return redistest.Contents(t, s.(*redis.Store).Client(), prefixOf(s))
		},
		Share:  func(t *testing.T, s bot.Store) bot.Store { return openWith(t, srv, prefixOf(s), bot.Retention{}) },
		Lapses: true,
	})
}

// keysOf lists every key that names the person.
func keysOf(t *testing.T, s *redis.Store, person string) []string {
	t.Helper()
	keys, err := s.Client().Keys(context.Background(), "*{"+person+"}*").Result()
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

func TestEraseLeavesNoKeys(t *testing.T) {
	ctx := context.Background()
	s := open(t, redistest.Start(t))
	const p = "abc123"
	now := time.Date(2031, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, id := range []string{"m1", "m2", "m3"} {
		if _, err := s.Accept(ctx, p, "k"+id, bot.Item{ID: id, Data: []byte(id)}, time.Hour, now); err != nil {
			t.Fatal(err)
		}
	}
	tok, err := s.Lock(ctx, p, time.Minute, now)
	if err != nil {
		t.Fatal(err)
	}
	full := bot.Commit{InboundID: "m1", Session: []byte("s"), SessionTTL: time.Hour,
		Outbox: []bot.Item{{ID: "o1"}, {ID: "o2"}}, Escalations: []bot.Item{{ID: "e1"}}}
	if err := s.Commit(ctx, p, tok, full, now); err != nil {
		t.Fatal(err)
	}
	if err := s.DeadLetter(ctx, p, bot.Item{ID: "o1", Data: []byte("why")}, now); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(ctx, p, tok, bot.Commit{InboundID: "m2", Erase: true, Outbox: []bot.Item{{ID: "bye"}}}, now); err != nil {
		t.Fatal(err)
	}
	if err := s.Unlock(ctx, p, tok); err != nil {
		t.Fatal(err)
	}
	got := strings.Join(keysOf(t, s, p), " ")
	for _, suffix := range []string{":session", ":dead", ":esc", ":seen", ":lock"} {
		if strings.Contains(got, suffix) {
			t.Errorf("key %s survived erase: %s", suffix, got)
		}
	}
	if !strings.Contains(got, ":in") || !strings.Contains(got, ":out") {
		t.Errorf("want the remaining inbox and new outbox, have %s", got)
	}
	for _, idx := range []string{"dead", "esc"} {
		n, err := s.Client().ZCard(ctx, redisPrefix(t, s)+":idx:"+idx).Result()
		if err != nil || n != 0 {
			t.Errorf("idx:%s holds %d entries (%v), want 0", idx, n, err)
		}
	}
}

// redisPrefix finds the store's prefix from its queue key.
func redisPrefix(t *testing.T, s *redis.Store) string {
	t.Helper()
	keys, err := s.Client().Keys(context.Background(), "*:q:in").Result()
	if err != nil || len(keys) != 1 {
		t.Fatalf("queue keys %v, %v", keys, err)
	}
	return strings.TrimSuffix(keys[0], ":q:in")
}

func TestRestartKeepsDurableData(t *testing.T) {
	ctx := context.Background()
	srv := redistest.StartWith(t, redistest.Config{Durable: true})
	s := open(t, srv)
	now := time.Date(2031, 3, 1, 12, 0, 0, 0, time.UTC)
	if _, err := s.Accept(ctx, "p1", "k", bot.Item{ID: "m1", Data: []byte("hola")}, time.Hour, now); err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	if err := s.Ping(ctx); err == nil {
		t.Fatal("Ping succeeded with Redis stopped")
	}
	srv.Restart()
	it, err := s.NextInbound(ctx, "p1")
	if err != nil || string(it.Data) != "hola" {
		t.Fatalf("after restart NextInbound = %+v, %v", it, err)
	}
	if ok, err := s.Accept(ctx, "p1", "k", bot.Item{ID: "m1"}, time.Hour, now); err != nil || ok {
		t.Fatalf("dedupe mark lost across restart: ok=%v err=%v", ok, err)
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	for _, u := range []string{"localhost:6379", "redis://u:secretpw@127.0.0.1:1/?foo=1", "redis://u:secretpw@127.0.0.1:1?addr=127.0.0.1:2&dial_timeout=100ms"} {
		_, err := redis.Open(ctx, u, redis.Options{})
		if err == nil {
			t.Errorf("Open(%q) succeeded", u)
			continue
		}
		if strings.Contains(err.Error(), "secretpw") {
			t.Errorf("Open error leaks the password: %v", err)
		}
	}
	if _, err := redis.Open(ctx, "redis://127.0.0.1:1", redis.Options{Prefix: "a{b}"}); err == nil {
		t.Error("prefix with braces accepted")
	}
	var s bot.Store = redis.New(nil, redis.Options{}) // New does no I/O
	if _, err := s.Lock(ctx, "{evil}", time.Second, time.Time{}); err == nil || errors.Is(err, bot.ErrLocked) {
		t.Errorf("Lock with a brace in the person key: %v", err)
	}
}

func TestStaffConformance(t *testing.T) {
	srv := redistest.Start(t)
	storetest.RunStaff(t, func(t *testing.T) staff.Store { return open(t, srv) })
}
