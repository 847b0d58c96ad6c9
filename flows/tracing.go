package flows

import (
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/enlace-rfl/enlace/languages"
	"github.com/enlace-rfl/enlace/textmatch"
	"github.com/enlace-rfl/enlace/tracing"
)

// Tracing requests (restoring family links): a person asks for help finding
// a relative. A consent of its own (who sees it: caseworkers of the tracing
// service; whether the Red Cross/Red Crescent network may), then the sought
// person's details one question at a time, a summary, and the request opens
// (OpenCase: the pipeline stores it and gives it a code, then tells the
// engine, StaffTracingOpened). The person chooses a PIN (SetCasePIN). From
// any number, the code and the PIN show the case (CheckCasePIN; the answer
// comes back as an InputCase). A tracing notification reaches the phone as a
// teaser only (StaffTracingUpdate); the PIN opens it.
const (
	StepTraceMenu        = "trace_menu"         // new request or check one
	StepTraceConsent     = "trace_consent"      // the tracing consent
	StepTraceNetwork     = "trace_network"      // share with the RC/RC network?
	StepTraceName        = "trace_name"         // the sought person's full name
	StepTraceOther       = "trace_other"        // other names, a nickname
	StepTraceSex         = "trace_sex"          // sex
	StepTraceAge         = "trace_age"          // age or year of birth
	StepTraceNationality = "trace_nationality"  // nationality
	StepTraceRelation    = "trace_relation"     // who they are to the person
	StepTraceOwnName     = "trace_own_name"     // the person's own name, as the sought one knows it
	StepTracePlace       = "trace_place"        // town of the last contact
	StepTraceWhen        = "trace_when"         // month and year of the last contact
	StepTraceWhat        = "trace_what"         // what happened
	StepTraceReach       = "trace_reach"        // how the person can be reached
	StepTraceSummary     = "trace_summary"      // the summary to confirm
	StepTraceOpening     = "trace_opening"      // waiting for the code
	StepTracePIN         = "trace_pin"          // choose the PIN
	StepTracePINAgain    = "trace_pin_again"    // the same PIN once more, so a typo locks nobody out
	StepTraceCode        = "trace_code"         // write the code of a request
	StepTraceCheckPIN    = "trace_check_pin"    // write the PIN of that request
	StepTraceChecking    = "trace_checking"     // waiting for the answer
	StepTraceStatus      = "trace_status"       // the case is shown: update contact, reply
	StepTraceReply       = "trace_reply"        // a message for the caseworker
	StepTraceReachUpdate = "trace_reach_update" // confirm news comes to this phone
)

// PayloadTracing is the /start payload that opens a tracing request (t.me/<bot>?start=buscar).
const PayloadTracing = "buscar"

// Limits of what a person types into a request (runes).
const (
	maxTraceName  = 80
	maxTraceOther = 80
	maxTracePlace = 60
	maxTraceReply = 500
)

// traceNationalities are the nationalities offered as choices (country.*).
var traceNationalities = []string{"HN", "GT", "SV", "NI", "HT", "VE", "CU", "MX"}

// traceRelations are the choices of who the sought person is to the enquirer.
var traceRelations = []tracing.Relationship{
	tracing.RelChild, tracing.RelParent, tracing.RelSibling, tracing.RelSpouse, tracing.RelRelative, tracing.RelFriend,
}

// traceWhats are the choices of what happened.
var traceWhats = []tracing.Circumstance{
	tracing.SeparatedOnRoute, tracing.Detained, tracing.Deported, tracing.LostContact, tracing.OtherCircumstance,
}

// Draft keys of a tracing request.
const (
	draftTrNet      = "tr.net"
	draftTrName     = "tr.name"
	draftTrOther    = "tr.other"
	draftTrSex      = "tr.sex"
	draftTrYear     = "tr.year"
	draftTrNat      = "tr.nat"
	draftTrRel      = "tr.rel"
	draftTrOwn      = "tr.own" // the person's own name
	draftTrPlace    = "tr.place"
	draftTrCountry  = "tr.country"
	draftTrWhen     = "tr.when" // "2026-03"
	draftTrWhat     = "tr.what"
	draftTrReach    = "tr.reach"    // "here" or a safe contact's ID
	draftTrCase     = "tr.case"     // the case whose PIN is chosen, or that the PIN opened
	draftTrCode     = "tr.code"     // the code typed, until its PIN
	draftTrPIN      = "tr.pin"      // the PIN chosen, until it is typed again (the session is sealed)
	draftTrFindable = "tr.findable" // the case whose PIN is chosen is the person's own findable one
)

// ReasonTracingLocked: three wrong PINs locked a tracing case.
const ReasonTracingLocked = "tracing_locked"

// Outcomes of a CheckCasePIN, as the pipeline reports them (Input.Outcome).
const (
	CaseOK        = "ok"         // the right PIN: Input.View shows the case
	CaseWrong     = "wrong"      // a wrong PIN, or no case has the code: answered alike
	CaseLocked    = "locked"     // the case refuses PINs for now
	CaseLockedNow = "locked_now" // this wrong PIN locked it
	// CasePINReset, on StaffTracingOpened: a caseworker cleared the PIN; the
	// person chooses a new one.
	CasePINReset = "pin_reset"
)

func registerTracing(e *Engine) {
	for name, st := range map[string]step{
		StepTraceMenu:        {prompt: promptTraceMenu, handle: handleTraceMenu},
		StepTraceConsent:     {prompt: promptTraceConsent, handle: handleTraceConsent},
		StepTraceNetwork:     {prompt: promptTraceNetwork, handle: handleTraceNetwork},
		StepTraceName:        {prompt: promptTraceName, handle: handleTraceName},
		StepTraceOther:       {prompt: promptTraceOther, handle: handleTraceOther},
		StepTraceSex:         {prompt: promptTraceSex, handle: handleTraceSex},
		StepTraceAge:         {prompt: promptTraceAge, handle: handleTraceAge},
		StepTraceNationality: {prompt: promptTraceNationality, handle: handleTraceNationality},
		StepTraceRelation:    {prompt: promptTraceRelation, handle: handleTraceRelation},
		StepTraceOwnName:     {prompt: promptTraceOwnName, handle: handleTraceOwnName},
		StepTracePlace:       {prompt: promptTracePlace, handle: handleTracePlace},
		StepTraceWhen:        {prompt: promptTraceWhen, handle: handleTraceWhen},
		StepTraceWhat:        {prompt: promptTraceWhat, handle: handleTraceWhat},
		StepTraceReach:       {prompt: promptTraceReach, handle: handleTraceReach},
		StepTraceSummary:     {prompt: promptTraceSummary, handle: handleTraceSummary},
		StepTraceOpening:     {prompt: promptTraceWait, handle: handleTraceWait},
		StepTracePIN:         {prompt: promptTracePIN, handle: handleTracePIN},
		StepTracePINAgain:    {prompt: promptTracePINAgain, handle: handleTracePINAgain},
		StepTraceCode:        {prompt: promptTraceCode, handle: handleTraceCode},
		StepTraceCheckPIN:    {prompt: promptTraceCheckPIN, handle: handleTraceCheckPIN},
		StepTraceChecking:    {prompt: promptTraceWait, handle: handleTraceWait},
		StepTraceStatus:      {prompt: promptTraceStatus, handle: handleTraceStatus},
		StepTraceReply:       {prompt: promptTraceReply, handle: handleTraceReply},
		StepTraceReachUpdate: {prompt: promptTraceReachUpdate, handle: handleTraceReachUpdate},
	} {
		e.steps[name] = st
	}
	e.events[InputCase] = (*Engine).caseEvent
	registerFindable(e)
}

// tracingOn says whether the service keeps tracing cases.
func (e *Engine) tracingOn() bool { return e.cfg.Tracing }

func promptTraceMenu(e *Engine, t *turn) []Output {
	outs := []Output{{Text: text("tracing.menu"), Choices: choices("tracing.new", "tracing.check", "help.menu")}}
	if t.s.Tracing != nil && t.s.Tracing.NeedPIN != "" {
		outs = append([]Output{{Text: text("tracing.pin.missing")}}, outs...)
	}
	return outs
}

func handleTraceMenu(e *Engine, t *turn, in Input) bool {
	if in.Kind != InputChoice {
		return false
	}
	switch in.Choice {
	case "tracing.new":
		clearTrace(t)
		e.enter(t, StepTraceConsent)
	case "tracing.check":
		if t.s.Tracing != nil && t.s.Tracing.NeedPIN != "" {
			// Their own new case still has no PIN: choose it first.
			clearTrace(t)
			t.s.Draft[draftTrCase] = t.s.Tracing.NeedPIN
			e.enter(t, StepTracePIN)
			return true
		}
		e.enter(t, StepTraceCode)
	case "help.menu":
		e.enter(t, StepMenu)
	default:
		return false
	}
	return true
}

// clearTrace forgets a half-finished request.
func clearTrace(t *turn) {
	for k := range t.s.Draft {
		if strings.HasPrefix(k, "tr.") {
			delete(t.s.Draft, k)
		}
	}
}

func promptTraceConsent(e *Engine, t *turn) []Output {
	days := strconv.Itoa(e.cfg.CaseRetentionDays)
	return []Output{
		{Text: text("tracing.consent", "Days", days)},
		{Text: text("consent.question"), Choices: choices("tracing.agree", "tracing.decline")},
	}
}

func handleTraceConsent(e *Engine, t *turn, in Input) bool {
	if in.Kind != InputChoice {
		return false
	}
	switch in.Choice {
	case "tracing.agree":
		e.enter(t, StepTraceNetwork)
	case "tracing.decline":
		clearTrace(t)
		t.say("tracing.declined")
		e.enter(t, e.home(t))
	default:
		return false
	}
	return true
}

func promptTraceNetwork(e *Engine, t *turn) []Output {
	return []Output{{Text: text("tracing.network"), Choices: choices("tracing.network.yes", "tracing.network.no")}}
}

func handleTraceNetwork(e *Engine, t *turn, in Input) bool {
	if in.Kind != InputChoice || (in.Choice != "tracing.network.yes" && in.Choice != "tracing.network.no") {
		return false
	}
	t.s.Draft[draftTrNet] = strconv.FormatBool(in.Choice == "tracing.network.yes")
	e.enter(t, StepTraceName)
	return true
}

func promptTraceName(e *Engine, t *turn) []Output {
	return []Output{{Text: text("tracing.name")}}
}

func handleTraceName(e *Engine, t *turn, in Input) bool {
	if in.Kind != InputText {
		return false
	}
	name := cleanName(in.Text, maxTraceName)
	if letters(name) < 2 {
		t.say("tracing.name.invalid")
		t.reply(promptTraceName(e, t)...)
		return true
	}
	t.s.Draft[draftTrName] = name
	e.enter(t, StepTraceOther)
	return true
}

func promptTraceOther(e *Engine, t *turn) []Output {
	return []Output{{Text: text("tracing.other"), Choices: choices("tracing.skip")}}
}

func handleTraceOther(e *Engine, t *turn, in Input) bool {
	switch {
	case in.Kind == InputChoice && in.Choice == "tracing.skip":
		delete(t.s.Draft, draftTrOther)
	case in.Kind == InputText:
		other := cleanName(in.Text, maxTraceOther)
		if letters(other) < 2 {
			return false
		}
		t.s.Draft[draftTrOther] = other
	default:
		return false
	}
	e.enter(t, StepTraceSex)
	return true
}

func promptTraceSex(e *Engine, t *turn) []Output {
	return []Output{{Text: text("tracing.sex"), Choices: choices("tracing.sex.female", "tracing.sex.male", "tracing.sex.unknown")}}
}

func handleTraceSex(e *Engine, t *turn, in Input) bool {
	if in.Kind != InputChoice {
		return false
	}
	switch in.Choice {
	case "tracing.sex.female":
		t.s.Draft[draftTrSex] = string(tracing.SexFemale)
	case "tracing.sex.male":
		t.s.Draft[draftTrSex] = string(tracing.SexMale)
	case "tracing.sex.unknown":
		delete(t.s.Draft, draftTrSex)
	default:
		return false
	}
	e.enter(t, StepTraceAge)
	return true
}

func promptTraceAge(e *Engine, t *turn) []Output {
	return []Output{{Text: text("tracing.age"), Choices: choices("tracing.unknown")}}
}

func handleTraceAge(e *Engine, t *turn, in Input) bool {
	switch {
	case in.Kind == InputChoice && in.Choice == "tracing.unknown":
		delete(t.s.Draft, draftTrYear)
	case in.Kind == InputText:
		year, ok := birthYear(in.Text, t.now)
		if !ok {
			t.say("tracing.age.invalid")
			t.reply(promptTraceAge(e, t)...)
			return true
		}
		t.s.Draft[draftTrYear] = strconv.Itoa(year)
	default:
		return false
	}
	e.enter(t, StepTraceNationality)
	return true
}

// birthYear reads an age ("34", "34 años", "unos 17 años", "tiene 17") or a
// year of birth ("1990", "nació en 1990", "3/4/1990"): a year among the
// numbers typed is the year, else the first number is the age.
func birthYear(typed string, now time.Time) (int, bool) {
	var nums []int
	for _, part := range typedParts(typed) {
		if n, err := strconv.Atoi(part); err == nil {
			nums = append(nums, n)
		}
	}
	for _, n := range nums {
		if n >= now.Year()-110 && n <= now.Year() {
			return n, true
		}
	}
	if len(nums) > 0 && nums[0] >= 0 && nums[0] <= 110 {
		return tracing.BirthYearFromAge(nums[0], now), true
	}
	return 0, false
}

func promptTraceNationality(e *Engine, t *turn) []Output {
	ids := make([]string, 0, len(traceNationalities)+2)
	for _, c := range traceNationalities {
		ids = append(ids, "country."+c)
	}
	return []Output{{Text: text("tracing.nationality"), Choices: choices(append(ids, "country.other", "tracing.unknown")...)}}
}

// namedCountries are the countries the catalog names (country.XX): a
// nationality typed by its name is taken even when it is not among the
// choices ("Costa Rica", "Panamá", "Estados Unidos").
var namedCountries = []string{"MX", "GT", "HN", "SV", "NI", "CR", "PA", "BZ", "US", "HT", "VE", "CU"}

func handleTraceNationality(e *Engine, t *turn, in Input) bool {
	if in.Kind == InputText {
		typed := textmatch.Normalize(in.Text)
		for _, c := range namedCountries {
			for _, lang := range languages.All {
				if typed != "" && textmatch.Normalize(e.cat.Text(lang, "country."+c, nil)) == typed {
					t.s.Draft[draftTrNat] = c
					e.enter(t, StepTraceRelation)
					return true
				}
			}
		}
		return false
	}
	if in.Kind != InputChoice {
		return false
	}
	switch in.Choice {
	case "country.other", "tracing.unknown":
		delete(t.s.Draft, draftTrNat)
	default:
		c, ok := strings.CutPrefix(in.Choice, "country.")
		if !ok {
			return false
		}
		t.s.Draft[draftTrNat] = c
	}
	e.enter(t, StepTraceRelation)
	return true
}

func promptTraceRelation(e *Engine, t *turn) []Output {
	ids := make([]string, 0, len(traceRelations))
	for _, r := range traceRelations {
		ids = append(ids, "tracing.rel."+string(r))
	}
	return []Output{{Text: text("tracing.relation"), Choices: choices(ids...)}}
}

func handleTraceRelation(e *Engine, t *turn, in Input) bool {
	r, ok := strings.CutPrefix(in.Choice, "tracing.rel.")
	if in.Kind != InputChoice || !ok {
		return false
	}
	t.s.Draft[draftTrRel] = r
	e.enter(t, StepTraceOwnName)
	return true
}

// The person's own name is what links two requests of one family (a mother
// looking for her son, the son for his mother): a request names the one
// sought and the one who asks, and matching reads one's sought against the
// other's enquirer.
func promptTraceOwnName(e *Engine, t *turn) []Output {
	return []Output{{Text: text("tracing.own"), Choices: choices("tracing.skip")}}
}

func handleTraceOwnName(e *Engine, t *turn, in Input) bool {
	switch {
	case in.Kind == InputChoice && in.Choice == "tracing.skip":
		delete(t.s.Draft, draftTrOwn)
	case in.Kind == InputText:
		name := cleanName(in.Text, maxTraceName)
		if letters(name) < 2 {
			t.say("tracing.name.invalid")
			t.reply(promptTraceOwnName(e, t)...)
			return true
		}
		t.s.Draft[draftTrOwn] = name
	default:
		return false
	}
	e.enter(t, StepTracePlace)
	return true
}

func promptTracePlace(e *Engine, t *turn) []Output {
	return []Output{{Text: text("tracing.place"), Choices: choices("tracing.unknown")}}
}

func handleTracePlace(e *Engine, t *turn, in Input) bool {
	switch {
	case in.Kind == InputChoice && in.Choice == "tracing.unknown":
		delete(t.s.Draft, draftTrPlace)
		delete(t.s.Draft, draftTrCountry)
	case in.Kind == InputText:
		typed := cleanName(in.Text, maxTracePlace)
		if letters(typed) < 2 {
			return false
		}
		t.s.Draft[draftTrPlace], t.s.Draft[draftTrCountry] = typed, ""
		if e.cfg.Towns != nil {
			if towns := e.cfg.Towns.FindTown(typed); len(towns) > 0 {
				// The most likely town: the caseworker sees the name as typed too.
				t.s.Draft[draftTrPlace] = limitRunes(towns[0].Name, maxTracePlace)
				t.s.Draft[draftTrCountry] = towns[0].Country
			}
		}
	default:
		return false
	}
	e.enter(t, StepTraceWhen)
	return true
}

func promptTraceWhen(e *Engine, t *turn) []Output {
	return []Output{{Text: text("tracing.when"), Choices: choices("tracing.unknown")}}
}

func handleTraceWhen(e *Engine, t *turn, in Input) bool {
	switch {
	case in.Kind == InputChoice && in.Choice == "tracing.unknown":
		delete(t.s.Draft, draftTrWhen)
	case in.Kind == InputText:
		m, ok := parseMonth(in.Text, t.s.Lang, t.now)
		if !ok {
			t.say("tracing.when.invalid")
			t.reply(promptTraceWhen(e, t)...)
			return true
		}
		t.s.Draft[draftTrWhen] = m
	default:
		return false
	}
	e.enter(t, StepTraceWhat)
	return true
}

func twoDigits(n int) string {
	if n < 10 {
		return "0" + strconv.Itoa(n)
	}
	return strconv.Itoa(n)
}

func promptTraceWhat(e *Engine, t *turn) []Output {
	ids := make([]string, 0, len(traceWhats))
	for _, w := range traceWhats {
		ids = append(ids, "tracing.what."+string(w))
	}
	return []Output{{Text: text("tracing.what"), Choices: choices(ids...)}}
}

func handleTraceWhat(e *Engine, t *turn, in Input) bool {
	w, ok := strings.CutPrefix(in.Choice, "tracing.what.")
	if in.Kind != InputChoice || !ok {
		return false
	}
	t.s.Draft[draftTrWhat] = w
	e.enter(t, StepTraceReach)
	return true
}

func promptTraceReach(e *Engine, t *turn) []Output {
	cs := []Choice{choice("tracing.reach.here")}
	if t.s.Family != nil {
		for _, c := range t.s.Family.Contacts {
			cs = append(cs, Choice{ID: "tracing.reach." + c.ID, Label: text("tracing.reach.contact", "Name", c.Name)})
		}
	}
	return []Output{{Text: text("tracing.reach"), Choices: cs}}
}

func handleTraceReach(e *Engine, t *turn, in Input) bool {
	r, ok := strings.CutPrefix(in.Choice, "tracing.reach.")
	if in.Kind != InputChoice || !ok || (r != "here" && contactByID(t, r) == nil) {
		return false
	}
	t.s.Draft[draftTrReach] = r
	e.enter(t, StepTraceSummary)
	return true
}

// contactByID returns the person's safe contact of that ID, or nil.
func contactByID(t *turn, id string) *Contact {
	if t.s.Family == nil {
		return nil
	}
	for i := range t.s.Family.Contacts {
		if t.s.Family.Contacts[i].ID == id {
			return &t.s.Family.Contacts[i]
		}
	}
	return nil
}

func promptTraceSummary(e *Engine, t *turn) []Output {
	return []Output{
		{Text: text("tracing.summary", "Summary", e.traceSummary(t))},
		{Text: text("tracing.summary.question"), Choices: choices("tracing.send", "tracing.restart", "tracing.cancel")},
	}
}

// traceSummary is what the person said, one line each, in their language.
func (e *Engine) traceSummary(t *turn) string {
	d, lang := t.s.Draft, t.s.Lang
	say := func(id string, kv ...string) string { return text(id, kv...).Render(e.cat, lang) }
	lines := []string{d[draftTrName]}
	if o := d[draftTrOther]; o != "" {
		lines[0] += " (" + o + ")"
	}
	var who []string
	if s := d[draftTrSex]; s != "" {
		who = append(who, say("tracing.sex."+s))
	}
	if y := d[draftTrYear]; y != "" {
		who = append(who, say("tracing.sum.born", "Year", y))
	}
	if n := d[draftTrNat]; n != "" {
		who = append(who, say("country."+n))
	}
	if len(who) > 0 {
		lines = append(lines, strings.Join(who, ", "))
	}
	lines = append(lines, say("tracing.rel."+d[draftTrRel]))
	if own := d[draftTrOwn]; own != "" {
		lines = append(lines, say("tracing.sum.you", "Name", own))
	}
	var last []string
	if p := d[draftTrPlace]; p != "" {
		last = append(last, p)
	}
	if w := d[draftTrWhen]; w != "" {
		last = append(last, monthDisplay(w))
	}
	if len(last) > 0 {
		lines = append(lines, say("tracing.sum.last", "Last", strings.Join(last, ", ")))
	}
	lines = append(lines, say("tracing.what."+d[draftTrWhat]))
	return strings.Join(lines, "\n")
}

// monthDisplay shows "2026-03" as "3/2026" (a year alone as it is).
func monthDisplay(w string) string {
	y, m, ok := strings.Cut(w, "-")
	if !ok {
		return w
	}
	n, _ := strconv.Atoi(m)
	return strconv.Itoa(n) + "/" + y
}

func handleTraceSummary(e *Engine, t *turn, in Input) bool {
	if in.Kind != InputChoice {
		return false
	}
	switch in.Choice {
	case "tracing.send":
		if t.s.Draft[draftTrName] == "" { // the answers are gone (a timeout): start again
			e.enter(t, StepTraceName)
			return true
		}
		t.emit(OpenCase{Case: e.draftCase(t)})
		clearTrace(t)
		t.say("tracing.sending")
		e.moveTo(t, StepTraceOpening)
	case "tracing.restart":
		net := t.s.Draft[draftTrNet]
		clearTrace(t)
		t.s.Draft[draftTrNet] = net
		e.enter(t, StepTraceName)
	case "tracing.cancel":
		clearTrace(t)
		t.say("tracing.cancelled")
		e.enter(t, StepMenu)
	default:
		return false
	}
	return true
}

// draftCase builds the case the person confirmed.
func (e *Engine) draftCase(t *turn) tracing.Case {
	d := t.s.Draft
	c := tracing.Case{
		Status:  tracing.StatusNew,
		Consent: tracing.Consent{Tracing: true, ShareNetwork: d[draftTrNet] == "true", At: t.now},
		Reach:   tracing.Reach{Channel: t.s.Channel, Address: t.s.Address, Lang: t.s.Lang},
		Created: t.now, Updated: t.now,
	}
	c.Enquirer.FullName = d[draftTrOwn]
	if c.Enquirer.FullName == "" && t.s.Family != nil {
		c.Enquirer.FullName = t.s.Family.Name // the name their family sees, if they skipped
	}
	c.Sought.FullName = d[draftTrName]
	if o := d[draftTrOther]; o != "" {
		c.Sought.OtherNames = strings.FieldsFunc(o, func(r rune) bool { return r == ',' || r == ';' || r == '/' })
		for i := range c.Sought.OtherNames {
			c.Sought.OtherNames[i] = strings.TrimSpace(c.Sought.OtherNames[i])
		}
	}
	c.Sought.Sex = tracing.Sex(d[draftTrSex])
	c.Sought.BirthYear, _ = strconv.Atoi(d[draftTrYear])
	c.Sought.Nationality = d[draftTrNat]
	c.Sought.Relationship = tracing.Relationship(d[draftTrRel])
	c.Sought.LastPlace = tracing.Place{Name: d[draftTrPlace], Country: d[draftTrCountry]}
	if w := d[draftTrWhen]; w != "" {
		y, m, _ := strings.Cut(w, "-")
		c.Sought.LastContact.Year, _ = strconv.Atoi(y)
		c.Sought.LastContact.Month, _ = strconv.Atoi(m)
	}
	c.Sought.What = tracing.Circumstance(d[draftTrWhat])
	if r := d[draftTrReach]; r != "here" {
		if ct := contactByID(t, r); ct != nil {
			c.Reach.SafeContact = ct.Phone
		}
	}
	return c
}

func promptTraceWait(e *Engine, t *turn) []Output {
	return []Output{{Text: text("tracing.wait"), Choices: choices("help.menu")}}
}

// handleTraceWait answers while the pipeline opens a case or checks a PIN:
// the answer comes as an event of its own.
func handleTraceWait(e *Engine, t *turn, in Input) bool {
	if in.Kind == InputChoice && in.Choice == "help.menu" {
		e.enter(t, e.home(t))
		return true
	}
	return false
}

// caseOpened tells the person their new case's code and asks for a PIN: for a
// request made in chat, or one a caseworker took in an interview (the first
// message a new person gets from Enlace then).
func (e *Engine) caseOpened(t *turn, in Input, from Sender) {
	code, err := tracing.ParseCode(in.Text)
	if in.Case == "" || err != nil {
		return
	}
	if t.s.Step == "" { // taken in an interview: the person never wrote yet
		t.s.Step = StepLanguage
		t.say("tracing.opened.intro") // who writes, before a code out of nowhere
	}
	t.s.Channel, t.s.Address = from.Channel, from.Address
	t.s.ReplyTo = withReplyTo(t.s.ReplyTo, from)
	clearTrace(t)
	t.s.Draft[draftTrCase] = in.Case
	// Until the PIN is chosen the case cannot be read from any phone: the
	// tracing menu asks for it again if the person leaves now.
	t.s.Tracing = t.s.Tracing.with(func(ts *TracingState) { ts.NeedPIN = in.Case })
	opened := "tracing.opened"
	if in.Outcome == CasePINReset {
		opened = "tracing.pin.reset"
	}
	if in.Outcome == string(tracing.KindFindable) {
		opened = "findable.opened"
		t.s.Draft[draftTrFindable] = "1"
	}
	t.say(opened, "Code", code.String())
	e.enter(t, StepTracePIN)
}

func promptTracePIN(e *Engine, t *turn) []Output {
	return []Output{{Text: text("tracing.pin.ask")}}
}

func handleTracePIN(e *Engine, t *turn, in Input) bool {
	if in.Kind != InputText {
		return false
	}
	id := t.s.Draft[draftTrCase]
	if id == "" {
		e.enter(t, e.home(t))
		return true
	}
	pin := tracing.NormalizePIN(in.Text)
	switch err := tracing.CheckPIN(pin); {
	case errors.Is(err, tracing.ErrPINFormat):
		t.say("tracing.code.pin.shape")
		return true
	case err != nil:
		t.say("tracing.pin.weak")
		return true
	}
	t.s.Draft[draftTrPIN] = pin
	e.enter(t, StepTracePINAgain)
	return true
}

func promptTracePINAgain(e *Engine, t *turn) []Output {
	return []Output{{Text: text("tracing.pin.again")}}
}

// handleTracePINAgain keeps the PIN once it is typed the same twice; a
// different one starts the choice again.
func handleTracePINAgain(e *Engine, t *turn, in Input) bool {
	if in.Kind != InputText {
		return false
	}
	id, pin := t.s.Draft[draftTrCase], t.s.Draft[draftTrPIN]
	delete(t.s.Draft, draftTrPIN)
	if id == "" || pin == "" { // the answers are gone (a timeout): choose it again
		e.enter(t, StepTracePIN)
		return true
	}
	if tracing.NormalizePIN(in.Text) != pin {
		t.say("tracing.pin.mismatch")
		e.enter(t, StepTracePIN)
		return true
	}
	t.emit(SetCasePIN{Case: id, PIN: pin})
	saved := "tracing.pin.saved"
	if t.s.Draft[draftTrFindable] != "" {
		saved = "findable.pin.saved" // nobody reviews anything: news comes only if someone searches
	}
	delete(t.s.Draft, draftTrCase)
	delete(t.s.Draft, draftTrFindable)
	if t.s.Tracing != nil && t.s.Tracing.NeedPIN == id {
		t.s.Tracing = t.s.Tracing.with(func(ts *TracingState) { ts.NeedPIN = "" })
	}
	t.say(saved)
	e.enter(t, e.home(t))
	return true
}

func promptTraceCode(e *Engine, t *turn) []Output {
	return []Output{{Text: text("tracing.code.ask"), Choices: choices("help.menu")}}
}

func handleTraceCode(e *Engine, t *turn, in Input) bool {
	if in.Kind == InputChoice && in.Choice == "help.menu" {
		e.enter(t, e.home(t))
		return true
	}
	if in.Kind != InputText {
		return false
	}
	code, pin, err := splitCode(in.Text)
	if err != nil {
		t.say("tracing.code.invalid")
		return true
	}
	e.checkCode(t, code, pin)
	return true
}

// splitCode reads a case code, and a PIN written after it, from what a
// person typed: "RFL-7K3Q-9M2", "rfl 7k3q9m2 4821".
func splitCode(typed string) (tracing.Code, string, error) {
	fields := strings.Fields(typed)
	if n := len(fields); n > 1 {
		if pin := tracing.NormalizePIN(fields[n-1]); isPINShape(pin) {
			if code, err := tracing.ParseCode(strings.Join(fields[:n-1], " ")); err == nil {
				return code, pin, nil
			}
		}
	}
	code, err := tracing.ParseCode(typed)
	return code, "", err
}

// isPINShape says whether text is 4 to 6 digits.
func isPINShape(s string) bool {
	return len(s) >= 4 && len(s) <= 6 && onlyDigits(s) == s
}

// looksLikeCode says whether a message is meant as a case code: it starts
// with the RFL prefix. Anything else (a phone number, a year) is never read
// as one, however it parses.
func looksLikeCode(in Input) bool {
	if in.Kind != InputText {
		return false
	}
	s := strings.ToUpper(strings.TrimSpace(in.Text))
	return len(s) <= 64 && (strings.HasPrefix(s, tracing.CodePrefix) || strings.HasPrefix(s, "RF1") || strings.HasPrefix(s, "RFI"))
}

// codeWritten handles a message that is a case code (and maybe its PIN), at
// any step and from any number, before agreeing too: a phone may be lost.
func (e *Engine) codeWritten(t *turn, in Input) {
	code, pin, err := splitCode(in.Text)
	if err != nil {
		t.say("tracing.code.invalid")
		if t.s.Step == "" {
			e.moveTo(t, StepTraceCode)
		}
		return
	}
	e.checkCode(t, code, pin)
}

// checkCode asks for the PIN of a code, or checks it when it was written too.
func (e *Engine) checkCode(t *turn, code tracing.Code, pin string) {
	clearTrace(t)
	if pin == "" {
		t.s.Draft[draftTrCode] = string(code)
		e.enter(t, StepTraceCheckPIN)
		return
	}
	t.emit(CheckCasePIN{Code: string(code), PIN: pin})
	e.moveTo(t, StepTraceChecking)
}

func promptTraceCheckPIN(e *Engine, t *turn) []Output {
	return []Output{{Text: text("tracing.code.pin")}}
}

func handleTraceCheckPIN(e *Engine, t *turn, in Input) bool {
	if in.Kind != InputText {
		return false
	}
	code := t.s.Draft[draftTrCode]
	pin := tracing.NormalizePIN(in.Text)
	if code == "" {
		e.enter(t, StepTraceCode)
		return true
	}
	if !isPINShape(pin) {
		t.say("tracing.code.pin.shape")
		return true
	}
	delete(t.s.Draft, draftTrCode)
	t.emit(CheckCasePIN{Code: code, PIN: pin})
	e.moveTo(t, StepTraceChecking)
	return true
}

// teaserPIN reads a message as the PIN of the case a teaser announced, when
// one waits and the message is only 4 to 6 digits at a step that asks for no
// number.
func (e *Engine) teaserPIN(t *turn, in Input) bool {
	if t.s.Tracing == nil || t.s.Tracing.Pending == "" || in.Kind != InputText {
		return false
	}
	pin := tracing.NormalizePIN(in.Text)
	if !isPINShape(pin) || typedSteps[t.s.Step] {
		return false
	}
	t.emit(CheckCasePIN{Case: t.s.Tracing.Pending, PIN: pin})
	clearTrace(t)
	e.moveTo(t, StepTraceChecking)
	return true
}

// secretInput says whether a message is a case code or a PIN: it is never
// written into a conversation with volunteers (who never see tracing data),
// and it goes to the tracing steps even during a handoff.
func (e *Engine) secretInput(t *turn, in Input) bool {
	if !e.tracingOn() || in.Kind != InputText {
		return false
	}
	switch {
	case looksLikeCode(in):
		return true
	case t.s.Step == StepTracePIN || t.s.Step == StepTracePINAgain || t.s.Step == StepTraceCheckPIN:
		return true
	case t.s.Tracing != nil && t.s.Tracing.Pending != "" && !typedSteps[t.s.Step]:
		return isPINShape(tracing.NormalizePIN(in.Text))
	}
	return false
}

// typedSteps ask for something typed (a number, a year, a name, a code word,
// a town, a message): four to six digits there are the answer, not the PIN
// of a teaser. Every step that reads typed text belongs here
// (TestTeaserPINOnlyWhereNothingIsTyped).
var typedSteps = map[string]bool{
	StepContactName: true, StepContactPhone: true, StepContactCountry: true,
	StepProfileName: true, StepProfileCode: true, StepSafeText: true,
	StepCheckinEvery: true, StepCheckinWhen: true, StepCheckinMsg: true, StepCheckinOwn: true, StepCheckinWhere: true,
	StepFindName: true, StepFindYear: true, StepShelters: true, StepShelterTown: true,
	StepTraceName: true, StepTraceOther: true, StepTraceOwnName: true, StepTraceAge: true, StepTraceNationality: true,
	StepTracePlace: true, StepTraceWhen: true, StepTraceWhat: true, StepTraceReply: true,
	StepTracePIN: true, StepTracePINAgain: true, StepTraceCheckPIN: true, StepTraceCode: true,
}

// caseEvent is the pipeline's answer to a CheckCasePIN.
func (e *Engine) caseEvent(t *turn, in Input) {
	if t.s.Step != StepTraceChecking {
		// The person moved on meanwhile: answer anyway, they asked.
		t.s.Step = StepTraceChecking
	}
	switch in.Outcome {
	case CaseOK:
		if t.s.Tracing != nil && t.s.Tracing.Pending == in.Case {
			t.s.Tracing = t.s.Tracing.with(func(ts *TracingState) { ts.Pending = "" })
		}
		e.showCase(t, in)
	case CaseLockedNow:
		t.emit(Escalation{Reason: ReasonTracingLocked, At: t.now, Lang: t.s.Lang, Step: StepTraceCheckPIN})
		t.say("tracing.locked")
		e.enter(t, e.home(t))
	case CaseLocked:
		t.say("tracing.locked")
		e.enter(t, e.home(t))
	default:
		t.say("tracing.wrong")
		e.enter(t, StepTraceCode) // the code and PIN again, or MENU
	}
}

// showCase shows a case the PIN opened: its status, then the updates the
// person has not read, and what they can do.
func (e *Engine) showCase(t *turn, in Input) {
	v := in.View
	if v == nil {
		t.say("tracing.wrong")
		e.enter(t, e.home(t))
		return
	}
	code, _ := tracing.ParseCode(v.Code)
	t.say("tracing.status", "Code", code.String(), "Status", text("tracing.st."+v.Status).Render(e.cat, t.s.Lang))
	var read []string
	for _, u := range v.Updates {
		t.reply(Output{Text: updateText(u)})
		read = append(read, u.ID)
	}
	if len(read) == 0 {
		t.say("tracing.nonews")
	} else {
		t.emit(CaseRead{Case: in.Case, Updates: read})
	}
	clearTrace(t)
	t.s.Draft[draftTrCase] = in.Case
	e.enter(t, StepTraceStatus)
}

// updateText is the text of a tracing update.
func updateText(u CaseUpdate) Text {
	if u.Template == "" || u.Template == string(tracing.TemplateOwnText) {
		return text("tracing.update.own", "Text", u.Text)
	}
	if u.Template == string(tracing.TemplateContactPoint) {
		return text("tracing.update."+u.Template, "Point", u.Param)
	}
	return text("tracing.update." + u.Template)
}

func promptTraceStatus(e *Engine, t *turn) []Output {
	return []Output{{Text: text("tracing.options"), Choices: choices("tracing.reply", "tracing.here", "help.menu")}}
}

func handleTraceStatus(e *Engine, t *turn, in Input) bool {
	if in.Kind != InputChoice {
		return false
	}
	if t.s.Draft[draftTrCase] == "" && in.Choice != "help.menu" {
		e.enter(t, e.home(t))
		return true
	}
	switch in.Choice {
	case "tracing.reply":
		e.enter(t, StepTraceReply)
	case "tracing.here":
		e.enter(t, StepTraceReachUpdate)
	case "help.menu":
		clearTrace(t)
		e.enter(t, e.home(t))
	default:
		return false
	}
	return true
}

func promptTraceReply(e *Engine, t *turn) []Output {
	return []Output{{Text: text("tracing.reply.ask"), Choices: choices("help.menu")}}
}

func handleTraceReply(e *Engine, t *turn, in Input) bool {
	id := t.s.Draft[draftTrCase]
	switch {
	case in.Kind == InputChoice && in.Choice == "help.menu":
		clearTrace(t)
		e.enter(t, e.home(t))
	case id == "":
		e.enter(t, e.home(t))
	case in.Kind == InputText && strings.TrimSpace(in.Text) != "":
		t.emit(CaseReply{Case: id, Text: limitRunes(strings.TrimSpace(in.Text), maxTraceReply)})
		t.say("tracing.reply.kept")
		e.enter(t, StepTraceStatus)
	default:
		return false
	}
	return true
}

func promptTraceReachUpdate(e *Engine, t *turn) []Output {
	return []Output{{Text: text("tracing.here.confirm"), Choices: choices("tracing.here.yes", "tracing.here.no")}}
}

func handleTraceReachUpdate(e *Engine, t *turn, in Input) bool {
	id := t.s.Draft[draftTrCase]
	if in.Kind != InputChoice || id == "" {
		return false
	}
	switch in.Choice {
	case "tracing.here.yes":
		t.emit(CaseReach{Case: id, Channel: t.s.Channel, Address: t.s.Address, Lang: t.s.Lang})
		t.say("tracing.here.done")
	case "tracing.here.no":
	default:
		return false
	}
	e.enter(t, StepTraceStatus)
	return true
}

// tracingUpdate announces a caseworker's update with the teaser alone: it
// names nobody and no place. The PIN, written next, opens it.
func (e *Engine) tracingUpdate(t *turn, in Input) {
	if in.Case == "" || in.Entry == "" {
		return
	}
	t.s.Tracing = t.s.Tracing.with(func(ts *TracingState) { ts.Pending = in.Case })
	t.emit(Reply{Output: Output{Text: text("tracing.teaser")}, Case: in.Case, Entry: in.Entry})
}

// cleanName trims what a person typed as a name or place and keeps it within n runes.
func cleanName(s string, n int) string {
	return limitRunes(strings.Join(strings.Fields(s), " "), n)
}

// letters counts the letters of s.
func letters(s string) int {
	n := 0
	for _, r := range s {
		if unicode.IsLetter(r) {
			n++
		}
	}
	return n
}

// with returns a copy of the state changed by f, nil when nothing is left.
func (ts *TracingState) with(f func(*TracingState)) *TracingState {
	var c TracingState
	if ts != nil {
		c = *ts
	}
	f(&c)
	return c.orNil()
}

// orNil is nil for a state that holds nothing.
func (ts *TracingState) orNil() *TracingState {
	if ts == nil || *ts == (TracingState{}) {
		return nil
	}
	return ts
}
