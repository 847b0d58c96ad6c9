package flows

import (
	"errors"
	"testing"
	"time"

	"github.com/enlace-rfl/enlace/locales"
)

// FuzzParseWhen: any typed date and time, in any zone, never panics; it is
// either refused with one of the three answers the dialog has, or a moment
// after now and at most maxCheckinAhead away. The seeds are the forms of
// TestParseWhen and the crashers found so far (testdata/fuzz/FuzzParseWhen).
func FuzzParseWhen(f *testing.F) {
	for _, s := range []string{"viernes 18:00", "Friday 6pm", "fri 6 p.m.", "vendredi à 18h00", "sexta-feira 18h",
		"2026-12-04 18:00", "4/12/2026 18:00", "18:00", "mañana 9:00", "demen 9h", "31/2 10:00", "25:00",
		"mèkredi 7:30", "29/12/2026 12:00", "0/0/0000 0:0", "99999999999999999999-1-1 1:00", "12 12 pm am"} {
		f.Add(s, "MX")
		f.Add(s, "HT")
	}
	cat, err := locales.Load()
	if err != nil {
		f.Fatal(err)
	}
	e := New(Config{}, cat)
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, typed, country string) {
		at, err := e.parseWhen(typed, now, zoneFor(country))
		if err != nil {
			if !errors.Is(err, errWhenBad) && !errors.Is(err, errWhenPast) && !errors.Is(err, errWhenFar) {
				t.Fatalf("parseWhen(%q) = %v, not an answer the dialog has", typed, err)
			}
			return
		}
		if !at.After(now) || at.Sub(now) > maxCheckinAhead {
			t.Fatalf("parseWhen(%q) = %v, not after %v and within %v", typed, at, now, maxCheckinAhead)
		}
	})
}
