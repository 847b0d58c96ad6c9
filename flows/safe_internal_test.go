package flows

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"
	_ "time/tzdata"

	"github.com/enlace-rfl/enlace/languages"
	"github.com/enlace-rfl/enlace/locales"

	"github.com/enlace-rfl/enlace/textmatch"
)

func internalEngine(t *testing.T) *Engine {
	t.Helper()
	cat, err := locales.Load()
	if err != nil {
		t.Fatal(err)
	}
	return New(Config{}, cat)
}

// long is a value of n UTF-16 units that forces UCS-2: the worst case for SMS.
func long(n int) string { return strings.Repeat("ê", n) }

// longestWhen is the longest date a template writes in a language over a
// year, in any time zone (each named with the time).
func longestWhen(e *Engine, id, lang string) string {
	longest := ""
	for _, z := range allZones() {
		for d := time.Date(2026, 1, 1, 18, 0, 0, 0, time.UTC); d.Year() == 2026; d = d.Add(24 * time.Hour) {
			if s := e.whenAs(id, lang, d.Add(12*24*time.Hour+6*time.Hour), z); units(s) > units(longest) {
				longest = s
			}
		}
	}
	return longest
}

func segments(s string) int { n, _ := locales.SMSSegments(s); return n }

// TestContactMessagesFitInTwoSMS checks every message a contact can receive,
// with the longest name, place, code word, free text and date allowed, in
// every language, written in characters that need UCS-2.
func TestContactMessagesFitInTwoSMS(t *testing.T) {
	e := internalEngine(t)
	f := &Family{Name: long(maxName), Code: long(maxCode)}
	for _, lang := range languages.All {
		c := &Contact{Lang: lang}
		var texts []string
		for _, kind := range safeKinds {
			place := long(maxPlace)
			switch kind {
			case "free":
				place = long(maxFreeText)
			case "phone":
				place = "+52 1 222 123 4567 8"
			}
			for _, code := range []string{"", f.Code} {
				g := *f
				g.Code = code
				texts = append(texts, e.safeText(&g, c, kind, place).Render(e.cat, lang))
			}
		}
		for _, s := range texts {
			if n := segments(s); n > 2 {
				t.Errorf("%s: %d SMS parts, want at most 2 (%d units): %q", lang, n, units(s), s)
			}
		}
	}
}

// TestCheckinAlarmFitsInThreeSMS: the alarm a contact gets for a missed
// check-in (the deadline with its time zone, and the person's own message)
// fits in three SMS parts with the longest name, date, zone and message, in
// characters that need UCS-2.
func TestCheckinAlarmFitsInThreeSMS(t *testing.T) {
	e := internalEngine(t)
	for _, lang := range languages.All {
		data := map[string]string{"Name": long(maxName), "When": longestWhen(e, "time.short", lang), "Text": long(maxFreeText)}
		for _, id := range []string{"checkin.sms", "checkin.alarm.msg"} {
			if s := e.cat.Text(lang, id, data); segments(s) > 3 {
				t.Errorf("%s %s: %d SMS parts, want at most 3 (%d units): %q", lang, id, segments(s), units(s), s)
			}
		}
	}
}

// promptChoices mirrors the flows: the choices sent with each question of
// safe contacts, "I am safe" and check-ins.
func promptChoices() map[string][]string {
	langs := make([]string, 0, len(languages.All))
	for _, l := range languages.All {
		langs = append(langs, "lang."+l)
	}
	var kinds []string
	for _, k := range safeKinds {
		kinds = append(kinds, "safe.kind."+k)
	}
	var cs []string
	for _, c := range countries {
		cs = append(cs, "country."+c)
	}
	picks := []string{"pick.1", "pick.2", "pick.3"}
	return map[string][]string{
		"menu.prompt":           menuChoices,
		"family.ask":            {"family.safe", "family.contacts", "family.checkin", "family.profile"},
		"contacts.ask":          {"contacts.add", "contacts.change", "contacts.delete"},
		"contact.country.ask":   append(cs, "country.other"),
		"contact.relation.ask":  relations,
		"contact.lang.ask":      langs,
		"contact.check":         {"contact.check.yes", "contact.check.no"},
		"contact.pick.ask":      picks,
		"contact.delete.ask":    {"contact.delete.yes", "contact.delete.no"},
		"profile.code.ask":      {"code.none"},
		"safe.to.ask":           append(slices.Clone(picks), "safe.all"),
		"safe.kind.ask":         kinds,
		"safe.send.ask":         {"safe.send.yes", "safe.send.no"},
		"checkin.every.ask":     {"checkin.12h", "checkin.24h", "checkin.48h", "checkin.72h", "checkin.date"},
		"checkin.to.ask":        append(slices.Clone(picks), "safe.all"),
		"checkin.msg.ask":       {"checkin.msg.yes", "checkin.msg.own"},
		"checkin.reminder":      {"checkin.ok"},
		"checkin.status.every":  {"checkin.ok", "checkin.pause", "checkin.change", "checkin.stop"},
		"checkin.status.once":   {"checkin.ok", "checkin.pause", "checkin.change", "checkin.stop"},
		"checkin.status.paused": {"checkin.resume", "checkin.change", "checkin.stop"},
	}
}

// TestFamilyTextsFitInSMS renders every text of these flows with the longest
// data they can get, and the questions with their numbered choices, in at most
// three SMS parts.
func TestFamilyTextsFitInSMS(t *testing.T) {
	e := internalEngine(t)
	ids := map[string]bool{}
	for _, id := range e.cat.(*locales.Catalog).MessageIDs("en") {
		for _, p := range []string{"family.", "contacts.", "contact.", "country.", "rel.", "pick.", "profile.", "code.", "name.", "safe.", "text.", "checkin.", "time."} {
			if strings.HasPrefix(id, p) {
				ids[id] = true
			}
		}
	}
	ids["menu.prompt"] = true
	withChoices := promptChoices()
	for _, lang := range languages.All {
		worstSMS := long(134) // a contact's SMS: two UCS-2 parts
		name := long(maxName)
		data := map[string]string{
			"Name": name, "Names": joinList([]string{name, name, name}, e.cat.Text(lang, "list.and", nil)), "Code": long(maxCode),
			"When": longestWhen(e, "time.when", lang), "Example": "+1 201-555-0123 4", "Max": "50", "Count": "9999",
			"Hours": "72", "Days": "30", "Place": long(maxPlace), "Phone": "+52 1 222 123 4567 8", "Text": worstSMS,
			"Relation": "Companheiro ou companheira", "Lang": "Português", "Body": long(maxFreeText),
			"List":    strings.Repeat("- "+name+": +52 222 123 4567\n", maxContacts),
			"Weekday": "miércoles", "Day": "30", "Month": "septiembre", "Mon": "sept", "Time": "18:00",
		}
		for id := range ids {
			if id == "checkin.sms" || id == "checkin.alarm.msg" {
				continue // TestCheckinAlarmFitsInThreeSMS, with their own data
			}
			d := data
			if id == "checkin.set" { // said with the short date
				d = maps.Clone(data)
				d["When"] = longestWhen(e, "time.short", lang)
			}
			s := e.cat.Text(lang, id, d)
			if n := segments(s); n > 3 {
				t.Errorf("%s %s: %d SMS parts, want at most 3: %q", lang, id, n, s)
			}
			if cs, ok := withChoices[id]; ok {
				for i, c := range cs {
					s += fmt.Sprintf("\n%d. %s", i+1, e.cat.Text(lang, c, d))
				}
				if n := segments(s); n > 3 {
					t.Errorf("%s %s with its choices: %d SMS parts, want at most 3: %q", lang, id, n, s)
				}
			}
		}
	}
	for id := range withChoices {
		if !ids[id] {
			t.Errorf("%s: no such message", id)
		}
	}
}

// TestFamilyLabelsAreNotWords keeps typed choice labels from being read as a
// global word (or a channel's STOP/START) that means something else.
func TestFamilyLabelsAreNotWords(t *testing.T) {
	e := internalEngine(t)
	cat := e.cat.(*locales.Catalog)
	words := map[string]string{}
	for _, lang := range languages.All {
		for _, id := range cat.MessageIDs(lang) {
			if strings.HasPrefix(id, "words.") && id != wordYes && id != wordNo {
				for _, w := range strings.Split(cat.Text(lang, id, nil), ",") {
					words[textmatch.Normalize(w)] = lang + " " + id
				}
			}
		}
	}
	for prompt, cs := range promptChoices() {
		for _, c := range cs {
			for _, lang := range languages.All {
				if w, ok := words[textmatch.Normalize(cat.Text(lang, c, map[string]string{"Name": "Rosa"}))]; ok && prompt != "menu.prompt" {
					t.Errorf("%s: label %s in %s is the word of %s", prompt, c, lang, w)
				}
			}
		}
	}
}

func TestKeptTextSaysTheConfiguredWait(t *testing.T) {
	cat, err := locales.Load()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		wait time.Duration
		lang string
		want string // a part of the text
	}{
		{0, "en", "We cannot say when"},
		{30 * time.Minute, "en", "within 1 hour, but it can take longer"},
		{12 * time.Hour, "es", "en menos de 12 horas"},
		{72 * time.Hour, "ht", "anvan 3 jou"},
		{36 * time.Hour, "pt", "em até 36 horas"},
	}
	for _, tc := range cases {
		e := New(Config{VolunteerWait: tc.wait}, cat)
		tr := &turn{s: Session{Lang: tc.lang}}
		if got := e.keptText(tr).Render(cat, tc.lang); !strings.Contains(got, tc.want) {
			t.Errorf("wait %v in %s: %q, want it to contain %q", tc.wait, tc.lang, got, tc.want)
		}
	}
}

// TestNamesJoinWithTheLanguagesAnd: lists of names read as each language
// writes them, with the Spanish "e" before the sound /i/.
func TestNamesJoinWithTheLanguagesAnd(t *testing.T) {
	e := internalEngine(t)
	people := func(ns ...string) []*Contact {
		var cs []*Contact
		for _, n := range ns {
			cs = append(cs, &Contact{Name: n})
		}
		return cs
	}
	tests := []struct {
		lang  string
		names []string
		want  string
	}{
		{"es", nil, ""},
		{"es", []string{"Mamá"}, "Mamá"},
		{"es", []string{"Mamá", "Rosa"}, "Mamá y Rosa"},
		{"es", []string{"Mamá", "Tío Pedro", "Rosa"}, "Mamá, Tío Pedro y Rosa"},
		{"es", []string{"Rosa", "Inés"}, "Rosa e Inés"},
		{"es", []string{"Rosa", "Hilda"}, "Rosa e Hilda"},
		{"es", []string{"Rosa", "Íñigo"}, "Rosa e Íñigo"},
		{"es", []string{"Rosa", "Hierro"}, "Rosa y Hierro"},
		{"es", []string{"Rosa", "Yolanda"}, "Rosa y Yolanda"},
		{"en", []string{"Mom", "Rosa", "Juan"}, "Mom, Rosa and Juan"},
		{"en", []string{"Mom", "Inés"}, "Mom and Inés"},
		{"fr", []string{"Maman", "Rosa"}, "Maman et Rosa"},
		{"ht", []string{"Manman", "Roza", "Juan"}, "Manman, Roza ak Juan"},
		{"pt", []string{"Mãe", "Rosa", "Juan"}, "Mãe, Rosa e Juan"},
	}
	for _, tt := range tests {
		if got := e.names(tt.lang, people(tt.names...)); got != tt.want {
			t.Errorf("%s %q: got %q, want %q", tt.lang, tt.names, got, tt.want)
		}
	}
}
