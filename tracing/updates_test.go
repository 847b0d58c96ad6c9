package tracing_test

import (
	"testing"
	"time"

	"github.com/enlace-rfl/enlace/tracing"
)

// TestDeliveryOf: a provider's status is one of the five states a
// caseworker sees (a Messaging Service's "accepted" once showed as
// "unknown"); a WhatsApp read receipt is delivered, never read (only the
// PIN reads an update).
func TestDeliveryOf(t *testing.T) {
	for in, want := range map[string]string{
		"accepted": tracing.DeliveryQueued, "scheduled": tracing.DeliveryQueued, "queued": tracing.DeliveryQueued,
		"sending": tracing.DeliveryQueued, "sent": tracing.DeliverySent, "delivered": tracing.DeliveryDelivered,
		"read": tracing.DeliveryDelivered, "undelivered": tracing.DeliveryFailed, "failed": tracing.DeliveryFailed,
		"canceled": tracing.DeliveryFailed,
	} {
		if got := tracing.DeliveryOf(in); got != want {
			t.Errorf("DeliveryOf(%q) = %q, want %q", in, got, want)
		}
	}
	u := tracing.Update{Delivery: []tracing.DeliveryStep{{Channel: "sms", Status: "accepted"}}}
	if got := u.Status(); got != tracing.DeliveryQueued {
		t.Errorf("an update Twilio accepted: %q, want queued", got)
	}
	u.Delivery = append(u.Delivery, tracing.DeliveryStep{Channel: "whatsapp", Status: "read"})
	if got := u.Status(); got != tracing.DeliveryDelivered {
		t.Errorf("a WhatsApp read receipt: %q, want delivered", got)
	}
	u.Read = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	if got := u.Status(); got != tracing.DeliveryRead {
		t.Errorf("read with the PIN: %q", got)
	}
}
