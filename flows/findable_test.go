package flows_test

import (
	"testing"

	"github.com/enlace-rfl/enlace/flows"
	"github.com/enlace-rfl/enlace/tracing"
)

// TestFindableAfterIAmSafe: after their first "I am safe" message a person is
// asked, once, whether relatives who search may find them; yes keeps their
// name and year of birth as a findable case (both people of it are them),
// with a code and a PIN; the next "I am safe" does not ask again; no keeps
// nothing.
func TestFindableAfterIAmSafe(t *testing.T) {
	e := tracingEngine(t)
	code := caseCode(t)
	setUp := []exchange{
		{in: pick("menu.family"), want: []string{"family.ask"}},
		{in: pick("family.safe"), want: []string{"safe.nocontacts", "contact.name.ask"}},
		{in: text("Rosa"), want: []string{"contact.phone.ask"}},
		{in: text("55 1234 5678"), want: []string{"contact.relation.ask"}},
		{in: pick("rel.mother"), want: []string{"contact.lang.ask"}},
		{in: pick("lang.es"), want: []string{"contact.check"}},
		{in: pick("contact.check.yes"), want: []string{"contact.saved", "profile.name.ask"}},
		{in: text("Juan"), want: []string{"profile.code.ask"}},
		{in: pick("code.none"), want: []string{"profile.saved", "safe.kind.ask"}},
		{in: pick("safe.kind.safe"), want: []string{"safe.preview", "safe.send.ask"}},
		{in: pick("safe.send.yes"), want: []string{"safe.sms", "safe.sending", "findable.info", "findable.offer"}},
	}
	var opened flows.OpenCase
	s := play(t, e, mxSMS, onboarded(t, e, mxSMS), append(setUp,
		exchange{in: text("1"), want: []string{"findable.name"}},
		exchange{in: text("Juan Carlos Pérez López"), want: []string{"findable.year"}},
		exchange{in: text("1994"), want: []string{"tracing.wait"}, check: func(t *testing.T, r flows.Result) {
			oc := flows.EffectsOf[flows.OpenCase](r.Effects)
			if len(oc) != 1 {
				t.Fatalf("effects %+v: want one OpenCase", r.Effects)
			}
			opened = oc[0]
		}},
		exchange{in: flows.Input{Kind: flows.InputStaff, Action: flows.StaffTracingOpened, Case: "k5", Text: string(code), Outcome: string(tracing.KindFindable)},
			want: []string{"findable.opened", "tracing.pin.ask"}},
		exchange{in: text("6402"), want: []string{"tracing.pin.again"}},
		exchange{in: text("6402"), want: []string{"findable.pin.saved", "menu.prompt"}},
		// A second "I am safe": no second question.
		exchange{in: pick("menu.family"), want: []string{"family.ask"}},
		exchange{in: pick("family.safe"), want: []string{"safe.kind.ask"}},
		exchange{in: pick("safe.kind.safe"), want: []string{"safe.sms", "safe.sending", "menu.prompt"}},
	))
	c := opened.Case
	if c.Kind != tracing.KindFindable || c.Sought.FullName != "Juan Carlos Pérez López" || c.Enquirer.FullName != c.Sought.FullName ||
		c.Sought.BirthYear != 1994 || !c.Consent.Tracing || c.Reach.Address != mxSMS.Address || !c.Matchable() {
		t.Errorf("findable case %+v", c)
	}
	if s.Tracing == nil || !s.Tracing.Offered {
		t.Errorf("the offer is not remembered: %+v", s.Tracing)
	}

	// No, thanks: nothing is opened.
	play(t, e, mxSMS, onboarded(t, e, mxSMS), append(setUp[:len(setUp):len(setUp)],
		exchange{in: text("2"), want: []string{"findable.declined", "menu.prompt"}, check: func(t *testing.T, r flows.Result) {
			if flows.Has[flows.OpenCase](r.Effects) {
				t.Error("declining opened a case")
			}
		}},
	))
}
