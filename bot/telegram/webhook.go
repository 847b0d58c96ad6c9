package telegram

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	tgbot "github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"

	"github.com/enlace-rfl/enlace/bot"
	"github.com/enlace-rfl/enlace/flows"
)

// SecretHeader carries the webhook's secret token.
const SecretHeader = "X-Telegram-Bot-Api-Secret-Token"

// maxBody is the largest update the webhook reads. Updates are a few KB.
const maxBody = 1 << 20

// MinSecretLen is the shortest webhook secret the adapter takes: 32
// characters of Telegram's alphabet carry about 190 bits, so the secret
// cannot be guessed, while a short one could be tried by anyone who finds
// the webhook's address.
const MinSecretLen = 32

// secretAlphabet is what Telegram accepts as a secret_token.
var secretAlphabet = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`)

// CheckSecret tells whether s can be the webhook's secret: 32 to 256 of
// A-Z, a-z, 0-9, _ and -.
func CheckSecret(s string) error {
	if len(s) < MinSecretLen {
		return fmt.Errorf("telegram: the webhook secret has %d characters; it needs at least %d (make one with `openssl rand -hex 32`)", len(s), MinSecretLen)
	}
	if !secretAlphabet.MatchString(s) {
		return errors.New("telegram: the webhook secret may hold only A-Z, a-z, 0-9, _ and -, at most 256 of them (make one with `openssl rand -hex 32`)")
	}
	return nil
}

// AllowedUpdates are the update kinds Enlace handles, as setWebhook and
// getUpdates take them.
var AllowedUpdates = []string{
	models.AllowedUpdateMessage, models.AllowedUpdateEditedMessage,
	models.AllowedUpdateCallbackQuery, models.AllowedUpdateMyChatMember,
}

// ServeHTTP is the webhook: it checks the secret, records the update and
// answers 200 without waiting for any reply to be sent. It answers 401 for a
// missing or wrong secret, 413 for a body over 1 MiB, 400 for one that is not
// an update, and 503 when the update could not be recorded, so that Telegram
// delivers it again.
func (a *Adapter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	got := []byte(r.Header.Get(SecretHeader))
	if a.cfg.WebhookSecret == "" || subtle.ConstantTimeCompare(got, []byte(a.cfg.WebhookSecret)) != 1 {
		a.log.Warn("webhook request with a missing or wrong secret")
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, "update too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "cannot read the update", http.StatusBadRequest)
		return
	}
	u, err := ParseUpdate(body)
	if err != nil {
		a.log.Warn("webhook request is not an update", "err", err)
		http.Error(w, "not a Telegram update", http.StatusBadRequest)
		return
	}
	if err := a.Handle(r.Context(), u); err != nil {
		a.log.Error("update not recorded: asking Telegram to deliver it again", "update", u.ID, "err", err)
		http.Error(w, "try again later", http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// envelope is an update with only the kinds Enlace handles decoded, so an
// odd shape in a kind it ignores never makes an update unreadable.
type envelope struct {
	ID            *int64          `json:"update_id"`
	Message       json.RawMessage `json:"message"`
	EditedMessage json.RawMessage `json:"edited_message"`
	ChannelPost   json.RawMessage `json:"channel_post"`
	CallbackQuery json.RawMessage `json:"callback_query"`
	MyChatMember  json.RawMessage `json:"my_chat_member"`
}

// ParseUpdate decodes the parts of an update the adapter reads.
func ParseUpdate(body []byte) (*models.Update, error) {
	var e envelope
	if err := json.Unmarshal(body, &e); err != nil {
		return nil, fmt.Errorf("telegram: decoding update: %w", err)
	}
	u := &models.Update{}
	if e.ID != nil {
		u.ID = *e.ID
	}
	for _, part := range []struct {
		raw  json.RawMessage
		dest any
	}{
		{e.Message, &u.Message}, {e.EditedMessage, &u.EditedMessage}, {e.ChannelPost, &u.ChannelPost},
		{e.CallbackQuery, &u.CallbackQuery}, {e.MyChatMember, &u.MyChatMember},
	} {
		if len(part.raw) == 0 || string(part.raw) == "null" {
			continue
		}
		if err := json.Unmarshal(part.raw, part.dest); err != nil {
			return nil, fmt.Errorf("telegram: decoding update %d: %w", u.ID, err)
		}
	}
	return u, nil
}

// Handle records one update. An error means it was not recorded and must be
// delivered again; updates Enlace does not handle return nil.
func (a *Adapter) Handle(ctx context.Context, u *models.Update) error {
	switch {
	case u.Message != nil:
		return a.message(ctx, u.ID, u.Message)
	case u.CallbackQuery != nil:
		return a.callback(ctx, u.ID, u.CallbackQuery)
	case u.MyChatMember != nil:
		return a.membership(ctx, u.MyChatMember)
	case u.ChannelPost != nil:
		return a.group(ctx, u.ID, u.ChannelPost)
	case u.EditedMessage != nil:
		// An edit (or a live location moving) changes nothing already answered.
		a.log.Debug("update ignored", "update", u.ID, "kind", "edited_message")
	default:
		a.log.Debug("update ignored", "update", u.ID, "kind", "other")
	}
	return nil
}

// private reports whether a chat is a one-to-one chat with a person. Some
// older payloads lack the type; only private chats have positive ids.
func private(c models.Chat) bool {
	return c.Type == models.ChatTypePrivate || (c.Type == "" && c.ID > 0)
}

func (a *Adapter) message(ctx context.Context, id int64, m *models.Message) error {
	if !private(m.Chat) {
		return a.group(ctx, id, m)
	}
	in, ok := Input(m)
	if !ok {
		a.log.Debug("update ignored", "update", id, "kind", "service_message")
		return nil
	}
	from := strconv.FormatInt(m.Chat.ID, 10)
	if in.Kind == flows.InputCommand && in.Command == "start" {
		// Whoever blocked the bot and starts it again can be reached again.
		if err := a.cfg.Pipeline.SetReachable(ctx, ChannelName, from, true); err != nil {
			return err
		}
	}
	msg := bot.Message{Channel: ChannelName, ID: updateRef(id), From: from, Input: in}
	if m.From != nil {
		msg.LangHint = m.From.LanguageCode
	}
	_, err := a.cfg.Pipeline.Accept(ctx, msg)
	return err
}

// updateRef is the dedupe id of an update.
func updateRef(id int64) string { return "u" + strconv.FormatInt(id, 10) }

// command matches a bot command at the start of a text: "/start",
// "/start@EnlaceBot payload".
var command = regexp.MustCompile(`^/([A-Za-z0-9_]{1,32})(?:@[A-Za-z0-9_]+)?(?:\s+|$)`)

// Input is what a private message says, as the flows engine reads it; false
// for service messages (pins, members joining) that say nothing to answer.
func Input(m *models.Message) (flows.Input, bool) {
	switch {
	case m.Text != "":
		if loc := command.FindStringSubmatchIndex(m.Text); loc != nil {
			return flows.Input{
				Kind:    flows.InputCommand,
				Command: strings.ToLower(m.Text[loc[2]:loc[3]]),
				Payload: strings.TrimSpace(m.Text[loc[1]:]),
			}, true
		}
		return flows.Input{Kind: flows.InputText, Text: m.Text}, true
	case m.Venue != nil:
		return flows.Input{Kind: flows.InputLocation, Lat: m.Venue.Location.Latitude, Lon: m.Venue.Location.Longitude}, true
	case m.Location != nil:
		return flows.Input{Kind: flows.InputLocation, Lat: m.Location.Latitude, Lon: m.Location.Longitude}, true
	case m.Contact != nil:
		own := m.From != nil && m.Contact.UserID != 0 && m.Contact.UserID == m.From.ID
		phone := strings.TrimSpace(m.Contact.PhoneNumber)
		if own && phone != "" && !strings.HasPrefix(phone, "+") {
			// Telegram gives the person's own number in international form,
			// sometimes without the plus.
			phone = "+" + phone
		}
		return flows.Input{Kind: flows.InputContact, Phone: phone, Own: own}, true
	case m.Photo != nil || m.Sticker != nil || m.Voice != nil || m.Audio != nil || m.Video != nil ||
		m.VideoNote != nil || m.Document != nil || m.Animation != nil || m.Dice != nil || m.Poll != nil ||
		m.Game != nil || m.Story != nil || m.PaidMedia != nil || m.Checklist != nil || m.Caption != "":
		return flows.Input{Kind: flows.InputMedia}, true
	}
	return flows.Input{}, false
}

// callback records a button press, then answers it (or the button keeps
// spinning on the person's phone).
func (a *Adapter) callback(ctx context.Context, id int64, q *models.CallbackQuery) error {
	chat := models.Chat{ID: q.From.ID, Type: models.ChatTypePrivate}
	switch {
	case q.Message.Message != nil:
		chat = q.Message.Message.Chat
	case q.Message.InaccessibleMessage != nil && q.Message.InaccessibleMessage.Chat.ID != 0:
		chat = q.Message.InaccessibleMessage.Chat
	}
	if q.Data != "" && private(chat) {
		from := strconv.FormatInt(chat.ID, 10)
		msg := bot.Message{
			Channel: ChannelName, ID: updateRef(id), From: from, LangHint: q.From.LanguageCode,
			Input: flows.Input{Kind: flows.InputChoice, Choice: q.Data},
		}
		if _, err := a.cfg.Pipeline.Accept(ctx, msg); err != nil {
			return err
		}
	}
	// Answered after the press is recorded (a 503 brings it again, and it is
	// answered then), in the background so the webhook answers at once.
	a.bg.Add(1)
	go func() {
		defer a.bg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := a.api.AnswerCallbackQuery(ctx, &tgbot.AnswerCallbackQueryParams{CallbackQueryID: q.ID}); err != nil {
			a.log.Warn("answering a button press failed", "err", redactToken(err.Error(), a.cfg.Token))
		}
	}()
	return nil
}

// membership follows the bot's own membership of private chats: "kicked"
// means the person blocked the bot; "member" that they unblocked it.
func (a *Adapter) membership(ctx context.Context, c *models.ChatMemberUpdated) error {
	if !private(c.Chat) {
		return nil
	}
	from := strconv.FormatInt(c.Chat.ID, 10)
	switch c.NewChatMember.Type {
	case models.ChatMemberTypeBanned:
		return a.cfg.Pipeline.SetReachable(ctx, ChannelName, from, false)
	case models.ChatMemberTypeMember:
		return a.cfg.Pipeline.SetReachable(ctx, ChannelName, from, true)
	}
	return nil
}

// group answers a message in a group or channel, once, by asking to write in
// a private chat: Enlace talks about people's families only one to one. The
// answer goes through the pipeline as a notice to the chat, deduplicated by
// the update in the store, so a redelivered post, or one seen again after a
// restart, is not answered twice; no conversation is started for the chat.
func (a *Adapter) group(ctx context.Context, id int64, m *models.Message) error {
	if _, ok := Input(m); !ok {
		return nil // a service message (pin, member joined): nothing to answer
	}
	msg := bot.Message{Channel: ChannelName, ID: updateRef(id), From: strconv.FormatInt(m.Chat.ID, 10),
		Input: flows.Input{Kind: flows.InputText}}
	if m.From != nil {
		msg.LangHint = m.From.LanguageCode
	}
	_, err := a.cfg.Pipeline.AcceptNotice(ctx, msg, flows.Text{ID: "telegram.private_only"}, false)
	return err
}
