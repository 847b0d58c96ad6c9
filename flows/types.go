package flows

import "time"

// InputKind says what an inbound event carries.
type InputKind string

// The kinds of inbound event.
const (
	InputText     InputKind = "text"
	InputChoice   InputKind = "choice"
	InputLocation InputKind = "location"
	InputContact  InputKind = "contact"
	InputCommand  InputKind = "command"
	InputMedia    InputKind = "media" // anything the bot cannot read: photos, stickers, voice...
	InputTimer    InputKind = "timer" // one of the person's timers is due
	// InputReceipt says whether a message the person sent to someone else
	// (Output.Receipt) was delivered or failed for good.
	InputReceipt InputKind = "receipt"
	// InputOptOut says the person's phone number opted out of every message
	// (a carrier's STOP word, answered by the channel layer, bot/phone).
	InputOptOut InputKind = "optout"
	// InputStaff says what staff did to the person's conversation (Action:
	// claimed, released, a reply with its Text, closed; flows/handoff.go).
	InputStaff InputKind = "staff"
	// InputCase is the pipeline's answer to a CheckCasePIN (Outcome, Case,
	// and View when the PIN was right; flows/tracing.go).
	InputCase InputKind = "case"
)

// Input is one inbound event from a person.
type Input struct {
	Kind    InputKind `json:"kind"`
	Text    string    `json:"text,omitempty"`
	Choice  string    `json:"choice,omitempty"`  // a choice ID, as a button sends it
	Lat     float64   `json:"lat,omitempty"`     // InputLocation
	Lon     float64   `json:"lon,omitempty"`     // InputLocation
	Phone   string    `json:"phone,omitempty"`   // InputContact
	Own     bool      `json:"own,omitempty"`     // InputContact: the shared contact is the sender's own number
	Command string    `json:"command,omitempty"` // InputCommand, without the slash: "start"
	Payload string    `json:"payload,omitempty"` // InputCommand: "/start shelters" -> "shelters"
	Timer   string    `json:"timer,omitempty"`   // InputTimer: the timer's ID
	// InputReceipt: the Output.Receipt reference, and whether it was delivered.
	Receipt   string `json:"receipt,omitempty"`
	Delivered bool   `json:"delivered,omitempty"`
	// InputStaff: what staff did, and for a reply the conversation and the
	// transcript entry it delivers (its delivery status is recorded there).
	Action StaffAction `json:"action,omitempty"`
	Conv   string      `json:"conv,omitempty"`
	Entry  string      `json:"entry,omitempty"`
	// Case, on StaffTracingUpdate, is the tracing case (its store id) and
	// Entry the update (tracing.Update.ID) a caseworker sent.
	Case string `json:"case,omitempty"`
	// Outcome and View, on InputCase: how the PIN check went (CaseOK...) and,
	// when right, what the person may read of the case. On StaffTracingOpened,
	// Outcome is the case's kind (tracing.Kind).
	Outcome string    `json:"outcome,omitempty"`
	View    *CaseView `json:"view,omitempty"`
}

// CaseView is what a person who gave the right PIN reads of their case: its
// code and status, and the updates they have not read yet.
type CaseView struct {
	Code    string       `json:"code"`
	Status  string       `json:"status"`
	Updates []CaseUpdate `json:"updates,omitempty"`
}

// CaseUpdate is one tracing notification as the person reads it: a template
// (tracing.Template; its parameter) or a caseworker's own text.
type CaseUpdate struct {
	ID       string `json:"id"`
	Template string `json:"template,omitempty"`
	Param    string `json:"param,omitempty"`
	Text     string `json:"text,omitempty"`
}

// TracingState is what a session keeps of tracing between dialogs: the case
// a teaser announced, whose PIN the next message of digits may be, and a new
// case still waiting for its PIN.
type TracingState struct {
	Pending string `json:"pending,omitempty"`
	// NeedPIN is the person's new case that has no PIN yet.
	NeedPIN string `json:"need_pin,omitempty"`
	// Offered: the person was asked once whether relatives who search may
	// find them (after an "I am safe" message), whatever they answered.
	Offered bool `json:"offered,omitempty"`
}

// Text is a translatable text: a message ID and its template data.
type Text struct {
	ID   string            `json:"id"`
	Data map[string]string `json:"data,omitempty"`
	// Refs fill template keys with the text of other messages, in the same
	// language (e.g. a country's emergency numbers). Data never names messages,
	// so nothing a person typed can pull in another message.
	Refs map[string]string `json:"refs,omitempty"`
}

// Render returns the text in a language.
func (tx Text) Render(cat Catalog, lang string) string {
	if len(tx.Refs) == 0 {
		return cat.Text(lang, tx.ID, tx.Data)
	}
	data := make(map[string]string, len(tx.Data)+len(tx.Refs))
	for k, v := range tx.Data {
		data[k] = v
	}
	for k, id := range tx.Refs {
		data[k] = cat.Text(lang, id, nil)
	}
	return cat.Text(lang, tx.ID, data)
}

// Choice is one option offered to a person. Channels render choices as buttons
// or as a numbered list; the ID comes back as Input.Choice.
type Choice struct {
	ID    string `json:"id"`
	Label Text   `json:"label"`
}

// Request asks the channel for something only the person's device can give.
type Request string

// The requests.
const (
	RequestNone     Request = ""
	RequestLocation Request = "location"
	RequestContact  Request = "contact"
)

// Output is what one outbound message says, channel neutral: a text, the
// choices offered under it, and what it asks the device for. Reply and
// Message say who reads it.
type Output struct {
	Text    Text     `json:"text"`
	Choices []Choice `json:"choices,omitempty"`
	Request Request  `json:"request,omitempty"`
	// Venue, on a place the shelter finder shows, is its pin, for channels
	// that send one (Telegram's sendVenue); others send the text alone.
	Venue *Venue `json:"venue,omitempty"`
}

// Escalation asks for a volunteer's attention (an effect: the pipeline keeps
// it, sealed, with where the person can be answered).
type Escalation struct {
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
	Lang   string    `json:"lang"`
	Step   string    `json:"step"`
	// Text is what the person wrote, when their words raised it (ReasonDanger,
	// or ReasonAskedForHelp asked in their own words), so a volunteer reads it
	// first in the transcript; it is sealed at rest like everything else.
	Text string `json:"text,omitempty"`
}

// Escalation reasons.
const (
	ReasonAskedForHelp  = "asked_for_help"
	ReasonMisunderstood = "repeated_misunderstanding"
	// ReasonDanger: the person wrote words of danger (flows/danger.go).
	ReasonDanger = "danger"
)

// ReasonPriority orders escalations for volunteers, highest first: danger,
// then a missed check-in, then a request for a person, then misunderstanding.
// Unknown reasons come last.
func ReasonPriority(reason string) int {
	switch reason {
	case ReasonDanger:
		return 4
	case ReasonMissedCheckin:
		return 3
	case ReasonAskedForHelp:
		return 2
	case ReasonMisunderstood:
		return 1
	}
	return 0
}

// Consent is where a person stands on keeping their data.
type Consent string

// Consent states.
const (
	ConsentUnknown  Consent = ""
	ConsentAccepted Consent = "accepted"
)

// SessionVersion is the version of the Session envelope written by this code.
const SessionVersion = 1

// Session is everything the engine remembers about a person between messages.
// The pipeline stores it sealed; it never leaves the process in plaintext.
type Session struct {
	Version int     `json:"v"`
	Lang    string  `json:"lang,omitempty"`
	Consent Consent `json:"consent,omitempty"`
	Country string  `json:"country,omitempty"` // ISO 3166-1 alpha-2 guessed from the address
	// Zone is the IANA time zone of where the person said they are (a pin,
	// a town they named): check-in times are in it (flows/zones.go).
	Zone   string `json:"zone,omitempty"`
	Step   string `json:"step,omitempty"`
	Back   string `json:"back,omitempty"` // the step "back" returns to
	Misses int    `json:"misses,omitempty"`
	// Choices are the IDs of the choices offered last, so a typed number or
	// label (SMS) picks one.
	Choices []string          `json:"choices,omitempty"`
	Payload string            `json:"payload,omitempty"` // a /start payload kept until consent
	Draft   map[string]string `json:"draft,omitempty"`   // half-finished dialog values
	Updated time.Time         `json:"updated"`
	// Channel and Address are where the person last wrote from: where replies
	// to a timer go.
	Channel string `json:"channel,omitempty"`
	Address string `json:"address,omitempty"`
	// ReplyTo holds, per channel, the exact address the provider gave when it
	// differs from Address: WhatsApp writes a Mexican mobile as +521…, which
	// is where WhatsApp delivers, while Address keeps the normalised +52…
	// that is the person's identity on SMS and WhatsApp alike.
	ReplyTo map[string]string `json:"reply_to,omitempty"`
	// Family holds safe contacts, the name and code word they see, and the
	// check-in (flows/contacts.go).
	Family *Family `json:"family,omitempty"`
	// Phone is the person's own number, once they shared it on Telegram.
	Phone string `json:"phone,omitempty"`
	// Handoff is the person's open conversation with staff (flows/handoff.go).
	Handoff *Handoff `json:"handoff,omitempty"`
	// Tracing is the tracing notification waiting for the PIN (flows/tracing.go).
	Tracing *TracingState `json:"tracing,omitempty"`
}

// Result is what one step of the engine produces: the person's new session
// and, in order, what the pipeline must do (see Effect). The engine never acts.
type Result struct {
	Session Session
	Effects []Effect
}

// Outputs returns what every Reply and Message of the result says, in order.
func (r Result) Outputs() []Output {
	var out []Output
	for _, e := range r.Effects {
		switch e := e.(type) {
		case Reply:
			out = append(out, e.Output)
		case Message:
			out = append(out, e.Output)
		}
	}
	return out
}

// Sender describes who wrote, as the channel knows them.
type Sender struct {
	Channel string // "telegram", "sms", "whatsapp", "chat"
	Address string // the channel address, e.g. "+50937001234" or a Telegram chat id
	// ReplyTo is the exact address the provider gave, when it differs from
	// Address (WhatsApp's +521… for a Mexican mobile): replies go there.
	ReplyTo  string
	LangHint string // e.g. Telegram's language_code
}
