package bot_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/enlace-rfl/enlace/bot"
	"github.com/enlace-rfl/enlace/bot/phone"
)

// take sends lines from carol through the phone channels' layer, as the
// Twilio webhook does, handling each before the next.
func take(t *testing.T, p *bot.Pipeline, layer *phone.Layer, prefix string, lines ...string) {
	t.Helper()
	for i, line := range lines {
		if _, err := layer.Take(context.Background(), p, msg(carol, fmt.Sprintf("%s-%d", prefix, i), line)); err != nil {
			t.Fatal(err)
		}
		drain(t, p)
	}
}

// TestLeaveWordsLeaveTheDialogAndStopOptsOut: "cancelar" inside a dialog
// leaves it, nothing else changes, and the check-in reminder still comes;
// at the menu it only asks. STOP opts the number out at once, pauses the
// check-in (so nobody is warned because the person can no longer answer) and
// says how to come back.
func TestLeaveWordsLeaveTheDialogAndStopOptsOut(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			st := b.open(t)
			defer st.Close()
			rec := newRecorder("sms")
			clk := newClock()
			p := familyPipeline(t, st, clk, rec)
			layer := phone.New(catalog, false)
			ctx := context.Background()
			setUpCheckin(t, p)

			n := len(rec.texts(carol))
			take(t, p, layer, "leave", label("menu.family"), label("family.contacts"), label("contacts.add"), "cancelar")
			got := rec.texts(carol)[n:]
			if last := got[len(got)-1]; !strings.HasPrefix(last, catalog.Text("es", "dialog.left", nil)) ||
				!strings.Contains(last, catalog.Text("es", "menu.prompt", nil)) {
				t.Fatalf("after cancelar in a dialog: got %q, want dialog.left and the menu", last)
			}
			n = len(rec.texts(carol))
			take(t, p, layer, "ask", "cancelar", "no")
			if got := strings.Join(rec.texts(carol)[n:], "\n"); !strings.Contains(got, catalog.Text("es", "stopall.confirm", nil)) ||
				!strings.Contains(got, catalog.Text("es", "stopall.kept", nil)) {
				t.Fatalf("cancelar at the menu, then no: got %q, want the question and nothing changed", got)
			}
			if out, err := p.OptedOut(ctx, "sms", carol); err != nil || out {
				t.Fatalf("opted out after cancelar: %v, %v", out, err)
			}
			// The reminder comes, an hour before the deadline, 12h after the last message.
			clk.Advance(11*time.Hour + time.Minute)
			drain(t, p)
			if got := strings.Join(rec.texts(carol), "\n"); !strings.Contains(got, "Recordatorio") {
				t.Fatalf("no reminder after cancelar; carol read %q", got)
			}

			n = len(rec.texts(carol))
			take(t, p, layer, "stop", "STOP")
			got = rec.texts(carol)[n:]
			if all := strings.Join(got, "\n"); len(got) == 0 || !strings.Contains(all, catalog.Text("es", "twilio.optout", nil)) ||
				!strings.Contains(all, catalog.Text("es", "optout.paused", nil)) || !strings.Contains(all, "START") {
				t.Fatalf("STOP: carol read %q, want the opt-out, the paused check-in and how to come back", got)
			}
			for _, ch := range phone.Channels {
				if out, err := p.OptedOut(ctx, ch, carol); err != nil || !out {
					t.Errorf("%s: opted out %v, %v; want true", ch, out, err)
				}
			}
			n = len(rec.texts(carol))
			take(t, p, layer, "after", "hola")
			for range 4 {
				clk.Advance(time.Hour)
				drain(t, p)
			}
			if got := rec.texts(carol)[n:]; len(got) != 0 {
				t.Errorf("after STOP carol got %q, want nothing", got)
			}
			if got := rec.texts(rosaTel); len(got) != 0 {
				t.Errorf("Rosa was warned although the check-in was paused by STOP: %q", got)
			}
			take(t, p, layer, "start", "START")
			if got := rec.texts(carol); !strings.Contains(got[len(got)-1], catalog.Text("es", "twilio.optin", nil)) {
				t.Errorf("START: got %q", got[len(got)-1])
			}
		})
	}
}
