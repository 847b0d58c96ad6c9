package flows

import (
	"time"

	"github.com/enlace-rfl/enlace/tracing"
)

// Effect is one thing a step asks the pipeline to do: reply, write to someone
// else, record an escalation, set or cancel a timer, erase or forget the
// person, link a phone number. The engine only returns effects, in the order
// the step made them; the pipeline (bot) applies each one with one small
// function. A new kind is one type here, with its EffectName, and one
// function in bot/effects.go.
type Effect interface {
	// EffectName names the kind, for logs and metrics ("reply", "timer.set").
	EffectName() string
}

// Reply is a message to the person who wrote (for a timer or a receipt: to
// where they last wrote from), in their session's language.
type Reply struct {
	Output
	// Conv and Entry, on a staff member's reply, name the conversation and
	// the transcript entry it delivers, whose delivery status is recorded.
	Conv  string `json:"conv,omitempty"`
	Entry string `json:"entry,omitempty"`
	// Case, on a tracing teaser, names the case whose update (Entry) it
	// announces: its delivery steps are recorded in the case.
	Case string `json:"case,omitempty"`
	// Confirms names the Receipts of the step's Messages this reply says are
	// being sent; the pipeline drops it when it refused every one of them
	// (Message.Daily).
	Confirms []string `json:"confirms,omitempty"`
}

// Message is a message to someone else than the person who wrote: a safe
// contact, later a volunteer.
type Message struct {
	// To is the reader's address (an E.164 number for a safe contact).
	To string `json:"to"`
	// Channel to send it on; empty means the channel the person wrote on, or
	// SMS when that has no phone numbers. A phone number's message goes where
	// that number's person talks to Enlace, when they agreed to it.
	Channel string `json:"channel,omitempty"`
	// Lang is the reader's language; empty means the session's.
	Lang string `json:"lang,omitempty"`
	// Receipt, when set, asks for an InputReceipt with this reference once
	// the message is delivered or has failed for good.
	Receipt string `json:"receipt,omitempty"`
	// Daily, when set, counts the message against a limit per reader and
	// day that outlives the sender's data: the pipeline keeps the count by
	// the reader's number, so erasing and starting again does not reset it.
	Daily *Daily `json:"daily,omitempty"`
	Output
}

// Daily is a Message's limit per reader and 24 hours. Once the reader had
// PerDay messages, the pipeline does not send it and tells the person Refused.
type Daily struct {
	PerDay  int    `json:"per_day"`
	Refused Output `json:"refused"`
}

// SetTimer asks for an InputTimer with this ID at a time. Setting a timer
// with an ID that exists moves it. A timer that fired is cancelled unless the
// step that handles it sets it again.
type SetTimer struct {
	ID string    `json:"id"`
	At time.Time `json:"at"`
}

// CancelTimer removes one of the person's timers (nothing if there is none).
type CancelTimer struct {
	ID string `json:"id"`
}

// Erase deletes every record about the person (opt-outs excepted) before the
// rest of the step is kept. Timers set earlier in the same step are dropped
// by the engine, so a check-in moved by the very message that erases does not
// outlive it.
type Erase struct{}

// Forget keeps no session at all for the person: they have not agreed to
// keeping data, or have just erased it.
type Forget struct{}

// LinkPhone makes the Telegram identity that wrote the same person as this
// E.164 number on SMS and WhatsApp (they shared it as their own contact).
type LinkPhone struct {
	Phone string `json:"phone"`
}

// OpenCase opens a tracing case the person confirmed in chat: the pipeline
// stores it (once, however often the step is repeated), gives it a code and
// answers with an InputStaff of action StaffTracingOpened.
type OpenCase struct {
	Case tracing.Case `json:"case"`
}

// SetCasePIN sets the PIN of a case that has none yet; the pipeline keeps
// only its hash.
type SetCasePIN struct {
	Case string `json:"case"`
	PIN  string `json:"-"`
}

// CheckCasePIN checks a PIN against the case of a code (written from any
// number) or of an id (a teaser's); the pipeline counts wrong PINs, locks
// the case after three and answers with an InputCase.
type CheckCasePIN struct {
	Code string `json:"code,omitempty"`
	Case string `json:"case,omitempty"`
	PIN  string `json:"-"`
}

// CaseRead records that the person read updates of a case (after the PIN).
type CaseRead struct {
	Case    string   `json:"case"`
	Updates []string `json:"updates"`
}

// CaseReply adds what the person wrote to the caseworker to the case.
type CaseReply struct {
	Case string `json:"case"`
	Text string `json:"text"`
}

// CaseReach sends a case's news to where the person writes from now (their
// phone was lost or changed), in their language.
type CaseReach struct {
	Case    string `json:"case"`
	Channel string `json:"channel"`
	Address string `json:"address"`
	Lang    string `json:"lang"`
}

// EffectName implements Effect.
func (OpenCase) EffectName() string { return "case.open" }

// EffectName implements Effect.
func (SetCasePIN) EffectName() string { return "case.set_pin" }

// EffectName implements Effect.
func (CheckCasePIN) EffectName() string { return "case.check_pin" }

// EffectName implements Effect.
func (CaseRead) EffectName() string { return "case.read" }

// EffectName implements Effect.
func (CaseReply) EffectName() string { return "case.reply" }

// EffectName implements Effect.
func (CaseReach) EffectName() string { return "case.reach" }

// EffectName implements Effect.
func (Reply) EffectName() string { return "reply" }

// EffectName implements Effect.
func (Message) EffectName() string { return "message" }

// EffectName implements Effect.
func (Escalation) EffectName() string { return "escalation" }

// EffectName implements Effect.
func (SetTimer) EffectName() string { return "timer.set" }

// EffectName implements Effect.
func (CancelTimer) EffectName() string { return "timer.cancel" }

// EffectName implements Effect.
func (Erase) EffectName() string { return "erase" }

// EffectName implements Effect.
func (Forget) EffectName() string { return "forget" }

// EffectName implements Effect.
func (LinkPhone) EffectName() string { return "link_phone" }

// EffectsOf returns the effects of one kind, in order.
func EffectsOf[E Effect](effects []Effect) []E {
	var out []E
	for _, e := range effects {
		if e, ok := e.(E); ok {
			out = append(out, e)
		}
	}
	return out
}

// Has reports whether effects hold one of kind E.
func Has[E Effect](effects []Effect) bool {
	for _, e := range effects {
		if _, ok := e.(E); ok {
			return true
		}
	}
	return false
}
