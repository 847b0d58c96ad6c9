package loadtest

import (
	"flag"
	"fmt"
	"io"
	"strings"
)

// Usage is `enlace loadtest --help`.
const Usage = `usage: enlace loadtest [-people N] [-messages N] [-rate R] [-concurrency N]
       [-telegram SHARE] [-whatsapp SHARE] [-serves N] [-twilio-rate R]
       [-kill-after N] [-wait D] [-linger D] [-logs DIR] [-json]

Starts enlace serve (-serves processes; more than one needs REDIS_URL) wired
to local stand-ins of Telegram's Bot API and Twilio's Messages API, posts
signed Twilio webhooks and Telegram updates from -people simulated people,
-messages in all, at -rate messages a second (0: flat out), and reports what
the stand-ins received: messages accepted a second, p50/p99 latency to 2xx,
the time until every expected reply reached the stand-ins, replies lost,
doubled and out of order, and Telegram's sends a second. Serve gets this
environment (REDIS_URL, ENLACE_WORKERS, …); without ENLACE_SECRET_KEY or
REDIS_URL it gets a fresh key and a fresh embedded store.

  -people N         simulated people (default 100)
  -messages N       messages in all, at least one per person (default 1000)
  -rate R           messages a second; 0 posts flat out (default 0)
  -concurrency N    most posts in flight (default 32)
  -telegram SHARE   share of people on Telegram, 0 to 1 (default 0.1)
  -whatsapp SHARE   share of people on WhatsApp (default 0)
  -serves N         serve processes sharing the work (default 1)
  -twilio-rate R    TWILIO_RATE for serve, per sender (default 1000)
  -kill-after N     SIGKILL the first serve after N accepted messages, then start it again
  -wait D           how long to wait for the replies after the last message (default 5m)
  -linger D         how long to keep counting once every reply came, for doubles (default 2s)
  -logs DIR         keep each serve's log in DIR
  -json             print the report as one JSON object

Exit status 0 when nothing was lost, doubled or out of order, 1 otherwise.`

// ParseFlags reads `enlace loadtest`'s arguments; asJSON is -json. An error
// says which flag is wrong and why.
func ParseFlags(args []string) (cfg Config, asJSON bool, err error) {
	cfg = Defaults()
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.IntVar(&cfg.People, "people", cfg.People, "")
	fs.IntVar(&cfg.Messages, "messages", cfg.Messages, "")
	fs.Float64Var(&cfg.Rate, "rate", cfg.Rate, "")
	fs.IntVar(&cfg.Concurrency, "concurrency", cfg.Concurrency, "")
	fs.Float64Var(&cfg.Telegram, "telegram", cfg.Telegram, "")
	fs.Float64Var(&cfg.WhatsApp, "whatsapp", cfg.WhatsApp, "")
	fs.IntVar(&cfg.Serves, "serves", cfg.Serves, "")
	fs.Float64Var(&cfg.TwilioRate, "twilio-rate", cfg.TwilioRate, "")
	fs.IntVar(&cfg.KillAfter, "kill-after", cfg.KillAfter, "")
	fs.DurationVar(&cfg.Wait, "wait", cfg.Wait, "")
	fs.DurationVar(&cfg.Linger, "linger", cfg.Linger, "")
	fs.StringVar(&cfg.LogDir, "logs", "", "")
	fs.BoolVar(&asJSON, "json", false, "")
	if err := fs.Parse(args); err != nil {
		return cfg, false, fmt.Errorf("loadtest: %w", err)
	}
	if fs.NArg() > 0 {
		return cfg, false, fmt.Errorf("loadtest: takes no arguments, got %q", strings.Join(fs.Args(), " "))
	}
	if err := cfg.Check(); err != nil {
		return cfg, false, fmt.Errorf("loadtest: %w", err)
	}
	return cfg, asJSON, nil
}
