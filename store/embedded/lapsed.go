package embedded

import (
	"bytes"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/enlace-rfl/enlace/bot"
)

// Claims that ran out. The store keeps its claims in memory (leaseTable),
// so a process that dies takes them with it and the file cannot say which
// replies were on their way to a provider. Close leaves a mark in the file;
// an Open that finds none (the process before was killed, or crashed) takes
// every person waiting in a delivery lane as a suspect, and their first claim
// says Lapsed, so that a provider that can tell is asked before a reply goes
// again (bot.Reply.Unsure).

var (
	bMeta       = []byte("meta")
	kClosedWell = []byte("closed")
)

// lapsedTable is the people whose next claim on a lane is Lapsed, with what
// it says: after a kill, when the person was ready in the file, as near as
// the file knows to when a try began (the claims died with the process; a
// commit for the person may have moved that time after the try began, which
// matters only when it crosses a second, the lookup's grain); after
// KeepLapsed, the Lapsed of the claim before.
type lapsedTable struct {
	m map[leaseKey]time.Time // guarded by leaseTable.mu
}

// openMark reads and removes the closing mark in Open's transaction, and
// returns the suspects when there was none.
func openMark(tx *bolt.Tx) (map[leaseKey]time.Time, error) {
	meta, err := tx.CreateBucketIfNotExists(bMeta)
	if err != nil {
		return nil, err
	}
	if meta.Get(kClosedWell) != nil {
		return nil, meta.Delete(kClosedWell)
	}
	suspects := map[leaseKey]time.Time{}
	err = tx.ForEach(func(name []byte, b *bolt.Bucket) error {
		q, ok := laneQueueOf(name)
		if !ok {
			return nil
		}
		return b.ForEach(func(k, _ []byte) error {
			if len(k) > 8 {
				suspects[leaseKey{q, string(k[8:])}] = unstamp(k[:8])
			}
			return nil
		})
	})
	return suspects, err
}

// laneQueueOf is the lane queue whose by-time bucket is named name.
func laneQueueOf(name []byte) (bot.Queue, bool) {
	rest, ok := bytes.CutPrefix(name, []byte("q:"))
	if !ok {
		return "", false
	}
	rest, ok = bytes.CutSuffix(rest, []byte(":at"))
	if !ok {
		return "", false
	}
	q := bot.Queue(rest)
	if _, lane := q.Lane(); !lane {
		return "", false
	}
	return q, true
}

// closeMark records that the store was closed, not killed.
func (s *Store) closeMark() error {
	return s.db.Update(func(tx *bolt.Tx) error {
		meta, err := tx.CreateBucketIfNotExists(bMeta)
		if err != nil {
			return err
		}
		return meta.Put(kClosedWell, []byte{1})
	})
}

// lapsed is the Lapsed of a claim of member in q: zero unless it is the
// first since a restart after a kill, which it forgets. Called with
// leaseTable.mu held.
func (s *Store) lapsed(q bot.Queue, member string) time.Time {
	k := leaseKey{q, member}
	at, ok := s.suspects.m[k]
	if !ok {
		return time.Time{}
	}
	delete(s.suspects.m, k)
	return at
}

// KeepLapsed implements bot.LapseKeeper: the next claim of c's person in q
// is Lapsed the same.
func (s *Store) KeepLapsed(q bot.Queue, c bot.Claim) {
	s.leases.mu.Lock()
	defer s.leases.mu.Unlock()
	if s.suspects.m == nil {
		s.suspects.m = map[leaseKey]time.Time{}
	}
	s.suspects.m[leaseKey{q, c.Person}] = c.Lapsed
}
