package embedded_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/enlace-rfl/enlace/places"
	"github.com/enlace-rfl/enlace/store/embedded"
	"github.com/enlace-rfl/enlace/store/storetest"
)

func TestPlacesConformance(t *testing.T) {
	storetest.RunPlaces(t, func(t *testing.T) places.Store {
		return open(t, filepath.Join(t.TempDir(), "enlace.db"))
	})
}

// TestPlacesSurviveReopen checks the in-memory index is loaded from the file.
func TestPlacesSurviveReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "enlace.db")
	s := open(t, path)
	closed := storetest.TestPlace("c", places.KindWater, 14.91, -92.26)
	closed.Status = places.StatusClosed
	if err := s.UpsertPlaces(ctx, []places.Place{storetest.TestPlace("w", places.KindWater, 14.9, -92.25), closed}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, path)
	hs, err := s.NearbyPlaces(ctx, places.Query{Lat: 14.9, Lon: -92.25, RadiusKm: 25, Limit: 5})
	if err != nil {
		t.Fatal(err)
	}
	if len(hs) != 1 || hs[0].ID != "w" {
		t.Errorf("after reopen: got %+v, want place w only", hs)
	}
	if n, err := s.CountPlaces(ctx); err != nil || n != 2 {
		t.Errorf("CountPlaces after reopen: got %d, %v, want 2", n, err)
	}
}

// BenchmarkPlacesNearest searches 100,000 places:
// go test ./store/embedded -run '^$' -bench Places
func BenchmarkPlacesNearest(b *testing.B) {
	s, err := embedded.Open(filepath.Join(b.TempDir(), "enlace.db"), embedded.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	storetest.BenchPlaces(b, s, 100_000)
}
