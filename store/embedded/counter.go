package embedded

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// bCounters holds bot.Counter names: the end of the window (unix ns), then
// the count, both big-endian uint64. Sweep drops ended windows.
var bCounters = []byte("counters")

func counterExpiry(v []byte) []byte {
	if len(v) == 16 {
		return v[:8]
	}
	return nil
}

// Take implements bot.Counter in one write transaction, so concurrent uses
// never pass the limit.
func (s *Store) Take(ctx context.Context, name string, limit int, ttl time.Duration, now time.Time) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	if !validName(name) {
		return false, fmt.Errorf("embedded: invalid counter name %q", name)
	}
	if limit <= 0 || ttl <= 0 {
		return false, nil
	}
	took := false
	err := s.update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bCounters)
		if err != nil {
			return err
		}
		exp, n := now.Add(ttl), uint64(0)
		if v := b.Get([]byte(name)); len(v) == 16 && !expired(v[:8], now) {
			exp, n = time.Unix(0, int64(binary.BigEndian.Uint64(v[:8]))), binary.BigEndian.Uint64(v[8:])
		}
		if n >= uint64(limit) {
			return nil
		}
		took = true
		v := binary.BigEndian.AppendUint64(expiry(exp), n+1)
		return b.Put([]byte(name), v)
	})
	if err != nil {
		return false, fmt.Errorf("embedded: take: %w", err)
	}
	return took, nil
}
