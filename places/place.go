// Package places is Enlace's directory of safe places along the migration
// routes: shelters, drinking water, health posts, phones, internet, food, legal
// help and Red Cross family-links points. It holds the Place type, the CSV and
// GeoJSON import with its line-numbered validation report, the CSV export, the
// great-circle distance, the Store contract that store/redis and store/embedded
// satisfy, and Finder, the search that widens its radius until it finds
// something.
//
// Sub-package gazetteer matches typed town names (GeoNames data, CC BY 4.0).
package places

import (
	"context"
	"errors"
	"math"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Kind is what a place offers first.
type Kind string

// The kinds of place.
const (
	KindShelter  Kind = "shelter"
	KindWater    Kind = "water"
	KindHealth   Kind = "health"
	KindPhone    Kind = "phone"
	KindInternet Kind = "internet"
	KindFood     Kind = "food"
	KindLegal    Kind = "legal"
	KindRFL      Kind = "rfl" // a Red Cross restoring-family-links point
)

// Kinds are every kind, in the order they are offered.
var Kinds = []Kind{KindShelter, KindWater, KindHealth, KindPhone, KindInternet, KindFood, KindLegal, KindRFL}

// ValidKind reports whether k is one of Kinds.
func ValidKind(k Kind) bool { return slices.Contains(Kinds, k) }

// Status says whether a place takes people now.
type Status string

// The statuses. Closed places are kept in the directory (so an import does
// not bring them back by mistake) but never offered.
const (
	StatusOpen   Status = "open"
	StatusFull   Status = "full"
	StatusClosed Status = "closed"
)

// ValidStatus reports whether s is open, full or closed.
func ValidStatus(s Status) bool { return s == StatusOpen || s == StatusFull || s == StatusClosed }

// Countries are the ISO 3166-1 alpha-2 codes a place may be in: Mexico,
// Central America and the United States.
var Countries = []string{"MX", "GT", "BZ", "HN", "SV", "NI", "CR", "PA", "US"}

// TownCentreNote is the note a place carries when its source gives only the
// town: its pin is then the town's gazetteer point, not the door.
const TownCentreNote = "town centre, exact address unknown"

// Place is one entry of the directory.
type Place struct {
	ID           string   `json:"id"`
	Name         string   `json:"name"`
	Kind         Kind     `json:"kind"`
	Organization string   `json:"organization,omitempty"`
	Address      string   `json:"address,omitempty"`
	City         string   `json:"city,omitempty"`
	Admin1       string   `json:"admin1,omitempty"`
	Country      string   `json:"country"`
	Lat          float64  `json:"lat"`
	Lon          float64  `json:"lon"`
	Phone        string   `json:"phone,omitempty"`
	Hours        string   `json:"hours,omitempty"`
	Services     []string `json:"services,omitempty"`
	Languages    []string `json:"languages,omitempty"`
	Notes        string   `json:"notes,omitempty"`
	// Verified is the date of the newest source that supports the place's
	// status (the first of the month when the source shows only a month),
	// zero when no source shows a date. It is not the date of a visit.
	Verified time.Time `json:"verified"`
	Status   Status    `json:"status"`
	// StatusSince is when the status was last set by staff (the console,
	// the API or `enlace places set-status`), zero when unknown (a place
	// imported without it). The finder says it with "full".
	StatusSince time.Time `json:"status_since,omitzero"`
}

// TownCentre reports whether the place's pin is only its town's centre.
func (p Place) TownCentre() bool { return strings.Contains(strings.ToLower(p.Notes), TownCentreNote) }

var idPattern = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// Validate checks a place and returns every problem with it, or nil. Each
// problem starts with the name of the field it is about.
func (p Place) Validate() []string {
	var errs []string
	if !idPattern.MatchString(p.ID) {
		errs = append(errs, "id must be 1-64 of A-Z a-z 0-9 _ . -")
	}
	if strings.TrimSpace(p.Name) == "" {
		errs = append(errs, "name is required")
	}
	if !ValidKind(p.Kind) {
		errs = append(errs, "kind "+quote(string(p.Kind))+" is not one of "+strings.Join(kindNames(), ", "))
	}
	if !slices.Contains(Countries, p.Country) {
		errs = append(errs, "country "+quote(p.Country)+" is not one of "+strings.Join(Countries, ", "))
	}
	if math.IsNaN(p.Lat) || p.Lat < -90 || p.Lat > 90 {
		errs = append(errs, "lat out of range -90..90")
	}
	if math.IsNaN(p.Lon) || p.Lon < -180 || p.Lon > 180 {
		errs = append(errs, "lon out of range -180..180")
	}
	if p.Lat == 0 && p.Lon == 0 {
		errs = append(errs, "lat and lon are both 0 (missing coordinates?)")
	}
	if !ValidStatus(p.Status) {
		errs = append(errs, "status "+quote(string(p.Status))+" is not open, full or closed")
	}
	return errs
}

func kindNames() []string {
	out := make([]string, len(Kinds))
	for i, k := range Kinds {
		out[i] = string(k)
	}
	return out
}

func quote(s string) string { return `"` + s + `"` }

// ErrNotFound is returned for a place ID the directory does not hold.
var ErrNotFound = errors.New("places: no such place")

// Query asks for the open and full places of one kind ("" for any) within
// RadiusKm of a point, nearest first, at most Limit of them.
type Query struct {
	Lat, Lon float64
	RadiusKm float64
	Kind     Kind
	Limit    int
}

// Hit is a place found by a search and its distance from the point asked about.
type Hit struct {
	Place
	Km float64
}

// Store is what the directory needs from a store. store/redis and
// store/embedded satisfy it.
type Store interface {
	// UpsertPlaces adds places or replaces the ones with the same ID.
	UpsertPlaces(ctx context.Context, ps []Place) error
	// DeletePlaces removes places; unknown IDs are ignored.
	DeletePlaces(ctx context.Context, ids []string) error
	// Place returns one place, or ErrNotFound.
	Place(ctx context.Context, id string) (Place, error)
	// AllPlaces returns every place, closed ones included, ordered by ID.
	AllPlaces(ctx context.Context) ([]Place, error)
	// SetPlaceStatus changes a place's status and records at, to the second
	// in UTC, as the time it was set (StatusSince), or returns ErrNotFound.
	// The caller gives the time: stores never read the clock.
	SetPlaceStatus(ctx context.Context, id string, s Status, at time.Time) error
	// NearbyPlaces returns the places a Query asks for: never closed ones,
	// nearest first, with distances that agree with Distance.
	NearbyPlaces(ctx context.Context, q Query) ([]Hit, error)
	// CountPlaces returns how many places the directory holds, closed included.
	CountPlaces(ctx context.Context) (int, error)
}

// earthRadiusKm is the Earth's mean radius (IUGG).
const earthRadiusKm = 6371.0088

// Distance returns the great-circle distance in km between two points
// (haversine formula).
func Distance(lat1, lon1, lat2, lon2 float64) float64 {
	const rad = math.Pi / 180
	dLat := (lat2 - lat1) * rad
	dLon := (lon2 - lon1) * rad
	a := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * earthRadiusKm * math.Asin(math.Min(1, math.Sqrt(a)))
}

// SinceTime is a status time as the stores keep it: UTC, to the second (the
// CSV's and Redis' form), so both stores give back the same value.
func SinceTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Second)
}
