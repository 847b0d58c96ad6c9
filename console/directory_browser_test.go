package console_test

import (
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
