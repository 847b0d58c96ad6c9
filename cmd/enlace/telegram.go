package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/enlace-rfl/enlace/bot/telegram"
	"github.com/enlace-rfl/enlace/locales"
)

// telegramOptions are the variables the Telegram channel reads.
func telegramOptions() []option {
	return []option{
		{"TELEGRAM_BOT_TOKEN", "", "The Telegram bot's token from BotFather. `serve` connects Telegram when it is set."},
		{"TELEGRAM_WEBHOOK_SECRET", "", "Secret Telegram sends with every webhook request (`X-Telegram-Bot-Api-Secret-Token`): 32 to 256 of `A-Z a-z 0-9 _ -` (`openssl rand -hex 32` makes one); requests without it get 401. Required in webhook mode."},
		{"TELEGRAM_MODE", "", "`webhook` (Telegram posts to `ENLACE_PUBLIC_URL/webhooks/telegram`; the default when `ENLACE_PUBLIC_URL` is set) or `polling` (long polling, for deployments without a public address; the default otherwise)."},
		{"TELEGRAM_API_URL", telegram.DefaultAPIURL, "The Bot API server: Telegram's, or a self-hosted `telegram-bot-api` (or a test stand-in)."},
	}
}

// prepareTelegram reads Telegram's configuration; when TELEGRAM_BOT_TOKEN is
// set, it returns what connects the webhook (registered with Telegram in the
// background until it succeeds) or the long-polling loop, and the channel
// that sends replies.
func prepareTelegram(cfg config) (connectFunc, error) {
	token := cfg.get("TELEGRAM_BOT_TOKEN")
	if token == "" {
		return nil, nil
	}
	publicURL := strings.TrimRight(cfg.get("ENLACE_PUBLIC_URL"), "/")
	mode := cfg.get("TELEGRAM_MODE")
	if mode == "" {
		mode = "polling"
		if publicURL != "" {
			mode = "webhook"
		}
	}
	secret := cfg.get("TELEGRAM_WEBHOOK_SECRET")
	switch mode {
	case "webhook":
		if publicURL == "" {
			return nil, fmt.Errorf("configuration: TELEGRAM_MODE=webhook needs ENLACE_PUBLIC_URL, the public address Telegram posts to")
		}
		if secret == "" {
			return nil, fmt.Errorf("configuration: TELEGRAM_WEBHOOK_SECRET: webhook mode needs a secret of %d to 256 characters A-Z, a-z, 0-9, _ or - (make one with `openssl rand -hex 32`)", telegram.MinSecretLen)
		}
		if err := telegram.CheckSecret(secret); err != nil {
			return nil, fmt.Errorf("configuration: TELEGRAM_WEBHOOK_SECRET: %w", err)
		}
	case "polling":
		secret = "" // nothing may come in by webhook
	default:
		return nil, fmt.Errorf("configuration: TELEGRAM_MODE: want webhook or polling")
	}
	apiURL := cfg.get("TELEGRAM_API_URL")
	return func(ctx context.Context, s serveEnv) error {
		return connectTelegram(ctx, s, token, apiURL, secret, mode, publicURL)
	}, nil
}

// connectTelegram starts Telegram in the mode prepareTelegram chose.
func connectTelegram(ctx context.Context, s serveEnv, token, apiURL, secret, mode, publicURL string) error {
	cat, err := locales.Load()
	if err != nil {
		return err
	}
	log := s.logger.With("channel", telegram.ChannelName)
	a, err := telegram.New(telegram.Config{
		Token: token, APIURL: apiURL, WebhookSecret: secret,
		Pipeline: s.pipeline, Texts: cat, Logger: log,
	})
	if err != nil {
		return err
	}
	s.pipeline.AddChannel(a)
	s.wg.Add(1)
	switch mode {
	case "webhook":
		s.mux.Handle("POST /webhooks/telegram", a)
		go func() {
			defer s.wg.Done()
			registerTelegramWebhook(ctx, a, publicURL+"/webhooks/telegram", log)
			<-ctx.Done()
			a.Wait()
		}()
	case "polling":
		go func() {
			defer s.wg.Done()
			a.Poll(ctx)
			a.Wait()
		}()
	}
	log.Info("telegram connected", "mode", mode)
	return nil
}

// registerTelegramWebhook calls setWebhook until it succeeds or ctx ends, so a
// Bot API that is briefly unreachable at start does not stop serve.
func registerTelegramWebhook(ctx context.Context, a *telegram.Adapter, url string, log interface {
	Info(string, ...any)
	Warn(string, ...any)
}) {
	wait := time.Second
	for {
		call, cancel := context.WithTimeout(ctx, 15*time.Second)
		err := a.RegisterWebhook(call, url)
		cancel()
		if err == nil {
			log.Info("telegram webhook registered")
			return
		}
		log.Warn("telegram webhook not registered yet; retrying", "err", err, "in", wait)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Minute)
	}
}
