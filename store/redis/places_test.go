package redis_test

import (
	"context"
	"testing"

	"github.com/enlace-rfl/enlace/places"
	"github.com/enlace-rfl/enlace/store/redis"
	"github.com/enlace-rfl/enlace/store/redis/redistest"
	"github.com/enlace-rfl/enlace/store/storetest"
)

func TestPlacesConformance(t *testing.T) {
	srv := redistest.Start(t)
	storetest.RunPlaces(t, func(t *testing.T) places.Store { return open(t, srv) })
}

// BenchmarkPlacesNearest searches 100,000 places:
// go test ./store/redis -run '^$' -bench Places
func BenchmarkPlacesNearest(b *testing.B) {
	srv := redistest.Start(b)
	s, err := redis.Open(context.Background(), srv.URL, redis.Options{Prefix: srv.NewPrefix()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	storetest.BenchPlaces(b, s, 100_000)
}
