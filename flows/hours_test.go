package flows_test

import (
	"context"
	"testing"
	"time"

	"github.com/enlace-rfl/enlace/flows"
	"github.com/enlace-rfl/enlace/locales"
)

func TestParseHours(t *testing.T) {
	for _, bad := range []string{
		"Mon-Fri 09:00-18:00", "America/Nowhere Mon 09:00-10:00", "America/Tijuana Mon 10:00-09:00",
		"America/Tijuana Funday 09:00-10:00", "America/Tijuana Mon 9-10", "America/Tijuana Mon 09:00-25:00", "Local Mon 09:00-10:00",
	} {
		if _, err := flows.ParseHours(bad); err == nil {
			t.Errorf("ParseHours(%q) accepted it", bad)
		}
	}
	h, err := flows.ParseHours("America/Mexico_City Mon-Fri 09:00-18:00; America/Tijuana Sat,Sun 10:00-14:00")
	if err != nil {
		t.Fatal(err)
	}
	mx, _ := time.LoadLocation("America/Mexico_City")
	tj, _ := time.LoadLocation("America/Tijuana")
	cases := []struct {
		at   time.Time
		on   bool
		next time.Time
	}{
		{time.Date(2026, 12, 2, 9, 0, 0, 0, mx), true, time.Date(2026, 12, 3, 9, 0, 0, 0, mx)},    // Wednesday, opening
		{time.Date(2026, 12, 2, 18, 0, 0, 0, mx), false, time.Date(2026, 12, 3, 9, 0, 0, 0, mx)},  // closing time
		{time.Date(2026, 12, 4, 20, 0, 0, 0, mx), false, time.Date(2026, 12, 5, 10, 0, 0, 0, tj)}, // Friday night: Saturday in Tijuana
		{time.Date(2026, 12, 6, 13, 59, 0, 0, tj), true, time.Date(2026, 12, 7, 9, 0, 0, 0, mx)},  // Sunday in Tijuana
		{time.Date(2026, 12, 6, 14, 0, 0, 0, tj), false, time.Date(2026, 12, 7, 9, 0, 0, 0, mx)},
	}
	for _, tc := range cases {
		if got := h.OnDuty(tc.at); got != tc.on {
			t.Errorf("OnDuty(%v) = %v, want %v", tc.at, got, tc.on)
		}
		if got, ok := h.Next(tc.at); !ok || !got.Equal(tc.next) {
			t.Errorf("Next(%v) = %v, want %v", tc.at, got, tc.next)
		}
	}
}

// TestOffDutyIsTold: asking for a person when nobody is on duty says so, and
// from when someone will read it, in the person's language and with the zone.
func TestOffDutyIsTold(t *testing.T) {
	cat, err := locales.Load()
	if err != nil {
		t.Fatal(err)
	}
	h, err := flows.ParseHours("America/Mexico_City Mon-Fri 09:00-18:00")
	if err != nil {
		t.Fatal(err)
	}
	e := flows.New(flows.Config{Hours: h, VolunteerWait: 2 * time.Hour}, cat)
	s := flows.Session{Version: flows.SessionVersion, Lang: "es", Consent: flows.ConsentAccepted, Step: flows.StepMenu}
	from := flows.Sender{Channel: "sms", Address: "+525512345678"}
	// t0 is Sunday 06:00 in Mexico City: nobody until Monday 09:00.
	r := e.Step(context.Background(), s, text("necesito hablar con alguien"), from, t0)
	got := r.Outputs()[0].Text
	if got.ID != "person.kept.offduty" || got.Data["When"] != "lunes a las 09:00 (hora de Ciudad de México)" {
		t.Fatalf("off duty: got %s %q", got.ID, got.Data["When"])
	}
	// The zone is named in the person's language, also one of no town of
	// the route (an operator may configure any IANA zone).
	for _, tt := range []struct{ hours, lang, want string }{
		{"America/Mexico_City Mon-Fri 09:00-18:00", "en", "Monday at 09:00 (Mexico City time)"},
		{"America/Mexico_City Mon-Fri 09:00-18:00", "fr", "lundi à 09:00 (heure de Mexico)"},
		{"America/Mexico_City Mon-Fri 09:00-18:00", "ht", "lendi a 09:00 (lè Meksiko)"},
		{"America/Mexico_City Mon-Fri 09:00-18:00", "pt", "segunda-feira às 09:00 (hora da Cidade do México)"},
		{"America/Tijuana Mon-Fri 09:00-18:00", "pt", "segunda-feira às 09:00 (hora de Tijuana)"},
		{"America/Guatemala Mon-Fri 09:00-18:00", "fr", "lundi à 09:00 (heure du Guatemala)"},
		{"America/Monterrey Mon-Fri 09:00-18:00", "fr", "lundi à 09:00 (heure de Monterrey)"},
		{"America/Monterrey Mon-Fri 09:00-18:00", "es", "lunes a las 09:00 (hora de Monterrey)"},
	} {
		h, err := flows.ParseHours(tt.hours)
		if err != nil {
			t.Fatal(err)
		}
		e := flows.New(flows.Config{Hours: h}, cat)
		s := s
		s.Lang = tt.lang
		if got := e.Step(context.Background(), s, text("necesito hablar con alguien"), from, t0).Outputs()[0].Text.Data["When"]; got != tt.want {
			t.Errorf("%s, %s: got %q, want %q", tt.hours, tt.lang, got, tt.want)
		}
	}
	// On Monday at 10:00 someone is: the usual waiting time.
	r = e.Step(context.Background(), s, text("necesito hablar con alguien"), from, time.Date(2026, 11, 30, 16, 0, 0, 0, time.UTC))
	if got := r.Outputs()[0].Text.ID; got != "person.kept.wait" {
		t.Fatalf("on duty: got %s, want person.kept.wait", got)
	}
}
