package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/enlace-rfl/enlace/bot"
	"github.com/enlace-rfl/enlace/bot/twilio"
	"github.com/enlace-rfl/enlace/bot/twilio/twiliotest"
	"github.com/enlace-rfl/enlace/keyring"
	"github.com/enlace-rfl/enlace/locales"
)

const (
	twSID    = "AC0123456789abcdef0123456789abcdef"
	twToken  = "f00dfeedf00dfeedf00dfeedf00dfeed"
	twFrom   = "+15005550006"
	twWA     = "whatsapp:+14155238886"
	twPublic = "https://enlace.example.org"
)

// twilioServe runs `enlace serve` on real Redis with Twilio pointed at a local
// Messages API.
type twilioServe struct {
	t    *testing.T
	base string
	env  map[string]string
	api  *twiliotest.API
	seq  atomic.Int64
}

func startTwilioServe(t *testing.T) *twilioServe {
	t.Helper()
	env := storesEnv(t)["redis"]
	api := twiliotest.NewAPI(t, twSID, twToken)
	for k, v := range map[string]string{
		"TWILIO_ACCOUNT_SID": twSID, "TWILIO_AUTH_TOKEN": twToken, "TWILIO_FROM": twFrom,
		"TWILIO_WHATSAPP_FROM": twWA, "TWILIO_API_URL": api.URL, "TWILIO_RATE": "100",
		"ENLACE_PUBLIC_URL": twPublic,
	} {
		env[k] = v
	}
	base, stop := startServe(t, env)
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return &twilioServe{t: t, base: base, env: env, api: api}
}

// post sends one signed inbound message and returns the HTTP status.
func (s *twilioServe) post(from, body, sid string) int {
	s.t.Helper()
	if sid == "" {
		sid = fmt.Sprintf("SM%032d", s.seq.Add(1))
	}
	form := url.Values{"MessageSid": {sid}, "SmsMessageSid": {sid}, "AccountSid": {twSID}, "From": {from},
		"To": {twFrom}, "Body": {body}, "NumMedia": {"0"}, "ApiVersion": {"2010-04-01"}}
	if strings.HasPrefix(from, "whatsapp:") {
		form.Set("To", twWA)
	}
	code, _ := twiliotest.Post(s.t, s.base+twilio.InboundPath, twiliotest.Sign(twToken, twPublic+twilio.InboundPath, form), form)
	return code
}

// bodies returns the texts sent to an address so far.
func (s *twilioServe) bodies(to string) []string {
	var out []string
	for _, c := range s.api.CallsTo(to) {
		out = append(out, c.Form.Get("Body"))
	}
	return out
}

// waitFor waits until n messages went to an address, and returns their texts.
func (s *twilioServe) waitFor(to string, n int) []string {
	s.t.Helper()
	s.api.WaitCalls(to, n, 15*time.Second)
	return s.bodies(to)
}

// simulated runs the same lines through `enlace chat` and returns, for each
// line, the texts the simulator printed.
func simulated(t *testing.T, channel, from string, lines ...string) [][]string {
	t.Helper()
	env := map[string]string{"ENLACE_DATA_DIR": t.TempDir(), "ENLACE_SECRET_KEY": "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="}
	var out [][]string
	for _, line := range lines {
		var texts []string
		for _, p := range runChat(t, env, []string{"--channel", channel, "--from", from}, line) {
			texts = append(texts, p.Text)
		}
		out = append(out, texts)
	}
	return out
}

// TestTwilioConversationMatchesSimulator: signed SMS and WhatsApp posts get
// the same conversation as `enlace chat` on that channel.
func TestTwilioConversationMatchesSimulator(t *testing.T) {
	s := startTwilioServe(t)
	lines := []string{"hola", "1", "1", "ayuda", "menu", "2"}
	for _, tc := range []struct{ channel, from, to string }{
		{"sms", "+525511110001", "+525511110001"},
		{"whatsapp", "whatsapp:+50937001111", "whatsapp:+50937001111"},
	} {
		t.Run(tc.channel, func(t *testing.T) {
			number := strings.TrimPrefix(tc.from, "whatsapp:")
			want := simulated(t, tc.channel, number, lines...)
			total := 0
			for i, line := range lines {
				if code := s.post(tc.from, line, ""); code != 200 {
					t.Fatalf("line %q: status %d, want 200", line, code)
				}
				total += len(want[i])
				got := s.waitFor(tc.to, total)
				if g, w := strings.Join(got[total-len(want[i]):], "\n---\n"), strings.Join(want[i], "\n---\n"); g != w {
					t.Errorf("after %q:\n got %q\nwant %q", line, g, w)
				}
			}
			for _, c := range s.api.CallsTo(tc.to) {
				if c.Form.Get("StatusCallback") != twPublic+twilio.StatusPath {
					t.Errorf("StatusCallback: got %q", c.Form.Get("StatusCallback"))
				}
			}
		})
	}
}

func TestTwilioRefusesBadSignaturesAndDuplicates(t *testing.T) {
	s := startTwilioServe(t)
	const from = "+525511110002"
	want := simulated(t, "sms", from, "hola", "2")
	form := url.Values{"MessageSid": {"SM00000000000000000000000000000bad"}, "From": {from}, "To": {twFrom}, "Body": {"hola"}}
	if code, _ := twiliotest.Post(t, s.base+twilio.InboundPath, "", form); code != 403 {
		t.Errorf("unsigned: got %d, want 403", code)
	}
	if code, _ := twiliotest.Post(t, s.base+twilio.InboundPath, twiliotest.Sign("wrong", twPublic+twilio.InboundPath, form), form); code != 403 {
		t.Errorf("mis-signed: got %d, want 403", code)
	}
	// Had either been taken, "hola" would not be the person's first message.
	sid := "SM0000000000000000000000000000dup1"
	for range 2 {
		if code := s.post(from, "hola", sid); code != 200 {
			t.Fatalf("status %d, want 200", code)
		}
	}
	s.waitFor(from, len(want[0]))
	if code := s.post(from, "hola", sid); code != 200 { // again, after its replies went out
		t.Fatalf("status %d, want 200", code)
	}
	if code := s.post(from, "2", ""); code != 200 {
		t.Fatalf("status %d, want 200", code)
	}
	got := s.waitFor(from, len(want[0])+len(want[1]))
	if g, w := strings.Join(got, "\n---\n"), strings.Join(append(want[0], want[1]...), "\n---\n"); g != w {
		t.Errorf("a repeated MessageSid was answered again or a refused post was taken:\n got %q\nwant %q", g, w)
	}
}

func TestTwilioStopAndStart(t *testing.T) {
	s := startTwilioServe(t)
	cat, err := locales.Load()
	if err != nil {
		t.Fatal(err)
	}
	const from = "+525511110003"
	s.post(from, "hola", "")
	n := len(s.waitFor(from, 1))
	stopSid := "SM000000000000000000000000000stop1"
	for range 2 { // a redelivered STOP is confirmed once
		if code := s.post(from, "STOP", stopSid); code != 200 {
			t.Fatalf("STOP: status %d", code)
		}
	}
	got := s.waitFor(from, n+1)
	if want := cat.Text("es", "twilio.optout", nil); got[n] != want {
		t.Errorf("STOP confirmation: got %q, want %q", got[n], want)
	}
	s.post(from, "menu", "")
	s.post(from, "hola", "")
	s.post(from, "START", "")
	got = s.waitFor(from, n+2)
	if want := cat.Text("es", "twilio.optin", nil); got[n+1] != want {
		t.Errorf("after STOP, menu, hola, START: got %q, want only the START confirmation %q", got[n+1:], want)
	}
	s.post(from, "menu", "") // answered again
	s.waitFor(from, n+3)
}

// deadLetters lists the dead letters of one number, as `enlace deadletters` does.
func deadLetters(t *testing.T, env map[string]string, number string) []bot.DeadLetter {
	t.Helper()
	keys, err := keyring.Parse(env["ENLACE_SECRET_KEY"])
	if err != nil {
		t.Fatal(err)
	}
	person := keys.Hash("address", bot.Identity("sms", number))
	var stdout bytes.Buffer
	if err := run(context.Background(), []string{"deadletters", "list"}, strings.NewReader(""), &stdout, io.Discard, func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	var out []bot.DeadLetter
	dec := json.NewDecoder(&stdout)
	for dec.More() {
		var d bot.DeadLetter
		if err := dec.Decode(&d); err != nil {
			t.Fatal(err)
		}
		if d.Person == person {
			out = append(out, d)
		}
	}
	return out
}

func waitDeadLetters(t *testing.T, env map[string]string, number string, n int) []bot.DeadLetter {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		got := deadLetters(t, env, number)
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("got %d dead letters, want %d", len(got), n)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestTwilio21610StopsRetriesAnd429IsRetried(t *testing.T) {
	s := startTwilioServe(t)
	const gone, busy = "+525511110004", "+525511110005"
	s.api.Answer(gone, twiliotest.Unsubscribed)
	s.api.Answer(busy, twiliotest.TooManyRequests)

	s.post(gone, "hola", "")
	s.post(busy, "hola", "")

	// 429: tried again after Retry-After, and delivered.
	calls := s.api.WaitCalls(busy, 2, 15*time.Second)
	if calls[0].Form.Get("Body") != calls[1].Form.Get("Body") {
		t.Errorf("retry sent another text: %q then %q", calls[0].Form.Get("Body"), calls[1].Form.Get("Body"))
	}

	// 21610: a dead letter at once, the number marked unreachable.
	letters := waitDeadLetters(t, s.env, gone, 1)
	if !strings.Contains(letters[0].Reason, "21610") || letters[0].Attempts != 0 {
		t.Errorf("dead letter: got %+v, want reason 21610 with no retries", letters[0])
	}
	s.post(gone, "menu", "")
	letters = waitDeadLetters(t, s.env, gone, 2)
	if !strings.Contains(letters[1].Reason, "unreachable") {
		t.Errorf("next reply: got %+v, want it dropped as unreachable", letters[1])
	}
	if got := len(s.api.CallsTo(gone)); got != 1 {
		t.Errorf("API calls to the unsubscribed number: got %d, want exactly 1", got)
	}
}

// TestTwilioStatusCallbackWithAMalformedReference reproduces a retry loop: a
// signed status callback whose receipt reference cannot be one Enlace wrote
// got 503, and Twilio retries a 5xx. It gets 204 (and a log line).
func TestTwilioStatusCallbackWithAMalformedReference(t *testing.T) {
	s := startTwilioServe(t)
	form := url.Values{"MessageSid": {"SM0000000000000000000000000000rcpt"}, "AccountSid": {twSID}, "From": {twFrom},
		"To": {"+525511110009"}, "MessageStatus": {"delivered"}, "SmsStatus": {"delivered"}, "ApiVersion": {"2010-04-01"}}
	for _, ref := range []string{"garbage", "r1.not a hash!.safe:c1", "r1..safe:c1", "r1.abc123.", ".abc123.safe:c1", strings.Repeat("x", 300) + ".abc.ref"} {
		path := twilio.StatusPath + "?" + url.Values{"rcpt": {ref}}.Encode()
		code, body := twiliotest.Post(t, s.base+path, twiliotest.Sign(twToken, twPublic+path, form), form)
		if code != 204 {
			t.Errorf("reference %.40q: got %d %q, want 204 so Twilio does not retry", ref, code, body)
		}
	}
}

// TestTwilioFinderOutOfTheBox: on a fresh store, a WhatsApp pin at the menu
// (Twilio's Latitude/Longitude form, empty Body) gets the nearest places of
// the starter directory as one message, and an SMS typed town gets them in
// one message of at most 3 parts that names the town understood.
func TestTwilioFinderOutOfTheBox(t *testing.T) {
	s := startTwilioServe(t)
	wa, sms := "whatsapp:+50937001119", "+525511110009"
	// until waits for a message to an address that contains a text, and
	// returns how many it got by then.
	until := func(to, text string) int {
		for n := 1; ; n++ {
			if got := s.waitFor(to, n); strings.Contains(got[n-1], text) {
				return n
			}
		}
	}
	untilMenu := func(to string) int { return until(to, "Borrar mis datos") }
	for _, from := range []string{wa, sms} {
		to := from
		s.post(from, "hola", "")
		until(to, "Português")
		s.post(from, "1", "")
		until(to, "de acuerdo?")
		s.post(from, "1", "")
	}
	before := untilMenu(wa)
	form := url.Values{"MessageSid": {"SM4a1b2c3d4e5f60718293a4b5c6d7e8f9"}, "SmsMessageSid": {"SM4a1b2c3d4e5f60718293a4b5c6d7e8f9"},
		"AccountSid": {twSID}, "From": {wa}, "To": {twWA}, "Body": {""}, "NumMedia": {"0"}, "ApiVersion": {"2010-04-01"},
		"Latitude": {"14.9036"}, "Longitude": {"-92.2589"}}
	if code, _ := twiliotest.Post(t, s.base+twilio.InboundPath, twiliotest.Sign(twToken, twPublic+twilio.InboundPath, form), form); code != 200 {
		t.Fatalf("location post: status %d", code)
	}
	got := s.waitFor(wa, before+1)
	list := got[before]
	if !strings.HasPrefix(list, "Cerca de ti:\n- ") || !strings.Contains(list, " km") || !strings.Contains(list, "\n1. Más lugares") {
		t.Errorf("WhatsApp pin at the menu: got %q, want the nearest places with km and the choices", list)
	}

	untilMenu(sms)
	s.post(sms, "1", "")
	until(sms, "Escribe el nombre del pueblo")
	s.post(sms, "Juarez", "")
	got = s.waitFor(sms, until(sms, "Chihuahua"))
	list = got[len(got)-1]
	if !strings.HasPrefix(list, "Cerca de Ciudad Juárez, Chihuahua:\n- ") || !strings.Contains(list, "Volver al menú") {
		t.Errorf("SMS typed town: got %q, want one message naming Ciudad Juárez, with its choices", list)
	}
	if n, _ := locales.SMSSegments(list); n > 3 {
		t.Errorf("SMS list takes %d parts, want at most 3: %q", n, list)
	}
}

// TestTwilioWhatsAppAnswersTheExactAddress: a Mexican mobile writing on
// WhatsApp as +521… is answered at exactly that address (WhatsApp may not
// deliver to +52…), and the same phone on SMS (+52…) is the same person.
func TestTwilioWhatsAppAnswersTheExactAddress(t *testing.T) {
	s := startTwilioServe(t)
	const wa, number = "whatsapp:+5215512345678", "+525512345678"
	lines := []string{"hola", "1", "1"}
	want := simulated(t, "whatsapp", "+5215512345678", lines...)
	total := 0
	for i, line := range lines {
		if code := s.post(wa, line, ""); code != 200 {
			t.Fatalf("%q: status %d", line, code)
		}
		total += len(want[i])
		s.waitFor(wa, total)
	}
	if got := s.api.CallsTo("whatsapp:" + number); len(got) != 0 {
		t.Errorf("%d messages went to whatsapp:%s, which WhatsApp may not deliver", len(got), number)
	}
	// The same phone on SMS continues the same conversation: the menu, not
	// the first-contact language question.
	wantSMS := simulated(t, "sms", number, "hola", "1", "1", "menu")
	if code := s.post(number, "menu", ""); code != 200 {
		t.Fatalf("sms menu: status %d", code)
	}
	got := s.waitFor(number, len(wantSMS[3]))
	if g, w := strings.Join(got, "\n---\n"), strings.Join(wantSMS[3], "\n---\n"); g != w {
		t.Errorf("SMS from the same phone is not the same person:\n got %q\nwant %q", g, w)
	}
}
