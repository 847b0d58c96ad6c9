package gazetteer_test

import (
	"math"
	"reflect"
	"testing"

	"github.com/enlace-rfl/enlace/places/gazetteer"
)

// FuzzFind looks up any text, and any point, in the real gazetteer: it never
// panics, offers at most MaxChoices towns, each with a name and a country,
// gives the same answer twice, and Nearest gives a town only within reach of
// the point. The seeds are the forms of TestFind and the crashers found so
// far (testdata/fuzz/FuzzFind).
func FuzzFind(f *testing.F) {
	for _, s := range []string{"tapachula", "Estoy en Tapachula", "Cd. Juarez", "Tapachla", "Ixtepek", "Tecún Umán",
		"San Pedro, Coahuila", "san pedro coahuila", "mwen nan Tijuana", "je suis à Tenosique", "estou em Reynosa",
		"", ",", ",,,", "Sta. Ma. del Tule", "🙂", "ciudad ciudad ciudad"} {
		f.Add(s, 14.9, -92.26)
	}
	f.Add("x", math.NaN(), math.Inf(1))
	g, err := gazetteer.Default()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, text string, lat, lon float64) {
		m := g.Find(text)
		if len(m.Towns) > gazetteer.MaxChoices {
			t.Fatalf("Find(%q) offers %d towns, more than %d", text, len(m.Towns), gazetteer.MaxChoices)
		}
		for _, town := range m.Towns {
			if town.Name == "" || town.Country == "" {
				t.Fatalf("Find(%q) gave a town without a name or country: %+v", text, town)
			}
		}
		if again := g.Find(text); !reflect.DeepEqual(again, m) {
			t.Fatalf("Find(%q) gave %+v, then %+v", text, m, again)
		}
		if town, ok := g.Nearest(lat, lon); ok {
			if math.Abs(town.Lat-lat) > 1 || math.Abs(town.Lon-lon) > 2 {
				t.Fatalf("Nearest(%v, %v) = %+v, too far away", lat, lon, town)
			}
		}
	})
}
