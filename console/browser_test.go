package console_test

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/enlace-rfl/enlace/console/browsertest"
	"github.com/enlace-rfl/enlace/staff"
)

var screenshots = flag.Bool("screenshots", false, "write the browser tests' screenshots into docs/")

// shot saves a full-page screenshot: into docs/ with -screenshots, else into
// the test's temporary directory (so taking it is always exercised).
func shot(t *testing.T, b *browser, name string) {
	t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	dir := t.TempDir()
	if *screenshots {
		dir = filepath.Join("..", "docs")
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

type browser struct {
	t   *testing.T
	ctx context.Context
	s   *site
}

func (b *browser) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.t.Fatal(err)
	}
}

// open loads a console path and waits for the page.
func (b *browser) open(path string) {
	b.t.Helper()
	b.do(chromedp.Navigate(b.s.srv.URL+path), chromedp.WaitReady(chromedp.CSS("main")))
}

// submit clicks a form's button and waits for the next page to load.
func (b *browser) submit(button string) {
	b.t.Helper()
	if _, err := chromedp.Run(b.ctx, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(chromedp.CSS(button)))); err != nil {
		b.t.Fatal(err)
	}
	b.do(chromedp.WaitReady(chromedp.CSS("main")))
}

func (b *browser) text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatal(err)
	}
	return s
}

func (b *browser) location() string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Location())
	if err != nil {
		b.t.Fatal(err)
	}
	return strings.TrimPrefix(s, b.s.srv.URL)
}

// TestBrowserEnrolAndSignIn drives the console in headless Chromium on a
// phone-sized screen: enrolment with a password and the TOTP secret read from
// the page, sign-in with a code computed from the fake clock, the home page,
// an admin's pages, and sign out.
func TestBrowserEnrolAndSignIn(t *testing.T) {
	ctx := browsertest.New(t)
	s := newSite(t)
	b := &browser{t: t, ctx: ctx, s: s}
	ana := s.Enrol(t, "ana", staff.RoleAdmin, "en")
	_, token, err := s.Service.Add(ctx, staff.Operator, "maria", staff.RoleVolunteer, []string{"es", "ht"})
	if err != nil {
		t.Fatal(err)
	}

	// No session: the console sends the browser to the login page.
	b.open("/")
	if loc := b.location(); loc != "/login" {
		t.Fatalf("without a session / went to %q", loc)
	}

	b.open("/enrol?lang=en&t=" + token)
	if h := b.text("h1"); h != "Set up your account" {
		t.Fatalf("enrolment page heading %q", h)
	}
	shot(t, b, "console-enrol")
	secret := strings.ReplaceAll(b.text("#secret"), " ", "")
	b.do(
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), "una frase bastante larga"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password2]`), "una frase bastante larga"),
		chromedp.SendKeys(chromedp.CSS(`input[name=code]`), s.Code(t, secret)),
	)
	b.submit(`form[action="/enrol"] button`)
	if h := b.text("h1"); h != "Your account is ready" {
		t.Fatalf("after enrolment the heading is %q", h)
	}

	s.Clock.Advance(30 * time.Second)
	b.open("/login")
	b.do(
		chromedp.SendKeys(chromedp.CSS(`input[name=name]`), "maria"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), "una frase bastante larga"),
		chromedp.SendKeys(chromedp.CSS(`input[name=code]`), s.Code(t, secret)),
	)
	shot(t, b, "console-login")
	b.submit(`form[action="/login"] button`)
	if loc := b.location(); loc != "/" {
		t.Fatalf("after login the browser is at %q", loc)
	}
	if h := b.text("h1"); h != "Hello, maria" {
		t.Fatalf("home heading %q", h)
	}
	if got := b.text("main"); !strings.Contains(got, "Volunteer") || !strings.Contains(got, "Sign out everywhere") {
		t.Fatalf("volunteer home lacks the role or security section:\n%s", got)
	}
	shot(t, b, "console-home-volunteer")

	// A volunteer gets 403 on an admin page.
	b.open("/admin/audit")
	if h := b.text("h1"); h != "Not allowed" {
		t.Fatalf("volunteer on /admin/audit sees %q", h)
	}

	// Sign out.
	b.open("/")
	b.submit(`form[action="/logout"] button`)
	if loc := b.location(); loc != "/login?signed_out=1" {
		t.Fatalf("after sign out the browser is at %q", loc)
	}

	// The admin's pages, in the same browser.
	b.open("/login")
	b.do(
		chromedp.SendKeys(chromedp.CSS(`input[name=name]`), ana.Name),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), ana.Password),
		chromedp.SendKeys(chromedp.CSS(`input[name=code]`), s.Code(t, ana.Secret)),
	)
	b.submit(`form[action="/login"] button`)
	if got := b.text("main"); !strings.Contains(got, "Staff") || !strings.Contains(got, "Audit log") {
		t.Fatalf("admin home lacks the admin sections:\n%s", got)
	}
	shot(t, b, "console-home-admin")
	b.open("/admin/staff")
	if got := b.text("main"); !strings.Contains(got, "maria") || !strings.Contains(got, "Active") {
		t.Fatalf("staff list:\n%s", got)
	}
	shot(t, b, "console-staff")
	b.open("/admin/audit")
	if got := b.text("main"); !strings.Contains(got, "staff.enrol") || !strings.Contains(got, "Signed in") ||
		!strings.Contains(got, "Account enrolled") || !strings.Contains(got, ana.Name+" ") || !strings.Contains(got, "(Admin)") {
		t.Fatalf("audit page: want each action named in words, who did it by name and role:\n%s", got)
	}
	shot(t, b, "console-audit")
}
