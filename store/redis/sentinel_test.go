package redis_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/enlace-rfl/enlace/bot"
	redisstore "github.com/enlace-rfl/enlace/store/redis"
	"github.com/enlace-rfl/enlace/store/redis/redistest"
	"github.com/enlace-rfl/enlace/store/storetest"
)

// TestSentinelConformance runs the conformance suite against a
// Sentinel-managed primary with one replica, through a master_name URL with
// wait_replicas=1: the store follows the Sentinel and waits for the replica
// where it says it does.
func TestSentinelConformance(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a primary, a replica and a Sentinel")
	}
	sen := redistest.StartSentinel(t)
	url := sen.URL + "&wait_replicas=1"
	var mu sync.Mutex
	prefixes := map[bot.Store]string{}
	open := func(t *testing.T, r bot.Retention, prefix string) *redisstore.Store {
		st, err := redisstore.Open(context.Background(), url, redisstore.Options{Prefix: prefix, Retention: r})
		if err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		prefixes[st] = prefix
		mu.Unlock()
		t.Cleanup(func() { _ = st.Close() })
		return st
	}
	prefixOf := func(s bot.Store) string {
		mu.Lock()
		defer mu.Unlock()
		return prefixes[s]
	}
	storetest.Run(t, storetest.Backend{
		Open: func(t *testing.T, r bot.Retention) bot.Store { return open(t, r, redistest.UniquePrefix()) },
		Elapse: func(t *testing.T, s bot.Store, d time.Duration) {
			redistest.Elapse(t, s.(*redisstore.Store).Client(), prefixOf(s), d)
		},
		Contents: func(t *testing.T, s bot.Store) []string {
			return redistest.Contents(t, s.(*redisstore.Store).Client(), prefixOf(s))
		},
		Share:  func(t *testing.T, s bot.Store) bot.Store { return open(t, bot.Retention{}, prefixOf(s)) },
		Lapses: true,
	})
}

// TestWaitReplicasRefusesWithoutReplicas: with wait_replicas above the
// replicas there are, accepting fails with ErrUnreplicated (the webhook is
// answered with an error and the provider delivers again) and nothing is
// claimed to be sent; the acknowledgement after a send fails the same way;
// a bad wait_replicas is refused when the store opens.
func TestWaitReplicasRefusesWithoutReplicas(t *testing.T) {
	srv := redistest.Start(t)
	if !strings.HasPrefix(srv.URL, "redis://127.0.0.1") {
		t.Skip("needs a private redis-server without replicas")
	}
	ctx := context.Background()
	st, err := redisstore.Open(ctx, srv.URL+"?wait_replicas=1", redisstore.Options{Prefix: srv.NewPrefix()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Date(2031, 3, 1, 12, 0, 0, 0, time.UTC)
	if _, err := st.Accept(ctx, "p1", "m1", bot.Item{ID: "i1", Data: []byte("x")}, time.Hour, now); !errors.Is(err, redisstore.ErrUnreplicated) {
		t.Fatalf("Accept with no replica: %v, want ErrUnreplicated", err)
	}
	if err := st.Enqueue(ctx, "p1", []bot.Item{{ID: "o1", Data: []byte("y")}}, now); err != nil {
		t.Fatal(err)
	}
	if err := st.Schedule(ctx, bot.LaneQueue("sms"), "p1", now); err != nil {
		t.Fatal(err)
	}
	if ds, err := st.ClaimOutbound(ctx, bot.LaneQueue("sms"), now, time.Minute, time.Minute, time.Second, 4, bot.LaneBudget{Lane: "sms"}); !errors.Is(err, redisstore.ErrUnreplicated) || len(ds) != 0 {
		t.Fatalf("ClaimOutbound with no replica: %v, %v; want nothing to send and ErrUnreplicated", ds, err)
	}
	// The acknowledgement after a send says so too (the pipeline runs it
	// again, and it is idempotent), though the primary has it.
	claim := bot.Claim{Person: "p1", Until: now.Add(time.Minute)}
	if err := st.FinishOutbound(ctx, "p1", "tok", bot.LaneQueue("sms"), claim, "o1", now, now); !errors.Is(err, redisstore.ErrUnreplicated) {
		t.Fatalf("FinishOutbound with no replica: %v, want ErrUnreplicated", err)
	}
	if h, err := st.NextOutbound(ctx, "p1"); !errors.Is(err, bot.ErrNotFound) {
		t.Fatalf("after FinishOutbound with no replica: head %q, %v; want it removed on the primary", h.ID, err)
	}
	if err := st.FinishOutbound(ctx, "p1", "tok", bot.LaneQueue("sms"), claim, "o1", now, now); !errors.Is(err, redisstore.ErrUnreplicated) {
		t.Fatalf("FinishOutbound again: %v, want ErrUnreplicated and nothing else", err)
	}
	for _, bad := range []string{"?wait_replicas=two", "?wait_replicas=-1", "?addr=127.0.0.1:1&wait_replicas=1"} {
		if st, err := redisstore.Open(ctx, srv.URL+bad, redisstore.Options{}); err == nil {
			st.Close()
			t.Errorf("Open with %q: no error", bad)
		}
	}
}
