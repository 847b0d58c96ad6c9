// Package textmatch holds the rules Enlace compares typed text by, in one
// place for the conversation (flows), the gazetteer (places/gazetteer) and
// tracing: folding to lower case without accents (Normalize for words and
// place names, FoldName for people's names) and a bounded edit distance for
// typos (Distance). It imports nothing of Enlace.
package textmatch

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Normalize folds typed words or a place name for matching: lower case, no
// accents, letters spelled out as people write them without their mark
// (ß → ss, œ → oe, ø → o), apostrophes dropped (m'ap → map), and any run of
// other characters (spaces, punctuation, emoji) as one space between words:
// "¡Menú!" → "menu", "Cd. Juárez" → "cd juarez".
func Normalize(s string) string { return fold(s, true, true) }

// FoldName folds a person's name for matching: as Normalize, but only
// letters count, so digits and apostrophes part words too: "José-Luis
// HERNÁNDEZ" → "jose luis hernandez", "D'Arcy 2º" → "d arcy".
func FoldName(s string) string { return fold(s, false, false) }

// fold is Normalize (digits kept, apostrophes joining) and FoldName (neither).
func fold(s string, digits, joinApostrophes bool) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false // a separator is due before the next letter
	put := func(r rune) {
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z':
			put(r)
		case r >= 'A' && r <= 'Z':
			put(r + 'a' - 'A')
		case r == '\'' || r == '’':
			space = space || !joinApostrophes
		case r < utf8.RuneSelf:
			if digits && r >= '0' && r <= '9' {
				put(r)
			} else {
				space = true
			}
		case spelledOut[r] != "":
			for _, c := range spelledOut[r] {
				put(c)
			}
		case unicode.Is(unicode.Mn, r):
			// a combining accent typed on its own: dropped, the word goes on
		case r == 'ª' || r == 'º':
			space = true // ordinals ("2º"), not letters
		case unicode.IsLetter(r):
			l := unaccent(unicode.ToLower(r))
			if sp := spelledOut[l]; sp != "" {
				for _, c := range sp { // "ǽ" is "æ" with a mark: "ae"
					put(c)
				}
			} else {
				put(l)
			}
		case digits && unicode.IsDigit(r):
			put(r)
		default:
			space = true
		}
	}
	return b.String()
}

// unaccent is r without its marks ("é" → "e", "й" → "и"); a letter whose
// decomposition is not a letter and marks (a Hangul syllable) stays whole.
func unaccent(r rune) rune {
	d := norm.NFD.String(string(r))
	base, n := utf8.DecodeRuneInString(d)
	for _, m := range d[n:] {
		if !unicode.Is(unicode.Mn, m) {
			return r
		}
	}
	return unicode.ToLower(base)
}

// spelledOut are the letters with no decomposition that people write
// without their mark as these letters.
var spelledOut = map[rune]string{
	'ß': "ss", 'æ': "ae", 'Æ': "ae", 'œ': "oe", 'Œ': "oe", 'ø': "o", 'Ø': "o",
	'ł': "l", 'Ł': "l", 'đ': "d", 'Đ': "d", 'ı': "i",
}

// Distance is the optimal-string-alignment distance between a and b (the
// restricted Damerau-Levenshtein distance: insertions, deletions,
// substitutions and swaps of neighbouring characters, counted in
// characters), or limit+1 as soon as it must exceed limit. Words of up to 32
// characters are compared without allocating.
func Distance(a, b string, limit int) int {
	ra, rb := []rune(a), []rune(b)
	if d := len(ra) - len(rb); d > limit || -d > limit {
		return limit + 1
	}
	var stack [3][33]int
	var prev2, prev, cur []int
	if len(rb) < len(stack[0]) {
		prev2, prev, cur = stack[0][:len(rb)+1], stack[1][:len(rb)+1], stack[2][:len(rb)+1]
	} else {
		rows := make([]int, 3*(len(rb)+1))
		prev2, prev, cur = rows[:len(rb)+1], rows[len(rb)+1:2*(len(rb)+1)], rows[2*(len(rb)+1):]
	}
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		best := cur[0]
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			v := min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				v = min(v, prev2[j-2]+1)
			}
			cur[j] = v
			best = min(best, v)
		}
		if best > limit {
			return limit + 1
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return min(prev[len(rb)], limit+1)
}
