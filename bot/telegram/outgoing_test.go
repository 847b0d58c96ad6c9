package telegram_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"golang.org/x/time/rate"

	"github.com/enlace-rfl/enlace/bot"
	"github.com/enlace-rfl/enlace/bot/faketime"
	"github.com/enlace-rfl/enlace/bot/telegram"
	"github.com/enlace-rfl/enlace/bot/telegram/telegramtest"
	"github.com/enlace-rfl/enlace/flows"
)

type call struct {
	Method string
	Params map[string]string
}

func langChoices() []bot.ReplyChoice {
	return []bot.ReplyChoice{{ID: "lang.es", Label: "Español"}, {ID: "lang.ht", Label: "Kreyòl"}}
}

// outgoing cases: a reply, how the stand-in answers, the exact Bot API calls
// and the error the pipeline gets.
var outgoing = []struct {
	name      string
	reply     bot.Reply
	answer    string // the Bot API's answer to the first sendMessage (JSON body), success when empty
	status    int
	wantCalls []call
	wantErr   error // errors.Is target; nil: no error
	wantRetry time.Duration
	transient bool // an error the pipeline retries with backoff
}{
	{
		name:  "plain text, no parse mode: user text with < & _ * goes as typed",
		reply: bot.Reply{To: "1111111", Lang: "es", Text: "Albergue <Jesús> & \"Amigos\" en Calle 5 *Sur* _2_ </b>"},
		wantCalls: []call{{"sendMessage", map[string]string{
			"chat_id": "1111111", "text": "Albergue <Jesús> & \"Amigos\" en Calle 5 *Sur* _2_ </b>"}}},
	},
	{
		name:  "choices become an inline keyboard",
		reply: bot.Reply{To: "1111111", Lang: "es", Text: "¿En qué idioma?", Choices: langChoices()},
		wantCalls: []call{{"sendMessage", map[string]string{
			"chat_id": "1111111", "text": "¿En qué idioma?",
			"reply_markup": `{"inline_keyboard":[[{"text":"Español","callback_data":"lang.es"}],[{"text":"Kreyòl","callback_data":"lang.ht"}]]}`}}},
	},
	{
		name:  "a location request is a one-time reply keyboard button",
		reply: bot.Reply{To: "-42", Lang: "pt", Text: "Onde você está?", Request: flows.RequestLocation},
		wantCalls: []call{{"sendMessage", map[string]string{
			"chat_id": "-42", "text": "Onde você está?",
			"reply_markup": `{"keyboard":[[{"text":"📍 Enviar minha localização","request_location":true}]],"resize_keyboard":true,"one_time_keyboard":true}`}}},
	},
	{
		name:  "a contact request with choices: the choices follow as plain buttons",
		reply: bot.Reply{To: "1111111", Lang: "ht", Text: "Nimewo ou?", Request: flows.RequestContact, Choices: langChoices()[:1]},
		wantCalls: []call{{"sendMessage", map[string]string{
			"chat_id": "1111111", "text": "Nimewo ou?",
			"reply_markup": `{"keyboard":[[{"text":"📱 Voye nimewo mwen","request_contact":true}],[{"text":"Español"}]],"resize_keyboard":true,"one_time_keyboard":true}`}}},
	},
	{
		name:      "a choice id over 64 bytes: choices as a numbered list instead",
		reply:     bot.Reply{To: "1111111", Lang: "en", Text: "Pick one", Choices: []bot.ReplyChoice{{ID: "a", Label: "A"}, {ID: strings.Repeat("x", 65), Label: "B"}}},
		wantCalls: []call{{"sendMessage", map[string]string{"chat_id": "1111111", "text": "Pick one\n1. A\n2. B"}}},
	},
	{
		name: "a place: its text, then its pin as a venue",
		reply: bot.Reply{To: "1111111", Lang: "es", Text: "1. Albergue Belén, 0.4 km",
			Venue: &flows.Venue{Lat: 14.9036, Lon: -92.2589, Title: "Albergue Belén", Address: "Tapachula, Chiapas"}},
		wantCalls: []call{
			{"sendMessage", map[string]string{"chat_id": "1111111", "text": "1. Albergue Belén, 0.4 km"}},
			{"sendVenue", map[string]string{"chat_id": "1111111", "latitude": "14.9036", "longitude": "-92.2589",
				"title": "Albergue Belén", "address": "Tapachula, Chiapas"}},
		},
	},
	{
		name:      "429: wait exactly retry_after",
		reply:     bot.Reply{To: "1111111", Text: "hola"},
		status:    429,
		answer:    telegramtest.TooManyRequests(3),
		wantCalls: []call{{"sendMessage", map[string]string{"chat_id": "1111111", "text": "hola"}}},
		wantRetry: 3 * time.Second,
	},
	{
		name:      "403 user deactivated: unreachable",
		reply:     bot.Reply{To: "1111111", Text: "hola"},
		status:    403,
		answer:    string(mustRead("testdata/errors/tdlib_403_user_deactivated.json")),
		wantCalls: []call{{"sendMessage", map[string]string{"chat_id": "1111111", "text": "hola"}}},
		wantErr:   bot.ErrUnreachable,
	},
	{
		name:      "403 blocked: unreachable",
		reply:     bot.Reply{To: "1111111", Text: "hola"},
		status:    403,
		answer:    `{"ok":false,"error_code":403,"description":"Forbidden: bot was blocked by the user"}`,
		wantCalls: []call{{"sendMessage", map[string]string{"chat_id": "1111111", "text": "hola"}}},
		wantErr:   bot.ErrUnreachable,
	},
	{
		name:      "400 chat not found: rejected",
		reply:     bot.Reply{To: "1111111", Text: "hola"},
		status:    400,
		answer:    string(mustRead("testdata/errors/tdlib_400_chat_not_found.json")),
		wantCalls: []call{{"sendMessage", map[string]string{"chat_id": "1111111", "text": "hola"}}},
		wantErr:   bot.ErrRejected,
	},
	{
		name:      "500: transient",
		reply:     bot.Reply{To: "1111111", Text: "hola"},
		status:    500,
		answer:    `{"ok":false,"error_code":500,"description":"Internal Server Error"}`,
		wantCalls: []call{{"sendMessage", map[string]string{"chat_id": "1111111", "text": "hola"}}},
		transient: true,
	},
	{
		name:      "502 from a proxy, not JSON: transient",
		reply:     bot.Reply{To: "1111111", Text: "hola"},
		status:    502,
		answer:    `<html>Bad Gateway</html>`,
		wantCalls: []call{{"sendMessage", map[string]string{"chat_id": "1111111", "text": "hola"}}},
		transient: true,
	},
	{
		name:    "an address that is no chat id: rejected without a call",
		reply:   bot.Reply{To: "+50937001234x", Text: "hola"},
		wantErr: bot.ErrRejected,
	},
}

func mustRead(name string) []byte {
	b, err := readFile(name)
	if err != nil {
		panic(err)
	}
	return b
}

func TestOutgoing(t *testing.T) {
	for _, tt := range outgoing {
		t.Run(tt.name, func(t *testing.T) {
			a, api := newAdapter(t, newRecorder(), nil)
			if tt.answer != "" {
				api.Answer("sendMessage", "", tt.status, tt.answer)
			}
			tt.reply.Channel = "telegram"
			err := a.Send(context.Background(), tt.reply)
			var got []call
			for _, c := range api.Calls("") {
				got = append(got, call{c.Method, c.Params})
			}
			if !reflect.DeepEqual(got, tt.wantCalls) {
				t.Errorf("calls:\n got %+v\nwant %+v", got, tt.wantCalls)
			}
			var throttled *bot.ErrThrottled
			switch {
			case tt.wantRetry > 0:
				if !errors.As(err, &throttled) || throttled.RetryAfter != tt.wantRetry {
					t.Errorf("error: got %v, want throttled for %s", err, tt.wantRetry)
				}
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) {
					t.Errorf("error: got %v, want %v", err, tt.wantErr)
				}
			case tt.transient:
				if err == nil || errors.Is(err, bot.ErrRejected) || errors.Is(err, bot.ErrUnreachable) || errors.As(err, &throttled) {
					t.Errorf("error: got %v, want a transient error", err)
				}
			default:
				if err != nil {
					t.Errorf("error: got %v, want none", err)
				}
			}
			if err != nil && strings.Contains(err.Error(), token) {
				t.Errorf("error %q holds the bot token", err)
			}
		})
	}
}

// TestOutgoingNetworkError: a Bot API that cannot be reached is transient,
// and the error does not carry the token (it is in the URL).
func TestOutgoingNetworkError(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	url := dead.URL
	dead.Close()
	a, err := telegram.New(telegram.Config{Token: token, APIURL: url, Pipeline: newRecorder(), Texts: catalog(t), Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	err = a.Send(context.Background(), bot.Reply{Channel: "telegram", To: "1", Text: "hola"})
	var throttled *bot.ErrThrottled
	if err == nil || errors.Is(err, bot.ErrRejected) || errors.Is(err, bot.ErrUnreachable) || errors.As(err, &throttled) {
		t.Errorf("got %v, want a transient error", err)
	}
	if err != nil && strings.Contains(err.Error(), token) {
		t.Errorf("error %q holds the bot token", err)
	}
}

// TestLongTextIsSplit: a text over 4,096 UTF-16 units goes as several
// messages at line breaks, paced, with the keyboard under the last one.
func TestLongTextIsSplit(t *testing.T) {
	a, api := newAdapter(t, newRecorder(), nil)
	line := strings.Repeat("🙂 ñandú ", 30) // emoji count twice in UTF-16
	var lines []string
	for i := 0; utf16Len(strings.Join(lines, "\n")) < 9000; i++ {
		lines = append(lines, fmt.Sprintf("%d %s", i, line))
	}
	long := strings.Join(lines, "\n")
	err := a.Send(context.Background(), bot.Reply{Channel: "telegram", To: "7", Lang: "es", Text: long, Choices: langChoices()})
	if err != nil {
		t.Fatal(err)
	}
	calls := api.Calls("sendMessage")
	if len(calls) != 3 {
		t.Fatalf("got %d messages, want 3", len(calls))
	}
	var parts []string
	for i, c := range calls {
		parts = append(parts, c.Params["text"])
		if n := utf16Len(c.Params["text"]); n > telegram.MaxTextUnits {
			t.Errorf("part %d: %d UTF-16 units, want at most %d", i, n, telegram.MaxTextUnits)
		}
		_, hasKeyboard := c.Params["reply_markup"]
		if want := i == len(calls)-1; hasKeyboard != want {
			t.Errorf("part %d: keyboard %v, want %v", i, hasKeyboard, want)
		}
		if i > 0 {
			if gap := c.At.Sub(calls[i-1].At); gap < partInterval {
				t.Errorf("part %d came %s after the one before, want the part interval %s", i, gap, partInterval)
			}
		}
	}
	if got := strings.Join(parts, "\n"); got != long {
		t.Errorf("the parts joined at their line breaks do not give the text back")
	}
}

func utf16Len(s string) int { return len(utf16.Encode([]rune(s))) }

// TestPaceIsTheBotsLane: the adapter never waits for a rate itself (six
// sends to six chats go at once on its clock); it tells the pipeline its
// lane (named by the bot's id) and budget, and what a reply costs.
func TestPaceIsTheBotsLane(t *testing.T) {
	api := telegramtest.New(t, token)
	clk := faketime.New()
	api.SetClock(clk.Now)
	a, err := telegram.New(telegram.Config{Token: token, APIURL: api.URL, Pipeline: newRecorder(), Texts: catalog(t),
		Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)), Rate: rate.Limit(20), Clock: clk.Now, Sleep: clk.Sleep})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := a.MinInterval(), time.Second; got != want {
		t.Errorf("MinInterval: got %s, want %s", got, want)
	}
	id, _, _ := strings.Cut(token, ":")
	if got, want := a.Pace(), (bot.Pace{Lane: "telegram-" + id, Rate: 20, Burst: 1, PerRecipient: time.Second}); got != want {
		t.Errorf("Pace: got %+v, want %+v", got, want)
	}
	for i := range 6 {
		if err := a.Send(context.Background(), bot.Reply{Channel: "telegram", To: fmt.Sprint(100 + i), Text: "hola"}); err != nil {
			t.Fatal(err)
		}
	}
	if got := clk.Now().Sub(faketime.Epoch); got != 0 {
		t.Errorf("six sends waited %s, want no wait in the adapter", got)
	}
	if got := len(api.Calls("sendMessage")); got != 6 {
		t.Errorf("%d calls, want 6", got)
	}
	venue := &flows.Venue{Lat: 19.4, Lon: -99.1, Title: "Casa", Address: "Calle 1"}
	if got := a.Cost(bot.Reply{Text: "hola", Venue: venue}); got != 2 {
		t.Errorf("Cost of a text and a pin: %d, want 2", got)
	}
	if got := a.Cost(bot.Reply{Text: strings.Repeat("línea larga\n", 800)}); got != 3 {
		t.Errorf("Cost of a text of three parts: %d, want 3", got)
	}
}

// TestStandInRefusesWhatTelegramRefuses: the stand-in catches a parameter the
// API lacks, and the library's own inline button (which always sends an empty
// copy_text), which is why the adapter marshals its keyboards itself.
func TestStandInRefusesWhatTelegramRefuses(t *testing.T) {
	api := telegramtest.New(t, token)
	post := func(method string, form map[string]string) int {
		var b strings.Builder
		first := true
		for k, v := range form {
			if !first {
				b.WriteString("&")
			}
			first = false
			b.WriteString(k + "=" + urlQueryEscape(v))
		}
		resp, err := http.Post(api.URL+"/bot"+token+"/"+method, "application/x-www-form-urlencoded", strings.NewReader(b.String()))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	libraryButton, _ := json.Marshal(map[string]any{"inline_keyboard": [][]map[string]any{{{"text": "Yes", "callback_data": "y", "copy_text": map[string]string{"text": ""}}}}})
	cases := []struct {
		method string
		form   map[string]string
	}{
		{"sendMessage", map[string]string{"chat_id": "1", "text": "hi", "parse_mod": "HTML"}},
		{"sendMessage", map[string]string{"chat_id": "1"}},
		{"sendMessage", map[string]string{"chat_id": "1", "text": "hi", "reply_markup": string(libraryButton)}},
		{"sendMessage", map[string]string{"chat_id": "1", "text": "hi", "reply_markup": `{"inline_keyboard":[[{"text":"A","callback_data":"` + strings.Repeat("x", 65) + `"}]]}`}},
		{"sendMessage", map[string]string{"chat_id": "1", "text": strings.Repeat("a", 4097)}},
		{"sendMesage", map[string]string{"chat_id": "1", "text": "hi"}},
	}
	for _, c := range cases {
		if got := post(c.method, c.form); got < 400 {
			t.Errorf("%s %v: got %d, want it refused", c.method, c.form, got)
		}
		if got := api.Violations(); len(got) == 0 {
			t.Errorf("%s %v: no violation recorded", c.method, c.form)
		}
	}
}

// TestThrottledChatWaits: after a 429 the chat's next reply is held back for
// retry_after without asking Telegram; other chats go on.
func TestThrottledChatWaits(t *testing.T) {
	a, api := newAdapter(t, newRecorder(), nil)
	api.Answer("sendMessage", "1", 429, telegramtest.TooManyRequests(3))
	ctx := context.Background()
	var throttled *bot.ErrThrottled
	if err := a.Send(ctx, bot.Reply{To: "1", Text: "a"}); !errors.As(err, &throttled) || throttled.RetryAfter != 3*time.Second {
		t.Fatalf("first send: got %v, want throttled for 3s", err)
	}
	err := a.Send(ctx, bot.Reply{To: "1", Text: "b"})
	if !errors.As(err, &throttled) || throttled.RetryAfter <= 2*time.Second || throttled.RetryAfter > 3*time.Second {
		t.Errorf("next send to the chat: got %v, want throttled for the rest of the 3s", err)
	}
	if err := a.Send(ctx, bot.Reply{To: "2", Text: "c"}); err != nil {
		t.Errorf("send to another chat: got %v, want none", err)
	}
	if got := len(api.Calls("sendMessage")); got != 2 {
		t.Errorf("got %d sendMessage calls, want 2 (the held one not tried)", got)
	}
}
