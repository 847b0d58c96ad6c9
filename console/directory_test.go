package console_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/enlace-rfl/enlace/console"
	"github.com/enlace-rfl/enlace/flows"
	"github.com/enlace-rfl/enlace/places"
	"github.com/enlace-rfl/enlace/places/gazetteer"
	"github.com/enlace-rfl/enlace/staff"
	"github.com/enlace-rfl/enlace/store/teststores"
)

// storeDirectory is the shelter finder's flows.Directory over a
// places.Store, converted as cmd/enlace converts it.
type storeDirectory struct{ st places.Store }

func (d storeDirectory) Available(ctx context.Context) bool {
	n, err := d.st.CountPlaces(ctx)
	return err == nil && n > 0
}

func (d storeDirectory) Nearby(ctx context.Context, q flows.PlaceQuery) (flows.PlacePage, error) {
	r, err := places.Finder{Store: d.st}.Nearest(ctx, q.Lat, q.Lon, places.Kind(q.Kind), q.Offset, q.Limit)
	if err != nil {
		return flows.PlacePage{}, err
	}
	page := flows.PlacePage{RadiusKm: r.RadiusKm, More: r.More}
	for _, h := range r.Hits {
		verified := ""
		if !h.Verified.IsZero() {
			verified = h.Verified.Format("2006-01-02")
		}
		page.Places = append(page.Places, flows.Place{
			ID: h.ID, Name: h.Name, Kind: string(h.Kind), Status: string(h.Status), StatusSince: h.StatusSince,
			Address: h.Address, City: h.City, Admin1: h.Admin1, Country: h.Country, Phone: h.Phone, Hours: h.Hours,
			Services: h.Services, Lat: h.Lat, Lon: h.Lon, Km: h.Km, TownCentre: h.TownCentre(), Verified: verified,
		})
	}
	return page, nil
}

// towns is the flows.Gazetteer over the GeoNames gazetteer.
type towns struct{ g *gazetteer.Gazetteer }

func gazetteerTowns(t *testing.T) towns {
	t.Helper()
	g, err := gazetteer.Default()
	if err != nil {
		t.Fatal(err)
	}
	return towns{g}
}

func (tw towns) FindTown(text string) []flows.Town {
	var out []flows.Town
	for _, x := range tw.g.Find(text).Towns {
		out = append(out, flows.Town{Name: x.Name, Admin1: x.Admin1, Country: x.Country, Lat: x.Lat, Lon: x.Lon})
	}
	return out
}

func (tw towns) Nearest(lat, lon float64) (flows.Town, bool) {
	x, ok := tw.g.Nearest(lat, lon)
	return flows.Town{Name: x.Name, Admin1: x.Admin1, Country: x.Country, Lat: x.Lat, Lon: x.Lon}, ok
}

// loadStarter fills the site's directory with the starter directory and
// returns the first place the finder shows for Tapachula (a shelter).
func (s *inboxSite) loadStarter() places.Place {
	s.t.Helper()
	if _, err := places.LoadStarter(ctx, s.st, nil); err != nil {
		s.t.Fatal(err)
	}
	tap := gazetteerTowns(s.t).FindTown("Tapachula")[0]
	r, err := places.Finder{Store: s.st}.Nearest(ctx, tap.Lat, tap.Lon, places.KindShelter, 0, 3)
	if err != nil || len(r.Hits) == 0 {
		s.t.Fatalf("no shelter near Tapachula: %v", err)
	}
	return r.Hits[0].Place
}

// findShelters asks the bot for shelters in Tapachula by SMS, in Spanish,
// from a new number, and returns the answer.
func (s *inboxSite) findShelters(from string) string {
	s.t.Helper()
	s.write(from, "hola")
	s.write(from, "1") // Español
	s.write(from, "1") // acepto
	s.write(from, "1") // the menu's first choice: shelters, when the directory holds places
	var all []string
	for _, r := range s.write(from, "albergue tapachula") {
		all = append(all, r.Text)
	}
	return strings.Join(all, "\n")
}

// short is the start of a place's name, as the finder's SMS list may cut it.
func short(name string) string { return string([]rune(name)[:14]) }

// fullSince is how the finder says, in Spanish, that a place of Tapachula
// is full since t (Mexico City's time).
func fullSince(t time.Time) string {
	mx, err := time.LoadLocation("America/Mexico_City")
	if err != nil {
		panic(err)
	}
	at := t.In(mx)
	months := []string{"ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sep", "oct", "nov", "dic"}
	return "lleno desde las " + at.Format("15:04") + " del " + at.Format("2") + " " + months[at.Month()-1]
}

// TestDirectoryPages: an admin finds a place by searching, marks it full
// with the page's form (POST-redirect-GET, no JavaScript) and the shelter
// finder says so at once, with the time; the change is audited; a
// volunteer gets 403 and changes nothing; bad input is told in the viewer's
// language.
func TestDirectoryPages(t *testing.T) {
	s := newInboxSite(t, teststores.WithStaff()["embedded"])
	p := s.loadStarter()
	site := &site{Env: s.env, srv: s.srv}
	boss := site.signIn(t, s.env.Enrol(t, "boss", staff.RoleAdmin, "es"))
	vol := site.signIn(t, s.env.Enrol(t, "vol", staff.RoleVolunteer, "es"))

	if before := s.findShelters("+5215500000001"); !strings.Contains(before, short(p.Name)) || strings.Contains(before, "lleno desde") {
		t.Fatalf("the finder before: %s", before)
	}

	resp, body := do(t, boss, site.req(t, "GET", "/directory?q="+url.QueryEscape("tapáchula"), nil))
	if resp.StatusCode != 200 || !strings.Contains(body, `id="place-`+p.ID+`"`) || strings.Contains(body, "Tijuana") ||
		!strings.Contains(body, "Directorio de lugares") || !strings.Contains(body, "sin fecha registrada") {
		t.Fatalf("search for Tapachula: %d\n%s", resp.StatusCode, body)
	}
	if _, home := do(t, boss, site.req(t, "GET", "/", nil)); !strings.Contains(home, `href="/directory"`) {
		t.Fatalf("the admin's home has no link to the directory:\n%s", home)
	}

	// A volunteer may not see it nor change it.
	if resp, _ := do(t, vol, site.req(t, "GET", "/directory", nil)); resp.StatusCode != 403 {
		t.Fatalf("a volunteer's directory page: %d, want 403", resp.StatusCode)
	}
	if resp, _ := do(t, vol, site.req(t, "POST", "/directory/"+p.ID+"/status", url.Values{"status": {"closed"}})); resp.StatusCode != 403 {
		t.Fatalf("a volunteer's status change: %d, want 403", resp.StatusCode)
	}
	if _, home := do(t, vol, site.req(t, "GET", "/", nil)); strings.Contains(home, `href="/directory"`) {
		t.Fatal("a volunteer's page links to the directory")
	}

	// The admin marks it full: back to the same search, at the place.
	s.env.Clock.Advance(7 * time.Minute)
	at := s.env.Clock.Now()
	resp, _ = do(t, boss, site.req(t, "POST", "/directory/"+p.ID+"/status", url.Values{"status": {"full"}, "q": {"tapáchula"}}))
	loc := resp.Header.Get("Location")
	if want := "/directory?q=" + url.QueryEscape("tapáchula") + "&set=" + p.ID + "#place-" + p.ID; resp.StatusCode != 303 || loc != want {
		t.Fatalf("mark full: %d to %q, want 303 to %q", resp.StatusCode, loc, want)
	}
	_, body = do(t, boss, site.req(t, "GET", loc, nil))
	if !strings.Contains(body, p.Name+" ahora está: Lleno.") || !strings.Contains(body, "desde "+at.UTC().Format("2006-01-02 15:04:05")+" UTC") {
		t.Fatalf("after marking it full:\n%s", body)
	}
	got, err := s.st.Place(ctx, p.ID)
	if err != nil || got.Status != places.StatusFull || !got.StatusSince.Equal(at.Truncate(time.Second)) {
		t.Fatalf("the stored place: %s since %v, %v; want full since %v", got.Status, got.StatusSince, err, at)
	}
	if n := s.audited(staff.ActionPlaceStatus); n != 1 {
		t.Fatalf("%d status changes audited, want 1", n)
	}
	entries, _ := s.env.Service.AuditRecent(ctx, 1)
	if e := entries[0]; e.Action != staff.ActionPlaceStatus || e.Subject != p.ID || e.Role != staff.RoleAdmin {
		t.Fatalf("the audit entry: %+v", e)
	}
	if after := s.findShelters("+5215500000002"); !strings.Contains(after, fullSince(at)) {
		t.Fatalf("the finder after: want %q in\n%s", fullSince(at), after)
	}

	// Closed: never offered again.
	if resp, _ := do(t, boss, site.req(t, "POST", "/directory/"+p.ID+"/status", url.Values{"status": {"closed"}})); resp.StatusCode != 303 {
		t.Fatalf("close: %d", resp.StatusCode)
	}
	if after := s.findShelters("+5215500000003"); strings.Contains(after, short(p.Name)) {
		t.Fatalf("a closed place is offered:\n%s", after)
	}

	// Bad input comes back as a message, and changes nothing.
	for _, c := range []struct{ path, status, want string }{
		{"/directory/" + p.ID + "/status", "maybe", "Elige abierto, lleno o cerrado."},
		{"/directory/no-such-place/status", "open", "Este lugar ya no está en el directorio."},
		{"/directory/a%7Bb/status", "open", "Este lugar ya no está en el directorio."},
	} {
		resp, _ := do(t, boss, site.req(t, "POST", c.path, url.Values{"status": {c.status}}))
		if resp.StatusCode != 303 {
			t.Fatalf("%s %s: %d", c.path, c.status, resp.StatusCode)
		}
		if _, body := do(t, boss, site.req(t, "GET", resp.Header.Get("Location"), nil)); !strings.Contains(body, c.want) {
			t.Errorf("%s %s: the page lacks %q", c.path, c.status, c.want)
		}
	}
	if n := s.audited(staff.ActionPlaceStatus); n != 2 {
		t.Fatalf("%d status changes audited, want 2", n)
	}
	if _, body := do(t, boss, site.req(t, "GET", "/directory?status=closed&q=tapachula", nil)); !strings.Contains(body, `id="place-`+p.ID+`"`) {
		t.Fatalf("the closed filter lacks the place:\n%s", body)
	}
}

type apiPlaces struct {
	Places []console.DirectoryPlace
}

// TestDirectoryAPI: list and status change through the API on both
// stores, every answer checked against openapi.json; the right is the
// directory permission's (admins); each change is audited.
func TestDirectoryAPI(t *testing.T) {
	for name, open := range teststores.WithStaff() {
		t.Run(name, func(t *testing.T) {
			s := newInboxSite(t, open)
			p := s.loadStarter()
			boss := s.member("boss", staff.RoleAdmin, "en")
			vol := s.member("vol", staff.RoleVolunteer, "es")
			cw := s.member("cw", staff.RoleCaseworker, "es")

			var list apiPlaces
			if st := s.call(t, boss, "GET", "/places", nil, &list); st != 200 || len(list.Places) < 70 {
				t.Fatalf("list: %d, %d places", st, len(list.Places))
			}
			if st := s.call(t, boss, "GET", "/places?q=tapachula&status=open", nil, &list); st != 200 || len(list.Places) == 0 {
				t.Fatalf("Tapachula's open places: %d %+v", st, list)
			}
			for _, q := range list.Places {
				if q.Status != places.StatusOpen || q.City != "Tapachula" {
					t.Errorf("filtered list has %+v", q)
				}
			}
			s.env.Clock.Advance(time.Minute)
			at := s.env.Clock.Now().UTC().Truncate(time.Second)
			var got console.DirectoryPlace
			if st := s.call(t, boss, "POST", "/places/"+p.ID+"/status", map[string]string{"status": "full"}, &got); st != 200 ||
				got.ID != p.ID || got.Status != places.StatusFull || got.StatusSince == nil || !got.StatusSince.Equal(at) {
				t.Fatalf("mark full: %d %+v", st, got)
			}
			if st := s.call(t, boss, "GET", "/places?status=full&q="+url.QueryEscape(p.ID), nil, &list); st != 200 || len(list.Places) != 1 ||
				list.Places[0].StatusSince == nil || !list.Places[0].StatusSince.Equal(at) {
				t.Fatalf("the full place listed: %d %+v", st, list)
			}
			if after := s.findShelters("+5215500000009"); !strings.Contains(after, fullSince(at)) {
				t.Fatalf("the finder after: want %q in\n%s", fullSince(at), after)
			}
			for _, c := range []struct {
				name         string
				who          member
				method, path string
				body         any
				status       int
				code         string
			}{
				{"no token", member{}, "GET", "/places", nil, 401, "unauthorized"},
				{"volunteer lists", vol, "GET", "/places", nil, 403, "forbidden"},
				{"caseworker lists", cw, "GET", "/places", nil, 403, "forbidden"},
				{"volunteer marks", vol, "POST", "/places/" + p.ID + "/status", map[string]string{"status": "closed"}, 403, "forbidden"},
				{"bad status filter", boss, "GET", "/places?status=maybe", nil, 400, "bad_status"},
				{"bad status", boss, "POST", "/places/" + p.ID + "/status", map[string]string{"status": "maybe"}, 400, "bad_status"},
				{"no status", boss, "POST", "/places/" + p.ID + "/status", map[string]string{}, 400, "bad_status"},
				{"unknown field", boss, "POST", "/places/" + p.ID + "/status", map[string]string{"status": "open", "at": "now"}, 400, "bad_request"},
				{"not JSON", boss, "POST", "/places/" + p.ID + "/status", "open", 400, "bad_request"},
				{"bad id", boss, "POST", "/places/a%7Bb/status", map[string]string{"status": "open"}, 400, "bad_id"},
				{"unknown place", boss, "POST", "/places/no-such-place/status", map[string]string{"status": "open"}, 404, "not_found"},
			} {
				var e struct{ Error, Message string }
				if st := s.call(t, c.who, c.method, c.path, c.body, &e); st != c.status || e.Error != c.code || e.Message == "" {
					t.Errorf("%s: %d %+v, want %d %s", c.name, st, e, c.status, c.code)
				}
			}
			if q, err := s.st.Place(ctx, p.ID); err != nil || q.Status != places.StatusFull {
				t.Fatalf("after the refused requests: %+v %v", q, err)
			}
			if n := s.audited(staff.ActionPlaceStatus); n != 1 {
				t.Fatalf("%d status changes audited, want 1", n)
			}
		})
	}
}
