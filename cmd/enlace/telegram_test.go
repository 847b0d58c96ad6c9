package main

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/enlace-rfl/enlace/bot/telegram/telegramtest"
	"github.com/enlace-rfl/enlace/locales"
	"github.com/enlace-rfl/enlace/store/redis/redistest"
)

const (
	tgToken  = "7000000001:AAH-enlace_test_token"
	tgSecret = "enlace-webhook-secret_0123456789"
)

// telegramEnv adds a Telegram bot on a Bot API stand-in to a serve environment.
func telegramEnv(t *testing.T, env map[string]string, mode string) (*telegramtest.Server, map[string]string) {
	t.Helper()
	api := telegramtest.New(t, tgToken)
	env["TELEGRAM_BOT_TOKEN"] = tgToken
	env["TELEGRAM_API_URL"] = api.URL
	env["TELEGRAM_MODE"] = mode
	if mode == "webhook" {
		env["TELEGRAM_WEBHOOK_SECRET"] = tgSecret
		env["ENLACE_PUBLIC_URL"] = "https://enlace.example.org/"
	}
	return api, env
}

func redisEnv(t *testing.T) map[string]string {
	return storesEnv(t)["redis"]
}

// postUpdate posts one update to the webhook as Telegram does.
func postUpdate(t *testing.T, base, secret string, body []byte) int {
	t.Helper()
	req, err := http.NewRequest("POST", base+"/webhooks/telegram", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if secret != "" {
		req.Header.Set("X-Telegram-Bot-Api-Secret-Token", secret)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0 // as Telegram sees a connection error: it retries
	}
	resp.Body.Close()
	return resp.StatusCode
}

func tgFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("../../bot/telegram/testdata/updates/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Updates shaped like the fixtures in bot/telegram/testdata, for a chat.
func tgText(id, chat int64, lang, text string) []byte {
	return fmt.Appendf(nil, `{"update_id":%d,"message":{"message_id":%d,"date":1732860000,"from":{"id":%d,"is_bot":false,"first_name":"Ana","language_code":%q},"chat":{"id":%d,"first_name":"Ana","type":"private"},"text":%q}}`,
		id, id, chat, lang, chat, text)
}

func tgButton(id, chat int64, lang, data string) []byte {
	return fmt.Appendf(nil, `{"update_id":%d,"callback_query":{"id":"cq%d","from":{"id":%d,"is_bot":false,"first_name":"Ana","language_code":%q},"message":{"message_id":1,"date":1732860000,"chat":{"id":%d,"type":"private"},"text":"?"},"chat_instance":"1","data":%q}}`,
		id, id, chat, lang, chat, data)
}

// sentTo returns the sendMessage calls to a chat.
func sentTo(api *telegramtest.Server, chat string) []telegramtest.Call {
	var out []telegramtest.Call
	for _, c := range api.Calls("sendMessage") {
		if c.ChatID() == chat {
			out = append(out, c)
		}
	}
	return out
}

// waitSent waits until n messages went to a chat.
func waitSent(t *testing.T, api *telegramtest.Server, chat string, n int, timeout time.Duration) []telegramtest.Call {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		calls := sentTo(api, chat)
		if len(calls) >= n {
			return calls
		}
		if time.Now().After(deadline) {
			t.Fatalf("chat %s: got %d messages, want %d:%s", chat, len(calls), n, telegramtest.Describe(api.Calls("")))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// conversation is what a person does on Telegram: open a deep link, pick
// English, agree; the bot's three answers.
var conversation = []func() []byte{
	func() []byte { return tgText(800001, 5550001, "pt-br", "/start shelters") },
	func() []byte { return tgButton(800002, 5550001, "pt-br", "lang.en") },
	func() []byte { return tgButton(800003, 5550001, "pt-br", "consent.accept") },
}

type shown struct{ Text, Markup string }

func shownOf(calls []telegramtest.Call) []shown {
	var out []shown
	for _, c := range calls {
		out = append(out, shown{c.Params["text"], c.Params["reply_markup"]})
	}
	return out
}

// TestTelegramWebhook runs serve with real Redis and a Bot API stand-in:
// it registers its webhook, refuses a wrong or missing secret, answers a
// conversation with keyboards, answers button presses, handles a repeated
// update once, and tells a group to write in private.
func TestTelegramWebhook(t *testing.T) {
	cat, err := locales.Load()
	if err != nil {
		t.Fatal(err)
	}
	api, env := telegramEnv(t, redisEnv(t), "webhook")
	base, stop := startServe(t, env)
	stop = sync.OnceValue(stop) // stopped in the test and, should it fail early, by defer
	defer stop()

	hook := api.WaitCalls(t, "setWebhook", 1, 10*time.Second)[0]
	if want := map[string]string{
		"url": "https://enlace.example.org/webhooks/telegram", "secret_token": tgSecret,
		"allowed_updates": `["message","edited_message","callback_query","my_chat_member"]`,
	}; !reflect.DeepEqual(hook.Params, want) {
		t.Errorf("setWebhook: got %v, want %v", hook.Params, want)
	}

	// Wrong or missing secret: 401, and nothing is handled.
	intruder := tgFixture(t, "teloxide_private_text_message.json")
	for _, s := range []string{"", "wrong", tgSecret + "x"} {
		if got := postUpdate(t, base, s, intruder); got != 401 {
			t.Errorf("secret %q: got %d, want 401", s, got)
		}
	}
	if got := postUpdate(t, base, tgSecret, []byte(`{"update_id":`)); got != 400 {
		t.Errorf("broken JSON: got %d, want 400", got)
	}

	var calls []telegramtest.Call
	for i, u := range conversation {
		if got := postUpdate(t, base, tgSecret, u()); got != 200 {
			t.Fatalf("update %d: got %d, want 200", i, got)
		}
		calls = waitSent(t, api, "5550001", i+1, 10*time.Second)
	}
	checks := []struct {
		lang, textID string
		buttons      []string
	}{
		{"pt", "language.prompt", []string{"lang.es", "lang.en", "lang.fr", "lang.ht", "lang.pt"}},
		{"en", "consent.question", []string{"consent.accept", "consent.decline"}},
		{"en", "shelters.ask_location", nil}, // the deep link opens the finder after consent
	}
	for i, c := range checks {
		got := calls[i]
		if want := cat.Text(c.lang, c.textID, nil); !strings.Contains(got.Params["text"], want) {
			t.Errorf("reply %d: got %q, want it to hold %q", i, got.Params["text"], want)
		}
		if c.buttons == nil && !strings.Contains(got.Params["reply_markup"], `"request_location":true`) {
			t.Errorf("reply %d: keyboard %s does not ask for the location", i, got.Params["reply_markup"])
		}
		for _, b := range c.buttons {
			if !strings.Contains(got.Params["reply_markup"], `"callback_data":"`+b+`"`) {
				t.Errorf("reply %d: keyboard %s lacks the button %s", i, got.Params["reply_markup"], b)
			}
		}
		if _, ok := got.Params["parse_mode"]; ok {
			t.Errorf("reply %d: sent with parse_mode %q, want plain text", i, got.Params["parse_mode"])
		}
	}
	answers := api.WaitCalls(t, "answerCallbackQuery", 2, 5*time.Second)
	if got, want := []string{answers[0].Params["callback_query_id"], answers[1].Params["callback_query_id"]}, []string{"cq800002", "cq800003"}; !reflect.DeepEqual(got, want) {
		t.Errorf("answered button presses: got %v, want %v", got, want)
	}

	// Telegram delivers the button press again: no second reply. The message
	// after it is answered, and one person's messages are handled in order,
	// so a second reply would have come first.
	if got := postUpdate(t, base, tgSecret, conversation[1]()); got != 200 {
		t.Errorf("repeated update: got %d, want 200", got)
	}
	if got := postUpdate(t, base, tgSecret, tgFixture(t, "enlace_sticker.json")); got != 200 {
		t.Errorf("sticker: got %d, want 200", got)
	}
	calls = waitSent(t, api, "5550001", 4, 10*time.Second)
	if want := cat.Text("en", "media.unsupported", nil); !strings.Contains(calls[3].Params["text"], want) {
		t.Errorf("after the repeated update: got %q, want the sticker's answer %q", calls[3].Params["text"], want)
	}

	// A group gets one note to write in private, in the writer's language.
	if got := postUpdate(t, base, tgSecret, tgFixture(t, "enlace_group_start_at_bot.json")); got != 200 {
		t.Errorf("group message: got %d, want 200", got)
	}
	group := waitSent(t, api, "-1009876543210", 1, 10*time.Second)
	if got, want := group[0].Params["text"], cat.Text("en", "telegram.private_only", nil); got != want {
		t.Errorf("group: got %q, want %q", got, want)
	}
	if got := sentTo(api, "218485655"); len(got) != 0 {
		t.Errorf("updates with a wrong secret were answered: %s", telegramtest.Describe(got))
	}
	if err := stop(); err != nil {
		t.Errorf("shutdown: %v", err)
	}
	if got := len(sentTo(api, "5550001")); got != 4 {
		t.Errorf("the person got %d messages, want 4:%s", got, telegramtest.Describe(sentTo(api, "5550001")))
	}
}

// TestTelegramPollingAnswersLikeWebhook: the same conversation by long
// polling gets the same messages as by webhook.
func TestTelegramPollingAnswersLikeWebhook(t *testing.T) {
	run := func(mode string) []shown {
		api, env := telegramEnv(t, redisEnv(t), mode)
		base, stop := startServe(t, env)
		stop = sync.OnceValue(stop) // stopped in the test and, should it fail early, by defer
		defer stop()
		for i, u := range conversation {
			if mode == "polling" {
				api.PushUpdate(u())
			} else if got := postUpdate(t, base, tgSecret, u()); got != 200 {
				t.Fatalf("%s: update %d: got %d, want 200", mode, i, got)
			}
			waitSent(t, api, "5550001", i+1, 10*time.Second)
		}
		if mode == "polling" {
			if got := api.Calls("deleteWebhook"); len(got) == 0 {
				t.Errorf("polling did not remove the webhook first")
			}
			if got := api.Calls("setWebhook"); len(got) != 0 {
				t.Errorf("polling set a webhook")
			}
		}
		if err := stop(); err != nil {
			t.Errorf("%s: shutdown: %v", mode, err)
		}
		return shownOf(sentTo(api, "5550001"))
	}
	webhook, polling := run("webhook"), run("polling")
	if !reflect.DeepEqual(polling, webhook) {
		t.Errorf("polling:\n got %q\nwant (as webhook) %q", polling, webhook)
	}
}

// TestTelegramThrottled: a 429 with retry_after 3 holds that chat's next send
// for at least 3 s, and every reply still arrives, in order.
func TestTelegramThrottled(t *testing.T) {
	api, env := telegramEnv(t, redisEnv(t), "webhook")
	api.Answer("sendMessage", "5550001", 429, telegramtest.TooManyRequests(3))
	base, stop := startServe(t, env)
	stop = sync.OnceValue(stop) // stopped in the test and, should it fail early, by defer
	defer stop()
	for i, u := range conversation[:2] {
		if got := postUpdate(t, base, tgSecret, u()); got != 200 {
			t.Fatalf("update %d: got %d, want 200", i, got)
		}
	}
	calls := waitSent(t, api, "5550001", 3, 15*time.Second) // the refused one, then both replies
	if gap := calls[1].At.Sub(calls[0].At); gap < 3*time.Second {
		t.Errorf("the send after the 429 came %s later, want at least 3s", gap)
	}
	if calls[1].Params["text"] != calls[0].Params["text"] {
		t.Errorf("after the 429: got %q, want the refused message again", calls[1].Params["text"])
	}
	if gap := calls[2].At.Sub(calls[1].At); gap < 900*time.Millisecond {
		t.Errorf("two messages to one chat %s apart, want about 1s (Telegram's per-chat limit)", gap)
	}
	if !strings.Contains(calls[2].Params["reply_markup"], "consent.accept") {
		t.Errorf("second reply: got %q, want the consent question", calls[2].Params["text"])
	}
}

// TestTelegramRedisRestart: with Redis stopped the webhook answers non-2xx,
// Telegram keeps delivering, and after Redis comes back every update gets
// its answer, once.
func TestTelegramRedisRestart(t *testing.T) {
	srv := redistest.StartWith(t, redistest.Config{Durable: true})
	env := map[string]string{"REDIS_URL": srv.URL, "ENLACE_SECRET_KEY": "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", "ENLACE_DATA_DIR": t.TempDir()}
	api, env := telegramEnv(t, env, "webhook")
	base, stop := startServe(t, env)
	stop = sync.OnceValue(stop) // stopped in the test and, should it fail early, by defer
	defer stop()
	api.WaitCalls(t, "setWebhook", 1, 10*time.Second)

	srv.Stop()
	// Wait until serve sees Redis gone (a connection in its pool may outlive
	// the server by a moment).
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if code, _ := get(t, base+"/readyz"); code == 503 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("serve still reports Redis ready after it stopped")
		}
	}
	const people = 5
	var wg sync.WaitGroup
	refused := make([]int, people)
	for i := range people {
		wg.Add(1)
		go func() { // Telegram retrying one update until it is taken
			defer wg.Done()
			u := tgText(int64(900000+i), int64(6660000+i), "es", "/start")
			deadline := time.Now().Add(30 * time.Second)
			for time.Now().Before(deadline) {
				code := postUpdate(t, base, tgSecret, u)
				if code >= 200 && code < 300 {
					return
				}
				refused[i]++
				time.Sleep(100 * time.Millisecond)
			}
			t.Errorf("update %d never taken", i)
		}()
	}
	time.Sleep(time.Second) // let every update be refused at least once while Redis is down
	srv.Restart()
	wg.Wait()
	for i := range people {
		if refused[i] == 0 {
			t.Errorf("update %d was taken while Redis was down", i)
		}
		waitSent(t, api, fmt.Sprint(6660000+i), 1, 15*time.Second)
	}
	if err := stop(); err != nil {
		t.Errorf("shutdown: %v", err)
	}
	for i := range people {
		if got := len(sentTo(api, fmt.Sprint(6660000+i))); got != 1 {
			t.Errorf("person %d got %d answers, want 1", i, got)
		}
	}
}

// TestTelegramConfig: webhook mode needs a secret and a public address.
func TestTelegramConfig(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"webhook without a secret", map[string]string{"TELEGRAM_MODE": "webhook", "ENLACE_PUBLIC_URL": "https://x.example"}, "TELEGRAM_WEBHOOK_SECRET"},
		{"public URL without a secret", map[string]string{"ENLACE_PUBLIC_URL": "https://x.example"}, "TELEGRAM_WEBHOOK_SECRET"},
		{"a secret Telegram refuses", map[string]string{"ENLACE_PUBLIC_URL": "https://x.example", "TELEGRAM_WEBHOOK_SECRET": "has space"}, "TELEGRAM_WEBHOOK_SECRET"},
		{"webhook without a public URL", map[string]string{"TELEGRAM_MODE": "webhook", "TELEGRAM_WEBHOOK_SECRET": tgSecret}, "ENLACE_PUBLIC_URL"},
		{"unknown mode", map[string]string{"TELEGRAM_MODE": "carrier-pigeon"}, "TELEGRAM_MODE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"ENLACE_DATA_DIR": t.TempDir(), "ENLACE_SECRET_KEY": "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
				"TELEGRAM_BOT_TOKEN": tgToken, "ENLACE_ADDR": "127.0.0.1:0", "TELEGRAM_API_URL": "http://127.0.0.1:9"}
			for k, v := range tt.env {
				env[k] = v
			}
			err := run(t.Context(), []string{"serve"}, strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{}, func(k string) string { return env[k] })
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error naming %s", err, tt.want)
			}
		})
	}
}
