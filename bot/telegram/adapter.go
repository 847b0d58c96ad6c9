package telegram

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	tgbot "github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"
	"golang.org/x/time/rate"

	"github.com/enlace-rfl/enlace/bot"
	"github.com/enlace-rfl/enlace/bot/split"
	"github.com/enlace-rfl/enlace/flows"
)

// ChannelName is the channel's name in addresses and messages.
const ChannelName = "telegram"

// DefaultAPIURL is Telegram's Bot API server.
const DefaultAPIURL = "https://api.telegram.org"

// Telegram's limits (core.telegram.org/bots/faq, core.telegram.org/bots/api).
const (
	// MaxTextUnits is the longest text of one message, in UTF-16 code units
	// (Telegram counts entities and lengths in UTF-16).
	MaxTextUnits = 4096
	// maxCallbackData is the longest callback_data, in bytes.
	maxCallbackData = 64
	// perChat is how often one chat may get a message.
	perChat = time.Second
	// overall is how many messages a bot may send a second, to all chats.
	overall = 30
)

// Pipeline is what the adapter needs from the pipeline (*bot.Pipeline).
type Pipeline interface {
	Accept(ctx context.Context, m bot.Message) (bool, error)
	AcceptNotice(ctx context.Context, m bot.Message, text flows.Text, optOutNotice bool) (bool, error)
	SetReachable(ctx context.Context, channel, address string, reachable bool) error
	Send(ctx context.Context, channel, to, lang string, out flows.Output) error
	Person(channel, address string) string
}

// Texts renders a message ID in a language (*locales.Catalog).
type Texts interface {
	Text(lang, id string, data map[string]string) string
}

// Config configures an Adapter.
type Config struct {
	Token  string // the bot's token from BotFather
	APIURL string // the Bot API server; DefaultAPIURL when empty
	// WebhookSecret is the X-Telegram-Bot-Api-Secret-Token every webhook
	// request must carry (see CheckSecret). The webhook refuses everything
	// when it is empty.
	WebhookSecret string
	Pipeline      Pipeline
	Texts         Texts
	Logger        *slog.Logger // slog.Default() when nil
	// HTTPClient makes the Bot API calls; one with a 30s timeout when nil.
	// Long polling sets its own deadline per request.
	HTTPClient *http.Client
	// PollTimeout is getUpdates' long-polling timeout (50s).
	PollTimeout time.Duration
	// PartInterval is the least time between two messages to one chat: the
	// parts of a split text (the adapter waits it between them), and
	// replies (the pipeline paces each chat by it, in every process) (1s,
	// Telegram's per-chat limit).
	PartInterval time.Duration
	// Rate is the most messages a second to all chats together (30): the
	// bot's delivery lane's budget, shared by every process (bot.Paced).
	Rate rate.Limit
	// Clock and Sleep are the time the adapter waits between the parts of a
	// long text by (time.Now and bot.Sleep when nil); tests give a fake clock.
	Clock func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
}

// Adapter is the Telegram channel: a webhook handler, a long-polling loop and
// a bot.Channel that sends replies.
type Adapter struct {
	cfg  Config
	api  *tgbot.Bot
	http *http.Client
	log  *slog.Logger
	lane string // the bot's delivery lane

	mu    sync.Mutex
	holds map[int64]time.Time // until when Telegram asked each chat to wait (429)

	bg sync.WaitGroup // callback answers in flight
}

// New builds an adapter. It makes no network call.
func New(cfg Config) (*Adapter, error) {
	if cfg.Token == "" {
		return nil, errors.New("telegram: no bot token")
	}
	if cfg.Pipeline == nil || cfg.Texts == nil {
		return nil, errors.New("telegram: a pipeline and texts are required")
	}
	if cfg.WebhookSecret != "" {
		if err := CheckSecret(cfg.WebhookSecret); err != nil {
			return nil, err
		}
	}
	if cfg.APIURL == "" {
		cfg.APIURL = DefaultAPIURL
	}
	cfg.APIURL = strings.TrimRight(cfg.APIURL, "/")
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if cfg.PollTimeout <= 0 {
		cfg.PollTimeout = 50 * time.Second
	}
	if cfg.PartInterval <= 0 {
		cfg.PartInterval = perChat
	}
	if cfg.Rate <= 0 {
		cfg.Rate = overall
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Sleep == nil {
		cfg.Sleep = bot.Sleep
	}
	a := &Adapter{
		cfg: cfg, http: cfg.HTTPClient, log: cfg.Logger,
		lane: laneName(cfg.Token), holds: map[int64]time.Time{},
	}
	api, err := tgbot.New(cfg.Token,
		tgbot.WithServerURL(cfg.APIURL),
		tgbot.WithSkipGetMe(), // no network call at start; a bad token shows on the first call
		tgbot.WithHTTPClient(cfg.PollTimeout, cfg.HTTPClient),
		// The library's default handlers log whole updates (personal data);
		// nothing reaches them since the adapter never starts the library's
		// loops, but keep them quiet anyway.
		tgbot.WithDefaultHandler(func(context.Context, *tgbot.Bot, *models.Update) {}),
		tgbot.WithErrorsHandler(func(err error) { a.log.Debug("telegram library", "err", redactToken(err.Error(), cfg.Token)) }),
	)
	if err != nil {
		return nil, fmt.Errorf("telegram: %s", redactToken(err.Error(), cfg.Token))
	}
	a.api = api
	return a, nil
}

// Name is the channel's name.
func (a *Adapter) Name() string { return ChannelName }

// MinInterval is the least time between two messages to one chat: Telegram
// allows about one a second, and the pipeline paces each chat by it.
func (a *Adapter) MinInterval() time.Duration { return perChat }

// Wait waits for the adapter's background calls (callback answers) to end.
func (a *Adapter) Wait() { a.bg.Wait() }

// Pace is the bot's delivery lane: Rate messages a second to all chats
// (one at a time: Telegram counts any second), PartInterval per chat.
func (a *Adapter) Pace() bot.Pace {
	return bot.Pace{Lane: a.lane, Rate: float64(a.cfg.Rate), Burst: 1, PerRecipient: a.cfg.PartInterval}
}

// Cost is how many Bot API messages r takes: its parts and its map pin.
func (a *Adapter) Cost(r bot.Reply) int {
	text, _ := a.layout(r)
	n := len(split.Text(text, func(s string) bool { return utf16Len(s) <= MaxTextUnits }))
	if r.Venue != nil {
		n++
	}
	return max(n, 1)
}

// laneName names the bot's lane by the bot's id, the public part of its
// token before the colon: two bots are two senders.
func laneName(token string) string {
	id, _, _ := strings.Cut(token, ":")
	for _, c := range id {
		if c < '0' || c > '9' {
			return ChannelName
		}
	}
	if id == "" || len(id) > 20 {
		return ChannelName
	}
	return ChannelName + "-" + id
}

var (
	_ bot.Channel = (*Adapter)(nil)
	_ bot.Pacer   = (*Adapter)(nil)
	_ bot.Paced   = (*Adapter)(nil)
)

// Send delivers one reply. A text longer than Telegram allows goes as several
// messages, PartInterval apart, with the keyboard under the last one. It
// never waits for a rate: the pipeline took the reply's cost from the bot's
// shared budget before it called Send.
//
// Texts are sent without parse_mode: Telegram then shows them exactly as
// written, so names and places people typed (with <, &, _ or *) need no
// escaping and can never make a message fail to parse.
func (a *Adapter) Send(ctx context.Context, r bot.Reply) error {
	chatID, err := strconv.ParseInt(r.To, 10, 64)
	if err != nil {
		return fmt.Errorf("telegram: address is not a chat id: %w", bot.ErrRejected)
	}
	if wait := a.held(chatID); wait > 0 {
		// Telegram asked this chat to wait: a reply queued meanwhile waits too.
		return &bot.ErrThrottled{RetryAfter: wait}
	}
	text, markup := a.layout(r)
	parts := split.Text(text, func(s string) bool { return utf16Len(s) <= MaxTextUnits })
	for i, part := range parts {
		if i > 0 {
			if err := a.cfg.Sleep(ctx, a.cfg.PartInterval); err != nil {
				return err
			}
		}
		p := &tgbot.SendMessageParams{ChatID: chatID, Text: part}
		if i == len(parts)-1 && markup != nil {
			p.ReplyMarkup = markup
		}
		if _, err := a.api.SendMessage(ctx, p); err != nil {
			return a.failed(chatID, a.sendError("sendMessage", err))
		}
	}
	if v := r.Venue; v != nil {
		// The place as a pin the phone's map app opens; the text above already
		// has every detail, so a failure here is retried like any other.
		if err := a.cfg.Sleep(ctx, a.cfg.PartInterval); err != nil {
			return err
		}
		if _, err := a.api.SendVenue(ctx, &tgbot.SendVenueParams{
			ChatID: chatID, Latitude: v.Lat, Longitude: v.Lon, Title: v.Title, Address: v.Address,
		}); err != nil {
			return a.failed(chatID, a.sendError("sendVenue", err))
		}
	}
	return nil
}

// failed holds the chat when Telegram asked it to wait, and returns err.
func (a *Adapter) failed(chatID int64, err error) error {
	var throttled *bot.ErrThrottled
	if errors.As(err, &throttled) {
		a.hold(chatID, throttled.RetryAfter)
	}
	return err
}

// hold keeps every message to chat back for d, as a 429 asked.
func (a *Adapter) hold(chat int64, d time.Duration) {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.cfg.Clock()
	a.holds[chat] = now.Add(d)
	for c, until := range a.holds {
		if until.Before(now) {
			delete(a.holds, c)
		}
	}
}

// held returns how long chat must still wait after a 429, or 0.
func (a *Adapter) held(chat int64) time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.holds[chat].Sub(a.cfg.Clock())
}

// sendError maps a Bot API error to the bot package's outcomes. Descriptions
// come from Telegram ("Forbidden: bot was blocked by the user") and carry no
// personal data; the pipeline also redacts number-like runs.
func (a *Adapter) sendError(method string, err error) error {
	var tooMany *tgbot.TooManyRequestsError
	var migrate *tgbot.MigrateError
	switch {
	case errors.As(err, &tooMany):
		// Obey retry_after exactly: Telegram counts it in whole seconds.
		return &bot.ErrThrottled{RetryAfter: time.Duration(max(tooMany.RetryAfter, 1)) * time.Second}
	case errors.Is(err, tgbot.ErrorForbidden):
		return fmt.Errorf("telegram: %s: %s: %w", method, err, bot.ErrUnreachable)
	case errors.Is(err, tgbot.ErrorBadRequest), errors.As(err, &migrate):
		return fmt.Errorf("telegram: %s: %s: %w", method, err, bot.ErrRejected)
	}
	return fmt.Errorf("telegram: %s: %s", method, redactToken(err.Error(), a.cfg.Token))
}

// Keyboards as the Bot API takes them. The library's own button type always
// sends "copy_text":{"text":""}, which Telegram may refuse, so the adapter
// marshals exactly the fields it means.
type (
	inlineButton struct {
		Text         string `json:"text"`
		CallbackData string `json:"callback_data"`
	}
	inlineKeyboard struct {
		InlineKeyboard [][]inlineButton `json:"inline_keyboard"`
	}
	replyButton struct {
		Text            string `json:"text"`
		RequestContact  bool   `json:"request_contact,omitempty"`
		RequestLocation bool   `json:"request_location,omitempty"`
	}
	replyKeyboard struct {
		Keyboard        [][]replyButton `json:"keyboard"`
		ResizeKeyboard  bool            `json:"resize_keyboard"`
		OneTimeKeyboard bool            `json:"one_time_keyboard"`
	}
)

// layout returns the text to send and its keyboard, if any. Choices become
// inline buttons, one a row (labels can be long); a request for a location or
// a contact becomes a one-time reply keyboard button, since only those can
// ask the phone for them (choices then follow as plain buttons that send
// their label, which the engine reads as the choice).
func (a *Adapter) layout(r bot.Reply) (string, any) {
	switch r.Request {
	case flows.RequestLocation, flows.RequestContact:
		id := "telegram.share_location"
		if r.Request == flows.RequestContact {
			id = "telegram.share_contact"
		}
		kb := replyKeyboard{ResizeKeyboard: true, OneTimeKeyboard: true}
		kb.Keyboard = append(kb.Keyboard, []replyButton{{
			Text:            a.cfg.Texts.Text(r.Lang, id, nil),
			RequestLocation: r.Request == flows.RequestLocation,
			RequestContact:  r.Request == flows.RequestContact,
		}})
		for _, c := range r.Choices {
			kb.Keyboard = append(kb.Keyboard, []replyButton{{Text: c.Label}})
		}
		return r.Text, kb
	}
	if len(r.Choices) == 0 {
		return r.Text, nil
	}
	kb := inlineKeyboard{}
	for _, c := range r.Choices {
		if c.ID == "" || len(c.ID) > maxCallbackData {
			// Telegram refuses such a button; a numbered list still works,
			// since the engine reads a typed number as the choice.
			a.log.Warn("choice id does not fit in callback_data: sending choices as a list", "bytes", len(c.ID))
			return bot.RenderText("sms", r), nil
		}
		kb.InlineKeyboard = append(kb.InlineKeyboard, []inlineButton{{Text: c.Label, CallbackData: c.ID}})
	}
	return r.Text, kb
}

// utf16Len is the length of s in UTF-16 code units, as Telegram counts.
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n++
		if r > 0xFFFF {
			n++
		}
	}
	return n
}

// redactToken removes the bot token from a text (the library puts request
// URLs, which hold it, in some errors).
func redactToken(s, token string) string {
	if token == "" {
		return s
	}
	return strings.ReplaceAll(s, token, "***")
}
