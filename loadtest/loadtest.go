// Package loadtest drives `enlace serve` the way the providers do, for
// `enlace loadtest` and the scale tests. It starts serve processes wired to
// local stand-ins of Telegram's Bot API and Twilio's Messages API
// (bot/telegram/telegramtest, bot/twilio/twiliotest), posts signed Twilio
// webhooks and Telegram updates built from real payloads (payloads/) for many
// simulated people, at a fixed rate or flat out, and then counts what the
// stand-ins actually received: each reply matched to the message it answers,
// the messages never answered (lost) and those answered twice (doubled), each
// person's order, and the pace of Telegram sends.
//
// Every simulated person follows one script: a first message ("hola" on SMS
// and WhatsApp, /start on Telegram), the language, consent, the shelter
// finder from the menu (buttons on Telegram, numbers on a phone), then towns
// Enlace does not know, each a token of its own ("qx12n5") that the reply
// repeats ("No conozco el pueblo "qx12n5"…"). So every reply names its
// message: the first four by the text they ask with, every later one by its
// token.
package loadtest

import (
	"errors"
	"fmt"
	"io"
	"time"
)

// Config is one load test.
type Config struct {
	// People is how many simulated people write; Messages how many messages
	// they send in all (each at least one, in the order of their script).
	People, Messages int
	// Rate is the messages a second posted; 0 posts flat out, as fast as
	// Concurrency posts in flight are answered.
	Rate float64
	// Concurrency is the most posts in flight at once.
	Concurrency int
	// Telegram and WhatsApp are the shares of people on those channels; the
	// rest write SMS.
	Telegram, WhatsApp float64
	// Serves is how many serve processes share the work (more than one needs
	// REDIS_URL in Env).
	Serves int
	// TwilioRate is TWILIO_RATE for serve: messages a second per Twilio sender.
	TwilioRate float64
	// KillAfter, when positive, SIGKILLs the first serve once that many
	// messages were accepted, and starts it again.
	KillAfter int
	// Act, when set, runs once ActAfter messages were accepted, beside the
	// posting (a test fails Redis over there); its error is in the report's
	// Problems.
	Act      func() error
	ActAfter int
	// Wait is how long to wait, after the last message was accepted, for
	// every reply before counting the missing ones as lost.
	Wait time.Duration
	// Linger is how long to go on counting once every reply arrived, so that
	// a reply sent twice is seen.
	Linger time.Duration
	// LogDir, if set, keeps each serve's log there (serve-1.log, …).
	LogDir string

	// Command runs enlace (the load test adds "serve", or "chat" to learn the
	// replies); nil runs the binary that is running.
	Command []string
	// Env is the environment each serve starts with (REDIS_URL,
	// ENLACE_WORKERS…); the load test adds its own settings: listening
	// addresses, the stand-ins, their credentials, and a key and a data
	// directory when Env has none.
	Env []string
	// Progress, if set, gets a line every few seconds while the test runs.
	Progress io.Writer
}

// Defaults are the settings of `enlace loadtest` without flags.
func Defaults() Config {
	return Config{
		People: 100, Messages: 1000, Concurrency: 32, Telegram: 0.1, Serves: 1, TwilioRate: 1000,
		Wait: 5 * time.Minute, Linger: 2 * time.Second,
	}
}

// Check tells what is wrong with a Config, if anything.
func (c Config) Check() error {
	var errs []error
	if c.People < 1 || c.People >= maxPeople {
		errs = append(errs, fmt.Errorf("-people: want 1 to %d, got %d", maxPeople-1, c.People))
	}
	if c.Messages < c.People {
		errs = append(errs, fmt.Errorf("-messages: want at least one per person (-people %d), got %d", c.People, c.Messages))
	} else if c.People > 0 && (c.Messages+c.People-1)/c.People >= maxPerPerson {
		errs = append(errs, fmt.Errorf("-messages: want fewer than %d per person (-people %d), got %d", maxPerPerson, c.People, c.Messages))
	}
	if c.Rate < 0 {
		errs = append(errs, fmt.Errorf("-rate: want messages a second, or 0 for flat out, got %g", c.Rate))
	}
	if c.Concurrency < 1 {
		errs = append(errs, fmt.Errorf("-concurrency: want at least 1, got %d", c.Concurrency))
	}
	if c.Telegram < 0 || c.Telegram > 1 || c.WhatsApp < 0 || c.WhatsApp > 1 || c.Telegram+c.WhatsApp > 1 {
		errs = append(errs, fmt.Errorf("-telegram %g, -whatsapp %g: want shares of people between 0 and 1, together at most 1", c.Telegram, c.WhatsApp))
	}
	if c.Serves < 1 {
		errs = append(errs, fmt.Errorf("-serves: want at least 1, got %d", c.Serves))
	}
	if c.TwilioRate <= 0 {
		errs = append(errs, fmt.Errorf("-twilio-rate: want a positive number of messages a second, got %g", c.TwilioRate))
	}
	if c.KillAfter < 0 || (c.KillAfter > 0 && c.KillAfter >= c.Messages) {
		errs = append(errs, fmt.Errorf("-kill-after: want 0 (never) or fewer than -messages (%d), got %d", c.Messages, c.KillAfter))
	}
	if c.Wait <= 0 {
		errs = append(errs, fmt.Errorf("-wait: want a positive duration, got %s", c.Wait))
	}
	if c.Linger < 0 {
		errs = append(errs, fmt.Errorf("-linger: want a duration of 0 or more, got %s", c.Linger))
	}
	return errors.Join(errs...)
}
