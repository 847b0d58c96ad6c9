package main

import (
	"context"
	"fmt"

	"github.com/enlace-rfl/enlace/bot"
	"github.com/enlace-rfl/enlace/bot/phone"
)

// gsm7Option reads ENLACE_SMS_GSM7, which serve (Twilio) and chat share.
func gsm7Option(cfg config) (bool, error) {
	switch v := cfg.get("ENLACE_SMS_GSM7"); v {
	case "", "0", "false":
		return false, nil
	case "1", "true":
		return true, nil
	}
	return false, fmt.Errorf("configuration: ENLACE_SMS_GSM7: want 1 or 0")
}

// take hands a simulated message to the pipeline as its channel would: SMS
// and WhatsApp through the phone layer (opt-out and HELP words first), like
// the Twilio webhook; Telegram straight to the pipeline.
func take(ctx context.Context, p *bot.Pipeline, layer *phone.Layer, m bot.Message) error {
	if m.Channel == "sms" || m.Channel == "whatsapp" {
		_, err := layer.Take(ctx, p, m)
		return err
	}
	_, err := p.Accept(ctx, m)
	return err
}
