package twilio

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/enlace-rfl/enlace/bot/twilio/twiliotest"
)

// countingReader counts the bytes the handler read of a body.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// TestWebhookBodiesAreCapped posts the real fixtures, signed, with bodies up
// to and past the caps: the longest message Twilio can deliver is taken; a
// bigger body gets 413 and nothing is recorded, whether it announces its
// length or not; an unsigned one is refused without being read.
func TestWebhookBodiesAreCapped(t *testing.T) {
	s := samples(t)
	tests := []struct {
		name, path, sample string
		change             map[string]string
		chunked, unsigned  bool
		want               int
		accepted           int
	}{
		{name: "the fixture", path: InboundPath, sample: "sms_inbound_text", want: 200, accepted: 1},
		{name: "1,600 accented letters", path: InboundPath, sample: "sms_inbound_text", change: map[string]string{"Body": strings.Repeat("é", 1600)}, want: 200, accepted: 1},
		{name: "1,600 three-byte characters", path: InboundPath, sample: "sms_inbound_text", change: map[string]string{"Body": strings.Repeat("€", 1600)}, want: 200, accepted: 1},
		{name: "800 emoji", path: InboundPath, sample: "whatsapp_inbound_text", change: map[string]string{"Body": strings.Repeat("🙂", 800)}, want: 200, accepted: 1},
		{name: "past the cap", path: InboundPath, sample: "sms_inbound_text", change: map[string]string{"Body": strings.Repeat("a", MaxInboundBody)}, want: 413},
		{name: "past the cap, no length given", path: InboundPath, sample: "sms_inbound_text", change: map[string]string{"Body": strings.Repeat("a", MaxInboundBody)}, chunked: true, want: 413},
		{name: "unsigned and big", path: InboundPath, sample: "sms_inbound_text", change: map[string]string{"Body": strings.Repeat("a", MaxInboundBody)}, unsigned: true, want: 403},
		{name: "status fixture", path: StatusPath, sample: "status_delivered", want: 204},
		{name: "status past its cap", path: StatusPath, sample: "status_delivered", change: map[string]string{"ErrorMessage": strings.Repeat("x", MaxStatusBody)}, want: 413},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := newRecorder()
			a := newAdapter(t, rec, nil)
			mux := http.NewServeMux()
			a.Register(mux)
			form := formOf(s[tt.sample], tt.change)
			// The fixtures name their own account and numbers; the adapter is ours.
			form.Set("AccountSid", testSID)
			body := &countingReader{r: strings.NewReader(form.Encode())}
			req := httptest.NewRequest("POST", tt.path, body)
			if tt.chunked {
				req.ContentLength = -1
			} else {
				req.ContentLength = int64(len(form.Encode()))
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if !tt.unsigned {
				req.Header.Set("X-Twilio-Signature", twiliotest.Sign(testToken, publicURL+tt.path, form))
			}
			w := httptest.NewRecorder()
			mux.ServeHTTP(w, req)
			if w.Code != tt.want {
				t.Fatalf("status: got %d, want %d (%s)", w.Code, tt.want, w.Body.String())
			}
			if got := len(rec.accepted) + len(rec.notices); got != tt.accepted {
				t.Errorf("recorded %d message(s), want %d", got, tt.accepted)
			}
			limit := MaxInboundBody
			if tt.path == StatusPath {
				limit = MaxStatusBody
			}
			switch {
			case tt.unsigned && body.n != 0:
				t.Errorf("read %d bytes of an unsigned request, want none", body.n)
			case tt.want == 413 && !tt.chunked && body.n != 0:
				t.Errorf("read %d bytes of a request announcing %d, want none", body.n, req.ContentLength)
			case body.n > limit+1:
				t.Errorf("read %d bytes, want at most %d", body.n, limit+1)
			}
		})
	}
}
