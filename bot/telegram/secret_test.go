package telegram_test

import (
	"strings"
	"testing"

	"github.com/enlace-rfl/enlace/bot/telegram"
)

func TestWebhookSecretRules(t *testing.T) {
	tests := []struct {
		name, secret string
		ok           bool
	}{
		{"the tests' secret", secret, true},
		{"32 characters", strings.Repeat("a", 32), true},
		{"256 characters", strings.Repeat("A_-9", 64), true},
		{"31 characters", strings.Repeat("a", 31), false},
		{"one character", "x", false},
		{"257 characters", strings.Repeat("a", 257), false},
		{"a space", strings.Repeat("a", 32) + " b", false},
		{"not ASCII", strings.Repeat("ñ", 32), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := telegram.CheckSecret(tt.secret)
			if (err == nil) != tt.ok {
				t.Errorf("CheckSecret: got %v, want ok=%v", err, tt.ok)
			}
			if err != nil && !strings.Contains(err.Error(), "openssl rand -hex 32") {
				t.Errorf("error %q does not say how to make a good secret", err)
			}
			_, err = telegram.New(telegram.Config{Token: token, WebhookSecret: tt.secret, Pipeline: newRecorder(), Texts: catalog(t)})
			if (err == nil) != tt.ok {
				t.Errorf("New: got %v, want ok=%v", err, tt.ok)
			}
		})
	}
}
