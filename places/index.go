package places

import (
	"math"
	"slices"
	"sort"
)

// Index is an in-memory spatial index of places, for stores without one of
// their own (store/embedded): entries sorted by latitude, so a search scans
// only the band of latitudes its radius can reach. It is not safe for
// concurrent use by writers; Nearby, Get, Len and All may run concurrently
// with each other.
type Index struct {
	byLat []indexEntry
	byID  map[string]Place
}

type indexEntry struct {
	lat, lon float64
	kind     Kind
	id       string
}

// NewIndex returns an index holding ps.
func NewIndex(ps []Place) *Index {
	x := &Index{byID: map[string]Place{}}
	for _, p := range ps {
		x.byID[p.ID] = p
	}
	x.rebuild()
	return x
}

// Put adds or replaces places.
func (x *Index) Put(ps ...Place) {
	for _, p := range ps {
		x.byID[p.ID] = p
	}
	x.rebuild()
}

// Delete removes places.
func (x *Index) Delete(ids ...string) {
	for _, id := range ids {
		delete(x.byID, id)
	}
	x.rebuild()
}

// Get returns a place by ID.
func (x *Index) Get(id string) (Place, bool) {
	p, ok := x.byID[id]
	return p, ok
}

// Len is how many places the index holds.
func (x *Index) Len() int { return len(x.byID) }

// All returns every place ordered by ID.
func (x *Index) All() []Place {
	out := make([]Place, 0, len(x.byID))
	for _, p := range x.byID {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b Place) int { return compareStrings(a.ID, b.ID) })
	return out
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// rebuild sorts the open and full places by latitude. Writes rebuild at
// once, in bulk for a whole import, so searches never write.
func (x *Index) rebuild() {
	x.byLat = x.byLat[:0]
	for _, p := range x.byID {
		if p.Status != StatusClosed {
			x.byLat = append(x.byLat, indexEntry{lat: p.Lat, lon: p.Lon, kind: p.Kind, id: p.ID})
		}
	}
	sort.Slice(x.byLat, func(i, j int) bool { return x.byLat[i].lat < x.byLat[j].lat })
}

// kmPerDegreeLat is the length of a degree of latitude, a little generous so
// the band never misses a place on its edge.
const kmPerDegreeLat = 110.5

// Nearby answers a Query: never closed places, nearest first.
func (x *Index) Nearby(q Query) []Hit {
	if q.Limit <= 0 {
		return nil
	}
	dLat := q.RadiusKm / kmPerDegreeLat
	lo := sort.Search(len(x.byLat), func(i int) bool { return x.byLat[i].lat >= q.Lat-dLat })
	// A longitude window too, widest at the band's edge nearest a pole.
	maxLat := math.Min(89.9, math.Max(math.Abs(q.Lat-dLat), math.Abs(q.Lat+dLat)))
	dLon := 180.0
	if c := math.Cos(maxLat * math.Pi / 180); q.RadiusKm/(kmPerDegreeLat*c) < 180 {
		dLon = q.RadiusKm / (kmPerDegreeLat * c)
	}
	type cand struct {
		km float64
		id string
	}
	var found []cand
	for i := lo; i < len(x.byLat) && x.byLat[i].lat <= q.Lat+dLat; i++ {
		e := &x.byLat[i]
		if q.Kind != "" && e.kind != q.Kind {
			continue
		}
		if d := math.Abs(e.lon - q.Lon); d > dLon && 360-d > dLon {
			continue
		}
		if km := Distance(q.Lat, q.Lon, e.lat, e.lon); km <= q.RadiusKm {
			found = append(found, cand{km, e.id})
		}
	}
	slices.SortFunc(found, func(a, b cand) int {
		if a.km != b.km {
			if a.km < b.km {
				return -1
			}
			return 1
		}
		return compareStrings(a.id, b.id)
	})
	if len(found) > q.Limit {
		found = found[:q.Limit]
	}
	out := make([]Hit, len(found))
	for i, c := range found {
		out[i] = Hit{Place: x.byID[c.id], Km: c.km}
	}
	return out
}
