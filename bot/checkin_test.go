package bot_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/enlace-rfl/enlace/bot"
	"github.com/enlace-rfl/enlace/flows"
	"github.com/enlace-rfl/enlace/keyring"
)

// carol writes from a Mexican mobile (with the old "1"); her mother Rosa's
// number is typed the way Mexicans type it.
const (
	carol    = "+5215511119999"
	rosaTel  = "+525512345678"
	rosaName = "Rosa"
)

// familyPipeline is a pipeline with the real engine and the default check-in
// settings (reminder 1h before, contacts warned 1h after the deadline).
func familyPipeline(t *testing.T, st bot.Store, clk *clock, rec *recorder) *bot.Pipeline {
	t.Helper()
	return newPipeline(t, st, clk.Now, rec)
}

// label is a choice as a person types it on SMS: its words.
func label(id string) string { return catalog.Text("es", id, nil) }

// say sends lines from carol, one message each, handling each before the next.
func say(t *testing.T, p *bot.Pipeline, prefix string, lines ...string) {
	t.Helper()
	for i, line := range lines {
		accept(t, p, msg(carol, fmt.Sprintf("%s-%d", prefix, i), line))
		drain(t, p)
	}
}

// setUpCheckin onboards carol in Spanish, registers Rosa (English) as a safe
// contact, her name and code word, and a check-in every 12 hours.
func setUpCheckin(t *testing.T, p *bot.Pipeline) {
	t.Helper()
	say(t, p, "setup", "hola", "1", "1",
		label("menu.family"), label("family.checkin"),
		"Rosa", "55 1234 5678", label("rel.mother"), "English", "sí",
		"Juan", "tamarindo",
		label("checkin.12h"), "sí")
}

func escalationReasons(t *testing.T, st bot.Store) []string {
	t.Helper()
	keys, _ := keyring.Parse(testKey)
	items, err := st.Escalations(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	var reasons []string
	for _, l := range items {
		raw, err := keys.Open("escalation", l.Person, l.Item.Data)
		if err != nil {
			t.Fatal(err)
		}
		var e flows.Escalation
		if err := json.Unmarshal(raw, &e); err != nil {
			t.Fatal(err)
		}
		reasons = append(reasons, e.Reason)
	}
	return reasons
}

// TestMissedCheckinWarnsOnceAcrossProcessesAndARestart lets a check-in lapse
// while two processes share the store, one of them dying just after it
// recorded the deadline's firing, then restarts both: Rosa is warned exactly
// once, in English, and one escalation is recorded.
func TestMissedCheckinWarnsOnceAcrossProcessesAndARestart(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			st := b.open(t)
			rec := newRecorder("sms")
			clk := newClock()
			p1, p2 := familyPipeline(t, st, clk, rec), familyPipeline(t, st, clk, rec)
			setUpCheckin(t, p1)
			set := catalog.Text("es", "checkin.set", nil)
			if got := rec.texts(carol); !strings.Contains(strings.Join(got, "\n"), strings.SplitN(set, " ", 2)[0]) {
				t.Fatalf("check-in not set up; carol read %q", got)
			}
			ctx := context.Background()
			if ts, err := st.Timers(ctx, p1.Person("sms", carol)); err != nil || len(ts) != 2 {
				t.Fatalf("timers: got %+v, %v; want the reminder and the deadline", ts, err)
			}

			// The reminder comes an hour before the deadline.
			clk.Advance(11*time.Hour + time.Minute)
			drain(t, p2)
			if got := strings.Join(rec.texts(carol), "\n"); !strings.Contains(got, "Recordatorio") {
				t.Fatalf("no reminder; carol read %q", got)
			}
			if n := len(rec.texts(rosaTel)); n != 0 {
				t.Fatalf("Rosa got %d messages before the deadline", n)
			}

			// Deadline plus grace passes. Process 1 dies right after recording the firing.
			clk.Advance(2 * time.Hour)
			bot.SetCrashHook(p1, func(step string) {
				if step == "timer-accepted" {
					panic("killed")
				}
			})
			func() {
				defer func() { recover() }()
				p1.FireTimers(ctx)
			}()
			bot.SetCrashHook(p1, nil)
			// Both race for what is left once the lease is over.
			clk.Advance(time.Minute)
			var wg sync.WaitGroup
			for _, p := range []*bot.Pipeline{p1, p2} {
				wg.Go(func() {
					for range 5 {
						if err := p.Drain(ctx); err != nil {
							t.Error(err)
						}
					}
				})
			}
			wg.Wait()
			// Both stop; the store is opened again by two new processes.
			if err := st.Close(); err != nil {
				t.Fatal(err)
			}
			st = b.open(t)
			defer st.Close()
			p3, p4 := familyPipeline(t, st, clk, rec), familyPipeline(t, st, clk, rec)
			for range 3 {
				clk.Advance(time.Hour)
				drain(t, p3)
				drain(t, p4)
			}

			got := afterIntro(t, "en", rec.texts(rosaTel))
			if len(got) != 1 {
				t.Fatalf("Rosa got %d messages, want exactly 1: %q", len(got), got)
			}
			if want := "Juan asked Enlace to warn you if they did not write before "; !strings.HasPrefix(got[0], want) {
				t.Errorf("Rosa read %q, want it in English, naming Juan", got[0])
			}
			if n := countContaining(rec.texts(carol), "No escribiste antes del"); n != 1 {
				t.Errorf("carol was told %d times that her contacts were warned, want 1", n)
			}
			if got := escalationReasons(t, st); len(got) != 1 || got[0] != flows.ReasonMissedCheckin {
				t.Errorf("escalations: got %v, want one %s", got, flows.ReasonMissedCheckin)
			}
			if ts, err := st.Timers(ctx, p3.Person("sms", carol)); err != nil || len(ts) != 0 {
				t.Errorf("timers after the alert: got %+v, %v; want none", ts, err)
			}
		})
	}
}

func countContaining(texts []string, part string) int {
	n := 0
	for _, s := range texts {
		n += strings.Count(s, part)
	}
	return n
}

// TestCheckinAnsweredInTimeSendsNothing answers the reminder: nobody is
// warned, no escalation is recorded, and the next deadline is set.
func TestCheckinAnsweredInTimeSendsNothing(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			st := b.open(t)
			defer st.Close()
			rec := newRecorder("sms")
			clk := newClock()
			p1, p2 := familyPipeline(t, st, clk, rec), familyPipeline(t, st, clk, rec)
			setUpCheckin(t, p1)
			clk.Advance(11*time.Hour + time.Minute)
			drain(t, p1)
			say(t, p2, "ok", "1") // "I am OK", the reminder's choice
			if got := strings.Join(rec.texts(carol), "\n"); !strings.Contains(got, "recibí tu mensaje") {
				t.Fatalf("not checked in; carol read %q", got)
			}
			for range 4 { // past the old deadline and its grace period
				clk.Advance(30 * time.Minute)
				drain(t, p1)
				drain(t, p2)
			}
			if got := rec.texts(rosaTel); len(got) != 0 {
				t.Errorf("Rosa got %q, want nothing", got)
			}
			if got := escalationReasons(t, st); len(got) != 0 {
				t.Errorf("escalations: got %v, want none", got)
			}
			ts, err := st.Timers(context.Background(), p1.Person("sms", carol))
			if err != nil || len(ts) != 2 {
				t.Fatalf("timers: got %+v, %v; want the next reminder and deadline", ts, err)
			}
			for _, tm := range ts {
				if tm.At.Before(clk.Now()) {
					t.Errorf("timer %s is due at %v, before now: not moved", tm.ID, tm.At)
				}
			}
		})
	}
}

// TestIAmSafeReachesTheContactAndEraseRemovesEverything sends Rosa an "I am
// safe" message (in English, with the code word, to her E.164 number), tells
// carol it was delivered, then erases: no session and no timers are left.
func TestIAmSafeReachesTheContactAndEraseRemovesEverything(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			st := b.open(t)
			defer st.Close()
			rec := newRecorder("sms")
			clk := newClock()
			p := familyPipeline(t, st, clk, rec)
			setUpCheckin(t, p)
			say(t, p, "safe", "menu", label("menu.family"), label("family.safe"), label("safe.kind.safe"), label("safe.send.yes"))
			drain(t, p)
			if got := afterIntro(t, "en", rec.texts(rosaTel)); len(got) != 1 || got[0] != "Juan, via Enlace: I am safe. Code word: tamarindo" {
				t.Fatalf("Rosa got %q", got)
			}
			if n := countContaining(rec.texts(carol), "Tu mensaje le llegó a Rosa."); n != 1 {
				t.Errorf("delivery receipts: got %d, want 1", n)
			}
			ctx := context.Background()
			person := p.Person("sms", carol)
			say(t, p, "erase", "borrar", "sí")
			if _, err := st.LoadSession(ctx, person, clk.Now()); !errors.Is(err, bot.ErrNotFound) {
				t.Errorf("session after erase: %v, want none", err)
			}
			if ts, err := st.Timers(ctx, person); err != nil || len(ts) != 0 {
				t.Errorf("timers after erase: got %+v, %v; want none", ts, err)
			}
			// Nothing fires later either.
			clk.Advance(48 * time.Hour)
			before := rec.count()
			drain(t, p)
			if rec.count() != before {
				t.Errorf("%d messages sent after erase", rec.count()-before)
			}
		})
	}
}
