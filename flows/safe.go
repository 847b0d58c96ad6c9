package flows

import (
	"strconv"
	"strings"
	"time"
)

// safeKinds are the messages a person can send their contacts. Each has a
// "safe.kind.<kind>" choice and, except "free", a "safe.body.<kind>" text.
var safeKinds = []string{"safe", "town", "arrived", "shelter", "phone", "free"}

// startSafe begins an "I am safe" message, first asking for what is missing:
// a contact, the name they will see.
func (e *Engine) startSafe(t *turn) {
	t.s.Draft = map[string]string{}
	f := t.s.Family
	if f == nil || len(f.Contacts) == 0 {
		t.say("safe.nocontacts")
		t.s.Draft["then"] = StepSafeTo
		e.enter(t, StepContactName)
		return
	}
	if f.Name == "" {
		t.s.Draft["then"] = StepSafeTo
		e.enter(t, StepProfileName)
		return
	}
	if len(f.Contacts) == 1 {
		e.safeTo(t, []*Contact{&f.Contacts[0]})
		return
	}
	e.enter(t, StepSafeTo)
}

func promptSafeTo(e *Engine, t *turn) []Output {
	if t.s.Family == nil || len(t.s.Family.Contacts) == 0 {
		return restart(e, t)
	}
	return []Output{{Text: text("safe.to.ask"), Choices: pickChoices(t.s.Family, "safe.all")}}
}

func handleSafeTo(e *Engine, t *turn, in Input) bool {
	f := t.s.Family
	if in.Kind == InputChoice && in.Choice == "safe.all" && f != nil {
		var all []*Contact
		for i := range f.Contacts {
			all = append(all, &f.Contacts[i])
		}
		e.safeTo(t, all)
		return true
	}
	c := picked(f, in)
	if c == nil {
		return false
	}
	e.safeTo(t, []*Contact{c})
	return true
}

// safeTo keeps the contacts who may still get a message today, says who may
// not, and asks which message to send.
func (e *Engine) safeTo(t *turn, cs []*Contact) {
	var ids []string
	for _, c := range cs {
		if !e.allowed(t, c) {
			t.say("safe.limit", "Name", c.Name, "Max", strconv.Itoa(e.cfg.SafeMessagesPerDay))
			continue
		}
		ids = append(ids, c.ID)
	}
	if len(ids) == 0 {
		e.enter(t, StepFamily)
		return
	}
	t.s.Draft["to"] = strings.Join(ids, ",")
	e.enter(t, StepSafeKind)
}

// allowed says whether a contact may get one more message today, forgetting
// sends older than a day.
func (e *Engine) allowed(t *turn, c *Contact) bool {
	kept := c.Sent[:0]
	for _, at := range c.Sent {
		if t.now.Sub(at) < 24*time.Hour {
			kept = append(kept, at)
		}
	}
	c.Sent = kept
	if len(c.Sent) == 0 {
		c.Sent = nil
	}
	return len(c.Sent) < e.cfg.SafeMessagesPerDay
}

// draftContacts are the contacts Draft["to"] names that still exist.
func draftContacts(t *turn) []*Contact {
	var cs []*Contact
	for _, id := range strings.Split(t.s.Draft["to"], ",") {
		if _, c := t.s.Family.contact(id); c != nil {
			cs = append(cs, c)
		}
	}
	return cs
}

func promptSafeKind(e *Engine, t *turn) []Output {
	if len(draftContacts(t)) == 0 {
		return restart(e, t)
	}
	ids := make([]string, 0, len(safeKinds))
	for _, k := range safeKinds {
		ids = append(ids, "safe.kind."+k)
	}
	return []Output{{Text: text("safe.kind.ask"), Choices: choices(ids...)}}
}

func handleSafeKind(e *Engine, t *turn, in Input) bool {
	if in.Kind != InputChoice {
		return false
	}
	kind, ok := strings.CutPrefix(in.Choice, "safe.kind.")
	if !ok {
		return false
	}
	t.s.Draft["kind"] = kind
	switch kind {
	case "safe", "shelter":
		e.prepareSafe(t)
	case "phone":
		if num, err := parsePhone(t.s.Address, ""); err == nil && phoneChannels[t.s.Channel] {
			t.s.Draft["place"] = phoneDisplay(num) // the number they write from
			e.prepareSafe(t)
			return true
		}
		e.enter(t, StepSafeText)
	case "town", "arrived", "free":
		e.enter(t, StepSafeText)
	default:
		return false
	}
	return true
}

// phoneChannels address people by phone number.
var phoneChannels = map[string]bool{"sms": true, "whatsapp": true}

func promptSafeText(e *Engine, t *turn) []Output {
	switch t.s.Draft["kind"] {
	case "town":
		return []Output{{Text: text("safe.town.ask", "Max", strconv.Itoa(maxPlace))}}
	case "arrived":
		return []Output{{Text: text("safe.place.ask", "Max", strconv.Itoa(maxPlace))}}
	case "phone":
		return []Output{{Text: text("safe.phone.ask", "Example", phoneExample(t.s.Country))}}
	case "free":
		return []Output{{Text: text("safe.free.ask", "Max", strconv.Itoa(maxFreeText))}}
	}
	return restart(e, t)
}

func handleSafeText(e *Engine, t *turn, in Input) bool {
	if in.Kind != InputText {
		return false
	}
	kind := t.s.Draft["kind"]
	if kind == "phone" {
		num, err := parsePhone(in.Text, t.s.Country)
		if err != nil {
			t.say("contact.phone.bad", "Example", phoneExample(t.s.Country))
			return true
		}
		t.s.Draft["place"] = phoneDisplay(num)
		e.prepareSafe(t)
		return true
	}
	most := maxPlace
	if kind == "free" {
		most = maxFreeText
	}
	s, ok := takeText(t, in.Text, most)
	if !ok {
		return true
	}
	t.s.Draft["place"] = s
	if kind == "town" || kind == "arrived" {
		// The town the person says they are in: their time zone, when its
		// name is a town of one zone.
		if z := e.zoneOfTyped(s); z != "" && z != "?" {
			t.s.Zone = z
		}
	}
	e.prepareSafe(t)
	return true
}

// takeText reads a short text the person wrote, or says why it cannot be used.
func takeText(t *turn, typed string, most int) (string, bool) {
	s, ok := cleanText(typed)
	switch {
	case !ok:
		t.say("text.empty")
		return "", false
	case units(s) > most:
		t.say("text.long", "Count", strconv.Itoa(units(s)), "Max", strconv.Itoa(most))
		return "", false
	}
	return s, true
}

// prepareSafe shows the person what contacts who never got a message from
// Enlace will read, and asks before sending; others get it right away.
func (e *Engine) prepareSafe(t *turn) {
	for _, c := range draftContacts(t) {
		if !c.Previewed {
			e.enter(t, StepSafeSend)
			return
		}
	}
	e.sendSafe(t)
}

// safeText is what a contact reads: the body in their language, signed with
// the person's first name and Enlace, with the code word when there is one.
func (e *Engine) safeText(f *Family, c *Contact, kind, place string) Text {
	body := place
	if kind != "free" {
		body = e.cat.Text(c.Lang, "safe.body."+kind, map[string]string{"Place": place})
	}
	return envelope(f, body)
}

func envelope(f *Family, body string) Text {
	if f.Code != "" {
		return text("safe.sms.code", "Name", f.Name, "Body", body, "Code", f.Code)
	}
	return text("safe.sms", "Name", f.Name, "Body", body)
}

func promptSafeSend(e *Engine, t *turn) []Output {
	cs := draftContacts(t)
	if len(cs) == 0 || t.s.Family.Name == "" {
		return restart(e, t)
	}
	var out []Output
	for _, c := range cs {
		if c.Previewed {
			continue
		}
		sms := e.safeText(t.s.Family, c, t.s.Draft["kind"], t.s.Draft["place"]).Render(e.cat, c.Lang)
		out = append(out, Output{Text: text("safe.preview", "Name", c.Name, "Text", sms)})
	}
	return append(out, Output{Text: text("safe.send.ask"), Choices: choices("safe.send.yes", "safe.send.no")})
}

func handleSafeSend(e *Engine, t *turn, in Input) bool {
	if in.Kind != InputChoice {
		return false
	}
	switch in.Choice {
	case "safe.send.yes":
		e.sendSafe(t)
	case "safe.send.no":
		t.say("safe.cancelled")
		t.s.Draft = map[string]string{}
		e.enter(t, StepFamily)
	default:
		return false
	}
	return true
}

// sendSafe sends the drafted message to each contact by SMS, in their language,
// asking for a delivery receipt, within the daily limit.
func (e *Engine) sendSafe(t *turn) {
	f := t.s.Family
	var sent []*Contact
	for _, c := range draftContacts(t) {
		if !e.allowed(t, c) {
			t.say("safe.limit", "Name", c.Name, "Max", strconv.Itoa(e.cfg.SafeMessagesPerDay))
			continue
		}
		// The session counts too, to refuse before composing; the pipeline's
		// count by the contact's number is the one that survives erase.
		limit := Output{Text: text("safe.limit", "Name", c.Name, "Max", strconv.Itoa(e.cfg.SafeMessagesPerDay))}
		t.emit(Message{To: c.Phone, Lang: c.Lang, Channel: "sms",
			Output: Output{Text: e.safeText(f, c, t.s.Draft["kind"], t.s.Draft["place"])}, Receipt: "safe:" + c.ID,
			Daily: &Daily{PerDay: e.cfg.SafeMessagesPerDay, Refused: limit}})
		c.Sent = append(c.Sent, t.now)
		c.Previewed = true
		sent = append(sent, c)
	}
	t.s.Draft = map[string]string{}
	if len(sent) > 0 {
		var refs []string
		for _, c := range sent {
			refs = append(refs, "safe:"+c.ID)
		}
		t.emit(Reply{Output: Output{Text: text("safe.sending", "Names", e.names(t.s.Lang, sent))}, Confirms: refs})
		if e.offerFindable(t) { // once: may relatives who search find them? (flows/findable.go)
			return
		}
	}
	e.enter(t, StepMenu)
}

// handleReceipt tells the person whether a message to a contact arrived.
func handleReceipt(e *Engine, t *turn, in Input) {
	_, id, ok := strings.Cut(in.Receipt, ":")
	if !ok {
		return
	}
	_, c := t.s.Family.contact(id)
	if c == nil {
		return // deleted since
	}
	if in.Delivered {
		t.say("safe.delivered", "Name", c.Name)
	} else {
		t.say("safe.failed", "Name", c.Name)
	}
}
