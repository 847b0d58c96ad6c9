package tracing

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Fold returns s in lower case without accents, every run of what is not a letter
// (spaces, hyphens, apostrophes, dots, digits) turned into one space: "José-Luis
// HERNÁNDEZ" → "jose luis hernandez". Letters with no decomposition that people
// write without their mark are spelled out (ß → ss, œ → oe, ø → o, ł → l).
func Fold(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := true // suppress leading spaces
	emit := func(r rune) {
		b.WriteRune(r)
		space = false
	}
	for _, r := range s {
		if r < utf8.RuneSelf {
			switch {
			case r >= 'a' && r <= 'z':
				emit(r)
			case r >= 'A' && r <= 'Z':
				emit(r + 'a' - 'A')
			default:
				if !space {
					b.WriteByte(' ')
					space = true
				}
			}
			continue
		}
		if s, ok := spelledOut[r]; ok {
			b.WriteString(s)
			space = false
			continue
		}
		if !unicode.IsLetter(r) || r == 'ª' || r == 'º' {
			if !unicode.Is(unicode.Mn, r) && !space {
				b.WriteByte(' ')
				space = true
			}
			continue
		}
		base := []rune(norm.NFD.String(string(unicode.ToLower(r))))[0]
		if base < utf8.RuneSelf {
			emit(base)
		} else {
			emit(unicode.ToLower(base))
		}
	}
	return strings.TrimRight(b.String(), " ")
}

var spelledOut = map[rune]string{
	'ß': "ss", 'æ': "ae", 'Æ': "ae", 'œ': "oe", 'Œ': "oe", 'ø': "o", 'Ø': "o",
	'ł': "l", 'Ł': "l", 'đ': "d", 'Đ': "d", 'ı': "i",
}

// particles are the words names are written with that say nothing of who the
// person is: "María de la Cruz y López", "Ana López viuda de Pérez", "Marc van
// Damme", "João dos Santos". Dropping them on both sides makes "de la Cruz" and
// "Cruz" the same name.
var particles = map[string]bool{
	"de": true, "del": true, "la": true, "las": true, "los": true, "y": true, "e": true, "i": true,
	"da": true, "das": true, "do": true, "dos": true, "di": true, "du": true, "des": true,
	"van": true, "von": true, "der": true, "den": true, "vda": true, "viuda": true,
}

// NameTokens splits a name into folded words without particles: "José Luis de la
// Cruz" → [jose luis cruz]. A name made only of particles ("De la") keeps them.
func NameTokens(name string) []string {
	words := strings.Fields(Fold(name))
	out := words[:0:0]
	for _, w := range words {
		if !particles[w] {
			out = append(out, w)
		}
	}
	if len(out) == 0 {
		return words
	}
	return out
}
