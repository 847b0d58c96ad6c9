package redis_test

import (
	"context"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/enlace-rfl/enlace/bot"
	"github.com/enlace-rfl/enlace/places"
	"github.com/enlace-rfl/enlace/staff"
	redisstore "github.com/enlace-rfl/enlace/store/redis"
	"github.com/enlace-rfl/enlace/store/redis/redistest"
	"github.com/enlace-rfl/enlace/store/storetest"
)

// TestClusterConformance runs the whole conformance suite, and the places
// suite, against a real three-master Redis Cluster: every person's keys share
// one hash tag, and no command spans slots.
func TestClusterConformance(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Redis Cluster")
	}
	c := redistest.StartCluster(t)
	var mu sync.Mutex
	prefixes := map[bot.Store]string{}
	open := func(t *testing.T, r bot.Retention) *redisstore.Store {
		prefix := redistest.UniquePrefix()
		st, err := redisstore.Open(context.Background(), c.URL, redisstore.Options{Prefix: prefix, Retention: r})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := st.Client().(*goredis.ClusterClient); !ok {
			t.Fatalf("the cluster URL gave a %T, want a cluster client", st.Client())
		}
		mu.Lock()
		prefixes[st] = prefix
		mu.Unlock()
		return st
	}
	prefixOf := func(s bot.Store) string {
		mu.Lock()
		defer mu.Unlock()
		return prefixes[s]
	}
	storetest.Run(t, storetest.Backend{
		Open: func(t *testing.T, r bot.Retention) bot.Store { return open(t, r) },
		Elapse: func(t *testing.T, s bot.Store, d time.Duration) {
			redistest.Elapse(t, s.(*redisstore.Store).Client(), prefixOf(s), d)
		},
		Contents: func(t *testing.T, s bot.Store) []string {
			return redistest.Contents(t, s.(*redisstore.Store).Client(), prefixOf(s))
		},
		Share: func(t *testing.T, s bot.Store) bot.Store {
			st, err := redisstore.Open(context.Background(), c.URL, redisstore.Options{Prefix: prefixOf(s)})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = st.Close() })
			return st
		},
		Lapses: true,
	})
	storetest.RunPlaces(t, func(t *testing.T) places.Store { return open(t, bot.Retention{}) })
	t.Run("Staff", func(t *testing.T) {
		storetest.RunStaff(t, func(t *testing.T) staff.Store { return open(t, bot.Retention{}) })
	})
}
