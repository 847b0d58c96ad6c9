package twilio

import (
	"strings"
	"sync"
	"time"

	"github.com/enlace-rfl/enlace/flows"
	"github.com/enlace-rfl/enlace/phone"
)

// parseAddress splits a Twilio address into its channel and an E.164 number:
// "whatsapp:+52…" is WhatsApp, a bare "+52…" is SMS. An address that is not a
// valid phone number is refused (phone.ErrInvalid).
func parseAddress(addr string) (channel, number string, err error) {
	channel = "sms"
	if rest, ok := strings.CutPrefix(addr, "whatsapp:"); ok {
		channel, addr = "whatsapp", rest
	}
	number, err = phone.Normalize(addr)
	return channel, number, err
}

// keyword is what a whole message means to the adapter rather than the conversation.
type keyword int

const (
	kwNone  keyword = iota
	kwStop          // stop every message to this number
	kwStart         // send messages again
	kwYes           // "yes" in any language: START, but only for a number that opted out
	kwHelp          // the carrier HELP text
)

// keywords maps normalized words to their meaning and, when only one language
// uses the word, that language.
type keywords map[string]struct {
	kw   keyword
	lang string
}

// helpWords are answered with the HELP text, as carriers require. Other
// languages' words for help (ayuda, aide, èd…) reach the conversation.
var helpWords = []string{"help", "info"}

func buildKeywords(cat flows.Catalog) keywords {
	k := keywords{}
	add := func(w string, kw keyword, lang string) {
		w = flows.Normalize(w)
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
	for _, list := range []struct {
		id string
		kw keyword
	}{{"words.stop", kwStop}, {"words.start", kwStart}, {"words.yes", kwYes}} {
		for _, lang := range flows.Languages {
			for _, w := range strings.Split(cat.Text(lang, list.id, nil), ",") {
				add(w, list.kw, lang)
			}
		}
	}
	return k
}

// match says what a whole message means, and in which language it was written
// when the word tells.
func (k keywords) match(text string) (keyword, string) {
	m, ok := k[flows.Normalize(text)]
	if !ok {
		return kwNone, ""
	}
	return m.kw, m.lang
}

// Window remembers when each WhatsApp number last wrote, keyed by person hash,
// for WhatsApp's 24-hour window. Last reports false when nothing is known.
//
// MemoryWindow keeps it in the process: after a restart, or with several
// processes, a number's window is unknown until it writes again, and a
// proactive message to it is then sent as a template (or SMS), which is always
// allowed. A durable implementation (a store timestamp per person) can replace it.
type Window interface {
	Seen(person string, at time.Time)
	Last(person string) (time.Time, bool)
}

// windowLength is how long after a person's last message WhatsApp allows
// free-form messages to them.
const windowLength = 24 * time.Hour

// MemoryWindow is a Window in memory.
type MemoryWindow struct {
	mu    sync.Mutex
	last  map[string]time.Time
	prune time.Time
}

// NewMemoryWindow returns an empty in-memory Window.
func NewMemoryWindow() *MemoryWindow { return &MemoryWindow{last: map[string]time.Time{}} }

// Seen records that a person wrote (or, with the zero time, that WhatsApp
// refused a free-form message to them: the window is closed).
func (w *MemoryWindow) Seen(person string, at time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if now := time.Now(); now.Sub(w.prune) > time.Hour {
		w.prune = now
		for p, t := range w.last {
			if now.Sub(t) > windowLength+time.Hour {
				delete(w.last, p)
			}
		}
	}
	w.last[person] = at
}

// Last returns when a person last wrote, if known.
func (w *MemoryWindow) Last(person string) (time.Time, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	t, ok := w.last[person]
	return t, ok
}
