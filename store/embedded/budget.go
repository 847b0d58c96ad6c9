package embedded

import (
	"context"
	"fmt"
	"time"

	"github.com/enlace-rfl/enlace/bot"
	"github.com/enlace-rfl/enlace/store"
)

// checkBuckets applies the rules every store applies to a lane's buckets.
func checkBuckets(lane string, bs []bot.Bucket) error {
	if !store.ValidName(lane) {
		return fmt.Errorf("%w: invalid lane %q", errInvalid, lane)
	}
	for _, b := range bs {
		if !store.ValidName(b.Name) || b.Rate <= 0 || b.Burst < 1 {
			return fmt.Errorf("%w: invalid bucket %q (rate %v, burst %v)", errInvalid, b.Name, b.Rate, b.Burst)
		}
	}
	return nil
}

// TakeBudget implements bot.Budgets, in memory: one process owns the file.
func (s *Store) TakeBudget(ctx context.Context, lane string, bs []bot.Bucket, cost int, now time.Time) (time.Duration, int, error) {
	if err := checkBuckets(lane, bs); err != nil {
		return 0, -1, err
	}
	names, rates, bursts := make([]string, len(bs)), make([]float64, len(bs)), make([]float64, len(bs))
	for i, b := range bs {
		names[i], rates[i], bursts[i] = lane+"/"+b.Name, b.Rate, b.Burst
	}
	wait, short := s.budgets.Take(names, rates, bursts, max(cost, 1), now)
	return wait, short, nil
}

// HoldBudget implements bot.Budgets.
func (s *Store) HoldBudget(ctx context.Context, lane string, b bot.Bucket, until, now time.Time) error {
	if err := checkBuckets(lane, []bot.Bucket{b}); err != nil {
		return err
	}
	s.budgets.Hold(lane+"/"+b.Name, until)
	return nil
}
