package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/enlace-rfl/enlace/bot"
	"github.com/enlace-rfl/enlace/flows"
	"github.com/enlace-rfl/enlace/places"
	"github.com/enlace-rfl/enlace/places/gazetteer"
)

const placesUsage = `usage:
  enlace places import [--skip-invalid] [--replace] FILE   (CSV with header, or GeoJSON; - for stdin)
  enlace places export [FILE]                               (CSV; stdout by default)
  enlace places set-status ID open|full|closed
Every command takes --data DIR (the embedded store's directory; default ENLACE_DATA_DIR).`

// placesCmd manages the directory of places the shelter finder searches.
func placesCmd(ctx context.Context, cfg config, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError{"places: want import, export or set-status\n" + placesUsage}
	}
	fs := newFlagSet("places " + args[0])
	skip := fs.Bool("skip-invalid", false, "import the good rows and report the bad ones (default: one bad row imports nothing)")
	replace := fs.Bool("replace", false, "also remove the places the file does not name")
	data := fs.String("data", "", "directory of the embedded store (overrides ENLACE_DATA_DIR)")
	rest, err := parseInterleaved(fs, args[1:])
	if err != nil {
		return usageError{err.Error() + "\n" + placesUsage}
	}
	if *data != "" {
		cfg.DataDir = *data
	}
	switch {
	case args[0] == "import" && len(rest) == 1:
	case args[0] == "export" && len(rest) <= 1:
	case args[0] == "set-status" && len(rest) == 2:
	default:
		return usageError{"places: bad arguments\n" + placesUsage}
	}
	st, _, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	dir, ok := st.(places.Store)
	if !ok {
		return errors.New("places: this store keeps no directory")
	}
	switch args[0] {
	case "import":
		return importPlaces(ctx, dir, rest[0], places.ImportOptions{SkipInvalid: *skip, Replace: *replace}, stdin, stdout, stderr)
	case "export":
		all, err := dir.AllPlaces(ctx)
		if err != nil {
			return err
		}
		if len(rest) == 1 && rest[0] != "-" {
			err = writeFileDurably(rest[0], 0o644, func(w io.Writer) error { return places.WriteCSV(w, all) })
		} else {
			err = places.WriteCSV(stdout, all)
		}
		if err != nil {
			return fmt.Errorf("places: export: %w", err)
		}
		fmt.Fprintf(stderr, "exported %d place(s)\n", len(all))
		return nil
	default: // set-status
		s := places.Status(strings.ToLower(rest[1]))
		if !places.ValidStatus(s) {
			return usageError{"places: status must be open, full or closed"}
		}
		if err := dir.SetPlaceStatus(ctx, rest[0], s, time.Now()); errors.Is(err, places.ErrNotFound) {
			return fmt.Errorf("places: no place with id %q", rest[0])
		} else if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s is now %s\n", rest[0], s)
		return nil
	}
}

func importPlaces(ctx context.Context, dir places.Store, name string, opt places.ImportOptions, stdin io.Reader, stdout, stderr io.Writer) error {
	r := stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		defer f.Close()
		r = f
	}
	rep, err := places.ParseLocated(r, townLocator())
	if err != nil {
		return err
	}
	res, err := places.Import(ctx, dir, rep, opt)
	for _, b := range res.Bad {
		fmt.Fprintf(stderr, "%s: %s\n", name, b)
	}
	if errors.Is(err, places.ErrInvalidRows) {
		return fmt.Errorf("%s: %d invalid row(s); nothing imported (fix them, or use --skip-invalid to import the %d good row(s))",
			name, len(res.Bad), len(rep.Places))
	}
	if err != nil {
		return err
	}
	starter, err := places.ReplaceAutoStarter(ctx, dir, rep)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "imported %d place(s), skipped %d invalid row(s), removed %d place(s)\n", res.Imported, len(res.Bad), len(res.Removed)+len(starter))
	if len(starter) > 0 {
		fmt.Fprintf(stdout, "the file replaces the starter directory: removed its %d place(s) the file does not name\n", len(starter))
	}
	return nil
}

// townLocator places a row without coordinates at its town's centre, from
// the gazetteer (nil when the gazetteer cannot be read).
// The gazetteer is loaded on the first row to place, not before: a directory
// that needs no starter never waits for it.
func townLocator() places.Locator {
	return func(city, admin1, country string) (float64, float64, bool) {
		g, err := gazetteer.Default()
		if err != nil {
			return 0, 0, false
		}
		tw, ok := g.Locate(city, admin1, country)
		return tw.Lat, tw.Lon, ok
	}
}

// loadStarter fills an empty directory with the embedded starter directory,
// warning about each row it cannot place.
func loadStarter(ctx context.Context, dir places.Store, logger *slog.Logger) {
	res, err := places.LoadStarter(ctx, dir, townLocator())
	if err != nil {
		logger.Warn("shelter finder: could not load the starter directory", "err", err)
		return
	}
	for _, b := range res.Bad {
		logger.Warn("starter directory: place skipped", "row", b.String())
	}
	if res.Imported > 0 {
		logger.Info("shelter finder: the directory was empty; loaded the starter directory (verify it before release, see places/README.md)",
			"places", res.Imported, "skipped", len(res.Bad))
	}
}

// shelterFinder returns the directory and gazetteer the shelter finder uses.
// An empty directory first gets the embedded starter directory.
func shelterFinder(ctx context.Context, st bot.Store, logger *slog.Logger) (flows.Directory, flows.Gazetteer) {
	dir, ok := st.(places.Store)
	if !ok {
		return nil, nil
	}
	loadStarter(ctx, dir, logger)
	d := &placeDirectory{f: places.Finder{Store: dir}, store: dir}
	go warmFinder(context.WithoutCancel(ctx), dir, logger)
	return d, townFinder{}
}

// warmFinder loads the gazetteer and the directory's in-memory index (the
// embedded store's: seconds for 100,000 places) in the background, so that
// the first reply after start never waits for them. A finder query that
// comes before they are ready waits for what it needs, and only it.
func warmFinder(ctx context.Context, dir places.Store, logger *slog.Logger) {
	if _, err := gazetteer.Default(); err != nil {
		logger.Warn("shelter finder: no gazetteer, towns cannot be typed", "err", err)
	}
	if l, ok := dir.(interface{ LoadPlaces(context.Context) error }); ok {
		if err := l.LoadPlaces(ctx); err != nil {
			logger.Warn("shelter finder: could not load the directory", "err", err)
		}
	}
}

// availableFor is how long placeDirectory trusts its last count of places, so
// the menu does not ask the store on every message, and an import into a
// shared Redis turns the finder on within that time, without a restart.
const availableFor = 30 * time.Second

// placeDirectory is the flows.Directory over a places.Store.
type placeDirectory struct {
	f     places.Finder
	store places.Store

	mu      sync.Mutex
	checked time.Time
	has     bool
}

// Available implements flows.Directory: the directory holds places. A store
// that cannot be read counts as empty, so the menu offers nothing broken.
func (d *placeDirectory) Available(ctx context.Context) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if time.Since(d.checked) < availableFor {
		return d.has
	}
	n, err := d.store.CountPlaces(ctx)
	d.has, d.checked = err == nil && n > 0, time.Now()
	return d.has
}

func (d *placeDirectory) Nearby(ctx context.Context, q flows.PlaceQuery) (flows.PlacePage, error) {
	r, err := d.f.Nearest(ctx, q.Lat, q.Lon, places.Kind(q.Kind), q.Offset, q.Limit)
	if err != nil {
		return flows.PlacePage{}, err
	}
	page := flows.PlacePage{RadiusKm: r.RadiusKm, More: r.More}
	for _, h := range r.Hits {
		page.Places = append(page.Places, flows.Place{
			ID: h.ID, Name: h.Name, Kind: string(h.Kind), Status: string(h.Status), StatusSince: h.StatusSince, Address: h.Address, City: h.City, Admin1: h.Admin1,
			Country: h.Country, Phone: h.Phone, Hours: h.Hours, Services: h.Services, Lat: h.Lat, Lon: h.Lon, Km: h.Km,
			TownCentre: h.TownCentre(), Verified: verifiedDate(h.Place),
		})
	}
	return page, nil
}

// verifiedDate is the date of a place's newest source as the finder takes
// it, "" when its sources show none.
func verifiedDate(p places.Place) string {
	if p.Verified.IsZero() {
		return ""
	}
	return p.Verified.Format("2006-01-02")
}

// townFinder is the flows.Gazetteer over the GeoNames gazetteer.
// townFinder is the flows.Gazetteer over gazetteer.Default, which the first
// use waits for when warmFinder has not loaded it yet.
type townFinder struct{}

func (townFinder) FindTown(text string) []flows.Town {
	g, err := gazetteer.Default()
	if err != nil {
		return nil
	}
	m := g.Find(text)
	out := make([]flows.Town, len(m.Towns))
	for i, tw := range m.Towns {
		out[i] = flows.Town{Name: tw.Name, Admin1: tw.Admin1, Country: tw.Country, Lat: tw.Lat, Lon: tw.Lon}
	}
	return out
}

// Nearest implements flows.Gazetteer: the town nearest a shared location.
func (townFinder) Nearest(lat, lon float64) (flows.Town, bool) {
	g, err := gazetteer.Default()
	if err != nil {
		return flows.Town{}, false
	}
	tw, ok := g.Nearest(lat, lon)
	if !ok {
		return flows.Town{}, false
	}
	return flows.Town{Name: tw.Name, Admin1: tw.Admin1, Country: tw.Country, Lat: tw.Lat, Lon: tw.Lon}, true
}
