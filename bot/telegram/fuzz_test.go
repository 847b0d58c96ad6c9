package telegram_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/enlace-rfl/enlace/bot/telegram"
)

// FuzzWebhook posts any body, with the right secret, to the webhook: it
// never panics, answers 200 for every update it can decode (whatever it
// holds) and 400 for what is not an update, never a 5xx while the store is
// up. The seeds are the real updates of testdata/updates (from
// /work/shared/fixtures/telegram) and the crashers found so far
// (testdata/fuzz/FuzzWebhook).
func FuzzWebhook(f *testing.F) {
	files, err := filepath.Glob("testdata/updates/*.json")
	if err != nil || len(files) == 0 {
		f.Fatalf("no seed updates: %v", err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"update_id":1,"message":null}`))
	f.Add([]byte(`{"update_id":1,"message":{"chat":{"id":7,"type":"private"},"text":"/start@x"}}`))
	a, _ := newAdapter(f, newRecorder(), nil)
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest(http.MethodPost, "/telegram", bytes.NewReader(body))
		req.Header.Set(telegram.SecretHeader, secret)
		rec := httptest.NewRecorder()
		a.ServeHTTP(rec, req)
		_, parseErr := telegram.ParseUpdate(body)
		switch {
		case parseErr == nil && rec.Code != http.StatusOK:
			t.Fatalf("a decodable update got %d %q, want 200", rec.Code, rec.Body)
		case parseErr != nil && rec.Code != http.StatusBadRequest:
			t.Fatalf("what is not an update (%v) got %d, want 400", parseErr, rec.Code)
		}
	})
}
