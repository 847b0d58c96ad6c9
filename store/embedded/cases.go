package embedded

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/enlace-rfl/enlace/store"
	"github.com/enlace-rfl/enlace/tracing"
)

// Tracing case buckets (see tracing.Store):
//
//	cases/<case id>                   JSON of the record: index fields + sealed case
//	cases:code/<code key>             case id
//	cases:enq/<enquirer key>/<id>     empty: the enquirer's cases
//	cases:pin/<case id>               JSON of the wrong-PIN state
//
// A case past its Expires reads as absent; Sweep removes it with all of the above.

var _ tracing.Store = (*Store)(nil)

var (
	bCases    = []byte("cases")
	bCaseCode = []byte("cases:code")
	bCaseEnq  = []byte("cases:enq")
	bCasePIN  = []byte("cases:pin")
)

// caseRec is a tracing.Record as stored.
type caseRec struct {
	ID          string         `json:"id"`
	CodeKey     string         `json:"code_key"`
	EnquirerKey string         `json:"enquirer_key"`
	Status      tracing.Status `json:"status"`
	Caseworker  string         `json:"caseworker,omitempty"`
	Created     time.Time      `json:"created"`
	Updated     time.Time      `json:"updated"`
	Waiting     time.Time      `json:"waiting"`
	Expires     time.Time      `json:"expires"`
	Sealed      []byte         `json:"sealed"`
}

func checkCaseID(id string) error {
	if !store.ValidName(id) {
		return fmt.Errorf("embedded: %w: case id %q", tracing.ErrInvalid, id)
	}
	return nil
}

// checkRecord reports what of rec a store cannot keep.
func checkRecord(rec tracing.Record, now time.Time) error {
	switch {
	case !store.ValidName(rec.ID):
		return fmt.Errorf("embedded: %w: case id %q", tracing.ErrInvalid, rec.ID)
	case !store.ValidName(rec.CodeKey):
		return fmt.Errorf("embedded: %w: code key", tracing.ErrInvalid)
	case !store.ValidName(rec.EnquirerKey):
		return fmt.Errorf("embedded: %w: enquirer key", tracing.ErrInvalid)
	case rec.Caseworker != "" && !store.ValidName(rec.Caseworker):
		return fmt.Errorf("embedded: %w: caseworker %q", tracing.ErrInvalid, rec.Caseworker)
	case !tracing.KnownStatus(rec.Status):
		return fmt.Errorf("embedded: %w: status %q", tracing.ErrInvalid, rec.Status)
	case !rec.Expires.After(now):
		return fmt.Errorf("embedded: %w: expiry %v not after now", tracing.ErrInvalid, rec.Expires)
	case len(rec.Sealed) == 0:
		return fmt.Errorf("embedded: %w: nothing sealed", tracing.ErrInvalid)
	}
	return nil
}

func caseBuckets(tx *bolt.Tx) (cases, codes, enq, pin *bolt.Bucket, err error) {
	var bs [4]*bolt.Bucket
	for i, n := range [][]byte{bCases, bCaseCode, bCaseEnq, bCasePIN} {
		if bs[i], err = tx.CreateBucketIfNotExists(n); err != nil {
			return nil, nil, nil, nil, err
		}
	}
	return bs[0], bs[1], bs[2], bs[3], nil
}

func enqKey(enquirer, id string) []byte { return []byte(enquirer + "/" + id) }

// readCase returns the live case id at now, or nil.
func readCase(tx *bolt.Tx, id string, now time.Time) (*caseRec, error) {
	b := tx.Bucket(bCases)
	if b == nil {
		return nil, nil
	}
	v := b.Get([]byte(id))
	if v == nil {
		return nil, nil
	}
	var r caseRec
	if err := json.Unmarshal(v, &r); err != nil {
		return nil, fmt.Errorf("embedded: decoding case %s: %w", id, err)
	}
	if !now.Before(r.Expires) {
		return nil, nil
	}
	return &r, nil
}

// PutCase implements tracing.Store.
func (s *Store) PutCase(ctx context.Context, rec tracing.Record, now time.Time) error {
	if err := errors.Join(checkRecord(rec, now), ctx.Err()); err != nil {
		return err
	}
	enc, err := json.Marshal(caseRec(rec))
	if err != nil {
		return fmt.Errorf("embedded: encoding case: %w", err)
	}
	err = s.write(func(tx *bolt.Tx) error { return putCaseTx(tx, rec, enc, now) })
	if errors.Is(err, tracing.ErrCodeTaken) {
		return err
	}
	if err != nil {
		return fmt.Errorf("embedded: put case: %w", err)
	}
	return nil
}

// putCaseTx stores a case and its index entries in tx.
func putCaseTx(tx *bolt.Tx, rec tracing.Record, enc []byte, now time.Time) error {
	cases, codes, enq, _, err := caseBuckets(tx)
	if err != nil {
		return err
	}
	if owner := codes.Get([]byte(rec.CodeKey)); owner != nil && string(owner) != rec.ID {
		if live, err := readCase(tx, string(owner), now); err != nil || live != nil {
			return errors.Join(err, tracing.ErrCodeTaken)
		}
		if err := eraseCase(tx, string(owner)); err != nil {
			return err
		}
	}
	if v := cases.Get([]byte(rec.ID)); v != nil {
		var old caseRec
		if err := json.Unmarshal(v, &old); err == nil {
			if old.CodeKey != rec.CodeKey {
				if err := codes.Delete([]byte(old.CodeKey)); err != nil {
					return err
				}
			}
			if old.EnquirerKey != rec.EnquirerKey {
				if err := enq.Delete(enqKey(old.EnquirerKey, old.ID)); err != nil {
					return err
				}
			}
		}
	}
	if err := cases.Put([]byte(rec.ID), enc); err != nil {
		return err
	}
	if err := codes.Put([]byte(rec.CodeKey), []byte(rec.ID)); err != nil {
		return err
	}
	return enq.Put(enqKey(rec.EnquirerKey, rec.ID), []byte{})
}

// ReplaceCase implements tracing.Store, in one write transaction.
func (s *Store) ReplaceCase(ctx context.Context, rec tracing.Record, prev []byte, now time.Time) error {
	if err := errors.Join(checkRecord(rec, now), ctx.Err()); err != nil {
		return err
	}
	enc, err := json.Marshal(caseRec(rec))
	if err != nil {
		return fmt.Errorf("embedded: encoding case: %w", err)
	}
	err = s.write(func(tx *bolt.Tx) error {
		cur, err := readCase(tx, rec.ID, now)
		switch {
		case err != nil:
			return err
		case cur == nil:
			return tracing.ErrNotFound
		case !bytes.Equal(cur.Sealed, prev):
			return tracing.ErrChanged
		}
		return putCaseTx(tx, rec, enc, now)
	})
	if errors.Is(err, tracing.ErrCodeTaken) || errors.Is(err, tracing.ErrNotFound) || errors.Is(err, tracing.ErrChanged) {
		return err
	}
	if err != nil {
		return fmt.Errorf("embedded: replace case: %w", err)
	}
	return nil
}

// GetCase implements tracing.Store.
func (s *Store) GetCase(ctx context.Context, id string, now time.Time) (tracing.Record, error) {
	if err := errors.Join(checkCaseID(id), ctx.Err()); err != nil {
		return tracing.Record{}, err
	}
	var out tracing.Record
	err := s.db.View(func(tx *bolt.Tx) error {
		r, err := readCase(tx, id, now)
		if err != nil {
			return err
		}
		if r == nil {
			return tracing.ErrNotFound
		}
		out = tracing.Record(*r)
		return nil
	})
	return out, err
}

// CaseByCode implements tracing.Store.
func (s *Store) CaseByCode(ctx context.Context, codeKey string, now time.Time) (string, error) {
	if !store.ValidName(codeKey) {
		return "", fmt.Errorf("embedded: %w: code key", tracing.ErrInvalid)
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	var id string
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bCaseCode)
		if b == nil {
			return tracing.ErrNotFound
		}
		v := b.Get([]byte(codeKey))
		if v == nil {
			return tracing.ErrNotFound
		}
		r, err := readCase(tx, string(v), now)
		if err != nil {
			return err
		}
		if r == nil || r.CodeKey != codeKey {
			return tracing.ErrNotFound
		}
		id = r.ID
		return nil
	})
	return id, err
}

// ListCases implements tracing.Store. It reads every case: the embedded store
// is for small deployments.
func (s *Store) ListCases(ctx context.Context, q tracing.ListQuery, now time.Time) ([]tracing.Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var all []tracing.Record
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bCases)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, _ []byte) error {
			r, err := readCase(tx, string(k), now)
			if err != nil || r == nil {
				return err
			}
			if rec := tracing.Record(*r); q.Wants(rec) {
				all = append(all, rec)
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("embedded: list cases: %w", err)
	}
	slices.SortFunc(all, tracing.CompareWaiting)
	off, limit := q.PageBounds()
	if off >= len(all) {
		return nil, nil
	}
	return all[off:min(len(all), off+limit)], nil
}

func readPIN(tx *bolt.Tx, id string) (tracing.PINState, error) {
	var p tracing.PINState
	b := tx.Bucket(bCasePIN)
	if b == nil {
		return p, nil
	}
	v := b.Get([]byte(id))
	if v == nil {
		return p, nil
	}
	if err := json.Unmarshal(v, &p); err != nil {
		return p, fmt.Errorf("embedded: decoding PIN state: %w", err)
	}
	return p, nil
}

// PINState implements tracing.Store.
func (s *Store) PINState(ctx context.Context, id string, now time.Time) (tracing.PINState, error) {
	if err := errors.Join(checkCaseID(id), ctx.Err()); err != nil {
		return tracing.PINState{}, err
	}
	var p tracing.PINState
	err := s.db.View(func(tx *bolt.Tx) error {
		if r, err := readCase(tx, id, now); err != nil || r == nil {
			return errors.Join(err, tracing.ErrNotFound)
		}
		var err error
		p, err = readPIN(tx, id)
		return err
	})
	return p, err
}

// PINFailure implements tracing.Store: one write transaction, so concurrent
// wrong PINs are counted one after another.
func (s *Store) PINFailure(ctx context.Context, id string, now time.Time) (tracing.PINOutcome, tracing.PINState, error) {
	if err := errors.Join(checkCaseID(id), ctx.Err()); err != nil {
		return 0, tracing.PINState{}, err
	}
	var out tracing.PINOutcome
	var p tracing.PINState
	err := s.write(func(tx *bolt.Tx) error {
		if r, err := readCase(tx, id, now); err != nil || r == nil {
			return errors.Join(err, tracing.ErrNotFound)
		}
		_, _, _, pin, err := caseBuckets(tx)
		if err != nil {
			return err
		}
		cur, err := readPIN(tx, id)
		if err != nil {
			return err
		}
		out, p = tracing.NextPINState(cur, now)
		if out == tracing.PINLocked {
			return nil
		}
		enc, err := json.Marshal(p)
		if err != nil {
			return err
		}
		return pin.Put([]byte(id), enc)
	})
	if err != nil && !errors.Is(err, tracing.ErrNotFound) {
		err = fmt.Errorf("embedded: PIN failure: %w", err)
	}
	return out, p, err
}

// PINClear implements tracing.Store.
func (s *Store) PINClear(ctx context.Context, id string) error {
	if err := errors.Join(checkCaseID(id), ctx.Err()); err != nil {
		return err
	}
	return s.write(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bCasePIN); b != nil {
			return b.Delete([]byte(id))
		}
		return nil
	})
}

// PINReset implements tracing.Store.
func (s *Store) PINReset(ctx context.Context, id string, now time.Time) error {
	if err := errors.Join(checkCaseID(id), ctx.Err()); err != nil {
		return err
	}
	return s.write(func(tx *bolt.Tx) error {
		b := tx.Bucket(bCasePIN)
		if b == nil {
			return nil
		}
		p, err := readPIN(tx, id)
		if err != nil || p.Locked(now) {
			return err
		}
		return b.Delete([]byte(id))
	})
}

// eraseCase removes a case and its code, enquirer and PIN entries.
func eraseCase(tx *bolt.Tx, id string) error {
	cases, codes, enq, pin, err := caseBuckets(tx)
	if err != nil {
		return err
	}
	if v := cases.Get([]byte(id)); v != nil {
		var r caseRec
		if err := json.Unmarshal(v, &r); err == nil {
			if owner := codes.Get([]byte(r.CodeKey)); bytes.Equal(owner, []byte(id)) {
				if err := codes.Delete([]byte(r.CodeKey)); err != nil {
					return err
				}
			}
			if err := enq.Delete(enqKey(r.EnquirerKey, id)); err != nil {
				return err
			}
		}
	}
	if err := pin.Delete([]byte(id)); err != nil {
		return err
	}
	return cases.Delete([]byte(id))
}

// EraseCase implements tracing.Store.
func (s *Store) EraseCase(ctx context.Context, id string) error {
	if err := errors.Join(checkCaseID(id), ctx.Err()); err != nil {
		return err
	}
	if err := s.write(func(tx *bolt.Tx) error { return eraseCase(tx, id) }); err != nil {
		return fmt.Errorf("embedded: erase case: %w", err)
	}
	return nil
}

// EraseEnquirer implements tracing.Store.
// CasesOf implements tracing.Store.
func (s *Store) CasesOf(ctx context.Context, enquirerKey string, now time.Time) ([]string, error) {
	if !store.ValidName(enquirerKey) {
		return nil, fmt.Errorf("embedded: %w: enquirer key", tracing.ErrInvalid)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var ids []string
	err := s.db.View(func(tx *bolt.Tx) error {
		enq := tx.Bucket(bCaseEnq)
		if enq == nil {
			return nil
		}
		prefix := []byte(enquirerKey + "/")
		c := enq.Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			id := string(k[len(prefix):])
			if r, err := readCase(tx, id, now); err != nil {
				return err
			} else if r != nil {
				ids = append(ids, id)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("embedded: find enquirer's cases: %w", err)
	}
	return ids, nil
}

func (s *Store) EraseEnquirer(ctx context.Context, enquirerKey string) ([]string, error) {
	if !store.ValidName(enquirerKey) {
		return nil, fmt.Errorf("embedded: %w: enquirer key", tracing.ErrInvalid)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var ids []string
	err := s.write(func(tx *bolt.Tx) error {
		_, _, enq, _, err := caseBuckets(tx)
		if err != nil {
			return err
		}
		prefix := []byte(enquirerKey + "/")
		c := enq.Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			ids = append(ids, string(k[len(prefix):]))
		}
		for _, id := range ids {
			if err := eraseCase(tx, id); err != nil {
				return err
			}
			if err := enq.Delete(enqKey(enquirerKey, id)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("embedded: erase enquirer's cases: %w", err)
	}
	return ids, nil
}

// sweepCases removes the cases expired at now with all about them (from Sweep).
func sweepCases(tx *bolt.Tx, now time.Time) error {
	b := tx.Bucket(bCases)
	if b == nil {
		return nil
	}
	var gone []string
	err := b.ForEach(func(k, v []byte) error {
		var r caseRec
		if err := json.Unmarshal(v, &r); err != nil || !now.Before(r.Expires) {
			gone = append(gone, string(k))
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, id := range gone {
		if err := eraseCase(tx, id); err != nil {
			return err
		}
	}
	return nil
}

// ResealCases implements tracing.Store, in one transaction.
func (s *Store) ResealCases(ctx context.Context, f func(id string, sealed []byte) ([]byte, error)) (int, error) {
	n := 0
	err := s.write(func(tx *bolt.Tx) error {
		n = 0
		b := tx.Bucket(bCases)
		if b == nil {
			return nil
		}
		var keys, values [][]byte
		err := b.ForEach(func(k, v []byte) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			var r caseRec
			if err := json.Unmarshal(v, &r); err != nil {
				return nil // not ours to fix: the reader reports it
			}
			out, err := f(r.ID, bytes.Clone(r.Sealed))
			if err != nil || out == nil {
				return err
			}
			r.Sealed = out
			enc, err := json.Marshal(r)
			if err != nil {
				return err
			}
			keys, values = append(keys, bytes.Clone(k)), append(values, enc)
			return nil
		})
		if err != nil {
			return err
		}
		for i := range keys {
			if err := b.Put(keys[i], values[i]); err != nil {
				return err
			}
		}
		n = len(keys)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("embedded: reseal cases: %w", err)
	}
	return n, nil
}
