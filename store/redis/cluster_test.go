package redis_test

import (
	"context"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/enlace-rfl/enlace/bot"
	"github.com/enlace-rfl/enlace/places"
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
	open := func(t *testing.T) *redisstore.Store {
		st, err := redisstore.Open(context.Background(), c.URL, redisstore.Options{Prefix: redistest.UniquePrefix()})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := st.Client().(*goredis.ClusterClient); !ok {
			t.Fatalf("the cluster URL gave a %T, want a cluster client", st.Client())
		}
		return st
	}
	storetest.Run(t, func(t *testing.T) bot.Store { return open(t) })
	storetest.RunPlaces(t, func(t *testing.T) places.Store { return open(t) })
}
