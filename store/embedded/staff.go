package embedded

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/enlace-rfl/enlace/staff"
	"github.com/enlace-rfl/enlace/store"
)

// Staff buckets (see package staff):
//
//	staff:accounts/<account id>          sealed account
//	staff:names/<name key>               account id
//	staff:sessions/<key>                 expiry (8 bytes, unix ns) + sealed session
//	staff:fail/<key>/<window>            expiry (8 bytes, unix ns) + count (8 bytes)
//	staff:audit/<seq, 8 bytes big-endian> sealed audit entry
//	staff:audithead/seq|hash|floor|floorprev
//
// Expired sessions and counters read as absent and are removed by Sweep.

var _ staff.Store = (*Store)(nil)

var (
	bStaffAccounts = []byte("staff:accounts")
	bStaffNames    = []byte("staff:names")
	bStaffSessions = []byte("staff:sessions")
	bStaffFail     = []byte("staff:fail")
	bStaffAudit    = []byte("staff:audit")
	bStaffHead     = []byte("staff:audithead")
)

func staffCheck(kind, v string) error {
	if !store.ValidName(v) {
		return fmt.Errorf("embedded: invalid staff %s %q", kind, v)
	}
	return nil
}

// staffBucket returns a staff bucket, creating it in a write transaction; in a
// read transaction it may be nil (nothing stored yet).
func staffBucket(tx *bolt.Tx, name []byte) (*bolt.Bucket, error) {
	if tx.Writable() {
		return tx.CreateBucketIfNotExists(name)
	}
	return tx.Bucket(name), nil
}

func staffGet(tx *bolt.Tx, bucket, key []byte) []byte {
	b := tx.Bucket(bucket)
	if b == nil {
		return nil
	}
	return b.Get(key)
}

// CreateAccount implements staff.Store.
func (s *Store) CreateAccount(ctx context.Context, id, nameKey string, rec []byte) error {
	if err := errors.Join(staffCheck("account id", id), staffCheck("name key", nameKey), ctx.Err()); err != nil {
		return err
	}
	return s.update(func(tx *bolt.Tx) error {
		accts, err := staffBucket(tx, bStaffAccounts)
		if err != nil {
			return err
		}
		names, err := staffBucket(tx, bStaffNames)
		if err != nil {
			return err
		}
		if accts.Get([]byte(id)) != nil || names.Get([]byte(nameKey)) != nil {
			return staff.ErrExists
		}
		if err := accts.Put([]byte(id), rec); err != nil {
			return err
		}
		return names.Put([]byte(nameKey), []byte(id))
	})
}

// Account implements staff.Store.
func (s *Store) Account(ctx context.Context, id string) ([]byte, error) {
	if err := errors.Join(staffCheck("account id", id), ctx.Err()); err != nil {
		return nil, err
	}
	var out []byte
	err := s.view(func(tx *bolt.Tx) error {
		v := staffGet(tx, bStaffAccounts, []byte(id))
		if v == nil {
			return staff.ErrNotFound
		}
		out = bytes.Clone(v)
		return nil
	})
	return out, err
}

// AccountByName implements staff.Store.
func (s *Store) AccountByName(ctx context.Context, nameKey string) (string, error) {
	if err := errors.Join(staffCheck("name key", nameKey), ctx.Err()); err != nil {
		return "", err
	}
	var out string
	err := s.view(func(tx *bolt.Tx) error {
		v := staffGet(tx, bStaffNames, []byte(nameKey))
		if v == nil {
			return staff.ErrNotFound
		}
		out = string(v)
		return nil
	})
	return out, err
}

// Accounts implements staff.Store.
func (s *Store) Accounts(ctx context.Context) (map[string][]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := map[string][]byte{}
	err := s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bStaffAccounts)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			out[string(k)] = bytes.Clone(v)
			return nil
		})
	})
	return out, err
}

// UpdateAccount implements staff.Store.
func (s *Store) UpdateAccount(ctx context.Context, id string, old, rec []byte) error {
	if err := errors.Join(staffCheck("account id", id), ctx.Err()); err != nil {
		return err
	}
	return s.update(func(tx *bolt.Tx) error {
		b, err := staffBucket(tx, bStaffAccounts)
		if err != nil {
			return err
		}
		cur := b.Get([]byte(id))
		if cur == nil {
			return staff.ErrNotFound
		}
		if !bytes.Equal(cur, old) {
			return staff.ErrConflict
		}
		return b.Put([]byte(id), rec)
	})
}

func staffExpiry(t time.Time) []byte { return binary.BigEndian.AppendUint64(nil, uint64(t.UnixNano())) }

func staffExpired(v []byte, now time.Time) bool {
	return len(v) < 8 || int64(binary.BigEndian.Uint64(v[:8])) <= now.UnixNano()
}

// PutSession implements staff.Store.
func (s *Store) PutSession(ctx context.Context, key string, rec []byte, now, expires time.Time) error {
	if err := errors.Join(staffCheck("session key", key), ctx.Err()); err != nil {
		return err
	}
	if !expires.After(now) {
		return s.DeleteSession(ctx, key)
	}
	return s.update(func(tx *bolt.Tx) error {
		b, err := staffBucket(tx, bStaffSessions)
		if err != nil {
			return err
		}
		return b.Put([]byte(key), append(staffExpiry(expires), rec...))
	})
}

// Session implements staff.Store.
func (s *Store) Session(ctx context.Context, key string, now time.Time) ([]byte, error) {
	if err := errors.Join(staffCheck("session key", key), ctx.Err()); err != nil {
		return nil, err
	}
	var out []byte
	err := s.view(func(tx *bolt.Tx) error {
		v := staffGet(tx, bStaffSessions, []byte(key))
		if v == nil || staffExpired(v, now) {
			return staff.ErrNotFound
		}
		out = bytes.Clone(v[8:])
		return nil
	})
	return out, err
}

// DeleteSession implements staff.Store.
func (s *Store) DeleteSession(ctx context.Context, key string) error {
	if err := errors.Join(staffCheck("session key", key), ctx.Err()); err != nil {
		return err
	}
	return s.update(func(tx *bolt.Tx) error {
		b, err := staffBucket(tx, bStaffSessions)
		if err != nil {
			return err
		}
		return b.Delete([]byte(key))
	})
}

func failKey(key string, now time.Time, window time.Duration) ([]byte, time.Time) {
	w := now.UnixNano() / int64(window)
	end := time.Unix(0, (w+2)*int64(window)) // kept one window past its end
	return []byte(key + "/" + strconv.FormatInt(w, 10)), end
}

// AddFailure implements staff.Store.
func (s *Store) AddFailure(ctx context.Context, key string, now time.Time, window time.Duration) (int64, error) {
	if err := errors.Join(staffCheck("failure key", key), ctx.Err()); err != nil {
		return 0, err
	}
	if window <= 0 {
		return 0, errors.New("embedded: failure window must be positive")
	}
	var n int64
	err := s.update(func(tx *bolt.Tx) error {
		b, err := staffBucket(tx, bStaffFail)
		if err != nil {
			return err
		}
		k, end := failKey(key, now, window)
		if v := b.Get(k); len(v) == 16 {
			n = int64(binary.BigEndian.Uint64(v[8:]))
		}
		n++
		return b.Put(k, binary.BigEndian.AppendUint64(staffExpiry(end), uint64(n)))
	})
	return n, err
}

// Failures implements staff.Store.
func (s *Store) Failures(ctx context.Context, key string, now time.Time, window time.Duration) (int64, error) {
	if err := errors.Join(staffCheck("failure key", key), ctx.Err()); err != nil {
		return 0, err
	}
	if window <= 0 {
		return 0, errors.New("embedded: failure window must be positive")
	}
	var n int64
	err := s.view(func(tx *bolt.Tx) error {
		k, _ := failKey(key, now, window)
		if v := staffGet(tx, bStaffFail, k); len(v) == 16 {
			n = int64(binary.BigEndian.Uint64(v[8:]))
		}
		return nil
	})
	return n, err
}

func seqKey(seq int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(seq)) }

func readHead(tx *bolt.Tx) (staff.AuditHead, error) {
	h := staff.AuditHead{Floor: 1}
	b := tx.Bucket(bStaffHead)
	if b == nil {
		return h, nil
	}
	num := func(k string, into *int64) error {
		if v := b.Get([]byte(k)); v != nil {
			n, err := strconv.ParseInt(string(v), 10, 64)
			if err != nil {
				return fmt.Errorf("embedded: corrupt audit %s", k)
			}
			*into = n
		}
		return nil
	}
	if err := errors.Join(num("seq", &h.Seq), num("floor", &h.Floor)); err != nil {
		return h, err
	}
	h.Hash, h.FloorPrev = string(b.Get([]byte("hash"))), string(b.Get([]byte("floorprev")))
	return h, nil
}

// AuditHead implements staff.Store.
func (s *Store) AuditHead(ctx context.Context) (staff.AuditHead, error) {
	if err := ctx.Err(); err != nil {
		return staff.AuditHead{}, err
	}
	var h staff.AuditHead
	err := s.view(func(tx *bolt.Tx) error {
		var err error
		h, err = readHead(tx)
		return err
	})
	return h, err
}

// AppendAudit implements staff.Store.
func (s *Store) AppendAudit(ctx context.Context, seq int64, hash string, rec []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.update(func(tx *bolt.Tx) error {
		h, err := readHead(tx)
		if err != nil {
			return err
		}
		if h.Seq != seq-1 {
			return staff.ErrConflict
		}
		log, err := staffBucket(tx, bStaffAudit)
		if err != nil {
			return err
		}
		head, err := staffBucket(tx, bStaffHead)
		if err != nil {
			return err
		}
		if err := log.Put(seqKey(seq), rec); err != nil {
			return err
		}
		return errors.Join(head.Put([]byte("seq"), []byte(strconv.FormatInt(seq, 10))), head.Put([]byte("hash"), []byte(hash)))
	})
}

// AuditEntries implements staff.Store.
func (s *Store) AuditEntries(ctx context.Context, from int64, n int) ([]staff.AuditRecord, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	from = max(from, 1)
	var out []staff.AuditRecord
	err := s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(bStaffAudit)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		end := from + int64(n)
		for k, v := c.Seek(seqKey(from)); k != nil && len(out) < n; k, v = c.Next() {
			seq := int64(binary.BigEndian.Uint64(k))
			if seq >= end {
				break
			}
			out = append(out, staff.AuditRecord{Seq: seq, Data: bytes.Clone(v)})
		}
		return nil
	})
	return out, err
}

// TrimAudit implements staff.Store.
func (s *Store) TrimAudit(ctx context.Context, through int64, hash string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.update(func(tx *bolt.Tx) error {
		h, err := readHead(tx)
		if err != nil {
			return err
		}
		if through < h.Floor {
			return nil
		}
		log, err := staffBucket(tx, bStaffAudit)
		if err != nil {
			return err
		}
		head, err := staffBucket(tx, bStaffHead)
		if err != nil {
			return err
		}
		for seq := h.Floor; seq <= through; seq++ {
			if err := log.Delete(seqKey(seq)); err != nil {
				return err
			}
		}
		return errors.Join(head.Put([]byte("floor"), []byte(strconv.FormatInt(through+1, 10))),
			head.Put([]byte("floorprev"), []byte(hash)))
	})
}

// sweepStaff removes expired sessions and failure counters (called by Sweep).
func sweepStaff(tx *bolt.Tx, now time.Time) error {
	for _, name := range [][]byte{bStaffSessions, bStaffFail} {
		b := tx.Bucket(name)
		if b == nil {
			continue
		}
		var old [][]byte
		_ = b.ForEach(func(k, v []byte) error {
			if staffExpired(v, now) {
				old = append(old, bytes.Clone(k))
			}
			return nil
		})
		for _, k := range old {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
	}
	return nil
}

// resealStaffBuckets are the staff buckets of sealed records, with the bytes
// before the sealed record in each value (a session's expiry).
var resealStaffBuckets = []struct {
	name   []byte
	kind   staff.RecordKind
	header int
}{
	{bStaffAccounts, staff.RecordAccount, 0},
	{bStaffSessions, staff.RecordSession, 8},
	{bStaffAudit, staff.RecordAudit, 0},
}

// ResealStaff implements staff.Store, in one transaction.
func (s *Store) ResealStaff(ctx context.Context, f func(kind staff.RecordKind, rec []byte) ([]byte, error)) (int, error) {
	n := 0
	err := s.update(func(tx *bolt.Tx) error {
		n = 0
		for _, sb := range resealStaffBuckets {
			b := tx.Bucket(sb.name)
			if b == nil {
				continue
			}
			// Collected first: a bucket must not change while it is iterated.
			var keys, values [][]byte
			err := b.ForEach(func(k, v []byte) error {
				if err := ctx.Err(); err != nil {
					return err
				}
				if len(v) < sb.header {
					return nil // not ours to fix: the reader reports it
				}
				rec, err := f(sb.kind, bytes.Clone(v[sb.header:]))
				if err != nil || rec == nil {
					return err
				}
				keys = append(keys, bytes.Clone(k))
				values = append(values, append(bytes.Clone(v[:sb.header]), rec...))
				return nil
			})
			if err != nil {
				return fmt.Errorf("embedded: reseal %s: %w", sb.name, err)
			}
			for i, k := range keys {
				if err := b.Put(k, values[i]); err != nil {
					return fmt.Errorf("embedded: reseal %s: %w", sb.name, err)
				}
			}
			n += len(keys)
		}
		return nil
	})
	if err != nil {
		n = 0 // the transaction rolled back
	}
	return n, err
}
