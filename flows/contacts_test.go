package flows_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"
	_ "time/tzdata"

	"github.com/enlace-rfl/enlace/flows"
	"github.com/enlace-rfl/enlace/locales"
)

// exchange is one input of a scripted conversation and what must come of it.
type exchange struct {
	in    flows.Input
	at    time.Duration // since the conversation started
	want  []string      // message IDs of the outputs, in order
	check func(t *testing.T, r flows.Result)
}

// play runs a script from a session and returns the session it ends with.
func play(t *testing.T, e *flows.Engine, from flows.Sender, s flows.Session, script []exchange) flows.Session {
	t.Helper()
	for i, x := range script {
		r := e.Step(context.Background(), s, x.in, from, t0.Add(x.at))
		if got := ids(r); !slices.Equal(got, x.want) {
			t.Fatalf("exchange %d (%+v): got %v, want %v", i+1, x.in, got, x.want)
		}
		if x.check != nil {
			x.check(t, r)
		}
		s = r.Session
	}
	return s
}

func timer(id string) flows.Input { return flows.Input{Kind: flows.InputTimer, Timer: id} }

var (
	mxSMS = flows.Sender{Channel: "sms", Address: "+5215511119999"}
	rosa  = flows.Contact{ID: "c1", Name: "Rosa", Phone: "+525512345678", Relation: "rel.mother", Lang: "en"}
)

// onboarded is a Spanish-speaking person from a Mexican number at the menu.
func onboarded(t *testing.T, e *flows.Engine, from flows.Sender) flows.Session {
	t.Helper()
	return play(t, e, from, flows.Session{}, []exchange{
		{in: text("hola"), want: []string{"language.prompt"}},
		{in: text("1"), want: []string{"consent.text", "consent.question"}},
		{in: text("1"), want: []string{"consent.thanks", "menu.prompt"}},
	})
}

// withFamily is an onboarded person with contacts, a name and a code word.
func withFamily(t *testing.T, e *flows.Engine, contacts ...flows.Contact) flows.Session {
	s := onboarded(t, e, mxSMS)
	s.Family = &flows.Family{Name: "Juan", Code: "tamarindo", Contacts: slices.Clone(contacts), Seq: len(contacts)}
	return s
}

func noChange(before flows.Session) func(t *testing.T, r flows.Result) {
	return func(t *testing.T, r flows.Result) {
		t.Helper()
		if !slices.EqualFunc(r.Session.Family.Contacts, before.Family.Contacts, func(a, b flows.Contact) bool {
			return a.ID == b.ID && a.Phone == b.Phone && a.Name == b.Name
		}) {
			t.Errorf("contacts changed: got %+v, want %+v", r.Session.Family.Contacts, before.Family.Contacts)
		}
	}
}

func proactive(r flows.Result) []flows.Message { return flows.EffectsOf[flows.Message](r.Effects) }

// cancelled lists the IDs of the timers a result cancels, in order.
func cancelled(r flows.Result) []string {
	var ids []string
	for _, c := range flows.EffectsOf[flows.CancelTimer](r.Effects) {
		ids = append(ids, c.ID)
	}
	return ids
}

func TestRegisterAContact(t *testing.T) {
	e := newEngine(t)
	s := onboarded(t, e, mxSMS)
	s = play(t, e, mxSMS, s, []exchange{
		{in: pick("menu.family"), want: []string{"family.ask"}},
		{in: text("2"), want: []string{"contacts.none", "contacts.ask"}},
		{in: text("1"), want: []string{"contact.name.ask"}},
		{in: text("   "), want: []string{"name.bad"}, check: func(t *testing.T, r flows.Result) {
			if r.Session.Step != flows.StepContactName || r.Session.Family != nil {
				t.Errorf("an empty name changed something: step %q, family %+v", r.Session.Step, r.Session.Family)
			}
		}},
		{in: text("..."), want: []string{"name.bad"}},
		{in: text(strings.Repeat("a", 21)), want: []string{"name.bad"}},
		{in: text("Rosa"), want: []string{"contact.phone.ask"}, check: func(t *testing.T, r flows.Result) {
			if got := r.Outputs()[0].Text.Data["Example"]; got != "+52 222 123 4567" {
				t.Errorf("example number: got %q, want a Mexican one", got)
			}
		}},
		{in: text("12345"), want: []string{"contact.phone.bad"}, check: func(t *testing.T, r flows.Result) {
			if r.Session.Step != flows.StepContactPhone || r.Outputs()[0].Text.Data["Example"] != "+52 222 123 4567" {
				t.Errorf("invalid number: step %q, data %v", r.Session.Step, r.Outputs()[0].Text.Data)
			}
		}},
		{in: text("55 1234 5678"), want: []string{"contact.relation.ask"}},
		{in: text("1"), want: []string{"contact.lang.ask"}},
		{in: text("English"), want: []string{"contact.check"}, check: func(t *testing.T, r flows.Result) {
			tx := r.Outputs()[0].Text
			if tx.Data["Phone"] != "+52 55 1234 5678" || tx.Refs["Relation"] != "rel.mother" || tx.Refs["Lang"] != "lang.en" {
				t.Errorf("confirmation: got %+v", tx)
			}
		}},
		{in: text("sí"), want: []string{"contact.saved", "contacts.list", "contacts.ask"}},
	})
	want := flows.Contact{ID: "c1", Name: "Rosa", Phone: "+525512345678", Relation: "rel.mother", Lang: "en"}
	if got := s.Family.Contacts; len(got) != 1 || got[0].ID != want.ID || got[0].Phone != want.Phone || got[0].Lang != want.Lang || got[0].Relation != want.Relation {
		t.Fatalf("contacts: got %+v, want [%+v]", got, want)
	}
}

func TestContactNumberNeedsACountryOnTelegram(t *testing.T) {
	e := newEngine(t)
	tg := flows.Sender{Channel: "telegram", Address: "4242"}
	s := onboarded(t, e, tg)
	s = play(t, e, tg, s, []exchange{
		{in: pick("menu.family"), want: []string{"family.ask"}},
		{in: pick("family.contacts"), want: []string{"contacts.none", "contacts.ask"}},
		{in: pick("contacts.add"), want: []string{"contact.name.ask"}},
		{in: text("Mamá"), want: []string{"contact.phone.ask"}},
		{in: text("5555 1234"), want: []string{"contact.country.ask"}},
		{in: pick("country.GT"), want: []string{"contact.relation.ask"}},
	})
	if got := s.Draft["phone"]; got != "+50255551234" {
		t.Errorf("number: got %q, want +50255551234", got)
	}
	// The wrong country: told with an example of that country, asked again.
	s.Step, s.Draft = flows.StepContactPhone, map[string]string{"name": "Mamá"}
	play(t, e, tg, s, []exchange{
		{in: text("55 1234 5678"), want: []string{"contact.country.ask"}},
		{in: pick("country.HN"), want: []string{"contact.phone.bad"}, check: func(t *testing.T, r flows.Result) {
			if r.Outputs()[0].Text.Data["Example"] != "+504 9123-4567" || r.Session.Step != flows.StepContactPhone {
				t.Errorf("got %+v at %q, want a Honduran example at the phone step", r.Outputs()[0].Text, r.Session.Step)
			}
		}},
		{in: text("+52 55 1234 5678"), want: []string{"contact.relation.ask"}},
	})
}

func TestContactLimitsChangeNothing(t *testing.T) {
	e := newEngine(t)
	three := []flows.Contact{rosa, {ID: "c2", Name: "Ana", Phone: "+50255551234", Lang: "es"}, {ID: "c3", Name: "Luis", Phone: "+50499999999", Lang: "es"}}
	s := withFamily(t, e, three...)
	s.Step = flows.StepFamily
	play(t, e, mxSMS, s, []exchange{
		{in: pick("family.contacts"), want: []string{"contacts.list", "contacts.ask"}},
		{in: pick("contacts.add"), want: []string{"contacts.full", "contacts.list", "contacts.ask"}, check: noChange(s)},
	})
	// A number already used by another contact.
	s = withFamily(t, e, rosa)
	s.Step = flows.StepFamily
	play(t, e, mxSMS, s, []exchange{
		{in: pick("family.contacts"), want: []string{"contacts.list", "contacts.ask"}},
		{in: pick("contacts.add"), want: []string{"contact.name.ask"}},
		{in: text("Pedro"), want: []string{"contact.phone.ask"}},
		{in: text("5512345678"), want: []string{"contact.phone.dup"}, check: noChange(s)},
	})
}

func TestChangeAndDeleteContacts(t *testing.T) {
	e := newEngine(t)
	s := withFamily(t, e, rosa, flows.Contact{ID: "c2", Name: "Ana", Phone: "+50255551234", Lang: "es"})
	s.Step = flows.StepContacts
	s.Family.Checkin = &flows.Checkin{Every: 24 * time.Hour, Deadline: t0.Add(24 * time.Hour), Last: t0, To: []string{"c2"}}
	s = play(t, e, mxSMS, s, []exchange{
		{in: pick("contacts.delete"), want: []string{"contact.pick.ask"}},
		{in: text("Ana"), want: []string{"contact.delete.ask"}},
		{in: text("no"), want: []string{"contacts.list", "contacts.ask"}},
		{in: pick("contacts.delete"), want: []string{"contact.pick.ask"}},
		{in: text("2"), want: []string{"contact.delete.ask"}},
		{in: text("si"), want: []string{"contact.deleted", "contacts.list", "contacts.ask"}},
	})
	if len(s.Family.Contacts) != 1 || s.Family.Contacts[0].ID != "c1" || len(s.Family.Checkin.To) != 0 {
		t.Fatalf("after deleting Ana: contacts %+v, check-in warns %v; want Rosa only, warning everyone", s.Family.Contacts, s.Family.Checkin.To)
	}
	s = play(t, e, mxSMS, s, []exchange{
		{in: pick("contacts.change"), want: []string{"contact.pick.ask"}},
		{in: text("1"), want: []string{"contact.name.ask"}},
		{in: text("Rosa María"), want: []string{"contact.phone.ask"}},
		{in: text("+504 9999-9999"), want: []string{"contact.relation.ask"}},
		{in: pick("rel.mother"), want: []string{"contact.lang.ask"}},
		{in: pick("lang.es"), want: []string{"contact.check"}},
		{in: pick("contact.check.yes"), want: []string{"contact.saved", "contacts.list", "contacts.ask"}},
	})
	if c := s.Family.Contacts; len(c) != 1 || c[0].ID != "c1" || c[0].Name != "Rosa María" || c[0].Phone != "+50499999999" || c[0].Lang != "es" {
		t.Fatalf("after the change: %+v", c)
	}
}

func TestIAmSafe(t *testing.T) {
	e := newEngine(t)
	cat, _ := locales.Load()
	s := onboarded(t, e, mxSMS)
	s.Family = &flows.Family{Contacts: []flows.Contact{rosa}, Seq: 1}
	var sent flows.Message
	s = play(t, e, mxSMS, s, []exchange{
		{in: pick("menu.family"), want: []string{"family.ask"}},
		{in: text("1"), want: []string{"profile.name.ask"}}, // the name contacts see, asked once
		{in: text("Juan"), want: []string{"profile.code.ask"}},
		{in: text("tamarindo"), want: []string{"profile.saved.code", "safe.kind.ask"}}, // one contact: no need to pick
		{in: pick("safe.kind.town"), want: []string{"safe.town.ask"}},
		{in: text(strings.Repeat("x", 31)), want: []string{"text.long"}},
		{in: text("Tapachula"), want: []string{"safe.preview", "safe.send.ask"}, check: func(t *testing.T, r flows.Result) {
			got := r.Outputs()[0].Text.Data["Text"]
			if !strings.Contains(got, "I am safe, in Tapachula") || !strings.Contains(got, "tamarindo") {
				t.Errorf("preview: got %q, want the English SMS with the code word", got)
			}
		}},
		{in: text("1"), want: []string{"safe.sms.code", "safe.sending", "menu.prompt"}, check: func(t *testing.T, r flows.Result) {
			sent = proactive(r)[0]
		}},
	})
	if sent.To != "+525512345678" || sent.Lang != "en" || sent.Channel != "sms" || sent.Receipt != "safe:c1" {
		t.Fatalf("message to Rosa: got %+v", sent)
	}
	if got, want := sent.Text.Render(cat, sent.Lang), "Juan, via Enlace: I am safe, in Tapachula. Code word: tamarindo"; got != want {
		t.Errorf("Rosa reads %q, want %q", got, want)
	}
	// Receipts name the contact.
	play(t, e, mxSMS, s, []exchange{
		{in: flows.Input{Kind: flows.InputReceipt, Receipt: "safe:c1", Delivered: true}, want: []string{"safe.delivered"}},
		{in: flows.Input{Kind: flows.InputReceipt, Receipt: "safe:c1"}, want: []string{"safe.failed"}},
		{in: flows.Input{Kind: flows.InputReceipt, Receipt: "safe:c9", Delivered: true}, want: nil},
	})
	// Later messages skip the preview; the fourth in a day is refused, and
	// allowed again a day after the first.
	script := []exchange{}
	for i := range 2 {
		at := time.Duration(i+1) * time.Hour
		script = append(script,
			exchange{in: pick("menu.family"), at: at, want: []string{"family.ask"}},
			exchange{in: pick("family.safe"), at: at, want: []string{"safe.kind.ask"}},
			exchange{in: pick("safe.kind.shelter"), at: at, want: []string{"safe.sms.code", "safe.sending", "menu.prompt"}})
	}
	script = append(script,
		exchange{in: pick("menu.family"), at: 3 * time.Hour, want: []string{"family.ask"}},
		exchange{in: pick("family.safe"), at: 3 * time.Hour, want: []string{"safe.limit", "family.ask"}, check: func(t *testing.T, r flows.Result) {
			if len(proactive(r)) != 0 || r.Outputs()[0].Text.Data["Max"] != "3" {
				t.Errorf("over the limit: got %+v", r.Outputs())
			}
		}},
		exchange{in: pick("family.safe"), at: 24*time.Hour + time.Minute, want: []string{"timeout.note", "menu.prompt"}},
		exchange{in: pick("menu.family"), at: 24*time.Hour + time.Minute, want: []string{"family.ask"}},
		exchange{in: pick("family.safe"), at: 24*time.Hour + time.Minute, want: []string{"safe.kind.ask"}})
	play(t, e, mxSMS, s, script)
}

func TestIAmSafeToSeveralContactsInTheirLanguages(t *testing.T) {
	e := newEngine(t)
	cat, _ := locales.Load()
	ana := flows.Contact{ID: "c2", Name: "Ana", Phone: "+50937001234", Lang: "ht", Previewed: true}
	s := withFamily(t, e, rosa, ana)
	s.Step = flows.StepFamily
	play(t, e, mxSMS, s, []exchange{
		{in: pick("family.safe"), want: []string{"safe.to.ask"}},
		{in: text("3"), want: []string{"safe.kind.ask"}}, // all of them
		{in: pick("safe.kind.free"), want: []string{"safe.free.ask"}},
		{in: text(strings.Repeat("ñ", 51)), want: []string{"text.long"}, check: noChange(s)},
		{in: text("Llegué bien a Tijuana, mañana les llamo"), want: []string{"safe.preview", "safe.send.ask"}}, // Rosa only: Ana saw it before
		{in: pick("safe.send.yes"), want: []string{"safe.sms.code", "safe.sms.code", "safe.sending", "menu.prompt"}, check: func(t *testing.T, r flows.Result) {
			out := proactive(r)
			if out[0].To != rosa.Phone || out[1].To != ana.Phone || out[1].Lang != "ht" || out[1].Receipt != "safe:c2" {
				t.Fatalf("got %+v", out)
			}
			if got, want := out[1].Text.Render(cat, "ht"), "Juan ekri w sou Enlace: Llegué bien a Tijuana, mañana les llamo Mo sekrè: tamarindo"; got != want {
				t.Errorf("Ana reads %q, want %q", got, want)
			}
		}},
	})
	// "No" sends nothing.
	s.Family.Contacts[0].Previewed = false
	play(t, e, mxSMS, s, []exchange{
		{in: pick("family.safe"), want: []string{"safe.to.ask"}},
		{in: text("Rosa"), want: []string{"safe.kind.ask"}},
		{in: pick("safe.kind.safe"), want: []string{"safe.preview", "safe.send.ask"}},
		{in: text("no"), want: []string{"safe.cancelled", "family.ask"}},
	})
}

// TestAgreeWordAnswersYes: "dakò", "de acuerdo" or "d'accord" at "Send it?"
// sends it, instead of jumping to the menu and dropping the message; at the
// menu the same word still opens the menu.
func TestAgreeWordAnswersYes(t *testing.T) {
	e := newEngine(t)
	for _, typed := range []string{"dakò", "De acuerdo", "d'accord", "de acordo"} {
		s := withFamily(t, e, rosa)
		s.Family.Contacts[0].Previewed = false
		s.Step = flows.StepFamily
		play(t, e, mxSMS, s, []exchange{
			{in: pick("family.safe"), want: []string{"safe.kind.ask"}},
			{in: pick("safe.kind.safe"), want: []string{"safe.preview", "safe.send.ask"}},
			{in: text(typed), want: []string{"safe.sms.code", "safe.sending", "menu.prompt"}},
			{in: text(typed), want: []string{"menu.prompt"}},
		})
	}
}

func TestLostPhoneGivesTheNewNumber(t *testing.T) {
	e := newEngine(t)
	cat, _ := locales.Load()
	s := withFamily(t, e, rosa)
	s.Family.Contacts[0].Previewed = true
	s.Step = flows.StepFamily
	play(t, e, mxSMS, s, []exchange{
		{in: pick("family.safe"), want: []string{"safe.kind.ask"}},
		{in: pick("safe.kind.phone"), want: []string{"safe.sms.code", "safe.sending", "menu.prompt"}, check: func(t *testing.T, r flows.Result) {
			if got := r.Outputs()[0].Text.Render(cat, "en"); !strings.Contains(got, "My new number is +52 55 1111 9999") {
				t.Errorf("got %q, want the number the person writes from", got)
			}
		}},
	})
}

func TestNoContactsYetAddsOneFirst(t *testing.T) {
	e := newEngine(t)
	s := onboarded(t, e, mxSMS)
	play(t, e, mxSMS, s, []exchange{
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
		{in: pick("safe.send.yes"), want: []string{"safe.sms", "safe.sending", "menu.prompt"}},
	})
}

// checkinSession is a person with one contact and a check-in every 12 hours,
// set at t0.
func checkinSession(t *testing.T, e *flows.Engine) flows.Session {
	t.Helper()
	s := withFamily(t, e, rosa)
	s.Step = flows.StepFamily
	return play(t, e, mxSMS, s, []exchange{
		{in: pick("family.checkin"), want: []string{"checkin.every.ask"}},
		{in: text("1"), want: []string{"checkin.msg.preview", "checkin.msg.ask"}},
		{in: text("1"), want: []string{"checkin.set", "menu.prompt"}, check: func(t *testing.T, r flows.Result) {
			want := []flows.SetTimer{{ID: "checkin-remind", At: t0.Add(11 * time.Hour)}, {ID: "checkin-deadline", At: t0.Add(13 * time.Hour)}}
			if !slices.Equal(flows.EffectsOf[flows.SetTimer](r.Effects), want) {
				t.Errorf("timers: got %+v, want %+v", flows.EffectsOf[flows.SetTimer](r.Effects), want)
			}
		}},
	})
}

func TestMissedCheckinWarnsContactsOnce(t *testing.T) {
	e := newEngine(t)
	cat, _ := locales.Load()
	s := checkinSession(t, e)
	play(t, e, mxSMS, s, []exchange{
		{in: timer("checkin-remind"), at: 11 * time.Hour, want: []string{"checkin.reminder"}},
		{in: timer("checkin-deadline"), at: 13 * time.Hour, want: []string{"checkin.sms", "checkin.missed"}, check: func(t *testing.T, r flows.Result) {
			out := proactive(r)
			if len(out) != 1 || out[0].To != rosa.Phone || out[0].Lang != "en" || out[0].Receipt != "checkin:c1" {
				t.Fatalf("alert: got %+v", out)
			}
			if got, want := out[0].Text.Render(cat, "en"), "Juan asked Enlace to warn you if they did not write before Nov 29, 18:00 (Mexico City time). They have not written. Please try to reach them."; got != want {
				t.Errorf("Rosa reads %q, want %q", got, want)
			}
			if len(flows.EffectsOf[flows.Escalation](r.Effects)) != 1 || flows.EffectsOf[flows.Escalation](r.Effects)[0].Reason != flows.ReasonMissedCheckin {
				t.Errorf("escalations: got %+v", flows.EffectsOf[flows.Escalation](r.Effects))
			}
			if !slices.Contains(cancelled(r), "checkin-remind") {
				t.Errorf("cancelled timers: got %v", cancelled(r))
			}
		}},
		// A second firing (it cannot happen, but) warns nobody again.
		{in: timer("checkin-deadline"), at: 14 * time.Hour, want: nil},
		// When the person writes again they are told, and the check-in is paused.
		{in: text("hola"), at: 20 * time.Hour, want: []string{"checkin.back", "unknown.input", "menu.prompt"}, check: func(t *testing.T, r flows.Result) {
			if c := r.Session.Family.Checkin; c == nil || !c.Paused || c.Missed {
				t.Errorf("check-in after coming back: %+v", c)
			}
		}},
		{in: text("hola"), at: 21 * time.Hour, want: []string{"unknown.input", "menu.prompt"}},
	})
}

func TestCheckinAnsweredInTimeSendsNothing(t *testing.T) {
	e := newEngine(t)
	s := checkinSession(t, e)
	s = play(t, e, mxSMS, s, []exchange{
		{in: timer("checkin-remind"), at: 11 * time.Hour, want: []string{"checkin.reminder"}},
		{in: text("1"), at: 12 * time.Hour, want: []string{"checkin.done.next", "menu.prompt"}, check: func(t *testing.T, r flows.Result) {
			want := []flows.SetTimer{{ID: "checkin-remind", At: t0.Add(23 * time.Hour)}, {ID: "checkin-deadline", At: t0.Add(25 * time.Hour)}}
			if !slices.Equal(flows.EffectsOf[flows.SetTimer](r.Effects), want) {
				t.Errorf("timers: got %+v, want %+v", flows.EffectsOf[flows.SetTimer](r.Effects), want)
			}
		}},
		// The old deadline timer, claimed as the person wrote, fires late: it
		// is set again for the new deadline and warns nobody.
		{in: timer("checkin-deadline"), at: 13 * time.Hour, want: nil, check: func(t *testing.T, r flows.Result) {
			if want := []flows.SetTimer{{ID: "checkin-deadline", At: t0.Add(25 * time.Hour)}}; !slices.Equal(flows.EffectsOf[flows.SetTimer](r.Effects), want) {
				t.Errorf("timers: got %+v, want %+v", flows.EffectsOf[flows.SetTimer](r.Effects), want)
			}
		}},
		// Any message checks in; the menu still answers it.
		{in: pick("menu.family"), at: 20 * time.Hour, want: []string{"checkin.done.next", "family.ask"}},
		{in: timer("checkin-deadline"), at: 25 * time.Hour, want: nil},
	})
	if c := s.Family.Checkin; !c.Deadline.Equal(t0.Add(32*time.Hour)) || c.Missed {
		t.Errorf("check-in: %+v, want the next deadline 12 hours after the last message", c)
	}
}

func TestOneOffCheckin(t *testing.T) {
	e := newEngine(t)
	s := withFamily(t, e, rosa, flows.Contact{ID: "c2", Name: "Ana", Phone: "+50255551234", Lang: "es"})
	s.Step = flows.StepFamily
	// t0 is Sunday 2026-11-29 06:00 in Mexico City; Friday 18:00 there is 2026-12-05 00:00 UTC.
	friday := time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)
	s = play(t, e, mxSMS, s, []exchange{
		{in: pick("family.checkin"), want: []string{"checkin.every.ask"}},
		{in: pick("checkin.date"), want: []string{"checkin.when.ask"}},
		{in: text("pronto"), want: []string{"checkin.when.bad"}},
		{in: text("1/1/2026 18:00"), want: []string{"checkin.when.past"}},
		{in: text("1/1/2027 18:00"), want: []string{"checkin.when.far"}},
		{in: text("viernes 18:00"), want: []string{"checkin.to.ask"}},
		{in: text("Ana"), want: []string{"checkin.msg.preview", "checkin.msg.ask"}},
		{in: pick("checkin.msg.own"), want: []string{"safe.free.ask"}},
		// The person's own words are shown as Ana will read them before they are kept.
		{in: text("Si no escribo, llama a Carla al 5544332211"), want: []string{"checkin.msg.preview", "checkin.msg.ask"}, check: func(t *testing.T, r flows.Result) {
			if got := r.Outputs()[0].Text.Data["Text"]; !strings.Contains(got, "Su mensaje: Si no escribo, llama a Carla al 5544332211") {
				t.Errorf("preview %q: want the alarm with the person's words", got)
			}
			if len(flows.EffectsOf[flows.SetTimer](r.Effects)) != 0 {
				t.Errorf("a check-in set before its message was confirmed")
			}
		}},
		{in: text("1"), want: []string{"checkin.set", "menu.prompt"}, check: func(t *testing.T, r flows.Result) {
			if got := r.Outputs()[0].Text.Data["When"]; got != "4 dic 18:00 (hora de Ciudad de México)" {
				t.Errorf("deadline: got %q", got)
			}
			if want := []flows.SetTimer{{ID: "checkin-remind", At: friday.Add(-time.Hour)}, {ID: "checkin-deadline", At: friday.Add(time.Hour)}}; !slices.Equal(flows.EffectsOf[flows.SetTimer](r.Effects), want) {
				t.Errorf("timers: got %+v, want %+v", flows.EffectsOf[flows.SetTimer](r.Effects), want)
			}
		}},
		// Messages long before the deadline do not end a one-off check-in.
		{in: text("menu"), at: time.Hour, want: []string{"menu.prompt"}},
	})
	// The status, then "I am OK" ends it.
	play(t, e, mxSMS, s, []exchange{
		{in: pick("menu.family"), at: 2 * time.Hour, want: []string{"family.ask"}},
		{in: pick("family.checkin"), at: 2 * time.Hour, want: []string{"checkin.status.once"}},
		{in: text("1"), at: 2 * time.Hour, want: []string{"checkin.done.end", "menu.prompt"}, check: func(t *testing.T, r flows.Result) {
			if r.Session.Family.Checkin != nil || !slices.Equal(cancelled(r), []string{"checkin-remind", "checkin-deadline"}) {
				t.Errorf("got check-in %+v, cancelled %v", r.Session.Family.Checkin, cancelled(r))
			}
		}},
	})
	// Missed: only Ana gets the alarm, with the person's own message.
	cat, _ := locales.Load()
	play(t, e, mxSMS, s, []exchange{
		{in: timer("checkin-deadline"), at: friday.Sub(t0) + time.Hour, want: []string{"checkin.alarm.msg", "checkin.missed"}, check: func(t *testing.T, r flows.Result) {
			out := proactive(r)
			if len(out) != 1 || out[0].To != "+50255551234" {
				t.Fatalf("got %+v, want Ana only", out)
			}
			if got, want := out[0].Text.Render(cat, "es"), "Juan le pidió a Enlace avisarte si no escribía antes del 4 dic 18:00 (hora de Ciudad de México). Aún no ha escrito. Su mensaje: Si no escribo, llama a Carla al 5544332211"; got != want {
				t.Errorf("Ana reads %q, want %q", got, want)
			}
		}},
	})
	// A message after the reminder time ends it.
	play(t, e, mxSMS, s, []exchange{
		{in: text("menu"), at: friday.Sub(t0) - 30*time.Minute, want: []string{"checkin.done.end", "menu.prompt"}},
	})
}

func TestPauseResumeAndCancelCheckin(t *testing.T) {
	e := newEngine(t)
	s := checkinSession(t, e)
	s = play(t, e, mxSMS, s, []exchange{
		{in: pick("menu.family"), at: time.Minute, want: []string{"family.ask"}},
		{in: pick("family.checkin"), at: time.Minute, want: []string{"checkin.status.every"}},
		{in: pick("checkin.pause"), at: time.Minute, want: []string{"checkin.paused", "menu.prompt"}, check: func(t *testing.T, r flows.Result) {
			if !slices.Equal(cancelled(r), []string{"checkin-remind", "checkin-deadline"}) {
				t.Errorf("cancelled: got %v", cancelled(r))
			}
		}},
		{in: timer("checkin-deadline"), at: 13 * time.Hour, want: nil},
		{in: pick("menu.family"), at: 14 * time.Hour, want: []string{"family.ask"}},
		{in: pick("family.checkin"), at: 14 * time.Hour, want: []string{"checkin.status.paused"}},
		{in: text("1"), at: 14 * time.Hour, want: []string{"checkin.set", "menu.prompt"}, check: func(t *testing.T, r flows.Result) {
			if len(flows.EffectsOf[flows.SetTimer](r.Effects)) != 2 || !flows.EffectsOf[flows.SetTimer](r.Effects)[1].At.Equal(t0.Add(27*time.Hour)) {
				t.Errorf("timers after resuming: got %+v", flows.EffectsOf[flows.SetTimer](r.Effects))
			}
		}},
		{in: pick("menu.family"), at: 15 * time.Hour, want: []string{"family.ask"}},
		{in: pick("family.checkin"), at: 15 * time.Hour, want: []string{"checkin.status.every"}},
		{in: pick("checkin.stop"), at: 15 * time.Hour, want: []string{"checkin.stopped", "menu.prompt"}},
	})
	if s.Family.Checkin != nil {
		t.Errorf("check-in after cancelling: %+v", s.Family.Checkin)
	}
}

// TestCancelCheckinInWords: at the check-in, the words people use to remove
// it ("cancelar", "quitar", "supprimer", "borrar") remove it; they once left
// the dialog (the alarm still set) or opened "erase everything". Elsewhere
// the same words keep their meaning.
func TestCancelCheckinInWords(t *testing.T) {
	e := newEngine(t)
	for _, word := range []string{"cancelar", "Quitar", "borrar el aviso", "supprimer", "annuler", "anile", "remover", "cancel"} {
		t.Run(word, func(t *testing.T) {
			s := checkinSession(t, e)
			s = play(t, e, mxSMS, s, []exchange{
				{in: pick("menu.family"), at: time.Minute, want: []string{"family.ask"}},
				{in: pick("family.checkin"), at: time.Minute, want: []string{"checkin.status.every"}},
				{in: text(word), at: time.Minute, want: []string{"checkin.stopped", "menu.prompt"}},
			})
			if s.Family.Checkin != nil {
				t.Errorf("check-in after %q: %+v", word, s.Family.Checkin)
			}
		})
	}
	s := checkinSession(t, e)
	play(t, e, mxSMS, s, []exchange{
		{in: text("borrar"), at: time.Minute, want: []string{"erase.confirm"}},
	})
}

// TestEraseLeavesNoTimers erases with a check-in running: the erasing message
// checks the person in, but sets no timer that would outlive the erase.
func TestEraseLeavesNoTimers(t *testing.T) {
	e := newEngine(t)
	s := checkinSession(t, e)
	play(t, e, mxSMS, s, []exchange{
		{in: text("borrar"), at: 8 * time.Hour, want: []string{"checkin.done.next", "erase.confirm"}},
		{in: text("sí"), at: 8 * time.Hour, want: []string{"erase.done"}, check: func(t *testing.T, r flows.Result) {
			if !flows.Has[flows.Erase](r.Effects) || !flows.Has[flows.Forget](r.Effects) || len(flows.EffectsOf[flows.SetTimer](r.Effects)) != 0 {
				t.Errorf("erase %v, forget %v, timers %+v; want an erase that sets no timer", flows.Has[flows.Erase](r.Effects), flows.Has[flows.Forget](r.Effects), flows.EffectsOf[flows.SetTimer](r.Effects))
			}
		}},
	})
}

// TestStepLeavesItsInputAlone: the engine works on a copy of the family data.
func TestStepLeavesItsInputAlone(t *testing.T) {
	e := newEngine(t)
	s := checkinSession(t, e)
	before := *s.Family.Checkin
	e.Step(context.Background(), s, timer("checkin-remind"), mxSMS, t0.Add(11*time.Hour))
	e.Step(context.Background(), s, pick("menu.family"), mxSMS, t0.Add(7*time.Hour))
	if got := *s.Family.Checkin; !got.Deadline.Equal(before.Deadline) || got.Reminded != before.Reminded {
		t.Errorf("the session given to Step changed: %+v, was %+v", got, before)
	}
}

// TestCheckinDayAtOnce: a day and time written where the frequency is asked
// ("viernes 8 de la noche") sets it at once; a bare number there ("12",
// "24 horas") is still how often.
func TestCheckinDayAtOnce(t *testing.T) {
	e := newEngine(t)
	for _, tc := range []struct {
		typed string
		want  []string
	}{
		{"viernes 8 de la noche", []string{"checkin.msg.preview", "checkin.msg.ask"}},
		{"12 horas", []string{"checkin.msg.preview", "checkin.msg.ask"}},
		{"diario", []string{"checkin.msg.preview", "checkin.msg.ask"}},
	} {
		s := checkinSession(t, e)
		s = play(t, e, mxSMS, s, []exchange{
			{in: pick("menu.family"), at: time.Minute, want: []string{"family.ask"}},
			{in: pick("family.checkin"), at: time.Minute, want: []string{"checkin.status.every"}},
			{in: pick("checkin.change"), at: time.Minute, want: []string{"checkin.every.ask"}},
			{in: text(tc.typed), at: time.Minute, want: tc.want},
		})
		switch tc.typed {
		case "12 horas":
			if s.Draft["every"] != "12" {
				t.Errorf("%q: draft %v, want every 12 hours", tc.typed, s.Draft)
			}
		case "diario":
			if s.Draft["every"] != "24" {
				t.Errorf("%q: draft %v, want every 24 hours", tc.typed, s.Draft)
			}
		default:
			if s.Draft["every"] != "" || s.Draft["deadline"] == "" {
				t.Errorf("%q: draft %v, want a one-off deadline", tc.typed, s.Draft)
			}
		}
	}
}
