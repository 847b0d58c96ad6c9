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
		{"San Pedro", []string{"San Pedro, California, US", "San Pedro, Coahuila, MX", "San Pedro, San José, CR", "San Pedro, Belize, BZ", "San Pedro, Jalisco, MX"}, false},
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

func BenchmarkFindTypo(b *testing.B) {
	g, err := gazetteer.Default()
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		g.Find("Tapachla")
	}
}
