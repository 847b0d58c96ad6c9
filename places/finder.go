package places

import (
	"context"
	"errors"
	"fmt"
	"slices"
)

// Radii are the search radii in km, tried in order until one finds something.
var Radii = []float64{25, 50, 100, 250}

// Result is one page of a search.
type Result struct {
	Hits []Hit
	// RadiusKm is how far the search looked: the radius that found the page,
	// or the largest one when nothing was found.
	RadiusKm float64
	// More says a next page may exist (within the largest radius).
	More bool
}

// Finder searches a Store with a radius that grows until it finds places.
type Finder struct {
	Store Store
}

// Nearest returns up to n places of a kind ("" for any) after the first
// offset, nearest first. The first page comes from the smallest radius that
// finds anything; a later page ("more") widens the radius until it is full
// or the largest radius is reached.
func (f Finder) Nearest(ctx context.Context, lat, lon float64, kind Kind, offset, n int) (Result, error) {
	if n <= 0 || offset < 0 {
		return Result{}, errors.New("places: bad page")
	}
	for i, r := range Radii {
		hits, err := f.Store.NearbyPlaces(ctx, Query{Lat: lat, Lon: lon, RadiusKm: r, Kind: kind, Limit: offset + n + 1})
		if err != nil {
			return Result{}, fmt.Errorf("places: search: %w", err)
		}
		last := i == len(Radii)-1
		if len(hits) <= offset || (offset > 0 && len(hits) < offset+n && !last) {
			continue
		}
		more := len(hits) > offset+n || !last
		end := min(len(hits), offset+n)
		return Result{Hits: slices.Clone(hits[offset:end]), RadiusKm: r, More: more}, nil
	}
	return Result{RadiusKm: Radii[len(Radii)-1]}, nil
}

// ImportOptions say what to do with bad rows and with places missing from the file.
type ImportOptions struct {
	// SkipInvalid imports the good rows when some are bad; otherwise one bad
	// row imports nothing.
	SkipInvalid bool
	// Replace removes the places the file does not name.
	Replace bool
}

// ImportResult says what an import did.
type ImportResult struct {
	Imported int
	Removed  []string
	Bad      []RowError
}

// ErrInvalidRows is returned, with the bad rows in the ImportResult, when a
// file has bad rows and SkipInvalid is not set: nothing was imported.
var ErrInvalidRows = errors.New("places: the file has invalid rows; nothing imported")

// Import writes a parsed file into the store: it upserts by ID, and with
// Replace removes the places the file does not name (a bad row still names
// its ID, so a typo does not delete a place).
func Import(ctx context.Context, st Store, rep Report, opt ImportOptions) (ImportResult, error) {
	res := ImportResult{Bad: rep.Bad}
	if len(rep.Bad) > 0 && !opt.SkipInvalid {
		return res, ErrInvalidRows
	}
	if err := st.UpsertPlaces(ctx, rep.Places); err != nil {
		return res, err
	}
	res.Imported = len(rep.Places)
	if !opt.Replace {
		return res, nil
	}
	keep := map[string]bool{}
	for _, p := range rep.Places {
		keep[p.ID] = true
	}
	for _, b := range rep.Bad {
		keep[b.ID] = true
	}
	all, err := st.AllPlaces(ctx)
	if err != nil {
		return res, err
	}
	for _, p := range all {
		if !keep[p.ID] {
			res.Removed = append(res.Removed, p.ID)
		}
	}
	if err := st.DeletePlaces(ctx, res.Removed); err != nil {
		return res, err
	}
	return res, nil
}
