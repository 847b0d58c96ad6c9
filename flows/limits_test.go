package flows_test

import (
	"testing"

	"github.com/enlace-rfl/enlace/flows"
)

// TestContactIsNotThePersonNorANumberAsAName: a phone number typed as a
// contact's name, and the person's own number (as WhatsApp writes it, +521…)
// as a safe contact, are refused with a clear answer and asked again.
func TestContactIsNotThePersonNorANumberAsAName(t *testing.T) {
	e := newEngine(t)
	for _, from := range []flows.Sender{mxSMS, {Channel: "whatsapp", Address: "+525511119999", ReplyTo: "+5215511119999"}} {
		s := onboarded(t, e, from)
		play(t, e, from, s, []exchange{
			{in: pick("menu.family"), want: []string{"family.ask"}},
			{in: pick("family.contacts"), want: []string{"contacts.none", "contacts.ask"}},
			{in: pick("contacts.add"), want: []string{"contact.name.ask"}},
			{in: text("55 8765 4321"), want: []string{"name.phone"}},
			{in: text("Mamá"), want: []string{"contact.phone.ask"}},
			{in: text("55 1111 9999"), want: []string{"contact.phone.own"}},
			{in: text("+52 1 55 1111 9999"), want: []string{"contact.phone.own"}},
			{in: text("55 8765 4321"), want: []string{"contact.relation.ask"}},
		})
	}
}
