package bot

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/enlace-rfl/enlace/flows"
)

// Message is one inbound message, as a channel adapter hands it to the pipeline.
type Message struct {
	Channel string `json:"channel"` // "telegram", "sms", "whatsapp"
	ID      string `json:"id"`      // the channel's own message id, for dedupe
	From    string `json:"from"`    // the channel address: a Telegram chat id, an E.164 number
	// ReplyTo is the exact address the provider gave, when it differs from
	// the normalised From (WhatsApp's +521… for a Mexican mobile): replies
	// go there, while From is who the person is.
	ReplyTo  string      `json:"reply_to,omitempty"`
	LangHint string      `json:"lang_hint,omitempty"` // e.g. Telegram's language_code
	Input    flows.Input `json:"input"`
	Received time.Time   `json:"received"`
}

// ReplyChoice is one choice as a channel shows it.
type ReplyChoice struct {
	ID    string `json:"id"`
	Label string `json:"label"`
}

// Reply is one outbound message, rendered in its reader's language, waiting in
// the outbox. Channels decide how choices and requests look.
type Reply struct {
	ID      string `json:"id"`
	Channel string `json:"channel"`
	To      string `json:"to"`
	// Address, when set, is the exact address to deliver to on the channel
	// (WhatsApp's +521… form of a Mexican mobile); To stays the normalised
	// number the reader is known by.
	Address string        `json:"address,omitempty"`
	Lang    string        `json:"lang"`
	Text    string        `json:"text"`
	Choices []ReplyChoice `json:"choices,omitempty"`
	Request flows.Request `json:"request,omitempty"`
	// Venue is a place's map pin, sent after the text by channels that can
	// (Telegram); the text already says where it is for the others.
	Venue    *flows.Venue `json:"venue,omitempty"`
	Created  time.Time    `json:"created"`
	Attempts int          `json:"attempts,omitempty"`
	// NotBefore holds the reply back until then: a provider's "retry after",
	// a backoff, or the pace of a channel. It travels with the reply in the
	// store, so every process honours it, and new replies queued behind it
	// cannot hurry it.
	NotBefore time.Time `json:"not_before,omitzero"`
	// FailingSince is when the first of its failed attempts was (zero while
	// none failed): it is retried until Config.RetryFor after it.
	FailingSince time.Time `json:"failing_since,omitzero"`
	// LastError is the reason of the last failed attempt (no personal data).
	LastError string `json:"last_error,omitempty"`
	// Unsure, when not zero, is when an attempt began that may have reached
	// the provider without its outcome being known: its claim ran out (a
	// crash) or the call failed in a way that does not say (a timeout, a
	// reset, a 5xx). A channel that can ask its provider what it sent
	// (Twilio's message list) sends only what did not leave since then; the
	// others send again (at least once).
	Unsure time.Time `json:"unsure,omitzero"`
	// GaveUp marks a dead letter whose retry time ran out on transient
	// failures: it is replayed once its channel delivers again. AutoReplayed
	// marks one that was, so it is replayed automatically only once.
	GaveUp       bool `json:"gave_up,omitempty"`
	AutoReplayed bool `json:"auto_replayed,omitempty"`
	// Proactive is true for messages to someone other than the person who wrote.
	Proactive bool `json:"proactive,omitempty"`
	// ReceiptTo is the person (keyed hash) to tell when this proactive message
	// is delivered or fails for good, with ReceiptRef as the reference.
	ReceiptTo  string `json:"receipt_to,omitempty"`
	ReceiptRef string `json:"receipt_ref,omitempty"`
	// OptOutNotice marks the one reply that confirms an opt-out: it is sent
	// even though the address has just opted out.
	OptOutNotice bool `json:"optout_notice,omitempty"`
	// Conv and Entry, on a staff member's reply, name the conversation and
	// transcript entry whose delivery status the reply's fate is recorded on.
	Conv  string `json:"conv,omitempty"`
	Entry string `json:"entry,omitempty"`
}

// Channel delivers replies on one messaging channel.
type Channel interface {
	// Name is the channel's name as it appears in addresses ("telegram").
	Name() string
	// Send delivers one reply. It returns nil, an *ErrThrottled, an error
	// wrapping ErrUnreachable (or ErrOptedOut) or ErrRejected (permanent: do
	// not retry), or any
	// other error (transient: retried with backoff).
	Send(ctx context.Context, r Reply) error
}

// DeliveryReporter is implemented by channels that learn later whether a
// message reached the phone (Twilio's status callbacks). For them a successful
// Send is not yet delivery: the channel calls Pipeline.Receipt itself.
type DeliveryReporter interface {
	ReportsDelivery() bool
}

// Pacer is implemented by channels that must not send to one recipient faster
// than an interval (Telegram: about one message a second per chat).
type Pacer interface {
	MinInterval() time.Duration
}

var (
	// ErrUnreachable means the recipient cannot be reached on this channel
	// (blocked the bot, opted out, not a mobile number): retrying will not help.
	ErrUnreachable = errors.New("recipient unreachable")
	// ErrOptedOut means the recipient told the provider itself to send no
	// more (Twilio 21610: they replied STOP to the carrier). It wraps
	// ErrUnreachable, but unlike a plain unreachable address only the
	// recipient's opt-in (START) lifts it, not any message of theirs.
	ErrOptedOut = fmt.Errorf("%w: opted out with the provider", ErrUnreachable)
	// ErrRejected means the provider refused the message itself (e.g. chat not
	// found, invalid parameters): retrying will not help.
	ErrRejected = errors.New("message rejected")
	// ErrBadReceipt means a delivery receipt names no person or reply that
	// can exist (see Pipeline.Receipt).
	ErrBadReceipt = errors.New("malformed receipt reference")
)

// ErrThrottled means the provider asked us to wait before sending again.
type ErrThrottled struct {
	RetryAfter time.Duration
	// Lane says the provider throttled the sender, not one recipient (a
	// Twilio 429 counts the whole account): everyone on the lane waits.
	Lane bool
	// Partial says parts of the reply went before the provider throttled a
	// later one: the retry is unsure (Reply.Unsure).
	Partial bool
}

func (e *ErrThrottled) Error() string { return fmt.Sprintf("throttled: retry after %s", e.RetryAfter) }

// Destination is where a reply is delivered: its exact Address, else To.
func (r Reply) Destination() string {
	if r.Address != "" {
		return r.Address
	}
	return r.To
}
