// Package languages is the one list of the languages Enlace speaks, for the
// conversation (flows), its texts (locales), the staff console and staff
// accounts: es, en, fr, ht (Haitian Creole) and pt. It imports nothing of
// Enlace.
package languages

import (
	"slices"
	"strings"
)

// All are Enlace's language codes, in the order people are offered them.
// Callers must not change it.
var All = []string{"es", "en", "fr", "ht", "pt"}

// Default is the language used when none is known.
const Default = "es"

// Has reports whether code is exactly one of All.
func Has(code string) bool { return slices.Contains(All, code) }

// Match maps a language code as channels, phones and browsers send it
// ("fr-CA", "fr_CA", "pt-BR", "es-MX", "ht-HT", "en-US", "HT", "hat") to one
// of Enlace's languages, by its base language only, or returns "" when it is
// none of them. Only Haitian codes (ht, hat) give "ht": French from Haiti
// ("fr-HT") is French.
func Match(code string) string {
	base, _, _ := strings.Cut(strings.ReplaceAll(strings.TrimSpace(code), "_", "-"), "-")
	base = strings.ToLower(base)
	if l, ok := iso639_2[base]; ok {
		return l
	}
	if Has(base) {
		return base
	}
	return ""
}

// iso639_2 maps the three-letter codes of Enlace's languages to its codes.
var iso639_2 = map[string]string{"spa": "es", "eng": "en", "fra": "fr", "fre": "fr", "hat": "ht", "por": "pt"}
