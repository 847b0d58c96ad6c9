package tracing

import (
	"math"
	"slices"
)

// MatchKind says how two cases could be about the same people.
type MatchKind string

// The kinds of match.
const (
	// SameSought: both enquirers look for the same person.
	SameSought MatchKind = "same_sought"
	// SoughtIsEnquirer: the person this case looks for has opened the other case.
	SoughtIsEnquirer MatchKind = "sought_is_enquirer"
	// SeeksEnquirer: the other case looks for this case's enquirer.
	SeeksEnquirer MatchKind = "seeks_enquirer"
	// Reciprocal: A looks for B and B looks for A.
	Reciprocal MatchKind = "reciprocal"
)

// Role names one of the two people of a case.
type Role string

// The two people of a case.
const (
	RoleSought   Role = "sought"
	RoleEnquirer Role = "enquirer"
)

// ReasonCode is one piece of a match's explanation. The console translates it; a
// Reason's Value gives the number that goes with it ("birth year differs by 1").
// Reasons carry no names or places, so a match can be logged and audited.
type ReasonCode string

// The reasons a match gives.
const (
	NameSame        ReasonCode = "name_same"         // every word of the names is the same
	NameAccents     ReasonCode = "name_accents"      // the same once accents and case are ignored
	NameNickname    ReasonCode = "name_nickname"     // Value words matched as nickname and name (Pepe, José)
	NameSoundsAlike ReasonCode = "name_sounds_alike" // Value words spelled differently but said alike (Hernandes)
	NameSpelling    ReasonCode = "name_spelling"     // Value words one or two letters apart
	NameInitial     ReasonCode = "name_initial"      // Value words given only by their initial
	NameOrder       ReasonCode = "name_order"        // the same words in another order
	SurnamesSwapped ReasonCode = "surnames_swapped"  // the two surnames in the other order
	NamePartMissing ReasonCode = "name_part_missing" // Value words of the longer name missing from the shorter
	NamePartDiffers ReasonCode = "name_part_differs" // Value words with nothing like them in the other name
	OtherName       ReasonCode = "other_name"        // matched through a nickname or other name given
	NameCommon      ReasonCode = "name_common"       // about Value people would share these words by chance
	BirthYearSame   ReasonCode = "birth_year_same"
	BirthYearNear   ReasonCode = "birth_year_near" // differs by Value years (1 or 2)
	BirthYearFar    ReasonCode = "birth_year_far"  // differs by Value years (more than 2): counts against
	SexSame         ReasonCode = "sex_same"
	SexDiffers      ReasonCode = "sex_differs" // counts strongly against
	NationalitySame ReasonCode = "nationality_same"
	NationalityDiff ReasonCode = "nationality_differs"
	PlaceSame       ReasonCode = "place_same"        // last contact in the same town
	CountrySame     ReasonCode = "country_same"      // last contact in the same country, other towns
	LastContactNear ReasonCode = "last_contact_near" // last contacts Value months apart (at most 3)
)

// Reason is one reason of a match, about one person of the case being matched.
type Reason struct {
	Code  ReasonCode `json:"code"`
	Value int        `json:"value,omitempty"`
	About Role       `json:"about,omitempty"`
}

// Match is another case that could be about the same people.
type Match struct {
	CaseID  string    `json:"case_id"`
	Kind    MatchKind `json:"kind"`
	Score   int       `json:"score"` // 0-100
	Reasons []Reason  `json:"reasons"`
}

// MinScore is the lowest score a match is reported with. The score distribution
// over unrelated generated cases (see BENCHMARKS.md) puts it above nearly all of
// them; a caseworker still confirms or dismisses every match.
const MinScore = 50

// minNameScore is the name agreement below which nothing else can make a match:
// the same birth year and town do not make two names the same person.
const minNameScore = 0.5

// Scoring weights, out of 100.
const (
	wName         = 60
	wBirthSame    = 15
	wBirthOne     = 12
	wBirthTwo     = 8
	wBirthFar     = -15
	wBirthVeryFar = -30
	wSexSame      = 5
	wSexDiffers   = -25
	wNatSame      = 5
	wNatDiffers   = -5
	wPlaceSame    = 10
	wCountrySame  = 3
	wTimeNear     = 5
	wCommonMax    = 12
)

// token is one word of a name, with what comparing it needs.
type token struct {
	text  string
	keys  []string // PhoneticKeys
	canon []string // nickname list entries
}

func newToken(t string) token {
	return token{text: t, keys: PhoneticKeys(t), canon: nicknames[t]}
}

// nameProf is one name of a person as tokens.
type nameProf struct {
	raw    string // folded, particles kept, for the accents reason
	tokens []token
	other  bool // a nickname or other name, not the full name
}

// maxTokens bounds the words of one name that count (and the work per pair).
const maxTokens = 8

func newNameProf(name string, other bool) (nameProf, bool) {
	toks := NameTokens(name)
	if len(toks) == 0 {
		return nameProf{}, false
	}
	if len(toks) > maxTokens {
		toks = toks[:maxTokens]
	}
	np := nameProf{raw: name, other: other, tokens: make([]token, len(toks))}
	for i, t := range toks {
		np.tokens[i] = newToken(t)
	}
	return np, true
}

// personProf is one person of a case, ready to compare.
type personProf struct {
	names       []nameProf
	sex         Sex
	birthYear   int
	nationality string
}

func newPersonProf(p Person) *personProf {
	pp := &personProf{sex: p.Sex, birthYear: p.BirthYear, nationality: p.Nationality}
	if np, ok := newNameProf(p.FullName, false); ok {
		pp.names = append(pp.names, np)
	}
	for _, o := range p.OtherNames {
		if np, ok := newNameProf(o, true); ok {
			pp.names = append(pp.names, np)
		}
	}
	if len(pp.names) == 0 {
		return nil
	}
	return pp
}

// caseProf is a case as the matcher keeps it.
type caseProf struct {
	id       string
	sought   *personProf
	enquirer *personProf // nil without a name
	place    Place
	placeKey string
	last     Month
}

func newCaseProf(c *Case) *caseProf {
	cp := &caseProf{id: c.ID, sought: newPersonProf(c.Sought.Person), place: c.Sought.LastPlace, last: c.Sought.LastContact}
	if c.Enquirer.FullName != "" {
		cp.enquirer = newPersonProf(c.Enquirer)
	}
	if cp.place.PlaceID != "" {
		cp.placeKey = "id:" + cp.place.PlaceID
	} else if f := Fold(cp.place.Name); f != "" {
		cp.placeKey = "name:" + f + "/" + cp.place.Country
	}
	return cp
}

// tokenSim compares two tokens: 1 the same, 0.9 nickname, 0.85 said alike, 0.75
// one or two letters apart, 0.4 an initial, 0 nothing alike.
func tokenSim(a, b *token) (float64, ReasonCode) {
	switch {
	case a.text == b.text:
		return 1, NameSame
	case len(a.text) == 1 || len(b.text) == 1:
		if a.text[0] == b.text[0] {
			return 0.4, NameInitial
		}
		return 0, ""
	}
	for _, x := range a.keys {
		if slices.Contains(b.keys, x) {
			return 0.85, NameSoundsAlike
		}
	}
	if sameCanon(a, b) {
		return 0.9, NameNickname
	}
	if n := min(len(a.text), len(b.text)); n >= 4 {
		limit := 1
		if n >= 8 {
			limit = 2
		}
		if !genderPair(a.text, b.text) && editDistance(a.text, b.text, limit) <= limit {
			return 0.75, NameSpelling
		}
	}
	return 0, ""
}

// genderPair reports the masculine and feminine of one name (Juan/Juana,
// Mario/María, Francisco/Francisca, Luis/Luisa): one letter apart, different people.
func genderPair(a, b string) bool {
	if len(a) > len(b) {
		a, b = b, a
	}
	if b == a+"a" {
		return true
	}
	n := len(a)
	return n == len(b) && n > 1 && a[:n-1] == b[:n-1] &&
		(a[n-1] == 'o' && b[n-1] == 'a' || a[n-1] == 'a' && b[n-1] == 'o')
}

func sameCanon(a, b *token) bool {
	for _, x := range a.canon {
		if x == b.text || slices.Contains(b.canon, x) {
			return true
		}
	}
	return slices.Contains(b.canon, a.text)
}

// editDistance is the optimal-string-alignment distance (insertions, deletions,
// substitutions and swaps of neighbours), giving up above limit.
func editDistance(a, b string, limit int) int {
	if d := len(a) - len(b); d > limit || -d > limit {
		return limit + 1
	}
	if len(a) > 32 || len(b) > 32 {
		return limit + 1
	}
	var rows [3][33]int
	prev2, prev, cur := &rows[0], &rows[1], &rows[2]
	for j := 0; j <= len(b); j++ {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		best := cur[0]
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			v := min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
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
	return prev[len(b)]
}

// nameResult is the comparison of two names.
type nameResult struct {
	score   float64
	reasons []Reason
	matched []string // the words of a that found a partner
}

// compareNames aligns the words of two names, each word with its most alike word
// of the other name, whatever the order, and scores the agreement: mostly how much
// of the shorter name is found in the longer (so "Luis Hernández" is well inside
// "José Luis Hernández García"), partly how much of the longer is covered.
func compareNames(a, b *nameProf) nameResult {
	m, n := len(a.tokens), len(b.tokens)
	type pair struct {
		i, j int
		sim  float64
		why  ReasonCode
	}
	var pairsBuf [maxTokens * maxTokens]pair
	pairs := pairsBuf[:0]
	for i := range a.tokens {
		for j := range b.tokens {
			if s, why := tokenSim(&a.tokens[i], &b.tokens[j]); s > 0 {
				pairs = append(pairs, pair{i, j, s, why})
			}
		}
	}
	// Greedy alignment, best pairs first (ties: in order). Names have few words,
	// and the greedy choice equals the best one on every name in the tests.
	slices.SortStableFunc(pairs, func(x, y pair) int {
		switch {
		case x.sim > y.sim:
			return -1
		case x.sim < y.sim:
			return 1
		}
		return 0
	})
	var usedA, usedB [maxTokens]bool
	var matchOf [maxTokens]int
	for i := range matchOf {
		matchOf[i] = -1
	}
	var sum float64
	var res nameResult
	matched := 0
	counts := map[ReasonCode]int{}
	for _, p := range pairs {
		if usedA[p.i] || usedB[p.j] {
			continue
		}
		usedA[p.i], usedB[p.j] = true, true
		matchOf[p.i] = p.j
		res.matched = append(res.matched, a.tokens[p.i].text)
		sum += p.sim
		matched++
		counts[p.why]++
	}
	if matched == 0 {
		return nameResult{}
	}
	short, long := min(m, n), max(m, n)
	score := 0.6*sum/float64(short) + 0.4*sum/float64(long)
	if matched == 1 && long > 1 {
		score *= 0.6 // one word alike is weak evidence
	}
	var rs []Reason
	if counts[NameSame] == matched && m == n {
		if a.raw == b.raw {
			rs = append(rs, Reason{Code: NameSame})
		} else {
			rs = append(rs, Reason{Code: NameAccents})
		}
	}
	for _, c := range []ReasonCode{NameNickname, NameSoundsAlike, NameSpelling, NameInitial} {
		if counts[c] > 0 {
			rs = append(rs, Reason{Code: c, Value: counts[c]})
		}
	}
	// Order: the matched words of b, taken in a's order, should go up.
	inOrder, last := true, -1
	for i := 0; i < m; i++ {
		if j := matchOf[i]; j >= 0 {
			if j < last {
				inOrder = false
			}
			last = j
		}
	}
	if !inOrder {
		if surnamesSwapped(matchOf[:m], m, n) {
			rs = append(rs, Reason{Code: SurnamesSwapped})
		} else {
			rs = append(rs, Reason{Code: NameOrder})
		}
		score -= 0.02
	}
	if missing := long - matched; missing > 0 && matched == short {
		rs = append(rs, Reason{Code: NamePartMissing, Value: missing})
	}
	if differs := short - matched; differs > 0 {
		rs = append(rs, Reason{Code: NamePartDiffers, Value: differs})
	}
	res.score, res.reasons = score, rs
	return res
}

// surnamesSwapped reports the one disorder of two names of three or more words
// where every word is in place but the last two, which are crossed.
func surnamesSwapped(matchOf []int, m, n int) bool {
	if m != n || m < 3 {
		return false
	}
	for i := 0; i < m-2; i++ {
		if matchOf[i] != i {
			return false
		}
	}
	return matchOf[m-2] == m-1 && matchOf[m-1] == m-2
}

// comparePersons scores two people (0-100) with the reasons, or -1 when their
// names are too far apart for anything else to matter.
//
// freq, when not nil, gives the share of the indexed people whose names have a
// word: a name that many people share by chance ("Juan Pérez", "Jean Pierre")
// says less than a rare one, so the score drops by up to 12 points with the
// number of people expected to share all the matched words (reason name_common,
// with that number).
func comparePersons(a, b *personProf, about Role, freq func(string) float64, people int) (int, []Reason) {
	best, bestOther := nameResult{score: -1}, false
	for i := range a.names {
		for j := range b.names {
			r := compareNames(&a.names[i], &b.names[j])
			if r.score > best.score {
				best, bestOther = r, a.names[i].other || b.names[j].other
			}
		}
	}
	if best.score < minNameScore {
		return -1, nil
	}
	pts := float64(wName) * best.score
	rs := best.reasons
	if bestOther {
		rs = append(rs, Reason{Code: OtherName})
	}
	if freq != nil && len(best.matched) > 0 {
		expected := float64(people)
		for _, w := range best.matched {
			expected *= freq(w)
		}
		if expected >= 2 {
			pts -= min(wCommonMax, 6*math.Log10(1+expected))
			rs = append(rs, Reason{Code: NameCommon, Value: int(expected + 0.5)})
		}
	}
	if a.birthYear > 0 && b.birthYear > 0 {
		d := a.birthYear - b.birthYear
		if d < 0 {
			d = -d
		}
		switch {
		case d == 0:
			pts += wBirthSame
			rs = append(rs, Reason{Code: BirthYearSame})
		case d == 1:
			pts += wBirthOne
			rs = append(rs, Reason{Code: BirthYearNear, Value: d})
		case d == 2:
			pts += wBirthTwo
			rs = append(rs, Reason{Code: BirthYearNear, Value: d})
		case d <= 5:
			pts += wBirthFar
			rs = append(rs, Reason{Code: BirthYearFar, Value: d})
		default:
			pts += wBirthVeryFar
			rs = append(rs, Reason{Code: BirthYearFar, Value: d})
		}
	}
	if known(a.sex) && known(b.sex) {
		if a.sex == b.sex {
			pts += wSexSame
			rs = append(rs, Reason{Code: SexSame})
		} else {
			pts += wSexDiffers
			rs = append(rs, Reason{Code: SexDiffers})
		}
	}
	if a.nationality != "" && b.nationality != "" {
		if a.nationality == b.nationality {
			pts += wNatSame
			rs = append(rs, Reason{Code: NationalitySame})
		} else {
			pts += wNatDiffers
			rs = append(rs, Reason{Code: NationalityDiff})
		}
	}
	for i := range rs {
		rs[i].About = about
	}
	return int(pts + 0.5), rs
}

func known(s Sex) bool { return s == SexFemale || s == SexMale }

// comparePlaces adds what the last contacts of two cases have in common: both
// cases record where a separation happened, and two people separated together,
// or two relatives of the same person, often name the same town and month.
func comparePlaces(a, b *caseProf) (int, []Reason) {
	pts := 0
	var rs []Reason
	switch {
	case a.placeKey != "" && a.placeKey == b.placeKey:
		pts += wPlaceSame
		rs = append(rs, Reason{Code: PlaceSame})
	case a.place.Country != "" && a.place.Country == b.place.Country:
		pts += wCountrySame
		rs = append(rs, Reason{Code: CountrySame})
	}
	if d := monthsApart(a.last, b.last); d >= 0 && d <= 3 {
		pts += wTimeNear
		rs = append(rs, Reason{Code: LastContactNear, Value: d})
	}
	return pts, rs
}

// compareCases returns the match of q against c, or ok false.
func compareCases(q, c *caseProf, freq func(string) float64, people int) (Match, bool) {
	m := Match{CaseID: c.id}
	score := -1
	var reasons []Reason
	if s, rs := comparePersons(q.sought, c.sought, RoleSought, freq, people); s >= 0 {
		score, reasons, m.Kind = s, rs, SameSought
	}
	var s1, s2 = -1, -1
	var r1, r2 []Reason
	if c.enquirer != nil {
		s1, r1 = comparePersons(q.sought, c.enquirer, RoleSought, freq, people)
	}
	if q.enquirer != nil {
		s2, r2 = comparePersons(q.enquirer, c.sought, RoleEnquirer, freq, people)
	}
	switch {
	case s1 >= 0 && s2 >= 0:
		// Both ways: the strongest kind there is.
		if s := (s1+s2)/2 + 10; s > score {
			score, reasons, m.Kind = s, append(r1, r2...), Reciprocal
		}
	case s1 > score:
		score, reasons, m.Kind = s1, r1, SoughtIsEnquirer
	case s2 > score:
		score, reasons, m.Kind = s2, r2, SeeksEnquirer
	}
	if score < 0 {
		return Match{}, false
	}
	pp, prs := comparePlaces(q, c)
	score += pp
	m.Score = min(100, max(0, score))
	m.Reasons = append(reasons, prs...)
	return m, m.Score >= MinScore
}
