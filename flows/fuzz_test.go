package flows_test

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/enlace-rfl/enlace/flows"
	"github.com/enlace-rfl/enlace/languages"
	"github.com/enlace-rfl/enlace/locales"
)

// allSteps is every step a session can be at ("" is a new person).
var allSteps = []string{"",
	flows.StepLanguage, flows.StepConsent, flows.StepMenu, flows.StepEraseConfirm, flows.StepHelpOffer, flows.StepStopAll,
	flows.StepShelters, flows.StepShelterTown, flows.StepShelterResults, flows.StepShelterKind,
	flows.StepFamily, flows.StepContacts, flows.StepContactName, flows.StepContactPhone, flows.StepContactCountry,
	flows.StepContactRelation, flows.StepContactLang, flows.StepContactCheck, flows.StepContactPick, flows.StepContactDelete,
	flows.StepProfileName, flows.StepProfileCode, flows.StepSafeTo, flows.StepSafeKind, flows.StepSafeText, flows.StepSafeSend,
	flows.StepCheckinMenu, flows.StepCheckinEvery, flows.StepCheckinWhen, flows.StepCheckinTo, flows.StepCheckinMsg, flows.StepCheckinOwn, flows.StepCheckinWhere,
	flows.StepTraceMenu, flows.StepTraceConsent, flows.StepTraceNetwork, flows.StepTraceName, flows.StepTraceOther,
	flows.StepTraceSex, flows.StepTraceAge, flows.StepTraceNationality, flows.StepTraceRelation, flows.StepTraceOwnName, flows.StepTracePlace,
	flows.StepTraceWhen, flows.StepTraceWhat, flows.StepTraceReach, flows.StepTraceSummary, flows.StepTraceOpening,
	flows.StepTracePIN, flows.StepTraceCode, flows.StepTraceCheckPIN, flows.StepTraceChecking, flows.StepTraceStatus,
	flows.StepTraceReply, flows.StepTraceReachUpdate,
}

var fuzzSenders = []flows.Sender{
	{Channel: "sms", Address: "+525512345678"},
	{Channel: "whatsapp", Address: "+50937001234"},
	{Channel: "telegram", Address: "7", LangHint: "pt-BR"},
}

// FuzzStep: any text, in any step of the conversation, in any language, on
// any channel, never panics and always gets an answer (a PIN to check: the
// pipeline's, right after); and so does the text
// after it, from wherever the first one led. The seeds are what people
// write in the fixtures (Telegram updates and Twilio posts of
// /work/shared/fixtures, copied into bot/*/testdata), the danger sentences
// and a few dates, and the crashers found so far (testdata/fuzz/FuzzStep).
func FuzzStep(f *testing.F) {
	for i, s := range fixtureTexts(f) {
		f.Add(uint8(i), uint8(i/7), s, "1")
	}
	f.Add(uint8(3), uint8(0), "viernes 18:00", "menu")
	f.Add(uint8(29), uint8(1), "4/12/2026 18:00", "")
	f.Add(uint8(13), uint8(2), "Ana", "+52 55 1234 5678")
	cat, err := locales.Load()
	if err != nil {
		f.Fatal(err)
	}
	e := flows.New(flows.Config{DialogTimeout: 30 * time.Minute, RetentionDays: 90, Tracing: true}, cat)
	t0 := time.Date(2026, 11, 29, 18, 0, 0, 0, time.UTC)
	f.Add(uint8(59), uint8(0), "RFL-7K3D-9MX", "4821")
	f.Add(uint8(49), uint8(1), "José Luis Hernández García", "Pepe")
	f.Fuzz(func(t *testing.T, step, who uint8, first, second string) {
		from := fuzzSenders[int(who)%len(fuzzSenders)]
		s := flows.Session{Version: flows.SessionVersion, Step: allSteps[int(step)%len(allSteps)],
			Lang: languages.All[int(step/7)%len(languages.All)], Consent: flows.ConsentAccepted,
			Channel: from.Channel, Address: from.Address, Updated: t0, Draft: map[string]string{}}
		if s.Step == "" {
			s = flows.Session{}
		}
		for i, typed := range []string{first, second} {
			r := e.Step(context.Background(), s, flows.Input{Kind: flows.InputText, Text: typed}, from, t0.Add(time.Duration(i)*time.Minute))
			// A PIN to check is answered by the pipeline's event (InputCase).
			if len(flows.EffectsOf[flows.Reply](r.Effects)) == 0 && !flows.Has[flows.CheckCasePIN](r.Effects) {
				t.Fatalf("turn %d, %q at step %q: no answer (effects %+v)", i+1, typed, s.Step, r.Effects)
			}
			s = r.Session
		}
	})
}

// fixtureTexts are the message texts of the channel fixtures and the danger
// sentences.
func fixtureTexts(tb testing.TB) []string {
	var out []string
	files, _ := filepath.Glob("../bot/telegram/testdata/updates/*.json")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			tb.Fatal(err)
		}
		var u struct {
			Message *struct {
				Text string `json:"text"`
			} `json:"message"`
		}
		if json.Unmarshal(b, &u) == nil && u.Message != nil && u.Message.Text != "" {
			out = append(out, u.Message.Text)
		}
	}
	if b, err := os.ReadFile("../bot/twilio/testdata/webhook_samples.json"); err == nil {
		var w struct {
			Samples []struct {
				Params map[string]string `json:"params"`
			} `json:"samples"`
		}
		if json.Unmarshal(b, &w) == nil {
			for _, s := range w.Samples {
				if body := s.Params["Body"]; body != "" {
					out = append(out, body)
				}
			}
		}
	}
	for _, name := range []string{"testdata/danger/distress.txt", "testdata/danger/ordinary.txt"} {
		fh, err := os.Open(name)
		if err != nil {
			tb.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			if _, text, ok := strings.Cut(sc.Text(), "|"); ok && !strings.HasPrefix(sc.Text(), "#") {
				out = append(out, text)
			}
		}
		fh.Close()
	}
	if len(out) < 20 {
		tb.Fatalf("only %d seed texts", len(out))
	}
	return out
}
