package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"strconv"
	"strings"
	_ "time/tzdata" // check-in times are in the person's time zone, even without a system tz database

	"github.com/enlace-rfl/enlace/bot"
	"github.com/enlace-rfl/enlace/bot/chat"
	"github.com/enlace-rfl/enlace/bot/phone"
	"github.com/enlace-rfl/enlace/locales"
)

// maxLine is the longest line the simulator reads; longer input is cut, as a
// channel would (Telegram caps text at 4,096 characters).
const maxLine = 64 * 1024

const chatUsage = `usage: enlace chat [--channel telegram|sms|whatsapp] [--from ADDRESS] [--lang CODE] [--json] [--data DIR]

The terminal simulator: each line on standard input is a message from
ADDRESS; the replies are printed. Slash commands stand for what a phone
sends: /start, /location LAT LON, /contact NUMBER, /photo. Without
ENLACE_SECRET_KEY a local key is kept in the data directory.

  --channel  channel to simulate (default telegram)
  --from     sender address (default a Telegram chat id, or +5215500000000 for sms and whatsapp)
  --lang     language the simulated phone reports (like Telegram's language_code)
  --json     print each outbound message as one JSON object per line
  --data     directory of the embedded store (overrides ENLACE_DATA_DIR)`

func chatCmd(ctx context.Context, cfg config, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("chat")
	channel := fs.String("channel", "telegram", "channel to simulate: telegram, sms or whatsapp")
	from := fs.String("from", "", "sender address (default: a Telegram chat id, or +5215500000000 for sms and whatsapp)")
	lang := fs.String("lang", "", "language the simulated phone reports (like Telegram's language_code)")
	asJSON := fs.Bool("json", false, "print each outbound message as one JSON object per line")
	data := fs.String("data", "", "directory of the embedded store (overrides ENLACE_DATA_DIR)")
	if err := parseFlags(fs, args, chatUsage); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{"chat takes no arguments: type the messages on standard input\n" + chatUsage}
	}
	if *data != "" {
		cfg.DataDir = *data
	}
	gsm7, err := gsm7Option(cfg)
	if err != nil {
		return err
	}
	cat, err := locales.Load()
	if err != nil {
		return err
	}
	// SMS and WhatsApp go through the same layer as the Twilio adapter: the
	// carriers' opt-out and HELP words, GSM-7, the phone rendering.
	layer := phone.New(cat, gsm7)
	ch, err := chat.New(*channel, stdout, *asJSON, layer)
	if err != nil {
		return usageError{err.Error()}
	}
	if *from == "" {
		*from = "100000001"
		if *channel != "telegram" {
			*from = "+5215500000000"
		}
	}
	if *channel != "telegram" && !strings.HasPrefix(*from, "+") {
		return usageError{"--from must be a phone number in international form (+...) for sms and whatsapp"}
	}
	// As the Twilio adapter does: the normalised number is who the person is,
	// and replies go to the address as given (WhatsApp's +521…). A made-up
	// number that is not valid (the default) is used as it is.
	replyTo := ""
	if *channel != "telegram" {
		if _, number, exact, err := phone.Address(*from); err == nil {
			*from, replyTo = number, exact
		}
	}
	keys, err := loadKeys(cfg, true, stderr)
	if err != nil {
		return err
	}
	// The simulator shares the terminal with a person reading replies: only
	// warnings and errors, unless ENLACE_LOG_LEVEL asks for more.
	level := cfg.LogLevel
	if cfg.getenv == nil || cfg.getenv("ENLACE_LOG_LEVEL") == "" {
		level = "warn"
	}
	logger := newLogger(stderr, level)
	// Messages to a person's contacts go out on SMS (or another channel than
	// the simulated one): the simulator stands in for every channel.
	channels := []bot.Channel{ch}
	for _, name := range chat.Names {
		if name != *channel {
			other, err := ch.As(name)
			if err != nil {
				return err
			}
			channels = append(channels, other)
		}
	}
	a, err := buildApp(ctx, cfg, keys, logger, nil, channels...)
	if err != nil {
		return err
	}
	defer a.store.Close()

	// Deliver anything left from an earlier run first.
	if err := a.pipeline.Drain(ctx); err != nil {
		return err
	}
	run := make([]byte, 6)
	if _, err := rand.Read(run); err != nil {
		return err
	}
	runID := hex.EncodeToString(run)
	sc := bufio.NewScanner(stdin)
	sc.Buffer(make([]byte, 0, 4096), maxLine)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			continue
		}
		msg := bot.Message{
			Channel: *channel, ID: runID + "-" + strconv.Itoa(n), From: *from, ReplyTo: replyTo, LangHint: *lang,
			Input: ch.Parse(*from, line),
		}
		if err := take(ctx, a.pipeline, layer, msg); err != nil {
			return err
		}
		if err := a.pipeline.Drain(ctx); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("reading input: %w", err)
	}
	return a.pipeline.Drain(ctx)
}
