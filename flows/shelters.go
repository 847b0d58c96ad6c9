package flows

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/enlace-rfl/enlace/textmatch"
)

// The shelter finder: a person shares a location (Telegram, WhatsApp) or types
// the town they are in (every channel; the only way on SMS), and gets the
// nearest open or full places of the directory, three at a time, optionally
// of one kind (water, health, shelter...). The point searched from lives in
// the session's Draft only while the results are shown, and is cleared when
// the finder ends.
const (
	StepShelters       = "shelters"        // asks where the person is
	StepShelterTown    = "shelter_town"    // asks which of several towns of that name
	StepShelterResults = "shelter_results" // results shown: more, filter, elsewhere, menu
	StepShelterKind    = "shelter_kind"    // asks which kind of place
)

// PayloadShelters is the /start payload that opens the finder (t.me/<bot>?start=shelters).
const PayloadShelters = "shelters"

// PlaceKinds are the kinds of place, as the directory names them.
var PlaceKinds = []string{"shelter", "water", "health", "phone", "internet", "food", "legal", "rfl"}

// ServiceKeys are the services a place may list, as the directory names
// them; each is shown as the message service.<key>. The ones in
// ConditionKeys say who may go there or when, and are never left out.
var ServiceKeys = []string{
	"lodging", "food", "water", "medical", "first_aid", "medicine", "mental", "clothes", "hygiene", "shower",
	"bathroom", "laundry", "calls", "internet", "legal", "documents", "info", "social", "money", "transport",
	"education", "children", "lgbti", "basic",
	"only_men", "only_women_families", "only_minors", "only_returnees", "only_mx_deportees", "referral", "day_only", "weekdays",
}

// ConditionKeys are the ServiceKeys that limit who may go, or when.
var ConditionKeys = []string{"only_men", "only_women_families", "only_minors", "only_returnees", "only_mx_deportees", "referral", "day_only", "weekdays"}

// Directory finds places. The engine calls it with the Step's context; it is
// its only I/O.
type Directory interface {
	// Nearby returns the page of places after Offset, nearest first, looking
	// as far as needed (PlacePage.RadiusKm says how far). Closed places are
	// never returned.
	Nearby(ctx context.Context, q PlaceQuery) (PlacePage, error)
	// Available reports whether the directory holds any place now.
	Available(ctx context.Context) bool
}

// PlaceQuery asks for places near a point; Kind "" means any kind.
type PlaceQuery struct {
	Lat, Lon      float64
	Kind          string
	Offset, Limit int
}

// PlacePage is one page of a search.
type PlacePage struct {
	Places   []Place
	RadiusKm float64
	More     bool // a next page may exist
}

// Place is a place as the finder shows it.
type Place struct {
	ID, Name, Kind, Status string // Status: "open" or "full"
	// StatusSince is when staff set the status (zero: unknown); a full
	// place says it in the place's own time ("full since 14:20, Dec 2").
	StatusSince           time.Time
	Address, City, Admin1 string
	Country               string // ISO 3166-1 alpha-2
	Phone, Hours          string
	Services              []string // ServiceKeys; others are not shown
	Lat, Lon, Km          float64
	TownCentre            bool   // the pin is the town's centre, not the door
	Verified              string // YYYY-MM-DD: the date of the newest source, not of a visit; "" when undated
}

// Gazetteer finds a town by the name a person typed, or near a point.
type Gazetteer interface {
	// FindTown returns no town when the name is unknown, one when it is
	// clear, and several (most likely first) when it is ambiguous.
	FindTown(text string) []Town
	// Nearest returns the town nearest a point, or false when none is near
	// (at sea, or outside the region the gazetteer covers).
	Nearest(lat, lon float64) (Town, bool)
}

// Town is a populated place of the gazetteer.
type Town struct {
	Name, Admin1, Country string // Country: ISO 3166-1 alpha-2
	Lat, Lon              float64
}

// Venue is a place as a map pin, for channels that can send one (Telegram's
// sendVenue); the others show the output's text alone.
type Venue struct {
	Lat     float64 `json:"lat"`
	Lon     float64 `json:"lon"`
	Title   string  `json:"title"`
	Address string  `json:"address,omitempty"`
}

// pageSize is how many places one answer shows.
const pageSize = 3

// maxTownChoices is the most towns offered when a name is ambiguous.
const maxTownChoices = 5

// Draft keys of the finder.
const (
	draftKind  = "sh.kind"
	draftLat   = "sh.lat"
	draftLon   = "sh.lon"
	draftWhere = "sh.where" // the town searched from; "" for a shared location
	draftHome  = "sh.home"  // the person's country there; "" when unknown
	draftNext  = "sh.next"  // offset of the next page
	draftMore  = "sh.more"
	draftTyped = "sh.typed"
	draftTown  = "sh.town" // + 1..5: ambiguous towns as "lat,lon,name|admin1|country"
)

func kindWordID(kind string) string { return "words.kind_" + kind }

func kindWordIDs() []string {
	ids := make([]string, len(PlaceKinds))
	for i, k := range PlaceKinds {
		ids[i] = kindWordID(k)
	}
	return ids
}

// registerShelters adds the finder's steps and kind words to the engine.
func registerShelters(e *Engine) {
	e.kinds = buildWordIndex(e.cat, kindWordIDs())
	// Every step of the finder takes a pin: it searches from there.
	e.steps[StepShelters] = step{prompt: promptShelters, handle: handleShelters, location: true}
	e.steps[StepShelterTown] = step{prompt: promptShelterTown, handle: handleShelterTown, location: true}
	e.steps[StepShelterResults] = step{prompt: promptShelterResults, handle: handleShelterResults, location: true}
	e.steps[StepShelterKind] = step{prompt: promptShelterKind, handle: handleShelterKind, location: true}
}

// sheltersOn reports whether the finder can help: a directory is configured
// and holds places (an empty one would only ever answer "nothing found").
func (e *Engine) sheltersOn(t *turn) bool {
	return e.cfg.Places != nil && e.cfg.Places.Available(t.ctx)
}

// payloadStep is where a person goes after consent, or after /start once they
// agreed: the flow their /start payload names, else the menu. The payload is
// used once.
func (e *Engine) payloadStep(t *turn) string {
	p := t.s.Payload
	t.s.Payload = ""
	if p == PayloadShelters && e.sheltersOn(t) {
		return StepShelters
	}
	if p == PayloadTracing && e.tracingOn() {
		return StepTraceConsent
	}
	return StepMenu
}

// forgetSearch clears everything the finder kept, the point searched from first.
func forgetSearch(t *turn) {
	for k := range t.s.Draft {
		if strings.HasPrefix(k, "sh.") {
			delete(t.s.Draft, k)
		}
	}
}

// forgetPoint clears the point searched from, keeping the kind asked for.
func forgetPoint(t *turn) {
	kind := t.s.Draft[draftKind]
	forgetSearch(t)
	if kind != "" {
		t.s.Draft[draftKind] = kind
	}
}

func promptShelters(e *Engine, t *turn) []Output {
	var out []Output
	if k := t.s.Draft[draftKind]; k != "" {
		out = append(out, Output{Text: Text{ID: "shelters.looking_for", Refs: map[string]string{"Kind": "kind." + k}}})
	}
	switch t.sender.Channel {
	case "sms":
		return append(out, Output{Text: text("shelters.ask_town")})
	case "telegram":
		return append(out, Output{Text: text("shelters.ask_location"), Request: RequestLocation})
	}
	// WhatsApp: the channel adds how to share a location or type a town.
	return append(out, Output{Text: text("shelters.ask_where"), Request: RequestLocation})
}

func handleShelters(e *Engine, t *turn, in Input) bool {
	switch in.Kind {
	case InputLocation:
		e.searchPin(t, in.Lat, in.Lon)
		return true
	case InputText:
		return e.shelterText(t, in.Text)
	case InputChoice:
		if in.Choice == "help.menu" {
			e.enter(t, StepMenu)
			return true
		}
	}
	return false
}

// shelterText reads typed text in the finder: a kind ("agua"), a town
// ("Tapachula"), or both ("agua tapachula").
func (e *Engine) shelterText(t *turn, typed string) bool {
	kind, rest := e.kindIn(typed)
	if kind != "" {
		t.s.Draft[draftKind] = kind
		if rest == "" {
			if t.s.Draft[draftLat] != "" { // results shown: narrow them
				e.search(t, 0)
			} else {
				e.enter(t, StepShelters)
			}
			return true
		}
		typed = rest
	}
	var towns []Town
	if e.cfg.Towns != nil {
		towns = e.cfg.Towns.FindTown(typed)
	}
	switch {
	case len(towns) == 0:
		id := "shelters.town_unknown"
		if t.sender.Channel == "sms" {
			id = "shelters.town_unknown_sms"
		}
		t.say(id, "Town", limit(strings.TrimSpace(typed), 40))
		forgetPoint(t)
		e.enter(t, StepShelters)
	case len(towns) == 1:
		e.zoneFromTown(t, towns[0]) // the town the person says they are in: their time zone
		e.searchFrom(t, towns[0].Lat, towns[0].Lon, e.townLabel(t.s.Lang, towns[0]), towns[0].Country)
	default:
		forgetPoint(t)
		t.s.Draft[draftTyped] = limit(strings.TrimSpace(typed), 40)
		for i, tw := range towns[:min(len(towns), maxTownChoices)] {
			t.s.Draft[draftTown+strconv.Itoa(i+1)] = fmt.Sprintf("%.5f,%.5f,%s|%s|%s", tw.Lat, tw.Lon, tw.Name, tw.Admin1, tw.Country)
		}
		e.enter(t, StepShelterTown)
	}
	return true
}

// kindIn finds a kind word typed alone, first or last ("water", "agua en
// tapachula", "tapachula dlo") and returns the kind and the rest.
func (e *Engine) kindIn(typed string) (kind, rest string) {
	norm := textmatch.Normalize(typed)
	if m, ok := e.kinds[norm]; ok {
		return strings.TrimPrefix(m.word, "words.kind_"), ""
	}
	words := strings.Fields(norm)
	for n := min(3, len(words)-1); n >= 1; n-- {
		if m, ok := e.kinds[strings.Join(words[:n], " ")]; ok {
			return strings.TrimPrefix(m.word, "words.kind_"), strings.Join(words[n:], " ")
		}
		if m, ok := e.kinds[strings.Join(words[len(words)-n:], " ")]; ok {
			return strings.TrimPrefix(m.word, "words.kind_"), strings.Join(words[:len(words)-n], " ")
		}
	}
	return "", typed
}

func (e *Engine) townLabel(lang string, tw Town) string {
	name, admin := e.townName(lang, tw.Name), e.townName(lang, tw.Admin1)
	if admin == "" || tw.Admin1 == tw.Name {
		return name
	}
	return name + ", " + admin
}

// townNames are the towns (and states) the gazetteer names in English, and
// the message that names them in each language ("Guatemala City" is
// "Ciudad de Guatemala" in Spanish).
var townNames = map[string]string{
	"Mexico City":    "town.mexico_city",
	"Guatemala City": "town.guatemala_city",
	"Belize City":    "town.belize_city",
}

// townName is a gazetteer name as the language says it.
func (e *Engine) townName(lang, name string) string {
	if id, ok := townNames[name]; ok {
		return e.cat.Text(lang, id, nil)
	}
	return name
}

func promptShelterTown(e *Engine, t *turn) []Output {
	var cs []Choice
	for i := 1; i <= maxTownChoices; i++ {
		v := t.s.Draft[draftTown+strconv.Itoa(i)]
		if v == "" {
			break
		}
		_, _, tw := parseTown(v)
		id := "shelters.town_" + strconv.Itoa(i) // a message of its own, as matchChoice reads labels
		cs = append(cs, Choice{ID: id, Label: Text{ID: id,
			Data: map[string]string{"Name": e.townName(t.s.Lang, tw.Name), "Admin1": e.townName(t.s.Lang, tw.Admin1)}, Refs: map[string]string{"Country": "country." + tw.Country}}})
	}
	q := text("shelters.town_which", "Town", t.s.Draft[draftTyped])
	// Without buttons the question and its towns are one message: offer
	// the likeliest towns that fit (two at least).
	for t.sender.Channel != "telegram" && len(cs) > 2 {
		labels := make([]string, len(cs))
		for i, c := range cs {
			labels[i] = c.Label.Render(e.cat, t.s.Lang)
		}
		if e.fits(t.sender.Channel, Numbered(q.Render(e.cat, t.s.Lang), labels)) {
			break
		}
		cs = cs[:len(cs)-1]
	}
	return []Output{{Text: q, Choices: cs}}
}

func parseTown(v string) (lat, lon float64, tw Town) {
	f := strings.SplitN(v, ",", 3)
	if len(f) == 3 {
		lat, _ = strconv.ParseFloat(f[0], 64)
		lon, _ = strconv.ParseFloat(f[1], 64)
		names := strings.SplitN(f[2], "|", 3)
		for len(names) < 3 {
			names = append(names, "")
		}
		tw = Town{Name: names[0], Admin1: names[1], Country: names[2], Lat: lat, Lon: lon}
	}
	return lat, lon, tw
}

func handleShelterTown(e *Engine, t *turn, in Input) bool {
	if in.Kind == InputChoice {
		if n, ok := strings.CutPrefix(in.Choice, "shelters.town_"); ok {
			v := t.s.Draft[draftTown+n]
			if v == "" {
				return false
			}
			lat, lon, tw := parseTown(v)
			e.zoneFromTown(t, tw)
			e.searchFrom(t, lat, lon, e.townLabel(t.s.Lang, tw), tw.Country)
			return true
		}
	}
	return handleShelters(e, t, in)
}

// searchFrom starts a search from a point. where names the town typed ("" for
// a shared location); country is the person's country there, from that town
// or the town nearest the pin ("" when unknown: every result then says its
// country).
func (e *Engine) searchFrom(t *turn, lat, lon float64, where, country string) {
	forgetPoint(t)
	t.s.Draft[draftLat] = strconv.FormatFloat(lat, 'f', -1, 64)
	t.s.Draft[draftLon] = strconv.FormatFloat(lon, 'f', -1, 64)
	t.s.Draft[draftWhere] = where
	t.s.Draft[draftHome] = country
	e.search(t, 0)
}

// searchPin starts a search from a shared location, the person's country
// being the one of the town nearest it.
func (e *Engine) searchPin(t *turn, lat, lon float64) {
	country := ""
	if e.cfg.Towns != nil {
		if tw, ok := e.cfg.Towns.Nearest(lat, lon); ok {
			country = tw.Country
		}
	}
	e.searchFrom(t, lat, lon, "", country)
}

// search shows the page of places after offset from the point in the Draft.
func (e *Engine) search(t *turn, offset int) {
	lat, err1 := strconv.ParseFloat(t.s.Draft[draftLat], 64)
	lon, err2 := strconv.ParseFloat(t.s.Draft[draftLon], 64)
	if err1 != nil || err2 != nil {
		e.enter(t, StepShelters)
		return
	}
	kind := t.s.Draft[draftKind]
	page, err := e.cfg.Places.Nearby(t.ctx, PlaceQuery{Lat: lat, Lon: lon, Kind: kind, Offset: offset, Limit: pageSize})
	if err != nil {
		forgetSearch(t)
		t.say("shelters.unavailable")
		t.reply(emergencyOutput(t.s.Country))
		e.enter(t, StepMenu)
		return
	}
	km := strconv.FormatFloat(page.RadiusKm, 'f', 0, 64)
	where := t.s.Draft[draftWhere]
	if len(page.Places) == 0 {
		if offset > 0 {
			t.say("shelters.no_more", "Km", km)
			t.s.Draft[draftMore] = ""
			e.enter(t, StepShelterResults)
			return
		}
		t.reply(nothingFound(kind, km, where))
		forgetPoint(t)
		e.enter(t, StepShelters)
		return
	}
	header := text("shelters.results_here", "Km", km)
	if where != "" {
		header = text("shelters.results_town", "Town", where, "Km", km)
	}
	home := t.s.Draft[draftHome]
	if t.sender.Channel == "telegram" {
		// Buttons: the places one by one, each with its map pin.
		t.reply(Output{Text: header})
		for i, p := range page.Places {
			t.reply(Output{
				Text:  Text{ID: "shelters.place", Data: map[string]string{"Text": e.placeText(t.s.Lang, offset+i+1, p, home, detailAll|lineEach)}},
				Venue: &Venue{Lat: p.Lat, Lon: p.Lon, Title: cut(p.Name, 60), Address: cut(placeWhere(p), 60)},
			})
		}
		e.showPage(t, offset, len(page.Places), page.More)
		e.enter(t, StepShelterResults)
		return
	}
	// SMS and WhatsApp: the whole list is one message that fits.
	out, shown := e.compactList(t, page, where, home)
	e.showPage(t, offset, shown, page.More || shown < len(page.Places))
	e.moveTo(t, StepShelterResults)
	out.Choices = resultChoices(t)
	t.reply(out)
}

// showPage records which page was shown and whether more may follow.
func (e *Engine) showPage(t *turn, offset, shown int, more bool) {
	t.s.Draft[draftNext] = strconv.Itoa(offset + shown)
	t.s.Draft[draftMore] = ""
	if more {
		t.s.Draft[draftMore] = "1"
	}
}

// nothingFound says that nothing was found, how far it looked, and from
// where: the town it understood, or the person's location.
func nothingFound(kind, km, where string) Output {
	id, data := "shelters.none", map[string]string{"Km": km}
	if where != "" {
		id, data["Town"] = "shelters.none_town", where
	}
	if kind == "" {
		return Output{Text: Text{ID: id, Data: data}}
	}
	return Output{Text: Text{ID: strings.Replace(id, "none", "none_kind", 1), Data: data, Refs: map[string]string{"Kind": "kind." + kind}}}
}

func promptShelterResults(e *Engine, t *turn) []Output {
	return []Output{{Text: text("shelters.next"), Choices: resultChoices(t)}}
}

// resultChoices are what a person can do once places are shown.
func resultChoices(t *turn) []Choice {
	var cs []Choice
	if t.s.Draft[draftMore] != "" {
		cs = append(cs, choice("shelters.more"))
	}
	return append(cs, choice("shelters.filter"), choice("shelters.elsewhere"), choice("help.menu"))
}

func handleShelterResults(e *Engine, t *turn, in Input) bool {
	if in.Kind == InputChoice {
		switch in.Choice {
		case "shelters.more":
			next, _ := strconv.Atoi(t.s.Draft[draftNext])
			e.search(t, next)
			return true
		case "shelters.filter":
			e.enter(t, StepShelterKind)
			return true
		case "shelters.elsewhere":
			forgetPoint(t)
			e.enter(t, StepShelters)
			return true
		}
	}
	return handleShelters(e, t, in)
}

func promptShelterKind(e *Engine, t *turn) []Output {
	cs := make([]Choice, 0, len(PlaceKinds)+1)
	for _, k := range PlaceKinds {
		cs = append(cs, choice("kind."+k))
	}
	cs = append(cs, choice("shelters.kind_all"))
	return []Output{{Text: text("shelters.kind_which"), Choices: cs}}
}

func handleShelterKind(e *Engine, t *turn, in Input) bool {
	if in.Kind == InputChoice {
		kind, ok := strings.CutPrefix(in.Choice, "kind.")
		if ok || in.Choice == "shelters.kind_all" {
			delete(t.s.Draft, draftKind)
			if ok {
				t.s.Draft[draftKind] = kind
			}
			if t.s.Draft[draftLat] != "" {
				e.search(t, 0)
			} else {
				e.enter(t, StepShelters)
			}
			return true
		}
	}
	return handleShelters(e, t, in)
}
