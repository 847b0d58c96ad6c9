package twilio

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/enlace-rfl/enlace/bot"
	"github.com/enlace-rfl/enlace/bot/faketime"
	"github.com/enlace-rfl/enlace/bot/twilio/twiliotest"
)

// TestSendUnsure: a reply whose earlier attempt may have reached Twilio
// (Reply.Unsure) is looked up in the Messages list first, and only the parts
// that are not the newest messages to the person since then are sent; a
// lookup that fails sends nothing.
func TestSendUnsure(t *testing.T) {
	long := strings.TrimSpace(strings.Repeat("Él está aquí y allá. ", 25)) // three parts
	hola := bot.Reply{Channel: "sms", To: to, Lang: "es", Text: "Hola, ya estás registrado."}
	tests := []struct {
		name    string
		cfg     func(*Config)
		earlier []bot.Reply // sent before, plainly, at the unsure time
		prepare func(api *twiliotest.API)
		after   time.Duration // the unsure time is this long after the earlier sends
		cut     bool          // reply was sent before but for its parts after the first
		reply   bot.Reply
		// wantCalls is how many messages the unsure send creates; wantLookups
		// how many list reads it makes.
		wantCalls, wantLookups int
		wantErr                bool
	}{
		{name: "already sent: not sent again", earlier: []bot.Reply{hola}, reply: hola, wantCalls: 0, wantLookups: 1},
		{name: "not there: sent", reply: hola, wantCalls: 1, wantLookups: 1},
		{name: "the same text before the unsure time: sent", earlier: []bot.Reply{hola}, after: 2 * time.Second,
			reply: hola, wantCalls: 1, wantLookups: 1},
		{name: "another text: sent", earlier: []bot.Reply{{Channel: "sms", To: to, Lang: "es", Text: "Adiós."}},
			reply: hola, wantCalls: 1, wantLookups: 1},
		{name: "to someone else: sent", earlier: []bot.Reply{{Channel: "sms", To: "+525598765432", Lang: "es", Text: hola.Text}},
			reply: hola, wantCalls: 1, wantLookups: 1},
		{name: "failed at Twilio: sent again", earlier: []bot.Reply{hola},
			prepare: func(api *twiliotest.API) { api.SetStatus(api.Calls()[0].Sid, "failed") },
			reply:   hola, wantCalls: 1, wantLookups: 1},
		{name: "delivered at Twilio: not sent again", earlier: []bot.Reply{hola},
			prepare: func(api *twiliotest.API) { api.SetStatus(api.Calls()[0].Sid, "delivered") },
			reply:   hola, wantCalls: 0, wantLookups: 1},
		{name: "a long text cut after its first part: the rest goes", cut: true,
			reply: bot.Reply{Channel: "sms", To: to, Lang: "es", Text: long}, wantCalls: 2, wantLookups: 1},
		{name: "the same text, then another after it: not the head's, so sent",
			earlier: []bot.Reply{hola, {Channel: "sms", To: to, Lang: "es", Text: "Adiós."}}, reply: hola, wantCalls: 1, wantLookups: 1},
		{name: "from a Messaging Service", cfg: func(c *Config) { c.From, c.MessagingServiceSID = "", testMG },
			earlier: []bot.Reply{hola}, reply: hola, wantCalls: 0, wantLookups: 1},
		{name: "whatsapp", earlier: []bot.Reply{{Channel: "whatsapp", To: to, Lang: "es", Text: hola.Text}},
			reply: bot.Reply{Channel: "whatsapp", To: to, Lang: "es", Text: hola.Text}, wantCalls: 0, wantLookups: 1},
		{name: "the list cannot be read: nothing is sent", earlier: []bot.Reply{hola},
			prepare: func(api *twiliotest.API) { api.FailWhile(func() bool { return true }, twiliotest.Unavailable) },
			reply:   hola, wantCalls: 0, wantLookups: 1, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := twiliotest.NewAPI(t, testSID, testToken)
			clk := faketime.New()
			api.SetClock(clk.Now)
			rec := newRecorder()
			a := newAdapter(t, rec, func(c *Config) {
				c.APIURL = api.URL
				c.Clock = clk.Now
				if tt.cfg != nil {
					tt.cfg(c)
				}
			})
			a.window.Seen(rec.Person("whatsapp", to), clk.Now())
			ctx := context.Background()
			unsure := clk.Now().Add(tt.after)
			for _, r := range tt.earlier {
				if err := channel(t, a, r.Channel).Send(ctx, r); err != nil {
					t.Fatalf("earlier send: %v", err)
				}
			}
			if tt.cut {
				n := 0
				api.FailWhile(func() bool { n++; return n > 1 }, twiliotest.Unavailable)
				if err := channel(t, a, tt.reply.Channel).Send(ctx, tt.reply); !transient(err) {
					t.Fatalf("earlier send: got %v, want its second part to fail", err)
				}
				api.FailWhile(nil, twiliotest.Answer{})
			}
			if tt.prepare != nil {
				tt.prepare(api)
			}
			clk.Advance(tt.after + 300*time.Millisecond)
			calls, lookups := len(api.Calls()), api.Lookups()
			r := tt.reply
			r.Unsure = unsure
			err := channel(t, a, r.Channel).Send(ctx, r)
			if tt.wantErr != (err != nil) {
				t.Fatalf("Send: %v, want an error: %v", err, tt.wantErr)
			}
			if tt.wantErr && !transient(err) {
				t.Errorf("Send: %v, want a transient error (the reply waits)", err)
			}
			if got := len(api.Calls()) - calls; got != tt.wantCalls {
				t.Errorf("created %d messages, want %d", got, tt.wantCalls)
			}
			if got := api.Lookups() - lookups; got != tt.wantLookups {
				t.Errorf("read the list %d times, want %d", got, tt.wantLookups)
			}
		})
	}
}

// TestSendNotUnsureLooksNothingUp: a reply with no doubt about it is sent
// without a list read, even when the same text went before.
func TestSendNotUnsureLooksNothingUp(t *testing.T) {
	api := twiliotest.NewAPI(t, testSID, testToken)
	a := newAdapter(t, newRecorder(), func(c *Config) { c.APIURL = api.URL })
	r := bot.Reply{Channel: "sms", To: to, Lang: "es", Text: "Hola"}
	for range 2 {
		if err := channel(t, a, "sms").Send(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	if n, l := len(api.Calls()), api.Lookups(); n != 2 || l != 0 {
		t.Errorf("%d messages created and %d list reads, want 2 and 0", n, l)
	}
}

// TestThrottleAfterAPartIsPartial: a 429 for a later part of a long text
// says parts went (bot.ErrThrottled.Partial), so the retry looks them up; a
// 429 for the first part says nothing went.
func TestThrottleAfterAPartIsPartial(t *testing.T) {
	long := strings.TrimSpace(strings.Repeat("Él está aquí y allá. ", 25)) // three parts
	for _, tc := range []struct {
		name        string
		okFirst     int // parts created before the 429
		wantPartial bool
	}{
		{"at the first part", 0, false},
		{"at the second part", 1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			api := twiliotest.NewAPI(t, testSID, testToken)
			n := 0
			api.FailWhile(func() bool { n++; return n > tc.okFirst }, twiliotest.TooManyRequests)
			a := newAdapter(t, newRecorder(), func(c *Config) { c.APIURL = api.URL })
			err := channel(t, a, "sms").Send(context.Background(), bot.Reply{Channel: "sms", To: to, Lang: "es", Text: long})
			var th *bot.ErrThrottled
			if !errors.As(err, &th) || th.Partial != tc.wantPartial || !th.Lane {
				t.Fatalf("Send: %v (%+v), want a throttle of the lane, partial %v", err, th, tc.wantPartial)
			}
		})
	}
}
