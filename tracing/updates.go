package tracing

import (
	"slices"
	"time"
)

// Template names a tracing notification a caseworker may send. Each has a text
// in the five languages (locales, keys "tracing.update.<template>"). News of a
// death is never a template: the console asks for a personal contact instead.
type Template string

// The notification templates.
const (
	TemplateNews             Template = "news"               // there is news about your request
	TemplateContactPoint     Template = "contact_point"      // please contact the Red Cross at <point> (Param)
	TemplateStillSearching   Template = "still_searching"    // we are still searching
	TemplateSafeWantsContact Template = "safe_wants_contact" // your relative is safe and wants to contact you
	TemplateOwnText          Template = "own_text"           // the caseworker's own short text (Text)
)

// Templates lists every template, in the order the console offers them.
var Templates = []Template{TemplateNews, TemplateContactPoint, TemplateStillSearching, TemplateSafeWantsContact, TemplateOwnText}

// KnownTemplate reports whether t is one of Templates.
func KnownTemplate(t Template) bool { return slices.Contains(Templates, t) }

// Delivery states of a notification, as the caseworker sees them.
const (
	DeliveryQueued    = "queued"
	DeliverySent      = "sent"
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed"
	DeliveryRead      = "read" // the person gave the right PIN and read it
)

// DeliveryStep is one step of a notification's way to the phone: on which
// channel, what happened, when. A fall back to another channel is a new step.
type DeliveryStep struct {
	Channel string    `json:"channel"`
	Status  string    `json:"status"`
	At      time.Time `json:"at"`
	// Error is a short provider code or reason ("telegram 403"), never text
	// of the message.
	Error string `json:"error,omitempty"`
}

// Update is a tracing notification to the enquirer. It is kept in the sealed
// case; what first reaches the phone is only the teaser ("tracing.teaser":
// there is news, reply with your PIN), and the update itself is shown in chat
// after the right PIN.
type Update struct {
	ID       string   `json:"id"`
	Template Template `json:"template"`
	// Param is the template's parameter (the contact point); Text is the
	// caseworker's own text for TemplateOwnText.
	Param string `json:"param,omitempty"`
	Text  string `json:"text,omitempty"`
	// By is the staff account id that sent it.
	By       string         `json:"by"`
	Created  time.Time      `json:"created"`
	Read     time.Time      `json:"read,omitzero"`
	Delivery []DeliveryStep `json:"delivery,omitempty"`
}

// Status is the update's latest delivery state (DeliveryRead once read).
func (u Update) Status() string {
	if !u.Read.IsZero() {
		return DeliveryRead
	}
	if len(u.Delivery) == 0 {
		return DeliveryQueued
	}
	return DeliveryOf(u.Delivery[len(u.Delivery)-1].Status)
}

// DeliveryOf names a provider's delivery status (Twilio's accepted, queued,
// sending, sent, delivered, undelivered, failed, read; the pipeline's own) as
// one of the delivery states a caseworker sees. A provider's "read" (a
// WhatsApp read receipt) is delivered: only the PIN makes an update read.
// A status it does not know stays as it is.
func DeliveryOf(status string) string {
	switch status {
	case "accepted", "scheduled", "queued", "sending":
		return DeliveryQueued
	case "sent":
		return DeliverySent
	case "delivered", "read":
		return DeliveryDelivered
	case "undelivered", "failed", "canceled":
		return DeliveryFailed
	}
	return status
}

// Unread returns the updates the enquirer has not read yet, oldest first.
func (c *Case) Unread() []Update {
	var out []Update
	for _, u := range c.Updates {
		if u.Read.IsZero() {
			out = append(out, u)
		}
	}
	return out
}

// Note is a caseworker's note on a case, sealed with it.
type Note struct {
	By   string    `json:"by"`
	Text string    `json:"text"`
	At   time.Time `json:"at"`
}

// Message is something the enquirer wrote about the case after reading an
// update (their reply reaches the case for the caseworker).
type Message struct {
	// ID names what the person sent (their inbound message), so a repeated
	// step keeps it once.
	ID      string    `json:"id,omitempty"`
	Text    string    `json:"text"`
	Channel string    `json:"channel"`
	At      time.Time `json:"at"`
}
