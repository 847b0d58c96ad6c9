package flows_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/enlace-rfl/enlace/flows"
	"github.com/enlace-rfl/enlace/locales"
)

var t0 = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

func newEngine(t *testing.T) *flows.Engine {
	t.Helper()
	cat, err := locales.Load()
	if err != nil {
		t.Fatal(err)
	}
	return flows.New(flows.Config{DialogTimeout: 30 * time.Minute, RetentionDays: 90}, cat)
}

func text(s string) flows.Input  { return flows.Input{Kind: flows.InputText, Text: s} }
func pick(id string) flows.Input { return flows.Input{Kind: flows.InputChoice, Choice: id} }
func cmd(c, p string) flows.Input {
	return flows.Input{Kind: flows.InputCommand, Command: c, Payload: p}
}

// ids lists the message IDs of a result's outputs, in order.
func ids(r flows.Result) []string {
	var out []string
	for _, o := range r.Outputs() {
		out = append(out, o.Text.ID)
	}
	return out
}

// turn is one step of a scripted conversation and what must come of it.
type turn struct {
	in        flows.Input
	after     time.Duration // time since the conversation started
	wantIDs   []string
	wantStep  string
	wantLang  string
	wantErase bool
	wantForgt bool
	wantEsc   []string
}

func TestConversations(t *testing.T) {
	sms := flows.Sender{Channel: "sms", Address: "+50937001234"}
	tg := flows.Sender{Channel: "telegram", Address: "4242", LangHint: "pt-BR"}
	cases := []struct {
		name  string
		from  flows.Sender
		turns []turn
	}{
		{"onboarding in Creole guessed from +509, then Spanish chosen by number", sms, []turn{
			{in: text("bonjou"), wantIDs: []string{"language.prompt"}, wantStep: flows.StepLanguage, wantLang: "ht"},
			{in: text("1"), wantIDs: []string{"consent.text", "consent.question"}, wantStep: flows.StepConsent, wantLang: "es"},
			{in: text("acepto"), wantIDs: []string{"consent.thanks", "menu.prompt"}, wantStep: flows.StepMenu, wantLang: "es"},
		}},
		{"Telegram language hint, /start with payload", tg, []turn{
			{in: cmd("start", "shelters"), wantIDs: []string{"language.prompt"}, wantStep: flows.StepLanguage, wantLang: "pt"},
			{in: pick("lang.pt"), wantIDs: []string{"consent.text", "consent.question"}, wantStep: flows.StepConsent},
			{in: pick("consent.accept"), wantIDs: []string{"consent.thanks", "menu.prompt"}, wantStep: flows.StepMenu},
			{in: cmd("start", ""), wantIDs: []string{"menu.prompt"}, wantStep: flows.StepMenu},
		}},
		{"declining keeps nothing and still helps", sms, []turn{
			{in: text("hola"), wantIDs: []string{"language.prompt"}},
			{in: pick("lang.es"), wantIDs: []string{"consent.text", "consent.question"}},
			{in: pick("consent.decline"), wantIDs: []string{"consent.declined", "emergency.two", "nodata.options"}, wantForgt: true},
		}},
		{"global words in several languages", sms, []turn{
			{in: text("hi"), wantIDs: []string{"language.prompt"}},
			{in: pick("lang.en"), wantIDs: []string{"consent.text", "consent.question"}},
			{in: pick("consent.accept"), wantIDs: []string{"consent.thanks", "menu.prompt"}},
			{in: text("IDIOMA"), wantIDs: []string{"language.prompt"}, wantStep: flows.StepLanguage},
			{in: text("back"), wantIDs: []string{"menu.prompt"}, wantStep: flows.StepMenu},
			{in: text("¡Menú!"), wantIDs: []string{"menu.prompt"}, wantStep: flows.StepMenu},
			{in: text("ayuda"), wantIDs: []string{"help.text", "menu.prompt"}, wantStep: flows.StepMenu},
			{in: text("emergencia"), wantIDs: []string{"emergency.two", "menu.prompt"}, wantStep: flows.StepMenu},
			{in: text("efase"), wantIDs: []string{"erase.confirm"}, wantStep: flows.StepEraseConfirm},
			{in: text("no"), wantIDs: []string{"erase.kept", "menu.prompt"}, wantStep: flows.StepMenu},
		}},
		{"three misses offer a person and record an escalation", sms, []turn{
			{in: text("hola"), wantIDs: []string{"language.prompt"}},
			{in: pick("lang.es"), wantIDs: []string{"consent.text", "consent.question"}},
			{in: pick("consent.accept"), wantIDs: []string{"consent.thanks", "menu.prompt"}},
			{in: text("qwerty"), wantIDs: []string{"unknown.input", "menu.prompt"}},
			{in: text("🙂🙂"), wantIDs: []string{"unknown.input", "menu.prompt"}},
			{in: text("asdf"), wantIDs: []string{"help.offer"}, wantStep: flows.StepHelpOffer, wantEsc: []string{flows.ReasonMisunderstood}},
			{in: text("1"), wantIDs: []string{"person.kept", "emergency.two", "handoff.menu"}, wantStep: flows.StepMenu, wantEsc: []string{flows.ReasonAskedForHelp}},
		}},
		{"erase after confirmation", sms, []turn{
			{in: text("hola"), wantIDs: []string{"language.prompt"}},
			{in: pick("lang.fr"), wantIDs: []string{"consent.text", "consent.question"}},
			{in: pick("consent.accept"), wantIDs: []string{"consent.thanks", "menu.prompt"}},
			{in: pick("menu.erase"), wantIDs: []string{"erase.confirm"}},
			{in: text("oui"), wantIDs: []string{"erase.done"}, wantErase: true, wantForgt: true, wantLang: "fr"},
		}},
		{"idle half-finished dialog starts over at the menu", sms, []turn{
			{in: text("hola"), wantIDs: []string{"language.prompt"}},
			{in: pick("lang.es"), wantIDs: []string{"consent.text", "consent.question"}},
			{in: pick("consent.accept"), wantIDs: []string{"consent.thanks", "menu.prompt"}},
			{in: pick("menu.erase"), wantIDs: []string{"erase.confirm"}},
			{in: text("1"), after: 2 * time.Hour, wantIDs: []string{"timeout.note", "menu.prompt"}, wantStep: flows.StepMenu},
		}},
		{"media gets a friendly answer and the options again", sms, []turn{
			{in: text("hola"), wantIDs: []string{"language.prompt"}},
			{in: flows.Input{Kind: flows.InputMedia}, wantIDs: []string{"media.unsupported", "language.prompt"}, wantStep: flows.StepLanguage},
		}},
		{"SMS: the menu's emergency, language and erase options by number", sms, []turn{
			{in: text("hola"), wantIDs: []string{"language.prompt"}},
			{in: text("1"), wantIDs: []string{"consent.text", "consent.question"}},
			{in: text("1"), wantIDs: []string{"consent.thanks", "menu.prompt"}, wantStep: flows.StepMenu},
			// Without the finder: 1 person, 2 family, 3 emergency, 4 language, 5 erase.
			{in: text("3"), wantIDs: []string{"emergency.two", "menu.prompt"}, wantStep: flows.StepMenu},
			{in: text("4"), wantIDs: []string{"language.prompt"}, wantStep: flows.StepLanguage},
			{in: text("2"), wantIDs: []string{"language.changed", "menu.prompt"}, wantStep: flows.StepMenu, wantLang: "en"},
			{in: text("Emergency numbers"), wantIDs: []string{"emergency.two", "menu.prompt"}, wantStep: flows.StepMenu},
			{in: text("5"), wantIDs: []string{"erase.confirm"}, wantStep: flows.StepEraseConfirm},
			{in: text("2"), wantIDs: []string{"erase.kept", "menu.prompt"}, wantStep: flows.StepMenu},
			{in: text("back"), wantIDs: []string{"menu.prompt"}, wantStep: flows.StepMenu},
			{in: text("atrás"), wantIDs: []string{"menu.prompt"}, wantStep: flows.StepMenu},
		}},
		{"after declining, menu, help, emergency and agree still work", sms, []turn{
			{in: text("hola"), wantIDs: []string{"language.prompt"}},
			{in: text("1"), wantIDs: []string{"consent.text", "consent.question"}},
			{in: text("2"), wantIDs: []string{"consent.declined", "emergency.two", "nodata.options"}, wantForgt: true},
			{in: text("menu"), wantIDs: []string{"language.prompt"}, wantStep: flows.StepLanguage},
			{in: text("ayuda"), wantIDs: []string{"help.text", "language.prompt"}, wantStep: flows.StepLanguage},
			{in: text("emergencia"), wantIDs: []string{"emergency.two", "nodata.options"}},
			{in: text("acepto"), wantIDs: []string{"consent.thanks", "menu.prompt"}, wantStep: flows.StepMenu, wantLang: "es"},
			{in: text("back"), wantIDs: []string{"menu.prompt"}, wantStep: flows.StepMenu},
		}},
		{"a word two languages share keeps the guessed language", flows.Sender{Channel: "sms", Address: "+5511987654321"}, []turn{
			{in: text("emergencia"), wantIDs: []string{"emergency.one", "nodata.options"}, wantLang: "pt", wantForgt: true},
			{in: text("info"), wantIDs: []string{"help.text", "language.prompt"}, wantLang: "pt"},
			{in: text("ayuda"), wantIDs: []string{"help.text", "language.prompt"}, wantLang: "es"},
		}},
		// Yes and no as people write them answer the consent, in any language.
		{"consent with a plain yes", sms, []turn{
			{in: text("hola"), wantIDs: []string{"language.prompt"}},
			{in: text("1"), wantIDs: []string{"consent.text", "consent.question"}},
			{in: text("Sí"), wantIDs: []string{"consent.thanks", "menu.prompt"}, wantStep: flows.StepMenu},
		}},
		{"consent with ok", tg, []turn{
			{in: text("/start"), wantIDs: []string{"language.prompt"}},
			{in: text("2"), wantIDs: []string{"consent.text", "consent.question"}},
			{in: text("ok"), wantIDs: []string{"consent.thanks", "menu.prompt"}, wantStep: flows.StepMenu},
		}},
		{"consent with SI ACEPTO", sms, []turn{
			{in: text("hola"), wantIDs: []string{"language.prompt"}},
			{in: text("1"), wantIDs: []string{"consent.text", "consent.question"}},
			{in: text("SI ACEPTO"), wantIDs: []string{"consent.thanks", "menu.prompt"}, wantStep: flows.StepMenu},
		}},
		{"consent with sim, in Portuguese", tg, []turn{
			{in: text("oi"), wantIDs: []string{"language.prompt"}},
			{in: pick("lang.pt"), wantIDs: []string{"consent.text", "consent.question"}},
			{in: text("sim"), wantIDs: []string{"consent.thanks", "menu.prompt"}, wantStep: flows.StepMenu},
		}},
		{"consent declined with no", sms, []turn{
			{in: text("bonjou"), wantIDs: []string{"language.prompt"}},
			{in: pick("lang.ht"), wantIDs: []string{"consent.text", "consent.question"}},
			{in: text("non"), wantIDs: []string{"consent.declined", "emergency.two", "nodata.options"}, wantForgt: true},
		}},
		{"a language named in English", sms, []turn{
			{in: text("hola"), wantIDs: []string{"language.prompt"}},
			{in: text("Spanish"), wantIDs: []string{"consent.text", "consent.question"}, wantLang: "es"},
		}},
		{"emergency word needs no data", flows.Sender{Channel: "sms", Address: "+50255551234"}, []turn{
			{in: text("SOS"), wantIDs: []string{"danger.two", "nodata.options"}, wantForgt: true},
		}},
	}
	e := newEngine(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var s flows.Session
			for i, tu := range tc.turns {
				r := e.Step(context.Background(), s, tu.in, tc.from, t0.Add(tu.after))
				if got := ids(r); !slices.Equal(got, tu.wantIDs) {
					t.Fatalf("turn %d (%+v): got %v, want %v", i+1, tu.in, got, tu.wantIDs)
				}
				if tu.wantStep != "" && r.Session.Step != tu.wantStep {
					t.Errorf("turn %d: step got %q, want %q", i+1, r.Session.Step, tu.wantStep)
				}
				if tu.wantLang != "" && r.Session.Lang != tu.wantLang {
					t.Errorf("turn %d: lang got %q, want %q", i+1, r.Session.Lang, tu.wantLang)
				}
				if flows.Has[flows.Erase](r.Effects) != tu.wantErase || flows.Has[flows.Forget](r.Effects) != tu.wantForgt {
					t.Errorf("turn %d: erase, forget got %v, %v, want %v, %v", i+1, flows.Has[flows.Erase](r.Effects), flows.Has[flows.Forget](r.Effects), tu.wantErase, tu.wantForgt)
				}
				var esc []string
				for _, x := range flows.EffectsOf[flows.Escalation](r.Effects) {
					esc = append(esc, x.Reason)
				}
				if !slices.Equal(esc, tu.wantEsc) {
					t.Errorf("turn %d: escalations got %v, want %v", i+1, esc, tu.wantEsc)
				}
				s = r.Session
				if flows.Has[flows.Forget](r.Effects) {
					s = flows.Session{}
				}
			}
		})
	}
}

func TestEmergencyNumbersFollowTheCountry(t *testing.T) {
	e := newEngine(t)
	r := e.Step(context.Background(), flows.Session{}, text("emergency"), flows.Sender{Channel: "sms", Address: "+50255551234"}, t0)
	if got := r.Outputs()[0].Text.Refs["Here"]; got != "emergency.GT" {
		t.Errorf("Guatemalan number: got %q, want emergency.GT", got)
	}
	r = e.Step(context.Background(), flows.Session{}, text("emergency"), flows.Sender{Channel: "telegram", Address: "1"}, t0)
	if got := r.Outputs()[0].Text.Refs["Here"]; got != "emergency.MX" {
		t.Errorf("unknown country: got %q, want emergency.MX", got)
	}
}

func TestGuessLanguage(t *testing.T) {
	cases := []struct {
		from flows.Sender
		want string
	}{
		{flows.Sender{Address: "+50937001234"}, "ht"},
		{flows.Sender{Address: "+5511912345678"}, "pt"},
		{flows.Sender{Address: "+525512345678"}, "es"},
		{flows.Sender{Address: "4242", LangHint: "fr-CA"}, "fr"},
		{flows.Sender{Address: "4242", LangHint: "ht"}, "ht"},
		{flows.Sender{Address: "4242", LangHint: "de"}, "es"},
		{flows.Sender{Address: "4242", LangHint: "en_US"}, "en"},
	}
	for _, tc := range cases {
		if got := flows.GuessLanguage(tc.from); got != tc.want {
			t.Errorf("GuessLanguage(%+v): got %q, want %q", tc.from, got, tc.want)
		}
	}
}
