package bot_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/enlace-rfl/enlace/bot"
	"github.com/enlace-rfl/enlace/flows"
	"github.com/enlace-rfl/enlace/keyring"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// TestLogsCarryNoPersonalData runs a conversation with retries, a provider
// error that echoes the number, a dead letter, an escalation and an erase, at
// debug level, and checks that no phone number or typed text reaches the logs.
func TestLogsCarryNoPersonalData(t *testing.T) {
	const phone = "+50237001234"
	const typed = "Soy Rosa, estoy en Tecún Umán"
	st := backends(t)[0].open(t)
	defer st.Close()
	var logs lockedBuffer
	keys, _ := keyring.Parse(testKey)
	rec := newRecorder("sms")
	rec.fail = func(r bot.Reply, attempt int) error {
		if attempt == 1 {
			return fmt.Errorf("twilio 21211: The 'To' number %s is not a valid phone number", r.To)
		}
		return nil
	}
	clk := newClock()
	p := bot.New(bot.Options{
		Config: testConfig, Store: st, Keys: keys, Engine: flows.New(flows.Config{}, catalog), Catalog: catalog,
		Channels: []bot.Channel{rec}, Clock: clk.Now,
		Logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	for i, text := range []string{"hola", "1", "1", typed, typed, typed, "1", "borrar", "1"} {
		accept(t, p, msg(phone, fmt.Sprintf("SM%d", i), text))
		drain(t, p)
		clk.Advance(10 * time.Second)
		drain(t, p)
	}
	letters, err := p.DeadLetters(context.Background(), 10)
	if err != nil {
		t.Fatal(err)
	}
	out := logs.b.String()
	if !strings.Contains(out, "escalation recorded") || !strings.Contains(out, "will retry") {
		t.Fatalf("the logs lack the events this test provokes:\n%s", out)
	}
	for _, s := range []string{phone, "37001234", "Rosa", "Tecún", "Tecun"} {
		if strings.Contains(out, s) {
			t.Errorf("logs contain %q:\n%s", s, out)
		}
		for _, l := range letters {
			if strings.Contains(l.Reason, s) {
				t.Errorf("dead letter reason contains %q: %q", s, l.Reason)
			}
		}
	}
}
