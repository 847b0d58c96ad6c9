package flows

import (
	"slices"
	"strings"
	"sync"
	"time"
)

// Time zones. A check-in's deadline is in the time zone of where the person
// is (Session.Zone: from a pin they shared or the town they named), not of
// their phone's country: Tijuana is two hours behind Mexico City. Every time
// shown says its zone ("20:00 (hora de Tijuana)").

// StepCheckinWhere asks where the person is, for the time zone, before a
// check-in's time is set, when it is not known yet.
const StepCheckinWhere = "checkin_where"

// countryZones are the zones of the countries along the route; a country
// with several zones (Mexico, the United States) has its capital's here and
// its states' in stateZones. Others use Mexico City's.
var countryZones = map[string]string{
	"MX": "America/Mexico_City", "GT": "America/Guatemala", "HN": "America/Tegucigalpa",
	"SV": "America/El_Salvador", "NI": "America/Managua", "CR": "America/Costa_Rica",
	"PA": "America/Panama", "BZ": "America/Belize", "HT": "America/Port-au-Prince",
	"CU": "America/Havana", "CO": "America/Bogota", "VE": "America/Caracas", "EC": "America/Guayaquil",
	"US": "America/Chicago",
}

// stateZones are the zones of the states (as the gazetteer names them) whose
// time is not their country's capital's.
var stateZones = map[string]string{
	"MX/Baja California":     "America/Tijuana",
	"MX/Baja California Sur": "America/Mazatlan",
	"MX/Sonora":              "America/Hermosillo",
	"MX/Sinaloa":             "America/Mazatlan",
	"MX/Nayarit":             "America/Mazatlan",
	"MX/Chihuahua":           "America/Chihuahua",
	"MX/Quintana Roo":        "America/Cancun",
	"US/California":          "America/Los_Angeles",
	"US/Arizona":             "America/Phoenix",
	"US/New Mexico":          "America/Denver",
	"US/Texas":               "America/Chicago",
}

// townZones are towns whose zone is not their state's: the border towns
// that keep the United States' daylight saving time.
var townZones = map[string]string{
	"MX/Ciudad Juárez":     "America/Ciudad_Juarez",
	"MX/Ojinaga":           "America/Ojinaga",
	"MX/Matamoros":         "America/Matamoros",
	"MX/Reynosa":           "America/Matamoros",
	"MX/Nuevo Laredo":      "America/Matamoros",
	"MX/Piedras Negras":    "America/Matamoros",
	"MX/Ciudad Acuña":      "America/Matamoros",
	"US/El Paso":           "America/Denver",
	"MX/Bahía de Banderas": "America/Mexico_City",
}

// allZones are every zone the engine can use, each named in every language
// by the message zoneKey(zone) (a test checks it).
func allZones() []string {
	seen := map[string]bool{}
	var zs []string
	for _, m := range []map[string]string{countryZones, stateZones, townZones} {
		for _, z := range m {
			if !seen[z] {
				seen[z] = true
				zs = append(zs, z)
			}
		}
	}
	slices.Sort(zs)
	return zs
}

// knownZones is allZones, worked out once.
var knownZones = sync.OnceValue(allZones)

// zoneKey is the message that names a zone: "time.zone.tijuana" for
// America/Tijuana. Each language writes it as its texts need it: French and
// Portuguese with the preposition that goes with the name ("du Guatemala",
// "da Cidade do México"), the others the bare name ("Tijuana"); a person
// reads it in every time shown to them.
func zoneKey(zone string) string {
	city := strings.ToLower(zone[strings.LastIndex(zone, "/")+1:])
	return "time.zone." + strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' {
			return r
		}
		return '_'
	}, city)
}

// zoneOfTown is the time zone of a town of the gazetteer.
func zoneOfTown(tw Town) string {
	if z, ok := townZones[tw.Country+"/"+tw.Name]; ok {
		return z
	}
	if z, ok := stateZones[tw.Country+"/"+tw.Admin1]; ok {
		return z
	}
	if z, ok := countryZones[tw.Country]; ok {
		return z
	}
	return ""
}

// zone is the time zone the person's times are in: where they said they
// are, else their phone's country's.
func (t *turn) zone() string {
	if t.s.Zone != "" {
		return t.s.Zone
	}
	if z, ok := countryZones[t.s.Country]; ok {
		return z
	}
	return countryZones["MX"]
}

var locCache sync.Map // zone name -> *time.Location

// location loads a zone (the binary embeds time/tzdata); an unknown one is
// Mexico City's time.
func location(zone string) *time.Location {
	if l, ok := locCache.Load(zone); ok {
		return l.(*time.Location)
	}
	loc, err := time.LoadLocation(zone)
	if err != nil || zone == "" {
		loc = time.FixedZone("UTC-6", -6*3600) // Mexico City has no daylight saving time
	}
	locCache.Store(zone, loc)
	return loc
}

// zoneName is how a zone is named in a language ("Tijuana", "Ciudad de
// México", French "de Tijuana"). A zone without a message of its own (one
// an operator configured, e.g. for volunteer hours) is its city's name as
// the language's time.zone.city writes it ("de Monterrey" in French).
func (e *Engine) zoneName(lang, zone string) string {
	if id := zoneKey(zone); slices.Contains(knownZones(), zone) {
		if s := e.cat.Text(lang, id, nil); s != "" && s != id {
			return s
		}
	}
	city := strings.ReplaceAll(zone[strings.LastIndex(zone, "/")+1:], "_", " ")
	return e.cat.Text(lang, "time.zone.city", map[string]string{"City": city})
}

// zoneFromPin sets the person's time zone from a shared pin, when the
// gazetteer knows a town near it.
func (e *Engine) zoneFromPin(t *turn, lat, lon float64) bool {
	if e.cfg.Towns == nil {
		return false
	}
	tw, ok := e.cfg.Towns.Nearest(lat, lon)
	if !ok {
		return false
	}
	return e.zoneFromTown(t, tw)
}

// zoneOfTyped is the time zone of a town's name as typed: "" when no town
// has that name, "?" when towns of that name are in different zones.
func (e *Engine) zoneOfTyped(typed string) string {
	if e.cfg.Towns == nil { // an engine without a gazetteer knows no town
		return ""
	}
	zone := ""
	for _, tw := range e.cfg.Towns.FindTown(typed) {
		z := zoneOfTown(tw)
		if zone != "" && z != zone {
			return "?"
		}
		zone = z
	}
	return zone
}

// zoneFromTown sets the person's time zone from a town they named as where
// they are (the finder, the check-in's question) or the town nearest their
// pin. Nothing is kept for a person who did not agree to Enlace keeping data.
func (e *Engine) zoneFromTown(t *turn, tw Town) bool {
	z := zoneOfTown(tw)
	if z == "" || t.s.Consent != ConsentAccepted {
		return false
	}
	t.s.Zone = z
	return true
}

// enterCheckinTime goes on to the check-in's time, first asking where the
// person is when their time zone is not known.
func (e *Engine) enterCheckinTime(t *turn) {
	if t.s.Zone == "" && e.cfg.Towns != nil {
		e.enter(t, StepCheckinWhere)
		return
	}
	e.enter(t, StepCheckinEvery)
}

func promptCheckinWhere(e *Engine, t *turn) []Output {
	return []Output{{Text: text("checkin.where.ask"), Request: RequestLocation, Choices: choices("checkin.where.skip")}}
}

// askWhereAgain says why a place was not taken, with the question's buttons
// again (the location request, "use my country's time"): without them a
// Telegram keyboard is gone and the label typed is read as a town.
func askWhereAgain(t *turn, id string) {
	t.reply(Output{Text: text(id), Request: RequestLocation, Choices: choices("checkin.where.skip")})
}

// handleCheckinWhere takes a pin or a town's name. A name that could be
// towns in different zones is asked again, with the state.
func handleCheckinWhere(e *Engine, t *turn, in Input) bool {
	switch in.Kind {
	case InputChoice:
		if in.Choice != "checkin.where.skip" {
			return false
		}
		t.s.Zone = t.zone() // the phone's country's, said with every time
	case InputLocation:
		if !e.zoneFromPin(t, in.Lat, in.Lon) {
			askWhereAgain(t, "checkin.where.unknown")
			return true
		}
	case InputText:
		switch zone := e.zoneOfTyped(in.Text); zone {
		case "":
			askWhereAgain(t, "checkin.where.unknown")
			return true
		case "?":
			askWhereAgain(t, "checkin.where.unsure")
			return true
		default:
			t.s.Zone = zone
		}
	default:
		return false
	}
	t.say("checkin.where.set", "Zone", e.zoneName(t.s.Lang, t.s.Zone), "Time", t.now.In(location(t.s.Zone)).Format("15:04"))
	e.enter(t, StepCheckinEvery)
	return true
}

// zoneFor is the time zone of a country's capital (Mexico City's for a
// country not along the route).
func zoneFor(country string) *time.Location {
	if z, ok := countryZones[country]; ok {
		return location(z)
	}
	return location(countryZones["MX"])
}
