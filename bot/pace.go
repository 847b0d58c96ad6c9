package bot

import (
	"context"
	"time"
)

// Sleep waits for d, or until ctx is done. The Telegram adapter waits with it
// between the parts of a long text (tests give a fake one, which only moves a
// fake clock). Replies are never slept on: a reply that must wait for its
// lane's budget is scheduled for later (bot/lanes.go).
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
