package flows

import (
	"net/url"
	"strings"
	"testing"

	"github.com/enlace-rfl/enlace/languages"
)

// TestEmergencyNumbersCiteTheirPages checks that every line shown to people
// names the pages it comes from, as addresses someone can open and re-check,
// and says how recent that page is.
func TestEmergencyNumbersCiteTheirPages(t *testing.T) {
	for _, n := range emergencyNumbers {
		if n.Country == "" || n.Number == "" || n.Service == "" {
			t.Errorf("%+v: country, number and service are required", n)
		}
		if strings.TrimSpace(n.Seen) == "" {
			t.Errorf("%s %s: no date (write \"undated\" when the page shows none)", n.Country, n.Number)
		}
		for _, src := range strings.Split(n.Source, " ; ") {
			u, err := url.Parse(strings.TrimSpace(src))
			if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				t.Errorf("%s %s: source %q is not a web address", n.Country, n.Number, src)
			}
		}
	}
}

// TestEmergencyRouteLineComesFirst: Mexico's 911 works along the route; the
// phone's home-country short codes come after it and only work back home.
func TestEmergencyRouteLineComesFirst(t *testing.T) {
	e := internalEngine(t)
	for _, lang := range languages.All {
		got := emergencyOutput("HT").Text.Render(e.cat, lang)
		mx, ht := strings.Index(got, "911"), strings.Index(got, "122")
		if mx < 0 || ht < 0 || mx > ht {
			t.Errorf("%s: want Mexico's 911 before Haiti's 122, got %q", lang, got)
		}
	}
}
