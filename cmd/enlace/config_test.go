package main

import (
	"strings"
	"testing"
	"time"
)

func TestRetryConfig(t *testing.T) {
	tests := []struct {
		name        string
		env         map[string]string
		wantFor     time.Duration
		wantChannel map[string]time.Duration
		wantErr     string
	}{
		{name: "defaults", env: nil, wantFor: 12 * time.Hour, wantChannel: map[string]time.Duration{}},
		{name: "one for all", env: map[string]string{"ENLACE_RETRY_FOR": "48h"}, wantFor: 48 * time.Hour, wantChannel: map[string]time.Duration{}},
		{name: "per channel", env: map[string]string{"ENLACE_RETRY_FOR_SMS": "24h", "ENLACE_RETRY_FOR_TELEGRAM": "2h"},
			wantFor: 12 * time.Hour, wantChannel: map[string]time.Duration{"sms": 24 * time.Hour, "telegram": 2 * time.Hour}},
		{name: "not a duration", env: map[string]string{"ENLACE_RETRY_FOR_WHATSAPP": "forever"}, wantErr: "ENLACE_RETRY_FOR_WHATSAPP: want a positive duration"},
		{name: "zero", env: map[string]string{"ENLACE_RETRY_FOR": "0s"}, wantErr: "ENLACE_RETRY_FOR: want a positive duration"},
		{name: "the old setting is refused, with what to set instead", env: map[string]string{"ENLACE_MAX_ATTEMPTS": "8"}, wantErr: "ENLACE_MAX_ATTEMPTS: no longer read; set ENLACE_RETRY_FOR"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := loadConfig(func(k string) string { return tt.env[k] })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, want an error with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.RetryFor != tt.wantFor || len(c.RetryForChannel) != len(tt.wantChannel) {
				t.Fatalf("got %s %v, want %s %v", c.RetryFor, c.RetryForChannel, tt.wantFor, tt.wantChannel)
			}
			for ch, d := range tt.wantChannel {
				if c.RetryForChannel[ch] != d {
					t.Errorf("%s: got %s, want %s", ch, c.RetryForChannel[ch], d)
				}
			}
		})
	}
}

func TestTrustedProxiesConfig(t *testing.T) {
	c, err := loadConfig(func(k string) string {
		return map[string]string{"ENLACE_TRUSTED_PROXIES": "10.0.0.0/8, 192.168.1.7"}[k]
	})
	if err != nil || len(c.TrustedProxies) != 2 || c.TrustedProxies[1].String() != "192.168.1.7/32" {
		t.Fatalf("got %v, %v", c.TrustedProxies, err)
	}
	_, err = loadConfig(func(k string) string { return map[string]string{"ENLACE_TRUSTED_PROXIES": "proxy.local"}[k] })
	if err == nil || !strings.Contains(err.Error(), "ENLACE_TRUSTED_PROXIES: want addresses or networks") {
		t.Fatalf("a host name: %v", err)
	}
}

func TestDeliveryConfig(t *testing.T) {
	c, err := loadConfig(func(k string) string {
		return map[string]string{"ENLACE_LANE_WORKERS": "3", "ENLACE_SEND_TIMEOUT": "15s", "ENLACE_ACK_TIMEOUT": "5s"}[k]
	})
	if err != nil || c.LaneWorkers != 3 || c.SendTimeout != 15*time.Second || c.AckTimeout != 5*time.Second {
		t.Fatalf("got %d %s %s, %v", c.LaneWorkers, c.SendTimeout, c.AckTimeout, err)
	}
	if d, err := loadConfig(func(string) string { return "" }); err != nil || d.LaneWorkers != 8 || d.SendTimeout != 20*time.Second || d.AckTimeout != 10*time.Second {
		t.Fatalf("defaults: %d %s %s, %v", d.LaneWorkers, d.SendTimeout, d.AckTimeout, err)
	}
	if _, err := loadConfig(func(k string) string { return map[string]string{"ENLACE_SEND_TIMEOUT": "45s"}[k] }); err == nil || !strings.Contains(err.Error(), "ENLACE_SEND_TIMEOUT") {
		t.Fatalf("a send timeout over the lock: %v", err)
	}
}
