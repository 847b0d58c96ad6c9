package bot_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/enlace-rfl/enlace/bot"
	"github.com/enlace-rfl/enlace/store/embedded"
)

// arrivalPipeline is a pipeline that handles messages as they arrive
// (Config.HandleOnArrival), as serve has it on the embedded store.
func arrivalPipeline(t *testing.T, st bot.Store, clk *clock, rec *recorder) *bot.Pipeline {
	cfg := testConfig
	cfg.HandleOnArrival = true
	return newPipelineWith(t, st, clk.Now, cfg, rec)
}

func openEmbedded(t *testing.T) *embedded.Store {
	t.Helper()
	st, err := embedded.Open(t.TempDir()+"/enlace.db", embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// TestHandleOnArrival: handled as they arrive, messages give a person
// exactly what recording them and handling them in turn gives, once each,
// in order; a message delivered again is not handled again, nor is one
// delivered twice at once; a message whose person has one waiting, or is
// being handled, is recorded and handled after it by the workers; a crash before the commit leaves nothing,
// and the provider's redelivery is handled once; a provider that hangs up
// does not stop a message being handled.
func TestHandleOnArrival(t *testing.T) {
	script := []string{"hola", "1", "1", "menu", "ayuda"}
	want := referenceTexts(t, script)
	const from = "+5215500000777"

	t.Run("as recorded", func(t *testing.T) {
		st, rec, clk := openEmbedded(t), newRecorder("sms"), newClock()
		p := arrivalPipeline(t, st, clk, rec)
		for j, text := range script {
			writes := st.WriteTransactions()
			if !accept(t, p, msg(from, fmt.Sprintf("AR%d", j), text)) {
				t.Fatalf("message %d: not fresh", j)
			}
			if st.WriteTransactions()-writes != 1 {
				t.Errorf("message %d: %d writes to accept and handle it, want 1", j, st.WriteTransactions()-writes)
			}
			if n, _ := st.Pending(context.Background(), bot.QueueInbound); n != 0 {
				t.Errorf("message %d: %d people left in the inbound queue, want none", j, n)
			}
			drain(t, p)
		}
		equal(t, "replies", rec.texts(from), want)
	})

	t.Run("delivered again", func(t *testing.T) {
		st, rec, clk := openEmbedded(t), newRecorder("sms"), newClock()
		p := arrivalPipeline(t, st, clk, rec)
		for j, text := range script {
			m := msg(from, fmt.Sprintf("AR%d", j), text)
			accept(t, p, m)
			if accept(t, p, m) {
				t.Errorf("message %d delivered again: fresh, want a duplicate", j)
			}
			drain(t, p)
		}
		equal(t, "replies", rec.texts(from), want)
	})

	t.Run("delivered twice at once", func(t *testing.T) {
		st, rec, clk := openEmbedded(t), newRecorder("sms"), newClock()
		p := arrivalPipeline(t, st, clk, rec)
		for j, text := range script {
			m := msg(from, fmt.Sprintf("AR%d", j), text)
			var fresh atomic.Int32
			var wg sync.WaitGroup
			for range 4 {
				wg.Go(func() {
					if ok, err := p.Accept(context.Background(), m); err != nil {
						t.Error(err)
					} else if ok {
						fresh.Add(1)
					}
				})
			}
			wg.Wait()
			if fresh.Load() != 1 {
				t.Errorf("message %d delivered 4 times at once: %d fresh, want 1", j, fresh.Load())
			}
			drain(t, p)
		}
		equal(t, "replies", rec.texts(from), want)
	})

	t.Run("waits behind a recorded message", func(t *testing.T) {
		st, rec, clk := openEmbedded(t), newRecorder("sms"), newClock()
		queued := newPipelineWith(t, st, clk.Now, testConfig, rec)
		p := arrivalPipeline(t, st, clk, rec)
		for j, text := range script {
			// Every other message finds the one before it still waiting.
			via := p
			if j%2 == 0 {
				via = queued
			}
			accept(t, via, msg(from, fmt.Sprintf("AR%d", j), text))
			if j%2 == 1 {
				drain(t, p)
			}
		}
		drain(t, p)
		equal(t, "replies", rec.texts(from), want)
	})

	t.Run("one that comes meanwhile is left to the workers", func(t *testing.T) {
		st, rec, clk := openEmbedded(t), newRecorder("sms"), newClock()
		p := arrivalPipeline(t, st, clk, rec)
		for j := 0; j < len(script); j += 2 {
			first := msg(from, fmt.Sprintf("AR%d", j), script[j])
			var second *bot.Message
			if j+1 < len(script) {
				m := msg(from, fmt.Sprintf("AR%d", j+1), script[j+1])
				second = &m
			}
			bot.SetCrashHook(p, func(step string) {
				if step == "before-commit" && second != nil {
					m := *second
					second = nil
					accept(t, p, m) // arrives while the first is handled: stored
				}
			})
			accept(t, p, first)
			bot.SetCrashHook(p, nil)
			if j+1 < len(script) {
				if _, err := st.NextInbound(context.Background(), p.Person("sms", from)); err != nil {
					t.Fatalf("message %d, come meanwhile: %v; want it in the inbox for the workers", j+1, err)
				}
			}
			drain(t, p)
		}
		equal(t, "replies", rec.texts(from), want)
	})

	t.Run("crash before the commit", func(t *testing.T) {
		st, rec, clk := openEmbedded(t), newRecorder("sms"), newClock()
		p := arrivalPipeline(t, st, clk, rec)
		for j, text := range script {
			m := msg(from, fmt.Sprintf("AR%d", j), text)
			writes := st.WriteTransactions()
			bot.SetCrashHook(p, func(step string) {
				if step == "before-commit" {
					panic("killed")
				}
			})
			func() {
				defer func() { recover() }()
				_, _ = p.Accept(context.Background(), m) // the webhook is never answered
			}()
			bot.SetCrashHook(p, nil)
			if got := st.WriteTransactions() - writes; got != 0 {
				t.Errorf("message %d: a crash before the commit left %d writes, want none", j, got)
			}
			if !accept(t, p, m) { // the provider delivers it again
				t.Errorf("message %d redelivered after the crash: a duplicate, want it handled", j)
			}
			drain(t, p)
		}
		equal(t, "replies", rec.texts(from), want)
	})

	t.Run("the provider hangs up", func(t *testing.T) {
		st, rec, clk := openEmbedded(t), newRecorder("sms"), newClock()
		p := arrivalPipeline(t, st, clk, rec)
		for j, text := range script {
			ctx, cancel := context.WithCancel(context.Background())
			cancel() // gone before the message is handled
			if fresh, err := p.Accept(ctx, msg(from, fmt.Sprintf("AR%d", j), text)); err != nil || !fresh {
				t.Fatalf("message %d, its request gone: fresh=%v %v; want it handled all the same", j, fresh, err)
			}
			drain(t, p)
		}
		equal(t, "replies", rec.texts(from), want)
	})

	t.Run("many people at once with the workers running", func(t *testing.T) {
		st, rec := openEmbedded(t), newRecorder("sms")
		cfg := testConfig
		cfg.HandleOnArrival = true
		cfg.Poll = 10 * time.Millisecond
		p := newPipelineWith(t, st, time.Now, cfg, rec)
		ctx, stop := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { p.Run(ctx); close(done) }()
		const people = 30
		var wg sync.WaitGroup
		for i := range people {
			wg.Go(func() {
				for j, text := range script {
					m := msg(fmt.Sprintf("+52155%08d", 9000+i), fmt.Sprintf("MP%d-%d", i, j), text)
					if _, err := p.Accept(context.Background(), m); err != nil {
						t.Error(err)
					}
				}
			})
		}
		wg.Wait()
		// A failure timeout only: pass or fail is by what was delivered.
		for deadline := time.Now().Add(time.Minute); rec.count() < people*len(want) && time.Now().Before(deadline); {
			time.Sleep(10 * time.Millisecond)
		}
		waitIdle(t, st, bot.QueueInbound, bot.QueueOutbound, bot.LaneQueue("sms"))
		stop()
		<-done
		for i := range people {
			if got := rec.texts(fmt.Sprintf("+52155%08d", 9000+i)); !slices.Equal(got, want) {
				t.Errorf("person %d:\n got %q\nwant %q", i, got, want)
			}
		}
	})
}
