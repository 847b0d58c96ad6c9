package flows

import (
	"errors"
	"testing"
	"time"
)

func TestParsePhone(t *testing.T) {
	cases := []struct {
		typed, region, want string
		err                 error
	}{
		// The forms in the issue, from a Mexican number.
		{"044 55 1234 5678", "MX", "+525512345678", nil},
		{"045 55 1234 5678", "MX", "+525512345678", nil},
		{"+504 9999-9999", "MX", "+50499999999", nil},
		{"(502) 5555 1234", "MX", "+50255551234", nil},
		{"55 1234 5678", "MX", "+525512345678", nil},
		// Other ways people write them.
		{"5512345678", "MX", "+525512345678", nil},
		{"+52 1 55 1234 5678", "MX", "+525512345678", nil},
		{"01 55 1234 5678", "MX", "+525512345678", nil},
		{"00504 9999 9999", "MX", "+50499999999", nil},
		{"9999-9999", "HN", "+50499999999", nil},
		{"5555 1234", "GT", "+50255551234", nil},
		{"+1 (201) 555-0123", "", "+12015550123", nil},
		{"+509 34 10 1234", "", "+50934101234", nil},
		// No country code and no country of the person (Telegram): ask.
		{"55 1234 5678", "", "", errNeedCountry},
		// Not numbers.
		{"12345", "MX", "", errBadPhone},
		{"Rosa", "MX", "", errBadPhone},
		{"", "MX", "", errBadPhone},
		{"+52 55 1234", "MX", "", errBadPhone},
		{"1234 5678 9012 3456 7890", "MX", "", errBadPhone},
	}
	for _, tc := range cases {
		got, err := parsePhone(tc.typed, tc.region)
		if got != tc.want || !errors.Is(err, tc.err) {
			t.Errorf("parsePhone(%q, %q) = %q, %v; want %q, %v", tc.typed, tc.region, got, err, tc.want, tc.err)
		}
	}
}

func TestPhoneExample(t *testing.T) {
	for region, want := range map[string]string{"MX": "+52 222 123 4567", "HN": "+504 9123-4567", "": "+52 222 123 4567", "US": "+1 201-555-0123"} {
		if got := phoneExample(region); got != want {
			t.Errorf("phoneExample(%q) = %q, want %q", region, got, want)
		}
		if region != "" {
			if _, err := parsePhone(phoneExample(region), ""); err != nil {
				t.Errorf("the example for %s does not parse: %v", region, err)
			}
		}
	}
}

func TestParseWhen(t *testing.T) {
	e := internalEngine(t)
	mx := location("America/Mexico_City")
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, mx) // a Sunday, noon in Mexico City
	friday := time.Date(2026, 12, 4, 18, 0, 0, 0, mx)
	cases := []struct {
		typed string
		want  time.Time
		err   error
	}{
		{"viernes 18:00", friday, nil},
		{"Viernes 18:00", friday, nil},
		{"el viernes a las 18:00", friday, nil},
		{"friday 18:00", friday, nil},
		{"Friday 6pm", friday, nil},
		{"fri 6 p.m.", friday, nil},
		{"vendredi 18h", friday, nil},
		{"vendredi à 18h00", friday, nil},
		{"vandredi 18:00", friday, nil},
		{"sexta 18:00", friday, nil},
		{"sexta-feira 18h", friday, nil},
		{"2026-12-04 18:00", friday, nil},
		{"4/12 18:00", friday, nil},
		{"4/12/2026 18:00", friday, nil},
		{"18:00", time.Date(2026, 11, 29, 18, 0, 0, 0, mx), nil},            // later today
		{"10:00", time.Date(2026, 11, 30, 10, 0, 0, 0, mx), nil},            // already passed today: tomorrow
		{"domingo 10:00", time.Date(2026, 12, 6, 10, 0, 0, 0, mx), nil},     // today's weekday, hour passed: next week
		{"mañana 9:00", time.Date(2026, 11, 30, 9, 0, 0, 0, mx), nil},       // tomorrow
		{"demen 9h", time.Date(2026, 11, 30, 9, 0, 0, 0, mx), nil},          // Creole tomorrow
		{"2026-11-28 18:00", time.Time{}, errWhenPast},                      // yesterday
		{"28/11 18:00", time.Time{}, errWhenPast},                           // yesterday, without a year
		{"2027-01-15 18:00", time.Time{}, errWhenFar},                       // beyond 30 days
		{"31/2 10:00", time.Time{}, errWhenBad},                             // no such day
		{"25:00", time.Time{}, errWhenBad},                                  // no such hour
		{"viernes", time.Time{}, errWhenBad},                                // no hour
		{"hola", time.Time{}, errWhenBad},                                   // no date at all
		{"sabado 9:00", time.Date(2026, 12, 5, 9, 0, 0, 0, mx), nil},        // without accent
		{"mèkredi 7:30", time.Date(2026, 12, 2, 7, 30, 0, 0, mx), nil},      // Creole Wednesday
		{"quarta 7:30", time.Date(2026, 12, 2, 7, 30, 0, 0, mx), nil},       // Portuguese Wednesday
		{"miercoles 7:30", time.Date(2026, 12, 2, 7, 30, 0, 0, mx), nil},    // Spanish Wednesday
		{"wednesday 7:30", time.Date(2026, 12, 2, 7, 30, 0, 0, mx), nil},    // English Wednesday
		{"mercredi 7h30", time.Date(2026, 12, 2, 7, 30, 0, 0, mx), nil},     // French Wednesday
		{"28/12 23:59", time.Date(2026, 12, 28, 23, 59, 0, 0, mx), nil},     // within 30 days
		{"29/12/2026 12:00", time.Date(2026, 12, 29, 12, 0, 0, 0, mx), nil}, // exactly 30 days
		// A part of the day after the hour (once ignored: a check-in 12 hours early).
		{"viernes 6 de la tarde", friday, nil},
		{"el viernes a las 6 de la tarde", friday, nil},
		{"viernes 6 tarde", friday, nil},
		{"vendredi 6h du soir", friday, nil},
		{"friday 6 in the evening", friday, nil},
		{"sexta 6 da tarde", friday, nil},
		{"vandredi 6 diswa", friday, nil},
		{"viernes 8 de la noche", time.Date(2026, 12, 4, 20, 0, 0, 0, mx), nil},
		{"viernes 8:30 de la noche", time.Date(2026, 12, 4, 20, 30, 0, 0, mx), nil},
		{"12 de la noche", time.Date(2026, 11, 30, 0, 0, 0, 0, mx), nil},
		{"2 de la noche", time.Date(2026, 11, 30, 2, 0, 0, 0, mx), nil},
		{"viernes 18:00 de la tarde", friday, nil},
		{"8 de la mañana", time.Date(2026, 11, 30, 8, 0, 0, 0, mx), nil},        // the morning, not "mañana" (tomorrow) read twice
		{"mañana 8 de la mañana", time.Date(2026, 11, 30, 8, 0, 0, 0, mx), nil}, // tomorrow morning
		{"sexta 9 da manhã", time.Date(2026, 12, 4, 9, 0, 0, 0, mx), nil},
	}
	for _, tc := range cases {
		got, err := e.parseWhen(tc.typed, now, mx)
		if !got.Equal(tc.want) || !errors.Is(err, tc.err) {
			t.Errorf("parseWhen(%q) = %v, %v; want %v, %v", tc.typed, got, err, tc.want, tc.err)
		}
	}
	// The person's own time zone: 18:00 in Port-au-Prince.
	ht := location("America/Port-au-Prince")
	got, err := e.parseWhen("vandredi 18:00", now, ht)
	if want := time.Date(2026, 12, 4, 18, 0, 0, 0, ht); err != nil || !got.Equal(want) || got.UTC().Hour() != 23 {
		t.Errorf("Haiti: got %v, %v; want %v (23:00 UTC)", got, err, want)
	}
}

func TestWhenIsInTheReadersLanguage(t *testing.T) {
	e := internalEngine(t)
	at := time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC) // Friday 18:00 in Mexico City
	// Each zone is named as each language says it, with its own preposition
	// in French and Portuguese ("du Guatemala", "da Cidade do México").
	for _, tt := range []struct{ zone, lang, want string }{
		{"America/Mexico_City", "es", "viernes 4 de diciembre a las 18:00 (hora de Ciudad de México)"},
		{"America/Mexico_City", "en", "Friday, December 4, 18:00 (Mexico City time)"},
		{"America/Mexico_City", "fr", "vendredi 4 décembre à 18:00 (heure de Mexico)"},
		{"America/Mexico_City", "ht", "vandredi 4 desanm, 18:00 (lè Meksiko)"},
		{"America/Mexico_City", "pt", "sexta, 4 de dezembro, às 18:00 (hora da Cidade do México)"},
		{"America/Tijuana", "fr", "vendredi 4 décembre à 16:00 (heure de Tijuana)"},
		{"America/Tijuana", "pt", "sexta, 4 de dezembro, às 16:00 (hora de Tijuana)"},
		{"America/Port-au-Prince", "es", "viernes 4 de diciembre a las 19:00 (hora de Haití)"},
		{"America/Port-au-Prince", "en", "Friday, December 4, 19:00 (Haiti time)"},
		{"America/Port-au-Prince", "fr", "vendredi 4 décembre à 19:00 (heure d'Haïti)"},
		{"America/Port-au-Prince", "ht", "vandredi 4 desanm, 19:00 (lè Ayiti)"},
		{"America/Port-au-Prince", "pt", "sexta, 4 de dezembro, às 19:00 (hora do Haiti)"},
		{"America/Guatemala", "fr", "vendredi 4 décembre à 18:00 (heure du Guatemala)"},
		{"America/Guatemala", "ht", "vandredi 4 desanm, 18:00 (lè Gwatemala)"},
		{"America/Guatemala", "pt", "sexta, 4 de dezembro, às 18:00 (hora da Guatemala)"},
		{"America/Belize", "es", "viernes 4 de diciembre a las 18:00 (hora de Belice)"},
		{"America/Panama", "en", "Friday, December 4, 19:00 (Panama time)"},
		{"America/Los_Angeles", "fr", "vendredi 4 décembre à 16:00 (heure de Californie)"},
		{"America/Los_Angeles", "ht", "vandredi 4 desanm, 16:00 (lè Kalifòni)"},
	} {
		if got := e.when(tt.lang, at, tt.zone); got != tt.want {
			t.Errorf("when(%s, %s) = %q, want %q", tt.lang, tt.zone, got, tt.want)
		}
	}
	if got, want := e.whenAs("time.short", "en", at, "America/Mexico_City"), "Dec 4, 18:00 (Mexico City time)"; got != want {
		t.Errorf("short English date: got %q, want %q", got, want)
	}
	// The same instant in Tijuana is two hours earlier, and says so.
	if got, want := e.whenAs("time.short", "es", at, "America/Tijuana"), "4 dic 16:00 (hora de Tijuana)"; got != want {
		t.Errorf("Tijuana: got %q, want %q", got, want)
	}
}
