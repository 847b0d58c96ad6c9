package flows

import (
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf16"

	"github.com/enlace-rfl/enlace/languages"
	"github.com/enlace-rfl/enlace/textmatch"
)

// Steps of safe contacts, "I am safe" messages and check-ins.
const (
	StepFamily          = "family"
	StepContacts        = "contacts"
	StepContactName     = "contact_name"
	StepContactPhone    = "contact_phone"
	StepContactCountry  = "contact_country"
	StepContactRelation = "contact_relation"
	StepContactLang     = "contact_lang"
	StepContactCheck    = "contact_check"
	StepContactPick     = "contact_pick"
	StepContactDelete   = "contact_delete"
	StepProfileName     = "profile_name"
	StepProfileCode     = "profile_code"
	StepSafeTo          = "safe_to"
	StepSafeKind        = "safe_kind"
	StepSafeText        = "safe_text"
	StepSafeSend        = "safe_send"
	StepCheckinMenu     = "checkin_menu"
	StepCheckinEvery    = "checkin_every"
	StepCheckinWhen     = "checkin_when"
	StepCheckinTo       = "checkin_to"
	StepCheckinMsg      = "checkin_msg"
	StepCheckinOwn      = "checkin_own"
)

// Limits that keep every message to a contact within two SMS parts, whatever
// the language, even when names are long or need UCS-2 (a test checks it).
const (
	maxContacts = 3
	maxName     = 20 // the person's first name, a contact's name (UTF-16 units)
	maxCode     = 20 // the code word
	maxPlace    = 30 // "I am safe and in <town>", "I arrived at <place>"
	maxFreeText = 50 // a message of the person's own
)

// Family is what a person keeps to stay in touch: the name their contacts see,
// the code word agreed with them, their safe contacts and their check-in.
type Family struct {
	Name     string    `json:"name,omitempty"` // first name, as contacts see it
	Code     string    `json:"code,omitempty"` // code word, so relatives can tell a real message from extortion
	Contacts []Contact `json:"contacts,omitempty"`
	Seq      int       `json:"seq,omitempty"` // last contact number given, so IDs are never reused
	Checkin  *Checkin  `json:"checkin,omitempty"`
}

// Contact is a relative who should hear from the person.
type Contact struct {
	ID       string `json:"id"` // "c1", "c2"…: the receipt reference of messages to them
	Name     string `json:"name"`
	Phone    string `json:"phone"`    // E.164
	Relation string `json:"relation"` // a "rel.*" message ID
	Lang     string `json:"lang"`
	// Previewed says the person has seen what this contact receives.
	Previewed bool `json:"previewed,omitempty"`
	// Sent are the times of the messages sent to them in the last day, for the limit.
	Sent []time.Time `json:"sent,omitempty"`
}

var relations = []string{"rel.mother", "rel.father", "rel.partner", "rel.child", "rel.sibling", "rel.relative", "rel.friend"}

// registerFamily adds the steps and events of safe contacts, "I am safe"
// messages and check-ins.
func registerFamily(e *Engine) {
	for name, st := range map[string]step{
		StepFamily:          {prompt: promptFamily, handle: handleFamily},
		StepContacts:        {prompt: promptContacts, handle: handleContacts},
		StepContactName:     {prompt: promptContactName, handle: handleContactName},
		StepContactPhone:    {prompt: promptContactPhone, handle: handleContactPhone},
		StepContactCountry:  {prompt: promptContactCountry, handle: handleContactCountry},
		StepContactRelation: {prompt: promptContactRelation, handle: handleContactRelation},
		StepContactLang:     {prompt: promptContactLang, handle: handleContactLang},
		StepContactCheck:    {prompt: promptContactCheck, handle: handleContactCheck},
		StepContactPick:     {prompt: promptContactPick, handle: handleContactPick},
		StepContactDelete:   {prompt: promptContactDelete, handle: handleContactDelete},
		StepProfileName:     {prompt: promptProfileName, handle: handleProfileName},
		StepProfileCode:     {prompt: promptProfileCode, handle: handleProfileCode},
		StepSafeTo:          {prompt: promptSafeTo, handle: handleSafeTo},
		StepSafeKind:        {prompt: promptSafeKind, handle: handleSafeKind},
		StepSafeText:        {prompt: promptSafeText, handle: handleSafeText},
		StepSafeSend:        {prompt: promptSafeSend, handle: handleSafeSend},
		StepCheckinMenu:     {prompt: promptCheckinMenu, handle: handleCheckinMenu},
		StepCheckinEvery:    {prompt: promptCheckinEvery, handle: handleCheckinEvery},
		StepCheckinWhen:     {prompt: promptCheckinWhen, handle: handleCheckinWhen},
		StepCheckinTo:       {prompt: promptCheckinTo, handle: handleCheckinTo},
		StepCheckinMsg:      {prompt: promptCheckinMsg, handle: handleCheckinMsg},
		StepCheckinOwn:      {prompt: promptCheckinOwn, handle: handleCheckinOwn},
		StepCheckinWhere:    {prompt: promptCheckinWhere, handle: handleCheckinWhere, location: true},
	} {
		e.steps[name] = st
	}
	e.events[InputTimer] = handleCheckinTimer
	e.events[InputReceipt] = handleReceipt
}

// clone copies a Family deeply, so a Step never changes the session it was
// given (its steps change the copy in place).
func (f *Family) clone() *Family {
	if f == nil {
		return nil
	}
	g := *f
	g.Contacts = slices.Clone(f.Contacts)
	for i := range g.Contacts {
		g.Contacts[i].Sent = slices.Clone(g.Contacts[i].Sent)
	}
	if f.Checkin != nil {
		c := *f.Checkin
		c.To = slices.Clone(c.To)
		g.Checkin = &c
	}
	return &g
}

func (t *turn) family() *Family {
	if t.s.Family == nil {
		t.s.Family = &Family{}
	}
	return t.s.Family
}

func (f *Family) contact(id string) (int, *Contact) {
	if f == nil {
		return -1, nil
	}
	for i := range f.Contacts {
		if f.Contacts[i].ID == id {
			return i, &f.Contacts[i]
		}
	}
	return -1, nil
}

// choices builds choices from message IDs.
func choices(ids ...string) []Choice {
	cs := make([]Choice, 0, len(ids))
	for _, id := range ids {
		cs = append(cs, choice(id))
	}
	return cs
}

// restart leaves a dialog whose earlier answers are gone (after "back" or a
// timeout) for the family menu.
func restart(e *Engine, t *turn) []Output {
	t.s.Step = StepFamily
	t.s.Draft = map[string]string{}
	return promptFamily(e, t)
}

// cleanText trims typed text and reports whether it has a letter or digit.
func cleanText(s string) (string, bool) {
	s = strings.Join(strings.Fields(s), " ")
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return s, true
		}
	}
	return s, false
}

// units counts UTF-16 code units, what an SMS in UCS-2 is measured in.
func units(s string) int { return len(utf16.Encode([]rune(s))) }

// names joins contact names as the language writes a list, for a text in lang.
func (e *Engine) names(lang string, cs []*Contact) string {
	ns := make([]string, 0, len(cs))
	for _, c := range cs {
		ns = append(ns, c.Name)
	}
	return joinList(ns, e.cat.Text(lang, "list.and", nil))
}

// joinList joins items with commas and the language's own "and" before the
// last one: "Mamá, Rosa y Juan", "Manman ak Roza". Spanish "y" becomes "e"
// before the sound /i/ ("Rosa e Inés", "Juan e Hilda", but "y Hierro").
func joinList(items []string, and string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	last := items[len(items)-1]
	if and == "y" && startsWithI(last) {
		and = "e"
	}
	return strings.Join(items[:len(items)-1], ", ") + " " + and + " " + last
}

// startsWithI says whether a Spanish word starts with the vowel sound /i/:
// i- or hi- not followed by another vowel (hie-, hia- sound like "y").
func startsWithI(word string) bool {
	w := textmatch.FoldName(word)
	w = strings.TrimPrefix(w, "h")
	if !strings.HasPrefix(w, "i") {
		return false
	}
	return len(w) == 1 || !strings.ContainsRune("aeiou", rune(w[1]))
}

// --- the family menu ---------------------------------------------------------

func promptFamily(e *Engine, t *turn) []Output {
	return []Output{{Text: text("family.ask"), Choices: choices("family.safe", "family.contacts", "family.checkin", "family.profile")}}
}

func handleFamily(e *Engine, t *turn, in Input) bool {
	if in.Kind != InputChoice {
		return false
	}
	t.s.Draft = map[string]string{}
	switch in.Choice {
	case "family.safe":
		e.startSafe(t)
	case "family.contacts":
		e.enter(t, StepContacts)
	case "family.checkin":
		e.startCheckin(t)
	case "family.profile":
		t.s.Draft["then"] = StepFamily
		e.enter(t, StepProfileName)
	default:
		return false
	}
	return true
}

// next continues a dialog that was interrupted to ask for something first
// (a contact, the person's name): Draft["then"] says where to.
func (e *Engine) next(t *turn, fallback string) {
	then := t.s.Draft["then"]
	delete(t.s.Draft, "then")
	switch then {
	case StepSafeTo:
		e.startSafe(t)
	case StepCheckinEvery:
		e.startCheckin(t)
	case "":
		e.enter(t, fallback)
	default:
		e.enter(t, then)
	}
}

// --- safe contacts -------------------------------------------------------------

func promptContacts(e *Engine, t *turn) []Output {
	f := t.s.Family
	if f == nil || len(f.Contacts) == 0 {
		return []Output{{Text: text("contacts.none")}, {Text: text("contacts.ask"), Choices: choices("contacts.add")}}
	}
	var lines []string
	for _, c := range f.Contacts {
		lines = append(lines, text("contacts.line", "Name", c.Name, "Phone", phoneDisplay(c.Phone)).Render(e.cat, t.s.Lang))
	}
	return []Output{
		{Text: text("contacts.list", "List", strings.Join(lines, "\n"))},
		{Text: text("contacts.ask"), Choices: choices("contacts.add", "contacts.change", "contacts.delete")},
	}
}

func handleContacts(e *Engine, t *turn, in Input) bool {
	if in.Kind != InputChoice {
		return false
	}
	f := t.s.Family
	t.s.Draft = map[string]string{}
	switch in.Choice {
	case "contacts.add":
		if f != nil && len(f.Contacts) >= maxContacts {
			t.say("contacts.full", "Max", strconv.Itoa(maxContacts))
			t.reply(promptContacts(e, t)...)
			return true
		}
		e.enter(t, StepContactName)
	case "contacts.change", "contacts.delete":
		if f == nil || len(f.Contacts) == 0 {
			return false
		}
		t.s.Draft["op"] = in.Choice
		e.enter(t, StepContactPick)
	default:
		return false
	}
	return true
}

func promptContactName(e *Engine, t *turn) []Output {
	return []Output{{Text: text("contact.name.ask")}}
}

// readName reads a name as contacts will see it (a contact's, or the
// person's own first name); an empty or too long one is answered and refused.
func readName(t *turn, typed string) (string, bool) {
	name, ok := cleanText(typed)
	if !ok || units(name) > maxName {
		t.say("name.bad", "Max", strconv.Itoa(maxName))
		return "", false
	}
	if looksLikePhone(name) {
		t.say("name.phone")
		return "", false
	}
	return name, true
}

// looksLikePhone says whether a typed name is a phone number (six digits or
// more): the number belongs in the next question, not in the name contacts see.
func looksLikePhone(s string) bool {
	n := 0
	for _, r := range s {
		if r >= '0' && r <= '9' {
			n++
		}
	}
	return n >= 6
}

// ownNumber is the person's own phone number, when Enlace knows it: the
// number they write from on SMS or WhatsApp, or the one they shared on Telegram.
func ownNumber(t *turn) string {
	if phoneChannels[t.s.Channel] {
		return t.s.Address
	}
	return t.s.Phone
}

func handleContactName(e *Engine, t *turn, in Input) bool {
	if in.Kind != InputText {
		return false
	}
	name, ok := readName(t, in.Text)
	if !ok {
		return true
	}
	t.s.Draft["name"] = name
	e.enter(t, StepContactPhone)
	return true
}

func promptContactPhone(e *Engine, t *turn) []Output {
	if t.s.Draft["name"] == "" {
		return restart(e, t)
	}
	return []Output{{Text: text("contact.phone.ask", "Name", t.s.Draft["name"], "Example", phoneExample(t.s.Country))}}
}

func handleContactPhone(e *Engine, t *turn, in Input) bool {
	var typed string
	switch in.Kind {
	case InputText:
		typed = in.Text
	case InputContact:
		typed = in.Phone
		if !strings.HasPrefix(typed, "+") && t.s.Country == "" {
			typed = "+" + typed // Telegram shares numbers in international form without the "+"
		}
	default:
		return false
	}
	e.takePhone(t, typed, t.s.Country)
	return true
}

// takePhone reads a contact's number in a region and moves on, or says what is wrong.
func (e *Engine) takePhone(t *turn, typed, region string) {
	num, err := parsePhone(typed, region)
	switch {
	case err == errNeedCountry:
		t.s.Draft["raw"] = limit(typed, 40)
		e.enter(t, StepContactCountry)
		return
	case err != nil:
		if t.s.Step != StepContactPhone {
			t.s.Step = StepContactPhone
		}
		t.say("contact.phone.bad", "Example", phoneExample(region))
		return
	}
	if own, err := parsePhone(ownNumber(t), ""); err == nil && own == num {
		t.s.Step = StepContactPhone
		t.say("contact.phone.own")
		return
	}
	for _, c := range t.family().Contacts {
		if c.Phone == num && c.ID != t.s.Draft["edit"] {
			t.s.Step = StepContactPhone
			t.say("contact.phone.dup", "Name", c.Name)
			return
		}
	}
	t.s.Draft["phone"] = num
	delete(t.s.Draft, "raw")
	e.enter(t, StepContactRelation)
}

// countries are offered when a number has no country code and the person's
// own country is unknown.
var countries = []string{"MX", "GT", "HN", "SV", "NI", "CR", "PA", "BZ", "US", "HT"}

func promptContactCountry(e *Engine, t *turn) []Output {
	ids := make([]string, 0, len(countries)+1)
	for _, c := range countries {
		ids = append(ids, "country."+c)
	}
	return []Output{{Text: text("contact.country.ask"), Choices: choices(append(ids, "country.other")...)}}
}

func handleContactCountry(e *Engine, t *turn, in Input) bool {
	switch in.Kind {
	case InputText:
		if strings.HasPrefix(strings.TrimSpace(in.Text), "+") {
			e.takePhone(t, in.Text, "")
			return true
		}
		return false
	case InputChoice:
		if in.Choice == "country.other" {
			t.s.Step = StepContactPhone
			t.say("contact.phone.plus", "Example", phoneExample(t.s.Country))
			return true
		}
		region, ok := strings.CutPrefix(in.Choice, "country.")
		if !ok || t.s.Draft["raw"] == "" {
			return false
		}
		e.takePhone(t, t.s.Draft["raw"], region)
		return true
	}
	return false
}

func promptContactRelation(e *Engine, t *turn) []Output {
	if t.s.Draft["phone"] == "" {
		return restart(e, t)
	}
	return []Output{{Text: text("contact.relation.ask", "Name", t.s.Draft["name"]), Choices: choices(relations...)}}
}

func handleContactRelation(e *Engine, t *turn, in Input) bool {
	if in.Kind != InputChoice || !strings.HasPrefix(in.Choice, "rel.") {
		return false
	}
	t.s.Draft["rel"] = in.Choice
	e.enter(t, StepContactLang)
	return true
}

func promptContactLang(e *Engine, t *turn) []Output {
	if t.s.Draft["rel"] == "" {
		return restart(e, t)
	}
	ids := make([]string, 0, len(languages.All))
	for _, l := range languages.All {
		ids = append(ids, "lang."+l)
	}
	return []Output{{Text: text("contact.lang.ask", "Name", t.s.Draft["name"]), Choices: choices(ids...)}}
}

func handleContactLang(e *Engine, t *turn, in Input) bool {
	if in.Kind != InputChoice {
		return false
	}
	lang, ok := strings.CutPrefix(in.Choice, "lang.")
	if !ok {
		return false
	}
	t.s.Draft["lang"] = lang
	e.enter(t, StepContactCheck)
	return true
}

func promptContactCheck(e *Engine, t *turn) []Output {
	d := t.s.Draft
	if d["lang"] == "" {
		return restart(e, t)
	}
	tx := text("contact.check", "Name", d["name"], "Phone", phoneDisplay(d["phone"]))
	tx.Refs = map[string]string{"Relation": d["rel"], "Lang": "lang." + d["lang"]}
	return []Output{{Text: tx, Choices: choices("contact.check.yes", "contact.check.no")}}
}

func handleContactCheck(e *Engine, t *turn, in Input) bool {
	if in.Kind != InputChoice {
		return false
	}
	d := t.s.Draft
	switch in.Choice {
	case "contact.check.yes":
		f := t.family()
		c := Contact{Name: d["name"], Phone: d["phone"], Relation: d["rel"], Lang: d["lang"]}
		if i, old := f.contact(d["edit"]); old != nil {
			c.ID, c.Sent = old.ID, old.Sent
			c.Previewed = old.Previewed && old.Phone == c.Phone && old.Lang == c.Lang
			f.Contacts[i] = c
		} else {
			if len(f.Contacts) >= maxContacts {
				t.say("contacts.full", "Max", strconv.Itoa(maxContacts))
				e.enter(t, StepContacts)
				return true
			}
			f.Seq++
			c.ID = "c" + strconv.Itoa(f.Seq)
			f.Contacts = append(f.Contacts, c)
		}
		t.say("contact.saved", "Name", c.Name)
		e.next(t, StepContacts)
	case "contact.check.no":
		edit, then := d["edit"], d["then"]
		t.s.Draft = map[string]string{}
		if edit != "" {
			t.s.Draft["edit"] = edit
		}
		if then != "" {
			t.s.Draft["then"] = then
		}
		e.enter(t, StepContactName)
	default:
		return false
	}
	return true
}

// pickChoices offers the person's contacts by name ("pick.1" is the first),
// and optionally "all of them".
func pickChoices(f *Family, all string) []Choice {
	var cs []Choice
	for i, c := range f.Contacts {
		id := "pick." + strconv.Itoa(i+1)
		cs = append(cs, Choice{ID: id, Label: text(id, "Name", c.Name)})
	}
	if all != "" {
		cs = append(cs, choice(all))
	}
	return cs
}

// picked maps a pick choice, or a contact's name typed, to the contact.
func picked(f *Family, in Input) *Contact {
	if f == nil {
		return nil
	}
	switch in.Kind {
	case InputChoice:
		if n, err := strconv.Atoi(strings.TrimPrefix(in.Choice, "pick.")); err == nil && n >= 1 && n <= len(f.Contacts) {
			return &f.Contacts[n-1]
		}
	case InputText:
		for i := range f.Contacts {
			if textmatch.Normalize(f.Contacts[i].Name) == textmatch.Normalize(in.Text) {
				return &f.Contacts[i]
			}
		}
	}
	return nil
}

func promptContactPick(e *Engine, t *turn) []Output {
	if t.s.Family == nil || len(t.s.Family.Contacts) == 0 {
		return restart(e, t)
	}
	return []Output{{Text: text("contact.pick.ask"), Choices: pickChoices(t.s.Family, "")}}
}

func handleContactPick(e *Engine, t *turn, in Input) bool {
	c := picked(t.s.Family, in)
	if c == nil {
		return false
	}
	if t.s.Draft["op"] == "contacts.delete" {
		t.s.Draft["edit"] = c.ID
		e.enter(t, StepContactDelete)
		return true
	}
	t.s.Draft = map[string]string{"edit": c.ID}
	e.enter(t, StepContactName)
	return true
}

func promptContactDelete(e *Engine, t *turn) []Output {
	_, c := t.s.Family.contact(t.s.Draft["edit"])
	if c == nil {
		return restart(e, t)
	}
	return []Output{{Text: text("contact.delete.ask", "Name", c.Name), Choices: choices("contact.delete.yes", "contact.delete.no")}}
}

func handleContactDelete(e *Engine, t *turn, in Input) bool {
	if in.Kind != InputChoice {
		return false
	}
	f := t.s.Family
	i, c := f.contact(t.s.Draft["edit"])
	switch {
	case c == nil:
		e.enter(t, StepContacts)
	case in.Choice == "contact.delete.yes":
		t.say("contact.deleted", "Name", c.Name)
		id := c.ID
		f.Contacts = append(f.Contacts[:i], f.Contacts[i+1:]...)
		if ci := f.Checkin; ci != nil {
			ci.To = removeID(ci.To, id)
			if len(f.Contacts) == 0 { // nobody left to warn
				e.stopCheckin(t)
			}
		}
		e.enter(t, StepContacts)
	case in.Choice == "contact.delete.no":
		e.enter(t, StepContacts)
	default:
		return false
	}
	return true
}

func removeID(ids []string, id string) []string {
	out := ids[:0]
	for _, x := range ids {
		if x != id {
			out = append(out, x)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// --- the person's name and code word ----------------------------------------------

func promptProfileName(e *Engine, t *turn) []Output {
	return []Output{{Text: text("profile.name.ask")}}
}

func handleProfileName(e *Engine, t *turn, in Input) bool {
	if in.Kind != InputText {
		return false
	}
	name, ok := readName(t, in.Text)
	if !ok {
		return true
	}
	t.family().Name = name
	e.enter(t, StepProfileCode)
	return true
}

func promptProfileCode(e *Engine, t *turn) []Output {
	return []Output{{Text: text("profile.code.ask"), Choices: choices("code.none")}}
}

func handleProfileCode(e *Engine, t *turn, in Input) bool {
	f := t.family()
	switch in.Kind {
	case InputChoice:
		if in.Choice != "code.none" {
			return false
		}
		f.Code = ""
	case InputText:
		code, ok := cleanText(in.Text)
		if !ok || units(code) > maxCode {
			t.say("code.bad", "Max", strconv.Itoa(maxCode))
			return true
		}
		f.Code = code
	default:
		return false
	}
	if f.Code != "" {
		t.say("profile.saved.code", "Name", f.Name, "Code", f.Code)
	} else {
		t.say("profile.saved", "Name", f.Name)
	}
	e.next(t, StepFamily)
	return true
}
