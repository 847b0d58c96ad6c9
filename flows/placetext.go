package flows

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/enlace-rfl/enlace/textmatch"
)

// How the finder writes a place: on Telegram, a few short lines per place
// under its map pin; on SMS and WhatsApp, one line per place, and the whole
// list with its choices in one message that fits (Config.Fits), with fewer
// places or fewer details when it must. A field the directory does not have
// is left out, never shown as a placeholder; kinds, services and countries
// are messages of the person's language; the date is the source's, written
// as words ("noviembre de 2026").

// detail says which parts of a place are shown, beyond its name, distance,
// country, fullness, phone and conditions (who may go), which always are.
type detail uint

const (
	withKind detail = 1 << iota
	withCity
	withDate
	withAddress
	withHours
	withServices
	withMap
	shortName // the name cut shorter
	tinyName  // the name cut shortest
	lineEach  // a line per part, numbered (Telegram)
)

const detailAll = withKind | withCity | withDate | withAddress | withHours | withServices | withMap

// compactLevels are the details tried for the list on SMS and WhatsApp,
// richest first: the map goes first, then services, hours, address, town,
// date, and last the kind and a long name.
var compactLevels = []detail{
	detailAll,
	detailAll &^ withMap,
	withKind | withCity | withDate | withAddress | withHours,
	withKind | withCity | withDate | withAddress,
	withKind | withCity | withDate,
	withKind | withDate,
	withKind,
	withKind | shortName,
	shortName,
	tinyName,
}

// richLevels is how many of compactLevels are tried with three places, then
// two, before the names are cut; one place alone comes last: a choice of
// places with their kinds is worth more than one place in detail.
const richLevels = 7

// placeText writes one place in a language: n is its number in the list,
// home the person's country ("" unknown), d what to show. Telegram's text
// (lineEach) has a line per part; the others are one line.
func (e *Engine) placeText(lang string, n int, p Place, home string, d detail) string {
	tr := func(id string, kv ...string) string { return e.cat.Text(lang, id, text(id, kv...).Data) }
	// The place's time zone, from its town as the directory names it.
	zone := zoneOfTown(Town{Name: p.City, Admin1: p.Admin1, Country: p.Country})
	p.City = e.townName(lang, p.City) // "Guatemala City" is "Ciudad de Guatemala" in Spanish
	name := cut(p.Name, 60)
	switch {
	case d&tinyName != 0:
		name = cut(p.Name, 18)
	case d&shortName != 0:
		name = cut(p.Name, 26)
	case d&lineEach == 0:
		name = cut(p.Name, 40)
	}
	// The first line: name, kind, distance, country, full.
	var facts []string
	// The kind, unless the name says it ("Albergue ...", "Comedor ...").
	if kind := tr("kind." + p.Kind); d&withKind != 0 && slices.Contains(PlaceKinds, p.Kind) &&
		!strings.Contains(" "+textmatch.Normalize(p.Name)+" ", " "+textmatch.Normalize(kind)+" ") {
		facts = append(facts, kind)
	}
	// A pin that is only the town's centre says so: the distance is to it.
	if p.TownCentre {
		facts = append(facts, tr("shelters.km_centre", "Km", e.km(lang, p.Km)))
	} else {
		facts = append(facts, tr("shelters.km", "Km", e.km(lang, p.Km)))
	}
	if p.Country != "" && p.Country != home {
		facts = append(facts, tr("country.in_"+p.Country))
	}
	if p.Status == "full" {
		facts = append(facts, e.fullSince(lang, p.StatusSince, zone))
	}
	var conds, services []string
	for _, k := range p.Services {
		switch {
		case slices.Contains(ConditionKeys, k):
			conds = append(conds, tr("service."+k))
		case slices.Contains(ServiceKeys, k) && !slices.Contains(services, tr("service."+k)):
			services = append(services, tr("service."+k))
		}
	}
	var parts []string
	if where := placeWhere(p); d&withAddress != 0 && where != "" {
		parts = append(parts, cut(where, 60))
	} else if d&withCity != 0 && p.City != "" {
		parts = append(parts, cut(p.City, 40))
	}
	if len(conds) > 0 {
		parts = append(parts, upperFirst(strings.Join(conds, ", ")))
	}
	if d&withHours != 0 && strings.TrimSpace(p.Hours) != "" {
		parts = append(parts, tr("shelters.hours", "Hours", cut(p.Hours, 40)))
	}
	if strings.TrimSpace(p.Phone) != "" {
		parts = append(parts, tr("shelters.phone", "Phone", cut(p.Phone, 30)))
	}
	if d&withServices != 0 && len(services) > 0 {
		parts = append(parts, tr("shelters.services", "Services", JoinList(e.cat, lang, services)))
	}
	if d&withMap != 0 {
		id := "shelters.map"
		if p.TownCentre {
			id = "shelters.map_approx"
		}
		parts = append(parts, tr(id, "Map", fmt.Sprintf("https://maps.google.com/?q=%.5f,%.5f", p.Lat, p.Lon)))
	}
	if d&withDate != 0 {
		parts = append(parts, e.sourceDate(lang, p.Verified))
	}
	if d&lineEach != 0 { // Telegram: a line each
		lines := append([]string{strconv.Itoa(n) + ". " + name, upperFirst(strings.Join(facts, ", "))}, parts...)
		return strings.Join(lines, "\n")
	}
	line := "- " + name + ", " + strings.Join(facts, ", ")
	for _, part := range parts {
		if strings.HasSuffix(line, ".") { // a cut ("...") or an abbreviation ends it already
			line += " " + part
		} else {
			line += ". " + part
		}
	}
	return line
}

// fullSince says a place is full, and since when staff said so, in the
// place's own time zone (its town's, else its country's): "full since
// 14:20, Dec 2". The zone is not named: the time is the place's, and the
// line must stay short.
func (e *Engine) fullSince(lang string, since time.Time, zone string) string {
	if since.IsZero() {
		return e.cat.Text(lang, "shelters.status_full", nil)
	}
	at := since.In(location(zone))
	mon := ""
	if months := strings.Split(e.cat.Text(lang, "time.months.short", nil), ","); len(months) == 12 {
		mon = strings.TrimSpace(months[at.Month()-1])
	}
	return e.cat.Text(lang, "shelters.status_full_since", map[string]string{
		"Time": at.Format("15:04"), "Day": strconv.Itoa(at.Day()), "Mon": mon,
	})
}

// placeWhere is a place's address and town, as much as is known.
func placeWhere(p Place) string {
	addr, city := strings.TrimSpace(p.Address), strings.TrimSpace(p.City)
	switch {
	case addr == "":
		return city
	case city == "" || strings.Contains(textmatch.Normalize(addr), textmatch.Normalize(city)):
		return addr
	}
	return addr + ", " + city
}

// sourceDate says how old a place's information is: "Info from November
// 2026", or that its sources show no date.
func (e *Engine) sourceDate(lang, verified string) string {
	y, m, ok := yearMonth(verified)
	if !ok {
		return e.cat.Text(lang, "shelters.undated", nil)
	}
	months := strings.Split(e.cat.Text(lang, "time.months", nil), ",")
	if len(months) != 12 {
		return e.cat.Text(lang, "shelters.undated", nil)
	}
	date := e.cat.Text(lang, "shelters.month_year", map[string]string{"Month": strings.TrimSpace(months[m-1]), "Year": strconv.Itoa(y)})
	return e.cat.Text(lang, "shelters.dated", map[string]string{"Date": date})
}

// yearMonth reads the year and month of a YYYY-MM-DD or YYYY-MM date.
func yearMonth(s string) (year, month int, ok bool) {
	if len(s) < 7 || s[4] != '-' {
		return 0, 0, false
	}
	y, err1 := strconv.Atoi(s[:4])
	m, err2 := strconv.Atoi(s[5:7])
	if err1 != nil || err2 != nil || y < 1900 || m < 1 || m > 12 {
		return 0, 0, false
	}
	return y, m, true
}

// km writes a distance: whole km from 10 km, else one decimal (0.1 at
// least), with the language's decimal mark.
func (e *Engine) km(lang string, km float64) string {
	km = max(km, 0.1) // never "0.0 km"
	if km >= 10 {
		return strconv.FormatFloat(km, 'f', 0, 64)
	}
	s := strconv.FormatFloat(km, 'f', 1, 64)
	if mark := e.cat.Text(lang, "number.decimal", nil); mark == "," {
		s = strings.Replace(s, ".", ",", 1)
	}
	return s
}

func upperFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError {
		return s
	}
	return string(unicode.ToUpper(r)) + s[n:]
}

// compactList is the list of places for SMS and WhatsApp as one message,
// and how many places it shows: as many of the page's places, with as many
// details, as fit in one message with the choices under it.
func (e *Engine) compactList(t *turn, page PlacePage, where, home string) (Output, int) {
	lang := t.s.Lang
	head := text("shelters.near_here")
	if where != "" {
		head = text("shelters.near_town", "Town", where)
	}
	foot := text("shelters.next_sms")
	// The choices as they will be offered: "more" whenever a place is left out.
	labels := []string{}
	for _, id := range []string{"shelters.more", "shelters.filter", "shelters.elsewhere", "help.menu"} {
		labels = append(labels, e.cat.Text(lang, id, nil))
	}
	build := func(n int, d detail) string {
		lines := []string{head.Render(e.cat, lang)}
		for _, p := range page.Places[:n] {
			lines = append(lines, e.placeText(lang, 0, p, home, d))
		}
		return strings.Join(append(lines, foot.Render(e.cat, lang)), "\n")
	}
	try := func(n int, levels []detail) (string, bool) {
		for _, d := range levels {
			if s := build(n, d); e.fits(t.sender.Channel, Numbered(s, labels)) {
				return s, true
			}
		}
		return "", false
	}
	body, shown := "", 0
	for _, levels := range [][]detail{compactLevels[:richLevels], compactLevels[richLevels:]} {
		for n := len(page.Places); n >= 2 && shown == 0; n-- {
			if s, ok := try(n, levels); ok {
				body, shown = s, n
			}
		}
	}
	if shown == 0 {
		if s, ok := try(1, compactLevels); ok {
			body, shown = s, 1
		}
	}
	if shown == 0 { // nothing fits: the shortest, which the channel splits
		body, shown = build(1, compactLevels[len(compactLevels)-1]), 1
	}
	return Output{Text: Text{ID: "shelters.list", Data: map[string]string{"Text": body}}}, shown
}

// fits applies Config.Fits.
func (e *Engine) fits(channel, s string) bool {
	if e.cfg.Fits != nil {
		return e.cfg.Fits(channel, s)
	}
	return len(utf16.Encode([]rune(s))) <= 198
}

// Numbered writes a text with its choices as channels without buttons show
// them: a line "N. label" for each, which the person answers with N.
func Numbered(text string, labels []string) string {
	var b strings.Builder
	b.WriteString(text)
	for i, l := range labels {
		fmt.Fprintf(&b, "\n%d. %s", i+1, l)
	}
	return b.String()
}

// cut shortens s to at most n characters, marking the cut with "..." (an
// ellipsis character would make an SMS of plain letters UCS-2).
func cut(s string, n int) string {
	r := []rune(strings.TrimSpace(s))
	if len(r) <= n {
		return string(r)
	}
	return strings.TrimSpace(string(r[:n-3])) + "..."
}
