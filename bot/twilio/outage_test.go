package twilio

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/enlace-rfl/enlace/bot"
	"github.com/enlace-rfl/enlace/bot/faketime"
	"github.com/enlace-rfl/enlace/bot/twilio/twiliotest"
	"github.com/enlace-rfl/enlace/flows"
	"github.com/enlace-rfl/enlace/keyring"
	"github.com/enlace-rfl/enlace/store/embedded"
	redisstore "github.com/enlace-rfl/enlace/store/redis"
	"github.com/enlace-rfl/enlace/store/redis/redistest"
)

// TestFourMinuteOutageLosesNothing: Twilio answers 503 for four minutes (of
// a fake clock) while people write, then recovers. Every reply reaches its
// phone exactly once, nothing is left in dead letters, and nobody replays
// anything by hand: with the default retry time the replies outlast the
// outage; with a retry time shorter than the outage they go to dead letters
// and come back by themselves once SMS delivers again.
func TestFourMinuteOutageLosesNothing(t *testing.T) {
	srv := redistest.Start(t)
	stores := map[string]func(t *testing.T) bot.Store{
		"embedded": func(t *testing.T) bot.Store {
			st, err := embedded.Open(filepath.Join(t.TempDir(), "enlace.db"), embedded.Options{})
			if err != nil {
				t.Fatal(err)
			}
			return st
		},
		"redis": func(t *testing.T) bot.Store {
			st, err := redisstore.Open(context.Background(), srv.URL, redisstore.Options{Prefix: srv.NewPrefix()})
			if err != nil {
				t.Fatal(err)
			}
			return st
		},
	}
	retries := []struct {
		name     string
		retryFor time.Duration
		wantDead bool // some replies die during the outage (and are replayed)
	}{
		{"default retry time", 0, false},
		{"retry time shorter than the outage", time.Minute, true},
	}
	const outage = 4 * time.Minute
	// Who writes when, from the start of the outage; the last writes after it.
	writes := []struct {
		from string
		at   time.Duration
	}{
		{"+525512340001", 0}, {"+525512340002", 70 * time.Second}, {"+525512340003", 200 * time.Second},
		{"+525512340004", outage + time.Minute},
	}
	for name, open := range stores {
		for _, rt := range retries {
			t.Run(name+"/"+rt.name, func(t *testing.T) {
				ctx := context.Background()
				st := open(t)
				defer st.Close()
				clk := faketime.New()
				start := clk.Now()
				api := twiliotest.NewAPI(t, testSID, testToken)
				api.FailWhile(func() bool { return clk.Now().Before(start.Add(outage)) }, twiliotest.Unavailable)
				keys, err := keyring.Parse("t1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")
				if err != nil {
					t.Fatal(err)
				}
				cat := catalog(t)
				p := bot.New(bot.Options{
					Config: bot.Config{RetryFor: rt.retryFor}, Store: st, Keys: keys,
					Engine: flows.New(flows.Config{}, cat), Catalog: cat, Clock: clk.Now,
				})
				a := newAdapter(t, p, func(c *Config) { c.APIURL, c.Clock, c.Sleep = api.URL, clk.Now, clk.Sleep })
				for _, ch := range a.Channels() {
					p.AddChannel(ch)
				}
				died := false
				next := 0
				for clk.Now().Before(start.Add(30 * time.Minute)) {
					for next < len(writes) && !clk.Now().Before(start.Add(writes[next].at)) {
						m := bot.Message{Channel: "sms", ID: fmt.Sprintf("SM%032d", next), From: writes[next].from,
							Input: flows.Input{Kind: flows.InputText, Text: "hola"}}
						if _, err := p.Accept(ctx, m); err != nil {
							t.Fatal(err)
						}
						next++
					}
					if err := p.Drain(ctx); err != nil {
						t.Fatal(err)
					}
					if n, err := st.CountDeadLetters(ctx); err != nil {
						t.Fatal(err)
					} else if n > 0 {
						died = true
					}
					clk.Advance(5 * time.Second)
				}
				if died != rt.wantDead {
					t.Errorf("replies died during the outage: %v, want %v", died, rt.wantDead)
				}
				if letters, err := p.DeadLetters(ctx, 10); err != nil || len(letters) != 0 {
					t.Errorf("dead letters after the outage: %+v, %v; want none", letters, err)
				}
				for _, w := range writes {
					calls := api.CallsTo(w.from)
					delivered, tried := map[string]int{}, map[string]bool{}
					failed := 0
					for _, c := range calls {
						tried[c.Form.Get("Body")] = true
						if c.Status == 201 {
							delivered[c.Form.Get("Body")]++
						} else {
							failed++
						}
					}
					if len(delivered) == 0 {
						t.Errorf("%s: nothing delivered (%d calls)", w.from, len(calls))
					}
					for body := range tried {
						if delivered[body] != 1 {
							t.Errorf("%s: %q delivered %d times, want once", w.from, body, delivered[body])
						}
					}
					if inOutage := w.at < outage; inOutage != (failed > 0) {
						t.Errorf("%s wrote at %s: %d failed calls; the outage should have hit exactly those who wrote during it", w.from, w.at, failed)
					}
				}
			})
		}
	}
}
