package twilio

import (
	"sync"
	"time"

	"github.com/enlace-rfl/enlace/bot/phone"
)

// parseAddress splits a Twilio address into its channel and an E.164 number:
// "whatsapp:+52…" is WhatsApp, a bare "+52…" is SMS (phone.Address, which
// also gives the exact address to answer at). An address that is not a
// valid phone number is refused (phone.ErrInvalid).
func parseAddress(addr string) (channel, number string, err error) {
	channel, number, _, err = phone.Address(addr)
	return channel, number, err
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
