package console_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/enlace-rfl/enlace/console/browsertest"
	"github.com/enlace-rfl/enlace/staff"
	"github.com/enlace-rfl/enlace/staff/stafftest"
	"github.com/enlace-rfl/enlace/store/teststores"
)

// signInBrowser logs m in through the login form (TOTP from the fake clock).
func (b *browser) signIn(m stafftest.Member) {
	b.t.Helper()
	b.open("/login")
	b.do(
		chromedp.SendKeys(chromedp.CSS(`input[name=name]`), m.Name),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), m.Password),
		chromedp.SendKeys(chromedp.CSS(`input[name=code]`), b.s.Code(b.t, m.Secret)),
	)
	b.submit(`form[action="/login"] button`)
	b.s.Clock.Advance(30 * time.Second) // the next code is a new one
}

// waitVisible waits for sel, failing after a bound that no assertion relies on.
func (b *browser) waitVisible(sel string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(sel))); err != nil {
		b.t.Fatalf("waiting for %s: %v", sel, err)
	}
}

// TestBrowserInbox drives the inbox in two headless Chromiums on phone
// screens: a Kreyòl SMS asking for a person is listed for Anne (Kreyòl);
// Bea's open inbox page drops it over Server-Sent Events when Anne claims;
// Anne's reply (with its live SMS count) reaches the phone; Anne closes.
func TestBrowserInbox(t *testing.T) {
	s := newInboxSite(t, teststores.WithStaff()["embedded"])
	// After the site: the browsers (and Bea's event stream) end first.
	ctxA := browsertest.New(t)
	ctxB := browsertest.New(t)
	site := &site{Env: s.env, srv: s.srv}
	anne := s.env.Enrol(t, "anne", staff.RoleVolunteer, "ht")
	bea := s.env.Enrol(t, "bea", staff.RoleVolunteer, "ht", "fr")
	a := &browser{t: t, ctx: ctxA, s: site}
	b := &browser{t: t, ctx: ctxB, s: site}
	a.signIn(anne)
	b.signIn(bea)

	// Bea's inbox is open and live before the person writes.
	b.open("/inbox")
	b.waitVisible("#live")
	b.waitVisible("#inbox-list .empty")
	s.escalate(marie) // "mwen bezwen pale ak yon moun", one acknowledgement in Kreyòl
	b.waitVisible(`#inbox-list li.conv`)

	a.open("/inbox")
	a.waitVisible(`#inbox-list li.conv a`)
	if got := a.text("#inbox-list"); !strings.Contains(got, "Mande yon moun") || !strings.Contains(got, "Kreyòl") {
		t.Fatalf("anne's inbox:\n%s", got)
	}
	shot(t, a, "console-inbox")
	// The edge colour goes with urgency (flows.ReasonPriority): danger red,
	// a missed check-in orange, asked for a person blue, the rest grey.
	edges, err := chromedp.Run(a.ctx, chromedp.Evaluate[[]string](`[4, 3, 2, 1, 0].map(p => {
		const li = document.createElement('li'); li.className = 'card conv prio-' + p;
		document.body.appendChild(li); const c = getComputedStyle(li).borderLeftColor; li.remove(); return c; })`))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"rgb(176, 0, 32)", "rgb(211, 84, 0)", "rgb(31, 111, 235)", "rgb(136, 136, 136)", "rgb(136, 136, 136)"}; strings.Join(edges, " ") != strings.Join(want, " ") {
		t.Errorf("edge colours by priority 4..0: %q, want %q", edges, want)
	}
	a.submit(`#inbox-list li.conv a`)
	a.submit("#claim")
	if got := a.text("#state"); got != "Se ou ki genyen l" {
		t.Fatalf("after the claim anne's page says %q", got)
	}
	// Bea's page was not reloaded: the event stream made it fetch the list.
	b.waitVisible("#inbox-list .empty")

	// The count follows the alphabet: one letter outside GSM-7 (È) makes the
	// whole text UCS-2, 70 characters in one SMS, 67 a part after that.
	for _, tc := range []struct{ text, want string }{
		{"Èske ou an sekirite kounye a? Di m kote ou ye, epi si ou bezwen yon doktè.", "2 SMS (74"},
		{strings.Repeat("Kote ou ye? ", 13) + "Anne", "1 SMS (160"},
		{strings.Repeat("Kote ou ye? ", 14), "2 SMS (168"},
	} {
		a.open(a.location()) // an empty reply box
		a.do(chromedp.SendKeys(chromedp.CSS("#reply-text"), tc.text))
		if got := a.text("#segments"); !strings.HasPrefix(got, tc.want) {
			t.Errorf("segment count of %q: %q, want %s…", tc.text, got, tc.want)
		}
	}
	a.open(a.location())
	a.do(chromedp.SendKeys(chromedp.CSS("#reply-text"), "Bonjou, se Anne. Mwen la pou ede w."))
	// A ready answer in Kreyòl is added to what is written, and counted,
	// without leaving the page.
	a.do(chromedp.Click(chromedp.CSS(`#canned a[href*="canned=where"]`)))
	const reply = "Bonjou, se Anne. Mwen la pou ede w. Kote ou ye kounye a? Ekri non vil la."
	box, err := chromedp.Run(a.ctx, chromedp.Value(chromedp.CSS("#reply-text")))
	if err != nil || box != reply || strings.Contains(a.location(), "canned=") {
		t.Fatalf("the box after a ready answer: %q (%v) at %s, want %q", box, err, a.location(), reply)
	}
	if got := a.text("#segments"); !strings.HasPrefix(got, "1 SMS") {
		t.Fatalf("segment count %q", got)
	}
	a.submit("#send")
	if sent := s.drain(); len(sent) != 1 || sent[0].Text != reply {
		t.Fatalf("the phone got %+v", sent)
	}
	a.open(a.location()) // the delivery status as it is now
	a.waitVisible(".entry.from-reply .status")
	shot(t, a, "console-conversation")

	a.do(chromedp.SetValue(chromedp.CSS("#outcome"), "answered"))
	a.submit("#close")
	if loc := a.location(); loc != "/inbox?closed=1" {
		t.Fatalf("after close anne is at %q", loc)
	}
	if sent := s.drain(); len(sent) != 1 {
		t.Fatalf("closing sent %+v", sent)
	}
}

// TestBrowserInboxAfterSignOut: an open inbox whose session ends (here the
// idle timeout) goes to the login page, whether the next thing is a new
// escalation (the list it fetches is a redirect) or only the stream's beat
// (the server checks the session, without counting it as use). The login
// page was once put inside the list.
func TestBrowserInboxAfterSignOut(t *testing.T) {
	for _, tc := range []struct {
		name      string
		heartbeat time.Duration
		escalate  bool
	}{
		{"a new escalation", time.Hour, true},
		{"the stream's beat", 200 * time.Millisecond, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newInboxSiteBeating(t, teststores.WithStaff()["embedded"], tc.heartbeat)
			ctx := browsertest.New(t)
			site := &site{Env: s.env, srv: s.srv}
			bea := s.env.Enrol(t, "bea", staff.RoleVolunteer, "ht")
			b := &browser{t: t, ctx: ctx, s: site}
			b.signIn(bea)
			b.open("/inbox")
			b.waitVisible("#live")
			s.env.Clock.Advance(staff.DefaultSessionIdle + time.Minute)
			if tc.escalate {
				s.escalate(marie)
			}
			b.waitVisible(`form[action="/login"]`)
			if loc := b.location(); !strings.HasSuffix(loc, "/login?next=%2Finbox") {
				t.Errorf("after the session ended the page is %q, want the login with next=/inbox", loc)
			}
			if got := b.text("body"); strings.Contains(got, "Mande yon moun") {
				t.Errorf("the page shows a conversation after the session ended:\n%s", got)
			}
		})
	}
}
