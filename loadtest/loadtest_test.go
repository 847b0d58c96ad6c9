package loadtest

import (
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	tgadapter "github.com/enlace-rfl/enlace/bot/telegram"
)

// TestTallyCounts: what the stand-ins receive is matched text for text to
// each person's expected replies; a missing one is lost, a second copy
// doubled (across a kill when its first copy came before the kill and it
// after), a reply before an earlier one out of order.
func TestTallyCounts(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	learned := [][]string{{"lang?"}, {"consent text", "agree?"}, {"menu"}, {"town?"}, {"unknown " + token(0, setup), "town?"}}
	type got struct {
		text string
		at   int
	}
	for _, tc := range []struct {
		name                                                       string
		msgs                                                       int
		got                                                        []got
		kill                                                       int // seconds after t0; 0: none
		lost, unanswered, doubled, acrossKill, outOfOrder, unmatch int
	}{
		{name: "all once, in order", msgs: 6, got: []got{{"lang?", 1}, {"consent text", 2}, {"agree?", 2}, {"menu", 3}, {"town?", 4},
			{"unknown " + token(7, 4), 5}, {"town?", 5}, {"unknown " + token(7, 5), 6}, {"town?", 6}}},
		{name: "a part missing", msgs: 3, got: []got{{"lang?", 1}, {"agree?", 2}, {"menu", 3}}, lost: 1, unanswered: 1},
		{name: "a message never answered", msgs: 5, got: []got{{"lang?", 1}, {"consent text", 2}, {"agree?", 2}, {"menu", 3}, {"town?", 4}},
			lost: 2, unanswered: 1},
		{name: "a copy", msgs: 3, got: []got{{"lang?", 1}, {"lang?", 2}, {"consent text", 2}, {"agree?", 2}, {"menu", 3}}, doubled: 1},
		{name: "a copy across a kill", msgs: 3, kill: 3, got: []got{{"lang?", 1}, {"consent text", 2}, {"agree?", 2}, {"agree?", 4}, {"menu", 5}},
			doubled: 1, acrossKill: 1},
		{name: "a copy of a repeated text is one copy", msgs: 6, got: []got{{"lang?", 1}, {"consent text", 2}, {"agree?", 2}, {"menu", 3}, {"town?", 4},
			{"unknown " + token(7, 4), 5}, {"town?", 5}, {"unknown " + token(7, 5), 6}, {"town?", 6}, {"town?", 7}}, doubled: 1},
		{name: "a copy of a text that comes again later is a copy, not the later one early", msgs: 6, kill: 5,
			got: []got{{"lang?", 1}, {"consent text", 2}, {"agree?", 2}, {"menu", 3}, {"town?", 4}, {"town?", 6},
				{"unknown " + token(7, 4), 6}, {"town?", 6}, {"unknown " + token(7, 5), 7}, {"town?", 7}}, doubled: 1, acrossKill: 1},
		{name: "out of order", msgs: 3, got: []got{{"lang?", 1}, {"menu", 2}, {"consent text", 3}, {"agree?", 3}}, outOfOrder: 2},
		{name: "another person's token is unmatched", msgs: 5, got: []got{{"lang?", 1}, {"consent text", 2}, {"agree?", 2}, {"menu", 3}, {"town?", 4},
			{"unknown " + token(8, 4), 5}}, lost: 2, unanswered: 1, unmatch: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &person{index: 7, channel: sms, address: "+525510000007"}
			p.script = make([]message, tc.msgs)
			tl := newTally([]*person{p}, [][]part{expect(p, learned)})
			for _, g := range tc.got {
				tl.add(p.address, g.text, at(g.at))
			}
			tl.add("+525510000999", "lang?", at(1))
			accepted := [][]bool{slices.Repeat([]bool{true}, tc.msgs)}
			var kills []time.Time
			if tc.kill > 0 {
				kills = append(kills, at(tc.kill))
			}
			c := tl.count(accepted, kills, t0)
			if c.lost != tc.lost || c.unanswered != tc.unanswered || c.doubled != tc.doubled || c.acrossKill != tc.acrossKill ||
				tl.outOfOrder != tc.outOfOrder || tl.unmatched != tc.unmatch || tl.strangers != 1 {
				t.Errorf("lost %d, unanswered %d, doubled %d (across kill %d), out of order %d, unmatched %d, strangers %d; want %d, %d, %d (%d), %d, %d, 1",
					c.lost, c.unanswered, c.doubled, c.acrossKill, tl.outOfOrder, tl.unmatched, tl.strangers,
					tc.lost, tc.unanswered, tc.doubled, tc.acrossKill, tc.outOfOrder, tc.unmatch)
			}
			marked := 0
			for _, cp := range c.copies {
				if cp.AcrossKill {
					marked++
				}
			}
			if marked != c.acrossKill {
				t.Errorf("%d copies marked across a kill, want %d", marked, c.acrossKill)
			}
			if c.replied+c.lost != c.expected {
				t.Errorf("replied %d + lost %d != expected %d", c.replied, c.lost, c.expected)
			}
		})
	}
}

// TestChannelsSpread: the shares of people per channel are kept, and
// spread over the run rather than bunched.
func TestChannelsSpread(t *testing.T) {
	for _, tc := range []struct {
		n      int
		tg, wa float64
		want   map[string]int
	}{
		{300, 0.1, 0, map[string]int{telegram: 30, sms: 270}},
		{20, 0.25, 0.25, map[string]int{telegram: 5, whatsapp: 5, sms: 10}},
		{7, 1, 0, map[string]int{telegram: 7}},
		{5000, 0.05, 0.1, map[string]int{telegram: 250, whatsapp: 500, sms: 4250}},
	} {
		got := map[string]int{}
		firstTG := -1
		for i := range tc.n {
			ch := channelOf(i, tc.n, tc.tg, tc.wa)
			got[ch]++
			if ch == telegram && firstTG < 0 {
				firstTG = i
			}
		}
		if !maps.Equal(got, tc.want) {
			t.Errorf("%d people, telegram %g, whatsapp %g: got %v, want %v", tc.n, tc.tg, tc.wa, got, tc.want)
		}
		if tc.tg > 0 && tc.tg < 1 && firstTG >= int(2/tc.tg) {
			t.Errorf("%d people: the first on Telegram is number %d: bunched at the end", tc.n, firstTG)
		}
	}
}

// TestPayloadsHaveTheProvidersShape: what the load generator posts parses as
// the adapter reads it, and keeps every field of the real payload it was
// made from.
func TestPayloadsHaveTheProvidersShape(t *testing.T) {
	d := ids{run: 123, nsid: 0xabcdef01}
	people := makePeople(Config{People: 3, Messages: 18, Telegram: 0.34, WhatsApp: 0.34}, d)
	chans := map[string]*person{}
	for _, p := range people {
		chans[p.channel] = p
	}
	tg := chans[telegram]
	for k, m := range tg.script {
		u, err := tgadapter.ParseUpdate(telegramUpdate(tg, m, time.Unix(1_800_000_000, 0)))
		if err != nil {
			t.Fatalf("message %d: %v", k, err)
		}
		if u.ID != m.update {
			t.Errorf("message %d: update_id %d, want %d", k, u.ID, m.update)
		}
		switch {
		case m.choice != "":
			if u.CallbackQuery == nil || u.CallbackQuery.Data != m.choice || u.CallbackQuery.Message.Message == nil ||
				u.CallbackQuery.Message.Message.Chat.ID != tg.chat || u.CallbackQuery.From.LanguageCode != "es" {
				t.Errorf("message %d: got %+v, want a press of %q in chat %d", k, u.CallbackQuery, m.choice, tg.chat)
			}
		default:
			if u.Message == nil || u.Message.Text != m.text || u.Message.Chat.ID != tg.chat || u.Message.Chat.Type != "private" {
				t.Errorf("message %d: got %+v, want %q in private chat %d", k, u.Message, m.text, tg.chat)
			}
		}
	}
	var fixture map[string]any
	template("telegram_text.json", &fixture)
	var made map[string]any
	json.Unmarshal(telegramUpdate(tg, tg.script[0], time.Now()), &made)
	for _, part := range []string{"message"} {
		for k := range fixture[part].(map[string]any) {
			if _, ok := made[part].(map[string]any)[k]; !ok {
				t.Errorf("Telegram text update lacks the fixture's %s.%s", part, k)
			}
		}
	}

	for _, ch := range []string{sms, whatsapp} {
		p := chans[ch]
		var sample map[string]string
		template(map[string]string{sms: "twilio_sms.json", whatsapp: "twilio_whatsapp.json"}[ch], &sample)
		form := twilioForm(p, p.script[4], "+15005550006", "AC0123456789abcdef0123456789abcdef")
		if got, want := slices.Sorted(maps.Keys(form)), slices.Sorted(maps.Keys(sample)); !slices.Equal(got, want) {
			t.Errorf("%s form fields: got %v, want the sample's %v", ch, got, want)
		}
		if form.Get("From") != p.address || form.Get("Body") != token(p.index, 4) || form.Get("MessageSid") != p.script[4].sid {
			t.Errorf("%s form: %v", ch, form)
		}
	}
	seen := map[string]bool{}
	for _, p := range people {
		for _, m := range p.script {
			key := m.sid + "/" + strconv.FormatInt(m.update, 10)
			if seen[key] {
				t.Errorf("message id %s given twice", key)
			}
			seen[key] = true
		}
	}
}

// TestCheck: a wrong setting is named with what it should be.
func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		change func(*Config)
		want   string
	}{
		{func(c *Config) { c.People = 0 }, "-people"},
		{func(c *Config) { c.People = 200_000; c.Messages = 300_000 }, "-people"},
		{func(c *Config) { c.Messages = 99 }, "at least one per person"},
		{func(c *Config) { c.People = 1; c.Messages = 5000 }, "fewer than 1000 per person"},
		{func(c *Config) { c.Concurrency = 0 }, "-concurrency"},
		{func(c *Config) { c.TwilioRate = 0 }, "-twilio-rate"},
		{func(c *Config) { c.WhatsApp = 2 }, "-whatsapp"},
		{func(c *Config) { c.Serves = 0 }, "-serves"},
		{func(c *Config) { c.Wait = 0 }, "-wait"},
		{func(c *Config) { c.Linger = -time.Second }, "-linger"},
	} {
		c := Defaults()
		tc.change(&c)
		if err := c.Check(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("got %v, want an error naming %q", err, tc.want)
		}
	}
	if err := Defaults().Check(); err != nil {
		t.Errorf("defaults: %v", err)
	}
}
