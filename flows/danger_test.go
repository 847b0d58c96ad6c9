package flows_test

import (
	"bufio"
	"context"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/enlace-rfl/enlace/flows"
	"github.com/enlace-rfl/enlace/languages"
)

// sentences reads one of the testdata/danger lists: language|text per line.
func sentences(t *testing.T, name string) [][2]string {
	t.Helper()
	f, err := os.Open("testdata/danger/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out [][2]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		lang, text, ok := strings.Cut(line, "|")
		if !ok {
			t.Fatalf("%s: %q is not language|text", name, line)
		}
		out = append(out, [2]string{lang, text})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// agreedIn walks a person through onboarding in a language and returns their session.
func agreedIn(t *testing.T, e *flows.Engine, from flows.Sender, lang string) flows.Session {
	t.Helper()
	var s flows.Session
	for _, in := range []flows.Input{text("hola"), pick("lang." + lang), pick("consent.accept")} {
		s = e.Step(context.Background(), s, in, from, t0).Session
	}
	if s.Step != flows.StepMenu {
		t.Fatalf("onboarding ended at %q", s.Step)
	}
	return s
}

func reasons(r flows.Result) []string {
	var out []string
	for _, x := range flows.EffectsOf[flows.Escalation](r.Effects) {
		out = append(out, x.Reason)
	}
	return out
}

func isDangerAnswer(r flows.Result) bool {
	for _, id := range ids(r) {
		if id == "danger.one" || id == "danger.two" {
			return true
		}
	}
	return false
}

// TestDangerInASentence: every distress sentence is answered at once with the
// emergency numbers and a safety line, and recorded as an escalation of the
// highest priority with what was written, at the menu, inside a dialog and
// before consent (then without keeping anything); no ordinary sentence is.
func TestDangerInASentence(t *testing.T) {
	e := newEngine(t)
	from := flows.Sender{Channel: "sms", Address: "+50255551234"}
	distress, ordinary := sentences(t, "distress.txt"), sentences(t, "ordinary.txt")
	if len(distress) < 20 || len(ordinary) < 20 {
		t.Fatalf("want at least 20 sentences of each kind, got %d and %d", len(distress), len(ordinary))
	}
	langs := map[string]bool{}
	for _, d := range distress {
		langs[d[0]] = true
	}
	if len(langs) != len(languages.All) {
		t.Errorf("distress sentences in %d languages, want all %d", len(langs), len(languages.All))
	}
	for _, d := range distress {
		lang, typed := d[0], d[1]
		t.Run("distress/"+typed, func(t *testing.T) {
			menu := agreedIn(t, e, from, lang)
			r := e.Step(context.Background(), menu, text(typed), from, t0.Add(time.Minute))
			if got := ids(r); len(got) < 2 || got[0] != "danger.two" || got[1] != "danger.kept" {
				t.Errorf("at the menu: got %v, want danger.two, danger.kept first", got)
			}
			esc := flows.EffectsOf[flows.Escalation](r.Effects)
			if len(esc) != 1 || esc[0].Reason != flows.ReasonDanger || esc[0].Text != typed {
				t.Errorf("at the menu: escalations %+v, want one %q with the text", esc, flows.ReasonDanger)
			}
			if r.Session.Step != flows.StepMenu || slices.Contains(ids(r), "unknown.input") {
				t.Errorf("at the menu: step %q, outputs %v; want the menu again and no 'not understood'", r.Session.Step, ids(r))
			}
			// Inside a dialog that reads a name: answered, and the dialog goes on.
			named := e.Step(context.Background(), menu, pick("menu.family"), from, t0.Add(time.Minute)).Session
			named = e.Step(context.Background(), named, pick("family.contacts"), from, t0.Add(time.Minute)).Session
			named = e.Step(context.Background(), named, pick("contacts.add"), from, t0.Add(time.Minute)).Session
			r = e.Step(context.Background(), named, text(typed), from, t0.Add(2*time.Minute))
			if !isDangerAnswer(r) || !slices.Equal(reasons(r), []string{flows.ReasonDanger}) {
				t.Errorf("in a dialog: got %v, escalations %v", ids(r), reasons(r))
			}
			// Before any consent: answered, nothing recorded.
			r = e.Step(context.Background(), flows.Session{}, text(typed), from, t0)
			if !isDangerAnswer(r) || len(reasons(r)) != 0 {
				t.Errorf("first message: got %v, escalations %v; want the numbers and nothing kept", ids(r), reasons(r))
			}
		})
	}
	for _, o := range ordinary {
		lang, typed := o[0], o[1]
		t.Run("ordinary/"+typed, func(t *testing.T) {
			r := e.Step(context.Background(), agreedIn(t, e, from, lang), text(typed), from, t0.Add(time.Minute))
			if isDangerAnswer(r) || slices.Contains(reasons(r), flows.ReasonDanger) {
				t.Errorf("taken for danger: %v, escalations %v", ids(r), reasons(r))
			}
		})
	}
}

// TestAskingForAPersonInASentence: a plain request for a person leads to
// "talk to a person", not to "I did not understand".
func TestAskingForAPersonInASentence(t *testing.T) {
	e := newEngine(t)
	from := flows.Sender{Channel: "sms", Address: "+525512345678"}
	for _, tc := range []struct{ lang, typed string }{
		{"es", "necesito hablar con alguien"},
		{"es", "quiero hablar con una persona por favor"},
		{"ht", "mwen bezwen èd"},
		{"ht", "mwen vle pale ak yon moun"},
		{"en", "I need to talk to someone"},
		{"fr", "j'ai besoin d'aide"},
		{"pt", "preciso falar com alguém"},
	} {
		r := e.Step(context.Background(), agreedIn(t, e, from, tc.lang), text(tc.typed), from, t0.Add(time.Minute))
		if got := ids(r); len(got) == 0 || got[0] != "person.kept" || !slices.Equal(reasons(r), []string{flows.ReasonAskedForHelp}) {
			t.Errorf("%q: got %v, escalations %v; want person.kept and %s", tc.typed, got, reasons(r), flows.ReasonAskedForHelp)
		}
	}
}

func TestDangerOutranksEveryReason(t *testing.T) {
	for _, r := range []string{flows.ReasonMissedCheckin, flows.ReasonAskedForHelp, flows.ReasonMisunderstood, "other"} {
		if flows.ReasonPriority(flows.ReasonDanger) <= flows.ReasonPriority(r) {
			t.Errorf("danger does not outrank %s", r)
		}
	}
}

// TestLeaveWords: everyday words to get out of something leave the dialog;
// at the menu they ask on the phone channels (only a yes opts out), and on
// Telegram they lead to the menu.
func TestLeaveWords(t *testing.T) {
	e := newEngine(t)
	for _, tc := range []struct {
		channel, lang, word string
	}{{"sms", "es", "cancelar"}, {"whatsapp", "pt", "sair"}, {"whatsapp", "en", "cancel"}, {"sms", "ht", "kanpe"}, {"sms", "fr", "arrêter"}} {
		from := flows.Sender{Channel: tc.channel, Address: "+525512345678"}
		menu := agreedIn(t, e, from, tc.lang)
		dialog := e.Step(context.Background(), menu, pick("menu.family"), from, t0).Session
		r := e.Step(context.Background(), dialog, text(tc.word), from, t0)
		if got := ids(r); !slices.Equal(got, []string{"dialog.left", "menu.prompt"}) || flows.Has[flows.OptOut](r.Effects) {
			t.Errorf("%s in a dialog: got %v", tc.word, got)
		}
		r = e.Step(context.Background(), r.Session, text(tc.word), from, t0)
		if got := ids(r); !slices.Equal(got, []string{"stopall.confirm"}) || flows.Has[flows.OptOut](r.Effects) {
			t.Errorf("%s at the menu: got %v", tc.word, got)
		}
		r = e.Step(context.Background(), r.Session, text("1"), from, t0)
		if got := ids(r); !slices.Equal(got, []string{"twilio.optout"}) || !flows.Has[flows.OptOut](r.Effects) {
			t.Errorf("%s, then yes: got %v, effects %v", tc.word, got, r.Effects)
		}
	}
	tg := flows.Sender{Channel: "telegram", Address: "4242"}
	r := e.Step(context.Background(), agreedIn(t, e, tg, "es"), text("cancelar"), tg, t0)
	if got := ids(r); !slices.Equal(got, []string{"menu.prompt"}) {
		t.Errorf("Telegram, cancelar at the menu: got %v, want the menu", got)
	}
}
