package bot_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/enlace-rfl/enlace/bot"
	"github.com/enlace-rfl/enlace/flows"
	"github.com/enlace-rfl/enlace/keyring"
)

const (
	rotK1 = "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
	rotK2 = "k2:HyAhIiMkJSYnKCkqKywtLi8wMTIzNDU2Nzg5Ojs8PT4="
)

// keyedPipeline is a pipeline with its own ENLACE_SECRET_KEY and the engine
// of timers_test.go ("remind me" sets a timer an hour ahead).
func keyedPipeline(t *testing.T, st bot.Store, clk *clock, spec string, channels ...bot.Channel) (*bot.Pipeline, *keyring.Keyring) {
	t.Helper()
	keys, err := keyring.Parse(spec)
	if err != nil {
		t.Fatal(err)
	}
	return bot.New(bot.Options{
		Config: testConfig, Store: st, Keys: keys, Engine: remindingEngine{flows.New(flows.Config{}, catalog)},
		Catalog: catalog, Channels: channels, Clock: clk.Now,
	}), keys
}

func number(i int) string { return fmt.Sprintf("+5025555%04d", i) }
func chatID(i int) string { return fmt.Sprintf("77%04d", i) }

// TestRotateKeysKeepsEveryone fills a store with 100 people (sessions,
// escalations, timers, Telegram aliases, STOP opt-outs, a dead letter) under a
// deployment's only key, rotates as README says (a new key in front), finds
// every one of them, re-seals, retires the old key (its entry renamed
// "hash") and still finds and opens everything.
func TestRotateKeysKeepsEveryone(t *testing.T) {
	const people = 100
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			st := b.open(t)
			defer st.Close()
			clk := newClock()
			sms, tg := newRecorder("sms"), newRecorder("telegram")
			old, _ := keyedPipeline(t, st, clk, rotK1, sms, tg)
			for step, text := range []string{"hola", "1", "1", "1", "remind me"} {
				for i := range people {
					if text == "1" && step == 3 && i%4 != 0 {
						continue // every fourth asks for a person: an escalation
					}
					accept(t, old, msg(number(i), fmt.Sprintf("SM%d-%d", i, step), text))
				}
				drain(t, old)
			}
			for i := 0; i < people; i += 10 { // every tenth also writes on Telegram and shares their number
				for step, in := range []flows.Input{
					{Kind: flows.InputCommand, Command: "start"}, {Kind: flows.InputChoice, Choice: "lang.es"},
					{Kind: flows.InputChoice, Choice: "consent.accept"},
					{Kind: flows.InputContact, Phone: strings.TrimPrefix(number(i), "+"), Own: true},
				} {
					accept(t, old, bot.Message{Channel: "telegram", ID: fmt.Sprintf("tg%d-%d", i, step), From: chatID(i), Input: in})
				}
			}
			drain(t, old)
			for i := 0; i < people; i += 5 { // every fifth said STOP
				if err := old.SetOptOut(ctx, "sms", number(i), true); err != nil {
					t.Fatal(err)
				}
			}
			if err := old.Send(ctx, "fax", number(1), "es", flowsOutput("help.text")); err != nil {
				t.Fatal(err) // no such channel: a dead letter
			}
			drain(t, old)

			// Rotation: a new current key in front.
			rotated, _ := keyedPipeline(t, st, clk, rotK2+","+rotK1, sms, tg)
			findEveryone(t, rotated, st, people)
			rep, err := rotated.Reseal(ctx)
			if err != nil {
				t.Fatal(err)
			}
			// sessions, escalations, the dead letter
			if rep.Before["k1"] != people+people/4+1 || rep.Resealed != rep.Before["k1"] || rep.Unreadable != 0 {
				t.Fatalf("reseal: %+v", rep)
			}
			if rep, err := rotated.Reseal(ctx); err != nil || rep.Resealed != 0 || len(rep.Before) != 1 || rep.Before["k2"] == 0 {
				t.Fatalf("second reseal: %+v, %v; want everything already under k2", rep, err)
			}

			// Retire k1: its entry becomes the hashing key only.
			retired, keys := keyedPipeline(t, st, clk, rotK2+",hash:"+strings.TrimPrefix(rotK1, "k1:"), sms, tg)
			if keys.Holds("k1") {
				t.Fatal("k1 still opens records")
			}
			findEveryone(t, retired, st, people)
			escalations, err := st.Escalations(ctx, 10*people)
			if err != nil {
				t.Fatal(err)
			}
			opened := 0
			for _, l := range escalations {
				if _, err := keys.Open("escalation", l.Person, l.Item.Data); err == nil {
					opened++
				}
			}
			if opened != people/4 || len(escalations) != people/4 {
				t.Errorf("escalations: %d of %d open, want %d", opened, len(escalations), people/4)
			}
			letters, err := retired.DeadLetters(ctx, 10)
			if err != nil || len(letters) != 1 || letters[0].Reason != "no channel configured" {
				t.Errorf("dead letters after retiring k1: %+v, %v", letters, err)
			}
			// The timers fire, and everyone who did not say STOP is reminded.
			before := sms.count()
			clk.Advance(61 * time.Minute)
			drain(t, retired)
			help := catalog.Text("es", "help.text", nil)
			for i := range people {
				got := countText(sms.texts(number(i)), help)
				if wantN := map[bool]int{true: 0, false: 1}[i%5 == 0]; got != wantN {
					t.Errorf("person %d: reminded %d times, want %d", i, got, wantN)
				}
			}
			if sms.count()-before != people-people/5 {
				t.Errorf("after the timers: %d messages, want %d", sms.count()-before, people-people/5)
			}

			// The control: a keyring whose hash moved finds nobody.
			moved, _ := keyedPipeline(t, st, clk, rotK2)
			if _, known, _ := moved.LastInbound(ctx, "sms", number(1)); known {
				t.Error("a keyring with another hashing key found a person: the test cannot tell")
			}
		})
	}
}

// findEveryone checks that a pipeline finds all the people of
// TestRotateKeysKeepsEveryone: their sessions open, their timers are there,
// Telegram identities are their numbers, and STOP holds.
func findEveryone(t *testing.T, p *bot.Pipeline, st bot.Store, people int) {
	t.Helper()
	ctx := context.Background()
	for i := range people {
		if _, known, err := p.LastInbound(ctx, "sms", number(i)); err != nil || !known {
			t.Fatalf("person %d: session not found (%v)", i, err)
		}
		timers, err := st.Timers(ctx, p.Person("sms", number(i)))
		if err != nil || !slices.ContainsFunc(timers, func(tm bot.Timer) bool { return tm.ID == "reminder" }) {
			t.Errorf("person %d: timers %+v, %v", i, timers, err)
		}
		out, err := p.OptedOut(ctx, "sms", number(i))
		if err != nil || out != (i%5 == 0) {
			t.Errorf("person %d: opted out %v, %v", i, out, err)
		}
		if i%10 == 0 {
			if to, err := p.PersonOf(ctx, "telegram", chatID(i)); err != nil || to != p.Person("sms", number(i)) {
				t.Errorf("person %d: Telegram identity stands for %q (%v), want their number", i, to, err)
			}
		}
	}
}

// TestRecordCopiedUnderAnotherPersonDoesNotOpen copies Alice's sealed
// session and an inbound message of hers under Bob's key: neither opens for
// Bob. The message is dropped (no reply, no panic) and Bob, writing himself,
// starts a conversation of his own rather than continuing Alice's.
func TestRecordCopiedUnderAnotherPersonDoesNotOpen(t *testing.T) {
	const bob = "+50255550101"
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			st := b.open(t)
			defer st.Close()
			rec := newRecorder("sms")
			clk := newClock()
			p := newPipeline(t, st, clk.Now, rec)
			for i, text := range []string{"hola", "2", "1"} { // Alice, in English, at the menu
				accept(t, p, msg(alice, fmt.Sprintf("SM%d", i), text))
				drain(t, p)
			}
			a, bo := p.Person("sms", alice), p.Person("sms", bob)
			session, err := st.LoadSession(ctx, a, clk.Now())
			if err != nil {
				t.Fatal(err)
			}
			token, err := st.Lock(ctx, bo, time.Minute, clk.Now())
			if err != nil {
				t.Fatal(err)
			}
			if err := st.Commit(ctx, bo, token, bot.Commit{Session: session, SessionTTL: time.Hour}, clk.Now()); err != nil {
				t.Fatal(err)
			}
			if err := st.Unlock(ctx, bo, token); err != nil {
				t.Fatal(err)
			}
			accept(t, p, msg(alice, "SM9", "menu"))
			item, err := st.NextInbound(ctx, a)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := st.Accept(ctx, bo, "copied", item, time.Hour, clk.Now()); err != nil {
				t.Fatal(err)
			}
			drain(t, p)
			if got := rec.texts(bob); len(got) != 0 {
				t.Fatalf("Bob got %q from Alice's copied message", got)
			}
			if _, known, _ := p.LastInbound(ctx, "sms", bob); known {
				t.Error("Alice's session opened as Bob's")
			}
			accept(t, p, msg(bob, "SMb", "hola"))
			drain(t, p)
			equal(t, "Bob's first reply", rec.texts(bob), want("es", "language.prompt"))
			if got := rec.texts(alice); got[len(got)-1] != catalog.Text("en", "menu.prompt", nil) {
				t.Errorf("Alice's own message: got %q, want the English menu", got[len(got)-1])
			}
		})
	}
}
