package gazetteer_test

import (
	"fmt"
	"testing"

	"github.com/enlace-rfl/enlace/places/gazetteer"
)

func TestFind(t *testing.T) {
	g, err := gazetteer.Default()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		typed string
		want  []string // "Name, Admin1, Country" of each town found
		fuzzy bool
	}{
		{"tapachula", []string{"Tapachula, Chiapas, MX"}, false},
		{"TAPACHULA", []string{"Tapachula, Chiapas, MX"}, false},
		{"Estoy en Tapachula", []string{"Tapachula, Chiapas, MX"}, false},
		{"Cd. Juarez", []string{"Ciudad Juárez, Chihuahua, MX"}, false},
		{"ciudad juárez", []string{"Ciudad Juárez, Chihuahua, MX"}, false},
		{"Tapachla", []string{"Tapachula, Chiapas, MX"}, true},
		{"Ixtepek", []string{"Ixtepec, Oaxaca, MX"}, true},
		{"Tecún Umán", []string{"Ciudad Tecún Umán, San Marcos, GT"}, false},
		{"Danli", []string{"Danlí, El Paraíso, HN"}, false},
		{"San Pedro, Coahuila", []string{"San Pedro, Coahuila, MX"}, false},
		{"san pedro coahuila", []string{"San Pedro, Coahuila, MX"}, false},
		// San Pedro Sula is often called San Pedro, and lies on the route:
		// it comes first, but only by an alternate name, so the person is asked.
		{"San Pedro", []string{"San Pedro Sula, Cortés, HN", "San Pedro, California, US", "San Pedro, Coahuila, MX", "San Pedro, San José, CR", "San Pedro Garza García, Nuevo León, MX"}, false},
		// The bigger and the route's towns win over villages of the same name.
		{"Juarez", []string{"Ciudad Juárez, Chihuahua, MX"}, false},
		{"Queretaro", []string{"Santiago de Querétaro, Querétaro, MX"}, false},
		{"Matamoros", []string{"Heroica Matamoros, Tamaulipas, MX"}, false},
		{"Guadalupe", []string{"Guadalupe, Nuevo León, MX"}, false},
		{"Paso Canoas", []string{"Canoas, Puntarenas, CR"}, false},
		{"Hidalgo", []string{"Ciudad Hidalgo, Chiapas, MX", "Ciudad Hidalgo, Michoacán, MX", "Hidalgo, Nuevo León, MX", "Hidalgo, Texas, US", "Hidalgo, Tamaulipas, MX"}, false},
		{"Sta. Ana, El Salvador", []string{"Santa Ana, Santa Ana, SV"}, false},
		{"xyzzyq", nil, false},
		{"", nil, false},
	}
	for _, tc := range cases {
		m := g.Find(tc.typed)
		var got []string
		for _, tw := range m.Towns {
			got = append(got, fmt.Sprintf("%s, %s, %s", tw.Name, tw.Admin1, tw.Country))
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.want) || m.Fuzzy != tc.fuzzy {
			t.Errorf("Find(%q): got %q fuzzy=%v, want %q fuzzy=%v", tc.typed, got, m.Fuzzy, tc.want, tc.fuzzy)
		}
	}
}

func TestLocate(t *testing.T) {
	g, err := gazetteer.Default()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		city, admin1, country string
		want                  string // "" when not found
	}{
		{"Tapachula", "Chiapas", "MX", "Tapachula, Chiapas"},
		{"Danlí", "", "HN", "Danlí, El Paraíso"},
		{"Ciudad Hidalgo", "Chiapas", "MX", "Ciudad Hidalgo, Chiapas"},
		{"Guadalupe", "", "MX", ""},         // several, no state to choose
		{"San Vicente", "Darién", "PA", ""}, // not in the list
		{"Peñitas", "Darién", "PA", ""},     // not in the list
		{"Tapachla", "Chiapas", "MX", ""},   // typos are not guessed
		{"Tapachula", "Chiapas", "GT", ""},  // wrong country
		{"Ciudad Tecún Umán", "San Marcos", "GT", "Ciudad Tecún Umán, San Marcos"},
	}
	for _, tc := range cases {
		tw, ok := g.Locate(tc.city, tc.admin1, tc.country)
		got := ""
		if ok {
			got = tw.Name + ", " + tw.Admin1
		}
		if got != tc.want {
			t.Errorf("Locate(%q, %q, %q) = %q, want %q", tc.city, tc.admin1, tc.country, got, tc.want)
		}
	}
}

func TestNearest(t *testing.T) {
	g, err := gazetteer.Default()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		lat, lon float64
		want     string // "Name, Country", or "" for none
	}{
		{14.9036, -92.2589, "Tapachula, MX"},
		{14.6790, -92.1420, "Ciudad Tecún Umán, GT"},
		{31.7202, -106.4608, "Ciudad Juárez, MX"},
		{10.0, -100.0, ""}, // the Pacific
	}
	for _, tc := range cases {
		tw, ok := g.Nearest(tc.lat, tc.lon)
		got := ""
		if ok {
			got = tw.Name + ", " + tw.Country
		}
		if got != tc.want {
			t.Errorf("Nearest(%v, %v) = %q, want %q", tc.lat, tc.lon, got, tc.want)
		}
	}
}

func BenchmarkNearest(b *testing.B) {
	g, err := gazetteer.Default()
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		g.Nearest(14.9036, -92.2589)
	}
}

func BenchmarkFindTypo(b *testing.B) {
	g, err := gazetteer.Default()
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		g.Find("Tapachla")
	}
}
