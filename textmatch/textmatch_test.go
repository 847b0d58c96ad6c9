package textmatch_test

import (
	"strings"
	"testing"

	"github.com/enlace-rfl/enlace/textmatch"
)

func TestNormalize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"¡Menú!", "menu"},
		{"  ATRÁS  ", "atras"},
		{"Kreyòl", "kreyol"},
		{"borrar   mis datos", "borrar mis datos"},
		{"🙂", ""},
		{"", ""},
		{"Cd. Juárez", "cd juarez"},
		{"Cd.Juárez", "cd juarez"},
		{"m'ap", "map"},
		{"Tapachula, Chiapas", "tapachula chiapas"},
		{"Sí,gracias", "si gracias"},
		{"San Pedro-Sula/Honduras_x", "san pedro sula honduras x"},
		{"18:00", "18 00"},
		{"Straße Œuvre", "strasse oeuvre"},
		{"Ǽlfred ǿ", "aelfred o"},
		{"Jo\u0301se\u0301", "jose"}, // combining accents
		{"ЛЕНА й", "лена и"},
		{"1º de Mayo", "1 de mayo"},
		{"한국", "한국"}, // not decomposed into letters that say less
		{"٣ días", "٣ dias"},
	}
	for _, tt := range tests {
		if got := textmatch.Normalize(tt.in); got != tt.want {
			t.Errorf("Normalize(%q): got %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestFoldName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"José-Luis HERNÁNDEZ", "jose luis hernandez"},
		{"  Peña  Nieto ", "pena nieto"},
		{"Jean-Baptiste Pyè", "jean baptiste pye"},
		{"D'Arcy O'Neil", "d arcy o neil"},
		{"Françoise Müller", "francoise muller"},
		{"Straße Œuvre", "strasse oeuvre"},
		{"María José 2º", "maria jose"},
		{"Ma. Guadalupe", "ma guadalupe"},
		{"", ""},
		{"😀 Ana", "ana"},
		{"Jo\u0301se\u0301", "jose"},
		{"ЛЕНА", "лена"},
	}
	for _, tt := range tests {
		if got := textmatch.FoldName(tt.in); got != tt.want {
			t.Errorf("FoldName(%q): got %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestDistance(t *testing.T) {
	tests := []struct {
		a, b  string
		limit int
		want  int
	}{
		{"tapachula", "tapachula", 2, 0},
		{"tapachula", "tapachla", 2, 1},    // a deletion
		{"tapachula", "tapahcula", 2, 1},   // a swap counts one
		{"tapachula", "tapachulaxx", 2, 2}, // two insertions
		{"tapachula", "tapa", 2, 3},        // too far: limit+1
		{"ana", "ivan", 1, 2},
		{"ñandu", "nandu", 1, 1}, // characters, not bytes
		{"", "", 0, 0},
		{"", "ab", 2, 2},
		{"ab", "ba", 0, 1},
		{strings.Repeat("a", 40), strings.Repeat("a", 39) + "b", 2, 1}, // long words too
	}
	for _, tt := range tests {
		if got := textmatch.Distance(tt.a, tt.b, tt.limit); got != tt.want {
			t.Errorf("Distance(%q, %q, %d): got %d, want %d", tt.a, tt.b, tt.limit, got, tt.want)
		}
	}
}

// FuzzNormalize: folding is idempotent and never leaves doubled, leading or
// trailing spaces.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"¡Menú!", "Cd. Juárez", "m'ap", "Jo\u0301se\u0301", "ß 2º", "한국"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for name, fn := range map[string]func(string) string{"Normalize": textmatch.Normalize, "FoldName": textmatch.FoldName} {
			got := fn(s)
			if again := fn(got); again != got {
				t.Errorf("%s is not idempotent: %q -> %q -> %q", name, s, got, again)
			}
			if strings.Contains(got, "  ") || strings.HasPrefix(got, " ") || strings.HasSuffix(got, " ") {
				t.Errorf("%s(%q) = %q: stray spaces", name, s, got)
			}
		}
	})
}

// FuzzDistance: the distance is symmetric, bounded and zero only for equal
// words.
func FuzzDistance(f *testing.F) {
	f.Add("tapachula", "tapahcula", 2)
	f.Add("ñandu", "nandu", 1)
	f.Fuzz(func(t *testing.T, a, b string, limit int) {
		if limit < 0 || limit > 5 {
			t.Skip()
		}
		d := textmatch.Distance(a, b, limit)
		if d < 0 || d > limit+1 {
			t.Fatalf("Distance(%q, %q, %d) = %d, out of range", a, b, limit, d)
		}
		if back := textmatch.Distance(b, a, limit); back != d {
			t.Fatalf("Distance(%q, %q) = %d but the other way %d", a, b, d, back)
		}
		if (d == 0) != (string([]rune(a)) == string([]rune(b))) {
			t.Fatalf("Distance(%q, %q, %d) = %d", a, b, limit, d)
		}
	})
}
