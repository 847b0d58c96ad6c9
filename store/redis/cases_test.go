package redis_test

import (
	"context"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/enlace-rfl/enlace/bot"
	"github.com/enlace-rfl/enlace/store/redis"
	"github.com/enlace-rfl/enlace/store/redis/redistest"
	"github.com/enlace-rfl/enlace/store/storetest"
	"github.com/enlace-rfl/enlace/tracing"
)

// caseBackend runs the case suite on stores opened by open, each with its own prefix.
func caseBackend(open func(t *testing.T, prefix string) *redis.Store, newPrefix func() string) storetest.CaseBackend {
	var mu sync.Mutex
	prefixes := map[tracing.Store]string{}
	prefixOf := func(s tracing.Store) string {
		mu.Lock()
		defer mu.Unlock()
		return prefixes[s]
	}
	return storetest.CaseBackend{
		Open: func(t *testing.T) tracing.Store {
			p := newPrefix()
			s := open(t, p)
			mu.Lock()
			prefixes[s] = p
			mu.Unlock()
			t.Cleanup(func() { wantEveryKeyExpires(t, s.Client(), p) })
			return s
		},
		Elapse: func(t *testing.T, s tracing.Store, d time.Duration) {
			redistest.Elapse(t, s.(*redis.Store).Client(), prefixOf(s), d)
		},
		Contents: func(t *testing.T, s tracing.Store) []string {
			return redistest.Contents(t, s.(*redis.Store).Client(), prefixOf(s))
		},
	}
}

// wantEveryKeyExpires fails for a key under prefix without a TTL.
func wantEveryKeyExpires(t *testing.T, c goredis.UniversalClient, prefix string) {
	t.Helper()
	ctx := context.Background()
	var mu sync.Mutex
	var keys []string
	scan := func(ctx context.Context, n *goredis.Client) error {
		it := n.Scan(ctx, 0, prefix+":case:*", 100).Iterator()
		for it.Next(ctx) {
			mu.Lock()
			keys = append(keys, it.Val())
			mu.Unlock()
		}
		return it.Err()
	}
	var err error
	switch cc := c.(type) {
	case *goredis.ClusterClient:
		err = cc.ForEachMaster(ctx, scan)
	case *goredis.Client:
		err = scan(ctx, cc)
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if ttl := c.PTTL(ctx, k).Val(); ttl == -1 {
			t.Errorf("key %s has no expiry", k)
		}
	}
}

func TestCaseConformance(t *testing.T) {
	srv := redistest.Start(t)
	storetest.RunCases(t, caseBackend(func(t *testing.T, p string) *redis.Store {
		return openWith(t, srv, p, bot.Retention{})
	}, srv.NewPrefix))
}

// TestClusterCases runs the case suite on a three-master Redis Cluster: a
// case's keys share one slot, the indexes another, and no script spans slots.
func TestClusterCases(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Redis Cluster")
	}
	c := redistest.StartCluster(t)
	storetest.RunCases(t, caseBackend(func(t *testing.T, p string) *redis.Store {
		st, err := redis.Open(context.Background(), c.URL, redis.Options{Prefix: p})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		if _, ok := st.Client().(*goredis.ClusterClient); !ok {
			t.Fatalf("the cluster URL gave a %T, want a cluster client", st.Client())
		}
		return st
	}, redistest.UniquePrefix))
}
