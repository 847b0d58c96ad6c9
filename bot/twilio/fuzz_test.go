package twilio

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/enlace-rfl/enlace/bot/twilio/twiliotest"
)

// FuzzWebhook posts any form body, signed as Twilio signs, to the inbound and
// the status webhooks, with any receipt reference: they never panic and
// never answer 5xx while the store is up (a signed request that cannot be
// used gets a 4xx or 204, so Twilio does not retry it for ever). A body that
// is not a form cannot be signed and is refused. The seeds are the real
// webhook posts of testdata/webhook_samples.json (from
// /work/shared/fixtures/twilio) and the crashers found so far
// (testdata/fuzz/FuzzWebhook).
func FuzzWebhook(f *testing.F) {
	for _, params := range samples(f) {
		body := formOf(params, nil).Encode()
		f.Add(false, body, "")
		f.Add(true, body, "")
		f.Add(true, body, "m1.0123456789abcdef.r1")
	}
	f.Add(false, "From=%2B5215512345678&MessageSid=SM1&Body=%F0%9F%99%82&NumMedia=x", "")
	f.Add(true, "To=whatsapp%3A%2B52&MessageStatus=delivered&ErrorCode=30003", "a..")
	a := newAdapter(f, newRecorder(), nil)
	mux := http.NewServeMux()
	a.Register(mux)
	f.Fuzz(func(t *testing.T, status bool, body, ref string) {
		path := InboundPath
		if status {
			path = StatusPath
		}
		if ref != "" {
			path += "?" + receiptParam + "=" + url.QueryEscape(ref)
		}
		req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		form, formErr := url.ParseQuery(body)
		if formErr == nil {
			req.Header.Set("X-Twilio-Signature", twiliotest.Sign(testToken, publicURL+path, form))
		}
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		switch {
		case rec.Code >= 500:
			t.Fatalf("%s answered %d %q", path, rec.Code, rec.Body)
		case formErr == nil && rec.Code == http.StatusForbidden:
			t.Fatalf("%s refused Twilio's own signature of %q", path, body)
		case formErr != nil && rec.Code < 400:
			t.Fatalf("%s took a body that is not a form (%v): %d", path, formErr, rec.Code)
		}
	})
}
