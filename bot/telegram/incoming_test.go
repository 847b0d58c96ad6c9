package telegram_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/enlace-rfl/enlace/bot"
	"github.com/enlace-rfl/enlace/bot/faketime"
	"github.com/enlace-rfl/enlace/bot/telegram"
	"github.com/enlace-rfl/enlace/bot/telegram/telegramtest"
	"github.com/enlace-rfl/enlace/flows"
	"github.com/enlace-rfl/enlace/languages"
	"github.com/enlace-rfl/enlace/locales"
)

const (
	token  = "123456:TEST-token_abc"
	secret = "s3cret-Token_for_tests-0123456789abcdef"
)

// sent is a proactive message the adapter queued through the pipeline.
type sent struct {
	To, Lang, TextID string
}

// recorder stands in for the pipeline at the adapter's edge: it keeps what
// the adapter hands over, deduplicates like the store, and can fail as a
// store that is down does.
type recorder struct {
	mu       sync.Mutex
	accepted []bot.Message
	seen     map[string]bool
	reach    []string
	sent     []sent
	down     bool
}

func newRecorder() *recorder { return &recorder{seen: map[string]bool{}} }

var errDown = errors.New("store down")

func (r *recorder) Accept(ctx context.Context, m bot.Message) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.down {
		return false, errDown
	}
	if r.seen[m.ID] {
		return false, nil
	}
	r.seen[m.ID] = true
	r.accepted = append(r.accepted, m)
	return true, nil
}

// AcceptNotice records a notice like the pipeline does: once per message id,
// answered in the language hinted (the pipeline's guess, for the fixtures).
func (r *recorder) AcceptNotice(ctx context.Context, m bot.Message, text flows.Text, optOutNotice bool) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.down {
		return false, errDown
	}
	if r.seen[m.ID] {
		return false, nil
	}
	r.seen[m.ID] = true
	lang := languages.Match(m.LangHint)
	if lang == "" {
		lang = languages.Default
	}
	r.sent = append(r.sent, sent{To: m.From, Lang: lang, TextID: text.ID})
	return true, nil
}

func (r *recorder) SetReachable(ctx context.Context, channel, address string, reachable bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.down {
		return errDown
	}
	r.reach = append(r.reach, channel+":"+address+"="+map[bool]string{true: "reachable", false: "unreachable"}[reachable])
	return nil
}

func (r *recorder) Send(ctx context.Context, channel, to, lang string, out flows.Output) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.down {
		return errDown
	}
	r.sent = append(r.sent, sent{To: to, Lang: lang, TextID: out.Text.ID})
	return nil
}

func (r *recorder) Person(channel, address string) string { return "0123456789abcdef0123" }

func (r *recorder) setDown(down bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.down = down
}

func (r *recorder) messages() []bot.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]bot.Message(nil), r.accepted...)
}

// syncBuffer collects logs written from several goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func catalog(t testing.TB) *locales.Catalog {
	t.Helper()
	c, err := locales.Load()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// partInterval is the adapters' pace per chat in tests, on their fake clock.
const partInterval = 50 * time.Millisecond

// newAdapter returns an adapter on a fresh Bot API stand-in, both on one
// fake clock: the adapter paces by it, and the stand-in stamps calls with it.
func newAdapter(t testing.TB, p telegram.Pipeline, logs io.Writer) (*telegram.Adapter, *telegramtest.Server) {
	t.Helper()
	api := telegramtest.New(t, token)
	clk := faketime.New()
	api.SetClock(clk.Now)
	if logs == nil {
		logs = io.Discard
	}
	a, err := telegram.New(telegram.Config{
		Token: token, APIURL: api.URL, WebhookSecret: secret, Pipeline: p, Texts: catalog(t),
		Logger:       slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		PollTimeout:  2 * time.Second,
		PartInterval: partInterval,
		Clock:        clk.Now,
		Sleep:        clk.Sleep,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Wait)
	return a, api
}

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func msg(id, from, lang string, in flows.Input) *bot.Message {
	return &bot.Message{Channel: "telegram", ID: id, From: from, LangHint: lang, Input: in}
}

func text(s string) flows.Input { return flows.Input{Kind: flows.InputText, Text: s} }
func start(payload string) flows.Input {
	return flows.Input{Kind: flows.InputCommand, Command: "start", Payload: payload}
}
func choice(id string) flows.Input { return flows.Input{Kind: flows.InputChoice, Choice: id} }

var media = flows.Input{Kind: flows.InputMedia}

// incoming cases: a real update as Telegram posts it, and what the adapter
// must make of it.
var incoming = []struct {
	name       string
	file       string // testdata file; body when empty
	body       string
	secret     *string // nil: the right one
	method     string  // POST when empty
	down       bool    // the store is down
	wantStatus int
	want       *bot.Message // nil: nothing accepted
	wantReach  []string
	wantSent   []sent
	wantAnswer string // the callback_query_id answered
}{
	{name: "private text", file: "updates/teloxide_private_text_message.json", wantStatus: 200,
		want: msg("u892252934", "218485655", "en", text("hello there"))},
	{name: "a number typed", file: "updates/teloxide_private_text_message_2.json", wantStatus: 200,
		want: msg("u306197398", "408258968", "en", text("4"))},
	{name: "text with markup characters stays as typed", file: "updates/enlace_text_special.json", wantStatus: 200,
		want: msg("u700012", "5550001", "es", text("Busco a <José> & *María* _Pérez_"))},
	{name: "/start makes the person reachable", file: "updates/tgdocs_message_text_start.json", wantStatus: 200,
		want: msg("u10000", "1111111", "", start("")), wantReach: []string{"telegram:1111111=reachable"}},
	{name: "/start with a deep-link payload", file: "updates/enlace_start_shelters.json", wantStatus: 200,
		want: msg("u700008", "5550001", "pt-br", start("shelters")), wantReach: []string{"telegram:5550001=reachable"}},
	{name: "/start payload, payload without type or sender", file: "updates/telegraf_start_with_payload_entities.json", wantStatus: 200,
		want: msg("u0", "1", "", start("test")), wantReach: []string{"telegram:1=reachable"}},
	{name: "forwarded /start", file: "updates/tgdocs_forwarded_message.json", wantStatus: 200,
		want: msg("u10000", "1111111", "", start("")), wantReach: []string{"telegram:1111111=reachable"}},
	{name: "reply with /start", file: "updates/tgdocs_message_with_reply.json", wantStatus: 200,
		want: msg("u10000", "1111111", "", start("")), wantReach: []string{"telegram:1111111=reachable"}},
	{name: "button press", file: "updates/enlace_callback_lang_en.json", wantStatus: 200,
		want: msg("u700009", "5550001", "es", choice("lang.en")), wantAnswer: "9182736450001"},
	{name: "button press of another bot's keyboard", file: "updates/litegram_callback_query_inline_keyboard.json", wantStatus: 200,
		want: msg("u163399206", "436432850", "ru", choice("K0ktLokvzsgvj6+oKquqACIA")), wantAnswer: "1874464818486990916"},
	{name: "button press on an inline message", file: "updates/tgdocs_callback_query_inline_message.json", wantStatus: 200,
		want: msg("u10000", "1111111", "", choice("Data from button callback")), wantAnswer: "4382bfdwdsb323b2d9"},
	{name: "location", file: "updates/enlace_location.json", wantStatus: 200,
		want: msg("u700001", "5550001", "es-MX", flows.Input{Kind: flows.InputLocation, Lat: 14.6349, Lon: -90.5069})},
	{name: "venue", file: "updates/enlace_venue.json", wantStatus: 200,
		want: msg("u700002", "5550001", "es", flows.Input{Kind: flows.InputLocation, Lat: 16.7569, Lon: -93.1292})},
	{name: "own contact", file: "updates/enlace_contact_own.json", wantStatus: 200,
		want: msg("u700003", "5550001", "ht", flows.Input{Kind: flows.InputContact, Phone: "+50937001234", Own: true})},
	{name: "someone else's contact", file: "updates/enlace_contact_other.json", wantStatus: 200,
		want: msg("u700004", "5550001", "pt-br", flows.Input{Kind: flows.InputContact, Phone: "+52 55 1234 5678"})},
	{name: "voice", file: "updates/tgdocs_voice_message.json", wantStatus: 200, want: msg("u10000", "1111111", "", media)},
	{name: "sticker", file: "updates/enlace_sticker.json", wantStatus: 200, want: msg("u700005", "5550001", "fr", media)},
	{name: "photo with caption", file: "updates/enlace_photo_caption.json", wantStatus: 200, want: msg("u700006", "5550001", "", media)},
	{name: "document", file: "updates/enlace_document.json", wantStatus: 200, want: msg("u700007", "5550001", "", media)},
	{name: "edited message is ignored", file: "updates/tgdocs_edited_message.json", wantStatus: 200},
	{name: "inline query is ignored", file: "updates/tgdocs_inline_query.json", wantStatus: 200},
	{name: "unknown update kind is ignored", file: "updates/teloxide_unknown_update_kind.json", wantStatus: 200},
	{name: "blocked", file: "updates/teloxide_my_chat_member_kicked_private.json", wantStatus: 200,
		wantReach: []string{"telegram:0=unreachable"}},
	{name: "unblocked", file: "updates/enlace_my_chat_member_unblocked.json", wantStatus: 200,
		wantReach: []string{"telegram:5550001=reachable"}},
	{name: "group command gets the private-chat note", file: "updates/teloxide_supergroup_command_reply.json", wantStatus: 200,
		wantSent: []sent{{To: "-1001293752024", Lang: "en", TextID: "telegram.private_only"}}},
	{name: "group /start@bot gets the private-chat note", file: "updates/enlace_group_start_at_bot.json", wantStatus: 200,
		wantSent: []sent{{To: "-1009876543210", Lang: "en", TextID: "telegram.private_only"}}},
	{name: "group dice gets the private-chat note", file: "updates/teloxide_supergroup_dice_unsupported.json", wantStatus: 200,
		wantSent: []sent{{To: "-1001276785818", Lang: "en", TextID: "telegram.private_only"}}},
	{name: "group service message is ignored", file: "updates/teloxide_supergroup_pinned_service_message.json", wantStatus: 200},
	{name: "wrong secret", file: "updates/teloxide_private_text_message.json", secret: ptr("nope"), wantStatus: 401},
	{name: "missing secret", file: "updates/teloxide_private_text_message.json", secret: ptr(""), wantStatus: 401},
	{name: "secret differing in the last character", file: "updates/teloxide_private_text_message.json", secret: ptr(secret[:len(secret)-1] + "X"), wantStatus: 401},
	{name: "GET", file: "updates/teloxide_private_text_message.json", method: "GET", wantStatus: 405},
	{name: "broken JSON", body: `{"update_id": 5, "message": {`, wantStatus: 400},
	{name: "a message of the wrong shape", body: `{"update_id": 5, "message": "hola"}`, wantStatus: 400},
	{name: "too large", body: `{"update_id": 5, "message": {"text": "` + strings.Repeat("a", 1<<20) + `"}}`, wantStatus: 413},
	{name: "store down: Telegram must retry", file: "updates/teloxide_private_text_message.json", down: true, wantStatus: 503},
	{name: "store down on /start", file: "updates/tgdocs_message_text_start.json", down: true, wantStatus: 503},
	{name: "store down on a group message", file: "updates/enlace_group_start_at_bot.json", down: true, wantStatus: 503},
	{name: "store down on a button press", file: "updates/enlace_callback_lang_en.json", down: true, wantStatus: 503},
	{name: "store down when blocked", file: "updates/teloxide_my_chat_member_kicked_private.json", down: true, wantStatus: 503},
}

func ptr(s string) *string { return &s }

func TestIncoming(t *testing.T) {
	var logs syncBuffer
	for _, tt := range incoming {
		t.Run(tt.name, func(t *testing.T) {
			rec := newRecorder()
			rec.down = tt.down
			a, api := newAdapter(t, rec, &logs)
			body := []byte(tt.body)
			if tt.file != "" {
				body = fixture(t, tt.file)
			}
			method := tt.method
			if method == "" {
				method = "POST"
			}
			req := httptest.NewRequest(method, "/webhooks/telegram", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			if tt.secret == nil {
				req.Header.Set(telegram.SecretHeader, secret)
			} else if *tt.secret != "" {
				req.Header.Set(telegram.SecretHeader, *tt.secret)
			}
			w := httptest.NewRecorder()
			a.ServeHTTP(w, req)
			a.Wait()
			if got := w.Code; got != tt.wantStatus {
				t.Errorf("status: got %d, want %d (body %q)", got, tt.wantStatus, w.Body.String())
			}
			var want []bot.Message
			if tt.want != nil {
				want = []bot.Message{*tt.want}
			}
			if got := rec.messages(); !reflect.DeepEqual(got, want) {
				t.Errorf("accepted:\n got %+v\nwant %+v", got, want)
			}
			if got := rec.reach; !reflect.DeepEqual(got, tt.wantReach) {
				t.Errorf("reachability: got %v, want %v", got, tt.wantReach)
			}
			if got := rec.sent; !reflect.DeepEqual(got, tt.wantSent) {
				t.Errorf("queued messages: got %+v, want %+v", got, tt.wantSent)
			}
			var gotAnswer string
			if calls := api.Calls("answerCallbackQuery"); len(calls) == 1 {
				gotAnswer = calls[0].Params["callback_query_id"]
			} else if len(calls) > 1 {
				t.Errorf("answerCallbackQuery called %d times, want once", len(calls))
			}
			if gotAnswer != tt.wantAnswer {
				t.Errorf("answered callback: got %q, want %q", gotAnswer, tt.wantAnswer)
			}
			if others := len(api.Calls("")) - len(api.Calls("answerCallbackQuery")); others != 0 {
				t.Errorf("the webhook made %d other Bot API calls, want none: %s", others, telegramtest.Describe(api.Calls("")))
			}
		})
	}
	// What people wrote, their numbers and chat ids never reach the logs.
	for _, secretThing := range []string{"hello there", "José", "50937001234", "1234 5678", "218485655", "5550001", "Waffle", "shelters", secret, token} {
		if strings.Contains(logs.String(), secretThing) {
			t.Errorf("logs contain %q:\n%s", secretThing, logs.String())
		}
	}
}

// TestIncomingOnce: Telegram delivering the same update again changes
// nothing, for messages and for the group note alike.
func TestIncomingOnce(t *testing.T) {
	for _, file := range []string{"updates/teloxide_private_text_message.json", "updates/enlace_group_start_at_bot.json", "updates/enlace_callback_lang_en.json"} {
		t.Run(file, func(t *testing.T) {
			rec := newRecorder()
			a, _ := newAdapter(t, rec, nil)
			for range 3 {
				req := httptest.NewRequest("POST", "/webhooks/telegram", bytes.NewReader(fixture(t, file)))
				req.Header.Set(telegram.SecretHeader, secret)
				w := httptest.NewRecorder()
				a.ServeHTTP(w, req)
				if w.Code != 200 {
					t.Fatalf("status: got %d, want 200", w.Code)
				}
			}
			if got := len(rec.messages()) + len(rec.sent); got != 1 {
				t.Errorf("handled %d times, want once", got)
			}
		})
	}
}

// TestWebhookAnswersWithoutWaitingForTelegram: the webhook's answer does not
// wait on the Bot API: answering the button press hangs until the webhook
// has answered.
func TestWebhookAnswersWithoutWaitingForTelegram(t *testing.T) {
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
		io.WriteString(w, `{"ok":true,"result":true}`)
	}))
	defer slow.Close()
	rec := newRecorder()
	a, err := telegram.New(telegram.Config{Token: token, APIURL: slow.URL, WebhookSecret: secret, Pipeline: rec, Texts: catalog(t), Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("POST", "/webhooks/telegram", bytes.NewReader(fixture(t, "updates/enlace_callback_lang_en.json")))
	req.Header.Set(telegram.SecretHeader, secret)
	w := httptest.NewRecorder()
	served := make(chan struct{})
	go func() {
		a.ServeHTTP(w, req)
		close(served)
	}()
	select {
	case <-served:
	case <-time.After(time.Minute): // the Bot API answers only once the webhook has
		t.Error("the webhook waited for Telegram to answer the button press")
	}
	close(release)
	<-served
	if w.Code != 200 {
		t.Errorf("got %d, want 200", w.Code)
	}
	a.Wait()
}

func readFile(name string) ([]byte, error) { return os.ReadFile(name) }

func urlQueryEscape(s string) string { return url.QueryEscape(s) }
