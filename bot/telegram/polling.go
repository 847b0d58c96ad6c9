package telegram

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	tgbot "github.com/go-telegram/bot"
)

// RegisterWebhook tells Telegram to deliver updates to url with the secret,
// only of the kinds Enlace handles.
func (a *Adapter) RegisterWebhook(ctx context.Context, url string) error {
	if a.cfg.WebhookSecret == "" {
		return errors.New("telegram: a webhook needs a secret")
	}
	_, err := a.api.SetWebhook(ctx, &tgbot.SetWebhookParams{
		URL: url, SecretToken: a.cfg.WebhookSecret, AllowedUpdates: AllowedUpdates,
	})
	if err != nil {
		return fmt.Errorf("telegram: setWebhook: %s", redactToken(err.Error(), a.cfg.Token))
	}
	return nil
}

// Poll receives updates by long polling until ctx ends. It first removes any
// webhook (Telegram refuses getUpdates while one is set). An update is
// confirmed to Telegram, by asking for the updates after it, only once it is
// recorded: when recording fails, Poll waits and fetches it again, and dedupe
// by update_id keeps it from being handled twice.
func (a *Adapter) Poll(ctx context.Context) {
	var wait time.Duration
	pause := func() bool {
		wait = min(max(2*wait, 100*time.Millisecond), 5*time.Second)
		select {
		case <-ctx.Done():
			return false
		case <-time.After(wait):
			return true
		}
	}
	for {
		if _, err := a.api.DeleteWebhook(ctx, &tgbot.DeleteWebhookParams{}); err == nil {
			break
		} else if ctx.Err() != nil {
			return
		} else {
			a.log.Warn("deleteWebhook failed; retrying", "err", redactToken(err.Error(), a.cfg.Token))
		}
		if !pause() {
			return
		}
	}
	wait = 0
	a.log.Info("telegram long polling started")
	var offset int64
	for ctx.Err() == nil {
		updates, retryAfter, err := a.getUpdates(ctx, offset)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			a.log.Warn("getUpdates failed; retrying", "err", err)
			if errors.Is(err, errConflict) {
				// Someone set a webhook since: polling wins, as configured.
				if _, err := a.api.DeleteWebhook(ctx, &tgbot.DeleteWebhookParams{}); err != nil {
					a.log.Warn("deleteWebhook failed", "err", redactToken(err.Error(), a.cfg.Token))
				}
			}
			if retryAfter > 0 {
				wait = retryAfter / 2 // pause doubles it
			}
			if !pause() {
				return
			}
			continue
		}
		wait = 0
		for _, raw := range updates {
			u, err := ParseUpdate(raw)
			if err != nil {
				// Fetching it again would give the same bytes: skip it, as the
				// webhook's 400 makes Telegram give up on it.
				a.log.Error("skipping an update that cannot be read", "err", err)
				if id, ok := updateID(raw); ok {
					offset = id + 1
				}
				continue
			}
			if err := a.Handle(ctx, u); err != nil {
				a.log.Error("update not recorded: fetching it again", "update", u.ID, "err", err)
				pause()
				break
			}
			offset = u.ID + 1
		}
	}
}

// errConflict is getUpdates' answer while a webhook is set.
var errConflict = errors.New("conflict")

// updateID reads just the update_id of an update.
func updateID(raw []byte) (int64, bool) {
	var v struct {
		ID *int64 `json:"update_id"`
	}
	if json.Unmarshal(raw, &v) != nil || v.ID == nil {
		return 0, false
	}
	return *v.ID, true
}

// getUpdates asks for the updates from offset on, waiting up to PollTimeout
// for one to come. The library has no public call for it (its polling loop
// confirms updates before they are handled), so this is a plain form post.
func (a *Adapter) getUpdates(ctx context.Context, offset int64) ([]json.RawMessage, time.Duration, error) {
	allowed, _ := json.Marshal(AllowedUpdates)
	form := url.Values{
		"timeout":         {strconv.Itoa(int(a.cfg.PollTimeout / time.Second))},
		"allowed_updates": {string(allowed)},
	}
	if offset != 0 {
		form.Set("offset", strconv.FormatInt(offset, 10))
	}
	ctx, cancel := context.WithTimeout(ctx, a.cfg.PollTimeout+15*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.cfg.APIURL+"/bot"+a.cfg.Token+"/getUpdates", strings.NewReader(form.Encode()))
	if err != nil {
		return nil, 0, errors.New("telegram: getUpdates: bad API URL")
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	// A client without its own timeout: the context above bounds the call,
	// longer than the long-polling wait.
	client := *a.http
	client.Timeout = 0
	resp, err := client.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // the URL holds the token
		}
		return nil, 0, fmt.Errorf("telegram: getUpdates: %s", redactToken(err.Error(), a.cfg.Token))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, 0, fmt.Errorf("telegram: getUpdates: reading: %w", err)
	}
	var r struct {
		OK          bool              `json:"ok"`
		Result      []json.RawMessage `json:"result"`
		ErrorCode   int               `json:"error_code"`
		Description string            `json:"description"`
		Parameters  struct {
			RetryAfter int `json:"retry_after"`
		} `json:"parameters"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, 0, fmt.Errorf("telegram: getUpdates: HTTP %d, not a Bot API answer", resp.StatusCode)
	}
	if !r.OK && r.ErrorCode == http.StatusConflict {
		return nil, 0, fmt.Errorf("telegram: getUpdates: %s: %w", r.Description, errConflict)
	}
	if !r.OK {
		return nil, time.Duration(r.Parameters.RetryAfter) * time.Second,
			fmt.Errorf("telegram: getUpdates: %d %s", r.ErrorCode, r.Description)
	}
	return r.Result, 0, nil
}
