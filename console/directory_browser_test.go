package console_test

import (
	"github.com/chromedp/chromedp"
	"strings"
	"testing"
	"time"

	"github.com/enlace-rfl/enlace/console/browsertest"
	"github.com/enlace-rfl/enlace/places"
	"github.com/enlace-rfl/enlace/staff"
	"github.com/enlace-rfl/enlace/store/teststores"
)

// TestBrowserDirectory: on a phone screen an admin searches the directory,
// marks a Tapachula shelter full with one tap (no script on the page), and
// the shelter finder's next answer by SMS says since when.
func TestBrowserDirectory(t *testing.T) {
	s := newInboxSite(t, teststores.WithStaff()["embedded"])
	ctxB := browsertest.New(t)
	site := &site{Env: s.env, srv: s.srv}
	p := s.loadStarter()
	b := &browser{t: t, ctx: ctxB, s: site}
	b.signIn(s.env.Enrol(t, "boss", staff.RoleAdmin, "es"))

	// On a phone, in French (the longest tab names: Accueil, Boîte de réception,
	// Répertoire, Équipe, Journal), every tab shows: they wrap rather than scroll
	// sideways out of sight.
	b.open("/lang?l=fr&next=%2Fadmin%2Faudit")
	fits, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`(() => {
		const tabs = [...document.querySelectorAll('nav.tabs a')];
		return tabs.length >= 4 && tabs.every(a => { const r = a.getBoundingClientRect(); return r.left >= 0 && r.right <= window.innerWidth; });
	})()`))
	if err != nil || !fits {
		t.Errorf("French tabs on a phone: some tab is off the screen, or fewer than 4 (%v)", err)
	}
	b.open("/lang?l=es&next=%2F")

	b.open("/directory?q=tapachula")
	row := `[id="place-` + p.ID + `"]`
	b.waitVisible(row)
	if got := b.text(row + " .place-status"); !strings.Contains(got, "Abierto") {
		t.Fatalf("the place's status before: %q", got)
	}
	s.env.Clock.Advance(3 * time.Minute)
	at := s.env.Clock.Now()
	b.submit(row + ` button[value="full"]`)
	if got := b.text("#notice"); !strings.Contains(got, "ahora está: Lleno") {
		t.Fatalf("the notice after the tap: %q", got)
	}
	if got := b.text(row + " .place-status"); !strings.Contains(got, "Lleno") || !strings.Contains(got, at.UTC().Format("15:04:05")) {
		t.Fatalf("the place's status after: %q", got)
	}
	if loc := b.location(); !strings.Contains(loc, "q=tapachula") || !strings.Contains(loc, "set="+p.ID) {
		t.Fatalf("after the tap the admin is at %q", loc)
	}
	if q, err := s.st.Place(ctx, p.ID); err != nil || q.Status != places.StatusFull {
		t.Fatalf("the stored place: %+v %v", q, err)
	}
	shot(t, b, "console-directory")
	if got := s.findShelters("+5215500000001"); !strings.Contains(got, fullSince(at)) {
		t.Fatalf("the finder: want %q in\n%s", fullSince(at), got)
	}
}
