package console_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/enlace-rfl/enlace/console/browsertest"
	"github.com/enlace-rfl/enlace/flows"
	"github.com/enlace-rfl/enlace/staff"
	"github.com/enlace-rfl/enlace/store/teststores"
)

// TestBrowserCases drives the caseworkers' pages in headless Chromium on a
// phone screen: a case taken in an interview (in Portuguese for the
// caseworker), the case page, a notification, the list.
func TestBrowserCases(t *testing.T) {
	cs := newCasesSite(t, teststores.WithStaff()["embedded"])
	ctx := browsertest.New(t)
	s := &site{Env: cs.env, srv: cs.srv}
	lia := s.Enrol(t, "lia", staff.RoleCaseworker, "pt")
	b := &browser{t: t, ctx: ctx, s: s}
	b.signIn(lia)

	b.open("/cases/new")
	b.do(
		chromedp.SendKeys(chromedp.CSS("#name"), "Jean-Baptiste Pierre"),
		chromedp.SendKeys(chromedp.CSS(`input[name=other_names]`), "Ti Jan"),
		chromedp.SetValue(chromedp.CSS(`select[name=sex]`), "male"),
		chromedp.SendKeys(chromedp.CSS(`input[name=birth_year]`), "1988"),
		chromedp.SetValue(chromedp.CSS(`select[name=nationality]`), "HT"),
		chromedp.SetValue(chromedp.CSS(`select[name=relationship]`), "spouse"),
		chromedp.SendKeys(chromedp.CSS(`input[name=place]`), "Tapachula"),
		chromedp.SetValue(chromedp.CSS(`select[name=what]`), "detained"),
		chromedp.SendKeys(chromedp.CSS(`input[name=enquirer]`), "Marie Joseph"),
		chromedp.SendKeys(chromedp.CSS("#address"), "+509 3700 1234"),
		chromedp.SetValue(chromedp.CSS("#lang"), "ht"),
		chromedp.Click(chromedp.CSS("#consent-tracing")),
	)
	shot(t, b, "console-case-new")
	b.submit("#create")
	if got := b.text("#notice"); !strings.Contains(got, "Caso criado") {
		t.Fatalf("after create: %q", got)
	}
	if ev := cs.chat.take(); len(ev) != 1 || ev[0].Action != flows.StaffTracingOpened {
		t.Fatalf("the enquirer's chat got %+v", ev)
	}
	if got := b.text("#case-name"); got != "Jean-Baptiste Pierre" {
		t.Fatalf("case page names %q", got)
	}
	b.do(chromedp.SetValue(chromedp.CSS("#template"), "contact_point"),
		chromedp.SendKeys(chromedp.CSS("#param"), "Cruz Vermelha, Tapachula, 4a Norte 12"))
	b.submit("#send-update")
	if got := b.text("#updates"); !strings.Contains(got, "Na fila") {
		t.Fatalf("updates: %q", got)
	}
	shot(t, b, "console-case")
	b.open("/cases")
	b.waitVisible("#cases li.conv")
	shot(t, b, "console-cases")
}
