package flows

import (
	"strings"
	"unicode"

	"github.com/enlace-rfl/enlace/languages"
	"github.com/enlace-rfl/enlace/textmatch"
)

// Danger in a sentence. Words of danger ("me quieren secuestrar", "yo menase
// m", "they are following me") are looked for in every text, in every state
// and every language, so a cry for help is never "not understood". The lists
// are messages of the catalog, reviewed like every other text:
//
//   - danger.words: phrases that mean the person may be in danger now;
//   - person.words: a plain request for a person ("necesito hablar con
//     alguien", "mwen bezwen èd"), which leads to "talk to a person" when the
//     step did not understand the message otherwise;
//   - danger.not: words that, just before a phrase (with at most two small
//     words such as "hay", "estoy", "en" between), say the opposite: "no hay
//     peligro", "mwen pa an danje", "not in danger".
//
// A phrase is one or more words separated by spaces, which must follow each
// other in the message. A word ending in "*" matches every word it begins
// ("secuestr*": secuestrar, secuestraron, secuestro); "~" between two words
// lets up to two other words come between them ("me ~ siguiendo": "me están
// siguiendo"); a phrase starting with "=" must be the whole message ("=ede m").
// Matching ignores case and accents, treats apostrophes as spaces ("m'ont"),
// and folds common spelling variants on both sides (c/k/qu, s/z/c, b/v, a
// silent h, doubled letters), so "sekuestro" and "amenasa" are found too;
// words of eight letters or more also match with one letter wrong.
//
// False negatives are worse than false positives, but false alarms must stay
// rare: flows/testdata/danger lists sentences that must and must not match.

// phrase is one entry of a list, folded.
type phrase struct {
	words []string // folded words; a trailing "*" is a prefix
	gaps  []bool   // gaps[i]: up to maxGap words may come before words[i]
	whole bool     // the whole message must be the phrase
	lang  string
}

// maxGap is how many words "~" lets come between two words of a phrase.
const maxGap = 2

// phraseList is one list of phrases, every language together.
type phraseList []phrase

// dangerLists holds the engine's danger, person and negation lists.
type dangerLists struct {
	danger, person phraseList
	not            map[string]bool // folded negation words
	bridge         map[string]bool // small words allowed between a negation and the phrase
}

// bridgeWords may stand between a negation and a phrase of danger ("no hay
// peligro", "no estoy en peligro", "pa an danje", "not in danger").
var bridgeWords = []string{
	"hay", "estoy", "estamos", "esta", "estan", "en", "ningun", "ninguna", "ya", "mas",
	"am", "is", "are", "i", "we", "in", "any", "more", "longer", "m", "mwen", "nou", "an", "gen", "okenn",
	"suis", "sommes", "est", "plus", "de", "du", "estou", "esta", "estamos", "em", "ha", "tem", "mais",
}

func buildDangerLists(cat Catalog) dangerLists {
	d := dangerLists{not: map[string]bool{}, bridge: map[string]bool{}}
	for _, lang := range languages.All {
		d.danger = append(d.danger, parsePhrases(cat.Text(lang, "danger.words", nil), lang)...)
		d.person = append(d.person, parsePhrases(cat.Text(lang, "person.words", nil), lang)...)
		for _, w := range strings.Split(cat.Text(lang, "danger.not", nil), ",") {
			if f := foldWords(w); len(f) == 1 {
				d.not[f[0]] = true
			}
		}
	}
	for _, w := range bridgeWords {
		d.bridge[foldWord(w)] = true
	}
	return d
}

// parsePhrases reads a comma-separated list of phrases.
func parsePhrases(list, lang string) phraseList {
	var out phraseList
	for _, entry := range strings.Split(list, ",") {
		entry = strings.TrimSpace(entry)
		p := phrase{lang: lang}
		if rest, ok := strings.CutPrefix(entry, "="); ok {
			p.whole, entry = true, rest
		}
		gap := false
		for _, w := range strings.Fields(entry) {
			if w == "~" {
				gap = true
				continue
			}
			star := strings.HasSuffix(w, "*")
			f := foldWords(strings.TrimSuffix(w, "*"))
			for i, fw := range f {
				if star && i == len(f)-1 {
					fw += "*"
				}
				p.words = append(p.words, fw)
				p.gaps = append(p.gaps, gap && i == 0)
			}
			gap = false
		}
		if len(p.words) > 0 {
			out = append(out, p)
		}
	}
	return out
}

// foldWords splits text into folded words (see the package comment above).
func foldWords(s string) []string {
	s = strings.NewReplacer("'", " ", "’", " ", "`", " ").Replace(s)
	var out []string
	for _, w := range strings.Fields(textmatch.Normalize(s)) {
		if f := foldWord(w); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// foldWord folds spelling variants of one normalized word, so the same sound
// written differently matches: qu, c before a/o/u and k are "k"; c before
// e/i, z and s are "s"; v is "b"; y is "i"; an h not after c, s or p is
// dropped; ph is "f"; doubled letters are single.
func foldWord(w string) string {
	r := []rune(w)
	var b []rune
	for i := 0; i < len(r); i++ {
		c := r[i]
		next := rune(0)
		if i+1 < len(r) {
			next = r[i+1]
		}
		switch c {
		case 'q':
			if next == 'u' {
				i++
			}
			c = 'k'
		case 'c':
			switch next {
			case 'e', 'i', 'y':
				c = 's'
			case 'h':
			default:
				c = 'k'
			}
		case 'z':
			c = 's'
		case 'v':
			c = 'b'
		case 'y':
			c = 'i'
		case 'h':
			if len(b) > 0 && (b[len(b)-1] == 'c' || b[len(b)-1] == 's') {
				break
			}
			if len(b) > 0 && b[len(b)-1] == 'p' {
				b[len(b)-1] = 'f'
			}
			continue
		}
		if len(b) > 0 && b[len(b)-1] == c && unicode.IsLetter(c) {
			continue
		}
		b = append(b, c)
	}
	return string(b)
}

// matchAny reports whether a phrase of the list is in the folded words;
// negate, when set, holds the words that cancel a match just before it.
func (l phraseList) matchAny(words []string, d *dangerLists, negate bool) bool {
	for _, p := range l {
		if p.whole && len(words) != len(p.words) {
			continue
		}
		for start := 0; start < len(words); start++ {
			if !p.matchAt(words, start) {
				continue
			}
			if negate && d.negated(words, start) {
				continue
			}
			return true
		}
	}
	return false
}

// matchAt reports whether the phrase starts at words[start].
func (p phrase) matchAt(words []string, start int) bool {
	i := start
	for k, pw := range p.words {
		if k > 0 && p.gaps[k] {
			found := false
			for j := i; j < len(words) && j <= i+maxGap; j++ {
				if wordMatches(pw, words[j]) {
					i, found = j, true
					break
				}
			}
			if !found {
				return false
			}
		} else if i >= len(words) || !wordMatches(pw, words[i]) {
			return false
		}
		i++
	}
	return true
}

// negated says whether a negation word stands just before words[start], with
// at most two bridge words between.
func (d *dangerLists) negated(words []string, start int) bool {
	for i, skipped := start-1, 0; i >= 0 && skipped <= 2; i-- {
		if d.not[words[i]] {
			return true
		}
		if !d.bridge[words[i]] {
			return false
		}
		skipped++
	}
	return false
}

// wordMatches compares a folded word of a phrase (maybe a prefix, "word*")
// with a folded word of the message, allowing one letter wrong (added, removed, changed or swapped with
// its neighbour) in long words.
func wordMatches(pw, w string) bool {
	prefix := strings.HasSuffix(pw, "*")
	pw = strings.TrimSuffix(pw, "*")
	if prefix {
		if strings.HasPrefix(w, pw) {
			return true
		}
	} else if w == pw {
		return true
	}
	if len([]rune(pw)) < 8 {
		return false
	}
	if prefix { // compare with the start of the word, one letter longer or shorter
		rw, n := []rune(w), len([]rune(pw))
		for _, m := range []int{n - 1, n, n + 1} {
			if m <= len(rw) && textmatch.Distance(pw, string(rw[:m]), 1) <= 1 {
				return true
			}
		}
		return false
	}
	return textmatch.Distance(pw, w, 1) <= 1
}

// isDanger reports whether a text holds words of danger.
func (e *Engine) isDanger(typed string) bool {
	return e.danger.danger.matchAny(foldWords(typed), &e.danger, true)
}

// asksForPerson reports whether a text asks to talk to a person.
func (e *Engine) asksForPerson(typed string) bool {
	return e.danger.person.matchAny(foldWords(typed), &e.danger, true)
}

// maxDangerText is the most of a message of danger kept for volunteers.
const maxDangerText = 500

// answerDanger answers words of danger at once: the emergency numbers with a
// short safety line; for a person who agreed to Enlace keeping data, an
// escalation of the highest priority with what they wrote, and the truth
// about it (kept for the volunteers, first in line; do not wait for them).
// Nothing is kept for people who did not agree.
func (e *Engine) answerDanger(t *turn, typed string) {
	t.reply(dangerOutput(t.s.Country))
	if t.s.Consent != ConsentAccepted {
		return
	}
	t.emit(Escalation{Reason: ReasonDanger, At: t.now, Lang: t.s.Lang, Step: t.s.Step, Text: limitRunes(typed, maxDangerText)})
	t.say("danger.kept")
}

// dangerOutput is emergencyOutput with the safety line of danger.
func dangerOutput(country string) Output {
	o := emergencyOutput(country)
	if o.Text.ID == "emergency.one" {
		o.Text.ID = "danger.one"
	} else {
		o.Text.ID = "danger.two"
	}
	return o
}

func limitRunes(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n])
	}
	return s
}
