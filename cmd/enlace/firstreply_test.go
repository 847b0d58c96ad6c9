package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/enlace-rfl/enlace/bot"
	"github.com/enlace-rfl/enlace/flows"
	"github.com/enlace-rfl/enlace/keyring"
	"github.com/enlace-rfl/enlace/places"
	"github.com/enlace-rfl/enlace/store/embedded"
	"github.com/enlace-rfl/enlace/store/storetest"
)

// firstReplies is a channel that hands each reply to whoever waits for it.
type firstReplies struct {
	mu   sync.Mutex
	got  chan bot.Reply
	name string
}

func (c *firstReplies) Name() string { return c.name }

func (c *firstReplies) Send(_ context.Context, r bot.Reply) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	select {
	case c.got <- r:
	default:
	}
	return nil
}

// BenchmarkFirstReply measures, on the wall clock, how long `serve` on the
// embedded store takes from opening the data directory to delivering its
// first reply (an onboarded person's menu, which asks the directory whether
// it holds places), with a directory of 100,000 places and the gazetteer to
// load. It reports the figure, it asserts nothing about it.
func BenchmarkFirstReply(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	const key = "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
	cfg, err := loadConfig(func(k string) string {
		return map[string]string{"ENLACE_DATA_DIR": dir, "ENLACE_SECRET_KEY": key}[k]
	})
	if err != nil {
		b.Fatal(err)
	}
	keys, err := keyring.Parse(key)
	if err != nil {
		b.Fatal(err)
	}
	st, err := embedded.Open(filepath.Join(dir, "enlace.db"), embedded.Options{})
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(42, 7))
	ps := make([]places.Place, 100_000)
	for i := range ps {
		ps[i] = storetest.TestPlace(fmt.Sprintf("bench-%06d", i), places.Kinds[rng.IntN(len(places.Kinds))],
			7.2+25.5*rng.Float64(), -117.5+40*rng.Float64())
	}
	if err := st.UpsertPlaces(ctx, ps); err != nil {
		b.Fatal(err)
	}
	if err := st.Close(); err != nil {
		b.Fatal(err)
	}
	logger := newLogger(io.Discard, "error")
	msg := func(id, text string) bot.Message {
		return bot.Message{Channel: "telegram", ID: id, From: "1111", LangHint: "es", Input: flows.Input{Kind: flows.InputText, Text: text}}
	}
	// An onboarded person.
	ch := &firstReplies{name: "telegram", got: make(chan bot.Reply, 1)}
	a, err := buildApp(ctx, cfg, keys, logger, nil, ch)
	if err != nil {
		b.Fatal(err)
	}
	for i, text := range []string{"hola", "1", "1"} {
		if _, err := a.pipeline.Accept(ctx, msg(fmt.Sprint(i), text)); err != nil {
			b.Fatal(err)
		}
		if err := a.pipeline.Drain(ctx); err != nil {
			b.Fatal(err)
		}
	}
	a.store.Close()

	var total, worst time.Duration
	n := 0
	for b.Loop() {
		ch := &firstReplies{name: "telegram", got: make(chan bot.Reply, 1)}
		start := time.Now()
		a, err := buildApp(ctx, cfg, keys, logger, nil, ch)
		if err != nil {
			b.Fatal(err)
		}
		run, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { a.pipeline.Run(run); close(done) }()
		if _, err := a.pipeline.Accept(ctx, msg(fmt.Sprint("menu-", n), "menu")); err != nil {
			b.Fatal(err)
		}
		r := <-ch.got
		d := time.Since(start)
		total, worst, n = total+d, max(worst, d), n+1
		if !slices.ContainsFunc(r.Choices, func(c bot.ReplyChoice) bool { return c.ID == "menu.shelters" }) {
			b.Fatalf("first reply %q offers %v, want the menu with the shelter finder", r.Text, r.Choices)
		}
		stop()
		<-done
		a.store.Close()
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(n), "first-reply-ms")
	b.ReportMetric(float64(worst.Milliseconds()), "worst-ms")
}
