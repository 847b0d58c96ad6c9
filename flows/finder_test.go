package flows_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/enlace-rfl/enlace/bot"
	"github.com/enlace-rfl/enlace/bot/phone"
	"github.com/enlace-rfl/enlace/flows"
	"github.com/enlace-rfl/enlace/languages"
	"github.com/enlace-rfl/enlace/locales"
	"github.com/enlace-rfl/enlace/places"
	"github.com/enlace-rfl/enlace/places/gazetteer"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/finder")

// indexStore is a places.Store in memory, over the same index the embedded
// store uses, so places.Finder searches the real starter directory.
type indexStore struct{ x *places.Index }

func (s indexStore) UpsertPlaces(_ context.Context, ps []places.Place) error {
	s.x.Put(ps...)
	return nil
}
func (s indexStore) DeletePlaces(_ context.Context, ids []string) error {
	s.x.Delete(ids...)
	return nil
}
func (s indexStore) Place(_ context.Context, id string) (places.Place, error) {
	if p, ok := s.x.Get(id); ok {
		return p, nil
	}
	return places.Place{}, places.ErrNotFound
}
func (s indexStore) AllPlaces(context.Context) ([]places.Place, error) { return s.x.All(), nil }
func (s indexStore) SetPlaceStatus(_ context.Context, id string, st places.Status, at time.Time) error {
	p, ok := s.x.Get(id)
	if !ok {
		return places.ErrNotFound
	}
	p.Status, p.StatusSince = st, places.SinceTime(at)
	s.x.Put(p)
	return nil
}
func (s indexStore) NearbyPlaces(_ context.Context, q places.Query) ([]places.Hit, error) {
	return s.x.Nearby(q), nil
}
func (s indexStore) CountPlaces(context.Context) (int, error) { return s.x.Len(), nil }

// starterDirectory is the flows.Directory of the embedded starter directory,
// converted as cmd/enlace converts it.
type starterDirectory struct{ f places.Finder }

func (d starterDirectory) Available(context.Context) bool { return true }
func (d starterDirectory) Nearby(ctx context.Context, q flows.PlaceQuery) (flows.PlacePage, error) {
	r, err := d.f.Nearest(ctx, q.Lat, q.Lon, places.Kind(q.Kind), q.Offset, q.Limit)
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
			ID: h.ID, Name: h.Name, Kind: string(h.Kind), Status: string(h.Status), StatusSince: h.StatusSince, Address: h.Address, City: h.City, Admin1: h.Admin1,
			Country: h.Country, Phone: h.Phone, Hours: h.Hours, Services: h.Services, Lat: h.Lat, Lon: h.Lon, Km: h.Km,
			TownCentre: h.TownCentre(), Verified: verified,
		})
	}
	return page, nil
}

// realTowns is the flows.Gazetteer over the GeoNames gazetteer.
type realTowns struct{ g *gazetteer.Gazetteer }

func (r realTowns) FindTown(text string) []flows.Town {
	var out []flows.Town
	for _, tw := range r.g.Find(text).Towns {
		out = append(out, flows.Town{Name: tw.Name, Admin1: tw.Admin1, Country: tw.Country, Lat: tw.Lat, Lon: tw.Lon})
	}
	return out
}

func (r realTowns) Nearest(lat, lon float64) (flows.Town, bool) {
	tw, ok := r.g.Nearest(lat, lon)
	return flows.Town{Name: tw.Name, Admin1: tw.Admin1, Country: tw.Country, Lat: tw.Lat, Lon: tw.Lon}, ok
}

// starter returns the starter directory's places (those it can place) and the gazetteer.
func starter(t *testing.T) ([]places.Place, realTowns) {
	t.Helper()
	g, err := gazetteer.Default()
	if err != nil {
		t.Fatal(err)
	}
	rep, err := places.Starter(func(city, admin1, country string) (float64, float64, bool) {
		tw, ok := g.Locate(city, admin1, country)
		return tw.Lat, tw.Lon, ok
	})
	if err != nil {
		t.Fatal(err)
	}
	return rep.Places, realTowns{g}
}

// finderEngine is an engine over the real starter directory and gazetteer,
// fitting SMS lists as the phone layer sends them (GSM-7 or not).
func finderEngine(t *testing.T, gsm7 bool) (*flows.Engine, *phone.Layer, *locales.Catalog) {
	t.Helper()
	cat, err := locales.Load()
	if err != nil {
		t.Fatal(err)
	}
	ps, towns := starter(t)
	layer := phone.New(cat, gsm7)
	dir := starterDirectory{places.Finder{Store: indexStore{places.NewIndex(ps)}}}
	return flows.New(flows.Config{Places: dir, Towns: towns, Fits: layer.Fits}, cat), layer, cat
}

// channelTexts are the messages a phone (or Telegram) gets for a result, as
// the channel writes them.
func channelTexts(r flows.Result, cat *locales.Catalog, layer *phone.Layer, channel, lang string) []string {
	var out []string
	for _, o := range r.Outputs() {
		rep := bot.Reply{Channel: channel, Lang: lang, Text: o.Text.Render(cat, lang), Request: o.Request}
		for _, c := range o.Choices {
			rep.Choices = append(rep.Choices, bot.ReplyChoice{ID: c.ID, Label: c.Label.Render(cat, lang)})
		}
		if channel == "telegram" {
			out = append(out, bot.RenderText(channel, rep))
			continue
		}
		out = append(out, layer.Texts(channel, rep)...)
	}
	return out
}

var (
	tijuanaPin   = flows.Input{Kind: flows.InputLocation, Lat: 32.5149, Lon: -117.0382}
	tapachulaPin = flows.Input{Kind: flows.InputLocation, Lat: 14.9, Lon: -92.27}
	// rawKey is a message ID or directory key shown as it is.
	rawKey = regexp.MustCompile(`\b(kind|service|country|shelters)\.[a-z_A-Z]+|\b[a-z]+_[a-z_]+\b|: -(\s|$)|\{\{`)
)

// TestFinderGolden shows what people read in every language and channel for
// a pin in Tijuana, a pin in Tapachula (near Guatemala) and a typed town,
// from the real starter directory. Run with -update to rewrite the files,
// and read the diff.
func TestFinderGolden(t *testing.T) {
	for _, ch := range []struct {
		name, channel string
		gsm7          bool
	}{{"telegram", "telegram", false}, {"sms", "sms", false}, {"sms-gsm7", "sms", true}, {"whatsapp", "whatsapp", false}} {
		e, layer, cat := finderEngine(t, ch.gsm7)
		for _, lang := range languages.All {
			t.Run(ch.name+"/"+lang, func(t *testing.T) {
				from := flows.Sender{Channel: ch.channel, Address: "+5215512345678"}
				if ch.channel == "telegram" {
					from.Address = "4242"
				}
				var b strings.Builder
				for _, script := range [][]flows.Input{
					{tijuanaPin},
					{tapachulaPin, pick("shelters.more")},
					{{Kind: flows.InputLocation, Lat: 14.6815, Lon: -92.1498}}, // Ciudad Hidalgo, across the river from Guatemala
					{pick("menu.shelters"), text("Juarez")},
					{pick("menu.shelters"), text("Esquipulas")},
					{pick("menu.shelters"), text("agua Tenosique")},
				} {
					s := agreedIn(t, e, from, lang)
					for _, in := range script {
						r := e.Step(context.Background(), s, in, from, t0)
						s = r.Session
						fmt.Fprintf(&b, "### %s\n", describe(in))
						for _, m := range channelTexts(r, cat, layer, ch.channel, lang) {
							b.WriteString(m + "\n---\n")
							if loc := rawKey.FindStringIndex(m); loc != nil {
								t.Errorf("raw key or placeholder %q in:\n%s", m[loc[0]:loc[1]], m)
							}
						}
					}
				}
				golden := filepath.Join("testdata", "finder", ch.name+"."+lang+".txt")
				if *update {
					if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%v (run go test ./flows -run TestFinderGolden -update)", err)
				}
				if got := b.String(); got != string(want) {
					t.Errorf("%s differs (run with -update and read the diff); got:\n%s", golden, got)
				}
			})
		}
	}
}

func describe(in flows.Input) string {
	switch in.Kind {
	case flows.InputLocation:
		return fmt.Sprintf("pin %.4f %.4f", in.Lat, in.Lon)
	case flows.InputChoice:
		return "choice " + in.Choice
	}
	return "typed " + in.Text
}

// TestPinAnywhereOpensTheFinder: a pin shared at the menu or inside a dialog
// that asks for something else lists the nearest places (and leaves that
// dialog); before consent it does not.
func TestPinAnywhereOpensTheFinder(t *testing.T) {
	e, _, _ := finderEngine(t, false)
	for _, tc := range []struct {
		name   string
		before []flows.Input
	}{
		{"at the menu", nil},
		{"asking for a contact's name", []flows.Input{pick("menu.family"), pick("family.contacts"), pick("contacts.add")}},
		{"in the finder's kind list", []flows.Input{pick("menu.shelters"), text("Tapachula"), pick("shelters.filter")}},
		{"after the dialog timed out", []flows.Input{pick("menu.family")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := agreedIn(t, e, tgUser, "es")
			for _, in := range tc.before {
				s = e.Step(context.Background(), s, in, tgUser, t0).Session
			}
			at := t0
			if strings.Contains(tc.name, "timed out") {
				at = t0.Add(2 * time.Hour)
			}
			r := e.Step(context.Background(), s, tapachulaPin, tgUser, at)
			got := ids(r)
			if len(got) < 3 || got[0] != "shelters.results_here" || got[1] != "shelters.place" || got[len(got)-1] != "shelters.next" {
				t.Fatalf("outputs: got %v, want the nearest places", got)
			}
			if r.Session.Step != flows.StepShelterResults {
				t.Errorf("step: got %q", r.Session.Step)
			}
			for k := range r.Session.Draft {
				if !strings.HasPrefix(k, "sh.") {
					t.Errorf("the interrupted dialog's draft %q was kept", k)
				}
			}
			if km := r.Outputs()[1].Text.Render(mustCatalog(t), "es"); !strings.Contains(km, " km") {
				t.Errorf("no distance in km: %q", km)
			}
			// "back" from there asks where to search again, never goes back
			// into the dialog left; "back" again is the menu.
			if strings.Contains(tc.name, "finder") {
				return // inside the finder, "back" is the finder's previous question
			}
			b := e.Step(context.Background(), r.Session, text("atras"), tgUser, at)
			if b.Session.Step != flows.StepShelters {
				t.Errorf("back: got %q, want the finder's question", b.Session.Step)
			}
			if b = e.Step(context.Background(), b.Session, text("atras"), tgUser, at); b.Session.Step != flows.StepMenu {
				t.Errorf("back twice: got %q, want the menu", b.Session.Step)
			}
		})
	}
	t.Run("before consent", func(t *testing.T) {
		r := e.Step(context.Background(), flows.Session{}, tapachulaPin, tgUser, t0)
		if got := ids(r); len(got) == 0 || got[0] != "language.prompt" {
			t.Errorf("a new person's pin: got %v, want the language question", got)
		}
	})
}

func mustCatalog(t *testing.T) *locales.Catalog {
	t.Helper()
	cat, err := locales.Load()
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

// TestFinderSMSListFits: in every language, on SMS (UCS-2 and GSM-7) and
// WhatsApp, the list for a pin at every place of the starter directory, and
// for its next page, is one message of at most 3 SMS parts that shows at
// least one place, says the country of a place in another, and never shows
// a placeholder or a raw key.
func TestFinderSMSListFits(t *testing.T) {
	ps, towns := starter(t)
	for _, ch := range []struct {
		name, channel string
		gsm7          bool
	}{{"sms", "sms", false}, {"sms-gsm7", "sms", true}, {"whatsapp", "whatsapp", false}} {
		e, layer, cat := finderEngine(t, ch.gsm7)
		for _, lang := range languages.All {
			t.Run(ch.name+"/"+lang, func(t *testing.T) {
				from := flows.Sender{Channel: ch.channel, Address: "+5215512345678"}
				s0 := agreedIn(t, e, from, lang)
				shown := 0
				for _, p := range ps {
					if p.Status == places.StatusClosed {
						continue
					}
					home := ""
					if tw, ok := towns.Nearest(p.Lat, p.Lon); ok {
						home = tw.Country
					}
					s := s0
					for _, in := range []flows.Input{{Kind: flows.InputLocation, Lat: p.Lat, Lon: p.Lon}, pick("shelters.more")} {
						r := e.Step(context.Background(), s, in, from, t0)
						s = r.Session
						if s.Step != flows.StepShelterResults {
							break // no more places
						}
						outs := r.Outputs()
						last := outs[len(outs)-1]
						if last.Text.ID != "shelters.list" && last.Text.ID != "shelters.next" {
							t.Fatalf("%s: last output %s", p.ID, last.Text.ID)
						}
						if last.Text.ID != "shelters.list" {
							continue // "no more places"
						}
						texts := channelTexts(flows.Result{Effects: []flows.Effect{flows.Reply{Output: last}}}, cat, layer, ch.channel, lang)
						if len(texts) != 1 {
							t.Fatalf("pin at %s: the list is %d messages, want 1:\n%s", p.ID, len(texts), strings.Join(texts, "\n---\n"))
						}
						msg := texts[0]
						if ch.gsm7 {
							msg = locales.ToGSM7(msg)
						}
						if n, _ := locales.SMSSegments(msg); ch.channel == "sms" && n > 3 {
							t.Errorf("pin at %s: %d SMS parts, want at most 3:\n%s", p.ID, n, msg)
						}
						if n := utf8.RuneCountInString(msg); ch.channel == "whatsapp" && n > 900 {
							t.Errorf("pin at %s: %d characters on WhatsApp, want at most 900 (a screen):\n%s", p.ID, n, msg)
						}
						lines := strings.Count(texts[0], "\n- ")
						if lines < 1 {
							t.Errorf("pin at %s: no place in the list:\n%s", p.ID, texts[0])
						}
						shown += lines
						if loc := rawKey.FindStringIndex(texts[0]); loc != nil {
							t.Errorf("pin at %s: raw key or placeholder %q:\n%s", p.ID, texts[0][loc[0]:loc[1]], texts[0])
						}
						if in.Kind == flows.InputLocation && home != p.Country && home != "" {
							// The place itself is first or near it: a place in another country says so.
							if want := cat.Text(lang, "country.in_"+p.Country, nil); !strings.Contains(texts[0], want) {
								t.Errorf("pin at %s (%s) from %s: no %q in:\n%s", p.ID, p.Country, home, want, texts[0])
							}
						}
					}
				}
				t.Logf("%s/%s: %d places listed in all", ch.name, lang, shown)
			})
		}
	}
}

func TestJoinList(t *testing.T) {
	cat := mustCatalog(t)
	for _, tc := range []struct {
		lang  string
		items []string
		want  string
	}{
		{"es", []string{"Mamá", "Tío Pedro", "Rosa"}, "Mamá, Tío Pedro y Rosa"},
		{"es", []string{"Rosa", "Inés"}, "Rosa e Inés"},
		{"es", []string{"agua", "higiene"}, "agua e higiene"},
		{"es", []string{"agua", "hielo"}, "agua y hielo"},
		{"en", []string{"Mom", "Rosa"}, "Mom and Rosa"},
		{"fr", []string{"Maman", "Rosa", "Juan"}, "Maman, Rosa et Juan"},
		{"ht", []string{"Manman", "Roza", "Juan"}, "Manman, Roza ak Juan"},
		{"pt", []string{"Mãe", "Rosa"}, "Mãe e Rosa"},
		{"pt", []string{"Mãe"}, "Mãe"},
		{"en", nil, ""},
	} {
		if got := flows.JoinList(cat, tc.lang, tc.items); got != tc.want {
			t.Errorf("%s %q: got %q, want %q", tc.lang, tc.items, got, tc.want)
		}
	}
}

// TestTownNamesTranslated: a town the gazetteer names in English is named
// in the person's language when the finder says where it searched.
func TestTownNamesTranslated(t *testing.T) {
	e, _, _ := finderEngine(t, false)
	for lang, want := range map[string]string{"es": "Ciudad de Guatemala", "pt": "Cidade da Guatemala", "ht": "Vil Gwatemala", "en": "Guatemala City"} {
		s := agreedIn(t, e, tgUser, lang)
		s = e.Step(context.Background(), s, pick("menu.shelters"), tgUser, t0).Session
		r := e.Step(context.Background(), s, text("Guatemala City"), tgUser, t0)
		if got := r.Outputs()[0].Text.Render(mustCatalog(t), lang); !strings.Contains(got, want) {
			t.Errorf("%s: got %q, want %q in it", lang, got, want)
		}
		// The places' town too.
		if got := r.Outputs()[1].Text.Render(mustCatalog(t), lang); lang != "en" && strings.Contains(got, "Guatemala City") {
			t.Errorf("%s: place in English: %q", lang, got)
		}
	}
}

// TestTownChoicesFitOneSMS: an ambiguous town on SMS is one question with
// the likeliest towns that fit, in every language.
func TestTownChoicesFitOneSMS(t *testing.T) {
	e, layer, cat := finderEngine(t, false)
	from := flows.Sender{Channel: "sms", Address: "+5215512345678"}
	for _, lang := range languages.All {
		s := agreedIn(t, e, from, lang)
		s = e.Step(context.Background(), s, pick("menu.shelters"), from, t0).Session
		r := e.Step(context.Background(), s, text("San Pedro"), from, t0)
		texts := channelTexts(r, cat, layer, "sms", lang)
		if len(texts) != 1 || r.Session.Step != flows.StepShelterTown || len(r.Session.Choices) < 2 {
			t.Errorf("%s: got %d messages, %d choices at %s, want one question with towns:\n%s", lang, len(texts), len(r.Session.Choices), r.Session.Step, strings.Join(texts, "\n---\n"))
		}
	}
}
