package bot_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/enlace-rfl/enlace/bot"
	"github.com/enlace-rfl/enlace/flows"
)

// remindingEngine is the real engine plus one rule, standing in for the
// check-in flow: "remind me" sets a timer an hour ahead, and when it fires the
// person reads the help text.
type remindingEngine struct{ *flows.Engine }

func (e remindingEngine) Step(ctx context.Context, s flows.Session, in flows.Input, from flows.Sender, now time.Time) flows.Result {
	if in.Kind == flows.InputTimer && in.Timer == "reminder" {
		return flows.Result{Session: s, Effects: []flows.Effect{flows.Reply{Output: flows.Output{Text: flows.Text{ID: "help.text"}}}}}
	}
	r := e.Engine.Step(ctx, s, in, from, now)
	if in.Kind == flows.InputText && in.Text == "remind me" {
		r.Effects = append(r.Effects, flows.SetTimer{ID: "reminder", At: now.Add(time.Hour)})
	}
	return r
}

func timerPipeline(t *testing.T, st bot.Store, clk *clock, rec *recorder) *bot.Pipeline {
	return enginePipeline(t, st, clk.Now, remindingEngine{flows.New(flows.Config{}, catalog)}, rec)
}

func countText(texts []string, want string) int {
	n := 0
	for _, s := range texts {
		if s == want {
			n++
		}
	}
	return n
}

// TestTimerFiresOnceAcrossProcesses sets a timer, then lets two pipelines on
// one store race for it, one of them dying after recording the firing but
// before finishing the timer: the person hears from it exactly once, where
// they last wrote from.
func TestTimerFiresOnceAcrossProcesses(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			st := b.open(t)
			defer st.Close()
			rec := newRecorder("sms")
			clk := newClock()
			p1, p2 := timerPipeline(t, st, clk, rec), timerPipeline(t, st, clk, rec)
			for i, text := range []string{"hola", "1", "1", "remind me"} {
				accept(t, p1, msg(alice, "SM"+string(rune('a'+i)), text))
				drain(t, p1)
			}
			help := catalog.Text("es", "help.text", nil)
			drain(t, p2)
			if n := countText(rec.texts(alice), help); n != 0 {
				t.Fatalf("reminder fired early (%d times)", n)
			}
			// Process 1 dies right after recording the firing.
			clk.Advance(time.Hour)
			bot.SetCrashHook(p1, func(step string) {
				if step == "timer-accepted" {
					panic("killed")
				}
			})
			func() {
				defer func() { recover() }()
				p1.FireTimers(context.Background())
			}()
			// Process 2 finds it again once the lease is over, and both race.
			clk.Advance(time.Minute)
			bot.SetCrashHook(p1, nil)
			var wg sync.WaitGroup
			for _, p := range []*bot.Pipeline{p1, p2} {
				wg.Go(func() {
					for range 5 {
						if err := p.Drain(context.Background()); err != nil {
							t.Error(err)
						}
					}
				})
			}
			wg.Wait()
			// Both are done: what either left to the other is due shortly after.
			for i := 0; countText(rec.texts(alice), help) == 0 && i < 10; i++ {
				clk.Advance(time.Second)
				drain(t, p2)
			}
			if n := countText(rec.texts(alice), help); n != 1 {
				t.Errorf("reminder delivered %d times, want exactly 1", n)
			}
			ts, err := st.Timers(context.Background(), p1.Person("sms", alice))
			if err != nil || len(ts) != 0 {
				t.Errorf("timers after firing: got %+v, %v, want none", ts, err)
			}
		})
	}
}

// receiptEngine stands in for the "I am safe" flow: "tell mom" sends a
// proactive message asking for a receipt, and a receipt becomes a text for
// the sender ("erase.kept" when delivered, "erase.confirm" when it failed).
type receiptEngine struct{ *flows.Engine }

func (e receiptEngine) Step(ctx context.Context, s flows.Session, in flows.Input, from flows.Sender, now time.Time) flows.Result {
	if in.Kind == flows.InputReceipt {
		id := "erase.confirm"
		if in.Delivered {
			id = "erase.kept"
		}
		return flows.Result{Session: s, Effects: []flows.Effect{flows.Reply{Output: flows.Output{Text: flows.Text{ID: id}}}}}
	}
	r := e.Engine.Step(ctx, s, in, from, now)
	if in.Kind == flows.InputText && in.Text == "tell mom" {
		r.Effects = append(r.Effects, flows.Message{To: "+50255551234", Lang: "en", Output: flows.Output{Text: flows.Text{ID: "menu.prompt"}}, Receipt: "mom"})
	}
	return r
}

func TestReceiptsTellTheSenderOnce(t *testing.T) {
	st := backends(t)[0].open(t)
	defer st.Close()
	rec := newRecorder("sms")
	failMom := false
	rec.fail = func(r bot.Reply, attempt int) error {
		if failMom && r.To == "+50255551234" {
			return fmt.Errorf("21614: %w", bot.ErrUnreachable)
		}
		return nil
	}
	p := enginePipeline(t, st, newClock().Now, receiptEngine{flows.New(flows.Config{}, catalog)}, rec)
	for i, text := range []string{"hola", "1", "1", "tell mom"} {
		accept(t, p, msg(alice, fmt.Sprintf("SM%d", i), text))
		drain(t, p)
	}
	drain(t, p)
	if got := afterIntro(t, "en", rec.texts("+50255551234")); len(got) != 1 || got[0] != catalog.Text("en", "menu.prompt", nil) {
		t.Fatalf("contact got %q, want the English text once", got)
	}
	if n := countText(rec.texts(alice), catalog.Text("es", "erase.kept", nil)); n != 1 {
		t.Errorf("delivery receipts: got %d, want 1", n)
	}
	failMom = true
	accept(t, p, msg(alice, "SM9", "tell mom"))
	drain(t, p)
	drain(t, p)
	if n := countText(rec.texts(alice), catalog.Text("es", "erase.confirm", nil)); n != 1 {
		t.Errorf("failure receipts: got %d, want 1", n)
	}
}

// TestProactiveMessageGoesWhereTheContactIsKnown: a contact who talks to
// Enlace on WhatsApp gets a relative's message there, not by SMS; a number
// Enlace does not know gets SMS, after the introduction (not again on
// WhatsApp: she talks to Enlace now).
func TestProactiveMessageGoesWhereTheContactIsKnown(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			st := b.open(t)
			defer st.Close()
			sms, wa := newRecorder("sms"), newRecorder("whatsapp")
			p := enginePipeline(t, st, newClock().Now, receiptEngine{flows.New(flows.Config{}, catalog)}, sms, wa)
			tell := func() {
				for i, text := range []string{"hola", "1", "1", "tell mom"} {
					accept(t, p, msg(alice, fmt.Sprintf("%s-SM%d", b.name, i), text))
					drain(t, p)
				}
			}
			tell()
			if got := afterIntro(t, "en", sms.texts("+50255551234")); len(got) != 1 {
				t.Fatalf("a number Enlace does not know: got %d SMS after the introduction, want 1", len(got))
			}
			for i, text := range []string{"hola", "2", "1"} { // mom starts using Enlace on WhatsApp
				m := msg("+50255551234", fmt.Sprintf("WA%d", i), text)
				m.Channel = "whatsapp"
				accept(t, p, m)
				drain(t, p)
			}
			accept(t, p, msg(alice, b.name+"-SM9", "tell mom"))
			drain(t, p)
			if got := wa.texts("+50255551234"); got[len(got)-1] != catalog.Text("en", "menu.prompt", nil) {
				t.Errorf("contact known on WhatsApp: last WhatsApp message %q, want the relative's message", got[len(got)-1])
			}
			if n := countText(wa.texts("+50255551234"), intro("en")); n != 0 {
				t.Errorf("contact known on WhatsApp was introduced there %d times, want never", n)
			}
			if got := afterIntro(t, "en", sms.texts("+50255551234")); len(got) != 1 {
				t.Errorf("contact known on WhatsApp still got %d SMS after the introduction, want only the first", len(got))
			}
		})
	}
}
