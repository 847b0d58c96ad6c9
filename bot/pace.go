package bot

import (
	"context"
	"fmt"
	"time"

	"golang.org/x/time/rate"
)

// Sleep waits for d, or until ctx is done. Channel adapters pace their sends
// with it (or with a fake one in tests, which only moves a fake clock).
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

// WaitRate waits until lim allows one more event, reading the time from now
// and waiting with sleep, so that a test paces on a fake clock. Like
// rate.Limiter.Wait, it fails at once when the wait would outlast ctx's
// deadline, and gives the event back when it does not happen.
func WaitRate(ctx context.Context, lim *rate.Limiter, now func() time.Time, sleep func(context.Context, time.Duration) error) error {
	t := now()
	r := lim.ReserveN(t, 1)
	if !r.OK() {
		return fmt.Errorf("bot: rate %v allows no event", lim.Limit())
	}
	d := r.DelayFrom(t)
	if dl, ok := ctx.Deadline(); ok && d > time.Until(dl) {
		r.CancelAt(t)
		return fmt.Errorf("bot: waiting %s for the send rate would pass the deadline: %w", d, context.DeadlineExceeded)
	}
	if err := sleep(ctx, d); err != nil {
		r.CancelAt(now())
		return err
	}
	return nil
}
