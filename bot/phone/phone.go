// Package phone is what SMS and WhatsApp put around the conversation, the
// same for the Twilio adapter (bot/twilio) and the terminal simulator
// (bot/chat), so that what a tester sees in `enlace chat --channel sms` is
// what a phone gets:
//
//   - inbound, the words carriers act on are answered before the
//     conversation (Layer.Take): the opt-out words stop every message to the
//     number at once, HELP and INFO get the carrier help text, START (and
//     YES) bring back a number that opted out; an opted-out number is not
//     otherwise listened to;
//   - outbound, a reply is written as a phone shows it (Layer.Texts):
//     choices as a numbered list, a line saying how to answer a request for a
//     location without a map pin, GSM-7 transliteration when enabled, and
//     cut into messages of at most three SMS parts (1,600 characters on
//     WhatsApp).
//
// Only the carriers' own opt-out words opt out at once. On SMS those are
// Twilio's standard list, which Twilio acts on itself for every long code
// whatever Enlace does: STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT,
// REVOKE, OPTOUT. On WhatsApp, where no carrier filters, CANCEL, END and
// QUIT are everyday words like "cancelar" or "salir": they reach the
// conversation, which leaves the dialog (flows/optout.go). The lists are the
// catalog's words.stop (the same in every language) plus smsOnlyStop.
package phone

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/enlace-rfl/enlace/bot"
	"github.com/enlace-rfl/enlace/bot/split"
	"github.com/enlace-rfl/enlace/flows"
	"github.com/enlace-rfl/enlace/languages"
	"github.com/enlace-rfl/enlace/locales"

	"github.com/enlace-rfl/enlace/textmatch"
)

// Pipeline is what the layer needs from the pipeline; *bot.Pipeline is it.
type Pipeline interface {
	Accept(ctx context.Context, m bot.Message) (bool, error)
	AcceptNotice(ctx context.Context, m bot.Message, text flows.Text, optOutNotice bool) (bool, error)
	SetOptOut(ctx context.Context, channel, address string, out bool) error
	SetReachable(ctx context.Context, channel, address string, reachable bool) error
	OptedOut(ctx context.Context, channel, address string) (bool, error)
}

var _ Pipeline = (*bot.Pipeline)(nil)

// Channels are the channels a phone number is reached on.
var Channels = []string{"sms", "whatsapp"}

// smsOnlyStop are opt-out words of Twilio's standard list that are also
// everyday words: on SMS Twilio blocks the number when it gets one, so Enlace
// must take it as STOP there too; on WhatsApp they leave a dialog.
var smsOnlyStop = []string{"cancel", "end", "quit"}

// helpWords are answered with the HELP text, as carriers require. Other
// languages' words for help (ayuda, aide, èd…) reach the conversation.
var helpWords = []string{"help", "info"}

// Layer is the phone channels' layer over one catalog. It is safe for
// concurrent use.
type Layer struct {
	cat  flows.Catalog
	gsm7 bool
	sms  keywords
	wa   keywords
}

// New builds the layer. gsm7 transliterates SMS texts to the GSM-7 alphabet.
func New(cat flows.Catalog, gsm7 bool) *Layer {
	return &Layer{cat: cat, gsm7: gsm7, sms: buildKeywords(cat, true), wa: buildKeywords(cat, false)}
}

// keyword is what a whole message means to the layer rather than the conversation.
type keyword int

const (
	kwNone  keyword = iota
	kwStop          // stop every message to this number
	kwStart         // send messages again
	kwYes           // "yes" in any language: START, for a number that opted out
	kwHelp          // the carrier HELP text
)

// keywords maps normalized words to their meaning and, when only one language
// uses the word, that language.
type keywords map[string]struct {
	kw   keyword
	lang string
}

func buildKeywords(cat flows.Catalog, sms bool) keywords {
	k := keywords{}
	add := func(w string, kw keyword, lang string) {
		w = textmatch.Normalize(w)
		if w == "" {
			return
		}
		if cur, ok := k[w]; ok {
			if cur.kw != kw { // the first meaning wins (words tests keep lists apart)
				return
			}
			if cur.lang != lang {
				lang = "" // several languages use it
			}
		}
		k[w] = struct {
			kw   keyword
			lang string
		}{kw, lang}
	}
	for _, w := range helpWords {
		add(w, kwHelp, "")
	}
	if sms {
		for _, w := range smsOnlyStop {
			add(w, kwStop, "")
		}
	}
	for _, list := range []struct {
		id string
		kw keyword
	}{{"words.stop", kwStop}, {"words.start", kwStart}, {"words.yes", kwYes}} {
		for _, lang := range languages.All {
			for _, w := range strings.Split(cat.Text(lang, list.id, nil), ",") {
				add(w, list.kw, lang)
			}
		}
	}
	return k
}

// match says what a whole message means, and in which language it was
// written when the word tells.
func (k keywords) match(text string) (keyword, string) {
	m, ok := k[textmatch.Normalize(text)]
	if !ok {
		return kwNone, ""
	}
	return m.kw, m.lang
}

func (l *Layer) words(channel string) keywords {
	if channel == "whatsapp" {
		return l.wa
	}
	return l.sms
}

// Take records one inbound SMS or WhatsApp message, answering the carriers'
// words itself. It returns what happened, for the log. When it returns an
// error nothing was recorded, and the provider must deliver it again.
func (l *Layer) Take(ctx context.Context, p Pipeline, m bot.Message) (string, error) {
	kw, lang := kwNone, ""
	if m.Input.Kind == flows.InputText {
		kw, lang = l.words(m.Channel).match(m.Input.Text)
	}
	switch kw {
	case kwStop:
		// Every channel of the number, before anything else is sent; the
		// conversation then pauses the check-in and confirms it.
		for _, ch := range Channels {
			if err := p.SetOptOut(ctx, ch, m.From, true); err != nil {
				return "", err
			}
		}
		m.LangHint = lang
		m.Input = flows.Input{Kind: flows.InputOptOut}
		return accepted(p.Accept(ctx, m))("opted out")
	case kwHelp:
		return l.notice(ctx, p, m, lang, "twilio.help", true, "help")
	}
	out, err := p.OptedOut(ctx, m.Channel, m.From)
	if err != nil {
		return "", err
	}
	if out {
		if kw == kwStart || kw == kwYes {
			return l.optIn(ctx, p, m, lang)
		}
		// Nothing could be answered; keep nothing of someone who said STOP.
		return "ignored: opted out", nil
	}
	// A START from a number that did not opt out is an ordinary message.
	return accepted(p.Accept(ctx, m))("accepted")
}

// accepted turns Accept's answer into Take's.
func accepted(fresh bool, err error) func(string) (string, error) {
	return func(outcome string) (string, error) {
		switch {
		case err != nil:
			return "", err
		case !fresh:
			return "duplicate", nil
		}
		return outcome, nil
	}
}

func (l *Layer) optIn(ctx context.Context, p Pipeline, m bot.Message, lang string) (string, error) {
	for _, ch := range Channels {
		if err := p.SetOptOut(ctx, ch, m.From, false); err != nil {
			return "", err
		}
		// Sends refused while opted out (21610) marked it unreachable.
		if err := p.SetReachable(ctx, ch, m.From, true); err != nil {
			return "", err
		}
	}
	return l.notice(ctx, p, m, lang, "twilio.optin", false, "opted in")
}

// notice answers a message with one of the layer's texts, once per message id.
func (l *Layer) notice(ctx context.Context, p Pipeline, m bot.Message, lang, id string, optOutNotice bool, outcome string) (string, error) {
	m.LangHint = lang
	return accepted(p.AcceptNotice(ctx, m, flows.Text{ID: id}, optOutNotice))(outcome)
}

// maxSegments is the most SMS parts one message may take.
const maxSegments = 3

// maxWhatsApp is the longest Body the Messages API takes.
const maxWhatsApp = 1600

// whatsAppList is the most a list the engine fits to one WhatsApp message
// takes (Fits): about a phone screen, well under maxWhatsApp.
const whatsAppList = 900

// Text is a reply as the channel writes it, whole: numbered choices, and for
// a request for a location a line saying how to answer without a map pin
// (SMS asks for the town). GSM-7 is not applied (see Texts).
func (l *Layer) Text(channel string, r bot.Reply) string {
	text := bot.RenderText(channel, r)
	if r.Request == flows.RequestLocation {
		text += "\n" + l.cat.Text(r.Lang, "twilio.location_"+channel, nil)
	}
	return text
}

// Fits reports whether a text, as the engine writes it for a channel
// without buttons (flows.Numbered), goes out as one message: on SMS at most
// three parts, after GSM-7 transliteration when it is on; on WhatsApp one
// message of a screen or so (whatsAppList characters), so a shelter list
// there keeps whole names, addresses and map links, which SMS must cut. It
// is flows.Config.Fits.
func (l *Layer) Fits(channel, text string) bool {
	if channel == "whatsapp" {
		return utf8.RuneCountInString(text) <= whatsAppList
	}
	if channel == "sms" && l.gsm7 {
		text = locales.ToGSM7(text)
	}
	n, _ := locales.SMSSegments(text)
	return n <= maxSegments
}

// Texts are the messages a phone gets for a reply, in order: Text,
// transliterated to GSM-7 on SMS when enabled, cut where it must be so each
// SMS takes at most three parts and each WhatsApp message 1,600 characters.
func (l *Layer) Texts(channel string, r bot.Reply) []string {
	text := l.Text(channel, r)
	if channel == "whatsapp" {
		return split.Text(text, func(s string) bool { return utf8.RuneCountInString(s) <= maxWhatsApp })
	}
	if l.gsm7 {
		text = locales.ToGSM7(text)
	}
	return split.Text(text, func(s string) bool { n, _ := locales.SMSSegments(s); return n <= maxSegments })
}
