package main

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/enlace-rfl/enlace/console"
	"github.com/enlace-rfl/enlace/places"
)

// enlace runs one command with env and returns its output and error.
func enlace(t *testing.T, env map[string]string, args ...string) (string, string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), args, strings.NewReader(""), &stdout, &stderr, func(k string) string { return env[k] })
	return stdout.String(), stderr.String(), err
}

func TestPlacesImportRefusesBrokenRows(t *testing.T) {
	for name, env := range storesEnv(t) {
		t.Run(name, func(t *testing.T) {
			_, stderr, err := enlace(t, env, "places", "import", "testdata/places_broken.csv")
			if err == nil || !strings.Contains(err.Error(), "nothing imported") {
				t.Fatalf("import of a broken file: got %v, want it refused", err)
			}
			for _, want := range []string{"line 3 (id bad-lat): lat out of range", `line 5 (id bad-kind): kind "hotel" is not one of`} {
				if !strings.Contains(stderr, want) {
					t.Errorf("report lacks %q:\n%s", want, stderr)
				}
			}
			out, _, err := enlace(t, env, "places", "export")
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Count(out, "\n"); got != 1 {
				t.Errorf("after a refused import the export has %d lines, want the header only:\n%s", got, out)
			}
			out, stderr, err = enlace(t, env, "places", "import", "--skip-invalid", "testdata/places_broken.csv")
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out, "imported 2 place(s), skipped 2 invalid row(s)") || !strings.Contains(stderr, "line 3") {
				t.Errorf("--skip-invalid: got %q, %q", out, stderr)
			}
		})
	}
}

// TestPlacesImportRefusesAnUnclosedQuote reproduces a panic: a row that
// opens a quote and never closes it.
func TestPlacesImportRefusesAnUnclosedQuote(t *testing.T) {
	env := map[string]string{"ENLACE_DATA_DIR": t.TempDir()}
	for _, args := range [][]string{{"places", "import"}, {"places", "import", "--skip-invalid"}} {
		_, _, err := enlace(t, env, append(args, "testdata/places_unclosed_quote.csv")...)
		if err == nil || !strings.Contains(err.Error(), "line 3: a quoted field opens there and is never closed") {
			t.Errorf("%v: got %v, want the file refused naming line 3", args, err)
		}
	}
	if out, _, err := enlace(t, env, "places", "export"); err != nil || strings.Count(out, "\n") != 1 {
		t.Errorf("after the refused import: export %q, %v; want the header only", out, err)
	}
}

func TestPlacesExportRoundTripAndSetStatus(t *testing.T) {
	for name, env := range storesEnv(t) {
		t.Run(name, func(t *testing.T) {
			// The starter's 4 rows without coordinates are not in the gazetteer.
			if _, _, err := enlace(t, env, "places", "import", "../../places/starter.csv"); err == nil || !strings.Contains(err.Error(), "4 invalid row(s)") {
				t.Fatalf("import of the starter without --skip-invalid: got %v, want 4 invalid rows", err)
			}
			if _, _, err := enlace(t, env, "places", "import", "--skip-invalid", "../../places/starter.csv"); err != nil {
				t.Fatal(err)
			}
			export := filepath.Join(t.TempDir(), "out.csv")
			if _, _, err := enlace(t, env, "places", "export", export); err != nil {
				t.Fatal(err)
			}
			got, want := readPlaces(t, export), readPlaces(t, "../../places/starter.csv")
			slices.SortFunc(want, func(a, b places.Place) int { return strings.Compare(a.ID, b.ID) })
			if len(got) != len(want) || len(got) != 76 {
				t.Fatalf("export has %d places, want %d", len(got), len(want))
			}
			for i := range got {
				if g, w := got[i].Fields(), want[i].Fields(); !equalMaps(g, w) {
					t.Errorf("place %d:\ngot  %v\nwant %v", i, g, w)
				}
			}
			const id = "gt-tecun-uman-casa-del-migrante"
			if out, _, err := enlace(t, env, "places", "set-status", id, "full"); err != nil || !strings.Contains(out, "now full") {
				t.Fatalf("set-status: %q, %v", out, err)
			}
			if _, _, err := enlace(t, env, "places", "set-status", "no-such-place", "open"); err == nil {
				t.Error("set-status of an unknown id succeeded")
			}
			out, _, _ := enlace(t, env, "places", "export")
			// The time it was set is exported with it (and imported back).
			if !regexp.MustCompile(`\n` + id + `,.*,full,\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\n`).MatchString(out) {
				t.Errorf("export after set-status lacks the full place and its time:\n%s", out)
			}
		})
	}
}

func readPlaces(t *testing.T, path string) []places.Place {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rep, err := places.Parse(f)
	if err != nil || (len(rep.Bad) > 0 && !strings.HasSuffix(path, "starter.csv")) {
		t.Fatalf("%s: %v %v", path, err, rep.Bad)
	}
	return rep.Places // the starter's rows without coordinates are left out
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// placeLine is "N. Name" and "Kind, KM km" below it in the Spanish texts on
// Telegram (the kind is left out when the name says it).
var placeLine = regexp.MustCompile(`(?m)^(\d+)\. (.+)\n(?:([^,\n]+), )?([\d.]+ km(?: del centro)?)`)

type shownPlace struct{ n, name, kind, km string }

func listedPlaces(out []printed) []shownPlace {
	var s []shownPlace
	for _, p := range out {
		for _, m := range placeLine.FindAllStringSubmatch(p.Text, -1) {
			s = append(s, shownPlace{m[1], m[2], m[3], m[4]})
		}
	}
	return s
}

// kmText is a distance as the Spanish texts write it; centre says the
// place's pin is only its town's centre.
func kmText(km float64, centre bool) string {
	s := strconv.FormatFloat(max(km, 0.1), 'f', 1, 64) + " km"
	if km >= 10 {
		s = strconv.FormatFloat(km, 'f', 0, 64) + " km"
	}
	if centre {
		s += " del centro"
	}
	return s
}

// TestChatFindsShelters runs the acceptance checks of the shelter finder in
// `enlace chat --json`, on both stores: a location pin lists the nearest open
// and full places in order with correct distances; typed towns (with an
// abbreviation and a typo) are found; "agua" shows only water points.
func TestChatFindsShelters(t *testing.T) {
	all := append(readPlaces(t, "../../places/starter.csv"), readPlaces(t, "testdata/places_test_points.csv")...)
	const lat, lon = 14.9036, -92.2589
	type want struct {
		id, name string
		km       float64
		centre   bool
	}
	var open []want
	for _, p := range all {
		if p.Status != places.StatusClosed {
			open = append(open, want{p.ID, p.Name, places.Distance(lat, lon, p.Lat, p.Lon), p.TownCentre()})
		}
	}
	slices.SortFunc(open, func(a, b want) int { // as the stores order them: by distance, then ID
		if a.km != b.km {
			if a.km < b.km {
				return -1
			}
			return 1
		}
		return strings.Compare(a.id, b.id)
	})
	for name, env := range storesEnv(t) {
		t.Run(name, func(t *testing.T) {
			for _, f := range []string{"../../places/starter.csv", "testdata/places_test_points.csv"} {
				if _, _, err := enlace(t, env, "places", "import", "--skip-invalid", f); err != nil {
					t.Fatal(err)
				}
			}
			from := "200000" + strconv.Itoa(len(name))
			onboard := runChat(t, env, []string{"--from", from}, "/start", "1", "1")
			menu := onboard[len(onboard)-1]
			if len(menu.Choices) == 0 || menu.Choices[0] != "Buscar albergues y ayuda cerca" {
				t.Fatalf("menu: got %q, want the shelter finder first", menu.Choices)
			}

			out := runChat(t, env, []string{"--from", from}, "1", "/location 14.9036 -92.2589", "Más lugares")
			got := listedPlaces(out)
			if len(got) != 6 {
				t.Fatalf("got %d places for the pin and 'more', want 6:\n%+v", len(got), out)
			}
			for i, s := range got {
				if s.n != strconv.Itoa(i+1) || !strings.HasPrefix(open[i].name, strings.TrimSuffix(s.name, "...")) || !strings.EqualFold(s.km, kmText(open[i].km, open[i].centre)) {
					t.Errorf("place %d: got %+v, want %s at %s", i+1, s, open[i].name, kmText(open[i].km, open[i].centre))
				}
				if strings.Contains(s.name, "closed") {
					t.Errorf("a closed place was offered: %+v", s)
				}
			}

			for _, tc := range []struct{ typed, town string }{
				{"tapachula", "Tapachula, Chiapas"},
				{"Cd. Juarez", "Ciudad Juárez, Chihuahua"},
				{"Tapachla", "Tapachula, Chiapas"},
			} {
				out := runChat(t, env, []string{"--from", from}, tc.typed)
				if want := "Lugares más cercanos a " + tc.town + ","; !strings.Contains(out[0].Text, want) {
					t.Errorf("%q: got %q, want %q", tc.typed, out[0].Text, want)
				}
			}

			runChat(t, env, []string{"--from", from}, "tapachula")
			water := listedPlaces(runChat(t, env, []string{"--from", from}, "agua"))
			if len(water) != 2 {
				t.Errorf("water search: got %+v, want the 2 water points", water)
			}
			for _, s := range water {
				if s.kind != "Agua potable" || !strings.HasPrefix(s.name, "Test water") {
					t.Errorf("water-only search shows %+v", s)
				}
			}
		})
	}
}

func TestChatSheltersOnSMSAsksForATown(t *testing.T) {
	env := map[string]string{"ENLACE_DATA_DIR": t.TempDir()}
	out := runChat(t, env, []string{"--channel", "sms", "--from", "+50255551234"}, "hola", "2", "1", "1", "Tecun Uman", "San Pedro", "xyzzyq")
	var texts []string
	for _, p := range out {
		texts = append(texts, p.Text)
	}
	all := strings.Join(texts, "\n---\n")
	for _, want := range []string{
		"Write the name of the town or city where you are", // the menu's first option opened the finder
		// One message: the town understood, the place, the choices.
		"Near Ciudad Tecún Umán, San Marcos:\n- Casa del Migrante Mi'n Pon B'aj (Misi..., Shelter, 0.1 km from the centre\nCheck before you go.\n1. More places",
		"There are several places called San Pedro. Which one?\n1. San Pedro Sula, Cortés, Honduras",
		`I do not know the town "xyzzyq"`,
	} {
		if !strings.Contains(all, want) {
			t.Errorf("SMS conversation lacks %q:\n%s", want, all)
		}
	}
	if strings.Contains(all, "Jesús está vivo") {
		t.Error("the closed shelter was offered")
	}
}

// TestStarterDirectoryOutOfTheBox: a fresh data directory (both stores) gets
// the embedded starter directory at the first `enlace chat`, warning about the
// rows it cannot place; an import then replaces it.
func TestStarterDirectoryOutOfTheBox(t *testing.T) {
	for name, env := range storesEnv(t) {
		t.Run(name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), []string{"chat", "--json"}, strings.NewReader("/start\n"), &stdout, &stderr, func(k string) string { return env[k] })
			if err != nil {
				t.Fatal(err)
			}
			for _, id := range []string{"pa-darien-san-vicente-erm", "pa-darien-bajo-chiquito-msf", "pa-darien-penitas-rfl", "gt-el-ceibo-casa-belen"} {
				if !strings.Contains(stderr.String(), "place skipped") || !strings.Contains(stderr.String(), id) {
					t.Errorf("no warning that %s was skipped:\n%s", id, stderr.String())
				}
			}
			out, _, err := enlace(t, env, "places", "export")
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Count(out, "\n") - 1; got != 76 {
				t.Errorf("after the first chat the directory holds %d places, want the starter's 76", got)
			}
			imported, _, err := enlace(t, env, "places", "import", "testdata/places_test_points.csv")
			if err != nil || !strings.Contains(imported, "replaces the starter directory: removed its 76 place(s)") {
				t.Fatalf("import: %q, %v", imported, err)
			}
			out, _, _ = enlace(t, env, "places", "export")
			if got := strings.Count(out, "\n") - 1; got != 5 || strings.Contains(out, "starter directory") {
				t.Errorf("after an import the directory holds %d places, want the file's 5:\n%s", got, out)
			}
			// A directory that holds places is never filled again.
			runChat(t, env, nil, "/start")
			if again, _, _ := enlace(t, env, "places", "export"); again != out {
				t.Errorf("a second chat changed the directory")
			}
		})
	}
}

// TestServeConsoleHasTheDirectory: serve gives the console the store the
// shelter finder reads (the starter directory), and serves its API.
func TestServeConsoleHasTheDirectory(t *testing.T) {
	env := map[string]string{"ENLACE_DATA_DIR": t.TempDir(), "ENLACE_SECRET_KEY": "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="}
	built := make(chan *console.Server, 1)
	addr := make(chan string, 1)
	consoleBuilt = func(c *console.Server) { built <- c }
	consoleStarted = func(a string) { addr <- a }
	t.Cleanup(func() { consoleBuilt, consoleStarted = nil, nil })
	_, stop := startServe(t, env)
	con := <-built
	if code, body := get(t, "http://"+<-addr+"/api/v1/places"); code != http.StatusUnauthorized {
		t.Errorf("serve's GET /api/v1/places without a token: %d %s", code, body)
	}
	if dir := con.Places(); dir == nil {
		t.Error("serve's console has no directory")
	} else if n, err := dir.CountPlaces(context.Background()); err != nil || n == 0 {
		t.Errorf("serve's console directory: %d places, %v; want the starter's", n, err)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}
