package tracing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/enlace-rfl/enlace/keyring"
)

// Errors a Store returns.
var (
	// ErrNotFound: no such case (never stored, erased or expired).
	ErrNotFound = errors.New("tracing: case not found")
	// ErrCodeTaken: another case already has this code; draw a new one.
	ErrCodeTaken = errors.New("tracing: case code in use")
	// ErrChanged: ReplaceCase found the case changed since it was read.
	ErrChanged = errors.New("tracing: case changed meanwhile")
	// ErrInvalid: an id, key or field the store cannot keep (see Record).
	ErrInvalid = errors.New("tracing: invalid case record")
)

// Record is a case as a store keeps it: the case sealed (SealCase), and the few
// fields that are not personal data and that the store needs to find, list and
// expire cases. IDs and keys are 1 to 128 of [A-Za-z0-9_-] (store.ValidName).
type Record struct {
	ID string
	// CodeKey is the keyed hash of the case code (CodeKey), never the code.
	CodeKey string
	// EnquirerKey is the enquirer's person hash (the key bot stores them under),
	// so "erase my data" finds every case they opened.
	EnquirerKey string
	Status      Status
	// Caseworker is the staff account id the case is assigned to, or empty.
	Caseworker string
	Created    time.Time
	Updated    time.Time
	// Waiting is since when the case waits for a caseworker: lists put the
	// longest waiting first.
	Waiting time.Time
	// Expires is when the store deletes the case and all about it: the
	// retention the person was told (RecordExpiry). It must be set.
	Expires time.Time
	// Sealed is the case sealed by SealCase; the store sees opaque bytes.
	Sealed []byte
}

// ListQuery selects cases for the caseworker list.
type ListQuery struct {
	// Statuses: only cases in one of these; all statuses when empty.
	Statuses []Status
	// Caseworker: only cases assigned to this account, when set.
	Caseworker string
	// Offset and Limit page the list (Limit 0: 50, at most 500).
	Offset, Limit int
}

// PINState is the wrong-PIN count of a case and its lock.
type PINState struct {
	Failures    int
	LockedUntil time.Time
}

// Locked reports whether the case refuses PINs at now.
func (p PINState) Locked(now time.Time) bool { return now.Before(p.LockedUntil) }

// Store keeps tracing cases durably. Every call takes the caller's time; a store
// never reads a clock of its own to decide. Expired cases read as absent.
type Store interface {
	// PutCase creates or replaces a case. ErrCodeTaken when its CodeKey
	// belongs to another case.
	PutCase(ctx context.Context, rec Record, now time.Time) error
	// ReplaceCase replaces a stored case only if its sealed bytes are still
	// prev (what the caller read): atomically, so of two writers that read
	// the same case one wins and the other gets ErrChanged, to read it again
	// and redo its change. ErrNotFound when it is gone (erased, expired).
	ReplaceCase(ctx context.Context, rec Record, prev []byte, now time.Time) error
	// GetCase returns a case by id, or ErrNotFound.
	GetCase(ctx context.Context, id string, now time.Time) (Record, error)
	// CaseByCode returns the id of the case whose CodeKey is codeKey, or ErrNotFound.
	CaseByCode(ctx context.Context, codeKey string, now time.Time) (string, error)
	// ListCases lists cases by q, longest waiting first (then by id).
	ListCases(ctx context.Context, q ListQuery, now time.Time) ([]Record, error)
	// PINState returns a case's wrong-PIN count and lock (zero when none).
	PINState(ctx context.Context, id string, now time.Time) (PINState, error)
	// PINFailure counts one wrong PIN, atomically: while the case is locked it
	// counts nothing and returns PINLocked; the MaxPINFailures-th wrong PIN
	// locks it for PINLockFor and returns PINLockedNow. Failures never exceed
	// MaxPINFailures, however many calls race. ErrNotFound for no case.
	PINFailure(ctx context.Context, id string, now time.Time) (PINOutcome, PINState, error)
	// PINReset forgets the wrong PINs after a right one (not a lock).
	PINReset(ctx context.Context, id string, now time.Time) error
	// PINClear forgets the wrong PINs and the lock: a caseworker cleared the
	// PIN of a person they checked in person, who chooses a new one.
	PINClear(ctx context.Context, id string) error
	// EraseCase removes a case and everything about it (code, indexes, PIN state).
	EraseCase(ctx context.Context, id string) error
	// CasesOf returns the ids of the enquirer's cases (sorted), without changing them.
	CasesOf(ctx context.Context, enquirerKey string, now time.Time) ([]string, error)
	// EraseEnquirer erases every case of the enquirer, returning their ids.
	EraseEnquirer(ctx context.Context, enquirerKey string) ([]string, error)
	// ResealCases calls f with every case's sealed bytes and keeps what f
	// returns in their place (nil: leave it), unless the case changed
	// meanwhile. It returns how many it replaced.
	ResealCases(ctx context.Context, f func(id string, sealed []byte) ([]byte, error)) (int, error)
}

// ErrUnchanged, from a ChangeCase function, means there is nothing to write.
var ErrUnchanged = errors.New("tracing: case unchanged")

// ChangeCase reads case id at now(), applies f to it and writes it back,
// resealed with k and its expiry worked out again for retention, with
// ReplaceCase over what it read: when another writer (another process, the
// chat, a caseworker) changed the case meanwhile, it reads the case again and
// applies f again, up to tries times (then ErrChanged), so neither change is
// lost. f may change the record's Caseworker and Waiting too. It returns the
// record written and the case; when f returns ErrUnchanged, the record read,
// and nothing is written; any other error of f is returned as it is. A case
// that is gone (erased, expired) gives ErrNotFound and is never brought back.
func ChangeCase(ctx context.Context, st Store, k *keyring.Keyring, id string, retention time.Duration, now func() time.Time,
	tries int, f func(rec *Record, c *Case, now time.Time) error) (Record, *Case, error) {
	for range tries {
		at := now()
		rec, err := st.GetCase(ctx, id, at)
		if err != nil {
			return rec, nil, err
		}
		c, err := OpenCase(k, id, rec.Sealed)
		if err != nil {
			return rec, nil, err
		}
		read := rec.Sealed
		if err := f(&rec, c, at); errors.Is(err, ErrUnchanged) {
			return rec, c, nil
		} else if err != nil {
			return rec, c, err
		}
		c.Updated = at
		next, err := NewRecord(k, c, rec.EnquirerKey, rec.Caseworker, rec.Waiting, retention)
		if err != nil {
			return rec, c, err
		}
		switch err := st.ReplaceCase(ctx, next, read, at); {
		case errors.Is(err, ErrChanged):
			continue
		case err != nil:
			return rec, c, err
		}
		return next, c, nil
	}
	return Record{}, nil, fmt.Errorf("%w (%d times in a row)", ErrChanged, tries)
}

// ResealReport says what ResealCases found and did.
type ResealReport struct {
	// Before counts the cases each key id had sealed before.
	Before map[string]int `json:"before"`
	// Resealed counts the cases sealed again with the current key.
	Resealed int `json:"resealed"`
	// Unreadable counts cases no key opens: left as they are.
	Unreadable int `json:"unreadable"`
}

// ResealCases seals every case of st again with k's current key, so that an
// older key can be dropped (enlace keys reseal).
func ResealCases(ctx context.Context, st Store, k *keyring.Keyring) (ResealReport, error) {
	rep := ResealReport{Before: map[string]int{}}
	n, err := st.ResealCases(ctx, func(id string, sealed []byte) ([]byte, error) {
		rep.Before[keyring.KeyID(sealed)]++
		out, changed, err := ResealCase(k, id, sealed)
		if err != nil {
			rep.Unreadable++
			return nil, nil
		}
		if !changed {
			return nil, nil
		}
		return out, nil
	})
	rep.Resealed = n
	if err != nil {
		return rep, fmt.Errorf("tracing: resealing cases: %w", err)
	}
	return rep, nil
}

// DefaultListLimit and MaxListLimit bound ListQuery.Limit.
const (
	DefaultListLimit = 50
	MaxListLimit     = 500
)

// PageBounds returns the limit a store applies to q.
func (q ListQuery) PageBounds() (offset, limit int) {
	limit = q.Limit
	if limit <= 0 {
		limit = DefaultListLimit
	}
	return max(0, q.Offset), min(limit, MaxListLimit)
}

// Wants reports whether q selects rec.
func (q ListQuery) Wants(rec Record) bool {
	if q.Caseworker != "" && rec.Caseworker != q.Caseworker {
		return false
	}
	if len(q.Statuses) == 0 {
		return true
	}
	for _, s := range q.Statuses {
		if s == rec.Status {
			return true
		}
	}
	return false
}

// CompareWaiting orders records longest waiting first, then by id.
func CompareWaiting(a, b Record) int {
	if c := a.Waiting.Compare(b.Waiting); c != 0 {
		return c
	}
	switch {
	case a.ID < b.ID:
		return -1
	case a.ID > b.ID:
		return 1
	}
	return 0
}

// NextPINState is the state after one more wrong PIN at now, with its outcome:
// the rule PINFailure applies atomically in each store.
func NextPINState(p PINState, now time.Time) (PINOutcome, PINState) {
	if p.Locked(now) {
		return PINLocked, p
	}
	if !p.LockedUntil.IsZero() {
		p = PINState{} // a lock that ran out starts a fresh count
	}
	p.Failures++
	if p.Failures >= MaxPINFailures {
		p.Failures = MaxPINFailures
		p.LockedUntil = now.Add(PINLockFor)
		return PINLockedNow, p
	}
	return PINWrong, p
}

// sealCase is the keyring purpose of a sealed case; its owner is the case id.
const sealCase = "case"

// SealCase encodes c and seals it bound to its purpose and its id (AES-GCM
// additional data), so a sealed case does not open as another kind of record
// or under another case's id.
func SealCase(k *keyring.Keyring, c *Case) ([]byte, error) {
	if c.ID == "" {
		return nil, fmt.Errorf("%w: sealing a case without an id", ErrInvalid)
	}
	raw, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("tracing: encoding case: %w", err)
	}
	return k.Seal(sealCase, c.ID, raw), nil
}

// OpenCase opens a case sealed by SealCase under id.
func OpenCase(k *keyring.Keyring, id string, sealed []byte) (*Case, error) {
	raw, err := k.Open(sealCase, id, sealed)
	if err != nil {
		return nil, fmt.Errorf("tracing: opening case: %w", err)
	}
	var c Case
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("tracing: decoding case: %w", err)
	}
	if c.ID != id {
		return nil, fmt.Errorf("tracing: sealed case is %q, not %q", c.ID, id)
	}
	return &c, nil
}

// ResealCase seals a case again with the keyring's current key (enlace keys reseal).
func ResealCase(k *keyring.Keyring, id string, sealed []byte) ([]byte, bool, error) {
	return k.Reseal(sealCase, id, sealed)
}

// CodeKey is the keyed hash a case is found by from its code: the code in its
// canonical form (ParseCode), so every way of typing it finds the same case.
func CodeKey(k *keyring.Keyring, c Code) string { return k.Hash("case-code", string(c)) }

// RecordExpiry is when a case's data is deleted: retention after it closed
// (Case.Expires), and for a case still open retention after its last change,
// so a case nobody touches is not kept longer than the person was told.
func RecordExpiry(c *Case, retention time.Duration) time.Time {
	if e := c.Expires(retention); !e.IsZero() {
		return e
	}
	return c.Updated.Add(retention)
}

// NewRecord builds the store record of c, sealed with k, expiring after retention.
// waiting is since when it waits for a caseworker.
func NewRecord(k *keyring.Keyring, c *Case, enquirerKey, caseworker string, waiting time.Time, retention time.Duration) (Record, error) {
	sealed, err := SealCase(k, c)
	if err != nil {
		return Record{}, err
	}
	return Record{ID: c.ID, CodeKey: CodeKey(k, c.Code), EnquirerKey: enquirerKey, Status: c.Status,
		Caseworker: caseworker, Created: c.Created, Updated: c.Updated, Waiting: waiting,
		Expires: RecordExpiry(c, retention), Sealed: sealed}, nil
}

// KnownStatus reports whether s is one of the statuses of a case.
func KnownStatus(s Status) bool {
	_, ok := transitions[s]
	return ok
}
