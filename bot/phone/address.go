package phone

import (
	"strings"

	"github.com/enlace-rfl/enlace/phone"
)

// Address splits an address as a provider gives it (Twilio: "+52…" on SMS,
// "whatsapp:+521…" on WhatsApp) into its channel, the normalised E.164
// number that is the person's identity on every phone channel, and the exact
// address to answer at on that channel: WhatsApp writes a Mexican mobile as
// +521…, and delivers there, while SMS knows it as +52…. replyTo is empty
// when it is the number itself. An address that is not a valid phone number
// is refused (phone.ErrInvalid).
func Address(addr string) (channel, number, replyTo string, err error) {
	channel = "sms"
	if rest, ok := strings.CutPrefix(addr, "whatsapp:"); ok {
		channel, addr = "whatsapp", rest
	}
	number, err = phone.Normalize(addr)
	if err != nil {
		return channel, "", "", err
	}
	if exact := strings.TrimSpace(addr); exact != number && isE164(exact) {
		replyTo = exact
	}
	return channel, number, replyTo, nil
}

// isE164 reports whether s is "+" and 8 to 15 ASCII digits.
func isE164(s string) bool {
	digits, ok := strings.CutPrefix(s, "+")
	if !ok || len(digits) < 8 || len(digits) > 15 {
		return false
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
