package tracing

import (
	"cmp"
	"hash/maphash"
	"math"
	"math/bits"
	"slices"

	"github.com/enlace-rfl/enlace/textmatch"
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
	// reciprocalBonus: A looks for B and B for A is worth more than either way.
	reciprocalBonus = 10
)

// token is one word of a name, with what comparing it needs, hashed once so that
// comparing two words is comparing numbers.
type token struct {
	text  string
	self  uint64   // hash of the word as a name ("=" domain)
	keys  []uint64 // hashes of its PhoneticKeys ("~" domain)
	canon []uint64 // hashes of the names it stands for (nickname list, "=" domain)
	look  []uint64 // keys ∪ canon ∪ self: what the index files it under
	mask  uint32   // the letters it has, to skip the edit distance quickly
}

var hashSeed = maphash.MakeSeed()

func hashKey(domain byte, s string) uint64 {
	var h maphash.Hash
	h.SetSeed(hashSeed)
	h.WriteByte(domain)
	h.WriteString(s)
	return h.Sum64()
}

func newToken(t string) token {
	tk := token{text: t, self: hashKey('=', t)}
	for i := 0; i < len(t); i++ {
		if c := t[i]; c >= 'a' && c <= 'z' {
			tk.mask |= 1 << (c - 'a')
		}
	}
	for _, k := range PhoneticKeys(t) {
		tk.keys = append(tk.keys, hashKey('~', k))
	}
	for _, c := range nicknames[t] {
		tk.canon = append(tk.canon, hashKey('=', c))
	}
	tk.look = append(tk.look, tk.keys...)
	for _, h := range append(tk.canon, tk.self) {
		if !slices.Contains(tk.look, h) {
			tk.look = append(tk.look, h)
		}
	}
	return tk
}

// nameProf is one name of a person as tokens.
type nameProf struct {
	raw    string // as written, for telling "the same" from "the same but accents"
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
	} else if f := textmatch.FoldName(cp.place.Name); f != "" {
		cp.placeKey = "name:" + f + "/" + cp.place.Country
	}
	return cp
}

// How two words compare, strongest first; the index into nameResult.counts.
const (
	simSame = iota
	simSounds
	simNickname
	simSpelling
	simInitial
	simKinds
)

var simValue = [simKinds]float64{simSame: 1, simSounds: 0.85, simNickname: 0.9, simSpelling: 0.75, simInitial: 0.4}

var simReason = [simKinds]ReasonCode{simSame: NameSame, simSounds: NameSoundsAlike, simNickname: NameNickname,
	simSpelling: NameSpelling, simInitial: NameInitial}

// tokenSim compares two words: the same (1), said alike (0.85), nickname and name
// (0.9), one or two letters apart (0.75), an initial (0.4); -1 for nothing alike.
func tokenSim(a, b *token) int {
	switch {
	case a.self == b.self:
		return simSame
	case len(a.text) == 1 || len(b.text) == 1:
		if a.text[0] == b.text[0] {
			return simInitial
		}
		return -1
	}
	for _, x := range a.keys {
		if slices.Contains(b.keys, x) {
			return simSounds
		}
	}
	if sameCanon(a, b) {
		return simNickname
	}
	if n := min(len(a.text), len(b.text)); n >= 4 {
		limit := 1
		if n >= 8 {
			limit = 2
		}
		// Each edit changes at most two letters of the set: a cheap test first.
		if bits.OnesCount32(a.mask^b.mask) <= 2*limit && !genderPair(a.text, b.text) &&
			textmatch.Distance(a.text, b.text, limit) <= limit {
			return simSpelling
		}
	}
	return -1
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
		if x == b.self || slices.Contains(b.canon, x) {
			return true
		}
	}
	return slices.Contains(b.canon, a.self)
}

// nameResult is the comparison of two names, kept as counts so that scoring the
// thousands of candidates a common name has allocates nothing; reasons are
// written only for the matches kept.
type nameResult struct {
	score    float64
	counts   [simKinds]uint8
	matched  int   // words paired
	matchedA uint8 // bit i: word i of a found a partner
	matchedB uint8 // bit j: word j of b found a partner
	m, n     int
	inOrder  bool
	swapped  bool
	sameRaw  bool
}

// compareNames aligns the words of two names, each word with its most alike word
// of the other name, whatever the order, and scores the agreement: mostly how much
// of the shorter name is found in the longer (so "Luis Hernández" is well inside
// "José Luis Hernández García"), partly how much of the longer is covered.
func compareNames(a, b *nameProf) nameResult {
	m, n := len(a.tokens), len(b.tokens)
	type pair struct{ i, j, kind int8 }
	var pairsBuf [maxTokens * maxTokens]pair
	pairs := pairsBuf[:0]
	for i := range a.tokens {
		for j := range b.tokens {
			if k := tokenSim(&a.tokens[i], &b.tokens[j]); k >= 0 {
				pairs = append(pairs, pair{int8(i), int8(j), int8(k)})
			}
		}
	}
	res := nameResult{m: m, n: n}
	if len(pairs) == 0 {
		return res
	}
	// Greedy alignment, best pairs first (ties: in order). Names have few words,
	// and the greedy choice equals the best one on every name in the tests.
	slices.SortStableFunc(pairs, func(x, y pair) int {
		return cmp.Compare(simValue[y.kind], simValue[x.kind])
	})
	var usedB uint8
	var matchOf [maxTokens]int8
	for i := range matchOf {
		matchOf[i] = -1
	}
	var sum float64
	for _, p := range pairs {
		if res.matchedA&(1<<p.i) != 0 || usedB&(1<<p.j) != 0 {
			continue
		}
		res.matchedA |= 1 << p.i
		usedB |= 1 << p.j
		res.matchedB |= 1 << p.j
		matchOf[p.i] = p.j
		sum += simValue[p.kind]
		res.matched++
		res.counts[p.kind]++
	}
	short, long := min(m, n), max(m, n)
	score := 0.6*sum/float64(short) + 0.4*sum/float64(long)
	if res.matched == 1 && long > 1 {
		score *= 0.6 // one word alike is weak evidence
	}
	// Order: the matched words of b, taken in a's order, should go up.
	res.inOrder = true
	last := int8(-1)
	for i := 0; i < m; i++ {
		if j := matchOf[i]; j >= 0 {
			if j < last {
				res.inOrder = false
			}
			last = j
		}
	}
	if !res.inOrder {
		res.swapped = surnamesSwapped(matchOf[:m], m, n)
		score -= 0.02
	}
	res.sameRaw = a.raw == b.raw
	res.score = score
	return res
}

// reasons explains a name comparison.
func (r *nameResult) reasons(rs []Reason) []Reason {
	if int(r.counts[simSame]) == r.matched && r.m == r.n && r.matched == r.m {
		if r.sameRaw {
			rs = append(rs, Reason{Code: NameSame})
		} else {
			rs = append(rs, Reason{Code: NameAccents})
		}
	}
	for _, k := range []int{simNickname, simSounds, simSpelling, simInitial} {
		if r.counts[k] > 0 {
			rs = append(rs, Reason{Code: simReason[k], Value: int(r.counts[k])})
		}
	}
	switch {
	case r.swapped:
		rs = append(rs, Reason{Code: SurnamesSwapped})
	case !r.inOrder:
		rs = append(rs, Reason{Code: NameOrder})
	}
	short, long := min(r.m, r.n), max(r.m, r.n)
	if missing := long - r.matched; missing > 0 && r.matched == short {
		rs = append(rs, Reason{Code: NamePartMissing, Value: missing})
	}
	if differs := short - r.matched; differs > 0 {
		rs = append(rs, Reason{Code: NamePartDiffers, Value: differs})
	}
	return rs
}

// surnamesSwapped reports the one disorder of two names of three or more words
// where every word is in place but the last two, which are crossed.
func surnamesSwapped(matchOf []int8, m, n int) bool {
	if m != n || m < 3 {
		return false
	}
	for i := 0; i < m-2; i++ {
		if matchOf[i] != int8(i) {
			return false
		}
	}
	return matchOf[m-2] == int8(m-1) && matchOf[m-1] == int8(m-2)
}

// personResult is the comparison of two people.
type personResult struct {
	score    int // 0-100 before places; -1: names too far apart
	name     nameResult
	other    bool // through a nickname or other name
	common   int  // people expected to share the matched words by chance (>= 2), or 0
	yearDiff int  // -1 unknown
	sex      int8 // 1 same, -1 differs, 0 unknown
	nat      int8
}

// frequencies says how common a word is among the indexed people.
type frequencies interface {
	// share of the people with the word (by its hash) in a name; 0 when unknown.
	share(self uint64) float64
	people() int
}

// expectedSharing is how many indexed people are expected to have every
// word of n that matched (bit i of matched: word i) by chance.
func expectedSharing(freq frequencies, n *nameProf, matched uint8) float64 {
	expected := float64(freq.people())
	for i := range n.tokens {
		if matched&(1<<i) != 0 {
			expected *= freq.share(n.tokens[i].self)
		}
	}
	return expected
}

// comparePersons scores two people. freq, when not nil, says how common words
// are: a name that many people share by chance ("Juan Pérez", "Jean Pierre") says
// less than a rare one, so the score drops by up to 12 points with the number of
// people expected to share all the matched words (reason name_common, with that
// number).
func comparePersons(a, b *personProf, freq frequencies, slack int) personResult {
	r := personResult{score: -1, yearDiff: -1}
	// The attributes first: they are cheap, and when even a perfect name could not
	// lift the score to MinScore (with slack, the most the places and a
	// reciprocal match may add), the names need not be compared at all.
	attr := 0
	if a.birthYear > 0 && b.birthYear > 0 {
		d := a.birthYear - b.birthYear
		if d < 0 {
			d = -d
		}
		r.yearDiff = d
		switch {
		case d == 0:
			attr += wBirthSame
		case d == 1:
			attr += wBirthOne
		case d == 2:
			attr += wBirthTwo
		case d <= 5:
			attr += wBirthFar
		default:
			attr += wBirthVeryFar
		}
	}
	if known(a.sex) && known(b.sex) {
		if a.sex == b.sex {
			attr += wSexSame
			r.sex = 1
		} else {
			attr += wSexDiffers
			r.sex = -1
		}
	}
	if a.nationality != "" && b.nationality != "" {
		if a.nationality == b.nationality {
			attr += wNatSame
			r.nat = 1
		} else {
			attr += wNatDiffers
			r.nat = -1
		}
	}
	if wName+attr+slack < MinScore {
		return personResult{score: -1}
	}
	bestScore := -1.0
	var bestA, bestB *nameProf
	for i := range a.names {
		for j := range b.names {
			nr := compareNames(&a.names[i], &b.names[j])
			if nr.score > bestScore {
				bestScore, r.name, r.other, bestA, bestB = nr.score, nr, a.names[i].other || b.names[j].other, &a.names[i], &b.names[j]
			}
		}
	}
	if bestScore < minNameScore {
		return personResult{score: -1}
	}
	pts := float64(wName)*bestScore + float64(attr)
	if freq != nil {
		// How many people would share the matched words by chance, read on
		// both names' spellings (their geometric mean): the same pair scores
		// the same from either side ("Hernandes" is rarer than "Hernández").
		expected := math.Sqrt(expectedSharing(freq, bestA, r.name.matchedA) * expectedSharing(freq, bestB, r.name.matchedB))
		if expected >= 2 {
			pts -= min(wCommonMax, 6*math.Log10(1+expected))
			r.common = int(expected + 0.5)
		}
	}
	r.score = int(pts + 0.5)
	return r
}

// reasons explains a comparison of two people, about role of the matched case.
func (r *personResult) reasons(about Role) []Reason {
	rs := r.name.reasons(make([]Reason, 0, 8))
	if r.other {
		rs = append(rs, Reason{Code: OtherName})
	}
	if r.common > 0 {
		rs = append(rs, Reason{Code: NameCommon, Value: r.common})
	}
	switch d := r.yearDiff; {
	case d == 0:
		rs = append(rs, Reason{Code: BirthYearSame})
	case d == 1 || d == 2:
		rs = append(rs, Reason{Code: BirthYearNear, Value: d})
	case d > 2:
		rs = append(rs, Reason{Code: BirthYearFar, Value: d})
	}
	switch r.sex {
	case 1:
		rs = append(rs, Reason{Code: SexSame})
	case -1:
		rs = append(rs, Reason{Code: SexDiffers})
	}
	switch r.nat {
	case 1:
		rs = append(rs, Reason{Code: NationalitySame})
	case -1:
		rs = append(rs, Reason{Code: NationalityDiff})
	}
	for i := range rs {
		rs[i].About = about
	}
	return rs
}

func known(s Sex) bool { return s == SexFemale || s == SexMale }

// comparePlaces adds what the last contacts of two cases have in common: both
// cases record where a separation happened, and two people separated together,
// or two relatives of the same person, often name the same town and month.
func comparePlaces(a, b *caseProf, rs []Reason) (int, []Reason) {
	pts := 0
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

// Which people compareCases compares (the index knows which can be alike).
const (
	wantSameSought       uint8 = 1 << iota // q's sought person with c's
	wantSoughtIsEnquirer                   // q's sought person with c's enquirer
	wantSeeksEnquirer                      // q's enquirer with c's sought person
	wantAll              = wantSameSought | wantSoughtIsEnquirer | wantSeeksEnquirer
)

// compareCases returns the match of q against c, or ok false, making only the
// comparisons in want.
func compareCases(q, c *caseProf, freq frequencies, want uint8) (Match, bool) {
	m := Match{CaseID: c.id}
	score := -1
	same, s1, s2 := personResult{score: -1}, personResult{score: -1}, personResult{score: -1}
	placePts, _ := comparePlaces(q, c, nil)
	if want&wantSameSought != 0 {
		same = comparePersons(q.sought, c.sought, freq, placePts)
	}
	if same.score >= 0 {
		score, m.Kind = same.score, SameSought
	}
	if c.enquirer != nil && want&wantSoughtIsEnquirer != 0 {
		s1 = comparePersons(q.sought, c.enquirer, freq, placePts+reciprocalBonus)
	}
	if q.enquirer != nil && want&wantSeeksEnquirer != 0 {
		s2 = comparePersons(q.enquirer, c.sought, freq, placePts+reciprocalBonus)
	}
	// The strongest reading wins. Both ways (A looks for B, B for A) is worth more
	// than either alone, but a way that could not reach MinScore on its own (its
	// names alike, its birth year and sex not) does not count towards it.
	if s1.score > score {
		score, m.Kind = s1.score, SoughtIsEnquirer
	}
	if s2.score > score {
		score, m.Kind = s2.score, SeeksEnquirer
	}
	if s1.score >= 0 && s2.score >= 0 {
		if s := (s1.score+s2.score)/2 + reciprocalBonus; s > score {
			score, m.Kind = s, Reciprocal
		}
	}
	if score < 0 {
		return Match{}, false
	}
	m.Score = min(100, max(0, score+placePts))
	if m.Score < MinScore {
		return Match{}, false
	}
	switch m.Kind {
	case SameSought:
		m.Reasons = same.reasons(RoleSought)
	case SoughtIsEnquirer:
		m.Reasons = s1.reasons(RoleSought)
	case SeeksEnquirer:
		m.Reasons = s2.reasons(RoleEnquirer)
	case Reciprocal:
		m.Reasons = append(s1.reasons(RoleSought), s2.reasons(RoleEnquirer)...)
	}
	_, m.Reasons = comparePlaces(q, c, m.Reasons)
	return m, true
}
