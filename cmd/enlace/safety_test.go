package main

import (
	"strings"
	"testing"

	"github.com/enlace-rfl/enlace/locales"
)

// TestTwilioMenuByNumber: on SMS, typing the number of the main menu's
// emergency, language and erase options works, through the signed webhook
// exactly as in `enlace chat --channel sms`.
func TestTwilioMenuByNumber(t *testing.T) {
	cat, err := locales.Load()
	if err != nil {
		t.Fatal(err)
	}
	s := startTwilioServe(t)
	const from = "+525511110021"
	// es, agree; the menu offers the finder first (the starter directory is
	// loaded): 4 emergency numbers, 5 change language, 2 English, 6 erase, 1 yes.
	lines := []string{"hola", "1", "1", "4", "5", "2", "6", "1"}
	want := simulated(t, "sms", from, lines...)
	total := 0
	for i, line := range lines {
		if code := s.post(from, line, ""); code != 200 {
			t.Fatalf("line %q: status %d, want 200", line, code)
		}
		total += len(want[i])
		got := s.waitFor(from, total)
		if g, w := strings.Join(got[total-len(want[i]):], "\n---\n"), strings.Join(want[i], "\n---\n"); g != w {
			t.Errorf("after %q:\n got %q\nwant %q", line, g, w)
		}
	}
	for i, check := range []struct {
		line int
		text string
	}{
		{3, "México: 911"},
		{4, cat.Text("es", "language.prompt", nil)},
		{5, cat.Text("en", "language.changed", nil)},
		{6, cat.Text("en", "erase.confirm.tracing", nil)}, // serve runs with tracing on
		{7, cat.Text("en", "erase.done", nil)},
	} {
		if got := strings.Join(want[check.line], "\n"); !strings.Contains(got, check.text) {
			t.Errorf("check %d, after %q: got %q, want it to contain %q", i, lines[check.line], got, check.text)
		}
	}
}

// TestTwilioLeaveWordsAndStop: through the signed webhook exactly as in
// `enlace chat --channel sms`, "cancelar" inside a dialog leaves it and at
// the menu only asks, while STOP opts the number out at once and says how to
// come back.
func TestTwilioLeaveWordsAndStop(t *testing.T) {
	cat, err := locales.Load()
	if err != nil {
		t.Fatal(err)
	}
	s := startTwilioServe(t)
	const from = "+525511110022"
	l := func(id string) string { return cat.Text("es", id, nil) }
	lines := []string{"hola", "1", "1", l("menu.family"), l("family.contacts"), l("contacts.add"), "cancelar", "cancelar", "2", "STOP", "hola", "START"}
	want := simulated(t, "sms", from, lines...)
	total := 0
	for i, line := range lines {
		if code := s.post(from, line, ""); code != 200 {
			t.Fatalf("line %q: status %d, want 200", line, code)
		}
		total += len(want[i])
		got := s.waitFor(from, total)
		if g, w := strings.Join(got[total-len(want[i]):], "\n---\n"), strings.Join(want[i], "\n---\n"); g != w {
			t.Errorf("after %q:\n got %q\nwant %q", line, g, w)
		}
	}
	for _, check := range []struct {
		line int
		text string
	}{
		{6, l("dialog.left")},
		{7, l("stopall.confirm")},
		{8, l("stopall.kept")},
		{9, l("twilio.optout")},
		{11, l("twilio.optin")},
	} {
		if got := strings.Join(want[check.line], "\n"); !strings.Contains(got, check.text) {
			t.Errorf("after %q: got %q, want it to contain %q", lines[check.line], got, check.text)
		}
	}
	if len(want[10]) != 0 {
		t.Errorf("an opted-out number was answered: %q", want[10])
	}
}
