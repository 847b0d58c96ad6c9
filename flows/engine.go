package flows

import (
	"context"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nyaruka/phonenumbers"

	"github.com/enlace-rfl/enlace/languages"
	"github.com/enlace-rfl/enlace/textmatch"
)

// Steps of the conversation. A session's Step is one of these (or "" before
// the first message).
const (
	StepLanguage     = "language"
	StepConsent      = "consent"
	StepMenu         = "menu"
	StepEraseConfirm = "erase_confirm"
	StepHelpOffer    = "help_offer"
)

// missesBeforeHelp is how many inputs in a row the engine may fail to understand
// before it offers help from a person.
const missesBeforeHelp = 3

// Config tunes the engine.
type Config struct {
	// DialogTimeout is how long a half-finished dialog may sit idle before the
	// next message starts over at the menu.
	DialogTimeout time.Duration
	// RetentionDays is how long data is kept, as the consent text tells people.
	RetentionDays int
	// CheckinGrace is how long after a missed check-in deadline the person's
	// contacts are warned (1h); ReminderLead is how long before the deadline
	// the person is reminded (1h, at most half a recurring interval).
	CheckinGrace, ReminderLead time.Duration
	// SafeMessagesPerDay is how many "I am safe" messages each contact may get a day (3).
	SafeMessagesPerDay int
	// VolunteerWait is how soon a volunteer usually reads a request, as the
	// operator knows it; 0 says that nobody can tell. It is never a promise.
	VolunteerWait time.Duration
	// Hours are when volunteers are on duty (ENLACE_VOLUNTEER_HOURS); the
	// zero Hours says nothing about it.
	Hours Hours
	// Places is the directory the shelter finder searches; without one the
	// menu does not offer it. Towns matches typed town names (optional).
	Places Directory
	Towns  Gazetteer
	// Fits reports whether a text, as a channel without buttons writes it
	// (choices numbered, see Numbered), goes out as one message that channel
	// allows: on SMS at most 3 parts, after GSM-7 transliteration when it is
	// on (bot/phone.Layer.Fits). The shelter finder fits its list to it. Nil
	// allows 198 UTF-16 units, 3 SMS parts in any alphabet.
	Fits func(channel, text string) bool
	// Tracing offers tracing requests (the pipeline keeps cases), and
	// CaseRetentionDays is how long a closed case is kept, as the tracing
	// consent tells people (180).
	Tracing           bool
	CaseRetentionDays int
}

// Engine runs the conversation. It is safe for concurrent use.
type Engine struct {
	cfg   Config
	cat   Catalog
	words wordIndex
	kinds wordIndex // the shelter finder's kind words (flows/shelters.go)
	// choiceWords are more words for some choices, read before the global
	// words while the choice is offered (flows/words.go).
	choiceWords map[string][]string
	// danger holds the words of danger and of asking for a person (flows/danger.go).
	danger dangerLists
	steps  map[string]step
	// events handle timers and receipts (see event); flows register theirs in New.
	events map[InputKind]func(e *Engine, t *turn, in Input)
}

// step is one state of the conversation: what it says on arrival and how it
// handles an input. handle returns handled=false when it did not understand.
type step struct {
	prompt func(e *Engine, t *turn) []Output
	handle func(e *Engine, t *turn, in Input) bool
	// location says the step takes a shared location itself (the finder, a
	// question about where the person is). Anywhere else a pin opens the
	// nearest places.
	location bool
}

// turn is the working state of one Step call.
type turn struct {
	ctx     context.Context
	s       Session
	sender  Sender
	now     time.Time
	effects []Effect // in the order the step made them
	entered bool     // a step was entered (its prompt already added)
	danger  bool     // the message held words of danger, already answered
}

// The turn's helpers below are how flows make effects.

// emit adds effects.
func (t *turn) emit(e ...Effect) { t.effects = append(t.effects, e...) }

// say replies with one text.
func (t *turn) say(id string, kv ...string) {
	t.emit(Reply{Output: Output{Text: text(id, kv...)}})
}

// reply replies with outputs, such as a step's prompt.
func (t *turn) reply(outs ...Output) {
	for _, o := range outs {
		t.emit(Reply{Output: o})
	}
}

// escalate records an escalation for volunteers from the step the person is at.
func (t *turn) escalate(reason, step string) {
	t.emit(Escalation{Reason: reason, At: t.now, Lang: t.s.Lang, Step: step})
	t.startHandoff(reason)
}

// setTimer sets (or moves) one of the person's timers.
func (t *turn) setTimer(id string, at time.Time) { t.emit(SetTimer{ID: id, At: at}) }

// cancelTimers removes timers of the person.
func (t *turn) cancelTimers(ids ...string) {
	for _, id := range ids {
		t.emit(CancelTimer{ID: id})
	}
}

// erase deletes every record about the person. Timers set earlier in this
// step go with them: a check-in moved by this very message must not outlive it.
func (t *turn) erase() {
	t.effects = slices.DeleteFunc(t.effects, func(e Effect) bool { _, ok := e.(SetTimer); return ok })
	t.s.Handoff = nil // the pipeline erases the conversation with the rest
	t.emit(Erase{})
}

// forget keeps no session for the person.
func (t *turn) forget() {
	if !Has[Forget](t.effects) {
		t.emit(Forget{})
	}
}

// linkPhone makes the Telegram identity that wrote the person of a number.
func (t *turn) linkPhone(num string) { t.emit(LinkPhone{Phone: num}) }

func text(id string, kv ...string) Text {
	tx := Text{ID: id}
	if len(kv) > 0 {
		tx.Data = map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			tx.Data[kv[i]] = kv[i+1]
		}
	}
	return tx
}

func choice(id string) Choice { return Choice{ID: id, Label: Text{ID: id}} }

// New builds an engine over a catalog of translations.
func New(cfg Config, cat Catalog) *Engine {
	if cfg.DialogTimeout <= 0 {
		cfg.DialogTimeout = 30 * time.Minute
	}
	if cfg.RetentionDays <= 0 {
		cfg.RetentionDays = 90
	}
	if cfg.CheckinGrace <= 0 {
		cfg.CheckinGrace = time.Hour
	}
	if cfg.ReminderLead <= 0 {
		cfg.ReminderLead = time.Hour
	}
	if cfg.CaseRetentionDays <= 0 {
		cfg.CaseRetentionDays = 180
	}
	if cfg.SafeMessagesPerDay <= 0 {
		cfg.SafeMessagesPerDay = 3
	}
	e := &Engine{cfg: cfg, cat: cat, words: buildWordIndex(cat, append(globalWords, wordYes, wordNo)), choiceWords: buildChoiceWords(cat)}
	e.danger = buildDangerLists(cat)
	e.events = map[InputKind]func(e *Engine, t *turn, in Input){}
	e.steps = map[string]step{
		StepLanguage:     {prompt: promptLanguage, handle: handleLanguage},
		StepConsent:      {prompt: promptConsent, handle: handleConsent},
		StepMenu:         {prompt: promptMenu, handle: handleMenu},
		StepEraseConfirm: {prompt: promptEraseConfirm, handle: handleEraseConfirm},
		StepHelpOffer:    {prompt: promptHelpOffer, handle: handleHelpOffer},
		StepStopAll:      {prompt: promptStopAll, handle: handleStopAll},
	}
	registerFamily(e)   // safe contacts, "I am safe" messages, check-ins (flows/contacts.go)
	registerShelters(e) // the shelter finder (flows/shelters.go)
	registerTracing(e)  // tracing requests (flows/tracing.go)
	return e
}

// Step handles one inbound event for a person and returns the new session and
// the effects, in order. It never fails: input it cannot use gets an answer.
// ctx bounds the read-only lookups a step may make (e.g. a directory search).
func (e *Engine) Step(ctx context.Context, s Session, in Input, from Sender, now time.Time) Result {
	t := &turn{ctx: ctx, s: s, sender: from, now: now}
	if t.s.Version == 0 {
		country := GuessCountry(from) // parsing the number is the dearest part of a first step: once
		t.s = Session{Version: SessionVersion, Lang: languageFor(from.LangHint, country), Country: country}
	}
	if t.s.Draft == nil {
		t.s.Draft = map[string]string{}
	}
	if t.s.Handoff != nil {
		h := *t.s.Handoff
		t.s.Handoff = &h
	}
	switch in.Kind {
	case InputTimer, InputReceipt:
		e.event(t, in)
		return t.result()
	case InputStaff, InputCase:
		if in.Kind == InputStaff {
			e.staffEvent(t, in, from)
		} else {
			e.event(t, in)
		}
		if t.entered { // a tracing event asked a question: its choices count
			t.rememberChoices()
		}
		return t.result()
	}
	t.s.Channel, t.s.Address = from.Channel, from.Address
	t.s.ReplyTo = withReplyTo(t.s.ReplyTo, from)
	secret := e.secretInput(t, in) // a case code or PIN (flows/tracing.go)
	if in.Kind != InputOptOut && !secret {
		t.transcribe(in) // during a handoff, what the person wrote is for the volunteer
	}
	if in.Kind == InputLocation && t.s.Consent == ConsentAccepted {
		e.zoneFromPin(t, in.Lat, in.Lon) // a pin says where the person is: their time zone
	}
	switch {
	case in.Kind == InputOptOut:
		e.optOut(t)
	case in.Kind == InputText && e.isDanger(in.Text):
		// Words of danger are answered first, in any state (flows/danger.go),
		// and do not count as "I am OK" for a check-in.
		t.s.Family = t.s.Family.clone()
		t.danger = true
		handoff := t.s.Handoff != nil
		e.answerDanger(t, in.Text)
		if handoff {
			e.inHandoff(t, in)
		} else {
			e.run(t, in)
		}
	case !e.checkIn(t, in): // any other message checks the person in (flows/checkin.go)
		if t.s.Handoff != nil && !secret {
			e.inHandoff(t, in)
		} else {
			e.run(t, in)
		}
	}
	t.rememberChoices()
	t.s.Updated = now
	return t.result()
}

// rememberChoices keeps the choices of the last question asked, so a typed
// number or label picks one; a question without choices (a name, a number)
// clears them, so "1" typed there is an answer, not the old menu's first option.
func (t *turn) rememberChoices() {
	for i := len(t.effects) - 1; i >= 0; i-- {
		r, ok := t.effects[i].(Reply)
		if !ok {
			continue
		}
		t.s.Choices = t.s.Choices[:0]
		for _, c := range r.Choices {
			t.s.Choices = append(t.s.Choices, c.ID)
		}
		break
	}
}

func (t *turn) result() Result {
	if len(t.s.Draft) == 0 {
		t.s.Draft = nil
	}
	return Result{Session: t.s, Effects: t.effects}
}

// event handles what happens to a person without them writing: one of their
// timers comes due, or a message they sent someone was delivered or failed.
// Nothing happens for a person whose data is gone, or for an event no flow
// is waiting for.
func (e *Engine) event(t *turn, in Input) {
	if t.s.Step == "" {
		t.forget()
		return
	}
	if h, ok := e.events[in.Kind]; ok {
		h(e, t, in)
	}
}

func (e *Engine) run(t *turn, in Input) {
	fresh := t.s.Step == ""
	// A person who has not agreed yet has only the onboarding steps; a fresh
	// person starts with the language choice whatever they wrote, unless they
	// used a word that needs no data.
	if in.Kind == InputCommand && in.Command == "start" {
		if in.Payload != "" {
			t.s.Payload = limit(in.Payload, 64)
		}
		if t.s.Consent == ConsentAccepted {
			e.enter(t, e.payloadStep(t))
		} else {
			e.enter(t, StepLanguage)
		}
		return
	}
	if in.Kind == InputContact && in.Own && t.sender.Channel == "telegram" && t.s.Consent == ConsentAccepted {
		e.linkPhone(t, in.Phone)
		return
	}
	if id, ok := e.choiceWord(t, in); ok {
		in = Input{Kind: InputChoice, Choice: id} // "cancelar" at the check-in: remove it, not leave
	}
	if word, lang, ok := e.globalWord(in); ok && !e.agreeIsYes(t, word) {
		if e.wroteIn(t, fresh, word, lang, in.Text) {
			t.s.Lang = lang
		}
		e.global(t, word)
		return
	}
	if e.tracingOn() && looksLikeCode(in) {
		// A case code, at any step and from any number (flows/tracing.go).
		e.codeWritten(t, in)
		return
	}
	if fresh {
		e.enter(t, StepLanguage)
		return
	}
	timedOut := t.s.Step != StepMenu && t.now.Sub(t.s.Updated) > e.cfg.DialogTimeout
	if in.Kind == InputLocation && t.s.Consent == ConsentAccepted && e.sheltersOn(t) &&
		(timedOut || !e.steps[t.s.Step].location) {
		// A pin anywhere but where a location is asked for opens the
		// nearest places; the dialog it interrupts is left.
		t.s.Draft = map[string]string{}
		t.s.Step = StepMenu // "back" from the results leads to the menu
		e.moveTo(t, StepShelters)
		e.searchPin(t, in.Lat, in.Lon)
		return
	}
	if t.s.Consent == ConsentAccepted && timedOut {
		t.say("timeout.note")
		t.s.Draft = map[string]string{}
		e.enter(t, StepMenu)
		return
	}
	st, ok := e.steps[t.s.Step]
	if !ok { // a step this version no longer knows: start over safely
		e.enter(t, e.home(t))
		return
	}
	if e.teaserPIN(t, in) { // the PIN of a tracing notification
		return
	}
	if in.Kind == InputMedia {
		t.say("media.unsupported")
		t.reply(st.prompt(e, t)...)
		return
	}
	if in.Kind == InputText {
		if id, ok := e.matchChoice(t, in.Text); ok {
			in = Input{Kind: InputChoice, Choice: id}
			// A typed number or label can pick an option that is a global
			// word (the menu's emergency numbers, language, erase): the same
			// as pressing its button.
			if word, _, ok := e.globalWord(in); ok {
				e.global(t, word)
				return
			}
		}
	}
	if st.handle(e, t, in) {
		t.s.Misses = 0
		return
	}
	if in.Kind == InputText && !t.danger {
		// Not understood as typed: a word of one choice's label ("hermano"
		// for "Hermano o hermana", "mujer", "12 horas") picks that choice.
		if id, ok := e.labelWordChoice(t, in.Text); ok && st.handle(e, t, Input{Kind: InputChoice, Choice: id}) {
			t.s.Misses = 0
			return
		}
	}
	switch {
	case t.danger && t.s.Handoff != nil: // answered already, and now for the volunteers
		e.waitForVolunteer(t)
	case t.danger: // answered already: no "I did not understand"
		t.reply(st.prompt(e, t)...)
	case in.Kind == InputText && t.s.Consent == ConsentAccepted && e.asksForPerson(in.Text):
		e.askForPerson(t, in.Text) // the words start the volunteer's transcript
	default:
		e.miss(t, st)
	}
}

// home is where "menu" leads: the menu once the person agreed, otherwise the
// onboarding step they are on.
func (e *Engine) home(t *turn) string {
	if t.s.Consent == ConsentAccepted {
		return StepMenu
	}
	if t.s.Step == StepConsent {
		return StepConsent
	}
	return StepLanguage
}

// enter moves to a step and adds its prompt.
func (e *Engine) enter(t *turn, name string) {
	e.moveTo(t, name)
	t.reply(e.steps[name].prompt(e, t)...)
}

// moveTo moves to a step without its prompt, for a step whose caller says
// more than the prompt in the same message.
func (e *Engine) moveTo(t *turn, name string) {
	if t.s.Step != name && t.s.Step != "" && t.s.Step != StepHelpOffer && t.s.Step != StepEraseConfirm {
		t.s.Back = t.s.Step
	}
	t.s.Step = name
	t.s.Misses = 0
	t.entered = true
}

func (e *Engine) miss(t *turn, st step) {
	t.s.Misses++
	if t.s.Misses >= missesBeforeHelp && t.s.Consent == ConsentAccepted {
		t.escalate(ReasonMisunderstood, t.s.Step)
		e.enter(t, StepHelpOffer)
		return
	}
	if t.s.Misses >= missesBeforeHelp {
		t.s.Misses = 0
		t.say("help.text")
		t.reply(emergencyOutput(t.s.Country))
		t.reply(st.prompt(e, t)...)
		return
	}
	t.say("unknown.input")
	t.reply(st.prompt(e, t)...)
}

// globalWord recognizes a global word or command in any language.
func (e *Engine) globalWord(in Input) (word, lang string, ok bool) {
	switch in.Kind {
	case InputCommand:
		if w, ok := commandWords[strings.ToLower(in.Command)]; ok {
			return w, "", true
		}
	case InputText:
		if m, ok := e.words[textmatch.Normalize(in.Text)]; ok && m.word != wordYes && m.word != wordNo {
			return m.word, m.lang, true
		}
	case InputChoice:
		switch in.Choice { // choices that work without any stored state
		case "menu.emergency":
			return wordEmergency, "", true
		case "menu.language":
			return wordLanguage, "", true
		case "menu.erase":
			return wordErase, "", true
		}
	}
	return "", "", false
}

func (e *Engine) global(t *turn, word string) {
	switch word {
	case wordMenu:
		t.s.Draft = map[string]string{}
		e.enter(t, e.home(t))
	case wordHelp:
		t.say("help.text")
		if t.s.Step == "" {
			e.enter(t, StepLanguage)
			return
		}
		t.reply(e.steps[t.s.Step].prompt(e, t)...)
	case wordLanguage:
		e.enter(t, StepLanguage)
	case wordBack:
		back := t.s.Back
		switch {
		case t.s.Consent == ConsentAccepted && (t.s.Step == StepMenu || back == StepLanguage || back == StepConsent):
			back = StepMenu // the menu is the top: "back" stays there
		case back == "" || (back != StepLanguage && back != StepConsent && t.s.Consent != ConsentAccepted):
			back = e.home(t)
		}
		t.s.Draft = map[string]string{}
		t.s.Step = "" // entering "back" must not record the current step as its own back
		e.enter(t, back)
		t.s.Back = ""
	case wordErase:
		e.enter(t, StepEraseConfirm)
	case wordEmergency:
		if !t.danger { // words of danger were answered with the numbers already
			t.reply(emergencyOutput(t.s.Country))
		}
		if t.s.Step == "" || t.s.Consent != ConsentAccepted {
			// Nothing is kept for people who did not agree: remind them how to go on.
			t.say("nodata.options")
			if t.s.Step == "" {
				t.forget()
			}
			return
		}
		t.reply(e.steps[t.s.Step].prompt(e, t)...)
	case wordLeave:
		e.leave(t)
	case wordAgree:
		if t.s.Consent == ConsentAccepted {
			e.enter(t, StepMenu)
			return
		}
		e.accept(t)
	}
}

// wroteIn says whether a global word the person typed before agreeing shows
// the language they write in. A word that is also the current language's
// ("emergencia" is Spanish and Portuguese) keeps it: a +55 number stays in
// Portuguese. After the first message, only a word of one language alone
// ("ayuda", not "info") changes it.
func (e *Engine) wroteIn(t *turn, fresh bool, word, lang, typed string) bool {
	if lang == "" || t.s.Consent == ConsentAccepted || e.isWordIn(t.s.Lang, word, typed) {
		return false
	}
	if fresh {
		return true
	}
	n := 0
	for _, l := range languages.All {
		if e.isWordIn(l, word, typed) {
			n++
		}
	}
	return n == 1
}

// isWordIn says whether typed text is one of the words of message id in lang.
func (e *Engine) isWordIn(lang, id, typed string) bool {
	norm := textmatch.Normalize(typed)
	for _, w := range strings.Split(e.cat.Text(lang, id, nil), ",") {
		if textmatch.Normalize(w) == norm {
			return true
		}
	}
	return false
}

// agreeIsYes says whether an agree word ("OK", "de acuerdo", "dakò") answers
// the yes/no question the person was asked, rather than jumping to the menu
// and dropping what they were about to send or save.
func (e *Engine) agreeIsYes(t *turn, word string) bool {
	if word != wordAgree || t.s.Consent != ConsentAccepted {
		return false
	}
	for _, id := range t.s.Choices {
		if isYesChoice(id) {
			return true
		}
	}
	return false
}

// matchChoice maps typed text to one of the choices offered last: by its
// number, or by its label in any language.
func (e *Engine) matchChoice(t *turn, typed string) (string, bool) {
	if len(t.s.Choices) == 0 {
		return "", false
	}
	norm := textmatch.Normalize(typed)
	if n, err := strconv.Atoi(norm); err == nil && n >= 1 && n <= len(t.s.Choices) {
		return t.s.Choices[n-1], true
	}
	for _, id := range t.s.Choices {
		if textmatch.Normalize(e.cat.Text(t.s.Lang, id, nil)) == norm {
			return id, true
		}
	}
	for _, lang := range languages.All {
		for _, id := range t.s.Choices {
			if textmatch.Normalize(e.cat.Text(lang, id, nil)) == norm {
				return id, true
			}
		}
	}
	// Yes and no in any language answer a yes/no question; so does an agree
	// word ("de acuerdo", "dakò"), which is how many people say yes.
	if m, ok := e.words[norm]; ok && (m.word == wordYes || m.word == wordNo || m.word == wordAgree) {
		yes := m.word == wordYes || m.word == wordAgree
		for _, id := range t.s.Choices {
			if yes && isYesChoice(id) || m.word == wordNo && isNoChoice(id) {
				return id, true
			}
		}
	}
	return "", false
}

// isYesChoice and isNoChoice tell the two answers of a yes/no question by
// their IDs: "erase.yes", "consent.accept", "tracing.agree"; "erase.no",
// "consent.decline".
func isYesChoice(id string) bool {
	return strings.HasSuffix(id, ".yes") || strings.HasSuffix(id, ".accept") || strings.HasSuffix(id, ".agree")
}

func isNoChoice(id string) bool {
	return strings.HasSuffix(id, ".no") || strings.HasSuffix(id, ".decline")
}

func limit(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// GuessLanguage picks the language to offer first: the channel's language hint
// (Telegram's language_code) when it is one of ours, otherwise a guess from the
// phone number's country, otherwise Spanish.
func GuessLanguage(from Sender) string {
	return languageFor(from.LangHint, GuessCountry(from))
}

// languageFor is GuessLanguage from the hint and the number's country.
func languageFor(hint, country string) string {
	if l := languages.Match(hint); l != "" {
		return l
	}
	switch country {
	case "HT":
		return "ht"
	case "BR", "PT", "AO", "MZ":
		return "pt"
	case "FR", "SN", "CM", "CD", "CI", "GP", "MQ", "GF":
		return "fr"
	case "GB", "JM", "BZ", "GY", "NG", "GH":
		return "en"
	}
	return languages.Default
}

// GuessCountry returns the ISO country of a phone address, or "" when the
// channel has no phone number.
func GuessCountry(from Sender) string {
	addr := from.Address
	if !strings.HasPrefix(addr, "+") {
		return ""
	}
	if region, ok := soleRegion(addr); ok {
		return region
	}
	num, err := phonenumbers.Parse(addr, "")
	if err != nil {
		return ""
	}
	return phonenumbers.GetRegionCodeForNumber(num)
}

// soleRegion is GuessCountry without parsing, for the usual address: "+"
// and 6 to 15 digits whose country calling code belongs to one region only
// (Mexico's, Guatemala's, Haiti's…), where the parser too answers that
// region whatever the rest of the number. Calling codes are prefix-free, so
// the first of 1, 2 or 3 digits that is one is the number's. ok is false for
// anything else (+1 and the other shared codes, odd lengths, other
// characters), which the parser decides.
func soleRegion(addr string) (region string, ok bool) {
	digits := addr[1:]
	if len(digits) < 6 || len(digits) > 15 {
		return "", false
	}
	if onlyDigits(digits) != digits {
		return "", false
	}
	for n := 1; n <= 3; n++ {
		code, err := strconv.Atoi(digits[:n])
		if err != nil || code == 0 {
			return "", false
		}
		switch regions := phonenumbers.GetRegionCodesForCountryCode(code); len(regions) {
		case 0:
			continue
		case 1:
			return regions[0], true
		default:
			return "", false
		}
	}
	return "", false
}

// withReplyTo records where replies to a sender go on its channel: the exact
// address the provider gave when it is not the normalised one, and nothing
// (the normalised address) otherwise. The map is copied, never changed.
func withReplyTo(m map[string]string, from Sender) map[string]string {
	if from.ReplyTo == "" || from.ReplyTo == from.Address {
		if _, ok := m[from.Channel]; !ok {
			return m
		}
		out := maps.Clone(m)
		delete(out, from.Channel)
		if len(out) == 0 {
			return nil
		}
		return out
	}
	if m[from.Channel] == from.ReplyTo {
		return m
	}
	out := maps.Clone(m)
	if out == nil {
		out = map[string]string{}
	}
	out[from.Channel] = from.ReplyTo
	return out
}
