package inbox_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/enlace-rfl/enlace/bot"
	"github.com/enlace-rfl/enlace/bot/faketime"
	"github.com/enlace-rfl/enlace/flows"
	"github.com/enlace-rfl/enlace/inbox"
	"github.com/enlace-rfl/enlace/keyring"
	"github.com/enlace-rfl/enlace/locales"
	"github.com/enlace-rfl/enlace/staff"
	"github.com/enlace-rfl/enlace/store/teststores"
)

const testKey = "t1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

// store is what both backends give: the pipeline's, the inbox's and staff's.
type store interface {
	bot.Store
	bot.Conversations
	staff.Store
}

// phone records what reaches the person's phone on one channel.
type phone struct {
	name string
	mu   sync.Mutex
	sent []bot.Reply
}

func (p *phone) Name() string { return p.name }
func (p *phone) Send(_ context.Context, r bot.Reply) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sent = append(p.sent, r)
	return nil
}

// take returns what was sent since the last call.
func (p *phone) take() []bot.Reply {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.sent
	p.sent = nil
	return out
}

type env struct {
	t     *testing.T
	clock *faketime.Clock
	pipe  *bot.Pipeline
	st    store
	staff *staff.Service
	inbox *inbox.Service
	sms   *phone
	n     int
}

func backends(t *testing.T) map[string]func(t *testing.T) store {
	out := map[string]func(t *testing.T) store{}
	for name, open := range teststores.Openers() {
		out[name] = func(t *testing.T) store { return open(t) }
	}
	return out
}

func newEnv(t *testing.T, st store, tune ...func(*bot.Config, *[]bot.Channel)) *env {
	keys, err := keyring.Parse(testKey)
	if err != nil {
		t.Fatal(err)
	}
	cat, err := locales.Load()
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, clock: faketime.New(), st: st, sms: &phone{name: "sms"}}
	cfg, channels := bot.Config{ClaimTimeout: 10 * time.Minute}, []bot.Channel{e.sms}
	for _, f := range tune {
		f(&cfg, &channels)
	}
	e.pipe = bot.New(bot.Options{
		Config: cfg, Store: st, Conversations: st, Keys: keys,
		Engine: flows.New(flows.Config{}, cat), Catalog: cat, Channels: channels, Clock: e.clock.Now,
	})
	e.staff = staff.New(staff.Config{Store: st, Keys: keys, Clock: e.clock.Now})
	e.inbox = inbox.New(inbox.Config{Conversations: st, Pipeline: e.pipe, Staff: e.staff, ClaimTimeout: 10 * time.Minute, Clock: e.clock.Now})
	return e
}

// write sends a text from a number and runs the pipeline until it is done.
func (e *env) write(from, text string) []bot.Reply {
	e.t.Helper()
	e.n++
	m := bot.Message{Channel: "sms", From: from, ID: fmt.Sprintf("SM%d", e.n), Input: flows.Input{Kind: flows.InputText, Text: text}}
	if _, err := e.pipe.Accept(context.Background(), m); err != nil {
		e.t.Fatal(err)
	}
	return e.drain()
}

func (e *env) drain() []bot.Reply {
	e.t.Helper()
	e.clock.Advance(time.Second)
	if err := e.pipe.Drain(context.Background()); err != nil {
		e.t.Fatal(err)
	}
	return e.sms.take()
}

func (e *env) account(name string, role staff.Role, langs ...string) (staff.Account, staff.Actor) {
	e.t.Helper()
	a, _, err := e.staff.Add(context.Background(), staff.Operator, name, role, langs)
	if err != nil {
		e.t.Fatal(err)
	}
	return a, staff.ActorOf(a, "192.0.2.1")
}

func (e *env) audited(action string) int {
	e.t.Helper()
	entries, err := e.staff.AuditRecent(context.Background(), 1000)
	if err != nil {
		e.t.Fatal(err)
	}
	n := 0
	for _, x := range entries {
		if x.Action == action {
			n++
		}
	}
	return n
}

const marie = "+50937001234"

// onboard takes a Kreyòl speaker through language and consent, to the menu.
func (e *env) onboard(from string) {
	e.t.Helper()
	e.write(from, "bonjou")
	e.write(from, "4") // Kreyòl
	e.write(from, "1") // agree
}

func texts(rs []bot.Reply) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Text)
	}
	return out
}

// TestHandoffEndToEnd follows a Kreyòl SMS from "I need to talk to someone"
// through the inbox, a claim, silence, a reply and the handback, on both stores.
func TestHandoffEndToEnd(t *testing.T) {
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, open(t))
			ctx := context.Background()
			e.onboard(marie)
			ack := e.write(marie, "mwen bezwen pale ak yon moun")
			if len(ack) != 1 || !strings.Contains(ack[0].Text, "volontè") {
				t.Fatalf("acknowledgement: got %q, want one Kreyòl message about the volunteers", texts(ack))
			}
			ana, _ := e.account("ana", staff.RoleVolunteer, "ht", "fr")
			items, err := e.inbox.List(ctx, ana)
			if err != nil {
				t.Fatal(err)
			}
			if len(items) != 1 || items[0].Lang != "ht" || items[0].Reason != flows.ReasonAskedForHelp || !items[0].Speaks || items[0].Channel != "sms" {
				t.Fatalf("Ana's inbox: %+v", items)
			}
			id := items[0].ID

			// Twenty volunteers claim it at once: one wins, the others are
			// told who has it, the audit shows one claim.
			type member struct {
				a  staff.Account
				by staff.Actor
			}
			var team []member
			for i := range 20 {
				a, by := e.account(fmt.Sprintf("volunteer-%d", i), staff.RoleVolunteer, "ht")
				team = append(team, member{a, by})
			}
			var wg sync.WaitGroup
			var mu sync.Mutex
			var winners []member
			var heldBy []string
			for _, m := range team {
				wg.Go(func() {
					_, err := e.inbox.Claim(ctx, m.by, m.a, id)
					mu.Lock()
					defer mu.Unlock()
					var h *bot.HeldError
					switch {
					case err == nil:
						winners = append(winners, m)
					case errors.As(err, &h):
						heldBy = append(heldBy, h.Holder)
					default:
						t.Errorf("claim: %v", err)
					}
				})
			}
			wg.Wait()
			if len(winners) != 1 || len(heldBy) != 19 || e.audited(inbox.ActionClaim) != 1 {
				t.Fatalf("claims: %d won, %d held, %d audited; want 1, 19, 1", len(winners), len(heldBy), e.audited(inbox.ActionClaim))
			}
			for _, h := range heldBy {
				if h != winners[0].a.ID {
					t.Fatalf("a refused claim names %q as the holder, want %q", h, winners[0].a.ID)
				}
			}
			holder, holderBy := winners[0].a, winners[0].by
			other, otherBy := team[0].a, team[0].by
			if other.ID == holder.ID {
				other, otherBy = team[1].a, team[1].by
			}
			if _, err := e.inbox.Claim(ctx, holderBy, holder, id); err != nil || e.audited(inbox.ActionClaim) != 1 {
				t.Fatalf("the holder claiming again: %v, %d audited", err, e.audited(inbox.ActionClaim))
			}
			e.drain()

			// While claimed, five messages get no bot reply and reach the transcript in order.
			// The words that asked for a person start the transcript.
			said := []string{"mwen bezwen pale ak yon moun"}
			for i := range 5 {
				msg := fmt.Sprintf("mesaj %d: mwen nan Tapachula", i+1)
				said = append(said, msg)
				if got := e.write(marie, msg); len(got) != 0 {
					t.Fatalf("the bot answered during the handoff: %q", texts(got))
				}
			}
			// Words of danger still get the emergency numbers at once.
			if got := e.write(marie, "yo menase m"); len(got) == 0 || !strings.Contains(strings.Join(texts(got), " "), "911") {
				t.Fatalf("danger during the handoff: got %q, want the emergency numbers", texts(got))
			}
			said = append(said, "yo menase m")
			v, err := e.inbox.Open(ctx, holderBy, holder, id)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, x := range v.Entries {
				if x.From == bot.EntryPerson {
					got = append(got, x.Text)
				}
			}
			if !slices.Equal(got, said) {
				t.Fatalf("transcript: got %q, want %q", got, said)
			}
			if v.Address != "•••• 34" || v.Reason != flows.ReasonDanger {
				t.Errorf("view: address %q reason %q, want masked •••• 34 and danger (raised)", v.Address, v.Reason)
			}
			if e.audited(inbox.ActionOpen) != 1 {
				t.Errorf("opening the conversation was audited %d times, want 1", e.audited(inbox.ActionOpen))
			}

			// The other volunteer cannot reply; the holder's reply reaches the phone once.
			if err := e.inbox.Reply(ctx, otherBy, other, id, "x1", "Bonjou"); !errors.Is(err, bot.ErrHeld) && !errors.Is(err, inbox.ErrForbidden) {
				t.Fatalf("a reply by who does not hold it: %v, want refused", err)
			}
			if err := e.inbox.Reply(ctx, holderBy, holder, id, "r1", "Bonjou, mwen la pou ede w."); err != nil {
				t.Fatal(err)
			}
			if err := e.inbox.Reply(ctx, holderBy, holder, id, "r1", "Bonjou, mwen la pou ede w."); err != nil { // a double click
				t.Fatal(err)
			}
			sent := e.drain()
			if len(sent) != 1 || sent[0].Text != "Bonjou, mwen la pou ede w." || sent[0].To != marie || sent[0].Channel != "sms" {
				t.Fatalf("the reply: got %+v, want one SMS to the person", sent)
			}
			v, err = e.inbox.Open(ctx, holderBy, holder, id)
			if err != nil {
				t.Fatal(err)
			}
			last := v.Entries[len(v.Entries)-1]
			if last.From != bot.EntryReply || last.Status.Status != "sent" || last.Status.Via != "sms" {
				t.Fatalf("the reply's entry: %+v, want a reply sent by sms", last)
			}

			// Close: one closing message, then the bot again.
			if _, err := e.inbox.Close(ctx, otherBy, other, id, "answered"); err == nil {
				t.Fatal("the other volunteer closed it")
			}
			if _, err := e.inbox.Close(ctx, holderBy, holder, id, "answered"); err != nil {
				t.Fatal(err)
			}
			if got := e.drain(); len(got) != 1 || !strings.Contains(got[0].Text, "MENI") {
				t.Fatalf("closing: got %q, want one short message", texts(got))
			}
			if got := e.write(marie, "meni"); len(got) != 1 || len(got[0].Choices) == 0 {
				t.Fatalf("after closing: got %q, want the bot's menu", texts(got))
			}
			if items, _ := e.inbox.List(ctx, holder); len(items) != 0 {
				t.Errorf("a closed conversation is still listed: %+v", items)
			}
		})
	}
}

// TestClaimTimesOut: a claim without a reply returns to the queue after the
// claim timeout (fake clock), and the person is told nothing new.
func TestClaimTimesOut(t *testing.T) {
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, open(t))
			ctx := context.Background()
			e.onboard(marie)
			e.write(marie, "mwen bezwen pale ak yon moun")
			ana, anaBy := e.account("ana", staff.RoleVolunteer, "ht")
			items, _ := e.inbox.List(ctx, ana)
			if len(items) != 1 {
				t.Fatalf("inbox: %+v", items)
			}
			if _, err := e.inbox.Claim(ctx, anaBy, ana, items[0].ID); err != nil {
				t.Fatal(err)
			}
			e.clock.Advance(9 * time.Minute)
			if n, err := e.pipe.ReleaseStaleClaims(ctx); err != nil || n != 0 {
				t.Fatalf("before the timeout: released %d, %v", n, err)
			}
			e.clock.Advance(2 * time.Minute)
			if n, err := e.pipe.ReleaseStaleClaims(ctx); err != nil || n != 1 {
				t.Fatalf("after the timeout: released %d, %v", n, err)
			}
			e.drain()
			items, _ = e.inbox.List(ctx, ana)
			if len(items) != 1 || items[0].State != bot.ConvWaiting || items[0].Mine {
				t.Fatalf("after the timeout: %+v, want waiting again", items)
			}
			// Waiting again, the person is told once that their message is kept.
			if got := e.write(marie, "alo?"); len(got) != 1 || !strings.Contains(got[0].Text, "MENI") {
				t.Fatalf("waiting again: got %q", texts(got))
			}
		})
	}
}

// TestVisibilityAndErase: a volunteer sees waiting conversations and their
// own claims, never one another holds; an admin without the inbox cannot read
// one; after erase the conversation is gone.
func TestVisibilityAndErase(t *testing.T) {
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, open(t))
			ctx := context.Background()
			e.onboard(marie)
			e.write(marie, "mwen bezwen pale ak yon moun")
			ana, anaBy := e.account("ana", staff.RoleVolunteer, "ht")
			ben, benBy := e.account("ben", staff.RoleVolunteer, "es")
			adm, admBy := e.account("ada", staff.RoleAdmin, "es")
			items, _ := e.inbox.List(ctx, ben)
			if len(items) != 1 || items[0].Speaks {
				t.Fatalf("Ben's inbox: %+v, want the Kreyòl conversation, after his languages", items)
			}
			id := items[0].ID
			if _, err := e.inbox.Claim(ctx, anaBy, ana, id); err != nil {
				t.Fatal(err)
			}
			if items, _ := e.inbox.List(ctx, ben); len(items) != 0 {
				t.Fatalf("Ben sees Ana's conversation: %+v", items)
			}
			if _, err := e.inbox.Open(ctx, benBy, ben, id); !errors.Is(err, inbox.ErrForbidden) {
				t.Fatalf("Ben opening Ana's conversation: %v, want forbidden", err)
			}
			if _, err := e.inbox.Open(ctx, admBy, adm, id); !errors.Is(err, inbox.ErrForbidden) {
				t.Fatalf("an admin reading a conversation: %v, want forbidden", err)
			}
			if _, err := e.inbox.Assign(ctx, admBy, adm, id, ben); err != nil {
				t.Fatalf("an admin reassigning: %v", err)
			}
			if items, _ := e.inbox.List(ctx, ben); len(items) != 1 || !items[0].Mine {
				t.Fatalf("after reassigning, Ben's inbox: %+v", items)
			}
			if _, err := e.inbox.Unmask(ctx, benBy, ben, id, ""); !errors.Is(err, inbox.ErrNoReason) {
				t.Fatalf("unmask without a reason: %v", err)
			}
			addr, err := e.inbox.Unmask(ctx, benBy, ben, id, "she asked us to call")
			if err != nil || addr != marie {
				t.Fatalf("unmask: %q, %v", addr, err)
			}
			if e.audited(inbox.ActionUnmask) != 1 {
				t.Errorf("unmasking audited %d times, want 1", e.audited(inbox.ActionUnmask))
			}
			for _, bad := range []string{"", "   ", strings.Repeat("a", 1001)} {
				if err := e.inbox.Reply(ctx, benBy, ben, id, "r9", bad); err == nil {
					t.Errorf("reply %q accepted", bad[:min(len(bad), 10)])
				}
			}
			e.write(marie, "efase")
			e.write(marie, "1")
			if _, err := e.inbox.Open(ctx, benBy, ben, id); !errors.Is(err, inbox.ErrNotFound) {
				t.Fatalf("after erase: %v, want not found", err)
			}
		})
	}
}

// TestVolunteersChatHearsOfNewConversations: the volunteers' Telegram chat
// gets one line per new conversation, its language and reason, in the
// configured language, and nothing about the person.
func TestVolunteersChatHearsOfNewConversations(t *testing.T) {
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			tg := &phone{name: "telegram"}
			e := newEnv(t, open(t), func(c *bot.Config, chs *[]bot.Channel) {
				c.NotifyChat, c.NotifyLang = "-1001234567890", "en"
				*chs = append(*chs, tg)
			})
			e.onboard(marie)
			e.write(marie, "mwen bezwen pale ak yon moun")
			e.write(marie, "yo menase m") // joins the open conversation: no second notice
			got := tg.take()
			if len(got) != 1 || got[0].To != "-1001234567890" ||
				got[0].Text != "Enlace: a new conversation is waiting in the inbox (Kreyòl, asked for a person)." {
				t.Fatalf("the volunteers' chat got %+v", got)
			}
			if strings.Contains(got[0].Text, "37001234") || strings.Contains(got[0].Text, "menase") {
				t.Fatalf("the notice reveals the person: %q", got[0].Text)
			}
		})
	}
}

// TestWhatsAppWindowState: a WhatsApp conversation says whether a free-form
// reply may go now and until when (24 hours after the person last wrote),
// and that it is closed once those have passed; an SMS conversation has no
// window. On both stores, on the fake clock.
func TestWhatsAppWindowState(t *testing.T) {
	for name, open := range backends(t) {
		t.Run(name, func(t *testing.T) {
			wa := &phone{name: "whatsapp"}
			e := newEnv(t, open(t), func(_ *bot.Config, ch *[]bot.Channel) { *ch = append(*ch, wa) })
			ctx := context.Background()
			say := func(text string) {
				e.n++
				m := bot.Message{Channel: "whatsapp", From: marie, ID: fmt.Sprintf("WA%d", e.n), Input: flows.Input{Kind: flows.InputText, Text: text}}
				if _, err := e.pipe.Accept(ctx, m); err != nil {
					t.Fatal(err)
				}
				e.drain()
			}
			for _, text := range []string{"bonjou", "4", "1", "mwen bezwen pale ak yon moun"} {
				say(text)
			}
			wrote := e.clock.Now()
			ana, by := e.account("ana", staff.RoleVolunteer, "ht")
			items, err := e.inbox.List(ctx, ana)
			if err != nil || len(items) != 1 || items[0].Channel != "whatsapp" {
				t.Fatalf("inbox %+v, %v", items, err)
			}
			v, err := e.inbox.Open(ctx, by, ana, items[0].ID)
			if err != nil {
				t.Fatal(err)
			}
			if !v.WindowOpen || v.WindowUntil.Before(wrote.Add(23*time.Hour)) || v.WindowUntil.After(wrote.Add(24*time.Hour)) {
				t.Errorf("just after the person wrote: open %v until %v, want open until 24 h after %v", v.WindowOpen, v.WindowUntil, wrote)
			}
			e.clock.Advance(25 * time.Hour)
			if v, err = e.inbox.Open(ctx, by, ana, items[0].ID); err != nil || v.WindowOpen {
				t.Errorf("25 hours later: open %v, %v; want closed", v.WindowOpen, err)
			}

			e.onboard("+50937005678")
			e.write("+50937005678", "mwen bezwen pale ak yon moun")
			items, _ = e.inbox.List(ctx, ana)
			for _, it := range items {
				if it.Channel == "sms" {
					if v, err := e.inbox.Open(ctx, by, ana, it.ID); err != nil || v.WindowOpen || !v.WindowUntil.IsZero() {
						t.Errorf("an SMS conversation: open %v until %v, %v; want no window", v.WindowOpen, v.WindowUntil, err)
					}
				}
			}
		})
	}
}
