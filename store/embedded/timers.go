package embedded

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"sort"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/enlace-rfl/enlace/bot"
)

// queueTimers is the due set of every person's timers, kept with the same
// machinery as the work queues; its members are "<person>/<timer id>".
const queueTimers bot.Queue = "timers"

// bTimers is the person's bucket of timers: id -> due time (unix ns).
var bTimers = []byte("timers")

func timerMember(p, id string) string { return p + "/" + id }

// unschedule removes a member from a queue.
func unschedule(tx *bolt.Tx, q bot.Queue, member string) error {
	byAt, who := tx.Bucket(bQueueAt[q]), tx.Bucket(bQueueBy[q])
	old := who.Get([]byte(member))
	if old == nil {
		return nil
	}
	if err := byAt.Delete(append(bytes.Clone(old), member...)); err != nil {
		return err
	}
	return who.Delete([]byte(member))
}

// commitTimers applies a commit's timer changes, in the commit's transaction.
func commitTimers(tx *bolt.Tx, pb *bolt.Bucket, p string, set []bot.Timer, cancel []string) error {
	if len(set) > 0 {
		tb, err := pb.CreateBucketIfNotExists(bTimers)
		if err != nil {
			return err
		}
		for _, t := range set {
			if !validName(t.ID) {
				return errors.New("embedded: invalid timer id")
			}
			if err := tb.Put([]byte(t.ID), u64(uint64(t.At.UnixNano()))); err != nil {
				return err
			}
			if err := schedule(tx, queueTimers, timerMember(p, t.ID), t.At); err != nil {
				return err
			}
		}
	}
	for _, id := range cancel {
		if tb := pb.Bucket(bTimers); tb != nil {
			if err := tb.Delete([]byte(id)); err != nil {
				return err
			}
		}
		if err := unschedule(tx, queueTimers, timerMember(p, id)); err != nil {
			return err
		}
	}
	return nil
}

// eraseTimers removes all the person's timers and their due entries.
func eraseTimers(tx *bolt.Tx, pb *bolt.Bucket, p string) error {
	tb := pb.Bucket(bTimers)
	if tb == nil {
		return nil
	}
	var ids []string
	tb.ForEach(func(k, _ []byte) error {
		ids = append(ids, string(k))
		return nil
	})
	for _, id := range ids {
		if err := unschedule(tx, queueTimers, timerMember(p, id)); err != nil {
			return err
		}
	}
	return pb.DeleteBucket(bTimers)
}

// ClaimTimers implements bot.Store.
func (s *Store) ClaimTimers(ctx context.Context, now time.Time, lease time.Duration, n int) ([]bot.TimerClaim, error) {
	if n <= 0 {
		return nil, nil
	}
	if !s.due(bQueueAt[queueTimers], now) {
		return nil, nil
	}
	until := now.Add(lease)
	var out []bot.TimerClaim
	err := s.update(func(tx *bolt.Tx) error {
		limit := stamp(now)
		var members []string
		c := tx.Bucket(bQueueAt[queueTimers]).Cursor()
		for k, _ := c.First(); k != nil && len(members) < n && bytes.Compare(k[:8], limit) <= 0; k, _ = c.Next() {
			members = append(members, string(k[8:]))
		}
		for _, m := range members {
			p, id, _ := strings.Cut(m, "/")
			var at []byte
			if pb := person(tx, p); pb != nil && pb.Bucket(bTimers) != nil {
				at = pb.Bucket(bTimers).Get([]byte(id))
			}
			if at == nil { // nothing to fire
				if err := unschedule(tx, queueTimers, m); err != nil {
					return err
				}
				continue
			}
			if err := schedule(tx, queueTimers, m, until); err != nil {
				return err
			}
			out = append(out, bot.TimerClaim{Person: p, ID: id, At: time.Unix(0, int64(binary.BigEndian.Uint64(at))), Until: until})
		}
		return nil
	})
	return out, err
}

// FinishTimer implements bot.Store.
func (s *Store) FinishTimer(ctx context.Context, c bot.TimerClaim) error {
	return s.update(func(tx *bolt.Tx) error {
		m := timerMember(c.Person, c.ID)
		if bytes.Equal(tx.Bucket(bQueueBy[queueTimers]).Get([]byte(m)), stamp(c.Until)) {
			return unschedule(tx, queueTimers, m)
		}
		return nil
	})
}

// Timers implements bot.Store.
func (s *Store) Timers(ctx context.Context, p string) ([]bot.Timer, error) {
	if err := checkPerson(p); err != nil {
		return nil, err
	}
	out := []bot.Timer{}
	err := s.view(func(tx *bolt.Tx) error {
		pb := person(tx, p)
		if pb == nil || pb.Bucket(bTimers) == nil {
			return nil
		}
		return pb.Bucket(bTimers).ForEach(func(k, v []byte) error {
			out = append(out, bot.Timer{ID: string(k), At: time.Unix(0, int64(binary.BigEndian.Uint64(v)))})
			return nil
		})
	})
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, err
}
