package embedded_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/enlace-rfl/enlace/bot"
	"github.com/enlace-rfl/enlace/bot/faketime"
	"github.com/enlace-rfl/enlace/flows"
	"github.com/enlace-rfl/enlace/keyring"
	"github.com/enlace-rfl/enlace/locales"
	"github.com/enlace-rfl/enlace/store/embedded"
)

// inbox is a channel that keeps what it delivers.
type inbox struct {
	name string
	mu   sync.Mutex
	sent []bot.Reply
}

func (c *inbox) Name() string { return c.name }

func (c *inbox) Send(_ context.Context, r bot.Reply) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sent = append(c.sent, r)
	return nil
}

func (c *inbox) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.sent)
}

// servePipeline is a pipeline wired as `enlace serve` wires it on the
// embedded store (sessions, volunteer inbox and tracing cases in one file),
// on a fake clock, with a Telegram and an SMS channel.
func servePipeline(t *testing.T, st *embedded.Store, clk *faketime.Clock) (*bot.Pipeline, *inbox) {
	t.Helper()
	cat, err := locales.Load()
	if err != nil {
		t.Fatal(err)
	}
	keys, err := keyring.Parse("t1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")
	if err != nil {
		t.Fatal(err)
	}
	tg := &inbox{name: "telegram"}
	p := bot.New(bot.Options{
		Store: st, Conversations: st, Cases: st, Keys: keys, Catalog: cat,
		Engine:   flows.New(flows.Config{Tracing: true}, cat),
		Channels: []bot.Channel{tg, &inbox{name: "sms"}},
		Clock:    clk.Now,
		Config:   bot.Config{HandleOnArrival: true}, // as serve sets it
	})
	return p, tg
}

// idlePass is what `serve` does while nothing happens, once: every handling
// worker's pass (timers, inbound, new replies to their lanes) and every
// lane worker's claim (Drain runs both), and, every minute, the sweep and the
// volunteers' stale claims (bot.Run's sweepLoop).
func idlePass(t *testing.T, p *bot.Pipeline, sweep bool) {
	t.Helper()
	ctx := context.Background()
	if err := p.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	if !sweep {
		return
	}
	if err := p.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := p.ReleaseStaleClaims(ctx); err != nil {
		t.Fatal(err)
	}
}

func tgMessage(i int, text string) bot.Message {
	return bot.Message{Channel: "telegram", ID: fmt.Sprint(i), From: "1111", LangHint: "es",
		Input: flows.Input{Kind: flows.InputText, Text: text}}
}

// TestIdleWritesNothing runs serve's loop on an idle store for ten simulated
// minutes, polling every 250 ms as Run does, and counts write transactions
// (the store's own count, and bbolt's pages written): none. A person has
// written before, so there are sessions, dedupe marks and queues to look at.
// Once their dedupe marks expire, a sweep does write, once.
func TestIdleWritesNothing(t *testing.T) {
	st := open(t, filepath.Join(t.TempDir(), "enlace.db"))
	clk := faketime.New()
	p, tg := servePipeline(t, st, clk)
	ctx := context.Background()
	for i, text := range []string{"hola", "1", "1", "menu"} {
		if _, err := p.Accept(ctx, tgMessage(i, text)); err != nil {
			t.Fatal(err)
		}
		idlePass(t, p, true)
	}
	if tg.count() == 0 {
		t.Fatal("no reply: the person was not served")
	}
	clk.Advance(time.Second)
	idlePass(t, p, true)

	writes, pages := st.WriteTransactions(), pagesWritten(st)
	passes := 0
	for step := time.Duration(0); step < 10*time.Minute; step += 250 * time.Millisecond {
		clk.Advance(250 * time.Millisecond)
		passes++
		idlePass(t, p, passes%240 == 0) // a sweep every simulated minute
	}
	gotWrites, gotPages := st.WriteTransactions()-writes, pagesWritten(st)-pages
	t.Logf("idle for 10 simulated minutes, %d passes: %d write transactions, %d pages written", passes, gotWrites, gotPages)
	if gotWrites != 0 || gotPages != 0 {
		t.Errorf("idle: %d write transactions and %d pages written, want none", gotWrites, gotPages)
	}

	// Something to expire: the dedupe marks (48 h) and the dialog.
	clk.Advance(49 * time.Hour)
	writes = st.WriteTransactions()
	idlePass(t, p, true)
	idlePass(t, p, true)
	if got := st.WriteTransactions() - writes; got != 1 {
		t.Errorf("two sweeps after the dedupe marks expired wrote %d times, want once", got)
	}
}

// TestWritesPerMessage counts the write transactions from accepting one
// message of an onboarded person until its reply is delivered and nothing is
// left to do, wired as serve wires it (issue 13: at most two).
func TestWritesPerMessage(t *testing.T) {
	st := open(t, filepath.Join(t.TempDir(), "enlace.db"))
	clk := faketime.New()
	p, tg := servePipeline(t, st, clk)
	ctx := context.Background()
	for i, text := range []string{"hola", "1", "1"} {
		if _, err := p.Accept(ctx, tgMessage(i, text)); err != nil {
			t.Fatal(err)
		}
		idlePass(t, p, false)
		clk.Advance(time.Second)
	}
	const n = 20
	writes := st.WriteTransactions()
	for i := range n {
		before := tg.count()
		if _, err := p.Accept(ctx, tgMessage(100+i, "menu")); err != nil {
			t.Fatal(err)
		}
		idlePass(t, p, false)
		if tg.count() == before {
			t.Fatalf("message %d: no reply", i)
		}
		clk.Advance(2 * time.Second) // past the per-recipient pace
	}
	per := float64(st.WriteTransactions()-writes) / n
	t.Logf("write transactions per message (accept to reply delivered, then idle): %.1f", per)
	if per > maxWritesPerMessage {
		t.Errorf("%.1f write transactions per message, want at most %d", per, maxWritesPerMessage)
	}
}

// maxWritesPerMessage is what TestWritesPerMessage allows (35 before
// claims, sweeps, locks and leases stopped writing, handling became one
// Finish and delivery one FinishOutbound, 3 before a message whose person is
// free was handled as it arrived): the commit of the handled message, which
// also marks it seen, with its reply, before the webhook is answered; and the
// acknowledgement after the provider took the reply, with the person's
// release. Each must be durable before the next step depends on it.
const maxWritesPerMessage = 2

// pagesWritten is bbolt's own count of pages written to the file.
func pagesWritten(st *embedded.Store) int64 {
	stats := st.DB().Stats()
	return stats.TxStats.GetWrite()
}

// TestClaimsEndWithTheProcess claims a person's work and reopens the file, as
// a restart after a crash does: claims are kept in memory, so the work is
// ready at once, not when the dead process's lease would have run out.
func TestClaimsEndWithTheProcess(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "enlace.db")
	now := faketime.Epoch
	s, err := embedded.Open(path, embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Schedule(ctx, bot.QueueInbound, "p1", now); err != nil {
		t.Fatal(err)
	}
	if cs, err := s.Claim(ctx, bot.QueueInbound, now, time.Minute, 1); err != nil || len(cs) != 1 {
		t.Fatalf("claim: %v, %v; want p1", cs, err)
	}
	if cs, _ := s.Claim(ctx, bot.QueueInbound, now, time.Minute, 1); len(cs) != 0 {
		t.Fatalf("second claim in the lease: %v, want none", cs)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, path)
	if cs, err := s.Claim(ctx, bot.QueueInbound, now, time.Minute, 1); err != nil || len(cs) != 1 || cs[0].Person != "p1" {
		t.Fatalf("claim after reopening: %v, %v; want p1 at once", cs, err)
	}
}
