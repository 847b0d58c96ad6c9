package flows

import (
	"testing"

	"github.com/enlace-rfl/enlace/languages"
)

// TestEveryZoneIsNamedInEveryLanguage: every time zone the engine can use
// (a country's, a state's, a border town's) has its own message in every
// language, so no time is ever labelled with an untranslated name.
func TestEveryZoneIsNamedInEveryLanguage(t *testing.T) {
	e := internalEngine(t)
	for _, zone := range allZones() {
		id := zoneKey(zone)
		for _, lang := range languages.All {
			if s := e.cat.Text(lang, id, nil); s == "" || s == id {
				t.Errorf("%s: %s has no message %s", lang, zone, id)
			}
		}
	}
}
