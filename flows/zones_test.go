package flows_test

import (
	"slices"
	"testing"
	"time"
	_ "time/tzdata"

	"github.com/enlace-rfl/enlace/flows"
	"github.com/enlace-rfl/enlace/locales"
)

// TestCheckinInTijuana: a person with a Mexican phone who says they are in
// Tijuana sets a check-in for 20:00; it is 20:00 in Tijuana (two hours
// behind Mexico City), and the alarm their English-speaking contact gets
// names the deadline with its zone.
func TestCheckinInTijuana(t *testing.T) {
	cat, err := locales.Load()
	if err != nil {
		t.Fatal(err)
	}
	_, towns := starter(t)
	e := flows.New(flows.Config{DialogTimeout: 30 * time.Minute, RetentionDays: 90, Towns: towns}, cat)
	s := withFamily(t, e, rosa)
	s.Step = flows.StepFamily
	tijuana, err := time.LoadLocation("America/Tijuana")
	if err != nil {
		t.Fatal(err)
	}
	// t0 is 2026-11-29 04:00 in Tijuana: 20:00 there is 2026-11-30 04:00 UTC.
	deadline := time.Date(2026, 11, 29, 20, 0, 0, 0, tijuana)
	s = play(t, e, mxSMS, s, []exchange{
		{in: pick("family.checkin"), want: []string{"checkin.where.ask"}},
		{in: text("Atlantis"), want: []string{"checkin.where.unknown"}},
		{in: text("Tijuana"), want: []string{"checkin.where.set", "checkin.every.ask"}, check: func(t *testing.T, r flows.Result) {
			if r.Session.Zone != "America/Tijuana" {
				t.Errorf("zone: got %q", r.Session.Zone)
			}
		}},
		{in: pick("checkin.date"), want: []string{"checkin.when.ask"}},
		{in: text("20:00"), want: []string{"checkin.msg.preview", "checkin.msg.ask"}, check: func(t *testing.T, r flows.Result) {
			// Previewed as Rosa will read it: in English.
			if got := r.Outputs()[0].Text.Data["Text"]; got != "Juan asked Enlace to warn you if they did not write before Nov 29, 20:00 (Tijuana time). They have not written. Please try to reach them." {
				t.Errorf("preview: got %q", got)
			}
		}},
		{in: pick("checkin.msg.yes"), want: []string{"checkin.set", "menu.prompt"}, check: func(t *testing.T, r flows.Result) {
			if got, want := r.Outputs()[0].Text.Data["When"], "29 nov 20:00 (hora de Tijuana)"; got != want {
				t.Errorf("deadline: got %q, want %q", got, want)
			}
			if want := []flows.SetTimer{{ID: "checkin-remind", At: deadline.Add(-time.Hour)}, {ID: "checkin-deadline", At: deadline.Add(time.Hour)}}; !slices.EqualFunc(flows.EffectsOf[flows.SetTimer](r.Effects), want, func(a, b flows.SetTimer) bool { return a.ID == b.ID && a.At.Equal(b.At) }) {
				t.Errorf("timers: got %+v, want %+v", flows.EffectsOf[flows.SetTimer](r.Effects), want)
			}
		}},
	})
	play(t, e, mxSMS, s, []exchange{
		{in: timer("checkin-deadline"), at: deadline.Add(time.Hour).Sub(t0), want: []string{"checkin.sms", "checkin.missed"}, check: func(t *testing.T, r flows.Result) {
			out := proactive(r)
			if len(out) != 1 || out[0].To != rosa.Phone || out[0].Lang != "en" {
				t.Fatalf("alert: got %+v", out)
			}
			if got, want := out[0].Text.Render(cat, "en"), "Juan asked Enlace to warn you if they did not write before Nov 29, 20:00 (Tijuana time). They have not written. Please try to reach them."; got != want {
				t.Errorf("Rosa reads %q, want %q", got, want)
			}
			if got := r.Outputs()[1].Text.Render(cat, "es"); got != "No escribiste antes del domingo 29 de noviembre a las 20:00 (hora de Tijuana). Avisamos a Rosa. Escríbenos cuando puedas." {
				t.Errorf("the person reads %q", got)
			}
		}},
	})
}
