package twilio

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/enlace-rfl/enlace/bot"
	"github.com/enlace-rfl/enlace/bot/phone"
	"github.com/enlace-rfl/enlace/bot/twilio/twiliotest"
	"github.com/enlace-rfl/enlace/flows"
)

// post sends params to the adapter's mux, signed (or not) as a test says.
func post(t *testing.T, a *Adapter, path string, params url.Values, sign func(url.Values) string) *httptest.ResponseRecorder {
	t.Helper()
	mux := http.NewServeMux()
	a.Register(mux)
	req := httptest.NewRequest("POST", path, strings.NewReader(params.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if sig := sign(params); sig != "" {
		req.Header.Set("X-Twilio-Signature", sig)
	}
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	return rec
}

func signedFor(path string) func(url.Values) string {
	return func(f url.Values) string { return twiliotest.Sign(testToken, publicURL+path, f) }
}

func formOf(params map[string]string, change map[string]string) url.Values {
	f := url.Values{}
	for k, v := range params {
		f.Set(k, v)
	}
	for k, v := range change {
		if v == "-" {
			f.Del(k)
		} else {
			f.Set(k, v)
		}
	}
	return f
}

func TestInbound(t *testing.T) {
	s := samples(t)
	sms := s["sms_inbound_text"]
	text := func(channel, id, from, body string) []bot.Message {
		return []bot.Message{{Channel: channel, ID: id, From: from, Input: flows.Input{Kind: flows.InputText, Text: body}}}
	}
	tests := []struct {
		name       string
		params     map[string]string
		change     map[string]string
		sign       func(url.Values) string
		optedOut   bool // the number opted out before
		wantStatus int
		want       []bot.Message
		wantNotice string // the text ID of the notice queued
		wantLang   string
		wantOptOut *bool // the number's opt-out afterwards, on both channels
	}{
		{name: "sms text", params: sms, wantStatus: 200,
			want: text("sms", "SM0a1b2c3d4e5f60718293a4b5c6d7e8f9", "+525512349876", "Hola, necesito ayuda. ¿Dónde hay un albergue?")},
		{name: "mms photo without text is media, never downloaded", params: s["sms_inbound_mms_photo"], wantStatus: 200,
			want: []bot.Message{{Channel: "sms", ID: "MM2a1b2c3d4e5f60718293a4b5c6d7e8f9", From: "+50255551234", Input: flows.Input{Kind: flows.InputMedia}}}},
		{name: "whatsapp text", params: s["whatsapp_inbound_text"], wantStatus: 200,
			want: text("whatsapp", "SM3a1b2c3d4e5f60718293a4b5c6d7e8f9", "+50937001234", "Bonjou")},
		{name: "whatsapp location, Mexican +521 number held as +52, answered at +521", params: s["whatsapp_inbound_location"], wantStatus: 200,
			want: []bot.Message{{Channel: "whatsapp", ID: "SM4a1b2c3d4e5f60718293a4b5c6d7e8f9", From: "+525512349876", ReplyTo: "+5215512349876",
				Input: flows.Input{Kind: flows.InputLocation, Lat: 14.9036, Lon: -92.2589}}}},
		{name: "a numbered answer is text for the conversation", params: sms, change: map[string]string{"Body": " 2 "}, wantStatus: 200,
			want: text("sms", "SM0a1b2c3d4e5f60718293a4b5c6d7e8f9", "+525512349876", "2")},
		{name: "unsigned", params: sms, sign: func(url.Values) string { return "" }, wantStatus: 403},
		{name: "signed with another token", params: sms, wantStatus: 403,
			sign: func(f url.Values) string { return twiliotest.Sign("another", publicURL+InboundPath, f) }},
		{name: "signed for another URL", params: sms, sign: signedFor(StatusPath), wantStatus: 403},
		{name: "body changed after signing", params: sms, wantStatus: 403,
			sign: func(f url.Values) string {
				g := formOf(sms, map[string]string{"Body": "something else"})
				return twiliotest.Sign(testToken, publicURL+InboundPath, g)
			}},
		{name: "not a phone number", params: sms, change: map[string]string{"From": "+12345"}, wantStatus: 400},
		{name: "no MessageSid", params: sms, change: map[string]string{"MessageSid": "-", "SmsMessageSid": "-", "SmsSid": "-"}, wantStatus: 400},
		// Only the carriers' opt-out words opt out at once; the conversation
		// then confirms it (an InputOptOut) and pauses any check-in.
		{name: "STOP", params: s["sms_inbound_stop"], wantStatus: 200, wantOptOut: ptr(true),
			want: optOut("sms", "SM1a1b2c3d4e5f60718293a4b5c6d7e8f9", "+50499990000", "")},
		{name: "stop in lower case with spaces", params: sms, change: map[string]string{"Body": "  stop "}, wantStatus: 200, wantOptOut: ptr(true),
			want: optOut("sms", "SM0a1b2c3d4e5f60718293a4b5c6d7e8f9", "+525512349876", "")},
		{name: "CANCEL on SMS is STOP: Twilio blocks the number itself", params: sms, change: map[string]string{"Body": "Cancel"}, wantStatus: 200, wantOptOut: ptr(true),
			want: optOut("sms", "SM0a1b2c3d4e5f60718293a4b5c6d7e8f9", "+525512349876", "")},
		{name: "cancel on WhatsApp is for the conversation", params: s["whatsapp_inbound_text"], change: map[string]string{"Body": "cancel"}, wantStatus: 200,
			want: text("whatsapp", "SM3a1b2c3d4e5f60718293a4b5c6d7e8f9", "+50937001234", "cancel")},
		{name: "ALTO is for the conversation", params: sms, change: map[string]string{"Body": "ALTO"}, wantStatus: 200,
			want: text("sms", "SM0a1b2c3d4e5f60718293a4b5c6d7e8f9", "+525512349876", "ALTO")},
		{name: "cancelar is for the conversation", params: sms, change: map[string]string{"Body": "cancelar"}, wantStatus: 200,
			want: text("sms", "SM0a1b2c3d4e5f60718293a4b5c6d7e8f9", "+525512349876", "cancelar")},
		{name: "Kanpe is for the conversation", params: s["whatsapp_inbound_text"], change: map[string]string{"Body": "Kanpe"}, wantStatus: 200,
			want: text("whatsapp", "SM3a1b2c3d4e5f60718293a4b5c6d7e8f9", "+50937001234", "Kanpe")},
		{name: "START from a number that did not opt out is for the conversation", params: sms, change: map[string]string{"Body": "start"}, wantStatus: 200,
			want: text("sms", "SM0a1b2c3d4e5f60718293a4b5c6d7e8f9", "+525512349876", "start")},
		{name: "stop inside a sentence is not an opt-out", params: sms, change: map[string]string{"Body": "please stop the bus"}, wantStatus: 200,
			want: text("sms", "SM0a1b2c3d4e5f60718293a4b5c6d7e8f9", "+525512349876", "please stop the bus")},
		{name: "HELP", params: sms, change: map[string]string{"Body": "HELP"}, wantStatus: 200, wantNotice: "twilio.help"},
		{name: "START", params: sms, change: map[string]string{"Body": "START"}, optedOut: true, wantStatus: 200, wantNotice: "twilio.optin", wantOptOut: ptr(false)},
		{name: "yes opts in a number that opted out", params: sms, change: map[string]string{"Body": "Sí"}, optedOut: true, wantStatus: 200, wantNotice: "twilio.optin", wantLang: "es", wantOptOut: ptr(false)},
		{name: "yes is an answer otherwise", params: sms, change: map[string]string{"Body": "yes"}, wantStatus: 200,
			want: text("sms", "SM0a1b2c3d4e5f60718293a4b5c6d7e8f9", "+525512349876", "yes")},
		{name: "other messages of an opted-out number are dropped", params: sms, optedOut: true, wantStatus: 200, wantOptOut: ptr(true)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := newRecorder()
			a := newAdapter(t, rec, nil)
			form := formOf(tt.params, tt.change)
			channel, number, _ := parseAddress(form.Get("From"))
			if tt.optedOut {
				rec.optOut["sms "+number], rec.optOut["whatsapp "+number] = true, true
			}
			sign := tt.sign
			if sign == nil {
				sign = signedFor(InboundPath)
			}
			resp := post(t, a, InboundPath, form, sign)
			if resp.Code != tt.wantStatus {
				t.Fatalf("status: got %d, want %d (%s)", resp.Code, tt.wantStatus, resp.Body)
			}
			if resp.Code == 200 {
				if got, want := resp.Body.String(), emptyTwiML; got != want {
					t.Errorf("body: got %q, want %q", got, want)
				}
				if got := resp.Header().Get("Content-Type"); got != "text/xml" {
					t.Errorf("content type: got %q, want text/xml", got)
				}
			}
			for i := range rec.accepted {
				rec.accepted[i].Received = time.Time{}
			}
			if !reflect.DeepEqual(rec.accepted, tt.want) {
				t.Errorf("accepted:\n got %+v\nwant %+v", rec.accepted, tt.want)
			}
			switch {
			case tt.wantNotice == "" && len(rec.notices) > 0:
				t.Errorf("notices: got %+v, want none", rec.notices)
			case tt.wantNotice != "":
				if len(rec.notices) != 1 {
					t.Fatalf("notices: got %+v, want one %s", rec.notices, tt.wantNotice)
				}
				n := rec.notices[0]
				if n.TextID != tt.wantNotice || n.Msg.Channel != channel || n.Msg.From != number || n.Msg.LangHint != tt.wantLang {
					t.Errorf("notice: got %+v, want %s to %s %s in %q", n, tt.wantNotice, channel, number, tt.wantLang)
				}
				if got, want := n.OptOutNotice, tt.wantNotice != "twilio.optin"; got != want {
					t.Errorf("OptOutNotice: got %v, want %v", got, want)
				}
			}
			if tt.wantOptOut != nil {
				for _, ch := range []string{"sms", "whatsapp"} {
					if got := rec.optOut[ch+" "+number]; got != *tt.wantOptOut {
						t.Errorf("opt-out on %s: got %v, want %v", ch, got, *tt.wantOptOut)
					}
				}
			}
			if tt.wantStatus != 200 && (len(rec.optOut) > 0 && !tt.optedOut || len(rec.accepted)+len(rec.notices) > 0) {
				t.Errorf("a refused request changed something: %+v", rec)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// optOut is the message an opt-out word becomes for the conversation.
func optOut(channel, id, from, lang string) []bot.Message {
	return []bot.Message{{Channel: channel, ID: id, From: from, LangHint: lang, Input: flows.Input{Kind: flows.InputOptOut}}}
}

func TestInboundRepeatedIsHandledOnce(t *testing.T) {
	for _, body := range []string{"hola", "STOP"} {
		t.Run(body, func(t *testing.T) {
			rec := newRecorder()
			a := newAdapter(t, rec, nil)
			form := formOf(samples(t)["sms_inbound_text"], map[string]string{"Body": body})
			for range 3 {
				if resp := post(t, a, InboundPath, form, signedFor(InboundPath)); resp.Code != 200 {
					t.Fatalf("status: got %d, want 200", resp.Code)
				}
			}
			if got := len(rec.accepted) + len(rec.notices); got != 1 {
				t.Errorf("recorded %d times, want once", got)
			}
		})
	}
}

func TestInboundNotRecordedIs503(t *testing.T) {
	rec := newRecorder()
	rec.err = errors.New("store down")
	a := newAdapter(t, rec, nil)
	resp := post(t, a, InboundPath, formOf(samples(t)["sms_inbound_text"], nil), signedFor(InboundPath))
	if resp.Code != 503 {
		t.Errorf("status: got %d, want 503 so Twilio delivers it again", resp.Code)
	}
}

func TestStatusCallbacks(t *testing.T) {
	s := samples(t)
	tests := []struct {
		name            string
		params          map[string]string
		sign            func(url.Values) string
		wantStatus      int
		wantLabel       [2]string // channel, status counted
		wantUnreachable string    // "channel number" marked unreachable
		wantClosed      string    // WhatsApp number whose window is closed
	}{
		{name: "delivered", params: s["status_delivered"], wantStatus: 204, wantLabel: [2]string{"sms", "delivered"}},
		// 30003 is a phone off or out of coverage: the next message is tried.
		{name: "undelivered 30003 leaves the number reachable", params: s["status_undelivered_30003"], wantStatus: 204,
			wantLabel: [2]string{"sms", "undelivered"}},
		{name: "undelivered 30005 marks the number unreachable", params: s["status_undelivered_30005"], wantStatus: 204,
			wantLabel: [2]string{"sms", "undelivered"}, wantUnreachable: "sms +50499990001"},
		{name: "whatsapp 63016 closes the window, number still reachable", params: s["status_failed_whatsapp_63016"], wantStatus: 204,
			wantLabel: [2]string{"whatsapp", "failed"}, wantClosed: "+50937001234"},
		{name: "unsigned", params: s["status_undelivered_30003"], sign: func(url.Values) string { return "" }, wantStatus: 403},
		{name: "signed for the inbound URL", params: s["status_undelivered_30003"], sign: signedFor(InboundPath), wantStatus: 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := newRecorder()
			a := newAdapter(t, rec, nil)
			sign := tt.sign
			if sign == nil {
				sign = signedFor(StatusPath)
			}
			resp := post(t, a, StatusPath, formOf(tt.params, nil), sign)
			if resp.Code != tt.wantStatus {
				t.Fatalf("status: got %d, want %d", resp.Code, tt.wantStatus)
			}
			if tt.wantLabel[0] != "" {
				var m dto.Metric
				if err := a.statusTotal.WithLabelValues(tt.wantLabel[0], tt.wantLabel[1]).Write(&m); err != nil {
					t.Fatal(err)
				}
				if got := m.GetCounter().GetValue(); got != 1 {
					t.Errorf("enlace_twilio_status_total%v: got %v, want 1", tt.wantLabel, got)
				}
			}
			var unreachable []string
			for k, v := range rec.unreachable {
				if v {
					unreachable = append(unreachable, k)
				}
			}
			if want := tt.wantUnreachable; want == "" && len(unreachable) > 0 || want != "" && (len(unreachable) != 1 || unreachable[0] != want) {
				t.Errorf("unreachable: got %v, want %q", unreachable, want)
			}
			if tt.wantClosed != "" {
				last, known := a.window.Last(rec.Person("whatsapp", tt.wantClosed))
				if !known || !last.IsZero() {
					t.Errorf("window: got %v %v, want known and closed", last, known)
				}
			}
		})
	}
}

func TestParseAddress(t *testing.T) {
	tests := []struct {
		in, channel, number, replyTo string
		ok                           bool
	}{
		{"+525512349876", "sms", "+525512349876", "", true},
		{"whatsapp:+50937001234", "whatsapp", "+50937001234", "", true},
		{"whatsapp:+5215512349876", "whatsapp", "+525512349876", "+5215512349876", true},
		{"+5215512349876", "sms", "+525512349876", "+5215512349876", true},
		{"5512349876", "", "", "", false},
		{"+12345", "", "", "", false},
		{"whatsapp:", "", "", "", false},
		{"+200000000000", "", "", "", false}, // possible, not valid: each pass used to drop a digit
		{"whatsapp:+20000000000", "", "", "", false},
	}
	for _, tt := range tests {
		ch, n, err := parseAddress(tt.in)
		if (err == nil) != tt.ok || tt.ok && (ch != tt.channel || n != tt.number) {
			t.Errorf("parseAddress(%q): got %q %q %v, want %q %q ok=%v", tt.in, ch, n, err, tt.channel, tt.number, tt.ok)
		}
		ch, n, r, err := phone.Address(tt.in)
		if (err == nil) != tt.ok || tt.ok && (ch != tt.channel || n != tt.number || r != tt.replyTo) {
			t.Errorf("phone.Address(%q): got %q %q %q %v, want %q %q %q ok=%v", tt.in, ch, n, r, err, tt.channel, tt.number, tt.replyTo, tt.ok)
		}
	}
}

// TestStatusCallbackReceipts: a reply whose sender wants to know it arrived
// carries its receipt in the status URL; Twilio's final status reaches the
// sender, and statuses before it do not.
func TestStatusCallbackReceipts(t *testing.T) {
	a := newAdapter(t, newRecorder(), nil)
	r := bot.Reply{ID: "r1", To: "+50499990000", ReceiptTo: "abc123", ReceiptRef: "safe:c1"}
	cb := a.statusCallback(r, sentAsSMS)
	if !strings.HasPrefix(cb, publicURL+StatusPath+"?rcpt=") {
		t.Fatalf("status callback: got %q", cb)
	}
	if got := a.statusCallback(bot.Reply{ID: "r2"}, sentAsSMS); got != publicURL+StatusPath {
		t.Errorf("status callback without receipt: got %q", got)
	}
	path := strings.TrimPrefix(cb, publicURL)
	s := samples(t)
	for _, tt := range []struct {
		status string
		params map[string]string
		want   string
	}{
		{"sent", formParams(s["status_delivered"], map[string]string{"MessageStatus": "sent", "SmsStatus": "sent"}), ""},
		{"delivered", s["status_delivered"], "abc123 r1 safe:c1 true"},
		{"undelivered", s["status_undelivered_30003"], "abc123 r1 safe:c1 false"},
	} {
		t.Run(tt.status, func(t *testing.T) {
			rec := newRecorder()
			a := newAdapter(t, rec, nil)
			resp := post(t, a, path, formOf(tt.params, nil), signedFor(path))
			if resp.Code != 204 {
				t.Fatalf("status: got %d, want 204", resp.Code)
			}
			got := strings.Join(rec.receipts, "|")
			if got != tt.want {
				t.Errorf("receipts: got %q, want %q", got, tt.want)
			}
		})
	}
}

func formParams(base, change map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range base {
		out[k] = v
	}
	for k, v := range change {
		out[k] = v
	}
	return out
}

// TestStatusCallbackEntries: a staff member's reply names its conversation
// entry and the way it went in the status URL; every status Twilio reports
// reaches the entry, with the error code of a failure, and a reference
// Enlace did not write is answered 204 and recorded nowhere.
func TestStatusCallbackEntries(t *testing.T) {
	a := newAdapter(t, newRecorder(), nil)
	r := bot.Reply{ID: "r1", Channel: "whatsapp", To: "+5215512345678", Conv: "c1", Entry: "r-e1"}
	cb := a.statusCallback(r, sentAsTemplate)
	want := url.Values{"entry": {"c1.r-e1." + a.p.Person("whatsapp", r.To)}, "via": {"template"}}.Encode()
	if cb != publicURL+StatusPath+"?"+want {
		t.Fatalf("status callback: got %q, want the entry and the way it went", cb)
	}
	person := "abc123" // the test pipeline's hashes are not names; the real one's are
	path := StatusPath + "?" + url.Values{"entry": {"c1.r-e1." + person}, "via": {"template"}}.Encode()
	s := samples(t)
	for _, tt := range []struct {
		name   string
		path   string
		params map[string]string
		want   string
	}{
		{"sent", path, formParams(s["status_delivered"], map[string]string{"MessageStatus": "sent", "SmsStatus": "sent"}), person + " c1 r-e1 sent template"},
		{"delivered", path, s["status_delivered"], person + " c1 r-e1 delivered template"},
		{"undelivered", path, s["status_undelivered_30003"], person + " c1 r-e1 undelivered template twilio 30003"},
		{"forged", StatusPath + "?entry=c1.r-e1&via=sms", s["status_delivered"], ""},
		{"bad id", StatusPath + "?entry=c%2F1.r-e1." + person + "&via=sms", s["status_delivered"], ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := newRecorder()
			a := newAdapter(t, rec, nil)
			resp := post(t, a, tt.path, formOf(tt.params, nil), signedFor(tt.path))
			if resp.Code != 204 {
				t.Fatalf("status: got %d, want 204", resp.Code)
			}
			if got := strings.Join(rec.entries, "|"); got != tt.want {
				t.Errorf("entries: got %q, want %q", got, tt.want)
			}
		})
	}
}
