package embedded

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/enlace-rfl/enlace/places"
)

// TestCountPlacesDoesNotWaitForTheIndex reopens a directory and counts its
// places while its index is being loaded (the load's lock held): the count
// comes from the file, so the menu never waits; a search after the load
// finds the places.
func TestCountPlacesDoesNotWaitForTheIndex(t *testing.T) {
	ctx := context.Background()
	verified := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	path := filepath.Join(t.TempDir(), "enlace.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ps := []places.Place{
		{ID: "a", Name: "A", Kind: places.KindShelter, Country: "MX", Lat: 14.90, Lon: -92.26, Status: places.StatusOpen, Verified: verified},
		{ID: "b", Name: "B", Kind: places.KindWater, Country: "MX", Lat: 14.91, Lon: -92.27, Status: places.StatusOpen, Verified: verified},
	}
	if err := s.UpsertPlaces(ctx, ps); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	s.places.mu.Lock() // a load in progress
	n, err := s.CountPlaces(ctx)
	s.places.mu.Unlock()
	if err != nil || n != 2 {
		t.Fatalf("count while the index loads: %d, %v; want 2", n, err)
	}
	if s.places.loaded.Load() {
		t.Fatal("counting loaded the index")
	}
	if err := s.LoadPlaces(ctx); err != nil {
		t.Fatal(err)
	}
	hits, err := s.NearbyPlaces(ctx, places.Query{Lat: 14.9, Lon: -92.26, RadiusKm: 25, Limit: 3})
	if err != nil || len(hits) != 2 {
		t.Fatalf("search after the load: %d hits, %v; want 2", len(hits), err)
	}
	if n, err := s.CountPlaces(ctx); err != nil || n != 2 {
		t.Fatalf("count after the load: %d, %v; want 2", n, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.LoadPlaces(ctx); err != nil {
		t.Errorf("loading a closed store: %v, want nothing to do", err)
	}
}
