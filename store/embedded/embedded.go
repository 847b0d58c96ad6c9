// Package embedded is the bot.Store kept in one bbolt file, the default when no
// REDIS_URL is set: a single Enlace process owns the file (a second one gets a
// clear error) and every method is one bbolt transaction, so it is atomic.
//
// Layout:
//
//	people/<person>/session     expiry (8 bytes, unix ns, 0 = none) + sealed session
//	people/<person>/in|out|dead|esc/<seq>   item: ID, NUL, data (seq big-endian: FIFO)
//	people/<person>/seen/<dedupe key>       expiry (unix ns)
//	people/<person>/idx:dead|idx:esc        this person's key in the index below
//	q:in:at, q:out:at/<ready time><person>  queues in ready-time order
//	q:in:who, q:out:who/<person>            the person's ready time
//	idx:dead, idx:esc/<seq><person>         people with dead letters / escalations, oldest first
//	locks/<person>                          expiry (unix ns) + token
//
// Empty per-person buckets are removed, and a person's bucket goes when nothing
// in it remains, so erased people leave no names behind. Expired sessions,
// dedupe marks and locks read as absent and are removed by Sweep, which Open
// runs every minute until Close.
package embedded

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/enlace-rfl/enlace/bot"
	"github.com/enlace-rfl/enlace/store"
)

// SweepInterval is how often Open's background goroutine calls Sweep.
const SweepInterval = time.Minute

// Bucket and key names.
var (
	bPeople  = []byte("people")
	bLocks   = []byte("locks")
	bIdx     = map[string][]byte{"dead": []byte("idx:dead"), "esc": []byte("idx:esc")}
	bQueueAt = map[bot.Queue][]byte{bot.QueueInbound: []byte("q:in:at"), bot.QueueOutbound: []byte("q:out:at"), queueTimers: []byte("q:timers:at")}
	bQueueBy = map[bot.Queue][]byte{bot.QueueInbound: []byte("q:in:who"), bot.QueueOutbound: []byte("q:out:who"), queueTimers: []byte("q:timers:who")}

	kSession = []byte("session")
	// Per-person list and mark buckets.
	lIn, lOut, lDead, lEsc, lSeen = []byte("in"), []byte("out"), []byte("dead"), []byte("esc"), []byte("seen")
	bFlags                        = []byte("flags")
)

// Store is a bot.Store in a bbolt file. It is safe for concurrent use.
type Store struct {
	db   *bolt.DB
	stop chan struct{}
	wg   sync.WaitGroup
	once sync.Once
}

var _ bot.Store = (*Store)(nil)

// Open opens or creates the store file at path (mode 0600, its directory 0700)
// and starts the sweeper.
func Open(path string) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("embedded: create data directory: %w", err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("embedded: open %s: data directory in use by another enlace process", path)
	}
	if err != nil {
		return nil, fmt.Errorf("embedded: open %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		names := [][]byte{bPeople, bLocks, bIdx["dead"], bIdx["esc"], bAliases}
		for _, q := range []bot.Queue{bot.QueueInbound, bot.QueueOutbound, queueTimers} {
			names = append(names, bQueueAt[q], bQueueBy[q])
		}
		for _, n := range names {
			if _, err := tx.CreateBucketIfNotExists(n); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("embedded: create buckets: %w", err)
	}
	s := &Store{db: db, stop: make(chan struct{})}
	s.wg.Go(s.sweepLoop)
	return s, nil
}

func (s *Store) sweepLoop() {
	t := time.NewTicker(SweepInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case now := <-t.C:
			_ = s.Sweep(now) // best effort: expired records already read as absent
		}
	}
}

// Close stops the sweeper and closes the file. It may be called more than once.
func (s *Store) Close() error {
	var err error
	s.once.Do(func() {
		close(s.stop)
		s.wg.Wait()
		err = s.db.Close()
	})
	return err
}

// Ping reports whether the file is open and readable.
func (s *Store) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.view(func(*bolt.Tx) error { return nil })
}

// update runs fn in a write transaction; errors from bot are returned as they are.
func (s *Store) update(fn func(tx *bolt.Tx) error) error {
	if err := s.db.Update(fn); err != nil {
		return wrap(err)
	}
	return nil
}

func (s *Store) view(fn func(tx *bolt.Tx) error) error {
	if err := s.db.View(fn); err != nil {
		return wrap(err)
	}
	return nil
}

func wrap(err error) error {
	for _, e := range []error{bot.ErrNotFound, bot.ErrLocked, bot.ErrLockLost, errInvalid} {
		if errors.Is(err, e) {
			return err
		}
	}
	return fmt.Errorf("embedded: %w", err)
}

var errInvalid = errors.New("embedded: invalid argument")

// validName is the rule every store applies to person keys and item IDs
// (store.ValidName), so data moves between them.
var validName = store.ValidName

func checkPerson(p string) error {
	if !validName(p) {
		return fmt.Errorf("%w: person key %q", errInvalid, p)
	}
	return nil
}

func checkItems(items ...bot.Item) error {
	for _, it := range items {
		if !validName(it.ID) {
			return fmt.Errorf("%w: item id %q", errInvalid, it.ID)
		}
	}
	return nil
}

func encodeItem(it bot.Item) []byte {
	return append(append([]byte(it.ID), 0), it.Data...)
}

// decodeItem copies v out of the transaction's memory.
func decodeItem(v []byte) (bot.Item, error) {
	id, data, ok := bytes.Cut(v, []byte{0})
	if !ok {
		return bot.Item{}, errors.New("embedded: corrupt item: no separator")
	}
	return bot.Item{ID: string(id), Data: bytes.Clone(data)}, nil
}

func hasID(v []byte, id string) bool {
	return len(v) > len(id) && v[len(id)] == 0 && string(v[:len(id)]) == id
}

func u64(n uint64) []byte { return binary.BigEndian.AppendUint64(nil, n) }

// stamp encodes t so that byte order is time order, before 1970 included.
func stamp(t time.Time) []byte { return u64(uint64(t.UnixNano()) ^ 1<<63) }

// expiry encodes an expiry time, zero meaning none.
func expiry(t time.Time) []byte {
	if t.IsZero() {
		return u64(0)
	}
	return u64(uint64(t.UnixNano()))
}

// expired reports whether an expiry written by expiry has passed at now.
func expired(v []byte, now time.Time) bool {
	n := int64(binary.BigEndian.Uint64(v))
	return n != 0 && n <= now.UnixNano()
}

func empty(b *bolt.Bucket) bool {
	k, _ := b.Cursor().First()
	return k == nil
}

func person(tx *bolt.Tx, p string) *bolt.Bucket { return tx.Bucket(bPeople).Bucket([]byte(p)) }

func createPerson(tx *bolt.Tx, p string) (*bolt.Bucket, error) {
	return tx.Bucket(bPeople).CreateBucketIfNotExists([]byte(p))
}

// sub returns a person's sub-bucket, or nil when the person or bucket is absent.
func sub(tx *bolt.Tx, p string, name []byte) *bolt.Bucket {
	if pb := person(tx, p); pb != nil {
		return pb.Bucket(name)
	}
	return nil
}

// push appends values to a person's list, keeping FIFO order.
func push(pb *bolt.Bucket, name []byte, values ...[]byte) error {
	if len(values) == 0 {
		return nil
	}
	b, err := pb.CreateBucketIfNotExists(name)
	if err != nil {
		return err
	}
	for _, v := range values {
		seq, err := b.NextSequence()
		if err != nil {
			return err
		}
		if err := b.Put(u64(seq), v); err != nil {
			return err
		}
	}
	return nil
}

// tidy removes the person's empty sub-buckets, then the person's bucket if empty.
func tidy(tx *bolt.Tx, p string) error {
	pb := person(tx, p)
	if pb == nil {
		return nil
	}
	for _, name := range [][]byte{lIn, lOut, lDead, lEsc, lSeen, bFlags, bTimers} {
		if b := pb.Bucket(name); b != nil && empty(b) {
			if err := pb.DeleteBucket(name); err != nil {
				return err
			}
		}
	}
	if empty(pb) {
		return tx.Bucket(bPeople).DeleteBucket([]byte(p))
	}
	return nil
}

func idxKey(kind string) []byte { return []byte("idx:" + kind) }

// index lists the person in the kind ("dead" or "esc") index unless already there.
func index(tx *bolt.Tx, pb *bolt.Bucket, p, kind string) error {
	if pb.Get(idxKey(kind)) != nil {
		return nil
	}
	b := tx.Bucket(bIdx[kind])
	seq, err := b.NextSequence()
	if err != nil {
		return err
	}
	k := append(u64(seq), p...)
	if err := b.Put(k, nil); err != nil {
		return err
	}
	return pb.Put(idxKey(kind), k)
}

func unindex(tx *bolt.Tx, pb *bolt.Bucket, kind string) error {
	k := pb.Get(idxKey(kind))
	if k == nil {
		return nil
	}
	if err := tx.Bucket(bIdx[kind]).Delete(bytes.Clone(k)); err != nil {
		return err
	}
	return pb.Delete(idxKey(kind))
}

func checkQueue(q bot.Queue) error {
	if bQueueAt[q] == nil {
		return fmt.Errorf("%w: unknown queue %q", errInvalid, q)
	}
	return nil
}

// schedule sets the person's ready time in q.
func schedule(tx *bolt.Tx, q bot.Queue, p string, at time.Time) error {
	byAt, who := tx.Bucket(bQueueAt[q]), tx.Bucket(bQueueBy[q])
	if old := who.Get([]byte(p)); old != nil {
		if err := byAt.Delete(append(bytes.Clone(old), p...)); err != nil {
			return err
		}
	}
	ts := stamp(at)
	if err := byAt.Put(append(bytes.Clone(ts), p...), nil); err != nil {
		return err
	}
	return who.Put([]byte(p), ts)
}

// Accept implements bot.Store.
func (s *Store) Accept(ctx context.Context, p, dedupeKey string, msg bot.Item, dedupeTTL time.Duration, now time.Time) (bool, error) {
	if err := checkPerson(p); err != nil {
		return false, err
	}
	if err := checkItems(msg); err != nil {
		return false, err
	}
	if dedupeKey == "" {
		return false, fmt.Errorf("%w: empty dedupe key", errInvalid)
	}
	var fresh bool
	err := s.update(func(tx *bolt.Tx) error {
		if err := schedule(tx, bot.QueueInbound, p, now); err != nil {
			return err
		}
		pb, err := createPerson(tx, p)
		if err != nil {
			return err
		}
		seen, err := pb.CreateBucketIfNotExists(lSeen)
		if err != nil {
			return err
		}
		if err := pruneExpired(seen, now); err != nil {
			return err
		}
		if seen.Get([]byte(dedupeKey)) == nil {
			fresh = true
			if dedupeTTL > 0 {
				if err := seen.Put([]byte(dedupeKey), expiry(now.Add(dedupeTTL))); err != nil {
					return err
				}
			}
			if err := push(pb, lIn, encodeItem(msg)); err != nil {
				return err
			}
		}
		return tidy(tx, p)
	})
	return fresh, err
}

// pruneExpired deletes the entries of b whose expiry has passed.
func pruneExpired(b *bolt.Bucket, now time.Time) error {
	var old [][]byte
	_ = b.ForEach(func(k, v []byte) error {
		if v != nil && expired(v, now) {
			old = append(old, bytes.Clone(k))
		}
		return nil
	})
	for _, k := range old {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// Claim implements bot.Store.
func (s *Store) Claim(ctx context.Context, q bot.Queue, now time.Time, lease time.Duration, n int) ([]bot.Claim, error) {
	if err := checkQueue(q); err != nil {
		return nil, err
	}
	if n <= 0 {
		return nil, nil
	}
	until := now.Add(lease)
	var cs []bot.Claim
	err := s.update(func(tx *bolt.Tx) error {
		limit := stamp(now)
		c := tx.Bucket(bQueueAt[q]).Cursor()
		for k, _ := c.First(); k != nil && len(cs) < n && bytes.Compare(k[:8], limit) <= 0; k, _ = c.Next() {
			cs = append(cs, bot.Claim{Person: string(k[8:]), Until: until})
		}
		for _, cl := range cs {
			if err := schedule(tx, q, cl.Person, until); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return cs, nil
}

// Schedule implements bot.Store.
func (s *Store) Schedule(ctx context.Context, q bot.Queue, p string, at time.Time) error {
	if err := checkQueue(q); err != nil {
		return err
	}
	if err := checkPerson(p); err != nil {
		return err
	}
	return s.update(func(tx *bolt.Tx) error { return schedule(tx, q, p, at) })
}

// Release implements bot.Store.
func (s *Store) Release(ctx context.Context, q bot.Queue, c bot.Claim) (bool, error) {
	if err := checkQueue(q); err != nil {
		return false, err
	}
	var ok bool
	err := s.update(func(tx *bolt.Tx) error {
		who := tx.Bucket(bQueueBy[q])
		ts := stamp(c.Until)
		if !bytes.Equal(who.Get([]byte(c.Person)), ts) {
			return nil
		}
		ok = true
		if err := who.Delete([]byte(c.Person)); err != nil {
			return err
		}
		return tx.Bucket(bQueueAt[q]).Delete(append(ts, c.Person...))
	})
	return ok, err
}

// Pending implements bot.Store.
func (s *Store) Pending(ctx context.Context, q bot.Queue) (int64, error) {
	if err := checkQueue(q); err != nil {
		return 0, err
	}
	var n int64
	err := s.view(func(tx *bolt.Tx) error {
		n = int64(tx.Bucket(bQueueBy[q]).Stats().KeyN)
		return nil
	})
	return n, err
}

// Lock implements bot.Store.
func (s *Store) Lock(ctx context.Context, p string, ttl time.Duration) (string, error) {
	if err := checkPerson(p); err != nil {
		return "", err
	}
	if ttl <= 0 {
		return "", fmt.Errorf("%w: lock ttl %v", errInvalid, ttl)
	}
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("embedded: lock token: %w", err)
	}
	tok := hex.EncodeToString(b[:])
	err := s.update(func(tx *bolt.Tx) error {
		locks := tx.Bucket(bLocks)
		now := time.Now()
		if v := locks.Get([]byte(p)); v != nil && !expired(v[:8], now) {
			return bot.ErrLocked
		}
		return locks.Put([]byte(p), append(expiry(now.Add(ttl)), tok...))
	})
	if err != nil {
		return "", err
	}
	return tok, nil
}

// holds reports whether token holds the person's unexpired lock.
func holds(tx *bolt.Tx, p, token string) bool {
	v := tx.Bucket(bLocks).Get([]byte(p))
	return v != nil && !expired(v[:8], time.Now()) && string(v[8:]) == token
}

// Unlock implements bot.Store.
func (s *Store) Unlock(ctx context.Context, p, token string) error {
	return s.update(func(tx *bolt.Tx) error {
		if !holds(tx, p, token) {
			return nil
		}
		return tx.Bucket(bLocks).Delete([]byte(p))
	})
}

// head returns the first item of a person's list.
func (s *Store) head(p string, list []byte) (bot.Item, error) {
	if err := checkPerson(p); err != nil {
		return bot.Item{}, err
	}
	var it bot.Item
	err := s.view(func(tx *bolt.Tx) error {
		b := sub(tx, p, list)
		if b == nil {
			return bot.ErrNotFound
		}
		_, v := b.Cursor().First()
		if v == nil {
			return bot.ErrNotFound
		}
		var err error
		it, err = decodeItem(v)
		return err
	})
	return it, err
}

// NextInbound implements bot.Store.
func (s *Store) NextInbound(ctx context.Context, p string) (bot.Item, error) {
	return s.head(p, lIn)
}

// LoadSession implements bot.Store.
func (s *Store) LoadSession(ctx context.Context, p string) ([]byte, error) {
	if err := checkPerson(p); err != nil {
		return nil, err
	}
	var sess []byte
	err := s.view(func(tx *bolt.Tx) error {
		pb := person(tx, p)
		if pb == nil {
			return bot.ErrNotFound
		}
		v := pb.Get(kSession)
		if v == nil || expired(v[:8], time.Now()) {
			return bot.ErrNotFound
		}
		sess = bytes.Clone(v[8:])
		return nil
	})
	return sess, err
}

// Commit implements bot.Store. An InboundID that is not the inbox head is
// refused with bot.ErrNotFound and nothing is written. A SessionTTL of zero or
// less keeps the session until it is replaced or deleted. The lock stays until
// Unlock or its TTL, also after Erase.
func (s *Store) Commit(ctx context.Context, p, token string, c bot.Commit) error {
	if err := checkPerson(p); err != nil {
		return err
	}
	if err := checkItems(append(c.Outbox, c.Escalations...)...); err != nil {
		return err
	}
	now := time.Now()
	return s.update(func(tx *bolt.Tx) error {
		if !holds(tx, p, token) {
			return bot.ErrLockLost
		}
		pb, err := createPerson(tx, p)
		if err != nil {
			return err
		}
		if c.InboundID != "" {
			in := pb.Bucket(lIn)
			if in == nil {
				return fmt.Errorf("inbound %s is not the inbox head: %w", c.InboundID, bot.ErrNotFound)
			}
			k, v := in.Cursor().First()
			if k == nil || !hasID(v, c.InboundID) {
				return fmt.Errorf("inbound %s is not the inbox head: %w", c.InboundID, bot.ErrNotFound)
			}
			if err := in.Delete(k); err != nil {
				return err
			}
		}
		if c.Erase {
			if err := erase(tx, pb, p); err != nil {
				return err
			}
		}
		if c.Session == nil {
			err = pb.Delete(kSession)
		} else {
			var exp time.Time
			if c.SessionTTL > 0 {
				exp = now.Add(c.SessionTTL)
			}
			err = pb.Put(kSession, append(expiry(exp), c.Session...))
		}
		if err != nil {
			return err
		}
		if err := commitTimers(tx, pb, p, c.SetTimers, c.CancelTimers); err != nil {
			return err
		}
		if err := pushItems(pb, lOut, c.Outbox); err != nil {
			return err
		}
		if err := pushItems(pb, lEsc, c.Escalations); err != nil {
			return err
		}
		if len(c.Escalations) > 0 {
			if err := index(tx, pb, p, "esc"); err != nil {
				return err
			}
		}
		if out := pb.Bucket(lOut); out != nil && !empty(out) {
			if err := schedule(tx, bot.QueueOutbound, p, now); err != nil {
				return err
			}
		}
		return tidy(tx, p)
	})
}

// erase deletes everything Commit.Erase names, and the person's index entries.
func erase(tx *bolt.Tx, pb *bolt.Bucket, p string) error {
	if err := eraseTimers(tx, pb, p); err != nil {
		return err
	}
	if err := pb.Delete(kSession); err != nil {
		return err
	}
	for _, name := range [][]byte{lOut, lDead, lEsc, lSeen} {
		if pb.Bucket(name) == nil {
			continue
		}
		if err := pb.DeleteBucket(name); err != nil {
			return err
		}
	}
	if fb := pb.Bucket(bFlags); fb != nil {
		var drop [][]byte
		fb.ForEach(func(k, _ []byte) error {
			if !bytes.HasPrefix(k, []byte("optout:")) {
				drop = append(drop, append([]byte(nil), k...))
			}
			return nil
		})
		for _, k := range drop {
			if err := fb.Delete(k); err != nil {
				return err
			}
		}
	}
	if err := unindex(tx, pb, "dead"); err != nil {
		return err
	}
	return unindex(tx, pb, "esc")
}

// SetFlag implements bot.Store.
func (s *Store) SetFlag(ctx context.Context, p, flag string, on bool) error {
	if err := checkPerson(p); err != nil {
		return err
	}
	if flag == "" {
		return errors.New("embedded: empty flag")
	}
	return s.update(func(tx *bolt.Tx) error {
		if !on {
			pb := person(tx, p)
			if pb == nil || pb.Bucket(bFlags) == nil {
				return nil
			}
			if err := pb.Bucket(bFlags).Delete([]byte(flag)); err != nil {
				return err
			}
			return tidy(tx, p)
		}
		pb, err := tx.Bucket(bPeople).CreateBucketIfNotExists([]byte(p))
		if err != nil {
			return err
		}
		fb, err := pb.CreateBucketIfNotExists(bFlags)
		if err != nil {
			return err
		}
		return fb.Put([]byte(flag), []byte{1})
	})
}

// Flags implements bot.Store.
func (s *Store) Flags(ctx context.Context, p string) ([]string, error) {
	if err := checkPerson(p); err != nil {
		return nil, err
	}
	out := []string{}
	err := s.view(func(tx *bolt.Tx) error {
		pb := person(tx, p)
		if pb == nil || pb.Bucket(bFlags) == nil {
			return nil
		}
		return pb.Bucket(bFlags).ForEach(func(k, _ []byte) error {
			out = append(out, string(k))
			return nil
		})
	})
	return out, err
}

func pushItems(pb *bolt.Bucket, list []byte, items []bot.Item) error {
	vs := make([][]byte, len(items))
	for i, it := range items {
		vs[i] = encodeItem(it)
	}
	return push(pb, list, vs...)
}

// Enqueue implements bot.Store.
func (s *Store) Enqueue(ctx context.Context, p string, items []bot.Item) error {
	if err := checkPerson(p); err != nil {
		return err
	}
	if err := checkItems(items...); err != nil {
		return err
	}
	if len(items) == 0 {
		return nil
	}
	return s.update(func(tx *bolt.Tx) error {
		pb, err := createPerson(tx, p)
		if err != nil {
			return err
		}
		if err := pushItems(pb, lOut, items); err != nil {
			return err
		}
		return schedule(tx, bot.QueueOutbound, p, time.Now())
	})
}

// NextOutbound implements bot.Store.
func (s *Store) NextOutbound(ctx context.Context, p string) (bot.Item, error) {
	return s.head(p, lOut)
}

// withOutboxHead runs fn on the outbox head if its ID is id, else returns bot.ErrNotFound.
func (s *Store) withOutboxHead(p, id string, fn func(tx *bolt.Tx, pb, out *bolt.Bucket, k []byte) error) error {
	if err := checkPerson(p); err != nil {
		return err
	}
	return s.update(func(tx *bolt.Tx) error {
		pb := person(tx, p)
		if pb == nil || pb.Bucket(lOut) == nil {
			return bot.ErrNotFound
		}
		out := pb.Bucket(lOut)
		k, v := out.Cursor().First()
		if k == nil || !hasID(v, id) {
			return bot.ErrNotFound
		}
		if err := fn(tx, pb, out, bytes.Clone(k)); err != nil {
			return err
		}
		return tidy(tx, p)
	})
}

// UpdateOutbound implements bot.Store.
func (s *Store) UpdateOutbound(ctx context.Context, p string, item bot.Item) error {
	return s.withOutboxHead(p, item.ID, func(_ *bolt.Tx, _, out *bolt.Bucket, k []byte) error {
		return out.Put(k, encodeItem(item))
	})
}

// AckOutbound implements bot.Store.
func (s *Store) AckOutbound(ctx context.Context, p, id string) error {
	return s.withOutboxHead(p, id, func(_ *bolt.Tx, _, out *bolt.Bucket, k []byte) error {
		return out.Delete(k)
	})
}

// DeadLetter implements bot.Store.
func (s *Store) DeadLetter(ctx context.Context, p string, item bot.Item) error {
	return s.withOutboxHead(p, item.ID, func(tx *bolt.Tx, pb, out *bolt.Bucket, k []byte) error {
		if err := out.Delete(k); err != nil {
			return err
		}
		if err := push(pb, lDead, encodeItem(item)); err != nil {
			return err
		}
		return index(tx, pb, p, "dead")
	})
}

// Replay implements bot.Store. The letter keeps the data DeadLetter gave it.
func (s *Store) Replay(ctx context.Context, p, id string) error {
	if err := checkPerson(p); err != nil {
		return err
	}
	return s.update(func(tx *bolt.Tx) error {
		pb := person(tx, p)
		if pb == nil || pb.Bucket(lDead) == nil {
			return bot.ErrNotFound
		}
		dead := pb.Bucket(lDead)
		var key, val []byte
		c := dead.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if hasID(v, id) {
				key, val = bytes.Clone(k), bytes.Clone(v)
				break
			}
		}
		if key == nil {
			return bot.ErrNotFound
		}
		if err := dead.Delete(key); err != nil {
			return err
		}
		if err := push(pb, lOut, val); err != nil {
			return err
		}
		if empty(dead) {
			if err := unindex(tx, pb, "dead"); err != nil {
				return err
			}
		}
		if err := schedule(tx, bot.QueueOutbound, p, time.Now()); err != nil {
			return err
		}
		return tidy(tx, p)
	})
}

// letters lists up to limit items of the kind ("dead" or "esc") across people,
// oldest indexed person first.
func (s *Store) letters(kind string, list []byte, limit int) ([]bot.Letter, error) {
	var out []bot.Letter
	err := s.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bIdx[kind]).Cursor()
		for k, _ := c.First(); k != nil && len(out) < limit; k, _ = c.Next() {
			p := string(k[8:])
			b := sub(tx, p, list)
			if b == nil {
				continue
			}
			ic := b.Cursor()
			for ik, v := ic.First(); ik != nil && len(out) < limit; ik, v = ic.Next() {
				it, err := decodeItem(v)
				if err != nil {
					return err
				}
				out = append(out, bot.Letter{Person: p, Item: it})
			}
		}
		return nil
	})
	return out, err
}

// DeadLetters implements bot.Store.
func (s *Store) DeadLetters(ctx context.Context, limit int) ([]bot.Letter, error) {
	return s.letters("dead", lDead, limit)
}

// Escalations implements bot.Store.
func (s *Store) Escalations(ctx context.Context, limit int) ([]bot.Letter, error) {
	return s.letters("esc", lEsc, limit)
}

// CountDeadLetters implements bot.Store.
func (s *Store) CountDeadLetters(ctx context.Context) (int64, error) {
	var n int64
	err := s.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bIdx["dead"]).ForEach(func(k, _ []byte) error {
			if b := sub(tx, string(k[8:]), lDead); b != nil {
				n += int64(b.Stats().KeyN)
			}
			return nil
		})
	})
	return n, err
}

// Sweep removes sessions, dedupe marks and locks that expired by now, and the
// person buckets that leaves empty.
func (s *Store) Sweep(now time.Time) error {
	return s.update(func(tx *bolt.Tx) error {
		var people []string
		_ = tx.Bucket(bPeople).ForEach(func(k, _ []byte) error {
			people = append(people, string(k))
			return nil
		})
		for _, p := range people {
			pb := person(tx, p)
			if v := pb.Get(kSession); v != nil && expired(v[:8], now) {
				if err := pb.Delete(kSession); err != nil {
					return err
				}
			}
			if seen := pb.Bucket(lSeen); seen != nil {
				if err := pruneExpired(seen, now); err != nil {
					return err
				}
			}
			if err := tidy(tx, p); err != nil {
				return err
			}
		}
		locks := tx.Bucket(bLocks)
		var stale [][]byte
		_ = locks.ForEach(func(k, v []byte) error {
			if expired(v[:8], now) {
				stale = append(stale, bytes.Clone(k))
			}
			return nil
		})
		for _, k := range stale {
			if err := locks.Delete(k); err != nil {
				return err
			}
		}
		return nil
	})
}

// bAliases maps an identity to the person it stands for.
var bAliases = []byte("aliases")

// SetAlias implements bot.Store.
func (s *Store) SetAlias(ctx context.Context, from, to string) error {
	if err := checkPerson(from); err != nil {
		return err
	}
	if err := checkPerson(to); err != nil {
		return err
	}
	return s.update(func(tx *bolt.Tx) error { return tx.Bucket(bAliases).Put([]byte(from), []byte(to)) })
}

// Alias implements bot.Store.
func (s *Store) Alias(ctx context.Context, from string) (string, error) {
	if err := checkPerson(from); err != nil {
		return "", err
	}
	var to string
	err := s.view(func(tx *bolt.Tx) error {
		v := tx.Bucket(bAliases).Get([]byte(from))
		if v == nil {
			return bot.ErrNotFound
		}
		to = string(v)
		return nil
	})
	return to, err
}

// DeleteAlias implements bot.Store.
func (s *Store) DeleteAlias(ctx context.Context, from string) error {
	if err := checkPerson(from); err != nil {
		return err
	}
	return s.update(func(tx *bolt.Tx) error { return tx.Bucket(bAliases).Delete([]byte(from)) })
}
