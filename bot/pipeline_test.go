package bot_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/enlace-rfl/enlace/bot"
)

const alice = "+525512345678"

// onboarding is what a Spanish-speaking person reads for "hola", "1" (Español), "1" (Acepto).
func onboarding() []string {
	consent := catalog.Text("es", "consent.text", map[string]string{"Days": "90"})
	return []string{
		catalog.Text("es", "language.prompt", nil),
		consent, catalog.Text("es", "consent.question", nil),
		catalog.Text("es", "consent.thanks", nil), catalog.Text("es", "menu.prompt", nil),
	}
}

func TestDuplicateIsHandledOnce(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			st := b.open(t)
			defer st.Close()
			rec := newRecorder("sms")
			p := newPipeline(t, st, newClock().Now, rec)
			if !accept(t, p, msg(alice, "SM1", "hola")) {
				t.Fatal("first delivery reported as a duplicate")
			}
			drain(t, p)
			if accept(t, p, msg(alice, "SM1", "hola")) {
				t.Error("second delivery of SM1 was accepted again")
			}
			drain(t, p)
			equal(t, "replies", rec.texts(alice), want("es", "language.prompt"))
		})
	}
}

func TestOnePersonsMessagesAreHandledInOrder(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			st := b.open(t)
			defer st.Close()
			rec := newRecorder("sms")
			clk := newClock()
			// Two pipelines on one store, as two processes sharing one Redis
			// would be (bbolt allows one process, so there they share the handle).
			p1, p2 := newPipeline(t, st, clk.Now, rec), newPipeline(t, st, clk.Now, rec)
			const people = 8
			var wg sync.WaitGroup
			for i := range people {
				from := fmt.Sprintf("+5255000000%02d", i)
				wg.Add(1)
				go func() { // each person sends three messages at once
					defer wg.Done()
					for j, text := range []string{"hola", "1", "1"} {
						accept(t, p1, msg(from, fmt.Sprintf("%s-%d", from, j), text))
					}
				}()
			}
			var workers sync.WaitGroup
			for _, p := range []*bot.Pipeline{p1, p2, p1, p2} {
				workers.Add(1)
				go func() {
					defer workers.Done()
					for range 50 {
						if err := p.Drain(context.Background()); err != nil {
							t.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			workers.Wait()
			// A person another worker held is looked at again shortly after.
			want := strings.Join(onboarding(), "\n\n")
			done := func() bool {
				for i := range people {
					if strings.Join(rec.texts(fmt.Sprintf("+5255000000%02d", i)), "\n\n") != want {
						return false
					}
				}
				return true
			}
			// Every worker is done: what is left is due lockedRetry later.
			for i := 0; !done() && i < 10; i++ {
				clk.Advance(time.Second)
				drain(t, p1)
			}
			for i := range people {
				from := fmt.Sprintf("+5255000000%02d", i)
				// Replies may be merged into fewer messages; the words and their order may not change.
				equal(t, from, []string{strings.Join(rec.texts(from), "\n\n")}, []string{strings.Join(onboarding(), "\n\n")})
			}
		})
	}
}

func TestRetriesThenDeadLetterThenReplay(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			st := b.open(t)
			defer st.Close()
			ctx := context.Background()
			rec := newRecorder("sms")
			fails := 1 << 30 // the provider is down until told otherwise
			rec.fail = func(r bot.Reply, attempt int) error {
				if fails > 0 {
					fails--
					return errFlaky
				}
				return nil
			}
			clk := newClock()
			p := newPipeline(t, st, clk.Now, rec)
			accept(t, p, msg(alice, "SM1", "hola"))
			drain(t, p) // attempt 1 fails, at 0s
			for range 2 {
				drain(t, p)
				if len(rec.try) != 1 || rec.count() != 0 {
					t.Fatal("retried before its backoff")
				}
				clk.Advance(5 * time.Second)
				drain(t, p) // attempts 2 (at 5s) and 3 (at 10s, past RetryFor)
			}
			letters, err := p.DeadLetters(ctx, 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(letters) != 1 || letters[0].Attempts != 3 || !strings.Contains(letters[0].Reason, "503") || !strings.Contains(letters[0].Reason, "8s") {
				t.Fatalf("dead letters: got %+v, want one after 3 attempts in 8s, with the reason", letters)
			}
			// Replayed, it starts again: one more failure is a retry, not a
			// dead letter, and the retry delivers it.
			fails = 1
			if err := p.Replay(ctx, letters[0].Person, letters[0].ID); err != nil {
				t.Fatal(err)
			}
			drain(t, p)
			if letters, _ := p.DeadLetters(ctx, 10); len(letters) != 0 || rec.count() != 0 || fails != 0 {
				t.Fatalf("replay that failed once: %d dead letters, %d sent, %d failures left; want it waiting for a retry", len(letters), rec.count(), fails)
			}
			clk.Advance(time.Second) // the first backoff, not the one of attempt 4
			drain(t, p)
			equal(t, "replayed", rec.texts(alice), want("es", "language.prompt"))
			if letters, _ := p.DeadLetters(ctx, 10); len(letters) != 0 {
				t.Errorf("dead letters after replay: got %d, want 0", len(letters))
			}
			if err := p.Replay(ctx, letters[0].Person, letters[0].ID); !errors.Is(err, bot.ErrNotFound) {
				t.Errorf("replaying a delivered letter again: got %v, want ErrNotFound", err)
			}
			if got := rec.try[rec.sent[0].ID]; got != 5 {
				t.Errorf("attempts: got %d, want 5 (3, then 2 after the replay)", got)
			}
		})
	}
}

func TestThrottledWaitsRetryAfter(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			st := b.open(t)
			defer st.Close()
			rec := newRecorder("sms")
			throttled := false
			rec.fail = func(r bot.Reply, attempt int) error {
				if !throttled { // the provider's first answer only
					throttled = true
					return &bot.ErrThrottled{RetryAfter: 3 * time.Second}
				}
				return nil
			}
			clk := newClock()
			p := newPipeline(t, st, clk.Now, rec)
			accept(t, p, msg(alice, "SM1", "hola"))
			drain(t, p)
			// A new message queues a reply behind the held one: it must not hurry it.
			accept(t, p, msg(alice, "SM2", "1"))
			drain(t, p)
			clk.Advance(2900 * time.Millisecond)
			drain(t, p)
			if rec.count() != 0 {
				t.Fatal("sent before retry_after")
			}
			clk.Advance(100 * time.Millisecond)
			drain(t, p)
			got := rec.texts(alice)
			if len(got) < 2 || got[0] != catalog.Text("es", "language.prompt", nil) || got[len(got)-1] != catalog.Text("es", "consent.question", nil) {
				t.Errorf("after retry_after: got %q, want the language question then the consent", got)
			}
		})
	}
}

func TestUnreachableIsNotRetried(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			st := b.open(t)
			defer st.Close()
			rec := newRecorder("sms")
			rec.fail = func(r bot.Reply, attempt int) error { return fmt.Errorf("21610: %w", bot.ErrUnreachable) }
			clk := newClock()
			p := newPipeline(t, st, clk.Now, rec)
			accept(t, p, msg(alice, "SM1", "hola"))
			drain(t, p)
			clk.Advance(time.Hour)
			drain(t, p)
			if n := rec.try; len(n) != 1 {
				t.Errorf("attempts: got %v, want one attempt", n)
			}
			if letters, _ := p.DeadLetters(context.Background(), 10); len(letters) != 1 {
				t.Errorf("dead letters: got %d, want 1", len(letters))
			}
		})
	}
}

func TestProactiveMessageUsesTheOutbox(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			st := b.open(t)
			defer st.Close()
			rec := newRecorder("sms")
			p := newPipeline(t, st, newClock().Now, rec)
			out := flowsOutput("menu.prompt")
			if err := p.Send(context.Background(), "sms", "+50255551234", "en", out); err != nil {
				t.Fatal(err)
			}
			drain(t, p)
			equal(t, "proactive", rec.texts("+50255551234"), want("en", "menu.prompt"))
		})
	}
}

func TestUnreachableAndOptOutStopSending(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			st := b.open(t)
			defer st.Close()
			ctx := context.Background()
			rec := newRecorder("sms")
			blocked := true
			rec.fail = func(r bot.Reply, attempt int) error {
				if blocked {
					return fmt.Errorf("403 blocked: %w", bot.ErrUnreachable)
				}
				return nil
			}
			p := newPipeline(t, st, newClock().Now, rec)
			accept(t, p, msg(alice, "SM1", "hola"))
			drain(t, p)
			if err := p.Send(ctx, "sms", alice, "es", flowsOutput("menu.prompt")); err != nil {
				t.Fatal(err)
			}
			drain(t, p)
			if got := len(rec.try); got != 1 {
				t.Fatalf("provider tried %d replies, want only the first: the address is unreachable after it", got)
			}
			// A message from the address shows it is back (the issue: any
			// inbound message clears the mark).
			blocked = false
			accept(t, p, msg(alice, "SM3", "menu"))
			drain(t, p)
			if len(rec.texts(alice)) == 0 {
				t.Fatal("nothing sent after the address became reachable again")
			}
			if err := p.SetOptOut(ctx, "sms", alice, true); err != nil {
				t.Fatal(err)
			}
			before := rec.count()
			accept(t, p, msg(alice, "SM4", "menu"))
			drain(t, p)
			if rec.count() != before {
				t.Error("a reply was sent to an address that opted out")
			}
		})
	}
}

func TestSMSAndWhatsAppAreOnePerson(t *testing.T) {
	st := backends(t)[0].open(t)
	defer st.Close()
	sms, wa := newRecorder("sms"), newRecorder("whatsapp")
	p := newPipeline(t, st, newClock().Now, sms, wa)
	accept(t, p, msg(alice, "SM1", "hola"))
	drain(t, p)
	m := msg(alice, "WA1", "2") // English, answered on WhatsApp
	m.Channel = "whatsapp"
	accept(t, p, m)
	drain(t, p)
	got := wa.texts(alice)
	if len(got) == 0 || !strings.HasSuffix(got[len(got)-1], catalog.Text("en", "consent.question", nil)) {
		t.Errorf("WhatsApp replies: got %q, want the English consent (the SMS session continued)", got)
	}
}
