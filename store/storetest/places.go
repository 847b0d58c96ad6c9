package storetest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/enlace-rfl/enlace/places"
)

// RunPlaces runs the conformance suite of the places directory. open returns a
// new, empty store for one subtest (with its own cleanup).
func RunPlaces(t *testing.T, open func(t *testing.T) places.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s places.Store)
	}{
		{"RoundTrip", testPlacesRoundTrip},
		{"NearbyMatchesHaversine", testPlacesNearby},
		{"KindsAndStatus", testPlacesKindsStatus},
		{"Delete", testPlacesDelete},
		{"FinderWidensRadius", testPlacesFinder},
		{"ImportReplace", testPlacesImportReplace},
		{"StatusSince", testPlacesStatusSince},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
}

var placesDay = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

// TestPlace returns a valid place at a point.
func TestPlace(id string, kind places.Kind, lat, lon float64) places.Place {
	return places.Place{ID: id, Name: "Place " + id, Kind: kind, Country: "MX", Lat: lat, Lon: lon,
		Verified: placesDay, Status: places.StatusOpen}
}

// offset returns the point km kilometres from (lat, lon) on a bearing.
func offset(lat, lon, km, bearingDeg float64) (float64, float64) {
	const r = 6371.0088
	φ1, λ1, θ, δ := lat*math.Pi/180, lon*math.Pi/180, bearingDeg*math.Pi/180, km/r
	φ2 := math.Asin(math.Sin(φ1)*math.Cos(δ) + math.Cos(φ1)*math.Sin(δ)*math.Cos(θ))
	λ2 := λ1 + math.Atan2(math.Sin(θ)*math.Sin(δ)*math.Cos(φ1), math.Cos(δ)-math.Sin(φ1)*math.Sin(φ2))
	return φ2 * 180 / math.Pi, λ2 * 180 / math.Pi
}

func mustUpsert(t *testing.T, s places.Store, ps ...places.Place) {
	t.Helper()
	if err := s.UpsertPlaces(context.Background(), ps); err != nil {
		t.Fatalf("UpsertPlaces: %v", err)
	}
}

func hitIDs(hs []places.Hit) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = h.ID
	}
	return out
}

func testPlacesRoundTrip(t *testing.T, s places.Store) {
	ctx := context.Background()
	p := places.Place{ID: "mx-tap-1", Name: "Albergue Jesús el Buen Pastor", Kind: places.KindShelter,
		Organization: "Org", Address: "Calle 1, \"Centro\"", City: "Tapachula", Admin1: "Chiapas", Country: "MX",
		Lat: 14.90385, Lon: -92.25749, Phone: "+52 962 000 0000", Hours: "24 h", Services: []string{"lodging", "food"},
		Languages: []string{"es", "ht"}, Notes: places.TownCentreNote, Verified: placesDay, Status: places.StatusFull}
	mustUpsert(t, s, p)
	got, err := s.Place(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(p) {
		t.Errorf("Place:\ngot  %+v\nwant %+v", got, p)
	}
	if _, err := s.Place(ctx, "nope"); !errors.Is(err, places.ErrNotFound) {
		t.Errorf("Place(nope): got %v, want ErrNotFound", err)
	}
	if err := s.SetPlaceStatus(ctx, "nope", places.StatusOpen, placesDay); !errors.Is(err, places.ErrNotFound) {
		t.Errorf("SetPlaceStatus(nope): got %v, want ErrNotFound", err)
	}
	bad := p
	bad.Lat = 200
	if err := s.UpsertPlaces(ctx, []places.Place{bad}); err == nil {
		t.Error("UpsertPlaces accepted lat 200")
	}
	if n, err := s.CountPlaces(ctx); err != nil || n != 1 {
		t.Errorf("CountPlaces: got %d, %v, want 1", n, err)
	}
}

// testPlacesNearby compares searches with a brute-force haversine over the
// same places: the same places, in the same order, with distances within 0.5 %.
func testPlacesNearby(t *testing.T, s places.Store) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	const lat0, lon0 = 14.9036, -92.2589
	var all []places.Place
	for i := range 400 {
		lat, lon := offset(lat0, lon0, 300*math.Sqrt(rng.Float64()), 360*rng.Float64())
		all = append(all, TestPlace(fmt.Sprintf("p%03d", i), places.Kinds[i%len(places.Kinds)], lat, lon))
	}
	mustUpsert(t, s, all...)
	for _, q := range []places.Query{
		{Lat: lat0, Lon: lon0, RadiusKm: 25, Limit: 100},
		{Lat: lat0, Lon: lon0, RadiusKm: 100, Limit: 10},
		{Lat: lat0, Lon: lon0, RadiusKm: 250, Limit: 1000},
		{Lat: 15.5, Lon: -91.9, RadiusKm: 100, Kind: places.KindWater, Limit: 50},
	} {
		t.Run(fmt.Sprintf("%v,%v r=%v kind=%q", q.Lat, q.Lon, q.RadiusKm, q.Kind), func(t *testing.T) {
			got, err := s.NearbyPlaces(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			type want struct {
				id string
				km float64
			}
			var ws []want
			for _, p := range all {
				if q.Kind != "" && p.Kind != q.Kind {
					continue
				}
				if km := places.Distance(q.Lat, q.Lon, p.Lat, p.Lon); km <= q.RadiusKm*1.005 {
					ws = append(ws, want{p.ID, km})
				}
			}
			slices.SortFunc(ws, func(a, b want) int { return cmpFloat(a.km, b.km) })
			// Places within 0.5 % of the edge may fall either side of it.
			var must []string
			for _, w := range ws {
				if w.km <= q.RadiusKm*0.995 {
					must = append(must, w.id)
				}
			}
			if len(must) > q.Limit {
				must = must[:q.Limit]
			}
			if len(got) < len(must) || len(got) > q.Limit {
				t.Fatalf("got %d places, want %d (limit %d)", len(got), len(must), q.Limit)
			}
			if len(must) == 0 {
				t.Fatal("the test has no places to find; widen it")
			}
			if g := hitIDs(got)[:len(must)]; !slices.Equal(g, must) {
				t.Errorf("order:\ngot  %v\nwant %v", g, must)
			}
			for i, h := range got {
				want := places.Distance(q.Lat, q.Lon, h.Lat, h.Lon)
				if math.Abs(h.Km-want) > 0.005*want+1e-6 {
					t.Errorf("%s: got %.4f km, want %.4f km within 0.5 %%", h.ID, h.Km, want)
				}
				if i > 0 && h.Km < got[i-1].Km {
					t.Errorf("%s at %.3f km after %s at %.3f km", h.ID, h.Km, got[i-1].ID, got[i-1].Km)
				}
				if h.Km > q.RadiusKm*1.005 {
					t.Errorf("%s at %.3f km is outside %.0f km", h.ID, h.Km, q.RadiusKm)
				}
				if q.Kind != "" && h.Kind != q.Kind {
					t.Errorf("%s is a %s, want only %s", h.ID, h.Kind, q.Kind)
				}
			}
		})
	}
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func testPlacesKindsStatus(t *testing.T, s places.Store) {
	ctx := context.Background()
	const lat, lon = 16.56052, -95.10375
	la, lo := offset(lat, lon, 1, 0)
	lb, lob := offset(lat, lon, 2, 90)
	lc, loc := offset(lat, lon, 3, 180)
	a := TestPlace("a", places.KindWater, la, lo)
	b := TestPlace("b", places.KindShelter, lb, lob)
	b.Status = places.StatusFull
	c := TestPlace("c", places.KindShelter, lc, loc)
	c.Status = places.StatusClosed
	mustUpsert(t, s, a, b, c)
	near := func(kind places.Kind) []string {
		t.Helper()
		hs, err := s.NearbyPlaces(ctx, places.Query{Lat: lat, Lon: lon, RadiusKm: 25, Kind: kind, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		return hitIDs(hs)
	}
	check := func(what string, got, want []string) {
		t.Helper()
		if !slices.Equal(got, want) {
			t.Errorf("%s: got %v, want %v", what, got, want)
		}
	}
	check("any kind, closed never offered, full is", near(""), []string{"a", "b"})
	check("water", near(places.KindWater), []string{"a"})
	check("shelter", near(places.KindShelter), []string{"b"})
	check("health", near(places.KindHealth), []string{})
	if err := s.SetPlaceStatus(ctx, "c", places.StatusOpen, placesDay); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPlaceStatus(ctx, "a", places.StatusClosed, placesDay); err != nil {
		t.Fatal(err)
	}
	check("after set-status", near(""), []string{"b", "c"})
	if p, err := s.Place(ctx, "a"); err != nil || p.Status != places.StatusClosed {
		t.Errorf("closed place: got %+v, %v, want it kept as closed", p, err)
	}
	a.Status, a.Kind = places.StatusOpen, places.KindHealth // a kind change moves it
	mustUpsert(t, s, a)
	check("water after kind change", near(places.KindWater), []string{})
	check("health after kind change", near(places.KindHealth), []string{"a"})
	check("limit", func() []string {
		hs, err := s.NearbyPlaces(ctx, places.Query{Lat: lat, Lon: lon, RadiusKm: 25, Limit: 2})
		if err != nil {
			t.Fatal(err)
		}
		return hitIDs(hs)
	}(), []string{"a", "b"})
}

func testPlacesDelete(t *testing.T, s places.Store) {
	ctx := context.Background()
	mustUpsert(t, s, TestPlace("z1", places.KindFood, 20, -100), TestPlace("a1", places.KindFood, 20.01, -100), TestPlace("m1", places.KindFood, 20.02, -100))
	all, err := s.AllPlaces(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, len(all))
	for i, p := range all {
		ids[i] = p.ID
	}
	if want := []string{"a1", "m1", "z1"}; !slices.Equal(ids, want) {
		t.Errorf("AllPlaces: got %v, want %v", ids, want)
	}
	if err := s.DeletePlaces(ctx, []string{"m1", "unknown"}); err != nil {
		t.Fatal(err)
	}
	hs, err := s.NearbyPlaces(ctx, places.Query{Lat: 20, Lon: -100, RadiusKm: 25, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := hitIDs(hs), []string{"z1", "a1"}; !slices.Equal(got, want) {
		t.Errorf("after delete: got %v, want %v", got, want)
	}
	if n, _ := s.CountPlaces(ctx); n != 2 {
		t.Errorf("CountPlaces after delete: got %d, want 2", n)
	}
}

func testPlacesFinder(t *testing.T, s places.Store) {
	ctx := context.Background()
	const lat, lon = 14.9036, -92.2589
	var ps []places.Place
	for i, km := range []float64{40, 45, 48, 70, 200} {
		la, lo := offset(lat, lon, km, float64(i*70))
		ps = append(ps, TestPlace(fmt.Sprintf("f%d", i), places.KindShelter, la, lo))
	}
	la, lo := offset(lat, lon, 5, 0)
	ps = append(ps, TestPlace("w", places.KindWater, la, lo))
	mustUpsert(t, s, ps...)
	f := places.Finder{Store: s}
	cases := []struct {
		kind    places.Kind
		offset  int
		wantIDs []string
		wantR   float64
		more    bool
	}{
		{places.KindShelter, 0, []string{"f0", "f1", "f2"}, 50, true},
		{places.KindShelter, 3, []string{"f3", "f4"}, 250, false},
		{places.KindShelter, 4, []string{"f4"}, 250, false},
		{places.KindShelter, 5, nil, 250, false},
		{"", 0, []string{"w"}, 25, true},
		{places.KindLegal, 0, nil, 250, false},
	}
	for _, tc := range cases {
		r, err := f.Nearest(ctx, lat, lon, tc.kind, tc.offset, 3)
		if err != nil {
			t.Fatal(err)
		}
		if got := hitIDs(r.Hits); !slices.Equal(got, tc.wantIDs) && !(len(got) == 0 && len(tc.wantIDs) == 0) || r.RadiusKm != tc.wantR || r.More != tc.more {
			t.Errorf("Nearest(%q, offset %d): got %v within %v km more=%v, want %v within %v km more=%v",
				tc.kind, tc.offset, hitIDs(r.Hits), r.RadiusKm, r.More, tc.wantIDs, tc.wantR, tc.more)
		}
	}
}

func testPlacesImportReplace(t *testing.T, s places.Store) {
	ctx := context.Background()
	mustUpsert(t, s, TestPlace("old", places.KindFood, 20, -100), TestPlace("keep", places.KindFood, 20, -100.1))
	rep := places.Report{Places: []places.Place{TestPlace("keep", places.KindWater, 20, -100.1), TestPlace("new", places.KindFood, 20, -100.2)},
		Bad: []places.RowError{{Line: 4, ID: "typo", Problems: []string{"lat out of range"}}}}
	if _, err := places.Import(ctx, s, rep, places.ImportOptions{Replace: true}); !errors.Is(err, places.ErrInvalidRows) {
		t.Fatalf("Import with a bad row: got %v, want ErrInvalidRows", err)
	}
	if n, _ := s.CountPlaces(ctx); n != 2 {
		t.Fatalf("a refused import changed the directory: %d places", n)
	}
	mustUpsert(t, s, TestPlace("typo", places.KindFood, 21, -100))
	res, err := places.Import(ctx, s, rep, places.ImportOptions{Replace: true, SkipInvalid: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Imported != 2 || !slices.Equal(res.Removed, []string{"old"}) {
		t.Errorf("Import: got %+v, want 2 imported and old removed (typo, a bad row, kept)", res)
	}
	all, _ := s.AllPlaces(ctx)
	var ids []string
	for _, p := range all {
		ids = append(ids, p.ID)
	}
	if want := []string{"keep", "new", "typo"}; !slices.Equal(ids, want) {
		t.Errorf("after import: got %v, want %v", ids, want)
	}
}

// BenchPlaces fills s with n places spread over Mexico, Central America and
// the US border (deterministic seed), then measures Finder.Nearest (3 places,
// any kind and water only) from random points of the same region, reporting
// the 50th and 99th percentile latitudes as p50-ms and p99-ms.
func BenchPlaces(b *testing.B, s places.Store, n int) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(42, 7))
	point := func() (float64, float64) { return 7.2 + 25.5*rng.Float64(), -117.5 + 40*rng.Float64() }
	if c, err := s.CountPlaces(ctx); err != nil || c != n {
		ps := make([]places.Place, n)
		for i := range ps {
			lat, lon := point()
			ps[i] = TestPlace(fmt.Sprintf("bench-%06d", i), places.Kinds[rng.IntN(len(places.Kinds))], lat, lon)
			if i%10 == 0 {
				ps[i].Status = places.StatusFull
			}
			if i%50 == 0 {
				ps[i].Status = places.StatusClosed
			}
		}
		if err := s.UpsertPlaces(ctx, ps); err != nil {
			b.Fatal(err)
		}
	}
	f := places.Finder{Store: s}
	for _, kind := range []places.Kind{"", places.KindWater} {
		name := "any"
		if kind != "" {
			name = string(kind)
		}
		b.Run(name, func(b *testing.B) {
			times := make([]time.Duration, 0, b.N)
			found := 0
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				lat, lon := point()
				start := time.Now()
				r, err := f.Nearest(ctx, lat, lon, kind, 0, 3)
				times = append(times, time.Since(start))
				if err != nil {
					b.Fatal(err)
				}
				found += len(r.Hits)
			}
			b.StopTimer()
			slices.Sort(times)
			pct := func(p float64) float64 {
				return float64(times[min(len(times)-1, int(p*float64(len(times))))].Microseconds()) / 1000
			}
			b.ReportMetric(pct(0.50), "p50-ms")
			b.ReportMetric(pct(0.99), "p99-ms")
			b.ReportMetric(float64(found)/float64(b.N), "places/op")
		})
	}
}

// testPlacesStatusSince: the time a status was set is the caller's (to the
// second, in UTC), kept with the place, shown by searches at once, kept by
// a later change of the place's other fields, and replaced by the next
// status change; a place imported without one has none.
func testPlacesStatusSince(t *testing.T, s places.Store) {
	ctx := context.Background()
	p := TestPlace("s1", places.KindShelter, 14.9, -92.26)
	mustUpsert(t, s, p)
	if got, err := s.Place(ctx, "s1"); err != nil || !got.StatusSince.IsZero() {
		t.Fatalf("imported place: got %v, %v, want no status time", got.StatusSince, err)
	}
	at := time.Date(2026, 12, 2, 14, 20, 31, 999_000_000, time.FixedZone("Tapachula", -6*3600))
	if err := s.SetPlaceStatus(ctx, "s1", places.StatusFull, at); err != nil {
		t.Fatal(err)
	}
	want := time.Date(2026, 12, 2, 20, 20, 31, 0, time.UTC)
	check := func(what string, got places.Place) {
		t.Helper()
		if got.Status != places.StatusFull || !got.StatusSince.Equal(want) || got.StatusSince.Location() != time.UTC {
			t.Errorf("%s: got %s since %v, want full since %v (UTC)", what, got.Status, got.StatusSince, want)
		}
	}
	got, err := s.Place(ctx, "s1")
	if err != nil {
		t.Fatal(err)
	}
	check("Place", got)
	hs, err := s.NearbyPlaces(ctx, places.Query{Lat: 14.9, Lon: -92.26, RadiusKm: 25, Limit: 5})
	if err != nil || len(hs) != 1 {
		t.Fatalf("NearbyPlaces: %v %v", hs, err)
	}
	check("NearbyPlaces", hs[0].Place)
	all, err := s.AllPlaces(ctx)
	if err != nil || len(all) != 1 {
		t.Fatalf("AllPlaces: %v %v", all, err)
	}
	check("AllPlaces", all[0])
	got.Phone = "+52 962 111 1111" // an edit that keeps the status keeps its time
	mustUpsert(t, s, got)
	if got, err = s.Place(ctx, "s1"); err != nil {
		t.Fatal(err)
	}
	check("after an edit", got)
	later := want.Add(3 * time.Hour)
	if err := s.SetPlaceStatus(ctx, "s1", places.StatusClosed, later); err != nil {
		t.Fatal(err)
	}
	if got, err = s.Place(ctx, "s1"); err != nil || got.Status != places.StatusClosed || !got.StatusSince.Equal(later) {
		t.Errorf("closed: got %s since %v, %v, want closed since %v", got.Status, got.StatusSince, err, later)
	}
	if hs, err := s.NearbyPlaces(ctx, places.Query{Lat: 14.9, Lon: -92.26, RadiusKm: 25, Limit: 5}); err != nil || len(hs) != 0 {
		t.Errorf("a closed place is offered: %v %v", hs, err)
	}
	if err := s.SetPlaceStatus(ctx, "s1", "maybe", later); err == nil {
		t.Error("SetPlaceStatus accepted the status \"maybe\"")
	}
}
