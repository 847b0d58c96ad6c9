package locales

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"text/template"
	"unicode"

	"github.com/BurntSushi/toml"

	"github.com/enlace-rfl/enlace/languages"
	"github.com/enlace-rfl/enlace/textmatch"
)

// maxSegments is the most SMS parts one message may take.
const maxSegments = 3

// choicesOf mirrors the flows: the choices sent with each question (every
// message whose ID ends in .prompt, .question, .offer or .confirm).
var choicesOf = map[string][]string{
	"language.prompt":       {"lang.es", "lang.en", "lang.fr", "lang.ht", "lang.pt"},
	"consent.question":      {"consent.accept", "consent.decline"},
	"menu.prompt":           {"menu.shelters", "menu.person", "menu.family", "menu.emergency", "menu.language", "menu.erase", "menu.tracing"}, // menu.link: Telegram only
	"link.prompt":           {"help.menu"},
	"help.offer":            {"help.person", "help.menu"},
	"erase.confirm":         {"erase.yes", "erase.no"},
	"erase.confirm.tracing": {"erase.yes", "erase.no"},
	"stopall.confirm":       {"stopall.yes", "stopall.no"},
	// Tracing requests (flows/tracing.go).
	"findable.offer":           {"findable.yes", "findable.no"},
	"tracing.menu":             {"tracing.new", "tracing.check", "help.menu"},
	"tracing.network":          {"tracing.network.yes", "tracing.network.no"},
	"tracing.other":            {"tracing.skip"},
	"tracing.sex":              {"tracing.sex.female", "tracing.sex.male", "tracing.sex.unknown"},
	"tracing.age":              {"tracing.unknown"},
	"tracing.nationality":      {"country.HN", "country.GT", "country.SV", "country.NI", "country.HT", "country.VE", "country.CU", "country.MX", "country.other", "tracing.unknown"},
	"tracing.relation":         {"tracing.rel.child", "tracing.rel.parent", "tracing.rel.sibling", "tracing.rel.spouse", "tracing.rel.other_relative", "tracing.rel.friend"},
	"tracing.own":              {"tracing.skip"},
	"tracing.place":            {"tracing.unknown"},
	"tracing.when":             {"tracing.unknown"},
	"tracing.what":             {"tracing.what.separated_on_route", "tracing.what.detained", "tracing.what.deported", "tracing.what.lost_contact", "tracing.what.other"},
	"tracing.reach":            {"tracing.reach.here", "tracing.reach.contact", "tracing.reach.contact", "tracing.reach.contact"},
	"tracing.summary.question": {"tracing.send", "tracing.restart", "tracing.cancel"},
	"tracing.wait":             {"help.menu"},
	"tracing.code.ask":         {"help.menu"},
	"tracing.options":          {"tracing.reply", "tracing.here", "help.menu"},
	"tracing.reply.ask":        {"help.menu"},
	"tracing.here.confirm":     {"tracing.here.yes", "tracing.here.no"},
}

// labelWords says which global word a choice label may also be, because it
// means the same (a typed word is read as a global word before a choice).
var labelWords = map[string]string{
	"consent.accept": "words.agree",
	"menu.emergency": "words.emergency",
	"menu.language":  "words.language",
	"menu.erase":     "words.erase",
	"help.menu":      "words.menu",
	"tracing.cancel": "words.leave",
}

// neverSent are lists the engine matches messages against, never sent to
// anyone, so no SMS length applies (flows/danger.go).
var neverSent = map[string]bool{"danger.words": true, "danger.not": true, "person.words": true, "checkin.stop.words": true, "checkin.24h.words": true, "lang.es.words": true, "lang.en.words": true, "lang.fr.words": true, "lang.ht.words": true, "lang.pt.words": true, "tracing.rel.parent.words": true, "tracing.rel.child.words": true, "tracing.rel.spouse.words": true, "rel.mother.words": true, "rel.father.words": true, "rel.partner.words": true,
	"time.afternoon": true, "time.night": true, "time.morning": true}

// properNames are upper-case words in texts that are not words to type.
var properNames = map[string]bool{"ENLACE": true, "SMS": true, "LGBTI": true, "PIN": true, "RFL": true} // PIN: the person types their digits, not the word; RFL: the prefix of a case code

func loadCatalog(t *testing.T) *Catalog {
	t.Helper()
	c, err := Load()
	if err != nil {
		t.Fatalf("Load() error: %v", err)
	}
	return c
}

// rawTexts reads the "other" text of every message of a language's file.
func rawTexts(t *testing.T, lang string) map[string]string {
	t.Helper()
	name := "active." + fileTags[lang] + ".toml"
	buf, err := files.ReadFile(name)
	if err != nil {
		t.Fatalf("reading %s: %v", name, err)
	}
	texts, err := otherTexts(buf)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return texts
}

// otherTexts parses a message file in either form goi18n writes:
// ["id"] other = "text", or "id" = "text" (a source file after a merge).
func otherTexts(buf []byte) (map[string]string, error) {
	var raw map[string]any
	if err := toml.Unmarshal(buf, &raw); err != nil {
		return nil, err
	}
	texts := map[string]string{}
	for id, v := range raw {
		switch v := v.(type) {
		case string:
			texts[id] = v
		case map[string]any:
			s, ok := v["other"].(string)
			if !ok {
				return nil, fmt.Errorf("message %q has no \"other\" text", id)
			}
			texts[id] = s
		default:
			return nil, fmt.Errorf("message %q is a %T", id, v)
		}
	}
	return texts, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func TestMessageIDsMatchEnglish(t *testing.T) {
	c := loadCatalog(t)
	want := map[string]bool{}
	for _, id := range c.MessageIDs("en") {
		want[id] = true
	}
	if len(want) == 0 {
		t.Fatal("English has no messages")
	}
	for _, lang := range languages.All {
		t.Run(lang, func(t *testing.T) {
			got := map[string]bool{}
			for _, id := range c.MessageIDs(lang) {
				got[id] = true
			}
			for _, id := range sortedKeys(want) {
				if !got[id] {
					t.Errorf("missing message %q", id)
				}
			}
			for _, id := range sortedKeys(got) {
				if !want[id] {
					t.Errorf("extra message %q, not in active.en.toml", id)
				}
			}
		})
	}
}

var templateVar = regexp.MustCompile(`\{\{-?\s*\.(\w+)\s*-?\}\}`)

func templateVars(s string) []string {
	set := map[string]bool{}
	for _, m := range templateVar.FindAllStringSubmatch(s, -1) {
		set[m[1]] = true
	}
	return sortedKeys(set)
}

func TestTemplateVariablesMatchEnglish(t *testing.T) {
	en := rawTexts(t, "en")
	for _, lang := range languages.All {
		t.Run(lang, func(t *testing.T) {
			texts := rawTexts(t, lang)
			for _, id := range sortedKeys(texts) {
				if strings.Count(texts[id], "{{") != len(templateVar.FindAllString(texts[id], -1)) {
					t.Errorf("%s: a template action other than {{.Name}}: %q", id, texts[id])
				}
				got, want := templateVars(texts[id]), templateVars(en[id])
				if !slices.Equal(got, want) {
					t.Errorf("%s: variables got %v, want %v", id, got, want)
				}
			}
		})
	}
}

// sampleData is what the flows pass: the retention days, the longest
// emergency line of the language for the person's country and, as the route's
// line, Mexico's (flows/emergency.go always shows Mexico's as the route's).
func sampleData(c *Catalog, lang string) map[string]string {
	longest := ""
	for _, id := range c.MessageIDs(lang) {
		if country, ok := strings.CutPrefix(id, "emergency."); ok && country == strings.ToUpper(country) {
			if s := c.Text(lang, id, nil); len([]rune(s)) > len([]rune(longest)) {
				longest = s
			}
		}
	}
	return map[string]string{"Days": "90", "Here": longest, "Route": c.Text(lang, "emergency.MX", nil)}
}

func numbered(labels []string) string {
	var b strings.Builder
	for i, l := range labels {
		fmt.Fprintf(&b, "\n%d. %s", i+1, l)
	}
	return b.String()
}

func TestTextsFitInSMS(t *testing.T) {
	c := loadCatalog(t)
	for _, lang := range languages.All {
		t.Run(lang, func(t *testing.T) {
			data := sampleData(c, lang)
			check := func(what, s string) {
				t.Helper()
				if n, ucs2 := SMSSegments(s); n > maxSegments {
					t.Errorf("%s: %d characters (UCS-2 %v) take %d SMS parts, want at most %d: %q",
						what, len([]rune(s)), ucs2, n, maxSegments, s)
				}
			}
			for _, id := range c.MessageIDs(lang) {
				if neverSent[id] {
					continue
				}
				text := c.Text(lang, id, data)
				check(id, text)
				choices, ok := choicesOf[id]
				if !ok {
					continue
				}
				// As the SMS channel sends it: the text, then "\n1. label" lines.
				labels := make([]string, len(choices))
				longest := ""
				for i, cid := range choices {
					labels[i] = c.Text(lang, cid, nil)
					if len([]rune(labels[i])) > len([]rune(longest)) {
						longest = labels[i]
					}
				}
				check(id+" with its choices", text+numbered(labels))
				// Room for up to five choices as long as its longest one.
				check(id+" with five of its longest choice", text+strings.Repeat("\n1. "+longest, 5))
			}
		})
	}
}

func TestPromptsHaveKnownChoices(t *testing.T) {
	c := loadCatalog(t)
	for _, id := range c.MessageIDs("en") {
		if strings.HasSuffix(id, ".prompt") || strings.HasSuffix(id, ".question") ||
			strings.HasSuffix(id, ".offer") || strings.HasSuffix(id, ".confirm") {
			if _, ok := choicesOf[id]; !ok {
				t.Errorf("%s: add its choices to choicesOf so its SMS length is checked", id)
			}
		}
	}
}

func TestHaitianCreoleIsNotFrench(t *testing.T) {
	c := loadCatalog(t)
	fr, ht := rawTexts(t, "fr"), rawTexts(t, "ht")

	if got, want := c.Text("ht", "consent.accept", nil), ht["consent.accept"]; got != want {
		t.Errorf(`Text("ht", "consent.accept") = %q, want %q`, got, want)
	}
	if got := c.Text("ht", "consent.accept", nil); got == fr["consent.accept"] {
		t.Errorf(`Text("ht", "consent.accept") = %q, the French text`, got)
	}
	if got, want := c.Text("ht", "consent.accept", nil), "Mwen dakò"; got != want {
		t.Errorf(`Text("ht", "consent.accept") = %q, want %q`, got, want)
	}

	data := sampleData(c, "fr")
	render := func(s string) string {
		var b bytes.Buffer
		if err := template.Must(template.New("").Parse(s)).Execute(&b, data); err != nil {
			t.Fatalf("rendering %q: %v", s, err)
		}
		return strings.TrimSpace(b.String())
	}
	for _, code := range []string{"fr", "fr-CA", "fr_CA", "fr-HT", "FR"} {
		t.Run(code, func(t *testing.T) {
			for _, id := range sortedKeys(fr) {
				if got, want := c.Text(code, id, data), render(fr[id]); got != want {
					t.Errorf("Text(%q, %q) = %q, want the French %q", code, id, got, want)
				}
			}
		})
	}
	for _, id := range sortedKeys(ht) {
		if got, want := c.Text("ht", id, nil), strings.TrimSpace(ht[id]); !strings.Contains(want, "{{") && got != want {
			t.Errorf("Text(%q, %q) = %q, want the Creole %q", "ht", id, got, want)
		}
	}
}

// wordLists reads every words.* message of every language.
func wordLists(c *Catalog) map[string]map[string][]string { // lang -> id -> words
	out := map[string]map[string][]string{}
	for _, lang := range languages.All {
		out[lang] = map[string][]string{}
		for _, id := range c.MessageIDs(lang) {
			if strings.HasPrefix(id, "words.") {
				out[lang][id] = strings.Split(c.Text(lang, id, nil), ",")
			}
		}
	}
	return out
}

func TestWordsHaveOneMeaning(t *testing.T) {
	c := loadCatalog(t)
	type use struct{ lang, id, word string }
	uses := map[string][]use{} // normalized word -> where it is listed
	for lang, lists := range wordLists(c) {
		for id, words := range lists {
			for _, w := range words {
				n := textmatch.Normalize(w)
				if n == "" {
					t.Errorf("%s %s: empty word in %q", lang, id, c.Text(lang, id, nil))
					continue
				}
				if w != strings.TrimSpace(w) || w != strings.ToLower(w) {
					t.Errorf("%s %s: word %q should be lower case without surrounding spaces", lang, id, w)
				}
				uses[n] = append(uses[n], use{lang, id, w})
			}
		}
	}
	for _, n := range sortedKeys(uses) {
		meanings := map[string]bool{}
		for _, u := range uses[n] {
			meanings[u.id] = true
		}
		if len(meanings) > 1 {
			t.Errorf("word %q has %d meanings, want 1: %v", n, len(meanings), uses[n])
		}
	}

	// Typed text is read as a global word before it is read as a choice label,
	// so a label must not be a word that means something else.
	for _, lang := range languages.All {
		for _, ids := range choicesOf {
			for _, id := range ids {
				label := c.Text(lang, id, nil)
				for _, u := range uses[textmatch.Normalize(label)] {
					if u.id != labelWords[id] && u.id != "words.yes" && u.id != "words.no" {
						t.Errorf("%s: label %s %q is also the word %q of %s %s", lang, id, label, u.word, u.lang, u.id)
					}
				}
			}
		}
	}
}

// upperWords finds the words written in capitals (two letters or more) that a
// text tells people to type; an apostrophe stays inside a word (J'ACCEPTE).
func upperWords(s string) []string {
	var words []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && r != '\'' && r != '’' }) {
		letters, upper := 0, true
		for _, r := range f {
			if unicode.IsLetter(r) {
				letters++
				upper = upper && unicode.IsUpper(r)
			}
		}
		if letters >= 2 && upper && !properNames[f] {
			words = append(words, f)
		}
	}
	return words
}

func TestKeywordsInTextsAreWords(t *testing.T) {
	c := loadCatalog(t)
	lists := wordLists(c)
	for _, lang := range languages.All {
		t.Run(lang, func(t *testing.T) {
			known := map[string]bool{}
			for _, words := range lists[lang] {
				for _, w := range words {
					known[textmatch.Normalize(w)] = true
				}
			}
			found := 0
			for _, id := range c.MessageIDs(lang) {
				if strings.HasPrefix(id, "words.") {
					continue
				}
				for _, w := range upperWords(c.Text(lang, id, nil)) {
					found++
					if !known[textmatch.Normalize(w)] {
						t.Errorf("%s: tells people to type %q, which is in no words.* list of %s", id, w, lang)
					}
				}
			}
			if found == 0 {
				t.Errorf("found no upper-case keyword in any text; want some (help.text names several)")
			}
		})
	}
}

// emergencyNumbers reads the country and number of each line of
// flows/emergency.go's table, as text: flows exports nothing for this.
func emergencyNumbers(t *testing.T) map[string][]string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("..", "flows", "emergency.go"))
	if err != nil {
		t.Fatalf("reading flows/emergency.go: %v", err)
	}
	line := regexp.MustCompile(`(?m)^\s*\{"([A-Z]{2})",\s*"(\d+)",`)
	numbers := map[string][]string{}
	for _, m := range line.FindAllStringSubmatch(string(src), -1) {
		numbers[m[1]] = append(numbers[m[1]], m[2])
	}
	if len(numbers) == 0 {
		t.Fatal("found no emergency numbers in flows/emergency.go; did its table's format change?")
	}
	return numbers
}

var digits = regexp.MustCompile(`\d+`)

func TestEmergencyNumbersHaveSources(t *testing.T) {
	numbers := emergencyNumbers(t)
	for _, lang := range languages.All {
		t.Run(lang, func(t *testing.T) {
			texts := rawTexts(t, lang)
			for _, id := range sortedKeys(texts) {
				country, ok := strings.CutPrefix(id, "emergency.")
				if !ok {
					continue
				}
				got := digits.FindAllString(texts[id], -1)
				slices.Sort(got)
				if country == "one" || country == "two" {
					if len(got) > 0 {
						t.Errorf("%s: has numbers %v, want none (they come from emergency.<country>)", id, got)
					}
					continue
				}
				want := slices.Clone(numbers[country])
				slices.Sort(want)
				if want == nil {
					t.Errorf("%s: %s has no numbers in flows/emergency.go", id, country)
					continue
				}
				if !slices.Equal(got, want) {
					t.Errorf("%s: numbers got %v, want %v (from flows/emergency.go)", id, got, want)
				}
			}
			for _, country := range sortedKeys(numbers) {
				if _, ok := texts["emergency."+country]; !ok {
					t.Errorf("missing emergency.%s for the numbers in flows/emergency.go", country)
				}
			}
		})
	}
}

// TestGoi18nMerge runs the translators' workflow: merging the active files must
// find nothing to translate, for every language including the Creole fr-HT file.
func TestGoi18nMerge(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go tool goi18n")
	}
	active, err := filepath.Glob("active.*.toml")
	if err != nil || len(active) != len(languages.All) {
		t.Fatalf("active files: %v, %v; want %d", active, err, len(languages.All))
	}
	out := t.TempDir()
	cmd := exec.Command("go", append([]string{"tool", "goi18n", "merge", "-outdir", out}, active...)...)
	cmd.Dir = "."
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v: %v\n%s", cmd.Args, err, msg)
	}
	translate, _ := filepath.Glob(filepath.Join(out, "translate.*.toml"))
	for _, f := range translate {
		buf, _ := os.ReadFile(f)
		t.Errorf("goi18n merge wrote %s, so these are not translated:\n%s", filepath.Base(f), buf)
	}
	buf, err := os.ReadFile(filepath.Join(out, "active.fr-HT.toml"))
	if err != nil {
		t.Fatalf("goi18n merge did not process the Creole file: %v", err)
	}
	merged, err := otherTexts(buf)
	if err != nil {
		t.Fatalf("parsing merged active.fr-HT.toml: %v", err)
	}
	ht := rawTexts(t, "ht")
	if got, want := len(merged), len(ht); got != want {
		t.Errorf("merged active.fr-HT.toml has %d messages, want %d", got, want)
	}
	if got, want := merged["consent.accept"], ht["consent.accept"]; got != want {
		t.Errorf("merged consent.accept = %q, want the Creole %q", got, want)
	}
}

// TestCreoleFileSaysSo keeps the note at the top of active.fr-HT.toml, which a
// goi18n merge into locales/ drops: put it back from git after merging.
func TestCreoleFileSaysSo(t *testing.T) {
	buf, err := files.ReadFile("active.fr-HT.toml")
	if err != nil {
		t.Fatal(err)
	}
	first, _, _ := strings.Cut(string(buf), "\n")
	if want := "# HAITIAN CREOLE (Kreyòl ayisyen), not French."; first != want {
		t.Errorf("active.fr-HT.toml starts with %q, want %q (restore its header comment)", first, want)
	}
}

// TestTracingTeaserIsOneGSM7Segment: the first text of a tracing notification
// reaches phones that are shared or seized: it names no one, no place, no
// number, and costs one plain SMS in every language.
func TestTracingTeaserIsOneGSM7Segment(t *testing.T) {
	c := loadCatalog(t)
	for _, lang := range languages.All {
		text := c.Text(lang, "tracing.teaser", nil)
		if n, ucs2 := SMSSegments(text); n != 1 || ucs2 {
			t.Errorf("%s: %q is %d segments (UCS-2 %v), want one GSM-7 segment", lang, text, n, ucs2)
		}
		if strings.ContainsAny(text, "0123456789{}") {
			t.Errorf("%s: %q carries a number or a variable", lang, text)
		}
	}
}

// TestPlaceStatusTimeIsShort: "full since 14:20, Dec 2" goes on a place's
// line in the finder's SMS list, whose places must fit in three parts: with
// the widest day, month and time it stays within a few words, in GSM-7 once
// transliterated (ENLACE_SMS_GSM7), in every language.
func TestPlaceStatusTimeIsShort(t *testing.T) {
	const maxRunes = 34
	c := loadCatalog(t)
	for _, lang := range languages.All {
		months := strings.Split(c.Text(lang, "time.months.short", nil), ",")
		if len(months) != 12 {
			t.Fatalf("%s: time.months.short has %d months", lang, len(months))
		}
		for _, mon := range months {
			text := c.Text(lang, "shelters.status_full_since", map[string]string{"Time": "23:59", "Day": "30", "Mon": strings.TrimSpace(mon)})
			if n := len([]rune(text)); n > maxRunes || !strings.Contains(text, "23:59") || !strings.Contains(text, "30") {
				t.Errorf("%s: %q is %d characters, want at most %d with the time and the day", lang, text, n, maxRunes)
			}
			if _, ucs2 := SMSSegments(ToGSM7(text)); ucs2 {
				t.Errorf("%s: %q is not GSM-7 even transliterated", lang, text)
			}
		}
	}
}

// TestRelativeIntroFitsTwoSegments: the introduction a safe contact gets
// before their first message from Enlace is a plain text (no variables, so it
// names no one) of at most two SMS parts, and says how to stop.
func TestRelativeIntroFitsTwoSegments(t *testing.T) {
	c := loadCatalog(t)
	for _, lang := range languages.All {
		text := c.Text(lang, "intro.relative", nil)
		if n, ucs2 := SMSSegments(text); n > 2 {
			t.Errorf("%s: %q is %d segments (UCS-2 %v), want at most 2", lang, text, n, ucs2)
		}
		if strings.Contains(rawTexts(t, lang)["intro.relative"], "{{") || !strings.Contains(text, "STOP") {
			t.Errorf("%s: %q carries a variable or does not say STOP", lang, text)
		}
	}
}

// tuForms are French words of the familiar register (whole words: \b would
// see one in "êtes"); the French texts say vous.
var tuForms = regexp.MustCompile(`(?i)(?:^|[^\pL])(tu|ta|ton|tes|toi|écris|réponds)(?:[^\pL]|$)`)

func TestFrenchSaysVous(t *testing.T) {
	for id, text := range rawTexts(t, "fr") {
		if m := tuForms.FindStringSubmatch(text); m != nil {
			w := m[1]
			t.Errorf("fr %s: %q says %q; French texts say vous", id, text, w)
		}
	}
}
