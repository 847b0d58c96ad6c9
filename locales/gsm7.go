package locales

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// gsmLookalikes replaces common characters outside the GSM-7 alphabet with
// the nearest text inside it.
var gsmLookalikes = map[rune]string{
	'ç': "c", 'œ': "oe", 'Œ': "OE", 'ß': "ss",
	'‘': "'", '’': "'", '‚': "'", '´': "'", '`': "'",
	'“': "\"", '”': "\"", '„': "\"", '«': "\"", '»': "\"",
	'–': "-", '—': "-", '‐': "-", '−': "-", '…': "...", '•': "-", '·': ".",
	'\u00a0': " ", '\u2009': " ", '\u202f': " ", '\t': " ",
}

// ToGSM7 transliterates s to the GSM-7 alphabet, so an SMS is sent in 7-bit
// parts (160 characters, 153 when split) instead of UCS-2 (70, 67): accents
// GSM-7 lacks lose their mark (á→a, ê→e, ç→c, õ→o), typographic quotes and
// dashes become plain ones, and what has no GSM-7 form at all (emoji) is
// dropped. Characters GSM-7 has (é, è, ñ, ü, à, ò, ¿, ¡…) are kept.
func ToGSM7(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if _, ok := gsmCost[r]; ok {
			b.WriteRune(r)
			continue
		}
		if rep, ok := gsmLookalikes[r]; ok {
			b.WriteString(rep)
			continue
		}
		// Decompose (á = a + ◌́) and keep the base letters GSM-7 has.
		for _, d := range norm.NFD.String(string(r)) {
			if unicode.Is(unicode.Mn, d) {
				continue
			}
			if _, ok := gsmCost[d]; ok {
				b.WriteRune(d)
			}
		}
	}
	return b.String()
}
