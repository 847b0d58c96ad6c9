package main

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/enlace-rfl/enlace/bot/telegram"
	"github.com/enlace-rfl/enlace/locales"
)

func init() {
	telegramOptions := []option{
		{"TELEGRAM_BOT_TOKEN", "", "The Telegram bot's token from BotFather. `serve` connects Telegram when it is set."},
		{"TELEGRAM_WEBHOOK_SECRET", "", "Secret Telegram sends with every webhook request (`X-Telegram-Bot-Api-Secret-Token`), 1-256 of `A-Z a-z 0-9 _ -`; requests without it get 401. Required in webhook mode."},
		{"TELEGRAM_MODE", "", "`webhook` (Telegram posts to `ENLACE_PUBLIC_URL/webhooks/telegram`; the default when `ENLACE_PUBLIC_URL` is set) or `polling` (long polling, for deployments without a public address; the default otherwise)."},
		{"TELEGRAM_API_URL", telegram.DefaultAPIURL, "The Bot API server: Telegram's, or a self-hosted `telegram-bot-api` (or a test stand-in)."},
	}
	options = append(options, telegramOptions...)
	// ENLACE_PUBLIC_URL serves every channel with webhooks: declare it once.
	for _, o := range options {
		if o.Name == "ENLACE_PUBLIC_URL" {
			return
		}
	}
	options = append(options, option{"ENLACE_PUBLIC_URL", "", "The public HTTPS address of `serve` (e.g. `https://enlace.example.org`), where providers post webhooks."})
}

func init() { channelSetups["telegram"] = setupTelegram }

// webhookSecret is what Telegram accepts as a secret_token.
var webhookSecret = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`)

// setupTelegram connects Telegram when TELEGRAM_BOT_TOKEN is set: the webhook
// (registered with Telegram in the background until it succeeds) or the
// long-polling loop, and the channel that sends replies.
func setupTelegram(ctx context.Context, s serveEnv) (bool, error) {
	token := s.cfg.get("TELEGRAM_BOT_TOKEN")
	if token == "" {
		return false, nil
	}
	publicURL := strings.TrimRight(s.cfg.get("ENLACE_PUBLIC_URL"), "/")
	mode := s.cfg.get("TELEGRAM_MODE")
	if mode == "" {
		mode = "polling"
		if publicURL != "" {
			mode = "webhook"
		}
	}
	secret := s.cfg.get("TELEGRAM_WEBHOOK_SECRET")
	switch mode {
	case "webhook":
		if publicURL == "" {
			return false, fmt.Errorf("configuration: TELEGRAM_MODE=webhook needs ENLACE_PUBLIC_URL, the public address Telegram posts to")
		}
		if !webhookSecret.MatchString(secret) {
			return false, fmt.Errorf("configuration: TELEGRAM_WEBHOOK_SECRET: webhook mode needs a secret of 1-256 characters A-Z, a-z, 0-9, _ or - (e.g. from `openssl rand -hex 32`)")
		}
	case "polling":
		secret = "" // nothing may come in by webhook
	default:
		return false, fmt.Errorf("configuration: TELEGRAM_MODE: want webhook or polling")
	}
	cat, err := locales.Load()
	if err != nil {
		return false, err
	}
	log := s.logger.With("channel", telegram.ChannelName)
	a, err := telegram.New(telegram.Config{
		Token: token, APIURL: s.cfg.get("TELEGRAM_API_URL"), WebhookSecret: secret,
		Pipeline: s.pipeline, Texts: cat, Logger: log,
	})
	if err != nil {
		return false, err
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
	return true, nil
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
