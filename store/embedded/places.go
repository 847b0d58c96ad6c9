package embedded

// The directory of places (package places) lives in the bucket "places"
// (id -> JSON), created on first write, and in an in-memory places.Index
// loaded from it on first use (or by LoadPlaces, which serve calls in the
// background at start) and updated with every write, so a search reads no
// file. Loading 100,000 places takes seconds: until it is done, CountPlaces
// counts the file's keys instead of waiting, so the menu, which asks whether
// the directory holds places, never waits for the index.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/enlace-rfl/enlace/places"
)

var _ places.Store = (*Store)(nil)

var bPlaces = []byte("places")

// placeIndex is a Store's in-memory directory (the field Store.places).
// Writers hold mu for the file write and the index update together, so the
// two never disagree.
type placeIndex struct {
	mu sync.RWMutex
	// loaded is set, under mu, once x holds the file's places; it is read
	// without mu by CountPlaces, which does not wait for a load.
	loaded atomic.Bool
	x      *places.Index
}

func (s *Store) placeIndex() *placeIndex { return &s.places }

// load reads the bucket into the index once; the caller holds mu for writing.
func (s *Store) loadPlaces(ix *placeIndex) error {
	if ix.loaded.Load() {
		return nil
	}
	var ps []places.Place
	err := s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bPlaces)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			var p places.Place
			if err := json.Unmarshal(v, &p); err != nil {
				return fmt.Errorf("place %q: %w", k, err)
			}
			ps = append(ps, p)
			return nil
		})
	})
	if err != nil {
		return err
	}
	ix.x = places.NewIndex(ps)
	ix.loaded.Store(true)
	return nil
}

// readIndex returns the loaded index with its read lock held.
func (s *Store) readIndex(ctx context.Context) (*placeIndex, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ix := s.placeIndex()
	ix.mu.RLock()
	if ix.loaded.Load() {
		return ix, nil
	}
	ix.mu.RUnlock()
	ix.mu.Lock()
	err := s.loadPlaces(ix)
	ix.mu.Unlock()
	if err != nil {
		return nil, err
	}
	ix.mu.RLock()
	return ix, nil
}

// writeIndex returns the loaded index with its write lock held.
func (s *Store) writeIndex(ctx context.Context) (*placeIndex, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ix := s.placeIndex()
	ix.mu.Lock()
	if err := s.loadPlaces(ix); err != nil {
		ix.mu.Unlock()
		return nil, err
	}
	return ix, nil
}

// UpsertPlaces adds places or replaces the ones with the same ID.
func (s *Store) UpsertPlaces(ctx context.Context, ps []places.Place) error {
	for _, p := range ps {
		if errs := p.Validate(); len(errs) > 0 {
			return fmt.Errorf("embedded: place %q: %s", p.ID, strings.Join(errs, "; "))
		}
	}
	ps = slices.Clone(ps)
	for i := range ps {
		ps[i].StatusSince = places.SinceTime(ps[i].StatusSince) // as Redis keeps it
	}
	ix, err := s.writeIndex(ctx)
	if err != nil {
		return err
	}
	defer ix.mu.Unlock()
	return s.putPlaces(ix, ps)
}

// putPlaces writes places to the file and the index; the caller holds ix.mu.
func (s *Store) putPlaces(ix *placeIndex, ps []places.Place) error {
	err := s.update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bPlaces)
		if err != nil {
			return err
		}
		for _, p := range ps {
			v, err := json.Marshal(p)
			if err != nil {
				return err
			}
			if err := b.Put([]byte(p.ID), v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	ix.x.Put(ps...)
	return nil
}

// DeletePlaces removes places; unknown IDs are ignored.
func (s *Store) DeletePlaces(ctx context.Context, ids []string) error {
	ix, err := s.writeIndex(ctx)
	if err != nil {
		return err
	}
	defer ix.mu.Unlock()
	err = s.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bPlaces)
		if b == nil {
			return nil
		}
		for _, id := range ids {
			if err := b.Delete([]byte(id)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	ix.x.Delete(ids...)
	return nil
}

// Place returns one place, or places.ErrNotFound.
func (s *Store) Place(ctx context.Context, id string) (places.Place, error) {
	ix, err := s.readIndex(ctx)
	if err != nil {
		return places.Place{}, err
	}
	defer ix.mu.RUnlock()
	p, ok := ix.x.Get(id)
	if !ok {
		return places.Place{}, places.ErrNotFound
	}
	return p, nil
}

// AllPlaces returns every place, ordered by ID.
func (s *Store) AllPlaces(ctx context.Context) ([]places.Place, error) {
	ix, err := s.readIndex(ctx)
	if err != nil {
		return nil, err
	}
	defer ix.mu.RUnlock()
	return ix.x.All(), nil
}

// LoadPlaces reads the directory into memory now, unless it is already, so
// that the first search does not wait for it. serve calls it in the
// background at start; a search that comes first waits for the load. A
// store closed meanwhile has nothing to load: that is no error.
func (s *Store) LoadPlaces(ctx context.Context) error {
	ix, err := s.readIndex(ctx)
	if errors.Is(err, bolterrors.ErrDatabaseNotOpen) {
		return nil
	}
	if err != nil {
		return err
	}
	ix.mu.RUnlock()
	return nil
}

// CountPlaces returns how many places the directory holds. Before the index
// is loaded it counts the keys of the file instead, without waiting for a
// load in progress.
func (s *Store) CountPlaces(ctx context.Context) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if !s.placeIndex().loaded.Load() {
		n := 0
		err := s.view(func(tx *bolt.Tx) error {
			if b := tx.Bucket(bPlaces); b != nil {
				n = b.Stats().KeyN
			}
			return nil
		})
		return n, err
	}
	ix, err := s.readIndex(ctx)
	if err != nil {
		return 0, err
	}
	defer ix.mu.RUnlock()
	return ix.x.Len(), nil
}

// SetPlaceStatus changes a place's status, set at the time at.
func (s *Store) SetPlaceStatus(ctx context.Context, id string, st places.Status, at time.Time) error {
	if !places.ValidStatus(st) {
		return fmt.Errorf("embedded: invalid status %q", st)
	}
	ix, err := s.writeIndex(ctx) // read and write under one lock
	if err != nil {
		return err
	}
	defer ix.mu.Unlock()
	p, ok := ix.x.Get(id)
	if !ok {
		return places.ErrNotFound
	}
	p.Status, p.StatusSince = st, places.SinceTime(at)
	return s.putPlaces(ix, []places.Place{p})
}

// NearbyPlaces answers a query from the in-memory index.
func (s *Store) NearbyPlaces(ctx context.Context, q places.Query) ([]places.Hit, error) {
	ix, err := s.readIndex(ctx)
	if err != nil {
		return nil, err
	}
	defer ix.mu.RUnlock()
	return ix.x.Nearby(q), nil
}
