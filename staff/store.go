package staff

import (
	"context"
	"errors"
	"time"
)

// Errors a Store returns.
var (
	// ErrNotFound means the record does not exist (or has expired).
	ErrNotFound = errors.New("staff: not found")
	// ErrExists means an account id or login name is already taken.
	ErrExists = errors.New("staff: already exists")
	// ErrConflict means a compare-and-set lost: the record changed since it was read.
	ErrConflict = errors.New("staff: changed concurrently")
)

// AuditHead is the end of the audit chain: the last entry's sequence number and
// hash; Floor, the first sequence number still kept (entries before it
// expired), and FloorPrev, the hash of the entry before Floor (the Prev the
// first kept entry must name). An empty log has Seq 0 and Floor 1.
type AuditHead struct {
	Seq       int64
	Hash      string
	Floor     int64
	FloorPrev string
}

// AuditRecord is one stored audit entry: its sequence number and sealed data.
type AuditRecord struct {
	Seq  int64
	Data []byte
}

// Store is what the staff package needs from storage. Every record is opaque
// (already sealed) bytes; ids and keys are [A-Za-z0-9_-] strings (keyed
// hashes or random ids), never names or numbers. Times are passed in, so a
// store never reads a clock to decide anything. Every method is safe for
// concurrent use, and on Redis across processes.
type Store interface {
	// CreateAccount stores a new account record under id and reserves nameKey
	// (the keyed hash of its login name) for it, atomically; ErrExists if
	// either is taken.
	CreateAccount(ctx context.Context, id, nameKey string, rec []byte) error
	// Account returns the record of id, or ErrNotFound.
	Account(ctx context.Context, id string) ([]byte, error)
	// AccountByName returns the id that reserved nameKey, or ErrNotFound.
	AccountByName(ctx context.Context, nameKey string) (string, error)
	// Accounts returns every account record, by id.
	Accounts(ctx context.Context) (map[string][]byte, error)
	// UpdateAccount replaces the record of id with rec if the stored record is
	// still exactly old; otherwise ErrConflict (ErrNotFound when absent).
	UpdateAccount(ctx context.Context, id string, old, rec []byte) error

	// PutSession stores a session record under key until expires.
	PutSession(ctx context.Context, key string, rec []byte, now, expires time.Time) error
	// Session returns the record under key, or ErrNotFound when absent or
	// expired at now.
	Session(ctx context.Context, key string, now time.Time) ([]byte, error)
	// DeleteSession removes a session; removing an absent one is no error.
	DeleteSession(ctx context.Context, key string) error

	// AddFailure counts one failure under key in the fixed window of length
	// window that holds now, and returns the window's count including it.
	AddFailure(ctx context.Context, key string, now time.Time, window time.Duration) (int64, error)
	// Failures returns the count of the window that holds now.
	Failures(ctx context.Context, key string, now time.Time, window time.Duration) (int64, error)

	// AuditHead returns the end of the audit chain.
	AuditHead(ctx context.Context) (AuditHead, error)
	// AppendAudit adds the entry seq with the chain hash hash, if the chain's
	// last entry is seq-1; otherwise ErrConflict and nothing is written.
	AppendAudit(ctx context.Context, seq int64, hash string, rec []byte) error
	// AuditEntries returns up to n entries from seq from on, in order; entries
	// missing from the store are left out (Verify notices the gap).
	AuditEntries(ctx context.Context, from int64, n int) ([]AuditRecord, error)
	// TrimAudit removes the entries up to and including through, moves the
	// floor after it and records hash, the hash of entry through, as FloorPrev
	// (expiry of old entries).
	TrimAudit(ctx context.Context, through int64, hash string) error

	// ResealStaff calls f on every sealed staff record (accounts, sessions,
	// audit entries) and, when f returns a record, puts it
	// in the old one's place; a session keeps its expiry. A record that
	// changed since it was read is left as the change wrote it (that change
	// sealed it with the current key). It returns how many records it
	// replaced; an error from f stops it.
	ResealStaff(ctx context.Context, f func(kind RecordKind, rec []byte) ([]byte, error)) (int, error)
}

// Sealer seals records at rest and derives keyed hashes: the keyring that
// seals personal data. Purpose binds a record to its use, so a sealed session
// cannot be passed off as an account.
//
// The keyring also binds a record to an owner (the person it is stored
// under, for the people's records); staff records pass staffOwner for now,
// so they are bound to their purpose only.
type Sealer interface {
	Seal(purpose, owner string, plaintext []byte) []byte
	Open(purpose, owner string, record []byte) ([]byte, error)
	// Reseal opens a record and seals it again with the current key;
	// changed is false when it already was.
	Reseal(purpose, owner string, record []byte) (out []byte, changed bool, err error)
	Hash(kind, value string) string
}

// RecordKind names a kind of sealed staff record, as ResealStaff hands it over.
type RecordKind string

// The kinds of sealed staff record.
const (
	RecordAccount RecordKind = "account"
	RecordSession RecordKind = "session"
	RecordAudit   RecordKind = "audit"
)

// staffOwner is the owner staff records are sealed for (see Sealer).
const staffOwner = ""
