package flows_test

import (
	"context"
	"slices"
	"strconv"
	"testing"
	"time"
	_ "time/tzdata"

	"github.com/enlace-rfl/enlace/flows"
	"github.com/enlace-rfl/enlace/locales"
)

// TestCheckinInTijuana: a person with a Mexican phone who says they are in
// Tijuana sets a check-in for 20:00; it is 20:00 in Tijuana (two hours
// behind Mexico City), and the alarm their English-speaking contact gets
// names the deadline with its zone.
func TestCheckinInTijuana(t *testing.T) {
	cat, err := locales.Load()
	if err != nil {
		t.Fatal(err)
	}
	_, towns := starter(t)
	e := flows.New(flows.Config{DialogTimeout: 30 * time.Minute, RetentionDays: 90, Towns: towns}, cat)
	s := withFamily(t, e, rosa)
	s.Step = flows.StepFamily
	tijuana, err := time.LoadLocation("America/Tijuana")
	if err != nil {
		t.Fatal(err)
	}
	// t0 is 2026-11-29 04:00 in Tijuana: 20:00 there is 2026-11-30 04:00 UTC.
	deadline := time.Date(2026, 11, 29, 20, 0, 0, 0, tijuana)
	s = play(t, e, mxSMS, s, []exchange{
		{in: pick("family.checkin"), want: []string{"checkin.where.ask"}},
		{in: text("Atlantis"), want: []string{"checkin.where.unknown"}},
		{in: text("Tijuana"), want: []string{"checkin.where.set", "checkin.every.ask"}, check: func(t *testing.T, r flows.Result) {
			if r.Session.Zone != "America/Tijuana" {
				t.Errorf("zone: got %q", r.Session.Zone)
			}
		}},
		{in: pick("checkin.date"), want: []string{"checkin.when.ask"}},
		{in: text("20:00"), want: []string{"checkin.msg.preview", "checkin.msg.ask"}, check: func(t *testing.T, r flows.Result) {
			// Previewed as Rosa will read it: in English.
			if got := r.Outputs()[0].Text.Data["Text"]; got != "Juan asked Enlace to warn you if they did not write before Nov 29, 20:00 (Tijuana time). They have not written. Please try to reach them." {
				t.Errorf("preview: got %q", got)
			}
		}},
		{in: pick("checkin.msg.yes"), want: []string{"checkin.set", "menu.prompt"}, check: func(t *testing.T, r flows.Result) {
			if got, want := r.Outputs()[0].Text.Data["When"], "29 nov 20:00 (hora de Tijuana)"; got != want {
				t.Errorf("deadline: got %q, want %q", got, want)
			}
			if want := []flows.SetTimer{{ID: "checkin-remind", At: deadline.Add(-time.Hour)}, {ID: "checkin-deadline", At: deadline.Add(time.Hour)}}; !slices.EqualFunc(flows.EffectsOf[flows.SetTimer](r.Effects), want, func(a, b flows.SetTimer) bool { return a.ID == b.ID && a.At.Equal(b.At) }) {
				t.Errorf("timers: got %+v, want %+v", flows.EffectsOf[flows.SetTimer](r.Effects), want)
			}
		}},
	})
	play(t, e, mxSMS, s, []exchange{
		{in: timer("checkin-deadline"), at: deadline.Add(time.Hour).Sub(t0), want: []string{"checkin.sms", "checkin.missed"}, check: func(t *testing.T, r flows.Result) {
			out := proactive(r)
			if len(out) != 1 || out[0].To != rosa.Phone || out[0].Lang != "en" {
				t.Fatalf("alert: got %+v", out)
			}
			if got, want := out[0].Text.Render(cat, "en"), "Juan asked Enlace to warn you if they did not write before Nov 29, 20:00 (Tijuana time). They have not written. Please try to reach them."; got != want {
				t.Errorf("Rosa reads %q, want %q", got, want)
			}
			if got := r.Outputs()[1].Text.Render(cat, "es"); got != "No escribiste antes del domingo 29 de noviembre a las 20:00 (hora de Tijuana). Avisamos a Rosa. Escríbenos cuando puedas." {
				t.Errorf("the person reads %q", got)
			}
		}},
	})
}

// TestWhereThePersonSaysTheyAreSetsTheirZone: every place a person says
// where they are sets the time zone of their check-ins: a town typed in the
// shelter finder (or picked among several of that name), a pin shared anywhere, the town of an "I am safe, in…" or
// "I arrived in…" message, the check-in's own question. Once it is known, the check-in does
// not ask again; while it is not, the check-in asks, whatever the phone's
// country (Mexico and the United States span several zones, and a Haitian
// or Honduran SIM is often in Mexico).
func TestWhereThePersonSaysTheyAreSetsTheirZone(t *testing.T) {
	e, _, _ := finderEngine(t, false)
	mx := flows.Sender{Channel: "sms", Address: "+5215512345678"}
	us := flows.Sender{Channel: "sms", Address: "+12135550142"}
	ht := flows.Sender{Channel: "whatsapp", Address: "+50937001234"}
	for _, tc := range []struct {
		name string
		from flows.Sender
		lang string
		ins  []flows.Input
		want string // the zone; "" none yet
	}{
		{"nothing said yet", mx, "es", nil, ""},
		{"finder, typed town", mx, "es", []flows.Input{pick("menu.shelters"), text("Tijuana")}, "America/Tijuana"},
		{"finder, kind and town", mx, "en", []flows.Input{pick("menu.shelters"), text("agua Mexicali")}, "America/Tijuana"},
		{"finder, Juarez is Ciudad Juárez", us, "en", []flows.Input{pick("menu.shelters"), text("Juarez")}, "America/Ciudad_Juarez"},
		{"finder, one of several towns of that name", mx, "es", []flows.Input{pick("menu.shelters"), text("San Luis"), pick("shelters.town_2")}, "America/Hermosillo"},
		{"finder, several towns and none picked yet", mx, "es", []flows.Input{pick("menu.shelters"), text("San Luis")}, ""},
		{"finder, unknown town", mx, "es", []flows.Input{pick("menu.shelters"), text("Atlantis")}, ""},
		{"pin at the menu", ht, "ht", []flows.Input{tijuanaPin}, "America/Tijuana"},
		{"pin in the finder", mx, "fr", []flows.Input{pick("menu.shelters"), tapachulaPin}, "America/Mexico_City"},
		{"a later town replaces an earlier pin", mx, "pt", []flows.Input{tapachulaPin, pick("menu.shelters"), text("Hermosillo")}, "America/Hermosillo"},
		{"I am safe, in a town", mx, "es", []flows.Input{pick("menu.family"), pick("family.safe"), pick("safe.kind.town"), text("Mexicali")}, "America/Tijuana"},
		{"I arrived somewhere", ht, "ht", []flows.Input{pick("menu.family"), pick("family.safe"), pick("safe.kind.arrived"), text("Ciudad Juárez")}, "America/Ciudad_Juarez"},
		{"I arrived at a place that is no town", mx, "es", []flows.Input{pick("menu.family"), pick("family.safe"), pick("safe.kind.arrived"), text("casa de mi tía")}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := agreedIn(t, e, tc.from, tc.lang)
			s.Family = &flows.Family{Name: "Juan", Code: "tamarindo", Contacts: []flows.Contact{rosa}, Seq: 1}
			for _, in := range tc.ins {
				s = e.Step(context.Background(), s, in, tc.from, t0).Session
			}
			if s.Zone != tc.want {
				t.Fatalf("zone: got %q, want %q", s.Zone, tc.want)
			}
			// Then a check-in asks where the person is only if it is not known.
			s.Step, s.Draft = flows.StepFamily, nil
			r := e.Step(context.Background(), s, pick("family.checkin"), tc.from, t0)
			want := []string{"checkin.every.ask"}
			if tc.want == "" {
				want = []string{"checkin.where.ask"}
			}
			if got := ids(r); !slices.Equal(got, want) {
				t.Errorf("check-in: got %v, want %v", got, want)
			}
		})
	}
	// Asked, every country's phone is answered in the zone of the town named.
	for _, tc := range []struct {
		from       flows.Sender
		town, want string
	}{{mx, "Tijuana", "America/Tijuana"}, {us, "Tapachula", "America/Mexico_City"}, {ht, "Ciudad Juarez", "America/Ciudad_Juarez"}, {mx, "Cancun", "America/Cancun"}} {
		s := agreedIn(t, e, tc.from, "es")
		s.Family = &flows.Family{Name: "Juan", Contacts: []flows.Contact{rosa}, Seq: 1}
		s.Step = flows.StepFamily
		s = e.Step(context.Background(), s, pick("family.checkin"), tc.from, t0).Session
		r := e.Step(context.Background(), s, text(tc.town), tc.from, t0)
		if r.Session.Zone != tc.want || !slices.Equal(ids(r), []string{"checkin.where.set", "checkin.every.ask"}) {
			t.Errorf("%s from %s: zone %q, outputs %v; want %q", tc.town, tc.from.Address, r.Session.Zone, ids(r), tc.want)
		}
	}
}

// TestMissedCheckinAlarmReadsAsAnAlarm: the SMS a safe contact gets when the
// person misses a check-in set in Tijuana is in the contact's language, names
// the deadline in Tijuana time with the zone, says the person has not written
// (the issue's model: "<Name> asked Enlace to warn you if they did not write
// before <deadline>. They have not written. Their message: …"), and reads as
// an alarm with or without the person's own message.
func TestMissedCheckinAlarmReadsAsAnAlarm(t *testing.T) {
	cat, err := locales.Load()
	if err != nil {
		t.Fatal(err)
	}
	e := flows.New(flows.Config{DialogTimeout: 30 * time.Minute, RetentionDays: 90, CheckinGrace: time.Hour}, cat)
	tijuana, err := time.LoadLocation("America/Tijuana")
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Date(2026, 12, 4, 18, 0, 0, 0, tijuana)
	for _, tt := range []struct{ lang, own, want string }{
		{"en", "", "Juan asked Enlace to warn you if they did not write before Dec 4, 18:00 (Tijuana time). They have not written. Please try to reach them."},
		{"es", "", "Juan le pidió a Enlace avisarte si no escribía antes del 4 dic 18:00 (hora de Tijuana). Aún no ha escrito. Intenta hablarle."},
		{"fr", "", "Alerte Enlace : Juan devait nous écrire avant le 4 déc 18:00 (heure de Tijuana) et nous a demandé de vous prévenir. Pas de nouvelles. Essayez de l'appeler."},
		{"ht", "", "Juan te mande Enlace avèti w si li pa ekri anvan 4 des 18:00 (lè Tijuana). Li poko ekri. Eseye jwenn li."},
		{"pt", "", "Juan pediu ao Enlace para avisar você se não escrevesse até 4 dez 18:00 (hora de Tijuana). Ainda não escreveu. Tente falar com a pessoa."},
		{"en", "Crossing at El Chaparral", "Juan asked Enlace to warn you if they did not write before Dec 4, 18:00 (Tijuana time). They have not written. Their message: Crossing at El Chaparral"},
		{"es", "Cruzo por El Chaparral", "Juan le pidió a Enlace avisarte si no escribía antes del 4 dic 18:00 (hora de Tijuana). Aún no ha escrito. Su mensaje: Cruzo por El Chaparral"},
		{"fr", "Je passe par El Chaparral", "Alerte Enlace : Juan devait nous écrire avant le 4 déc 18:00 (heure de Tijuana). Pas de nouvelles. Son message : Je passe par El Chaparral"},
		{"ht", "M ap travèse El Chaparral", "Juan te mande Enlace avèti w si li pa ekri anvan 4 des 18:00 (lè Tijuana). Li poko ekri. Mesaj li: M ap travèse El Chaparral"},
		{"pt", "Vou cruzar em El Chaparral", "Juan pediu ao Enlace para avisar você se não escrevesse até 4 dez 18:00 (hora de Tijuana). Ainda não escreveu. Mensagem: Vou cruzar em El Chaparral"},
	} {
		t.Run(tt.lang+"/"+strconv.FormatBool(tt.own != ""), func(t *testing.T) {
			to := rosa
			to.Lang = tt.lang
			s := withFamily(t, e, to)
			s.Zone = "America/Tijuana"
			s.Family.Checkin = &flows.Checkin{Deadline: deadline, RemindAt: deadline.Add(-time.Hour), Last: t0, Message: tt.own}
			r := e.Step(context.Background(), s, timer("checkin-deadline"), mxSMS, deadline.Add(time.Hour))
			out := proactive(r)
			if len(out) != 1 || out[0].Lang != tt.lang {
				t.Fatalf("alarm: got %+v", out)
			}
			if got := out[0].Text.Render(cat, tt.lang); got != tt.want {
				t.Errorf("the contact reads\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

// TestCheckinWhereKeepsItsButtons: a place not found is said with the
// question's buttons again (the location request, "use my country's time"),
// so the label typed next is that choice, not a town.
func TestCheckinWhereKeepsItsButtons(t *testing.T) {
	e := newEngine(t)
	tg := flows.Sender{Channel: "telegram", Address: "4242"}
	s := flows.Session{Version: 1, Lang: "en", Consent: flows.ConsentAccepted, Step: flows.StepCheckinWhere, Updated: t0,
		Channel: tg.Channel, Address: tg.Address, Choices: []string{"checkin.where.skip"},
		Family: &flows.Family{Name: "Luis", Contacts: []flows.Contact{{ID: "c1", Name: "Ana", Phone: "+50499999999", Lang: "es"}}}}
	r := e.Step(context.Background(), s, text("im in the bus station"), tg, t0.Add(time.Minute))
	outs := r.Outputs()
	if len(outs) != 1 || outs[0].Text.ID != "checkin.where.unknown" || outs[0].Request != flows.RequestLocation ||
		len(outs[0].Choices) != 1 || outs[0].Choices[0].ID != "checkin.where.skip" {
		t.Fatalf("a place not found: %+v, want the reason with the location request and the skip button", outs)
	}
	r = e.Step(context.Background(), r.Session, text("Use my country's time"), tg, t0.Add(2*time.Minute))
	if r.Session.Step != flows.StepCheckinEvery {
		t.Errorf("the skip label typed: step %q (replies %v), want the check-in's next question", r.Session.Step, ids(r))
	}
}
