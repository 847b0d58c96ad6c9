package twilio

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/enlace-rfl/enlace/bot"
	"github.com/enlace-rfl/enlace/bot/faketime"
	"github.com/enlace-rfl/enlace/bot/twilio/twiliotest"
	"github.com/enlace-rfl/enlace/flows"
	"github.com/enlace-rfl/enlace/locales"
	"github.com/enlace-rfl/enlace/store"
)

const to = "+525512349876"

func TestSend(t *testing.T) {
	cat := catalog(t)
	choices := []bot.ReplyChoice{{ID: "a", Label: "Hablar con una persona"}, {ID: "b", Label: "Números de emergencia"}}
	long := strings.Repeat("Él está aquí y allá. ", 25) // UCS-2, about 500 characters
	tests := []struct {
		name      string
		channel   string
		cfg       func(*Config)
		window    bool          // the person wrote on WhatsApp a minute ago
		session   time.Duration // the person's session says they wrote on WhatsApp this long ago (0: no session)
		smsWait   time.Duration // the SMS sender's budget is spent for this long
		wantTakes []string      // the other channels' budgets the send drew from
		reply     bot.Reply
		answers   []twiliotest.Answer
		wantForms []map[string]string // fields of each call ("" = must be absent)
		wantErr   func(error) bool
	}{
		{name: "sms with numbered choices", channel: "sms",
			reply: bot.Reply{To: to, Lang: "es", Text: "¿Qué necesitas?", Choices: choices},
			wantForms: []map[string]string{{"To": to, "From": testFrom, "StatusCallback": publicURL + StatusPath,
				"Body": "¿Qué necesitas?\n1. Hablar con una persona\n2. Números de emergencia", "MessagingServiceSid": ""}}},
		{name: "sms from a messaging service", channel: "sms", cfg: func(c *Config) { c.From, c.MessagingServiceSID = "", testMG },
			reply:     bot.Reply{To: to, Lang: "es", Text: "Hola"},
			wantForms: []map[string]string{{"To": to, "MessagingServiceSid": testMG, "From": "", "Body": "Hola"}}},
		{name: "sms in GSM-7", channel: "sms", cfg: func(c *Config) { c.GSM7 = true },
			reply:     bot.Reply{To: to, Lang: "es", Text: "¿Qué necesitas?", Choices: choices},
			wantForms: []map[string]string{{"Body": "¿Qué necesitas?\n1. Hablar con una persona\n2. Numeros de emergencia"}}},
		{name: "sms asking for a location asks for a town", channel: "sms",
			reply:     bot.Reply{To: to, Lang: "pt", Text: "Onde você está?", Request: flows.RequestLocation},
			wantForms: []map[string]string{{"Body": "Onde você está?\n" + cat.Text("pt", "twilio.location_sms", nil)}}},
		{name: "too long for 3 parts: split in order", channel: "sms",
			reply:     bot.Reply{To: to, Lang: "es", Text: strings.TrimSpace(long)},
			wantForms: []map[string]string{{"To": to}, {"To": to}, {"To": to}}},
		{name: "whatsapp reply", channel: "whatsapp", window: true,
			reply: bot.Reply{To: to, Lang: "fr", Text: "Où êtes-vous ?", Request: flows.RequestLocation},
			wantForms: []map[string]string{{"To": "whatsapp:" + to, "From": testWA, "StatusCallback": publicURL + StatusPath,
				"Body": "Où êtes-vous ?\n" + cat.Text("fr", "twilio.location_whatsapp", nil)}}},
		{name: "whatsapp reply goes to the exact address WhatsApp gave", channel: "whatsapp", window: true,
			reply:     bot.Reply{To: to, Address: "+5215512349876", Lang: "es", Text: "Hola"},
			wantForms: []map[string]string{{"To": "whatsapp:+5215512349876", "Body": "Hola"}}},
		{name: "whatsapp template goes to the exact address", channel: "whatsapp", cfg: func(c *Config) { c.WhatsAppTemplate = testTmpl },
			reply:     bot.Reply{To: to, Address: "+5215512349876", Lang: "es", Text: "Hola", Proactive: true},
			wantForms: []map[string]string{{"To": "whatsapp:+5215512349876", "ContentSid": testTmpl}}},
		{name: "whatsapp falling back to SMS goes to the number", wantTakes: []string{"sms"}, channel: "whatsapp",
			reply:     bot.Reply{To: to, Address: "+5215512349876", Lang: "es", Text: "Hola", Proactive: true},
			wantForms: []map[string]string{{"To": to, "From": testFrom, "Body": "Hola"}}},
		{name: "whatsapp reply after a restart (window unknown) is free-form", channel: "whatsapp",
			reply:     bot.Reply{To: to, Lang: "es", Text: "Hola"},
			wantForms: []map[string]string{{"To": "whatsapp:" + to, "Body": "Hola", "ContentSid": ""}}},
		{name: "whatsapp proactive outside the window uses the template", channel: "whatsapp", cfg: func(c *Config) { c.WhatsAppTemplate = testTmpl },
			reply: bot.Reply{To: to, Lang: "es", Text: "Tu familiar\nte escribió", Proactive: true},
			wantForms: []map[string]string{{"To": "whatsapp:" + to, "From": testWA, "ContentSid": testTmpl, "Body": "",
				"ContentVariables": `{"1":"Tu familiar te escribió"}`}}},
		{name: "whatsapp proactive outside the window without a template goes by SMS", channel: "whatsapp", wantTakes: []string{"sms"},
			reply:     bot.Reply{To: to, Lang: "es", Text: "Tu familiar te escribió", Proactive: true},
			wantForms: []map[string]string{{"To": to, "From": testFrom, "Body": "Tu familiar te escribió", "ContentSid": ""}}},
		{name: "by SMS it waits for the SMS sender's budget, untried", channel: "whatsapp", smsWait: 2 * time.Second, wantTakes: []string{"sms"},
			reply: bot.Reply{To: to, Lang: "es", Text: "Hola", Proactive: true},
			wantErr: func(err error) bool {
				var th *bot.ErrThrottled
				return errors.As(err, &th) && th.RetryAfter == 2*time.Second && !th.Lane
			}},
		{name: "whatsapp proactive after a restart: the session says the window is open", channel: "whatsapp", session: time.Hour, cfg: func(c *Config) { c.WhatsAppTemplate = testTmpl },
			reply:     bot.Reply{To: to, Lang: "es", Text: "Hola", Proactive: true},
			wantForms: []map[string]string{{"To": "whatsapp:" + to, "Body": "Hola", "ContentSid": ""}}},
		{name: "whatsapp proactive after a restart: the session says the window closed", channel: "whatsapp", session: 25 * time.Hour, cfg: func(c *Config) { c.WhatsAppTemplate = testTmpl },
			reply:     bot.Reply{To: to, Lang: "es", Text: "Hola", Proactive: true},
			wantForms: []map[string]string{{"To": "whatsapp:" + to, "ContentSid": testTmpl, "Body": ""}}},
		{name: "whatsapp proactive inside the window is free-form", channel: "whatsapp", window: true, cfg: func(c *Config) { c.WhatsAppTemplate = testTmpl },
			reply:     bot.Reply{To: to, Lang: "es", Text: "Hola", Proactive: true},
			wantForms: []map[string]string{{"To": "whatsapp:" + to, "Body": "Hola", "ContentSid": ""}}},
		{name: "21610 unsubscribed is opted out with the provider", channel: "sms", reply: bot.Reply{To: to, Text: "x"},
			answers: []twiliotest.Answer{twiliotest.Unsubscribed}, wantForms: []map[string]string{{}},
			wantErr: func(err error) bool { return errors.Is(err, bot.ErrOptedOut) && errors.Is(err, bot.ErrUnreachable) }},
		{name: "21211 invalid number is unreachable", channel: "sms", reply: bot.Reply{To: to, Text: "x"},
			answers: []twiliotest.Answer{twiliotest.InvalidTo}, wantForms: []map[string]string{{}},
			wantErr: func(err error) bool { return errors.Is(err, bot.ErrUnreachable) && !errors.Is(err, bot.ErrOptedOut) }},
		{name: "20001 bad request is rejected", channel: "sms", reply: bot.Reply{To: to, Text: "x"},
			answers: []twiliotest.Answer{twiliotest.BadRequest}, wantForms: []map[string]string{{}},
			wantErr: func(err error) bool { return errors.Is(err, bot.ErrRejected) && !errors.Is(err, bot.ErrUnreachable) }},
		{name: "429 is throttled for Retry-After", channel: "sms", reply: bot.Reply{To: to, Text: "x"},
			answers: []twiliotest.Answer{twiliotest.TooManyRequests}, wantForms: []map[string]string{{}},
			wantErr: func(err error) bool {
				var th *bot.ErrThrottled
				return errors.As(err, &th) && th.RetryAfter == time.Second
			}},
		{name: "503 HTML page is transient", channel: "sms", reply: bot.Reply{To: to, Text: "x"},
			answers: []twiliotest.Answer{twiliotest.Unavailable}, wantForms: []map[string]string{{}},
			wantErr: transient},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := twiliotest.NewAPI(t, testSID, testToken)
			rec := newRecorder()
			rec.budgetWait = tt.smsWait
			a := newAdapter(t, rec, func(c *Config) {
				c.APIURL = api.URL
				if tt.cfg != nil {
					tt.cfg(c)
				}
			})
			if tt.window {
				a.window.Seen(rec.Person("whatsapp", to), a.now().Add(-time.Minute))
			}
			if tt.session > 0 {
				rec.lastInbound = map[string]time.Time{"whatsapp " + to: a.now().Add(-tt.session)}
			}
			for _, ans := range tt.answers {
				api.Answer(to, ans)
			}
			tt.reply.Channel = tt.channel
			err := channel(t, a, tt.channel).Send(context.Background(), tt.reply)
			switch {
			case tt.wantErr == nil && err != nil:
				t.Fatalf("Send: %v", err)
			case tt.wantErr != nil && !tt.wantErr(err):
				t.Fatalf("Send: got error %v, want another kind", err)
			}
			if err != nil && strings.Contains(err.Error(), "5551234567") {
				t.Errorf("error %q quotes the provider's text with a number", err)
			}
			if !slices.Equal(rec.takes, tt.wantTakes) {
				t.Errorf("drew from the budgets of %v, want %v", rec.takes, tt.wantTakes)
			}
			calls := api.Calls()
			if len(calls) != len(tt.wantForms) {
				t.Fatalf("calls: got %d, want %d: %+v", len(calls), len(tt.wantForms), calls)
			}
			var bodies []string
			for i, want := range tt.wantForms {
				for k, v := range want {
					if got := calls[i].Form.Get(k); got != v {
						t.Errorf("call %d %s: got %q, want %q", i, k, got, v)
					}
				}
				body := calls[i].Form.Get("Body")
				bodies = append(bodies, body)
				if calls[i].Form.Get("To") == to {
					if n, _ := locales.SMSSegments(body); n > 3 {
						t.Errorf("call %d: SMS body takes %d parts, want at most 3", i, n)
					}
				}
			}
			if len(bodies) > 1 {
				if got, want := strings.Join(strings.Fields(strings.Join(bodies, " ")), " "), strings.Join(strings.Fields(tt.reply.Text), " "); got != want {
					t.Errorf("split parts do not add up to the text:\n got %q\nwant %q", got, want)
				}
			}
		})
	}
}

func transient(err error) bool {
	var th *bot.ErrThrottled
	return err != nil && !errors.Is(err, bot.ErrUnreachable) && !errors.Is(err, bot.ErrRejected) && !errors.As(err, &th)
}

func channel(t *testing.T, a *Adapter, name string) bot.Channel {
	t.Helper()
	for _, ch := range a.Channels() {
		if ch.Name() == name {
			return ch
		}
	}
	t.Fatalf("no %s channel", name)
	return nil
}

func TestSendNetworkErrorIsTransient(t *testing.T) {
	api := twiliotest.NewAPI(t, testSID, testToken)
	url := api.URL
	a := newAdapter(t, newRecorder(), func(c *Config) { c.APIURL = url; c.Timeout = 2 * time.Second })
	api.Close()
	if err := channel(t, a, "sms").Send(context.Background(), bot.Reply{To: to, Text: "x"}); !transient(err) {
		t.Errorf("got %v, want a transient error", err)
	}
}

// TestSendNeverWaitsForTheRate: at a rate of one message in 1000s every send
// goes at once (the pipeline paces by the sender's shared budget), and the
// channel names its lane by its sender.
func TestSendNeverWaitsForTheRate(t *testing.T) {
	api := twiliotest.NewAPI(t, testSID, testToken)
	clk := faketime.New()
	a := newAdapter(t, newRecorder(), func(c *Config) { c.APIURL = api.URL; c.Rate = 0.001; c.Clock = clk.Now })
	ch := channel(t, a, "sms")
	for range 5 {
		if err := ch.Send(context.Background(), bot.Reply{To: to, Text: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(api.Calls()); n != 5 {
		t.Errorf("%d calls, want 5", n)
	}
	pc := ch.(bot.Paced)
	if p := pc.Pace(); p.Rate != 0.001 || p.Burst != 1 || !strings.HasPrefix(p.Lane, "sms-") || p.PerRecipient != 0 {
		t.Errorf("Pace: %+v, want the SMS sender's lane at 0.001/s", p)
	}
	if !store.ValidName(pc.Pace().Lane) {
		t.Errorf("lane %q is not a valid store name", pc.Pace().Lane)
	}
}

// TestPaceBurst: a sender's budget holds a tenth of a second of its rate,
// at least one message, so a worker a moment late loses none of it; at 10 a
// second or less messages go one at a time.
func TestPaceBurst(t *testing.T) {
	for _, tc := range []struct{ rate, burst float64 }{
		{0.001, 1}, {1, 1}, {10, 1}, {19, 1}, {30, 3}, {200, 20}, {1000, 100},
	} {
		a := newAdapter(t, newRecorder(), func(c *Config) { c.Rate = tc.rate })
		if p := channel(t, a, "sms").(bot.Paced).Pace(); p.Rate != tc.rate || p.Burst != tc.burst {
			t.Errorf("rate %v: Pace %+v, want burst %v", tc.rate, p, tc.burst)
		}
	}
}

// TestThrottledHoldsTheLane: a 429 holds the whole sender, not one recipient.
func TestThrottledHoldsTheLane(t *testing.T) {
	var th *bot.ErrThrottled
	if err := classify(errors.New("x"), http.StatusTooManyRequests, 3*time.Second); !errors.As(err, &th) || !th.Lane || th.RetryAfter != 3*time.Second {
		t.Errorf("429: got %v, want throttled for 3s on the lane", err)
	}
}

func TestTemplateText(t *testing.T) {
	got := templateText("Hola\n1. Uno\t2.    Dos")
	if want := "Hola 1. Uno 2. Dos"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if n := len([]rune(templateText(strings.Repeat("á", 2000)))); n != 1024 {
		t.Errorf("long text: got %d characters, want 1024", n)
	}
}
