package languages_test

import (
	"testing"

	"github.com/enlace-rfl/enlace/languages"
)

func TestMatch(t *testing.T) {
	tests := []struct{ code, want string }{
		{"es", "es"}, {"en", "en"}, {"fr", "fr"}, {"ht", "ht"}, {"pt", "pt"},
		{"fr-CA", "fr"}, {"fr_CA", "fr"}, {"fr-HT", "fr"}, {"FR-ca", "fr"},
		{"pt-BR", "pt"}, {"pt-PT", "pt"}, {"pt_br", "pt"},
		{"es-MX", "es"}, {"es-419", "es"}, {"en-US", "en"}, {" en-GB ", "en"},
		{"ht", "ht"}, {"ht-HT", "ht"}, {"HT", "ht"}, {"hat", "ht"},
		{"de", ""}, {"de-DE", ""}, {"", ""}, {"-", ""}, {"x-ht", ""}, {"fr-x-ht", "fr"},
	}
	for _, tt := range tests {
		if got := languages.Match(tt.code); got != tt.want {
			t.Errorf("Match(%q) = %q, want %q", tt.code, got, tt.want)
		}
	}
}

func TestHas(t *testing.T) {
	for _, l := range languages.All {
		if !languages.Has(l) {
			t.Errorf("Has(%q) is false", l)
		}
	}
	for _, l := range []string{"", "fr-HT", "ES", "de"} {
		if languages.Has(l) {
			t.Errorf("Has(%q) is true", l)
		}
	}
	if !languages.Has(languages.Default) {
		t.Errorf("the default %q is not a language", languages.Default)
	}
}
