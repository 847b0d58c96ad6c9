package bot_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/enlace-rfl/enlace/bot"
	"github.com/enlace-rfl/enlace/flows"
)

func tgMsg(id string, in flows.Input) bot.Message {
	return bot.Message{Channel: "telegram", ID: id, From: "4242", Input: in}
}

// TestTelegramUserWhoSharesTheirNumberIsThatNumber: a Telegram user shares
// their own contact; SMS and WhatsApp from that number then continue the same
// conversation (same language, no second onboarding), Telegram keeps working,
// and erasing from SMS removes the link too.
func TestTelegramUserWhoSharesTheirNumberIsThatNumber(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			st := b.open(t)
			defer st.Close()
			ctx := context.Background()
			tg, sms, wa := newRecorder("telegram"), newRecorder("sms"), newRecorder("whatsapp")
			clk := newClock()
			p := newPipeline(t, st, clk.Now, tg, sms, wa)
			for i, in := range []flows.Input{
				{Kind: flows.InputCommand, Command: "start"}, {Kind: flows.InputChoice, Choice: "lang.en"},
				{Kind: flows.InputChoice, Choice: "consent.accept"}, {Kind: flows.InputChoice, Choice: "menu.link"},
				{Kind: flows.InputContact, Phone: "525512345678", Own: true},
			} {
				accept(t, p, tgMsg(fmt.Sprintf("u%d", i), in))
				drain(t, p)
			}
			got := tg.texts("4242")
			if want := catalog.Text("en", "link.done", map[string]string{"Phone": "+52 55 1234 5678"}); !strings.Contains(strings.Join(got, "\n"), want) {
				t.Fatalf("Telegram replies %q lack %q", got, want)
			}
			accept(t, p, msg(alice, "SM1", "menu"))
			drain(t, p)
			if got := sms.texts(alice); len(got) != 1 || got[0] != catalog.Text("en", "menu.prompt", nil) {
				t.Errorf("SMS from the linked number: got %q, want the English menu (the same conversation)", got)
			}
			m := msg(alice, "WA1", "menu")
			m.Channel = "whatsapp"
			accept(t, p, m)
			drain(t, p)
			if got := wa.texts(alice); len(got) != 1 || got[0] != catalog.Text("en", "menu.prompt", nil) {
				t.Errorf("WhatsApp from the linked number: got %q, want the English menu", got)
			}
			before := len(tg.texts("4242"))
			accept(t, p, tgMsg("u9", flows.Input{Kind: flows.InputText, Text: "menu"}))
			drain(t, p)
			if got := tg.texts("4242"); len(got) != before+1 || got[len(got)-1] != catalog.Text("en", "menu.prompt", nil) {
				t.Errorf("Telegram after linking: got %q, want the English menu once more", got[before:])
			}
			tgPerson := p.Person("telegram", "4242")
			if _, err := st.LoadSession(ctx, tgPerson, clk.Now()); !errors.Is(err, bot.ErrNotFound) {
				t.Errorf("the Telegram identity kept a session of its own: %v", err)
			}
			// Erase from SMS: the link goes with everything else.
			accept(t, p, msg(alice, "SM2", "erase"))
			drain(t, p)
			accept(t, p, msg(alice, "SM3", "1"))
			drain(t, p)
			if _, err := st.Alias(ctx, tgPerson, clk.Now()); !errors.Is(err, bot.ErrNotFound) {
				t.Errorf("alias after erase: got %v, want it gone", err)
			}
			accept(t, p, tgMsg("u10", flows.Input{Kind: flows.InputText, Text: "hello"}))
			drain(t, p)
			if got := tg.texts("4242"); got[len(got)-1] != catalog.Text("es", "language.prompt", nil) {
				t.Errorf("Telegram after erase: got %q, want a fresh start", got[len(got)-1])
			}
		})
	}
}

// TestLinkKeepsTheNumbersConversation: when the number already talks to
// Enlace, its conversation (language) wins over the Telegram one.
func TestLinkKeepsTheNumbersConversation(t *testing.T) {
	st := backends(t)[0].open(t)
	defer st.Close()
	tg, sms := newRecorder("telegram"), newRecorder("sms")
	p := newPipeline(t, st, newClock().Now, tg, sms)
	for i, text := range []string{"hola", "5", "1"} { // Português by SMS
		accept(t, p, msg(alice, fmt.Sprintf("SM%d", i), text))
		drain(t, p)
	}
	for i, in := range []flows.Input{
		{Kind: flows.InputCommand, Command: "start"}, {Kind: flows.InputChoice, Choice: "lang.en"},
		{Kind: flows.InputChoice, Choice: "consent.accept"},
		{Kind: flows.InputContact, Phone: "+525512345678", Own: true},
		{Kind: flows.InputText, Text: "menu"},
	} {
		accept(t, p, tgMsg(fmt.Sprintf("u%d", i), in))
		drain(t, p)
	}
	got := tg.texts("4242")
	if last := got[len(got)-1]; last != catalog.Text("pt", "menu.prompt", nil) {
		t.Errorf("Telegram after linking to a number with a conversation: got %q, want the Portuguese menu", last)
	}
}

// TestLastInboundRemembersWhereAndWhen: the 24-hour WhatsApp window is read
// from the person's session, so it survives a restart.
func TestLastInboundRemembersWhereAndWhen(t *testing.T) {
	st := backends(t)[0].open(t)
	defer st.Close()
	ctx := context.Background()
	clk := newClock()
	p := newPipeline(t, st, clk.Now, newRecorder("whatsapp"))
	if _, known, err := p.LastInbound(ctx, "whatsapp", alice); err != nil || known {
		t.Fatalf("before any message: known %v, %v", known, err)
	}
	m := msg(alice, "WA1", "hola")
	m.Channel = "whatsapp"
	accept(t, p, m)
	drain(t, p)
	restarted := newPipeline(t, st, clk.Now, newRecorder("whatsapp"))
	at, known, err := restarted.LastInbound(ctx, "whatsapp", alice)
	if err != nil || !known || clk.Now().Sub(at) > time.Minute {
		t.Errorf("after a WhatsApp message: got %v, %v, %v, want about now", at, known, err)
	}
	if _, known, _ := restarted.LastInbound(ctx, "sms", alice); known {
		t.Error("an SMS window is reported although the person wrote on WhatsApp")
	}
}
