package loadtest

import (
	"embed"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"time"
)

//go:embed payloads/*.json
var payloads embed.FS

// template reads one payload template.
func template(name string, into any) {
	b, err := payloads.ReadFile("payloads/" + name)
	if err != nil {
		panic("loadtest: " + err.Error())
	}
	if err := json.Unmarshal(b, into); err != nil {
		panic("loadtest: payloads/" + name + ": " + err.Error())
	}
}

// The channels people write on.
const (
	sms      = "sms"
	whatsapp = "whatsapp"
	telegram = "telegram"
)

// setup is how many messages of a script come before the towns: the first
// message, the language, consent and the finder.
const setup = 4

// message is one message a person sends.
type message struct {
	person, index int
	text          string // typed text; empty for a button press
	choice        string // the pressed button's callback data (Telegram)
	update        int64  // Telegram's update_id
	sid           string // Twilio's MessageSid
}

// person is one simulated person.
type person struct {
	index   int
	channel string
	address string // where replies go, as the stand-in sees it: "+52…", "whatsapp:+52…", a chat id
	chat    int64  // Telegram's chat id
	script  []message
	next    int // the next message to post
}

// token is the unknown town of a person's message: the reply repeats it.
// Every token has the same length, so every person's replies are as long as
// those learned from the pilot (a length can decide whether two replies go
// as one SMS).
func token(person, index int) string { return fmt.Sprintf("qx%05dn%03d", person, index) }

// Limits of token's widths.
const (
	maxPeople    = 100_000
	maxPerPerson = 1000
)

// ids makes the numbers, chat ids and message ids of one run: a run number
// in every one of them, so that runs on the same Redis never meet.
type ids struct {
	run  int // 100..999
	nsid uint32
}

// number is person i's phone number: a Mexico City number (so Spanish is
// the first guess), +52 55 RRR PPPPP.
func (d ids) number(i int) string { return fmt.Sprintf("+5255%03d%05d", d.run, i%100000) }

func (d ids) chat(i int) int64 { return int64(d.run)*10_000_000 + int64(i) + 1 }

func (d ids) update(n int64) int64 { return int64(d.run)*1_000_000_000_000 + n }

func (d ids) sid(n int64) string { return fmt.Sprintf("SM%08x%024x", d.nsid, n) }

// channelOf spreads people over the channels: telegram of every n people are
// on Telegram, evenly, then whatsapp of the rest on WhatsApp.
func channelOf(i, n int, tgShare, waShare float64) string {
	spread := func(i, n, k int) bool { return k > 0 && (i+1)*k/n != i*k/n }
	tg := int(tgShare*float64(n) + 0.5)
	if spread(i, n, tg) {
		return telegram
	}
	rest := n - tg
	wa := min(rest, int(waShare*float64(n)+0.5))
	j := i - (i+1)*tg/n // this person's place among those not on Telegram
	if spread(j, rest, wa) {
		return whatsapp
	}
	return sms
}

// people makes the simulated people and their scripts: messages in all,
// spread as evenly as they go.
func makePeople(cfg Config, d ids) []*person {
	out := make([]*person, cfg.People)
	var seq int64
	for i := range out {
		p := &person{index: i, channel: channelOf(i, cfg.People, cfg.Telegram, cfg.WhatsApp)}
		switch p.channel {
		case telegram:
			p.chat = d.chat(i)
			p.address = strconv.FormatInt(p.chat, 10)
		case whatsapp:
			p.address = "whatsapp:" + d.number(i)
		default:
			p.address = d.number(i)
		}
		n := cfg.Messages / cfg.People
		if i < cfg.Messages%cfg.People {
			n++
		}
		for k := range n {
			seq++
			m := message{person: i, index: k, update: d.update(seq), sid: d.sid(seq)}
			switch {
			case k >= setup:
				m.text = token(i, k)
			case p.channel == telegram:
				m.choice = [setup]string{"", "lang.es", "consent.accept", "menu.shelters"}[k]
				if k == 0 {
					m.text = "/start"
				}
			default:
				m.text = [setup]string{"hola", "1", "1", "1"}[k]
			}
			p.script = append(p.script, m)
		}
		out[i] = p
	}
	return out
}

// twilioForm is the inbound webhook of an SMS or WhatsApp message, in the
// shape of Twilio's samples.
func twilioForm(p *person, m message, to, accountSID string) url.Values {
	name := "twilio_sms.json"
	if p.channel == whatsapp {
		name = "twilio_whatsapp.json"
	}
	var params map[string]string
	template(name, &params)
	params["MessageSid"], params["SmsMessageSid"], params["SmsSid"] = m.sid, m.sid, m.sid
	params["AccountSid"] = accountSID
	params["From"], params["To"], params["Body"] = p.address, to, m.text
	if p.channel == whatsapp {
		params["WaId"] = p.address[len("whatsapp:+"):]
		params["ProfileName"] = fmt.Sprintf("Persona %d", p.index)
	} else {
		params["FromCountry"] = "MX"
	}
	form := url.Values{}
	for k, v := range params {
		form.Set(k, v)
	}
	return form
}

// telegramUpdate is the Update of a Telegram message: a private text message
// or a button press, in the shape of the fixtures.
func telegramUpdate(p *person, m message, now time.Time) []byte {
	var u map[string]any
	from := map[string]any{"id": p.chat, "is_bot": false, "first_name": fmt.Sprintf("Persona %d", p.index), "language_code": "es"}
	chat := map[string]any{"id": p.chat, "first_name": from["first_name"], "type": "private"}
	if m.choice == "" {
		template("telegram_text.json", &u)
		msg := u["message"].(map[string]any)
		msg["message_id"], msg["from"], msg["chat"], msg["date"], msg["text"] = m.update%1_000_000_000, from, chat, now.Unix(), m.text
	} else {
		template("telegram_callback.json", &u)
		q := u["callback_query"].(map[string]any)
		q["id"], q["from"], q["data"] = strconv.FormatInt(m.update, 10), from, m.choice
		q["chat_instance"] = strconv.FormatInt(p.chat, 10)
		msg := q["message"].(map[string]any)
		msg["chat"] = chat
		delete(msg, "reply_markup") // the keyboard was the bot's; the press carries its data
		delete(msg, "entities")
	}
	u["update_id"] = m.update
	b, err := json.Marshal(u)
	if err != nil {
		panic("loadtest: " + err.Error())
	}
	return b
}
