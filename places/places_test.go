package places_test

import (
	"bytes"
	"encoding/csv"
	"math"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/enlace-rfl/enlace/places"
	"github.com/enlace-rfl/enlace/places/gazetteer"
)

func parseFile(t *testing.T, path string) places.Report {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rep, err := places.Parse(f)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestParseCSVReportsEveryBadRow(t *testing.T) {
	rep := parseFile(t, "testdata/mixed.csv")
	if len(rep.Places) != 1 {
		t.Fatalf("got %d good places, want 1: %+v", len(rep.Places), rep.Places)
	}
	g := rep.Places[0]
	if g.ID != "g1" || g.Country != "MX" || g.Status != places.StatusOpen || !slices.Equal(g.Services, []string{"a", "b"}) {
		t.Errorf("good row: got %+v", g)
	}
	want := map[int]string{
		3: "name is required", 4: `lat "north" is not a number`, 5: `kind "hotel" is not one of`,
		6: `country "FR" is not one of`, 7: `verified "01/11/2026" is not a date`, 8: `status "maybe" is not open`,
		9: "lat and lon are both 0", 10: "id g1 already used on line 2", 11: "lon out of range",
	}
	if len(rep.Bad) != len(want) {
		t.Errorf("got %d bad rows, want %d: %v", len(rep.Bad), len(want), rep.Bad)
	}
	for _, b := range rep.Bad {
		if w, ok := want[b.Line]; !ok || !strings.Contains(b.String(), w) {
			t.Errorf("line %d: got %q, want it to say %q", b.Line, b, w)
		}
	}
}

func TestParseGeoJSON(t *testing.T) {
	rep := parseFile(t, "testdata/points.geojson")
	if len(rep.Places) != 1 || rep.Places[0].ID != "gj1" || rep.Places[0].Lat != 14.91 || rep.Places[0].Lon != -92.26 ||
		!slices.Equal(rep.Places[0].Services, []string{"first aid", "vaccines"}) {
		t.Errorf("good features: got %+v", rep.Places)
	}
	if len(rep.Bad) != 2 || rep.Bad[0].Line != 5 || !strings.Contains(rep.Bad[0].String(), "Point") ||
		rep.Bad[1].Line != 7 || !strings.Contains(rep.Bad[1].String(), "kind is required") {
		t.Errorf("bad features: got %v", rep.Bad)
	}
}

// TestStarterDirectory checks the sourced starter directory as shipped:
// 80 rows, each with its sources; the 4 rows without coordinates are the only
// bad ones, each saying its town is not in the gazetteer; 6 closed, 2 full.
func TestStarterDirectory(t *testing.T) {
	g, err := gazetteer.Default()
	if err != nil {
		t.Fatal(err)
	}
	rep, err := places.Starter(func(city, admin1, country string) (float64, float64, bool) {
		tw, ok := g.Locate(city, admin1, country)
		return tw.Lat, tw.Lon, ok
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Places) != 76 || len(rep.Bad) != 4 {
		t.Fatalf("starter: %d places and %d bad rows, want 76 and 4: %v", len(rep.Places), len(rep.Bad), rep.Bad)
	}
	for _, b := range rep.Bad {
		if !strings.Contains(b.String(), "is not in the gazetteer") {
			t.Errorf("unplaced row: got %q, want it to say its town is not in the gazetteer", b)
		}
	}
	status := map[places.Status]int{}
	for _, p := range rep.Places {
		status[p.Status]++
		if p.Country == "" {
			t.Errorf("%s: no country", p.ID)
		}
		if strings.HasPrefix(p.ID, "mx-tijuana-") && p.ID != "mx-tijuana-casa-de-los-pobres" {
			if p.TownCentre() || !strings.Contains(p.Notes, "no licence") {
				t.Errorf("%s: a community-map point must keep its point and say the map has no licence: %q", p.ID, p.Notes)
			}
		} else if p.ID != "mx-tenosique-la-72" && !p.TownCentre() {
			t.Errorf("%s: a town-level pin must say %q: %q", p.ID, places.TownCentreNote, p.Notes)
		}
		if !p.Verified.IsZero() && p.Verified.Year() < 2011 {
			t.Errorf("%s: verified %v", p.ID, p.Verified)
		}
	}
	if status[places.StatusClosed] != 6 || status[places.StatusFull] != 2 {
		t.Errorf("statuses: got %v, want 6 closed and 2 full", status)
	}
	// Every row keeps its sources, in the file's own columns.
	f, err := os.Open("starter.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rows[0][len(rows[0])-2:], []string{"source", "source_date"}) {
		t.Fatalf("header: got %v, want it to end with source, source_date", rows[0])
	}
	for _, r := range rows[1:] {
		if !strings.HasPrefix(r[len(r)-2], "http") {
			t.Errorf("%s: no source: %q", r[0], r[len(r)-2])
		}
	}
}

func TestExportRoundTrip(t *testing.T) {
	want := parseFile(t, "starter.csv").Places
	if len(want) < 70 {
		t.Fatalf("starter.csv: %d places", len(want))
	}
	var buf bytes.Buffer
	if err := places.WriteCSV(&buf, want); err != nil {
		t.Fatal(err)
	}
	rep, err := places.Parse(&buf)
	if err != nil || len(rep.Bad) > 0 {
		t.Fatal(err, rep.Bad)
	}
	for i := range want {
		if got := rep.Places[i]; got.ID != want[i].ID || got.Notes != want[i].Notes || got.Lat != want[i].Lat || !got.Verified.Equal(want[i].Verified) {
			t.Errorf("row %d: got %+v, want %+v", i, got, want[i])
		}
	}
}

func TestDistance(t *testing.T) {
	cases := []struct {
		name                   string
		lat1, lon1, lat2, lon2 float64
		want                   float64
	}{
		{"same point", 14.9, -92.26, 14.9, -92.26, 0},
		{"one degree of latitude", 0, 0, 1, 0, 111.195},
		{"quarter of the equator", 0, 0, 0, 90, 10007.54},
		{"half the equator", 0, -90, 0, 90, 20015.09},
	}
	for _, tc := range cases {
		got := places.Distance(tc.lat1, tc.lon1, tc.lat2, tc.lon2)
		if math.Abs(got-tc.want) > 0.005*tc.want+1e-9 {
			t.Errorf("%s: got %.3f km, want %.3f km", tc.name, got, tc.want)
		}
	}
}

// TestParseCSVRefusesAnUnclosedQuote is the reproduction of a panic: a row
// that opens a quote and never closes it made FieldPos run on a failed read.
func TestParseCSVRefusesAnUnclosedQuote(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"to the end", "id,name,kind,country,lat,lon,verified,status\ng1,\"Casa,water,MX,14.9,-92.2,2026-11-01,open\ng2,Dos,water,MX,14.9,-92.2,2026-11-01,open\n",
			"line 2: a quoted field opens there and is never closed"},
		{"last line", "id,name,kind,country,lat,lon,verified,status\ng1,Uno,water,MX,14.9,-92.2,2026-11-01,open\ng2,\"Dos",
			"line 3: a quoted field opens there and is never closed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := places.Parse(strings.NewReader(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "nothing imported") {
				t.Fatalf("got %v (report %+v), want an error saying %q", err, rep, tc.want)
			}
		})
	}
	// A stray quote inside one line is that row's problem only.
	rep, err := places.Parse(strings.NewReader("id,name,kind,country,lat,lon,verified,status\ng1,Ca\"sa,water,MX,14.9,-92.2,2026-11-01,open\ng2,Dos,water,MX,14.9,-92.2,2026-11-01,open\n"))
	if err != nil || len(rep.Places) != 1 || len(rep.Bad) != 1 || rep.Bad[0].Line != 2 {
		t.Errorf("stray quote: got %+v, %v; want line 2 bad and g2 imported", rep, err)
	}
}

func TestParseLocatedFillsTownCentres(t *testing.T) {
	const file = "id,name,kind,city,admin1,country,lat,lon,notes,verified,status\n" +
		"a,Casa A,shelter,Tapachula,Chiapas,MX,,,From a report,2025-11,open\n" +
		"b,Casa B,shelter,Nowhere,,MX,,,,,open\n"
	locate := func(city, admin1, country string) (float64, float64, bool) {
		if city == "Tapachula" && country == "MX" {
			return 14.90385, -92.25749, true
		}
		return 0, 0, false
	}
	rep, err := places.ParseLocated(strings.NewReader(file), locate)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Places) != 1 || len(rep.Bad) != 1 {
		t.Fatalf("got %d places, bad %v; want 1 and 1", len(rep.Places), rep.Bad)
	}
	a := rep.Places[0]
	if a.Lat != 14.90385 || a.Lon != -92.25749 || !a.TownCentre() || a.Notes != places.TownCentreNote+". From a report" {
		t.Errorf("located row: got %+v", a)
	}
	if a.Verified.Format("2006-01-02") != "2025-11-01" {
		t.Errorf("a month-only date: got %v", a.Verified)
	}
	if b := rep.Bad[0]; b.Line != 3 || !strings.Contains(b.String(), `the town "Nowhere" is not in the gazetteer`) {
		t.Errorf("unlocated row: got %q", b)
	}
	if rep, _ := places.Parse(strings.NewReader(file)); len(rep.Places) != 0 {
		t.Errorf("without a locator a row without coordinates must be bad: %+v", rep.Places)
	}
}

// TestStatusSinceColumn: the time a status was set is an optional column,
// written by Export as UTC to the second and read back; a bad one is a bad row.
func TestStatusSinceColumn(t *testing.T) {
	const file = "id,name,kind,country,lat,lon,status,status_since\n" +
		"s1,Uno,shelter,MX,14.9,-92.2,full,2026-12-02T14:20:00-06:00\n" +
		"s2,Dos,shelter,MX,14.9,-92.2,open,\n" +
		"s3,Tres,shelter,MX,14.9,-92.2,open,ayer\n"
	rep, err := places.Parse(strings.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Places) != 2 || len(rep.Bad) != 1 || !strings.Contains(rep.Bad[0].String(), `status_since "ayer" is not a time`) {
		t.Fatalf("got %+v, bad %v", rep.Places, rep.Bad)
	}
	if got := rep.Places[0].StatusSince; got.Location() != time.UTC || !got.Equal(time.Date(2026, 12, 2, 20, 20, 0, 0, time.UTC)) {
		t.Errorf("status_since: got %v", got)
	}
	if !rep.Places[1].StatusSince.IsZero() {
		t.Errorf("empty status_since: got %v", rep.Places[1].StatusSince)
	}
	var buf bytes.Buffer
	if err := places.WriteCSV(&buf, rep.Places); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), ",full,2026-12-02T20:20:00Z\n") || !strings.HasSuffix(buf.String(), ",open,\n") {
		t.Errorf("export:\n%s", buf.String())
	}
}
