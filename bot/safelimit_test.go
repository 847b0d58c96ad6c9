package bot_test

import (
	"strings"
	"testing"
	"time"
)

// TestSafeLimitSurvivesErase sends Rosa the day's three "I am safe"
// messages, erases, agrees again and adds Rosa again: the fourth within 24
// hours is refused with the limit text (kept by Rosa's number, not in the
// erased session); a day later it goes. Rosa is introduced to Enlace once,
// before the first.
func TestSafeLimitSurvivesErase(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			st := b.open(t)
			defer st.Close()
			rec := newRecorder("sms")
			clk := newClock()
			p := familyPipeline(t, st, clk, rec)
			setUpCheckin(t, p)
			say(t, p, "safe1", "menu", label("menu.family"), label("family.safe"), label("safe.kind.safe"), label("safe.send.yes"))
			for i := range 2 {
				clk.Advance(time.Minute)
				say(t, p, "safe"+string(rune('2'+i)), "menu", label("menu.family"), label("family.safe"), label("safe.kind.safe"))
			}
			drain(t, p)
			if n := countContaining(rec.texts(rosaTel), "I am safe."); n != 3 {
				t.Fatalf("Rosa got %d safe messages, want 3: %q", n, rec.texts(rosaTel))
			}
			say(t, p, "erase", "borrar", "sí")
			clk.Advance(time.Hour)
			say(t, p, "again", "hola", "1", "1", label("menu.family"), label("family.safe"),
				"Rosa", "55 1234 5678", label("rel.mother"), "English", "sí", "Juan", "tamarindo")
			say(t, p, "fourth", label("safe.kind.safe"), label("safe.send.yes"))
			drain(t, p)
			if n := countContaining(rec.texts(rosaTel), "I am safe."); n != 3 {
				t.Fatalf("Rosa got %d safe messages after erase, want still 3", n)
			}
			carolRead := strings.Join(rec.texts(carol), "\n")
			if !strings.Contains(carolRead, "Rosa ya recibió 3 mensajes") {
				t.Fatalf("carol was not told the limit; she read %q", carolRead)
			}
			if n := strings.Count(carolRead, "Enviando a Rosa."); n != 3 {
				t.Errorf("carol was told %d times a message is being sent, want 3 (not for the refused one)", n)
			}
			clk.Advance(24 * time.Hour)
			say(t, p, "fifth", "menu", label("menu.family"), label("family.safe"), label("safe.kind.safe"))
			drain(t, p)
			if n := countContaining(rec.texts(rosaTel), "I am safe."); n != 4 {
				t.Fatalf("Rosa got %d safe messages a day later, want 4", n)
			}
			afterIntro(t, "en", rec.texts(rosaTel)) // once: erasing the sender does not reset it
		})
	}
}
