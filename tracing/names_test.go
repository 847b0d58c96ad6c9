package tracing

import (
	"bufio"
	"slices"
	"strings"
	"testing"

	"github.com/enlace-rfl/enlace/textmatch"
)

func TestNameTokens(t *testing.T) {
	for in, want := range map[string][]string{
		"María de la Cruz y López":      {"maria", "cruz", "lopez"},
		"Ana López viuda de Pérez":      {"ana", "lopez", "perez"},
		"João dos Santos":               {"joao", "santos"},
		"Jean-Baptiste Pierre":          {"jean", "baptiste", "pierre"},
		"De la":                         {"de", "la"},
		"JOSE LUIS HERNANDEZ DE GARCIA": {"jose", "luis", "hernandez", "garcia"},
	} {
		if got := NameTokens(in); !slices.Equal(got, want) {
			t.Errorf("NameTokens(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPhoneticKeys(t *testing.T) {
	alike := [][2]string{
		{"hernandez", "hernandes"}, {"jean", "jan"}, {"pierre", "pye"}, {"baptiste", "batis"},
		{"louis", "lwi"}, {"luis", "lwi"}, {"guillermo", "giyermo"}, {"valdez", "baldes"}, {"quique", "kike"},
		{"laurent", "loran"}, {"vincent", "vensan"}, {"jacques", "jak"}, {"joseph", "jozef"},
		{"florence", "florans"}, {"thomas", "toma"}, {"olivier", "olivye"}, {"guillaume", "giyom"},
		{"michel", "mitchel"}, {"marie", "mari"}, {"claude", "klod"}, {"georges", "jòj"}, {"bernard", "bena"},
		{"hortensia", "ortensia"}, {"cecilia", "sesilia"}, {"yolanda", "llolanda"}, {"velazquez", "velasques"},
		{"gutierrez", "gutieres"}, {"ximena", "ximena"}, {"guevara", "gevara"}, {"miguel", "migel"},
		{"jeanne", "jan"}, {"richard", "richa"}, {"philippe", "filip"}, {"dominique", "dominik"},
	}
	for _, p := range alike {
		a, b := PhoneticKeys(textmatch.FoldName(p[0])), PhoneticKeys(textmatch.FoldName(p[1]))
		if !slices.ContainsFunc(a, func(k string) bool { return slices.Contains(b, k) }) {
			t.Errorf("%q %v and %q %v share no key", p[0], a, p[1], b)
		}
	}
	apart := [][2]string{
		{"juan", "jean"}, {"hernandez", "fernandez"}, {"maria", "mario"}, {"lopez", "lozano"},
		{"pedro", "pablo"}, {"garcia", "gracia"}, {"rosa", "rocio"}, {"jose", "josue"},
	}
	for _, p := range apart {
		a, b := PhoneticKeys(textmatch.FoldName(p[0])), PhoneticKeys(textmatch.FoldName(p[1]))
		if slices.ContainsFunc(a, func(k string) bool { return slices.Contains(b, k) }) {
			t.Errorf("%q %v and %q %v share a key", p[0], a, p[1], b)
		}
	}
}

func TestNicknames(t *testing.T) {
	same := [][2]string{
		{"pancho", "francisco"}, {"paco", "francisco"}, {"pepe", "jose"}, {"chepe", "jose"}, {"pepe", "chepe"},
		{"lupe", "guadalupe"}, {"chucho", "jesus"}, {"memo", "guillermo"}, {"nacho", "ignacio"},
		{"tono", "antonio"}, {"beto", "alberto"}, {"beto", "roberto"}, {"lalo", "eduardo"},
		{"pye", "pierre"}, {"pedro", "pierre"},
	}
	for _, p := range same {
		if !SameGivenName(p[0], p[1]) || !SameGivenName(p[1], p[0]) {
			t.Errorf("%s and %s are not the same given name", p[0], p[1])
		}
	}
	for _, p := range [][2]string{{"pancho", "jose"}, {"lupe", "jesus"}, {"alberto", "roberto"}} {
		if SameGivenName(p[0], p[1]) {
			t.Errorf("%s and %s are the same given name", p[0], p[1])
		}
	}
}

// TestNicknamesFile: every line of the data file is a comment, blank, or
// "name: other, other".
func TestNicknamesFile(t *testing.T) {
	sc := bufio.NewScanner(strings.NewReader(nicknamesFile))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		name, rest, ok := strings.Cut(line, ":")
		if !ok || textmatch.FoldName(name) == "" || strings.TrimSpace(rest) == "" {
			t.Errorf("nicknames.txt:%d: want \"name: other, other\", got %q", n, line)
		}
	}
}

// FuzzCompareNames: any two names compare without panic, symmetrically enough
// that a name always matches itself fully.
func FuzzCompareNames(f *testing.F) {
	for _, s := range [][2]string{{"José Luis Hernández García", "Jan Batis Pyè"}, {"", "de la"},
		{"a b c d e f g h i j k", "ñ ü ß œ"}, {"\xff\xfe", "J."}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		pa, okA := newNameProf(a, false)
		pb, okB := newNameProf(b, false)
		if !okA || !okB {
			return
		}
		r := compareNames(&pa, &pb)
		if r.score < -1 || r.score > 1.0001 {
			t.Fatalf("score %v out of range", r.score)
		}
		_ = r.reasons(nil)
		self := compareNames(&pa, &pa)
		if self.score < 0.99 {
			t.Fatalf("%q against itself scored %v", a, self.score)
		}
	})
}
