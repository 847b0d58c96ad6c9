package flows_test

import (
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/enlace-rfl/enlace/flows"
	"github.com/enlace-rfl/enlace/locales"

	"github.com/enlace-rfl/enlace/textmatch"
)

// fakeDirectory answers every search with its page, and records the queries.
type fakeDirectory struct {
	page    flows.PlacePage
	err     error
	queries []flows.PlaceQuery
	empty   bool // holds no place at all
}

func (d *fakeDirectory) Available(context.Context) bool { return !d.empty }

func (d *fakeDirectory) Nearby(_ context.Context, q flows.PlaceQuery) (flows.PlacePage, error) {
	d.queries = append(d.queries, q)
	if q.Offset > 0 {
		return flows.PlacePage{RadiusKm: 250}, d.err
	}
	return d.page, d.err
}

type fakeTowns map[string][]flows.Town

func (f fakeTowns) FindTown(text string) []flows.Town { return f[textmatch.Normalize(text)] }

// Nearest is the first town within about 50 km of the point, as the
// gazetteer's would be.
func (f fakeTowns) Nearest(lat, lon float64) (flows.Town, bool) {
	for _, ts := range f {
		for _, tw := range ts {
			if math.Abs(tw.Lat-lat) < 0.5 && math.Abs(tw.Lon-lon) < 0.5 {
				return tw, true
			}
		}
	}
	return flows.Town{}, false
}

var (
	tapachula = flows.Town{Name: "Tapachula", Admin1: "Chiapas", Country: "MX", Lat: 14.90385, Lon: -92.25749}
	sanPedros = []flows.Town{
		{Name: "San Pedro", Admin1: "California", Country: "US", Lat: 33.7, Lon: -118.3},
		{Name: "San Pedro", Admin1: "Coahuila", Country: "MX", Lat: 25.75602, Lon: -102.98385},
	}
	twoPlaces = flows.PlacePage{RadiusKm: 25, More: true, Places: []flows.Place{
		{ID: "a", Name: "Casa A", Kind: "shelter", Status: "open", City: "Tapachula", Lat: 14.9, Lon: -92.25, Km: 0.4, TownCentre: true, Verified: "2026-11-01"},
		{ID: "b", Name: "Agua B", Kind: "water", Status: "full", City: "Tapachula", Lat: 14.95, Lon: -92.3, Km: 12.3, Verified: "2026-10-01"},
	}}
)

func newShelterEngine(t *testing.T, dir flows.Directory) *flows.Engine {
	t.Helper()
	cat, err := locales.Load()
	if err != nil {
		t.Fatal(err)
	}
	return flows.New(flows.Config{Places: dir, Towns: fakeTowns{"tapachula": {tapachula}, "san pedro": sanPedros}}, cat)
}

func TestShelterFinder(t *testing.T) {
	loc := flows.Input{Kind: flows.InputLocation, Lat: 14.9036, Lon: -92.2589}
	cases := []struct {
		name     string
		from     flows.Sender
		dir      *fakeDirectory
		turns    []flows.Input
		wantIDs  []string // of the last turn
		wantStep string
		wantReq  flows.Request // on the last output
		wantQ    []flows.PlaceQuery
	}{
		{"telegram asks for a location", tgUser, &fakeDirectory{page: twoPlaces}, []flows.Input{pick("menu.shelters")},
			[]string{"shelters.ask_location"}, flows.StepShelters, flows.RequestLocation, nil},
		{"whatsapp asks for a location too", flows.Sender{Channel: "whatsapp", Address: "+5215512345678"}, &fakeDirectory{page: twoPlaces}, []flows.Input{pick("menu.shelters")},
			[]string{"shelters.ask_where"}, flows.StepShelters, flows.RequestLocation, nil},
		{"sms asks for a town", smsUser, &fakeDirectory{page: twoPlaces}, []flows.Input{pick("menu.shelters")},
			[]string{"shelters.ask_town"}, flows.StepShelters, flows.RequestNone, nil},
		{"a pin lists places", tgUser, &fakeDirectory{page: twoPlaces}, []flows.Input{pick("menu.shelters"), loc},
			[]string{"shelters.results_here", "shelters.place", "shelters.place", "shelters.next"}, flows.StepShelterResults, "",
			[]flows.PlaceQuery{{Lat: 14.9036, Lon: -92.2589, Limit: 3}}},
		{"more asks for the next page", tgUser, &fakeDirectory{page: twoPlaces}, []flows.Input{pick("menu.shelters"), loc, pick("shelters.more")},
			[]string{"shelters.no_more", "shelters.next"}, flows.StepShelterResults, "",
			[]flows.PlaceQuery{{Lat: 14.9036, Lon: -92.2589, Limit: 3}, {Lat: 14.9036, Lon: -92.2589, Offset: 2, Limit: 3}}},
		{"a typed town, then a kind word in Creole narrows", smsUser, &fakeDirectory{page: twoPlaces}, []flows.Input{pick("menu.shelters"), text("Tapachula"), text("dlo")},
			[]string{"shelters.list"}, flows.StepShelterResults, "",
			[]flows.PlaceQuery{{Lat: tapachula.Lat, Lon: tapachula.Lon, Limit: 3}, {Lat: tapachula.Lat, Lon: tapachula.Lon, Kind: "water", Limit: 3}}},
		{"kind and town in one message", smsUser, &fakeDirectory{page: twoPlaces}, []flows.Input{pick("menu.shelters"), text("agua tapachula")},
			[]string{"shelters.list"}, flows.StepShelterResults, "",
			[]flows.PlaceQuery{{Lat: tapachula.Lat, Lon: tapachula.Lon, Kind: "water", Limit: 3}}},
		{"an ambiguous town asks which", smsUser, &fakeDirectory{page: twoPlaces}, []flows.Input{pick("menu.shelters"), text("San Pedro"), text("2")},
			[]string{"shelters.list"}, flows.StepShelterResults, "",
			[]flows.PlaceQuery{{Lat: 25.75602, Lon: -102.98385, Limit: 3}}},
		{"an unknown town on SMS", smsUser, &fakeDirectory{page: twoPlaces}, []flows.Input{pick("menu.shelters"), text("Xyzzy")},
			[]string{"shelters.town_unknown_sms", "shelters.ask_town"}, flows.StepShelters, "", nil},
		{"nothing found says how far it looked", tgUser, &fakeDirectory{page: flows.PlacePage{RadiusKm: 250}}, []flows.Input{pick("menu.shelters"), loc},
			[]string{"shelters.none", "shelters.ask_location"}, flows.StepShelters, flows.RequestLocation, []flows.PlaceQuery{{Lat: 14.9036, Lon: -92.2589, Limit: 3}}},
		{"a directory error gives emergency numbers", tgUser, &fakeDirectory{err: errors.New("down")}, []flows.Input{pick("menu.shelters"), loc},
			[]string{"shelters.unavailable", "emergency.one", "menu.prompt"}, flows.StepMenu, "", []flows.PlaceQuery{{Lat: 14.9036, Lon: -92.2589, Limit: 3}}},
		{"choose a kind from the list", tgUser, &fakeDirectory{page: twoPlaces}, []flows.Input{pick("menu.shelters"), loc, pick("shelters.filter"), pick("kind.health")},
			[]string{"shelters.results_here", "shelters.place", "shelters.place", "shelters.next"}, flows.StepShelterResults, "",
			[]flows.PlaceQuery{{Lat: 14.9036, Lon: -92.2589, Limit: 3}, {Lat: 14.9036, Lon: -92.2589, Kind: "health", Limit: 3}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newShelterEngine(t, tc.dir)
			s := agreed(t, e, tc.from)
			if got := s.Choices[0]; got != "menu.shelters" {
				t.Fatalf("menu's first choice: got %q, want menu.shelters", got)
			}
			var r flows.Result
			for _, in := range tc.turns {
				r = e.Step(context.Background(), s, in, tc.from, t0)
				s = r.Session
			}
			if got := ids(r); !slices.Equal(got, tc.wantIDs) {
				t.Errorf("outputs: got %v, want %v", got, tc.wantIDs)
			}
			if s.Step != tc.wantStep {
				t.Errorf("step: got %q, want %q", s.Step, tc.wantStep)
			}
			if got := r.Outputs()[len(r.Outputs())-1].Request; got != tc.wantReq {
				t.Errorf("request: got %q, want %q", got, tc.wantReq)
			}
			if !slices.Equal(tc.dir.queries, tc.wantQ) {
				t.Errorf("queries: got %+v, want %+v", tc.dir.queries, tc.wantQ)
			}
			// Leaving the finder forgets the point searched from.
			r = e.Step(context.Background(), s, text("menu"), tc.from, t0)
			for k := range r.Session.Draft {
				if strings.HasPrefix(k, "sh.") {
					t.Errorf("draft %s kept after the menu: %v", k, r.Session.Draft)
				}
			}
		})
	}
}

func TestShelterStartPayload(t *testing.T) {
	e := newShelterEngine(t, &fakeDirectory{page: twoPlaces})
	s := flows.Session{}
	var r flows.Result
	for _, in := range []flows.Input{cmd("start", "shelters"), pick("lang.es"), pick("consent.accept")} {
		r = e.Step(context.Background(), s, in, tgUser, t0)
		s = r.Session
	}
	if got, want := ids(r), []string{"consent.thanks", "shelters.ask_location"}; !slices.Equal(got, want) {
		t.Errorf("after consent: got %v, want %v", got, want)
	}
	if s.Payload != "" {
		t.Errorf("payload kept: %q", s.Payload)
	}
	s = e.Step(context.Background(), s, text("menu"), tgUser, t0).Session
	r = e.Step(context.Background(), s, cmd("start", "shelters"), tgUser, t0.Add(time.Minute))
	if got, want := ids(r), []string{"shelters.ask_location"}; !slices.Equal(got, want) {
		t.Errorf("/start shelters once agreed: got %v, want %v", got, want)
	}
}

func TestNoDirectoryNoShelters(t *testing.T) {
	e := newEngine(t)
	s := agreed(t, e, tgUser)
	if slices.Contains(s.Choices, "menu.shelters") {
		t.Errorf("menu offers shelters without a directory: %v", s.Choices)
	}
	r := e.Step(context.Background(), s, cmd("start", "shelters"), tgUser, t0)
	if got, want := ids(r), []string{"menu.prompt"}; !slices.Equal(got, want) {
		t.Errorf("/start shelters without a directory: got %v, want %v", got, want)
	}
}

var (
	tgUser  = flows.Sender{Channel: "telegram", Address: "4242", LangHint: "es"}
	smsUser = flows.Sender{Channel: "sms", Address: "+5215512345678"}
)

// agreed walks a new person through onboarding in Spanish.
func agreed(t *testing.T, e *flows.Engine, from flows.Sender) flows.Session {
	t.Helper()
	s := flows.Session{}
	for _, in := range []flows.Input{text("hola"), pick("lang.es"), pick("consent.accept")} {
		s = e.Step(context.Background(), s, in, from, t0).Session
	}
	if s.Step != flows.StepMenu {
		t.Fatalf("onboarding ended at %q", s.Step)
	}
	return s
}

func TestEmptyDirectoryIsNotOffered(t *testing.T) {
	cat, err := locales.Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, empty := range []bool{true, false} {
		e := flows.New(flows.Config{Places: &fakeDirectory{empty: empty}}, cat)
		var s flows.Session
		for _, in := range []flows.Input{text("hola"), pick("lang.es"), pick("consent.accept")} {
			s = e.Step(context.Background(), s, in, flows.Sender{Channel: "sms", Address: "+525512345678"}, t0).Session
		}
		r := e.Step(context.Background(), s, text("menu"), flows.Sender{Channel: "sms", Address: "+525512345678"}, t0)
		offered := slices.ContainsFunc(r.Outputs()[len(r.Outputs())-1].Choices, func(c flows.Choice) bool { return c.ID == "menu.shelters" })
		if offered == empty {
			t.Errorf("directory empty=%v: shelters offered=%v", empty, offered)
		}
	}
}

// TestFullSinceInThePlacesTime: a full place says since when, in its own
// town's time (Tijuana is UTC-8 in December), on SMS and Telegram; a full
// place without a time says "full now"; an open place says nothing of its
// status.
func TestFullSinceInThePlacesTime(t *testing.T) {
	cat, err := locales.Load()
	if err != nil {
		t.Fatal(err)
	}
	since := time.Date(2026, 12, 2, 22, 20, 0, 0, time.UTC) // 14:20 in Tijuana
	page := flows.PlacePage{RadiusKm: 25, Places: []flows.Place{
		{ID: "t1", Name: "Casa del Migrante", Kind: "shelter", Status: "full", StatusSince: since, City: "Tijuana", Admin1: "Baja California", Country: "MX", Lat: 32.53, Lon: -117.03, Km: 1.2},
		{ID: "t2", Name: "Desayunador Salesiano", Kind: "food", Status: "full", City: "Tijuana", Admin1: "Baja California", Country: "MX", Lat: 32.54, Lon: -117.04, Km: 2.5},
		{ID: "t3", Name: "Agua Tijuana", Kind: "water", Status: "open", StatusSince: since, City: "Tijuana", Admin1: "Baja California", Country: "MX", Lat: 32.52, Lon: -117.02, Km: 3.1},
	}}
	loc := flows.Input{Kind: flows.InputLocation, Lat: 32.53, Lon: -117.03}
	for _, tc := range []struct {
		name  string
		from  flows.Sender
		turns []flows.Input
		want  []string
		never []string
	}{
		{"sms in Spanish", smsUser, []flows.Input{pick("menu.shelters"), text("tapachula")},
			[]string{"Casa del Migrante, Albergue, 1.2 km, lleno desde las 14:20 del 2 dic"}, []string{"abierto"}},
		{"telegram in Spanish", tgUser, []flows.Input{pick("menu.shelters"), loc},
			[]string{"Albergue, 1.2 km, en México, lleno desde las 14:20 del 2 dic", "Comida, 2.5 km, en México, lleno ahora\n",
				"Agua potable, 3.1 km, en México\n"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := flows.New(flows.Config{Places: &fakeDirectory{page: page}, Towns: fakeTowns{"tapachula": {tapachula}}}, cat)
			s := agreed(t, e, tc.from)
			var r flows.Result
			for _, in := range tc.turns {
				r = e.Step(context.Background(), s, in, tc.from, t0)
				s = r.Session
			}
			var all []string
			for _, o := range r.Outputs() {
				all = append(all, o.Text.Render(cat, "es"))
			}
			got := strings.Join(all, "\n")
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("the answer lacks %q:\n%s", w, got)
				}
			}
			for _, w := range tc.never {
				if strings.Contains(got, w) {
					t.Errorf("the answer says %q:\n%s", w, got)
				}
			}
		})
	}
}
