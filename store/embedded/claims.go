package embedded

import (
	"context"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/enlace-rfl/enlace/bot"
)

// ClaimInbound implements bot.Store in steps (bot.Steps): claims, locks and
// budgets are in memory, so it writes nothing.
func (s *Store) ClaimInbound(ctx context.Context, now time.Time, lease, lockTTL, retry time.Duration, n int) ([]bot.Claimed, error) {
	return bot.Steps{Store: s}.ClaimInbound(ctx, now, lease, lockTTL, retry, n)
}

// ClaimOutbound implements bot.Store in steps (bot.Steps), writing nothing
// but what a reschedule writes.
func (s *Store) ClaimOutbound(ctx context.Context, q bot.Queue, now time.Time, lease, lockTTL, retry time.Duration, n int, budget bot.LaneBudget) ([]bot.Delivery, error) {
	return bot.Steps{Store: s}.ClaimOutbound(ctx, q, now, lease, lockTTL, retry, n, budget)
}

// FinishOutbound implements bot.Store in one write transaction: the
// acknowledgement and the person's next ready time (or release) together.
func (s *Store) FinishOutbound(ctx context.Context, p, token string, q bot.Queue, c bot.Claim, ack string, next, now time.Time) error {
	if err := checkPerson(p); err != nil {
		return err
	}
	if err := checkQueue(q); err != nil {
		return err
	}
	err := s.update(func(tx *bolt.Tx) error {
		pb := person(tx, p)
		var out *bolt.Bucket
		if pb != nil {
			out = pb.Bucket(lOut)
		}
		if out != nil && ack != "" {
			if k, v := out.Cursor().First(); k != nil && hasID(v, ack) {
				if err := out.Delete(k); err != nil {
					return err
				}
			}
		}
		if out != nil {
			if k, _ := out.Cursor().First(); k != nil {
				return s.schedule(tx, q, p, next)
			}
		}
		if _, err := s.releaseQueued(tx, q, c); err != nil {
			return err
		}
		return tidy(tx, p)
	})
	if err != nil {
		return fmt.Errorf("embedded: finish outbound: %w", err)
	}
	return s.Unlock(ctx, bot.OutboxLock(p), token)
}
