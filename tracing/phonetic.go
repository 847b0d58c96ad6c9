package tracing

import (
	"slices"
	"strings"
)

// PhoneticKeys returns the sound keys of one folded name token (see textmatch.FoldName): one key
// read with Spanish rules, which also suit Haitian Creole's spelling, and, when it
// differs, one read as French spelling is said in Creole. Two tokens sound alike
// when they share a key: "hernandez" and "hernandes" (z = s), "jean" and "jan",
// "pierre" and "pye", "baptiste" and "batis", "louis" and "lwi", "guillermo" and
// "giyermo", "valdez" and "baldes", "quique" and "kike".
//
// Spanish rules: h is silent (except in ch, sh, ph); c before e/i and z are s, other
// c, q(u) and k are k; g(u) before e/i is j (it is /x/ in Spanish, /ʒ/ in French),
// gu before e/i is g; v is b; ll and y before a vowel are y, y elsewhere and i
// before a vowel are i/y; ou and w are u; ph is f; ch, sh and tch are one sound;
// double letters are one.
//
// French rules, first: a final silent s, t, d, x or z goes; a final -ce is s and
// -ge is j; a final e after a consonant goes; eau and au are o, ai and ei e, oi
// wa, ean an; an/en/am/em before a consonant or at the end are an, in/im/ain/ein
// en; pt is t; a final st is s (Batis); an r after a vowel and before a consonant or
// the end goes (Pyè, Richa, Jòj).
func PhoneticKeys(token string) []string {
	keys := make([]string, 0, 3)
	add := func(k string) {
		if k != "" && !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	add(soundKey(token, false))
	// Creole spelling is read as written, with a hard g: Giyòm, Jil, Gitè.
	add(soundKey(token, true))
	add(soundKey(frenchRewrite(token), false))
	return keys
}

func isVowel(c byte) bool {
	switch c {
	case 'a', 'e', 'i', 'o', 'u', 'y':
		return true
	}
	return false
}

func at(s string, i int) byte {
	if i < 0 || i >= len(s) {
		return 0
	}
	return s[i]
}

func soundKey(t string, hardG bool) string {
	out := make([]byte, 0, len(t))
	for i := 0; i < len(t); i++ {
		c, next := t[i], at(t, i+1)
		switch c {
		case 'h':
			continue
		case 'c':
			switch {
			case next == 'h':
				c = 'C'
				i++
			case next == 'e' || next == 'i' || next == 'y':
				c = 's'
			default:
				c = 'k'
			}
		case 'q':
			c = 'k'
			if next == 'u' {
				i++
			}
		case 'g':
			switch {
			case next == 'u' && (at(t, i+2) == 'e' || at(t, i+2) == 'i'):
				i++
			case !hardG && (next == 'e' || next == 'i' || next == 'y'):
				c = 'j'
			}
		case 'z':
			c = 's'
		case 'v':
			c = 'b'
		case 'w':
			c = 'u'
		case 'p':
			if next == 'h' {
				c = 'f'
				i++
			}
		case 's':
			if next == 'h' {
				c = 'C'
				i++
			}
		case 't':
			if next == 'c' && at(t, i+2) == 'h' {
				c = 'C'
				i += 2
			}
		case 'l':
			if next == 'l' {
				c = 'y'
				i++
			}
		case 'o':
			if next == 'u' {
				c = 'u'
				i++
			}
		case 'i':
			if i > 0 && isVowel(next) && next != 'y' {
				c = 'y'
			}
		case 'y':
			if !isVowel(next) || next == 'y' {
				c = 'i'
			}
		}
		if n := len(out); n > 0 && out[n-1] == c {
			continue // double letters are one sound
		}
		out = append(out, c)
	}
	return string(out)
}

// frenchRewrite rewrites French spelling into letters that sound as Creole writes
// them, for spanishKey to finish.
func frenchRewrite(t string) string {
	if len(t) < 3 {
		return t
	}
	t = frenchSoft(t)
	// Final silent consonant: Louis, Laurent, Richard, Jacques.
	switch t[len(t)-1] {
	case 's', 't', 'd', 'x', 'z':
		if len(t) > 3 && t[len(t)-2] != t[len(t)-1] {
			t = t[:len(t)-1]
		}
	}
	t = frReplacer.Replace(t)
	t = frenchNasals(t)
	switch {
	case strings.HasSuffix(t, "que"): // Jacques, Dominique
		t = t[:len(t)-3] + "k"
	case strings.HasSuffix(t, "gue"):
		t = t[:len(t)-3] + "g"
	case strings.HasSuffix(t, "ie"): // Marie
		t = t[:len(t)-1]
	case len(t) > 3 && t[len(t)-1] == 'e' && !isVowel(t[len(t)-2]):
		t = t[:len(t)-1]
	}
	if strings.HasSuffix(t, "st") {
		t = t[:len(t)-1]
	}
	t = collapseDoubles(t)
	return dropCodaR(t)
}

// dropCodaR drops an r after a vowel and before a consonant or the end, as Creole
// does: Pierre → Pyè, Richard → Richa, Bernard → Bèna, Georges → Jòj.
func dropCodaR(t string) string {
	out := make([]byte, 0, len(t))
	for i := 0; i < len(t); i++ {
		if t[i] == 'r' && i > 0 && isVowel(t[i-1]) && !isVowel(at(t, i+1)) && len(t) > 3 {
			continue
		}
		out = append(out, t[i])
	}
	return string(out)
}

// frenchSoft spells the soft c and g of French (before e, i, y) as s and j, before
// other rewrites move the vowel that made them soft.
func frenchSoft(t string) string {
	b := []byte(t)
	for i := 0; i+1 < len(b); i++ {
		if n := b[i+1]; n == 'e' || n == 'i' || n == 'y' {
			switch b[i] {
			case 'c':
				b[i] = 's'
			case 'g':
				b[i] = 'j'
				if n == 'e' && i+2 < len(b) && (b[i+2] == 'a' || b[i+2] == 'o') {
					b[i+1] = 'h' // Georges, Jean-Georges: the e only softens the g; h is silent
				}
			}
		}
	}
	return string(b)
}

var frReplacer = strings.NewReplacer("eau", "o", "au", "o", "ai", "e", "ei", "e", "oi", "wa", "ean", "an", "jean", "jan", "uill", "uiy", "aill", "ay", "eill", "ey", "pt", "t", "th", "t")

// frenchNasals spells a vowel + n/m that is nasal in French (before a consonant or
// at the end) the way Creole does: an, en, on.
func frenchNasals(t string) string {
	b := []byte(t)
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		c := b[i]
		if (c == 'n' || c == 'm') && len(out) > 0 {
			next := at(t, i+1)
			if next == 0 || (!isVowel(next) && next != 'n' && next != 'm') {
				switch out[len(out)-1] {
				case 'e', 'a':
					out[len(out)-1] = 'a'
					c = 'n'
				case 'i':
					out[len(out)-1] = 'e'
					c = 'n'
				case 'o':
					c = 'n'
				}
			}
		}
		out = append(out, c)
	}
	return string(out)
}

func collapseDoubles(t string) string {
	out := make([]byte, 0, len(t))
	for i := 0; i < len(t); i++ {
		if n := len(out); n > 0 && out[n-1] == t[i] {
			continue
		}
		out = append(out, t[i])
	}
	return string(out)
}
