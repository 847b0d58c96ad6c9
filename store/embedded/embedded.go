// Package embedded is the bot.Store kept in one bbolt file, the default when no
// REDIS_URL is set: a single Enlace process owns the file (a second one gets a
// clear error) and every method is one bbolt transaction, so it is atomic.
//
// Layout:
//
//	people/<person>/session     expiry (8 bytes, unix ns) + sealed session
//	people/<person>/in|out|dead|esc/<seq>   item: ID, NUL, data (seq big-endian: FIFO)
//	people/<person>/seen/<dedupe key>       expiry (unix ns)
//	people/<person>/flags|optout/<flag>     1
//	people/<person>/timers/<timer id>       due time (unix ns)
//	people/<person>/exp:<bucket>            when that bucket expires (unix ns)
//	people/<person>/idx:dead|idx:esc        this person's key in the index below
//	q:in:at, q:out:at/<ready time><person>  queues in ready-time order
//	q:in:who, q:out:who/<person>            the person's ready time (claims are
//	                                        kept in memory, leaseTable)
//	idx:dead, idx:esc/<seq><person>         people with dead letters / escalations, oldest first
//	locks/<person>                          expiry (unix ns) + token: locks of earlier
//	                                        versions, which Sweep removes (now in memory)
//	aliases/<from>                          0, expiry (unix ns), the person from stands for
//
// Every record about a person expires (Options.Retention): the buckets in,
// out, esc, flags and timers Retention.Person after the last write (every
// commit refreshes them all), dead Retention.DeadLetters after the latest
// dead letter, optout Retention.OptOut after the latest STOP. Empty per-person
// buckets are removed, and a person's bucket goes when nothing in it remains,
// so erased and expired people leave no names behind. Locks live in memory
// (one process owns the file), so taking and releasing one writes nothing.
// Expired sessions and dedupe marks read as absent; Sweep removes everything that expired by the
// time it is given (the pipeline calls it with its own clock).
package embedded

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/enlace-rfl/enlace/bot"
	"github.com/enlace-rfl/enlace/store"
)

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
	bFlags, bOptOut               = []byte("flags"), []byte("optout")

	// personBuckets are every bucket a person's bucket may hold.
	personBuckets = [][]byte{lIn, lOut, lDead, lEsc, lSeen, bFlags, bOptOut, bTimers}
)

// Options configures a Store.
type Options struct {
	// Retention is how long records about a person are kept (bot.Retention's
	// defaults for zero fields).
	Retention bot.Retention
}

// Store is a bot.Store in a bbolt file. It is safe for concurrent use.
type Store struct {
	db     *bolt.DB
	ret    bot.Retention
	places placeIndex
	once   sync.Once
	conv   convBroker // conversation events (conversations.go)
	// budgets pace delivery: one process owns the file, so they live in
	// memory (and start full after a restart).
	budgets store.MemoryBudgets
	locks   lockTable
	leases  leaseTable
	// suspects are the people in a delivery lane when the file was opened
	// after a kill (lapsed.go).
	suspects lapsedTable
	// writes counts committed write transactions (each one an fsync).
	writes atomic.Int64
}

var _ bot.Store = (*Store)(nil)

// Open opens or creates the store file at path (mode 0600, its directory 0700).
func Open(path string, opts Options) (*Store, error) {
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
	var suspects map[leaseKey]time.Time
	err = db.Update(func(tx *bolt.Tx) error {
		var err error
		if suspects, err = openMark(tx); err != nil {
			return err
		}
		names := [][]byte{bPeople, bLocks, bIdx["dead"], bIdx["esc"], bAliases, bCounters}
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
	return &Store{db: db, ret: opts.Retention.WithDefaults(), suspects: lapsedTable{m: suspects}}, nil
}

// Close marks the file closed (lapsed.go) and closes it. It may be called
// more than once.
func (s *Store) Close() error {
	var err error
	s.once.Do(func() { err = errors.Join(s.closeMark(), s.db.Close()) })
	return err
}

// DB is the underlying bbolt database, for tests that read every stored byte.
func (s *Store) DB() *bolt.DB { return s.db }

// Ping reports whether the file is open and readable.
func (s *Store) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.view(func(*bolt.Tx) error { return nil })
}

// WriteTransactions is how many write transactions this Store has committed
// since Open (each one writes and fsyncs the file), for tests and benchmarks
// that count what the store costs.
func (s *Store) WriteTransactions() int64 { return s.writes.Load() }

// write runs fn in a write transaction and counts it when it commits.
func (s *Store) write(fn func(tx *bolt.Tx) error) error {
	if err := s.db.Update(fn); err != nil {
		return err
	}
	s.writes.Add(1)
	return nil
}

// update runs fn in a write transaction; errors from bot are returned as they are.
func (s *Store) update(fn func(tx *bolt.Tx) error) error {
	if err := s.write(fn); err != nil {
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

// unstamp decodes stamp.
func unstamp(b []byte) time.Time { return time.Unix(0, int64(binary.BigEndian.Uint64(b)^1<<63)) }

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

// tidy removes the person's empty sub-buckets with their expiry and index
// entries, then the person's bucket if empty.
func tidy(tx *bolt.Tx, p string) error {
	pb := person(tx, p)
	if pb == nil {
		return nil
	}
	for _, name := range personBuckets {
		b := pb.Bucket(name)
		if b != nil && empty(b) {
			if err := pb.DeleteBucket(name); err != nil {
				return err
			}
			b = nil
		}
		if b != nil {
			continue
		}
		// Deleted only when there, so that a read-only sweep stays read-only.
		if pb.Get(expKey(name)) != nil {
			if err := pb.Delete(expKey(name)); err != nil {
				return err
			}
		}
		if kind := string(name); bIdx[kind] != nil {
			if err := unindex(tx, pb, kind); err != nil {
				return err
			}
		}
	}
	if empty(pb) {
		return tx.Bucket(bPeople).DeleteBucket([]byte(p))
	}
	return nil
}

// expKey names the expiry of a person's bucket.
func expKey(name []byte) []byte { return append([]byte("exp:"), name...) }

// keep makes the person's bucket name, if it exists, expire at now+d.
func keep(pb *bolt.Bucket, name []byte, now time.Time, d time.Duration) error {
	if pb.Bucket(name) == nil {
		return nil
	}
	return pb.Put(expKey(name), expiry(now.Add(d)))
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
	if !q.Valid() {
		return fmt.Errorf("%w: unknown queue %q", errInvalid, q)
	}
	return nil
}

// queueBuckets names q's two buckets: people by ready time, ready time by
// person. Lane queues get theirs when first used.
func queueBuckets(q bot.Queue) (at, by []byte) {
	if at := bQueueAt[q]; at != nil {
		return at, bQueueBy[q]
	}
	return []byte("q:" + string(q) + ":at"), []byte("q:" + string(q) + ":who")
}

// queue returns q's two buckets, creating a lane queue's in a write
// transaction; in a read-only one a lane queue never used has none (nil).
func queue(tx *bolt.Tx, q bot.Queue) (byAt, who *bolt.Bucket, err error) {
	at, by := queueBuckets(q)
	byAt, who = tx.Bucket(at), tx.Bucket(by)
	if byAt != nil && who != nil || !tx.Writable() {
		return byAt, who, nil
	}
	if byAt, err = tx.CreateBucketIfNotExists(at); err != nil {
		return nil, nil, err
	}
	if who, err = tx.CreateBucketIfNotExists(by); err != nil {
		return nil, nil, err
	}
	return byAt, who, nil
}

// schedule sets the person's ready time in q. A new ready time ends the
// person's claim on q, if any (leaseTable).
func (s *Store) schedule(tx *bolt.Tx, q bot.Queue, p string, at time.Time) error {
	byAt, who, err := queue(tx, q)
	if err != nil {
		return err
	}
	s.leases.end(q, p)
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
	return s.accept(p, dedupeKey, msg, dedupeTTL, now, false)
}

// AcceptKnown implements bot.Store.
func (s *Store) AcceptKnown(ctx context.Context, p, dedupeKey string, msg bot.Item, dedupeTTL time.Duration, now time.Time) (bool, error) {
	return s.accept(p, dedupeKey, msg, dedupeTTL, now, true)
}

// hasSession reports whether the person has a session unexpired at now.
func hasSession(tx *bolt.Tx, p string, now time.Time) bool {
	pb := person(tx, p)
	if pb == nil {
		return false
	}
	v := pb.Get(kSession)
	return v != nil && !expired(v[:8], now)
}

func (s *Store) accept(p, dedupeKey string, msg bot.Item, dedupeTTL time.Duration, now time.Time, known bool) (bool, error) {
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
		if known && !hasSession(tx, p, now) {
			return bot.ErrNotFound
		}
		if err := s.schedule(tx, bot.QueueInbound, p, now); err != nil {
			return err
		}
		pb, err := createPerson(tx, p)
		if err != nil {
			return err
		}
		if fresh, err = markSeen(pb, dedupeKey, dedupeTTL, now); err != nil {
			return err
		}
		if fresh {
			if err := push(pb, lIn, encodeItem(msg)); err != nil {
				return err
			}
			if err := keep(pb, lIn, now, s.ret.Person); err != nil {
				return err
			}
		}
		return tidy(tx, p)
	})
	return fresh, err
}

// markSeen records dedupeKey among the person's marks for ttl (none when
// ttl is 0), forgetting expired ones and the oldest past bot.DedupeMarks;
// fresh is false, and nothing is changed, when the mark is already there.
func markSeen(pb *bolt.Bucket, dedupeKey string, ttl time.Duration, now time.Time) (fresh bool, err error) {
	seen, err := pb.CreateBucketIfNotExists(lSeen)
	if err != nil {
		return false, err
	}
	if err := pruneExpired(seen, now); err != nil {
		return false, err
	}
	if seen.Get([]byte(dedupeKey)) != nil {
		return false, nil
	}
	if ttl > 0 {
		if err := seen.Put([]byte(dedupeKey), expiry(now.Add(ttl))); err != nil {
			return false, err
		}
		if err := forgetOldest(seen, bot.DedupeMarks); err != nil {
			return false, err
		}
	}
	return true, nil
}

// forgetOldest deletes the entries of b that expire first until at most
// keep are left.
func forgetOldest(b *bolt.Bucket, keep int) error {
	for {
		n := 0
		var oldest, at []byte
		_ = b.ForEach(func(k, v []byte) error {
			n++
			if v != nil && (oldest == nil || bytes.Compare(v, at) < 0) {
				oldest, at = bytes.Clone(k), v
			}
			return nil
		})
		if n <= keep || oldest == nil {
			return nil
		}
		if err := b.Delete(oldest); err != nil {
			return err
		}
	}
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

// leaseTable holds the claims on the work queues (Claim) in memory: one
// process owns the file, so a claim needs no write, and after a crash the
// work is ready at once again rather than when the lease runs out. A claim
// hides the person from other claims of the queue until it ends: when its
// lease runs out, when it is released, or when the person gets a new ready
// time in the queue (schedule), as that replaced the claim's time in the
// file before. Write transactions take mu inside their transaction (after
// bbolt's writer lock), Claim around a read-only one, never the reverse.
type leaseTable struct {
	mu sync.Mutex
	m  map[leaseKey]time.Time // claim -> until
}

type leaseKey struct {
	q      bot.Queue
	member string
}

// Defer implements bot.Deferrer: the claim, in memory, lasts until at.
func (s *Store) Defer(q bot.Queue, c bot.Claim, at time.Time) bool {
	l := &s.leases
	l.mu.Lock()
	defer l.mu.Unlock()
	k := leaseKey{q, c.Person}
	if u, ok := l.m[k]; !ok || !u.Equal(c.Until) {
		return false
	}
	l.m[k] = at
	return true
}

// end ends the claim on member in q, if any.
func (l *leaseTable) end(q bot.Queue, member string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.m, leaseKey{q, member})
}

// prune forgets the claims whose lease ran out by now.
func (l *leaseTable) prune(now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for k, until := range l.m {
		if !now.Before(until) {
			delete(l.m, k)
		}
	}
}

// Claim implements bot.Store: it reads the queue in a read-only transaction
// and keeps its claims in memory (leaseTable), so it never writes.
func (s *Store) Claim(ctx context.Context, q bot.Queue, now time.Time, lease time.Duration, n int) ([]bot.Claim, error) {
	if err := checkQueue(q); err != nil {
		return nil, err
	}
	if n <= 0 {
		return nil, nil
	}
	until := now.Add(lease)
	l := &s.leases
	l.mu.Lock()
	defer l.mu.Unlock()
	var cs []bot.Claim
	err := s.view(func(tx *bolt.Tx) error {
		at, _ := queueBuckets(q)
		b := tx.Bucket(at)
		if b == nil {
			return nil
		}
		limit := stamp(now)
		c := b.Cursor()
		for k, _ := c.First(); k != nil && len(cs) < n && bytes.Compare(k[:8], limit) <= 0; k, _ = c.Next() {
			p := string(k[8:])
			if u, ok := l.m[leaseKey{q, p}]; ok && now.Before(u) {
				continue // claimed already
			}
			cs = append(cs, bot.Claim{Person: p, Until: until, Lapsed: s.lapsed(q, p)})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(cs) > 0 && l.m == nil {
		l.m = map[leaseKey]time.Time{}
	}
	for _, c := range cs {
		l.m[leaseKey{q, c.Person}] = until
	}
	return cs, nil
}

// due reports, from a read-only transaction, whether the first member of the
// queue bucket at is ready by now: claims look before they write, so polling
// an idle queue writes nothing. A failed read says yes, and the claim's own
// transaction reports the error.
func (s *Store) due(at []byte, now time.Time) bool {
	ready := true
	_ = s.view(func(tx *bolt.Tx) error {
		ready = false
		if b := tx.Bucket(at); b != nil {
			k, _ := b.Cursor().First()
			ready = k != nil && bytes.Compare(k[:8], stamp(now)) <= 0
		}
		return nil
	})
	return ready
}

// Schedule implements bot.Store.
func (s *Store) Schedule(ctx context.Context, q bot.Queue, p string, at time.Time) error {
	if err := checkQueue(q); err != nil {
		return err
	}
	if err := checkPerson(p); err != nil {
		return err
	}
	return s.update(func(tx *bolt.Tx) error { return s.schedule(tx, q, p, at) })
}

// Release implements bot.Store. A claim made by Claim is held in memory
// (leaseTable); one that is not (made before a restart, or by a test that
// scheduled the person at c.Until) stands while the person's ready time in
// the file is c.Until, as before claims moved to memory. A claim that no
// longer stands costs no write.
func (s *Store) Release(ctx context.Context, q bot.Queue, c bot.Claim) (bool, error) {
	if err := checkQueue(q); err != nil {
		return false, err
	}
	if !s.leases.stands(q, c) {
		var stored bool
		err := s.view(func(tx *bolt.Tx) error {
			_, who, _ := queue(tx, q)
			stored = who != nil && bytes.Equal(who.Get([]byte(c.Person)), stamp(c.Until))
			return nil
		})
		if err != nil || !stored {
			return false, err
		}
	}
	var ok bool
	err := s.update(func(tx *bolt.Tx) error {
		var err error
		ok, err = s.releaseQueued(tx, q, c)
		return err
	})
	return ok, err
}

// releaseQueued is Release inside tx: it removes the person from q if c
// still stands.
func (s *Store) releaseQueued(tx *bolt.Tx, q bot.Queue, c bot.Claim) (bool, error) {
	byAt, who, err := queue(tx, q)
	if err != nil {
		return false, err
	}
	ts := bytes.Clone(who.Get([]byte(c.Person)))
	if ts == nil || !s.leases.release(q, c, ts) {
		return false, nil
	}
	if err := who.Delete([]byte(c.Person)); err != nil {
		return false, err
	}
	return true, byAt.Delete(append(ts, c.Person...))
}

// stands reports whether c is the claim held in memory on its person in q.
func (l *leaseTable) stands(q bot.Queue, c bot.Claim) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	u, ok := l.m[leaseKey{q, c.Person}]
	return ok && u.Equal(c.Until)
}

// release ends c if it still stands, and reports whether it did: the claim
// held in memory, or, when none is, the person's ready time in the file
// (stored) is c.Until.
func (l *leaseTable) release(q bot.Queue, c bot.Claim, stored []byte) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	k := leaseKey{q, c.Person}
	u, ok := l.m[k]
	if !ok {
		return bytes.Equal(stored, stamp(c.Until))
	}
	if !u.Equal(c.Until) {
		return false
	}
	delete(l.m, k)
	return true
}

// Pending implements bot.Store.
func (s *Store) Pending(ctx context.Context, q bot.Queue) (int64, error) {
	if err := checkQueue(q); err != nil {
		return 0, err
	}
	var n int64
	err := s.view(func(tx *bolt.Tx) error {
		if _, who, _ := queue(tx, q); who != nil {
			n = int64(who.Stats().KeyN)
		}
		return nil
	})
	return n, err
}

// lockTable holds the people's locks (Lock). One process owns the file, so
// they live in memory and cost no write: a process that dies holds nothing
// after a restart, which is all a lock's expiry in the file stood for. A
// commit pins the lock it holds for its whole transaction, so the lock cannot
// expire or change hands between the commit's check and its write (the order
// locks in the file gave), while mu itself is held only for moments: taking
// another person's lock never waits for a commit's fsync.
type lockTable struct {
	mu sync.Mutex
	m  map[string]heldLock
}

type heldLock struct {
	until  time.Time
	token  string
	pinned bool // a commit under this lock is being written
}

// taken reports whether h holds its person's lock at now.
func (h heldLock) taken(now time.Time) bool { return h.pinned || now.Before(h.until) }

// pin checks that token holds the person's lock, unexpired at now, and keeps
// it held until unpin, expired or not.
func (l *lockTable) pin(p, token string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	h, ok := l.m[p]
	if !ok || !now.Before(h.until) || h.token != token {
		return false
	}
	h.pinned = true
	l.m[p] = h
	return true
}

// unpin ends pin; with release, it also lets the lock go.
func (l *lockTable) unpin(p, token string, release bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	h, ok := l.m[p]
	if !ok || h.token != token {
		return
	}
	if release {
		delete(l.m, p)
		return
	}
	h.pinned = false
	l.m[p] = h
}

// prune forgets the locks expired by now (of holders that never unlocked).
func (l *lockTable) prune(now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for p, h := range l.m {
		if !h.taken(now) {
			delete(l.m, p)
		}
	}
}

// Lock implements bot.Store, in memory (lockTable).
func (s *Store) Lock(ctx context.Context, p string, ttl time.Duration, now time.Time) (string, error) {
	if err := checkPerson(p); err != nil {
		return "", err
	}
	if ttl <= 0 {
		return "", fmt.Errorf("%w: lock ttl %v", errInvalid, ttl)
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("embedded: lock token: %w", err)
	}
	tok := hex.EncodeToString(b[:])
	l := &s.locks
	l.mu.Lock()
	defer l.mu.Unlock()
	if h, ok := l.m[p]; ok && h.taken(now) {
		return "", bot.ErrLocked
	}
	if l.m == nil {
		l.m = map[string]heldLock{}
	}
	l.m[p] = heldLock{until: now.Add(ttl), token: tok}
	return tok, nil
}

// Unlock implements bot.Store. A token is never reused, so a lock it names
// is still its holder's, expired or not.
func (s *Store) Unlock(ctx context.Context, p, token string) error {
	l := &s.locks
	l.mu.Lock()
	defer l.mu.Unlock()
	if h, ok := l.m[p]; ok && h.token == token {
		delete(l.m, p)
	}
	return nil
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
func (s *Store) LoadSession(ctx context.Context, p string, now time.Time) ([]byte, error) {
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
		if v == nil || expired(v[:8], now) {
			return bot.ErrNotFound
		}
		sess = bytes.Clone(v[8:])
		return nil
	})
	return sess, err
}

// Commit implements bot.Store. An InboundID that is not the inbox head is
// refused with bot.ErrNotFound and nothing is written. A SessionTTL of zero or
// less keeps the session for Retention.Person. The lock stays until Unlock or
// its TTL, also after Erase.
func (s *Store) Commit(ctx context.Context, p, token string, c bot.Commit, now time.Time) error {
	if err := checkPerson(p); err != nil {
		return err
	}
	if err := checkItems(append(c.Outbox, c.Escalations...)...); err != nil {
		return err
	}
	if !s.locks.pin(p, token, now) { // see lockTable
		return bot.ErrLockLost
	}
	defer s.locks.unpin(p, token, false)
	return s.update(func(tx *bolt.Tx) error { return s.commit(tx, p, c, now) })
}

// commit is Commit inside tx; the caller pinned the person's lock.
func (s *Store) commit(tx *bolt.Tx, p string, c bot.Commit, now time.Time) error {
	pb, err := createPerson(tx, p)
	if err != nil {
		return err
	}
	if c.Mark != nil {
		if c.Mark.Key == "" || c.InboundID != "" {
			return fmt.Errorf("%w: a commit's mark needs a key and no inbound ID", errInvalid)
		}
		fresh, err := markSeen(pb, c.Mark.Key, c.Mark.TTL, now)
		if err != nil {
			return err
		}
		if !fresh {
			return bot.ErrDuplicate
		}
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
		ttl := s.ret.Person
		if c.SessionTTL > 0 {
			ttl = c.SessionTTL
		}
		err = pb.Put(kSession, append(expiry(now.Add(ttl)), c.Session...))
	}
	if err != nil {
		return err
	}
	if err := s.commitTimers(tx, pb, p, c.SetTimers, c.CancelTimers); err != nil {
		return err
	}
	wasEmpty := pb.Bucket(lOut) == nil || empty(pb.Bucket(lOut))
	if err := pushItems(pb, lOut, c.Outbox); err != nil {
		return err
	}
	if err := putEscalations(pb, c.Escalations); err != nil {
		return err
	}
	// The person's conversation moved: everything about them is kept
	// for the retention from now.
	for _, name := range [][]byte{lIn, lOut, lEsc, bFlags, bTimers} {
		if err := keep(pb, name, now, s.ret.Person); err != nil {
			return err
		}
	}
	if len(c.Escalations) > 0 {
		if err := index(tx, pb, p, "esc"); err != nil {
			return err
		}
	}
	if out := pb.Bucket(lOut); out != nil && !empty(out) {
		q := bot.QueueOutbound
		if wasEmpty && len(c.Outbox) > 0 && c.Lane.Valid() && c.Lane != bot.QueueInbound {
			q = c.Lane
		}
		if err := s.schedule(tx, q, p, now); err != nil {
			return err
		}
	}
	return tidy(tx, p)
}

// BeginInbound implements bot.Store: the lock is taken in memory (Lock) and
// the rest read in a read-only transaction, so it writes nothing.
func (s *Store) BeginInbound(ctx context.Context, p string, lockTTL time.Duration, now time.Time) (bot.Begun, error) {
	tok, err := s.Lock(ctx, p, lockTTL, now)
	if err != nil {
		return bot.Begun{}, err
	}
	var out bot.Begun
	err = s.view(func(tx *bolt.Tx) error {
		var err error
		out, err = begun(tx, p, now)
		return err
	})
	if err != nil {
		_ = s.Unlock(ctx, p, tok)
		return bot.Begun{}, err
	}
	out.Token = tok
	return out, nil
}

// BeginArrival implements bot.HandlingStore: the lock is in memory and the
// reads are a read-only transaction, so it writes nothing.
func (s *Store) BeginArrival(ctx context.Context, p, dedupeKey string, lockTTL time.Duration, now time.Time) (b bot.Begun, seen, ok bool, err error) {
	if err := checkPerson(p); err != nil {
		return bot.Begun{}, false, false, err
	}
	tok, err := s.Lock(ctx, p, lockTTL, now)
	if errors.Is(err, bot.ErrLocked) {
		return bot.Begun{}, false, false, nil
	}
	if err != nil {
		return bot.Begun{}, false, false, err
	}
	err = s.view(func(tx *bolt.Tx) error {
		if pb := person(tx, p); pb != nil {
			if sb := pb.Bucket(lSeen); sb != nil {
				if v := sb.Get([]byte(dedupeKey)); v != nil && !expired(v, now) {
					seen = true
					return nil
				}
			}
		}
		var err error
		b, err = begun(tx, p, now)
		return err
	})
	if err != nil || seen || b.Head.ID != "" {
		_ = s.Unlock(ctx, p, tok)
		return bot.Begun{}, seen, false, err
	}
	b.Token = tok
	return b, false, true, nil
}

// Finish implements bot.Store in one write transaction; the lock, in
// memory, is released once that transaction has committed.
func (s *Store) Finish(ctx context.Context, p, token string, c bot.Commit, release *bot.Claim, now time.Time) (bot.Begun, error) {
	if err := checkPerson(p); err != nil {
		return bot.Begun{}, err
	}
	if err := checkItems(append(c.Outbox, c.Escalations...)...); err != nil {
		return bot.Begun{}, err
	}
	if !s.locks.pin(p, token, now) { // see lockTable
		return bot.Begun{}, bot.ErrLockLost
	}
	var out bot.Begun
	var released bool
	defer func() { s.locks.unpin(p, token, released) }()
	err := s.update(func(tx *bolt.Tx) error {
		released = false
		if err := s.commit(tx, p, c, now); err != nil {
			return err
		}
		var err error
		if out, err = begun(tx, p, now); err != nil {
			return err
		}
		out.Token = token
		if release == nil || out.Head.ID != "" {
			return nil
		}
		if _, err := s.releaseQueued(tx, bot.QueueInbound, *release); err != nil {
			return err
		}
		released = true
		return nil
	})
	if err != nil {
		released = false
		return bot.Begun{}, err
	}
	if released {
		out.Token = ""
	}
	return out, nil
}

// begun reads the person's inbox head, session and flags inside tx.
func begun(tx *bolt.Tx, p string, now time.Time) (bot.Begun, error) {
	var out bot.Begun
	out.Flags = []string{}
	pb := person(tx, p)
	if pb == nil {
		return out, nil
	}
	if in := pb.Bucket(lIn); in != nil {
		if _, v := in.Cursor().First(); v != nil {
			it, err := decodeItem(v)
			if err != nil {
				return out, err
			}
			out.Head = it
		}
	}
	if v := pb.Get(kSession); v != nil && !expired(v[:8], now) {
		out.Session = bytes.Clone(v[8:])
	}
	set := map[string]bool{}
	for _, n := range [][]byte{bFlags, bOptOut} {
		if b := pb.Bucket(n); b != nil {
			_ = b.ForEach(func(k, _ []byte) error {
				set[string(k)] = true
				return nil
			})
		}
	}
	if len(set) > 0 {
		out.Flags = slices.Sorted(maps.Keys(set))
	}
	return out, nil
}

// putEscalations adds escalations to the person's; one whose ID is already
// there replaces it in place.
func putEscalations(pb *bolt.Bucket, items []bot.Item) error {
	for _, it := range items {
		var at []byte
		if b := pb.Bucket(lEsc); b != nil {
			c := b.Cursor()
			for k, v := c.First(); k != nil; k, v = c.Next() {
				if hasID(v, it.ID) {
					at = bytes.Clone(k)
					break
				}
			}
			if at != nil {
				if err := b.Put(at, encodeItem(it)); err != nil {
					return err
				}
				continue
			}
		}
		if err := push(pb, lEsc, encodeItem(it)); err != nil {
			return err
		}
	}
	return nil
}

// erase deletes everything Commit.Erase names, and the person's index entries.
func erase(tx *bolt.Tx, pb *bolt.Bucket, p string) error {
	if err := eraseTimers(tx, pb, p); err != nil {
		return err
	}
	if err := pb.Delete(kSession); err != nil {
		return err
	}
	for _, name := range [][]byte{lOut, lDead, lEsc, lSeen, bFlags} {
		if pb.Bucket(name) == nil {
			continue
		}
		if err := pb.DeleteBucket(name); err != nil {
			return err
		}
		if err := pb.Delete(expKey(name)); err != nil {
			return err
		}
	}
	if err := unindex(tx, pb, "dead"); err != nil {
		return err
	}
	return unindex(tx, pb, "esc")
}

// flagBucket is the bucket a flag is kept in, and for how long.
func (s *Store) flagBucket(flag string) ([]byte, time.Duration) {
	if strings.HasPrefix(flag, bot.OptOutFlagPrefix) {
		return bOptOut, s.ret.OptOut
	}
	return bFlags, s.ret.Person
}

// SetFlag implements bot.Store. Opt-outs are kept in their own bucket, which
// erase leaves alone.
func (s *Store) SetFlag(ctx context.Context, p, flag string, on bool, now time.Time) error {
	if err := checkPerson(p); err != nil {
		return err
	}
	if flag == "" {
		return errors.New("embedded: empty flag")
	}
	name, ttl := s.flagBucket(flag)
	return s.update(func(tx *bolt.Tx) error {
		if !on {
			pb := person(tx, p)
			if pb == nil {
				return nil
			}
			for _, n := range [][]byte{name, bFlags} { // earlier versions kept opt-outs among the flags
				if b := pb.Bucket(n); b != nil {
					if err := b.Delete([]byte(flag)); err != nil {
						return err
					}
				}
			}
			return tidy(tx, p)
		}
		pb, err := createPerson(tx, p)
		if err != nil {
			return err
		}
		fb, err := pb.CreateBucketIfNotExists(name)
		if err != nil {
			return err
		}
		if err := fb.Put([]byte(flag), []byte{1}); err != nil {
			return err
		}
		return keep(pb, name, now, ttl)
	})
}

// Flags implements bot.Store.
func (s *Store) Flags(ctx context.Context, p string) ([]string, error) {
	if err := checkPerson(p); err != nil {
		return nil, err
	}
	set := map[string]bool{}
	err := s.view(func(tx *bolt.Tx) error {
		pb := person(tx, p)
		if pb == nil {
			return nil
		}
		for _, n := range [][]byte{bFlags, bOptOut} {
			if b := pb.Bucket(n); b != nil {
				b.ForEach(func(k, _ []byte) error {
					set[string(k)] = true
					return nil
				})
			}
		}
		return nil
	})
	out := slices.Sorted(maps.Keys(set))
	if out == nil {
		out = []string{}
	}
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
func (s *Store) Enqueue(ctx context.Context, p string, items []bot.Item, now time.Time) error {
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
		if err := keep(pb, lOut, now, s.ret.Person); err != nil {
			return err
		}
		return s.schedule(tx, bot.QueueOutbound, p, now)
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
func (s *Store) DeadLetter(ctx context.Context, p string, item bot.Item, now time.Time) error {
	return s.withOutboxHead(p, item.ID, func(tx *bolt.Tx, pb, out *bolt.Bucket, k []byte) error {
		if err := out.Delete(k); err != nil {
			return err
		}
		if err := push(pb, lDead, encodeItem(item)); err != nil {
			return err
		}
		if err := keep(pb, lDead, now, s.ret.DeadLetters); err != nil {
			return err
		}
		return index(tx, pb, p, "dead")
	})
}

// Replay implements bot.Store, in one transaction.
func (s *Store) Replay(ctx context.Context, p, id string, now time.Time, rewrite func([]byte) ([]byte, error)) error {
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
		data, err := rewrite(val[len(id)+1:])
		if err != nil {
			return err
		}
		if err := dead.Delete(key); err != nil {
			return err
		}
		if err := push(pb, lOut, encodeItem(bot.Item{ID: id, Data: data})); err != nil {
			return err
		}
		if err := keep(pb, lOut, now, s.ret.Person); err != nil {
			return err
		}
		if err := s.schedule(tx, bot.QueueOutbound, p, now); err != nil {
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

// Sweep implements bot.Store: it removes everything that expired by now
// (sessions, dedupe marks, locks, every expiring bucket of every person with
// the index and due entries that go with it, identity links), and
// the person buckets that leaves empty. A bucket written by an earlier version
// without an expiry gets one, from now.
//
// A sweep reads the stored expiry times first, in a read-only transaction
// where the first change it would make fails (bbolt's ErrTxNotWritable); only
// then does it run again in a write transaction. A sweep that finds nothing
// expired writes nothing, so an idle store is never written (every change in
// sweep is therefore made only when there is something to change).
func (s *Store) Sweep(ctx context.Context, now time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.locks.prune(now)
	s.leases.prune(now)
	err := s.db.View(func(tx *bolt.Tx) error { return s.sweep(tx, now) })
	if !errors.Is(err, bolterrors.ErrTxNotWritable) {
		if err != nil {
			return wrap(err)
		}
		return nil
	}
	return s.update(func(tx *bolt.Tx) error { return s.sweep(tx, now) })
}

// sweep is Sweep's work in tx.
func (s *Store) sweep(tx *bolt.Tx, now time.Time) error {
	var people []string
	_ = tx.Bucket(bPeople).ForEach(func(k, _ []byte) error {
		people = append(people, string(k))
		return nil
	})
	for _, p := range people {
		if err := s.sweepPerson(tx, p, now); err != nil {
			return err
		}
	}
	if err := sweepConversations(tx, now); err != nil {
		return err
	}
	if err := sweepStaff(tx, now); err != nil {
		return err
	}
	if err := sweepCases(tx, now); err != nil {
		return err
	}
	if err := sweepExpired(tx.Bucket(bLocks), func(v []byte) []byte { return v[:8] }, now); err != nil {
		return err
	}
	if err := sweepExpired(tx.Bucket(bCounters), counterExpiry, now); err != nil {
		return err
	}
	return sweepExpired(tx.Bucket(bAliases), aliasExpiry, now)
}

// sweepPerson removes what of one person expired by now.
func (s *Store) sweepPerson(tx *bolt.Tx, p string, now time.Time) error {
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
	for _, name := range [][]byte{lIn, lOut, lDead, lEsc, bFlags, bOptOut, bTimers} {
		if pb.Bucket(name) == nil {
			continue
		}
		v := pb.Get(expKey(name))
		if v == nil {
			ttl := s.ret.Person
			switch string(name) {
			case string(lDead):
				ttl = s.ret.DeadLetters
			case string(bOptOut):
				ttl = s.ret.OptOut
			}
			if err := keep(pb, name, now, ttl); err != nil {
				return err
			}
			continue
		}
		if !expired(v, now) {
			continue
		}
		if bytes.Equal(name, bTimers) {
			if err := eraseTimers(tx, pb, p); err != nil {
				return err
			}
			continue
		}
		if err := pb.DeleteBucket(name); err != nil {
			return err
		}
	}
	return tidy(tx, p)
}

// sweepExpired deletes the entries of b whose expiry (read from the value by
// exp) passed by now.
func sweepExpired(b *bolt.Bucket, exp func(v []byte) []byte, now time.Time) error {
	var stale [][]byte
	_ = b.ForEach(func(k, v []byte) error {
		if e := exp(v); e != nil && expired(e, now) {
			stale = append(stale, bytes.Clone(k))
		}
		return nil
	})
	for _, k := range stale {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// bAliases maps an identity to the person it stands for.
var bAliases = []byte("aliases")

// An alias is stored as 0, its expiry, then the person; earlier versions
// stored the person alone (which never starts with 0).
func aliasValue(to string, exp time.Time) []byte {
	return append(append([]byte{0}, expiry(exp)...), to...)
}

func aliasExpiry(v []byte) []byte {
	if len(v) > 9 && v[0] == 0 {
		return v[1:9]
	}
	return nil
}

func aliasTarget(v []byte) string {
	if aliasExpiry(v) != nil {
		return string(v[9:])
	}
	return string(v)
}

// SetAlias implements bot.Store.
func (s *Store) SetAlias(ctx context.Context, from, to string, now time.Time) error {
	if err := checkPerson(from); err != nil {
		return err
	}
	if err := checkPerson(to); err != nil {
		return err
	}
	return s.update(func(tx *bolt.Tx) error {
		return tx.Bucket(bAliases).Put([]byte(from), aliasValue(to, now.Add(s.ret.Person)))
	})
}

// aliasRefresh is how stale an alias's expiry may get before a read renews it,
// so that reading an alias is a write at most once a day.
const aliasRefresh = 24 * time.Hour

// Alias implements bot.Store: reading the link keeps it for Retention.Person.
func (s *Store) Alias(ctx context.Context, from string, now time.Time) (string, error) {
	if err := checkPerson(from); err != nil {
		return "", err
	}
	var to string
	var renew bool
	err := s.view(func(tx *bolt.Tx) error {
		v := tx.Bucket(bAliases).Get([]byte(from))
		exp := aliasExpiry(v)
		if v == nil || exp != nil && expired(exp, now) {
			return bot.ErrNotFound
		}
		to = aliasTarget(v)
		renew = exp == nil || expired(exp, now.Add(s.ret.Person-aliasRefresh))
		return nil
	})
	if err != nil || !renew {
		return to, err
	}
	return to, s.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bAliases)
		if v := b.Get([]byte(from)); v == nil || aliasTarget(v) != to {
			return nil // changed meanwhile
		}
		return b.Put([]byte(from), aliasValue(to, now.Add(s.ret.Person)))
	})
}

// DeleteAlias implements bot.Store.
func (s *Store) DeleteAlias(ctx context.Context, from string) error {
	if err := checkPerson(from); err != nil {
		return err
	}
	return s.update(func(tx *bolt.Tx) error { return tx.Bucket(bAliases).Delete([]byte(from)) })
}
