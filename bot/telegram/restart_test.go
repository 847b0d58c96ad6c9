package telegram_test

import (
	"bytes"
	"context"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/enlace-rfl/enlace/bot"
	"github.com/enlace-rfl/enlace/bot/telegram"
	"github.com/enlace-rfl/enlace/flows"
	"github.com/enlace-rfl/enlace/keyring"
	"github.com/enlace-rfl/enlace/store/embedded"
)

// TestGroupPostAnsweredOnceAcrossRestart posts the same group message to an
// adapter, then, as Telegram would after a restart, to a new adapter and
// pipeline on the same store: the group gets one answer, not two.
func TestGroupPostAnsweredOnceAcrossRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "enlace.db")
	keys, err := keyring.Parse("t1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")
	if err != nil {
		t.Fatal(err)
	}
	now := func() time.Time { return time.Date(2031, 3, 1, 12, 0, 0, 0, time.UTC) }
	update := fixture(t, "updates/enlace_group_start_at_bot.json")
	sent := 0
	for run := range 2 {
		st, err := embedded.Open(path, embedded.Options{})
		if err != nil {
			t.Fatal(err)
		}
		p := bot.New(bot.Options{Store: st, Keys: keys, Engine: flows.New(flows.Config{}, catalog(t)), Catalog: catalog(t), Clock: now})
		a, srv := newAdapter(t, p, nil)
		p.AddChannel(a)
		req := httptest.NewRequest("POST", "/webhooks/telegram", bytes.NewReader(update))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(telegram.SecretHeader, secret)
		w := httptest.NewRecorder()
		a.ServeHTTP(w, req)
		if w.Code != 200 {
			t.Fatalf("run %d: status %d", run, w.Code)
		}
		if err := p.Drain(context.Background()); err != nil {
			t.Fatal(err)
		}
		a.Wait()
		calls := srv.Calls("sendMessage")
		for _, c := range calls {
			if c.ChatID() != "-1009876543210" {
				t.Errorf("run %d: sent to %s, want the group", run, c.ChatID())
			}
		}
		sent += len(calls)
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if sent != 1 {
		t.Fatalf("the group got %d answers to one post across a restart, want 1", sent)
	}
}
