package places_test

import (
	"bytes"
	"os"
	"reflect"
	"testing"

	"github.com/enlace-rfl/enlace/places"
)

// FuzzParse feeds any file to the import (CSV, or GeoJSON when it starts with
// "{"), with a locator for rows without coordinates: it never panics; every
// place it keeps is valid; and what it keeps, exported and read back, is the
// same places, with no bad row. The seeds are the files of testdata and the
// starter directory, and the crashers found so far (testdata/fuzz/FuzzParse).
func FuzzParse(f *testing.F) {
	for _, name := range []string{"testdata/mixed.csv", "testdata/points.geojson", "starter.csv"} {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("id,name,kind,country,lat,lon,status\nx,\"unclosed,shelter,MX,1,2,open\n"))
	f.Add([]byte(`{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"Point","coordinates":[1e999,2]},"properties":{}}]}`))
	locate := func(city, admin1, country string) (float64, float64, bool) {
		return 14.9, -92.26, city == "Tapachula"
	}
	f.Fuzz(func(t *testing.T, file []byte) {
		rep, err := places.ParseLocated(bytes.NewReader(file), locate)
		if err != nil {
			return
		}
		for _, p := range rep.Places {
			if problems := p.Validate(); len(problems) > 0 {
				t.Fatalf("kept an invalid place %+v: %v", p, problems)
			}
		}
		if len(rep.Places) == 0 {
			return
		}
		var buf bytes.Buffer
		if err := places.WriteCSV(&buf, rep.Places); err != nil {
			t.Fatalf("WriteCSV of parsed places: %v", err)
		}
		again, err := places.ParseCSV(&buf)
		if err != nil || len(again.Bad) > 0 {
			t.Fatalf("the export of parsed places does not read back: %v, %v\n%s", err, again.Bad, buf.String())
		}
		if len(again.Places) != len(rep.Places) {
			t.Fatalf("read back %d places, want %d", len(again.Places), len(rep.Places))
		}
		for i := range rep.Places {
			got, want := again.Places[i], rep.Places[i]
			if !got.Verified.Equal(want.Verified) {
				t.Fatalf("place %d: verified %v read back as %v", i, want.Verified, got.Verified)
			}
			got.Verified = want.Verified
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("place %d read back as\n%+v\nwant\n%+v", i, got, want)
			}
		}
	})
}
