package bot_test

import (
	"fmt"
	"testing"

	"github.com/enlace-rfl/enlace/flows"
)

// TestIntroductionOnceToNumbersThatNeverAgreed: the first message to a
// number whose person has no accepted session comes after the introduction,
// in the reader's language; the second comes alone. A number whose person
// accepted gets no introduction; one that only started (no consent yet) does.
func TestIntroductionOnceToNumbersThatNeverAgreed(t *testing.T) {
	const mom = "+50255551234" // receiptEngine's "tell mom"
	menu := catalog.Text("en", "menu.prompt", nil)
	for _, tc := range []struct {
		name      string
		momSaid   []string // what mom wrote to Enlace before
		introduce bool
	}{
		{"never wrote", nil, true},
		{"only started", []string{"hola"}, true},
		{"accepted", []string{"hola", "2", "1"}, false},
	} {
		for _, b := range backends(t) { // fresh stores: the mark outlives everything else
			t.Run(tc.name+"/"+b.name, func(t *testing.T) {
				st := b.open(t)
				defer st.Close()
				rec := newRecorder("sms")
				p := enginePipeline(t, st, newClock().Now, receiptEngine{flows.New(flows.Config{}, catalog)}, rec)
				id := 0
				say := func(from string, lines ...string) {
					for _, line := range lines {
						id++
						accept(t, p, msg(from, fmt.Sprintf("SM%d", id), line))
						drain(t, p)
					}
				}
				say(mom, tc.momSaid...)
				before := len(rec.texts(mom))
				say(alice, "hola", "1", "1", "tell mom", "tell mom")
				got := rec.texts(mom)[before:]
				if tc.introduce {
					got = afterIntro(t, "en", got)
				}
				equal(t, "mom read", got, []string{menu, menu})
			})
		}
	}
}
