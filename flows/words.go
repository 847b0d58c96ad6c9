package flows

import (
	"slices"
	"strings"

	"github.com/enlace-rfl/enlace/languages"
	"github.com/enlace-rfl/enlace/textmatch"
)

// Catalog is what the engine needs from the translations: the text of a message
// in one language. locales.Catalog satisfies it.
type Catalog interface {
	Text(lang, id string, data map[string]string) string
}

// Global words work in every state and every language. Each is a message whose
// translation lists the words, separated by commas, that mean it.
const (
	wordMenu      = "words.menu"
	wordHelp      = "words.help"
	wordLanguage  = "words.language"
	wordBack      = "words.back"
	wordErase     = "words.erase"
	wordEmergency = "words.emergency"
	wordAgree     = "words.agree"
	wordYes       = "words.yes"
	wordNo        = "words.no"
)

// wordLeave ("cancelar", "salir", "sair", "kanpe", "quit" on WhatsApp…) leaves
// the dialog the person is in; outside one, on SMS and WhatsApp, it asks
// whether to stop every message (flows/optout.go). Only the carriers' own
// words (STOP…) opt out at once, in the channel layer (bot/phone).
const wordLeave = "words.leave"

var globalWords = []string{wordMenu, wordHelp, wordLanguage, wordBack, wordErase, wordEmergency, wordAgree, wordLeave}

// commandWords maps commands (as Telegram sends them) to global words.
var commandWords = map[string]string{
	"menu": wordMenu, "help": wordHelp, "language": wordLanguage, "lang": wordLanguage,
	"back": wordBack, "erase": wordErase, "delete": wordErase, "emergency": wordEmergency,
	"sos": wordEmergency,
}

// wordedChoices are the choices with more words than their label: a message
// "<choice>.words" lists them, in each language. While the choice is offered
// they mean it before any global word: at the check-in, "cancelar", "quitar",
// "supprimer" or "borrar" remove the check-in, not leave the dialog or erase
// everything.
var wordedChoices = []string{"checkin.stop", "checkin.24h", "rel.mother", "rel.father", "rel.partner",
	"lang.es", "lang.en", "lang.fr", "lang.ht", "lang.pt", "tracing.rel.parent", "tracing.rel.child", "tracing.rel.spouse"}

func buildChoiceWords(cat Catalog) map[string][]string {
	idx := map[string][]string{} // a word, and the choices it may pick
	for _, id := range wordedChoices {
		for _, lang := range languages.All {
			for _, w := range strings.Split(cat.Text(lang, id+".words", nil), ",") {
				if w = textmatch.Normalize(w); w != "" && !slices.Contains(idx[w], id) {
					idx[w] = append(idx[w], id)
				}
			}
		}
	}
	return idx
}

// choiceWord is the offered choice a typed text names by one of its words.
// Stale choices (a dialog that timed out) name nothing.
func (e *Engine) choiceWord(t *turn, in Input) (string, bool) {
	if in.Kind != InputText || t.now.Sub(t.s.Updated) > e.cfg.DialogTimeout {
		return "", false
	}
	for _, id := range e.choiceWords[textmatch.Normalize(in.Text)] {
		if slices.Contains(t.s.Choices, id) { // "mamá": a contact's mother, or the parent sought
			return id, true
		}
	}
	return "", false
}

// smallWords are left out when a typed word is looked for in the choices'
// labels: articles, "my", "or", "of" in the five languages.
var smallWords = map[string]bool{
	"de": true, "la": true, "el": true, "los": true, "las": true, "un": true, "una": true, "mi": true, "mis": true,
	"o": true, "y": true, "a": true, "en": true, "por": true, "con": true, "the": true, "an": true, "my": true,
	"or": true, "and": true, "of": true, "to": true, "le": true, "les": true, "une": true, "mon": true, "ma": true,
	"mes": true, "ou": true, "et": true, "du": true, "des": true, "os": true, "as": true, "um": true, "uma": true,
	"meu": true, "minha": true, "e": true, "da": true, "do": true, "em": true, "na": true, "no": true,
	"para": true, "pra": true, "pour": true, "for": true,
	"mwen": true, "m": true, "w": true, "li": true, "nou": true, "yo": true, "ak": true, "oswa": true, "pou": true, "nan": true,
}

// labelWordChoice is the one offered choice whose label, in the person's
// language, has every word typed (small words aside): "hermano" is "Hermano
// o hermana", "mi hermana" too, "12 horas" is "Cada 12 horas". None when no
// choice or more than one has them. The engine asks it only for a text the
// step did not understand, so a word a step reads as text stays text.
func (e *Engine) labelWordChoice(t *turn, typed string) (string, bool) {
	var want []string
	for _, w := range strings.Fields(textmatch.Normalize(typed)) {
		if !smallWords[w] {
			want = append(want, w)
		}
	}
	if len(want) == 0 || len(want) > 3 {
		return "", false
	}
	found := ""
	for _, id := range t.s.Choices {
		words := map[string]bool{}
		for _, w := range strings.Fields(textmatch.Normalize(e.cat.Text(t.s.Lang, id, nil))) {
			words[w] = true
		}
		all := true
		for _, w := range want {
			if len(w) < 3 && onlyDigits(w) != w || !words[w] {
				all = false
				break
			}
		}
		if !all {
			continue
		}
		if found != "" {
			return "", false // two choices have them: unclear
		}
		found = id
	}
	return found, found != ""
}

// wordMatch says which word a normalized text is, and in which language it was written.
type wordMatch struct {
	word string
	lang string
}

// wordIndex maps normalized words of every language to their meaning.
type wordIndex map[string]wordMatch

func buildWordIndex(cat Catalog, ids []string) wordIndex {
	idx := wordIndex{}
	for _, id := range ids {
		for _, lang := range languages.All {
			for _, w := range strings.Split(cat.Text(lang, id, nil), ",") {
				w = textmatch.Normalize(w)
				if w == "" {
					continue
				}
				if _, taken := idx[w]; !taken { // the first language that claims a word keeps it
					idx[w] = wordMatch{word: id, lang: lang}
				}
			}
		}
	}
	return idx
}
