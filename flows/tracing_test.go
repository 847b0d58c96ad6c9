package flows_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/enlace-rfl/enlace/flows"
	"github.com/enlace-rfl/enlace/locales"
	"github.com/enlace-rfl/enlace/tracing"
)

func tracingEngine(t *testing.T) *flows.Engine {
	t.Helper()
	cat, err := locales.Load()
	if err != nil {
		t.Fatal(err)
	}
	return flows.New(flows.Config{DialogTimeout: 30 * time.Minute, RetentionDays: 90, Tracing: true, CaseRetentionDays: 180}, cat)
}

// caseCode is a valid code for the tests.
func caseCode(t *testing.T) tracing.Code {
	t.Helper()
	for _, last := range tracing.CodeAlphabet {
		if c, err := tracing.ParseCode("7K3D9M" + string(last)); err == nil {
			return c
		}
	}
	t.Fatal("no valid code")
	return ""
}

// walk runs inputs through the engine, checking the message ids of each.
type traceTurn struct {
	in      flows.Input
	wantIDs []string
	check   func(t *testing.T, r flows.Result)
}

func walk(t *testing.T, e *flows.Engine, from flows.Sender, s flows.Session, turns []traceTurn) flows.Session {
	t.Helper()
	for i, tu := range turns {
		r := e.Step(context.Background(), s, tu.in, from, t0.Add(time.Duration(i)*time.Minute))
		if got := ids(r); !slices.Equal(got, tu.wantIDs) {
			t.Fatalf("turn %d (%v %q %q): got %v, want %v", i+1, tu.in.Kind, tu.in.Text, tu.in.Choice, got, tu.wantIDs)
		}
		if tu.check != nil {
			tu.check(t, r)
		}
		s = r.Session
	}
	return s
}

func TestTracingRequestInChat(t *testing.T) {
	e := tracingEngine(t)
	mx := flows.Sender{Channel: "sms", Address: "+5215512345678"}
	var opened flows.OpenCase
	code := caseCode(t)
	s := walk(t, e, mx, flows.Session{}, []traceTurn{
		{in: text("hola"), wantIDs: []string{"language.prompt"}},
		{in: text("1"), wantIDs: []string{"consent.text", "consent.question"}},
		{in: text("1"), wantIDs: []string{"consent.thanks", "menu.prompt"}, check: func(t *testing.T, r flows.Result) {
			outs := r.Outputs()
			last := outs[len(outs)-1].Choices
			if last[len(last)-1].ID != "menu.tracing" {
				t.Errorf("menu choices %v: want the tracing request last", last)
			}
		}},
		{in: pick("menu.tracing"), wantIDs: []string{"tracing.menu"}},
		{in: text("1"), wantIDs: []string{"tracing.consent", "consent.question"}},
		{in: text("1"), wantIDs: []string{"tracing.network"}},
		{in: text("2"), wantIDs: []string{"tracing.name"}},
		{in: text("x"), wantIDs: []string{"tracing.name.invalid", "tracing.name"}},
		{in: text("  José Luis   Hernández García "), wantIDs: []string{"tracing.other"}},
		{in: text("Pepe"), wantIDs: []string{"tracing.sex"}},
		{in: text("2"), wantIDs: []string{"tracing.age"}},
		{in: text("200"), wantIDs: []string{"tracing.age.invalid", "tracing.age"}},
		{in: text("34 años"), wantIDs: []string{"tracing.nationality"}},
		{in: text("1"), wantIDs: []string{"tracing.relation"}},
		{in: text("3"), wantIDs: []string{"tracing.own"}},
		{in: text("."), wantIDs: []string{"tracing.name.invalid", "tracing.own"}},
		{in: text(" maria  Hernandez "), wantIDs: []string{"tracing.place"}},
		{in: text("Tapachula"), wantIDs: []string{"tracing.when"}},
		{in: text("13/2026"), wantIDs: []string{"tracing.when.invalid", "tracing.when"}},
		{in: text("3/2026"), wantIDs: []string{"tracing.what"}},
		{in: text("1"), wantIDs: []string{"tracing.reach"}},
		{in: text("1"), wantIDs: []string{"tracing.summary", "tracing.summary.question"}, check: func(t *testing.T, r flows.Result) {
			sum := r.Outputs()[0].Text.Data["Summary"]
			for _, want := range []string{"José Luis Hernández García (Pepe)", "Hombre o niño", "nació en 1992", "Honduras", "Mi hermano o hermana", "Tu nombre: maria Hernandez", "Tapachula, 3/2026", "Nos separamos en el camino"} {
				if !strings.Contains(sum, want) {
					t.Errorf("summary %q lacks %q", sum, want)
				}
			}
		}},
		{in: text("1"), wantIDs: []string{"tracing.sending"}, check: func(t *testing.T, r flows.Result) {
			oc := flows.EffectsOf[flows.OpenCase](r.Effects)
			if len(oc) != 1 {
				t.Fatalf("effects %v: want one OpenCase", r.Effects)
			}
			opened = oc[0]
		}},
		// The pipeline stored it and gives the code back.
		{in: flows.Input{Kind: flows.InputStaff, Action: flows.StaffTracingOpened, Case: "k1", Text: string(code)}, wantIDs: []string{"tracing.opened", "tracing.pin.ask"}, check: func(t *testing.T, r flows.Result) {
			if got := r.Outputs()[0].Text.Data["Code"]; got != code.String() {
				t.Errorf("code shown %q, want %q", got, code.String())
			}
		}},
		{in: text("1234"), wantIDs: []string{"tracing.pin.weak"}},
		// Typed twice, so a typo locks nobody out: a different one starts again.
		{in: text("4821"), wantIDs: []string{"tracing.pin.again"}, check: func(t *testing.T, r flows.Result) {
			if flows.Has[flows.SetCasePIN](r.Effects) {
				t.Error("the PIN kept before it was typed again")
			}
		}},
		{in: text("4812"), wantIDs: []string{"tracing.pin.mismatch", "tracing.pin.ask"}},
		{in: text("4821"), wantIDs: []string{"tracing.pin.again"}},
		{in: text("48 21"), wantIDs: []string{"tracing.pin.saved", "menu.prompt"}, check: func(t *testing.T, r flows.Result) {
			if p := flows.EffectsOf[flows.SetCasePIN](r.Effects); len(p) != 1 || p[0].Case != "k1" || p[0].PIN != "4821" {
				t.Errorf("SetCasePIN effects %+v", p)
			}
		}},
	})
	c := opened.Case
	if c.Sought.FullName != "José Luis Hernández García" || c.Sought.BirthYear != 1992 || c.Sought.Sex != tracing.SexMale ||
		c.Sought.Nationality != "HN" || c.Sought.Relationship != tracing.RelSibling || c.Sought.LastPlace.Name != "Tapachula" ||
		c.Sought.LastContact != (tracing.Month{Year: 2026, Month: 3}) || c.Sought.What != tracing.SeparatedOnRoute ||
		!slices.Equal(c.Sought.OtherNames, []string{"Pepe"}) {
		t.Errorf("sought person %+v", c.Sought)
	}
	if c.Enquirer.FullName != "maria Hernandez" {
		t.Errorf("enquirer %+v: want the name she gave (matching reads it against other requests' sought)", c.Enquirer)
	}
	if !c.Consent.Tracing || c.Consent.ShareNetwork || c.Reach.Channel != "sms" || c.Reach.Address != mx.Address || c.Reach.Lang != "es" {
		t.Errorf("consent %+v, reach %+v", c.Consent, c.Reach)
	}
	if len(s.Draft) != 0 {
		t.Errorf("draft kept after the request: %v", s.Draft)
	}
}

func TestTracingDeclinedKeepsNothing(t *testing.T) {
	e := tracingEngine(t)
	from := flows.Sender{Channel: "telegram", Address: "77", LangHint: "fr"}
	walk(t, e, from, flows.Session{}, []traceTurn{
		{in: cmd("start", "buscar"), wantIDs: []string{"language.prompt"}},
		{in: pick("lang.fr"), wantIDs: []string{"consent.text", "consent.question"}},
		{in: pick("consent.accept"), wantIDs: []string{"consent.thanks", "tracing.consent", "consent.question"}},
		{in: pick("tracing.decline"), wantIDs: []string{"tracing.declined", "menu.prompt"}, check: func(t *testing.T, r flows.Result) {
			if flows.Has[flows.OpenCase](r.Effects) {
				t.Error("a declined request opened a case")
			}
		}},
	})
}

// TestTracingCodeFromAnyNumber: a new number that never wrote to Enlace
// writes a code, then the PIN; a wrong PIN and an unknown code get the same
// answer; a lock is an escalation; the right PIN shows the case.
func TestTracingCodeFromAnyNumber(t *testing.T) {
	e := tracingEngine(t)
	code := caseCode(t)
	other := flows.Sender{Channel: "whatsapp", Address: "+50431234567"}
	check := func(outcome string, view *flows.CaseView) flows.Input {
		return flows.Input{Kind: flows.InputCase, Case: "k1", Outcome: outcome, View: view}
	}
	s := walk(t, e, other, flows.Session{}, []traceTurn{
		{in: text("RFL-" + string(code)), wantIDs: []string{"tracing.code.pin"}},
		{in: text("12"), wantIDs: []string{"tracing.code.pin.shape"}},
		{in: text("9999"), wantIDs: nil, check: func(t *testing.T, r flows.Result) {
			if p := flows.EffectsOf[flows.CheckCasePIN](r.Effects); len(p) != 1 || p[0].Code != string(code) || p[0].PIN != "9999" {
				t.Errorf("CheckCasePIN %+v", p)
			}
		}},
		{in: check(flows.CaseWrong, nil), wantIDs: []string{"tracing.wrong", "tracing.code.ask"}},
		{in: text("rfl " + string(code) + " 9998"), wantIDs: nil},
		{in: check(flows.CaseLockedNow, nil), wantIDs: []string{"tracing.locked", "language.prompt"}, check: func(t *testing.T, r flows.Result) {
			if esc := flows.EffectsOf[flows.Escalation](r.Effects); len(esc) != 1 || esc[0].Reason != flows.ReasonTracingLocked {
				t.Errorf("escalations %+v, want one for the lock", esc)
			}
		}},
		{in: text("RFL-" + string(code) + " 4821"), wantIDs: nil},
		{in: check(flows.CaseOK, &flows.CaseView{Code: string(code), Status: "searching", Updates: []flows.CaseUpdate{
			{ID: "u1", Template: "contact_point"}, {ID: "u2", Template: "own_text", Text: "Llame mañana"},
		}}), wantIDs: []string{"tracing.status", "tracing.update.contact_point", "tracing.update.own", "tracing.options"}, check: func(t *testing.T, r flows.Result) {
			if rd := flows.EffectsOf[flows.CaseRead](r.Effects); len(rd) != 1 || !slices.Equal(rd[0].Updates, []string{"u1", "u2"}) {
				t.Errorf("CaseRead %+v", rd)
			}
		}},
		{in: text("2"), wantIDs: []string{"tracing.here.confirm"}},
		{in: text("1"), wantIDs: []string{"tracing.here.done", "tracing.options"}, check: func(t *testing.T, r flows.Result) {
			if rc := flows.EffectsOf[flows.CaseReach](r.Effects); len(rc) != 1 || rc[0].Address != other.Address || rc[0].Channel != "whatsapp" {
				t.Errorf("CaseReach %+v", rc)
			}
		}},
		{in: text("1"), wantIDs: []string{"tracing.reply.ask"}},
		{in: text("Gracias, llamaré"), wantIDs: []string{"tracing.reply.kept", "tracing.options"}, check: func(t *testing.T, r flows.Result) {
			if rp := flows.EffectsOf[flows.CaseReply](r.Effects); len(rp) != 1 || rp[0].Text != "Gracias, llamaré" || rp[0].Case != "k1" {
				t.Errorf("CaseReply %+v", rp)
			}
		}},
	})
	if s.Consent == flows.ConsentAccepted {
		t.Error("checking a case gave consent")
	}
	// A code with a wrong check symbol is refused at once.
	bad := []byte(code)
	bad[0], bad[1] = bad[1], bad[0]
	walk(t, e, other, flows.Session{}, []traceTurn{{in: text("RFL" + string(bad)), wantIDs: []string{"tracing.code.invalid"}}})
}

// TestTracingTeaser: an update reaches the phone as the teaser alone; the
// PIN typed next opens it; digits asked for elsewhere are not a PIN.
func TestTracingTeaser(t *testing.T) {
	e := tracingEngine(t)
	mx := flows.Sender{Channel: "sms", Address: "+5215512345678"}
	s := walk(t, e, mx, flows.Session{}, []traceTurn{
		{in: text("hola"), wantIDs: []string{"language.prompt"}},
		{in: text("1"), wantIDs: []string{"consent.text", "consent.question"}},
		{in: text("1"), wantIDs: []string{"consent.thanks", "menu.prompt"}},
		{in: flows.Input{Kind: flows.InputStaff, Action: flows.StaffTracingUpdate, Case: "k1", Entry: "u1"}, wantIDs: []string{"tracing.teaser"}, check: func(t *testing.T, r flows.Result) {
			rep := flows.EffectsOf[flows.Reply](r.Effects)
			if len(rep) != 1 || rep[0].Case != "k1" || rep[0].Entry != "u1" || len(rep[0].Text.Data) != 0 {
				t.Errorf("teaser %+v: want the bare text naming the case and update", rep)
			}
		}},
		{in: text("4821"), wantIDs: nil, check: func(t *testing.T, r flows.Result) {
			if p := flows.EffectsOf[flows.CheckCasePIN](r.Effects); len(p) != 1 || p[0].Case != "k1" || p[0].PIN != "4821" {
				t.Errorf("CheckCasePIN %+v", p)
			}
		}},
		{in: flows.Input{Kind: flows.InputCase, Case: "k1", Outcome: flows.CaseOK, View: &flows.CaseView{Code: "7K3D9MX", Status: "located", Updates: []flows.CaseUpdate{{ID: "u1", Template: "safe_wants_contact"}}}},
			wantIDs: []string{"tracing.status", "tracing.update.safe_wants_contact", "tracing.options"}},
	})
	if s.Tracing != nil {
		t.Errorf("pending teaser kept after the PIN: %+v", s.Tracing)
	}
}

// TestTracingPINAskedAgain: a person who leaves before choosing the PIN of
// their new case is told, at the tracing menu, and asked for it again; a PIN
// of letters is a PIN of the wrong shape, not an easy one.
func TestTracingPINAskedAgain(t *testing.T) {
	e := tracingEngine(t)
	mx := flows.Sender{Channel: "sms", Address: "+5215512345678"}
	code := caseCode(t)
	s := walk(t, e, mx, flows.Session{}, []traceTurn{
		{in: text("hola"), wantIDs: []string{"language.prompt"}},
		{in: text("1"), wantIDs: []string{"consent.text", "consent.question"}},
		{in: text("1"), wantIDs: []string{"consent.thanks", "menu.prompt"}},
		{in: flows.Input{Kind: flows.InputStaff, Action: flows.StaffTracingOpened, Case: "k9", Text: string(code)}, wantIDs: []string{"tracing.opened", "tracing.pin.ask"}},
		{in: text("abcd"), wantIDs: []string{"tracing.code.pin.shape"}},
		{in: text("menu"), wantIDs: []string{"menu.prompt"}},
		{in: pick("menu.tracing"), wantIDs: []string{"tracing.pin.missing", "tracing.menu"}},
		{in: pick("tracing.check"), wantIDs: []string{"tracing.pin.ask"}},
		{in: text("7391"), wantIDs: []string{"tracing.pin.again"}},
		{in: text("7391"), wantIDs: []string{"tracing.pin.saved", "menu.prompt"}, check: func(t *testing.T, r flows.Result) {
			if p := flows.EffectsOf[flows.SetCasePIN](r.Effects); len(p) != 1 || p[0].Case != "k9" {
				t.Errorf("SetCasePIN %+v", p)
			}
		}},
		{in: pick("menu.tracing"), wantIDs: []string{"tracing.menu"}},
	})
	if s.Tracing != nil {
		t.Errorf("tracing state kept: %+v", s.Tracing)
	}
}

// TestTracingSecretsNeverReachVolunteers: during a conversation with a
// volunteer, a case code and a teaser's PIN are not transcribed for the
// volunteer, and still reach the tracing steps.
func TestTracingSecretsNeverReachVolunteers(t *testing.T) {
	e := tracingEngine(t)
	mx := flows.Sender{Channel: "sms", Address: "+5215512345678"}
	code := caseCode(t)
	s := walk(t, e, mx, flows.Session{}, []traceTurn{
		{in: text("hola"), wantIDs: []string{"language.prompt"}},
		{in: text("1"), wantIDs: []string{"consent.text", "consent.question"}},
		{in: text("1"), wantIDs: []string{"consent.thanks", "menu.prompt"}},
	})
	r := e.Step(context.Background(), s, text("necesito hablar con una persona"), mx, t0.Add(time.Hour))
	s = r.Session
	if s.Handoff == nil {
		t.Fatal("no handoff")
	}
	s = e.Step(context.Background(), s, flows.Input{Kind: flows.InputStaff, Action: flows.StaffTracingUpdate, Case: "k1", Entry: "u1"}, mx, t0.Add(2*time.Hour)).Session
	for _, in := range []string{"4821", "RFL-" + string(code) + " 4821"} {
		r := e.Step(context.Background(), s, text(in), mx, t0.Add(3*time.Hour))
		if tr := flows.EffectsOf[flows.Transcript](r.Effects); len(tr) != 0 {
			t.Errorf("%q reached the volunteer's transcript: %+v", in, tr)
		}
		if p := flows.EffectsOf[flows.CheckCasePIN](r.Effects); len(p) != 1 || p[0].PIN != "4821" {
			t.Errorf("%q: CheckCasePIN %+v", in, p)
		}
	}
	// An ordinary message still goes to the volunteer.
	if tr := flows.EffectsOf[flows.Transcript](e.Step(context.Background(), s, text("sigo aquí"), mx, t0.Add(3*time.Hour)).Effects); len(tr) != 1 {
		t.Errorf("an ordinary message: transcript %+v", tr)
	}
}

// TestTeaserPINOnlyWhereNothingIsTyped: while a teaser waits for its PIN,
// four to six digits are taken for the PIN only at a step that asks for
// nothing typed; where a year, a number, a code word, a town or a message is
// asked for, they are that answer (a birth year at "find me" once locked a
// person out, counted as a wrong PIN).
func TestTeaserPINOnlyWhereNothingIsTyped(t *testing.T) {
	e := tracingEngine(t)
	mx := flows.Sender{Channel: "sms", Address: "+5215512345678"}
	for _, tc := range []struct {
		step, typed string
		isPIN       bool
	}{
		{flows.StepMenu, "4821", true},
		{flows.StepTraceMenu, "4821", true},
		{flows.StepFindYear, "2008", false},
		{flows.StepFindName, "2008", false},
		{flows.StepProfileCode, "1985", false},
		{flows.StepTraceAge, "1990", false},
		{flows.StepTraceWhen, "2026", false},
		{flows.StepTraceOther, "2008", false},
		{flows.StepTraceWhat, "1234", false},
		{flows.StepTraceReply, "1234", false},
		{flows.StepShelters, "30700", false},
		{flows.StepShelterTown, "30700", false},
		{flows.StepContactPhone, "55123", false},
		{flows.StepCheckinEvery, "1200", false},
		{flows.StepCheckinWhen, "2130", false},
		{flows.StepCheckinMsg, "2130", false},
		{flows.StepSafeText, "2130", false},
	} {
		t.Run(tc.step, func(t *testing.T) {
			s := flows.Session{Version: 1, Lang: "es", Consent: flows.ConsentAccepted, Step: tc.step, Updated: t0,
				Channel: mx.Channel, Address: mx.Address, Tracing: &flows.TracingState{Pending: "k1"}}
			r := e.Step(context.Background(), s, text(tc.typed), mx, t0.Add(time.Minute))
			got := len(flows.EffectsOf[flows.CheckCasePIN](r.Effects)) == 1
			if got != tc.isPIN {
				t.Errorf("%q at %s taken for the teaser's PIN: %v, want %v (replies %v)", tc.typed, tc.step, got, tc.isPIN, ids(r))
			}
		})
	}
}

// TestEraseSaysSearchesStop: with tracing on, the erase question says the
// person's searches for relatives stop too (erasing withdraws them).
func TestEraseSaysSearchesStop(t *testing.T) {
	e := tracingEngine(t)
	mx := flows.Sender{Channel: "sms", Address: "+5215512345678"}
	walk(t, e, mx, flows.Session{}, []traceTurn{
		{in: text("hola"), wantIDs: []string{"language.prompt"}},
		{in: text("1"), wantIDs: []string{"consent.text", "consent.question"}},
		{in: text("1"), wantIDs: []string{"consent.thanks", "menu.prompt"}},
		{in: text("borrar"), wantIDs: []string{"erase.confirm.tracing"}},
	})
}

// TestOneWordPicksAChoice: a word of one choice's label picks it when the
// step did not understand the text ("mujer" for "Mujer o niña", "mi
// hermana" for "Mi hermano o hermana"); a safe contact's relation takes the
// words people use ("mamá", "esposa", "manman"). A word two labels share
// picks nothing.
func TestOneWordPicksAChoice(t *testing.T) {
	e := tracingEngine(t)
	mx := flows.Sender{Channel: "sms", Address: "+5215512345678"}
	start := []traceTurn{
		{in: text("hola"), wantIDs: []string{"language.prompt"}},
		{in: text("1"), wantIDs: []string{"consent.text", "consent.question"}},
		{in: text("1"), wantIDs: []string{"consent.thanks", "menu.prompt"}},
		{in: pick("menu.tracing"), wantIDs: []string{"tracing.menu"}},
		{in: text("1"), wantIDs: []string{"tracing.consent", "consent.question"}},
		{in: text("1"), wantIDs: []string{"tracing.network"}},
		{in: text("2"), wantIDs: []string{"tracing.name"}},
		{in: text("María López"), wantIDs: []string{"tracing.other"}},
		{in: pick("tracing.skip"), wantIDs: []string{"tracing.sex"}},
	}
	s := walk(t, e, mx, flows.Session{}, append(start,
		traceTurn{in: text("mujer"), wantIDs: []string{"tracing.age"}},
		traceTurn{in: text("como 30"), wantIDs: []string{"tracing.nationality"}},
		traceTurn{in: text("1"), wantIDs: []string{"tracing.relation"}},
		traceTurn{in: text("mi hermana"), wantIDs: []string{"tracing.own"}},
	))
	if s.Draft["tr.sex"] != "female" || s.Draft["tr.rel"] != "sibling" {
		t.Errorf("draft %v: want sex female, relation sibling", s.Draft)
	}
	// A country the catalog names, typed, though not among the choices.
	s = walk(t, e, mx, flows.Session{}, append(start,
		traceTurn{in: text("mujer"), wantIDs: []string{"tracing.age"}},
		traceTurn{in: text("30"), wantIDs: []string{"tracing.nationality"}},
		traceTurn{in: text("costa rica"), wantIDs: []string{"tracing.relation"}},
	))
	if s.Draft["tr.nat"] != "CR" {
		t.Errorf("nationality %q, want CR", s.Draft["tr.nat"])
	}
	// "mi mamá" at the tracing relation: the parent sought (the same word is
	// a contact's mother where contacts are asked).
	s = walk(t, e, mx, flows.Session{}, append(start,
		traceTurn{in: text("mujer"), wantIDs: []string{"tracing.age"}},
		traceTurn{in: text("1965"), wantIDs: []string{"tracing.nationality"}},
		traceTurn{in: text("1"), wantIDs: []string{"tracing.relation"}},
		traceTurn{in: text("mi mamá"), wantIDs: []string{"tracing.own"}},
	))
	if s.Draft["tr.rel"] != "parent" {
		t.Errorf("relation %q, want parent", s.Draft["tr.rel"])
	}
	// "hermano" is in one label only; "mi" alone is a small word.
	walk(t, e, mx, flows.Session{}, append(start, traceTurn{in: text("mi"), wantIDs: []string{"unknown.input", "tracing.sex"}}))

	cases := map[string]string{"mamá": "rel.mother", "Mi esposa": "rel.partner", "hermano": "rel.sibling", "papi": "rel.father"}
	for typed, want := range cases {
		s := flows.Session{Version: 1, Lang: "es", Consent: flows.ConsentAccepted, Step: flows.StepContactRelation, Updated: t0,
			Channel: mx.Channel, Address: mx.Address, Draft: map[string]string{"name": "Rosa", "phone": "+525512345678"},
			Choices: []string{"rel.mother", "rel.father", "rel.partner", "rel.child", "rel.sibling", "rel.relative", "rel.friend"}}
		r := e.Step(context.Background(), s, text(typed), mx, t0.Add(time.Minute))
		if got := r.Session.Draft["rel"]; got != want {
			t.Errorf("%q at the relation: %q (replies %v), want %s", typed, got, ids(r), want)
		}
	}
}

// TestInterviewFirstMessageSaysWhoWrites: a case taken in an interview for
// someone who never wrote to Enlace starts with who is writing, then the
// code and the PIN question; later messages do not repeat it.
func TestInterviewFirstMessageSaysWhoWrites(t *testing.T) {
	e := tracingEngine(t)
	hn := flows.Sender{Channel: "sms", Address: "+50499123456", LangHint: "es"}
	code := caseCode(t)
	s := walk(t, e, hn, flows.Session{}, []traceTurn{
		{in: flows.Input{Kind: flows.InputStaff, Action: flows.StaffTracingOpened, Case: "k7", Text: string(code)},
			wantIDs: []string{"tracing.opened.intro", "tracing.opened", "tracing.pin.ask"}},
	})
	walk(t, e, hn, s, []traceTurn{
		{in: flows.Input{Kind: flows.InputStaff, Action: flows.StaffTracingOpened, Case: "k7", Text: string(code), Outcome: flows.CasePINReset},
			wantIDs: []string{"tracing.pin.reset", "tracing.pin.ask"}},
	})
}
