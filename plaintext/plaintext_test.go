package plaintext_test

import (
	"testing"

	"github.com/enlace-rfl/enlace/plaintext"
)

func TestClean(t *testing.T) {
	for in, want := range map[string]string{
		"Hola, ¿dónde estás?":                "Hola, ¿dónde estás?",
		"\x00nul":                            "nul",
		"bad \xff\xfe bytes":                 "bad  bytes",
		"bad \ufffd surrogate":               "bad  surrogate",
		"línea 1\r\nlínea 2\rlínea 3":        "línea 1\nlínea 2\nlínea 3",
		"a\tb":                               "a b",
		"  espacios  ":                       "espacios",
		"bell\a and esc\x1b[31m":             "bell and esc[31m",
		"c1 \u0085 next line":                "c1  next line",
		"rtl \u202e override":                "rtl  override",
		"zero\u200bwidth":                    "zerowidth",
		"familia 👨\u200d👩\u200d👧":            "familia 👨\u200d👩\u200d👧",
		"Kreyòl: Kote ou ye? M la pou ede w": "Kreyòl: Kote ou ye? M la pou ede w",
	} {
		if got := plaintext.Clean(in); got != want {
			t.Errorf("Clean(%q) = %q, want %q", in, got, want)
		}
	}
}
