package redis

// The directory of places (package places) is global data, not anyone's
// personal data, so its keys carry no person hash tag:
//
//	<prefix>:places:p:<id>       hash of the place's columns (places.Columns)
//	<prefix>:places:ids          set of every place ID, closed ones included
//	<prefix>:places:geo          GEO set of the open and full places
//	<prefix>:places:geo:<kind>   GEO set of the open and full places of a kind
//
// Writes go hash first, then the sets, so a search never finds a member
// without its hash (and skips one whose hash a concurrent delete removed).

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/enlace-rfl/enlace/places"
)

var _ places.Store = (*Store)(nil)

// placesBatch is how many places one pipeline writes.
const placesBatch = 500

func (s *Store) placeKey(id string) string { return s.prefix + ":places:p:" + id }
func (s *Store) placeIDs() string          { return s.prefix + ":places:ids" }
func (s *Store) placeGeo(kind places.Kind) string {
	if kind == "" {
		return s.prefix + ":places:geo"
	}
	return s.prefix + ":places:geo:" + string(kind)
}

func checkPlaceID(id string) error {
	if id == "" || len(id) > 64 || strings.ContainsAny(id, "{}\x00") {
		return fmt.Errorf("redis: invalid place id %q", id)
	}
	return nil
}

// UpsertPlaces adds places or replaces the ones with the same ID.
func (s *Store) UpsertPlaces(ctx context.Context, ps []places.Place) error {
	for start := 0; start < len(ps); start += placesBatch {
		batch := ps[start:min(len(ps), start+placesBatch)]
		for _, p := range batch {
			if err := checkPlaceID(p.ID); err != nil {
				return err
			}
			if errs := p.Validate(); len(errs) > 0 {
				return fmt.Errorf("redis: place %q: %s", p.ID, strings.Join(errs, "; "))
			}
		}
		old, err := s.placeKinds(ctx, batch)
		if err != nil {
			return err
		}
		pipe := s.c.Pipeline()
		for i, p := range batch {
			f := p.Fields()
			values := make([]any, 0, 2*len(f))
			for _, c := range places.Columns {
				values = append(values, c, f[c])
			}
			pipe.HSet(ctx, s.placeKey(p.ID), values...)
			pipe.SAdd(ctx, s.placeIDs(), p.ID)
			if old[i] != "" && (old[i] != p.Kind || p.Status == places.StatusClosed) {
				pipe.ZRem(ctx, s.placeGeo(old[i]), p.ID)
			}
			if p.Status == places.StatusClosed {
				pipe.ZRem(ctx, s.placeGeo(""), p.ID)
				continue
			}
			loc := &goredis.GeoLocation{Name: p.ID, Longitude: p.Lon, Latitude: p.Lat}
			pipe.GeoAdd(ctx, s.placeGeo(""), loc)
			pipe.GeoAdd(ctx, s.placeGeo(p.Kind), loc)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return fmt.Errorf("redis: writing places: %w", err)
		}
	}
	return nil
}

// placeKinds returns the stored kind of each place, "" for a new one.
func (s *Store) placeKinds(ctx context.Context, ps []places.Place) ([]places.Kind, error) {
	pipe := s.c.Pipeline()
	cmds := make([]*goredis.StringCmd, len(ps))
	for i, p := range ps {
		cmds[i] = pipe.HGet(ctx, s.placeKey(p.ID), "kind")
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, goredis.Nil) {
		return nil, fmt.Errorf("redis: reading places: %w", err)
	}
	out := make([]places.Kind, len(ps))
	for i, c := range cmds {
		out[i] = places.Kind(c.Val())
	}
	return out, nil
}

// DeletePlaces removes places; unknown IDs are ignored.
func (s *Store) DeletePlaces(ctx context.Context, ids []string) error {
	for start := 0; start < len(ids); start += placesBatch {
		batch := ids[start:min(len(ids), start+placesBatch)]
		pipe := s.c.Pipeline()
		for _, id := range batch {
			if err := checkPlaceID(id); err != nil {
				return err
			}
			pipe.ZRem(ctx, s.placeGeo(""), id)
			for _, k := range places.Kinds {
				pipe.ZRem(ctx, s.placeGeo(k), id)
			}
			pipe.SRem(ctx, s.placeIDs(), id)
			pipe.Del(ctx, s.placeKey(id))
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return fmt.Errorf("redis: deleting places: %w", err)
		}
	}
	return nil
}

// Place returns one place, or places.ErrNotFound.
func (s *Store) Place(ctx context.Context, id string) (places.Place, error) {
	if err := checkPlaceID(id); err != nil {
		return places.Place{}, err
	}
	ps, err := s.loadPlaces(ctx, []string{id})
	if err != nil {
		return places.Place{}, err
	}
	if len(ps) == 0 {
		return places.Place{}, places.ErrNotFound
	}
	return ps[0], nil
}

// loadPlaces reads places by ID, skipping IDs that have no hash.
func (s *Store) loadPlaces(ctx context.Context, ids []string) ([]places.Place, error) {
	out := make([]places.Place, 0, len(ids))
	for start := 0; start < len(ids); start += placesBatch {
		batch := ids[start:min(len(ids), start+placesBatch)]
		pipe := s.c.Pipeline()
		cmds := make([]*goredis.MapStringStringCmd, len(batch))
		for i, id := range batch {
			cmds[i] = pipe.HGetAll(ctx, s.placeKey(id))
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return nil, fmt.Errorf("redis: reading places: %w", err)
		}
		for _, c := range cmds {
			m := c.Val()
			if len(m) == 0 {
				continue
			}
			p, err := places.FromFields(func(col string) string { return m[col] })
			if err != nil {
				return nil, fmt.Errorf("redis: %w", err)
			}
			out = append(out, p)
		}
	}
	return out, nil
}

// AllPlaces returns every place, ordered by ID.
func (s *Store) AllPlaces(ctx context.Context) ([]places.Place, error) {
	ids, err := s.c.SMembers(ctx, s.placeIDs()).Result()
	if err != nil {
		return nil, fmt.Errorf("redis: listing places: %w", err)
	}
	slices.Sort(ids)
	return s.loadPlaces(ctx, ids)
}

// CountPlaces returns how many places the directory holds.
func (s *Store) CountPlaces(ctx context.Context) (int, error) {
	n, err := s.c.SCard(ctx, s.placeIDs()).Result()
	if err != nil {
		return 0, fmt.Errorf("redis: counting places: %w", err)
	}
	return int(n), nil
}

// SetPlaceStatus changes a place's status, set at the time at.
func (s *Store) SetPlaceStatus(ctx context.Context, id string, st places.Status, at time.Time) error {
	if !places.ValidStatus(st) {
		return fmt.Errorf("redis: invalid status %q", st)
	}
	p, err := s.Place(ctx, id)
	if err != nil {
		return err
	}
	p.Status, p.StatusSince = st, places.SinceTime(at)
	return s.UpsertPlaces(ctx, []places.Place{p})
}

// NearbyPlaces answers a query with GEOSEARCH ... ASC COUNT, then reads the
// places' hashes. Distances are computed again from the stored coordinates
// (places.Distance), so both stores report the same kilometres.
func (s *Store) NearbyPlaces(ctx context.Context, q places.Query) ([]places.Hit, error) {
	if q.Limit <= 0 || q.RadiusKm <= 0 {
		return nil, nil
	}
	ids, err := s.c.GeoSearch(ctx, s.placeGeo(q.Kind), &goredis.GeoSearchQuery{
		Longitude: q.Lon, Latitude: q.Lat, Radius: q.RadiusKm, RadiusUnit: "km", Sort: "ASC", Count: q.Limit,
	}).Result()
	if err != nil {
		return nil, fmt.Errorf("redis: searching places: %w", err)
	}
	ps, err := s.loadPlaces(ctx, ids)
	if err != nil {
		return nil, err
	}
	hits := make([]places.Hit, 0, len(ps))
	for _, p := range ps {
		if p.Status == places.StatusClosed || (q.Kind != "" && p.Kind != q.Kind) {
			continue // changed while we read
		}
		hits = append(hits, places.Hit{Place: p, Km: places.Distance(q.Lat, q.Lon, p.Lat, p.Lon)})
	}
	slices.SortStableFunc(hits, func(a, b places.Hit) int {
		switch {
		case a.Km < b.Km:
			return -1
		case a.Km > b.Km:
			return 1
		}
		return strings.Compare(a.ID, b.ID)
	})
	return hits, nil
}
