package main

import (
	"strings"
	"testing"

	"github.com/enlace-rfl/enlace/locales"
)

// TestChatSafeContacts registers a safe contact the way a Mexican types her
// number and sends her an "I am safe" message, in `enlace chat --json` on both
// stores: the SMS to the contact is addressed in E.164, written in the
// contact's language with the code word, after Enlace's introduction (Rosa
// never wrote to Enlace). Then the limits: a fourth contact
// and a message over the length limit are refused and send nothing.
func TestChatSafeContacts(t *testing.T) {
	cat, err := locales.Load()
	if err != nil {
		t.Fatal(err)
	}
	es := func(id string) string { return cat.Text("es", id, nil) }
	for name, env := range storesEnv(t) {
		t.Run(name, func(t *testing.T) {
			from := "+5215587654321"
			args := []string{"--channel", "sms", "--from", from}
			out := runChat(t, env, args,
				"hola", "1", "1",
				es("menu.family"), es("family.safe"),
				".", // no name
				"Rosa",
				"12345", // no number
				"55 1234 5678", es("rel.mother"), "English", "1",
				"Juan", "tamarindo",
				es("safe.kind.safe"), es("safe.send.yes"))
			var toRosa []printed
			var all []string
			for _, p := range out {
				all = append(all, p.Text)
				if p.To == "+525512345678" {
					toRosa = append(toRosa, p)
				} else if p.To != from {
					t.Errorf("a message to %s: %+v", p.To, p)
				}
			}
			text := strings.Join(all, "\n")
			for _, id := range []string{"name.bad", "contact.phone.bad", "contact.saved", "safe.sending"} {
				if want := strings.SplitN(cat.Text("es", id, map[string]string{"Name": "Rosa", "Names": "Rosa", "Max": "20", "Example": "+52 222 123 4567"}), ".", 2)[0]; !strings.Contains(text, want) {
					t.Errorf("the person was not told %s (%q)", id, want)
				}
			}
			if len(toRosa) != 2 {
				t.Fatalf("messages to +525512345678: got %d, want the introduction and the message: %+v", len(toRosa), toRosa)
			}
			for i, want := range []string{cat.Text("en", "intro.relative", nil), "Juan, via Enlace: I am safe. Code word: tamarindo"} {
				if got := toRosa[i]; got.Text != want || got.Lang != "en" || got.Channel != "sms" {
					t.Errorf("message %d to Rosa: got %+v, want %q in English by SMS", i+1, got, want)
				}
			}
			if want := cat.Text("es", "safe.delivered", map[string]string{"Name": "Rosa"}); !strings.Contains(text, want) {
				t.Errorf("no delivery receipt %q", want)
			}

			// Two more contacts; a fourth is refused. A text over the limit is refused.
			out = runChat(t, env, args,
				"menu", es("menu.family"), es("family.contacts"),
				es("contacts.add"), "Ana", "+504 9999-9999", es("rel.sibling"), "Español", "1",
				es("contacts.add"), "Luis", "(502) 5555 1234", es("rel.friend"), "Español", "1",
				es("contacts.add"),
				"menu", es("menu.family"), es("family.safe"), es("safe.all"), es("safe.kind.free"),
				strings.Repeat("a", 51))
			all = all[:0]
			for _, p := range out {
				all = append(all, p.Text)
				if p.To != from {
					t.Errorf("a message to %s: %+v", p.To, p)
				}
			}
			text = strings.Join(all, "\n")
			for _, l := range []string{"- Ana: +504 9999-9999", "- Luis: +502 5555 1234",
				cat.Text("es", "contacts.full", map[string]string{"Max": "3"}),
				cat.Text("es", "text.long", map[string]string{"Count": "51", "Max": "50"})} {
				if !strings.Contains(text, l) {
					t.Errorf("output lacks %q", l)
				}
			}
			if strings.Contains(text, "- Pedro") || strings.Count(text, "- Rosa: ") == 0 {
				t.Errorf("unexpected contact list:\n%s", text)
			}
		})
	}
}
