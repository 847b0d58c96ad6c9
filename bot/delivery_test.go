package bot_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/enlace-rfl/enlace/bot"
	"github.com/enlace-rfl/enlace/flows"
)

// outage is a provider that fails some numbers, transiently or for good.
type outage struct {
	mu        sync.Mutex
	down      map[string]bool // to -> 503
	permanent map[string]bool // to -> refused for good
}

func newOutage() *outage { return &outage{down: map[string]bool{}, permanent: map[string]bool{}} }

func (o *outage) set(m map[string]bool, on bool, to ...string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, a := range to {
		m[a] = on
	}
}

func (o *outage) fail(r bot.Reply, _ int) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	switch {
	case o.permanent[r.To]:
		return fmt.Errorf("21610: %w", bot.ErrUnreachable)
	case o.down[r.To]:
		return errFlaky
	}
	return nil
}

// deadByChannel counts dead letters per channel and reason kind.
func deadByChannel(t *testing.T, p *bot.Pipeline) map[string]int {
	t.Helper()
	letters, err := p.DeadLetters(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, l := range letters {
		kind := "permanent"
		if strings.HasPrefix(l.Reason, "gave up") {
			kind = "gave up"
		}
		out[l.Channel+" "+kind]++
	}
	return out
}

func TestDeadLettersReplayWhenTheChannelDeliversAgain(t *testing.T) {
	const (
		bob, carol, dave, eve = "+525512340002", "+525512340003", "+525512340004", "+525512340005"
		tgUser, tgOther       = "1001", "1002"
	)
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			st := b.open(t)
			defer st.Close()
			ctx := context.Background()
			smsNet, tgNet := newOutage(), newOutage()
			sms, tg := newRecorder("sms"), newRecorder("telegram")
			sms.fail, tg.fail = smsNet.fail, tgNet.fail
			clk := newClock()
			p := newPipeline(t, st, clk.Now, sms, tg)
			// A second process on the same store sees the recovery too.
			p2 := newPipeline(t, st, clk.Now, sms, tg)

			// SMS and Telegram are down longer than RetryFor (8s); carol's
			// number refuses for good.
			smsNet.set(smsNet.down, true, alice, bob, dave, eve)
			smsNet.set(smsNet.permanent, true, carol)
			tgNet.set(tgNet.down, true, tgUser, tgOther)
			for _, from := range []string{alice, bob, carol} {
				accept(t, p, msg(from, "SM-"+from, "hola"))
			}
			tgMsg := msg(tgUser, "tg-1", "hola")
			tgMsg.Channel = "telegram"
			accept(t, p, tgMsg)
			for range 4 {
				drain(t, p)
				clk.Advance(5 * time.Second)
			}
			drain(t, p)
			if got, want := deadByChannel(t, p), map[string]int{"sms gave up": 2, "sms permanent": 1, "telegram gave up": 1}; fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("dead letters after the outage: got %v, want %v", got, want)
			}
			aliceTries := sms.try[firstID(t, sms, alice)]

			// SMS is back, but for bob. The first reply it delivers (to dave)
			// replays SMS's dead letters that gave up: alice's and bob's,
			// never carol's (refused for good), nor Telegram's (still down).
			smsNet.set(smsNet.down, false, alice, dave, eve)
			accept(t, p, msg(dave, "SM-dave", "hola"))
			drain(t, p)
			drain(t, p2)
			accept(t, p2, msg(eve, "SM-eve", "hola"))
			drain(t, p2) // p2's first delivery looks too: nothing is left to replay
			drain(t, p)
			equal(t, "alice after SMS came back", sms.texts(alice), want("es", "language.prompt"))
			if got := sms.try[firstID(t, sms, alice)]; got != aliceTries+1 {
				t.Errorf("alice's reply: %d attempts, want %d (one after the replay)", got, aliceTries+1)
			}
			for range 4 { // bob's replayed reply fails again, for RetryFor
				clk.Advance(5 * time.Second)
				drain(t, p)
			}
			if got, want := deadByChannel(t, p), map[string]int{"sms gave up": 1, "sms permanent": 1, "telegram gave up": 1}; fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("dead letters after the replay: got %v, want %v", got, want)
			}

			// Bob's number is back: his letter, replayed once already, is not
			// replayed again by itself (an operator still can).
			smsNet.set(smsNet.down, false, bob)
			accept(t, p, msg(eve, "SM-eve2", "menu"))
			drain(t, p)
			if n := len(sms.texts(bob)); n != 0 {
				t.Errorf("bob got %d messages, want none: his letter is replayed automatically only once", n)
			}
			if n := len(sms.texts(carol)); n != 0 || sms.try[onlyTry(t, sms, carol)] != 1 {
				t.Errorf("carol: %d delivered, tried %v; want one try and nothing delivered", n, sms.try)
			}

			// Telegram is back: its letter goes, once.
			tgNet.set(tgNet.down, false, tgUser, tgOther)
			other := msg(tgOther, "tg-2", "hola")
			other.Channel = "telegram"
			accept(t, p, other)
			drain(t, p)
			drain(t, p)
			equal(t, "telegram user after Telegram came back", tg.texts(tgUser), want("es", "language.prompt"))
			if got, want := deadByChannel(t, p), map[string]int{"sms gave up": 1, "sms permanent": 1}; fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("dead letters at the end: got %v, want %v", got, want)
			}
			letters, err := p.DeadLetters(ctx, 10)
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range letters {
				if strings.HasPrefix(l.Reason, "gave up") {
					if err := p.Replay(ctx, l.Person, l.ID); err != nil {
						t.Fatal(err)
					}
				}
			}
			drain(t, p)
			equal(t, "bob after an operator replayed his letter", sms.texts(bob), want("es", "language.prompt"))
		})
	}
}

// firstID is the id of the first reply tried to an address (delivered or not).
func firstID(t *testing.T, r *recorder, to string) string {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.triedTo[to]) == 0 {
		t.Fatalf("nothing tried to %s", to)
	}
	return r.triedTo[to][0]
}

// onlyTry is the id of the one reply tried to an address that got nothing.
func onlyTry(t *testing.T, r *recorder, to string) string {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	ids := r.triedTo[to]
	if len(ids) != 1 {
		t.Fatalf("replies tried to %s: %v, want one", to, ids)
	}
	return ids[0]
}

// TestOptedOutWithTheProviderStaysUntilOptIn: a number that replied STOP to
// its carrier (Twilio 21610) is not cleared by any message of its own, as an
// unreachable one is; its START (SetReachable) clears it.
func TestOptedOutWithTheProviderStaysUntilOptIn(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			st := b.open(t)
			defer st.Close()
			ctx := context.Background()
			rec := newRecorder("sms")
			stopped := true
			rec.fail = func(r bot.Reply, attempt int) error {
				if stopped {
					return fmt.Errorf("21610: %w", bot.ErrOptedOut)
				}
				return nil
			}
			p := newPipeline(t, st, newClock().Now, rec)
			accept(t, p, msg(alice, "SM1", "hola"))
			drain(t, p)
			accept(t, p, msg(alice, "SM2", "1"))
			drain(t, p)
			if got := len(rec.try); got != 1 {
				t.Fatalf("provider tried %d replies, want 1: after 21610 a message of theirs is not enough", got)
			}
			stopped = false
			if err := p.SetReachable(ctx, "sms", alice, true); err != nil { // their START
				t.Fatal(err)
			}
			accept(t, p, msg(alice, "SM3", "menu"))
			drain(t, p)
			if len(rec.texts(alice)) == 0 {
				t.Fatal("nothing sent after the number opted in again")
			}
		})
	}
}

// TestRetryForPerChannel: each channel retries for its own time.
func TestRetryForPerChannel(t *testing.T) {
	st := backends(t)[0].open(t)
	defer st.Close()
	sms, tg := newRecorder("sms"), newRecorder("telegram")
	sms.fail = func(bot.Reply, int) error { return errFlaky }
	tg.fail = sms.fail
	clk := newClock()
	cfg := testConfig
	cfg.RetryForChannel = map[string]time.Duration{"telegram": time.Minute}
	p := newPipelineWith(t, st, clk.Now, cfg, sms, tg)
	tgMsg := msg("1001", "tg-1", "hola")
	tgMsg.Channel = "telegram"
	accept(t, p, msg(alice, "SM1", "hola"))
	accept(t, p, tgMsg)
	for range 11 { // to 55s
		drain(t, p)
		clk.Advance(5 * time.Second)
	}
	drain(t, p)
	if got, want := deadByChannel(t, p), map[string]int{"sms gave up": 1}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("after 55s: got %v, want only SMS's reply dead (its 8s passed, Telegram's minute not)", got)
	}
	clk.Advance(5 * time.Second)
	drain(t, p)
	if got, want := deadByChannel(t, p), map[string]int{"sms gave up": 1, "telegram gave up": 1}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("after 60s (the last try, when Telegram's minute ends): got %v, want %v", got, want)
	}
}

// TestReplayedMessageTellsTheSenderItArrived: SMS is down for longer than
// RetryFor while a person sends a message to a contact; it gives up (and the
// introduction before it), and its sender's "it failed" waits too. When SMS
// delivers again all are replayed, in order, and the sender also hears that
// the message arrived after all, once.
func TestReplayedMessageTellsTheSenderItArrived(t *testing.T) {
	const mom, bob = "+50255551234", "+525512340002"
	st := backends(t)[0].open(t)
	defer st.Close()
	net := newOutage()
	rec := newRecorder("sms")
	rec.fail = net.fail
	clk := newClock()
	p := enginePipeline(t, st, clk.Now, receiptEngine{flows.New(flows.Config{}, catalog)}, rec)
	for i, text := range []string{"hola", "1", "1"} {
		accept(t, p, msg(alice, fmt.Sprintf("SM%d", i), text))
		drain(t, p)
	}
	before := len(rec.texts(alice))
	net.set(net.down, true, alice, mom, bob)
	accept(t, p, msg(alice, "SM9", "tell mom"))
	// Alice's reply, the introduction, mom's message and the failure receipt
	// each retry for 8s, in turn.
	for range 8 {
		drain(t, p)
		clk.Advance(5 * time.Second)
	}
	drain(t, p)
	if got := deadByChannel(t, p)["sms gave up"]; got < 2 {
		t.Fatalf("dead letters after the outage: %d gave up, want mom's message and alice's replies", got)
	}
	net.set(net.down, false, alice, mom, bob)
	accept(t, p, msg(bob, "SM-bob", "hola")) // SMS delivers again
	for range 3 {
		drain(t, p)
	}
	if got := afterIntro(t, "en", rec.texts(mom)); len(got) != 1 {
		t.Fatalf("mom got %d messages after the introduction, want 1", len(got))
	}
	after := rec.texts(alice)[before:]
	if n := countText(after, catalog.Text("es", "erase.confirm", nil)); n != 1 {
		t.Errorf("failure receipts: got %d in %q, want 1", n, after)
	}
	if n := countText(after, catalog.Text("es", "erase.kept", nil)); n != 1 {
		t.Errorf("delivery receipts after the replay: got %d in %q, want 1", n, after)
	}
	if letters, _ := p.DeadLetters(context.Background(), 10); len(letters) != 0 {
		t.Errorf("dead letters at the end: %+v, want none", letters)
	}
}

// TestFailedSendIsUnsure: a send that failed without saying whether the
// provider took it (a timeout, a 5xx) is tried again unsure from when the
// failed attempt began (Reply.Unsure, kept in the store with the reply), so
// a channel that can ask its provider does before sending; a throttle says
// the provider took nothing, so the retry is not unsure.
func TestFailedSendIsUnsure(t *testing.T) {
	for _, tc := range []struct {
		name       string
		err        error
		wantUnsure bool
	}{
		{"transient", errFlaky, true},
		{"throttled", &bot.ErrThrottled{RetryAfter: time.Second}, false},
		{"throttled after a part went", &bot.ErrThrottled{RetryAfter: time.Second, Partial: true}, true},
	} {
		for _, b := range backends(t) {
			t.Run(tc.name+"/"+b.name, func(t *testing.T) {
				st := b.open(t)
				defer st.Close()
				rec := newRecorder("sms")
				rec.fail = func(r bot.Reply, attempt int) error {
					if attempt == 1 {
						return tc.err
					}
					return nil
				}
				clk := newClock()
				p := newPipeline(t, st, clk.Now, rec)
				accept(t, p, msg(alice, "SM1", "hola"))
				firstTry := clk.Now()
				drain(t, p)
				clk.Advance(time.Minute)
				drain(t, p)
				got := rec.replies()
				if len(got) != 1 {
					t.Fatalf("delivered %d replies, want 1", len(got))
				}
				if r := got[0]; tc.wantUnsure != !r.Unsure.IsZero() || tc.wantUnsure && !r.Unsure.Equal(firstTry) {
					t.Errorf("retry after a %s failure: unsure %v, want unsure since %v: %v", tc.name, r.Unsure, firstTry, tc.wantUnsure)
				}
			})
		}
	}
}
