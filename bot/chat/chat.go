// Package chat is the terminal simulator's channel: it reads one message per
// line from the simulated person and prints what the bot sends, rendered as
// Telegram (buttons), SMS or WhatsApp (numbered options) would show it, either
// for people or as JSON lines for scripts. Everything goes through the real
// pipeline and store.
package chat

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"

	"github.com/enlace-rfl/enlace/bot"
	"github.com/enlace-rfl/enlace/bot/phone"
	"github.com/enlace-rfl/enlace/flows"
)

// Channel prints replies for one simulated channel and turns typed lines into
// inbound messages.
type Channel struct {
	name string
	*screen
}

// screen is what the simulated channels share: where they print, the phone
// channels' layer, and the choices each address was shown last.
type screen struct {
	json  bool
	phone *phone.Layer // SMS and WhatsApp render as bot/twilio sends them

	mu   sync.Mutex
	out  io.Writer
	last map[string][]bot.ReplyChoice // the choices last shown to each address
}

// Names are the channels the simulator can stand in for.
var Names = []string{"telegram", "sms", "whatsapp"}

// New returns a simulator channel named "telegram", "sms" or "whatsapp" that
// writes to out, as JSON lines when asJSON is set. SMS and WhatsApp replies
// are written by layer exactly as the Twilio adapter sends them (numbered
// choices, the location hint, GSM-7 when enabled, split into messages).
func New(name string, out io.Writer, asJSON bool, layer *phone.Layer) (*Channel, error) {
	c := &Channel{screen: &screen{json: asJSON, phone: layer, out: out, last: map[string][]bot.ReplyChoice{}}}
	return c.As(name)
}

// As returns the same simulator under another channel's name, printing to the
// same place: the simulated person writes on one channel, and messages to their
// contacts (SMS) are printed with their own channel and address.
func (c *Channel) As(name string) (*Channel, error) {
	switch name {
	case "telegram", "sms", "whatsapp":
	default:
		return nil, fmt.Errorf("chat: unknown channel %q (want telegram, sms or whatsapp)", name)
	}
	return &Channel{name: name, screen: c.screen}, nil
}

// Name is the simulated channel's name.
func (c *Channel) Name() string { return c.name }

// Printed is one reply as --json prints it.
type Printed struct {
	Channel string   `json:"channel"`
	To      string   `json:"to"`
	Text    string   `json:"text"`
	Choices []string `json:"choices"`
	Request string   `json:"request,omitempty"`
	Lang    string   `json:"lang"`
	// Venue is the map pin Telegram sends after a place (telegram only).
	Venue *flows.Venue `json:"venue,omitempty"`
}

// Send prints one reply: on SMS and WhatsApp, each message the phone gets.
func (c *Channel) Send(ctx context.Context, r bot.Reply) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(r.Choices) > 0 {
		c.last[r.To] = r.Choices
	}
	texts := []string{bot.RenderText(c.name, r)}
	if c.name != "telegram" && c.phone != nil {
		texts = c.phone.Texts(c.name, r)
	}
	for _, text := range texts {
		if err := c.print(r, text); err != nil {
			return err
		}
	}
	return nil
}

// print prints one message of a reply.
func (c *Channel) print(r bot.Reply, text string) error {
	p := Printed{Channel: c.name, To: r.Destination(), Text: text, Choices: []string{}, Request: string(r.Request), Lang: r.Lang}
	if c.name == "telegram" {
		p.Venue = r.Venue
	}
	for _, ch := range r.Choices {
		p.Choices = append(p.Choices, ch.Label)
	}
	if c.json {
		b, err := json.Marshal(p)
		if err != nil {
			return fmt.Errorf("chat: encoding reply: %w", err)
		}
		_, err = fmt.Fprintf(c.out, "%s\n", b)
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "── to %s ──\n%s\n", p.To, p.Text)
	if c.name == "telegram" {
		for _, l := range p.Choices {
			fmt.Fprintf(&b, "  [ %s ]\n", l)
		}
		switch r.Request {
		case flows.RequestLocation:
			b.WriteString("  [ 📍 share location ]  (type /location LAT LON)\n")
		case flows.RequestContact:
			b.WriteString("  [ 📱 share contact ]  (type /contact PHONE)\n")
		}
		if v := r.Venue; v != nil {
			fmt.Fprintf(&b, "  📍 %s, %s (%.5f, %.5f)\n", v.Title, v.Address, v.Lat, v.Lon)
		}
	}
	_, err := io.WriteString(c.out, b.String())
	return err
}

// Parse turns a typed line into the input the channel would deliver. On
// Telegram a line equal to a choice's label or number shown last to from picks
// it as a button would; SMS and WhatsApp have no buttons, so there the line
// reaches Enlace as the text a phone sends, and the engine reads numbers and
// labels itself. "/location LAT LON" (Telegram, WhatsApp), "/contact PHONE"
// (Telegram), "/photo" simulate a shared pin, a shared contact and media;
// other "/commands" are Telegram commands.
func (c *Channel) Parse(from, line string) flows.Input {
	line = strings.TrimSpace(line)
	if c.name == "telegram" {
		c.mu.Lock()
		choices := c.last[from]
		c.mu.Unlock()
		for i, ch := range choices {
			if line == strconv.Itoa(i+1) || strings.EqualFold(line, ch.Label) {
				return flows.Input{Kind: flows.InputChoice, Choice: ch.ID}
			}
		}
	}
	if c.name == "sms" && !(strings.HasPrefix(line, "/") && mediaCommands[strings.ToLower(line[1:])]) {
		return flows.Input{Kind: flows.InputText, Text: line} // an SMS is only ever text
	}
	if strings.HasPrefix(line, "/") && len(line) > 1 {
		cmd, arg, _ := strings.Cut(line[1:], " ")
		arg = strings.TrimSpace(arg)
		switch strings.ToLower(cmd) {
		case "location":
			f := strings.Fields(arg)
			if len(f) == 2 {
				lat, err1 := strconv.ParseFloat(f[0], 64)
				lon, err2 := strconv.ParseFloat(f[1], 64)
				if err1 == nil && err2 == nil && lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180 {
					return flows.Input{Kind: flows.InputLocation, Lat: lat, Lon: lon}
				}
			}
			return flows.Input{Kind: flows.InputText, Text: line}
		case "contact":
			if c.name == "telegram" {
				return flows.Input{Kind: flows.InputContact, Phone: arg}
			}
		}
		if mediaCommands[strings.ToLower(cmd)] {
			return flows.Input{Kind: flows.InputMedia}
		}
		if c.name == "telegram" {
			return flows.Input{Kind: flows.InputCommand, Command: strings.ToLower(cmd), Payload: arg}
		}
		return flows.Input{Kind: flows.InputText, Text: line} // typed as text on a phone
	}
	return flows.Input{Kind: flows.InputText, Text: line}
}

// mediaCommands simulate a photo, sticker, voice message, video or document
// (an MMS on SMS), which Enlace does not read.
var mediaCommands = map[string]bool{"photo": true, "sticker": true, "voice": true, "video": true, "document": true}
