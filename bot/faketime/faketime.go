// Package faketime is the one fake clock of the tests (channel adapters,
// pipeline, stores, staff): Sleep moves it forward at once and records how
// long was slept, so pacing is checked without waiting and without reading
// the wall clock.
package faketime

import (
	"context"
	"sync"
	"time"
)

// Epoch is where a new Clock starts.
var Epoch = time.Date(2031, 3, 1, 12, 0, 0, 0, time.UTC)

// Clock is a fake clock, safe for concurrent use.
type Clock struct {
	mu    sync.Mutex
	t     time.Time
	slept []time.Duration
}

// New returns a clock at Epoch.
func New() *Clock { return At(Epoch) }

// At returns a clock standing at t, for tests whose times matter (a TOTP
// step boundary, a given weekday).
func At(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Sleep moves the clock forward by d (when positive) and records it; it
// fails only when ctx is already done.
func (c *Clock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d <= 0 {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	c.slept = append(c.slept, d)
	return nil
}

// Slept lists every positive Sleep, in order.
func (c *Clock) Slept() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.slept...)
}
