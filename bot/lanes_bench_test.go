package bot_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/enlace-rfl/enlace/bot"
	"github.com/enlace-rfl/enlace/bot/telegram"
	"github.com/enlace-rfl/enlace/bot/telegram/telegramtest"
	"github.com/enlace-rfl/enlace/bot/twilio"
	"github.com/enlace-rfl/enlace/bot/twilio/twiliotest"
	"github.com/enlace-rfl/enlace/flows"
	"github.com/enlace-rfl/enlace/keyring"
	redisstore "github.com/enlace-rfl/enlace/store/redis"
	"github.com/enlace-rfl/enlace/store/redis/redistest"
)

// BenchmarkTelegramWithSMSBacklog is issue 13's first figure: the pipeline
// runs (Run, wall clock, a real Redis) with the real Telegram and Twilio
// adapters on local stand-ins of the Bot API and the Messages API. First a
// backlog of SMS replies is queued at TWILIO_RATE=1 (a long code: it takes
// minutes); then each iteration writes from 60 new Telegram chats, and the
// benchmark times until the stand-in has every reply. It reports Telegram
// replies a second (tg-msg/s), that as a share of Telegram's 30/s
// (pct-of-30/s), and how many replies were counted as failed (retries or dead
// letters: waiting must count as neither) and how many SMS left meanwhile.
// Its sub-benchmark without a backlog is the same run's baseline.
func BenchmarkTelegramWithSMSBacklog(b *testing.B) {
	for _, backlog := range []int{0, 200} {
		b.Run(fmt.Sprintf("sms-backlog=%d", backlog), func(b *testing.B) { benchTelegramWithSMS(b, backlog) })
	}
}

func benchTelegramWithSMS(b *testing.B, smsBacklog int) {
	const (
		perRound  = 60
		tgToken   = "123456:BENCH-token_abc"
		sid       = "AC00000000000000000000000000000000"
		authToken = "f00dfeedf00dfeedf00dfeedf00dfeed"
	)
	srv := redistest.Start(b)
	st, err := redisstore.Open(context.Background(), srv.URL, redisstore.Options{Prefix: srv.NewPrefix()})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	keys, err := keyring.Parse(testKey)
	if err != nil {
		b.Fatal(err)
	}
	quiet := slog.New(slog.NewJSONHandler(io.Discard, nil))
	reg := prometheus.NewRegistry()
	metrics := bot.NewMetrics(reg, st)
	p := bot.New(bot.Options{Store: st, Keys: keys, Engine: flows.New(flows.Config{}, catalog), Catalog: catalog,
		Logger: quiet, Metrics: metrics})

	tgAPI := telegramtest.New(b, tgToken)
	tg, err := telegram.New(telegram.Config{Token: tgToken, APIURL: tgAPI.URL, Pipeline: p, Texts: catalog, Logger: quiet})
	if err != nil {
		b.Fatal(err)
	}
	p.AddChannel(tg)
	smsAPI := twiliotest.NewAPI(b, sid, authToken)
	tw, err := twilio.New(twilio.Config{AccountSID: sid, AuthToken: authToken, From: "+15005550006", APIURL: smsAPI.URL,
		PublicURL: "https://enlace.example.org", Rate: 1, Catalog: catalog, Logger: quiet}, p)
	if err != nil {
		b.Fatal(err)
	}
	for _, ch := range tw.Channels() {
		p.AddChannel(ch)
	}

	ctx := context.Background()
	for i := range smsBacklog {
		if _, err := p.Accept(ctx, msg(fmt.Sprintf("+5255400%05d", i), fmt.Sprintf("SMb%d", i), "hola")); err != nil {
			b.Fatal(err)
		}
	}
	run, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { p.Run(run); close(done) }()
	defer func() { stop(); <-done }()
	// The SMS lane is busy on its backlog before Telegram traffic starts.
	for deadline := time.Now().Add(10 * time.Second); smsBacklog > 0 && len(smsAPI.Calls()) == 0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}

	chat := 0
	var busy time.Duration
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		want := len(tgAPI.Calls("sendMessage")) + perRound
		for range perRound {
			chat++
			m := bot.Message{Channel: "telegram", ID: fmt.Sprint(chat), From: fmt.Sprint(100000 + chat),
				Input: flows.Input{Kind: flows.InputText, Text: "hola"}}
			if _, err := p.Accept(ctx, m); err != nil {
				b.Fatal(err)
			}
		}
		tgAPI.WaitCalls(b, "sendMessage", want, time.Minute)
		busy += time.Since(start)
	}
	b.StopTimer()
	rate := float64(b.N*perRound) / busy.Seconds()
	b.ReportMetric(rate, "tg-msg/s")
	b.ReportMetric(100*rate/30, "pct-of-30/s")
	sms := 0
	for _, c := range smsAPI.Calls() {
		if c.Status == 201 {
			sms++
		}
	}
	dead, err := st.CountDeadLetters(ctx)
	if err != nil {
		b.Fatal(err)
	}
	failed := int(dead) + outcomes(b, reg, "retry")
	b.ReportMetric(float64(failed), "failed")
	b.ReportMetric(float64(sms), "sms-sent")
	if failed > 0 {
		if ls, err := p.DeadLetters(ctx, 3); err == nil {
			for _, l := range ls {
				b.Logf("dead letter on %s: %s", l.Channel, l.Reason)
			}
		}
		b.Errorf("%d replies counted as failed while waiting (dead letters %d)", failed, dead)
	}
}

// outcomes sums the pipeline's outbound counter for one outcome, all channels.
func outcomes(b *testing.B, reg *prometheus.Registry, outcome string) int {
	mfs, err := reg.Gather()
	if err != nil {
		b.Fatal(err)
	}
	n := 0.0
	for _, mf := range mfs {
		if mf.GetName() != "enlace_outbound_messages_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "outcome" && l.GetValue() == outcome {
					n += m.GetCounter().GetValue()
				}
			}
		}
	}
	return int(n)
}
