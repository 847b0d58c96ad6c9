package twilio

import (
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/enlace-rfl/enlace/bot/twilio/twiliotest"
)

type vector struct {
	ID        string         `json:"id"`
	AuthToken string         `json:"auth_token"`
	Request   string         `json:"request_url"`
	Signed    string         `json:"signed_url"`
	Params    map[string]any `json:"params"`
	Body      *string        `json:"body"`
	Signature string         `json:"x_twilio_signature"`
	Valid     bool           `json:"expected_valid"`
}

func vectors(t *testing.T) []vector {
	t.Helper()
	raw, err := os.ReadFile("testdata/twilio_signature_vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Vectors []vector `json:"vectors"`
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Vectors) != 20 {
		t.Fatalf("got %d vectors, want the 20 official ones", len(f.Vectors))
	}
	return f.Vectors
}

// form is a vector's parameters as a form (a list is a repeated name).
func (v vector) form() url.Values {
	f := url.Values{}
	for k, val := range v.Params {
		switch val := val.(type) {
		case string:
			f.Add(k, val)
		case []any:
			for _, x := range val {
				f.Add(k, x.(string))
			}
		}
	}
	return f
}

// TestSignatureVectors posts each official vector to the adapter's webhook
// check, with the public URL set to the vector's scheme and host.
func TestSignatureVectors(t *testing.T) {
	for _, v := range vectors(t) {
		t.Run(v.ID, func(t *testing.T) {
			u, err := url.Parse(v.Request)
			if err != nil {
				t.Fatal(err)
			}
			base := u.Scheme + "://" + u.Host
			if u.User != nil {
				base = u.Scheme + "://" + u.User.String() + "@" + u.Host
			}
			a := newAdapter(t, newRecorder(), func(c *Config) { c.AuthToken, c.PublicURL = v.AuthToken, base })
			body := v.form().Encode()
			if v.Body != nil {
				body = *v.Body
			}
			target := strings.TrimPrefix(v.Request, base)
			req := httptest.NewRequest("POST", target, strings.NewReader(body))
			req.Header.Set("X-Twilio-Signature", v.Signature)
			rec := httptest.NewRecorder()
			_, got := a.verify(rec, req, MaxInboundBody)
			if got != v.Valid {
				t.Errorf("verify: got %v (status %d), want %v", got, rec.Code, v.Valid)
			}
			if !got && rec.Code != 403 {
				t.Errorf("rejected with %d, want 403", rec.Code)
			}
		})
	}
}

// TestSignerAgreesWithVectors checks the tests' own signer, written from the
// algorithm and not from twilio-go, against the official vectors.
func TestSignerAgreesWithVectors(t *testing.T) {
	for _, v := range vectors(t) {
		t.Run(v.ID, func(t *testing.T) {
			form := v.form()
			if v.Body != nil {
				if strings.Contains(v.Signed, "bodySHA256=") {
					form = nil // JSON bodies: the URL alone is signed
				} else if f, err := url.ParseQuery(*v.Body); err == nil {
					form = f
				}
			}
			got := twiliotest.Sign(v.AuthToken, v.Signed, form)
			if (got == v.Signature) != v.Valid {
				t.Errorf("Sign: got %s, vector %s (valid %v)", got, v.Signature, v.Valid)
			}
		})
	}
}

func TestMissingSignatureIs403(t *testing.T) {
	a := newAdapter(t, newRecorder(), nil)
	req := httptest.NewRequest("POST", InboundPath, strings.NewReader("Body=hi"))
	rec := httptest.NewRecorder()
	if _, ok := a.verify(rec, req, MaxInboundBody); ok || rec.Code != 403 {
		t.Errorf("no signature: got ok=%v status %d, want 403", ok, rec.Code)
	}
}
