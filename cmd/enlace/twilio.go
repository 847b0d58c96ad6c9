package main

import (
	"context"
	"fmt"
	"strconv"

	"github.com/enlace-rfl/enlace/bot/twilio"
	"github.com/enlace-rfl/enlace/locales"
)

// twilioOptions are the variables the Twilio channels (SMS and WhatsApp) read.
func twilioOptions() []option {
	return []option{
		{"TWILIO_ACCOUNT_SID", "", "Twilio account SID (`AC…`). `serve` connects SMS and WhatsApp through Twilio when it is set."},
		{"TWILIO_AUTH_TOKEN", "", "Twilio auth token: authenticates API calls and checks the `X-Twilio-Signature` of every webhook. Required with `TWILIO_ACCOUNT_SID`."},
		{"TWILIO_FROM", "", "The Twilio number SMS are sent from (E.164, `+1…`). This or `TWILIO_MESSAGING_SERVICE_SID` enables SMS."},
		{"TWILIO_MESSAGING_SERVICE_SID", "", "A Twilio Messaging Service (`MG…`) to send SMS from instead of `TWILIO_FROM`."},
		{"TWILIO_WHATSAPP_FROM", "", "The WhatsApp sender (`whatsapp:+1…`). Enables WhatsApp."},
		{"TWILIO_WHATSAPP_TEMPLATE_SID", "", "ContentSid (`HX…`) of an approved WhatsApp template with one variable `{{1}}`, for messages outside WhatsApp's 24-hour window. Without it those go by SMS to the same number."},
		{"TWILIO_API_URL", "", "Base URL to send Twilio API calls to instead of `https://api.twilio.com` (tests, proxies)."},
		{"TWILIO_RATE", "1", "Most messages per second sent from each Twilio sender (1 for a long code; higher for short codes and Messaging Services)."},
		{"ENLACE_SMS_GSM7", "", "`1` transliterates SMS texts to the GSM-7 alphabet (á→a, ç→c, ã→a…), so an SMS carries 160 characters instead of 70 and costs about half."},
	}
}

// prepareTwilio reads Twilio's configuration; when TWILIO_ACCOUNT_SID is set,
// it returns what connects SMS and WhatsApp: the inbound and status
// webhooks, and the channels that send.
func prepareTwilio(cfg config) (connectFunc, error) {
	sid := cfg.get("TWILIO_ACCOUNT_SID")
	if sid == "" {
		return nil, nil
	}
	perSecond, err := strconv.ParseFloat(cfg.get("TWILIO_RATE"), 64)
	if err != nil || perSecond <= 0 {
		return nil, fmt.Errorf("configuration: TWILIO_RATE: want a positive number of messages per second")
	}
	gsm7, err := gsm7Option(cfg)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, s serveEnv) error { return connectTwilio(s, sid, perSecond, gsm7) }, nil
}

// connectTwilio starts the Twilio adapter prepareTwilio configured.
func connectTwilio(s serveEnv, sid string, perSecond float64, gsm7 bool) error {
	cat, err := locales.Load()
	if err != nil {
		return err
	}
	a, err := twilio.New(twilio.Config{
		AccountSID: sid, AuthToken: s.cfg.get("TWILIO_AUTH_TOKEN"),
		From: s.cfg.get("TWILIO_FROM"), MessagingServiceSID: s.cfg.get("TWILIO_MESSAGING_SERVICE_SID"),
		WhatsAppFrom: s.cfg.get("TWILIO_WHATSAPP_FROM"), WhatsAppTemplate: s.cfg.get("TWILIO_WHATSAPP_TEMPLATE_SID"),
		APIURL: s.cfg.get("TWILIO_API_URL"), PublicURL: s.cfg.get("ENLACE_PUBLIC_URL"),
		Rate: perSecond, GSM7: gsm7, Catalog: cat, Logger: s.logger.With("channel", "twilio"),
	}, s.pipeline)
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	var names []string
	for _, ch := range a.Channels() {
		s.pipeline.AddChannel(ch)
		names = append(names, ch.Name())
	}
	a.Register(s.mux)
	if s.registry != nil {
		for _, c := range a.Collectors() {
			if err := s.registry.Register(c); err != nil {
				return fmt.Errorf("registering twilio metrics: %w", err)
			}
		}
	}
	s.logger.Info("twilio connected", "channels", names, "webhook_path", twilio.InboundPath, "status_path", twilio.StatusPath)
	return nil
}
