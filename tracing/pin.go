package tracing

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/argon2"
)

// PIN rules: 4 to 6 digits.
const (
	PINMinLen = 4
	PINMaxLen = 6
)

// Errors CheckPIN returns.
var (
	// ErrPINFormat means the PIN is not 4 to 6 digits.
	ErrPINFormat = errors.New("tracing: a PIN is 4 to 6 digits")
	// ErrPINTrivial means the PIN is one of those anyone would try first.
	ErrPINTrivial = errors.New("tracing: PIN too easy to guess")
)

// trivialPINs are 4-digit PINs that are among the most chosen ones in published
// analyses of leaked PIN sets, beyond what the rules in CheckPIN already refuse.
var trivialPINs = map[string]bool{
	"1004": true, "2000": true, "6969": true, "1122": true, "1313": true,
	"2001": true, "1010": true, "0101": true, "1221": true, "2580": true,
}

// CheckPIN says whether pin may be chosen. It refuses what is not 4 to 6 digits
// and the handful of PINs a stranger with a found phone tries first: one digit
// repeated (0000), a run up or down (1234, 9876, 345678), a pair repeated (1212,
// 121212) and a short list of other favourites (2580 is a column of the keypad).
// Everything else is allowed, a birth year or a date included: the person must
// remember this PIN months later, perhaps after losing everything, and a PIN they
// chose themselves is one they remember. The lock after three wrong PINs, not
// the PIN's strength, is what stops guessing: three tries a day against 10,000
// PINs minus the refused ones.
func CheckPIN(pin string) error {
	if len(pin) < PINMinLen || len(pin) > PINMaxLen {
		return ErrPINFormat
	}
	for i := 0; i < len(pin); i++ {
		if pin[i] < '0' || pin[i] > '9' {
			return ErrPINFormat
		}
	}
	if trivialPINs[pin] || sameDigit(pin) || run(pin, 1) || run(pin, -1) || repeatedPair(pin) {
		return ErrPINTrivial
	}
	return nil
}

func sameDigit(p string) bool { return strings.Count(p, p[:1]) == len(p) }

// run reports digits going up (step 1) or down (step -1) one at a time.
func run(p string, step int) bool {
	for i := 1; i < len(p); i++ {
		if int(p[i])-int(p[i-1]) != step {
			return false
		}
	}
	return true
}

func repeatedPair(p string) bool {
	if len(p)%2 != 0 {
		return false
	}
	return strings.Repeat(p[:2], len(p)/2) == p
}

// NormalizePIN takes the digits out of what a person typed ("12 34", "1-2-3-4"),
// so spacing never counts as a wrong PIN. Anything but digits, spaces, dashes and
// dots leaves the text as it is, and CheckPIN or Verify refuse it.
func NormalizePIN(s string) string {
	var b strings.Builder
	for _, r := range strings.TrimSpace(s) {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '.':
		default:
			return s
		}
	}
	return b.String()
}

// PINParams are the argon2id costs of a PIN hash. They are written into every hash,
// so they can be raised later and older hashes still verify.
type PINParams struct {
	Time    uint32 // passes over memory
	MemoryK uint32 // KiB
	Threads uint8
}

// DefaultPINParams follow OWASP's first argon2id profile (19 MiB, 2 passes, one
// lane): about 30 ms of one core here. Why not more: a PIN has at most a million
// values, so no cost stops someone holding both the store and the pepper from
// trying them all for one case; what the cost buys is time against doing it for
// every case. The pepper (below) is the real barrier, since it is not in the
// store. And the server hashes on a shared machine: 19 MiB per attempt, attempts
// limited to three a day per case, keeps a burst of attempts from exhausting memory.
var DefaultPINParams = PINParams{Time: 2, MemoryK: 19 * 1024, Threads: 1}

// PINHasher hashes and verifies PINs: argon2id over an HMAC-SHA256 of the PIN under
// a pepper, a secret kept with the service's keys and never in the store, with a
// random 16-byte salt per hash. A copy of the store alone gives nothing to try PINs
// against. The pepper must never change (use the hashing key that does not move
// when data keys rotate), or every PIN stops verifying.
type PINHasher struct {
	Pepper []byte
	Params PINParams
}

const pinHashID = "enlace-pin-v1"

// ErrPINHash means a stored PIN hash cannot be read.
var ErrPINHash = errors.New("tracing: unreadable PIN hash")

func (h PINHasher) key(pin string, salt []byte, p PINParams) []byte {
	mac := hmac.New(sha256.New, h.Pepper)
	mac.Write([]byte(pinHashID))
	mac.Write([]byte{0})
	mac.Write([]byte(pin))
	return argon2.IDKey(mac.Sum(nil), salt, p.Time, p.MemoryK, p.Threads, 32)
}

// Hash returns the PHC-style string to store for pin, e.g.
// "$enlace-pin-v1$v=19$m=19456,t=2,p=1$<salt>$<hash>". It refuses a PIN CheckPIN
// refuses and an empty pepper.
func (h PINHasher) Hash(pin string) (string, error) {
	if len(h.Pepper) < 16 {
		return "", errors.New("tracing: PIN pepper missing or shorter than 16 bytes")
	}
	if err := CheckPIN(pin); err != nil {
		return "", err
	}
	p := h.Params
	if p.Time == 0 {
		p = DefaultPINParams
	}
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("tracing: PIN salt: %w", err)
	}
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$%s$v=%d$m=%d,t=%d,p=%d$%s$%s", pinHashID, argon2.Version,
		p.MemoryK, p.Time, p.Threads, enc.EncodeToString(salt), enc.EncodeToString(h.key(pin, salt, p))), nil
}

// Verify reports whether pin matches the stored hash, comparing in constant time.
// The work is the same whatever the PIN typed, so timing tells nothing. An
// unreadable hash is an error, never a match.
func (h PINHasher) Verify(stored, pin string) (bool, error) {
	parts := strings.Split(stored, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != pinHashID || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return false, ErrPINHash
	}
	var p PINParams
	var threads uint32
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.MemoryK, &p.Time, &threads); err != nil ||
		p.Time == 0 || p.Time > 16 || p.MemoryK < 8 || p.MemoryK > 1<<20 || threads == 0 || threads > 16 {
		return false, ErrPINHash
	}
	p.Threads = uint8(threads)
	enc := base64.RawStdEncoding
	salt, err1 := enc.DecodeString(parts[4])
	want, err2 := enc.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(salt) < 8 || len(want) != 32 {
		return false, ErrPINHash
	}
	got := h.key(pin, salt, p)
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// PIN attempt rules.
const (
	MaxPINFailures = 3
	PINLockFor     = 24 * time.Hour
)

// PINGuard counts wrong PINs for one case and locks it for PINLockFor after
// MaxPINFailures in a row. It is stored with the case; the store and the audit
// log are the caller's: Attempt says what happened, so the caller records an
// escalation and an audit entry when a case locks.
type PINGuard struct {
	Failures    int       `json:"failures,omitempty"`
	LockedUntil time.Time `json:"locked_until,omitzero"`
}

// PINOutcome is what one attempt led to.
type PINOutcome int

// The outcomes of an attempt.
const (
	PINAccepted  PINOutcome = iota + 1 // right PIN: failures reset
	PINWrong                           // wrong PIN, case still open to tries
	PINLockedNow                       // wrong PIN that locked the case: escalate and audit
	PINLocked                          // case already locked: the PIN was not even checked
)

// String names the outcome for audit records.
func (o PINOutcome) String() string {
	switch o {
	case PINAccepted:
		return "accepted"
	case PINWrong:
		return "wrong"
	case PINLockedNow:
		return "locked_now"
	case PINLocked:
		return "locked"
	}
	return "unknown"
}

// Locked reports whether the case refuses PINs at now.
func (g PINGuard) Locked(now time.Time) bool { return now.Before(g.LockedUntil) }

// Remaining is how many wrong PINs are left before the lock.
func (g PINGuard) Remaining() int { return max(0, MaxPINFailures-g.Failures) }

// Attempt records one attempt whose PIN was right or wrong (ok) at now. While the
// case is locked it returns PINLocked without counting: callers must ask Locked
// first and not verify the PIN at all, so a locked case gives away nothing, not
// even whether the PIN was right.
func (g *PINGuard) Attempt(ok bool, now time.Time) PINOutcome {
	if g.Locked(now) {
		return PINLocked
	}
	if !g.LockedUntil.IsZero() {
		// A lock that has run out starts a fresh count.
		g.LockedUntil = time.Time{}
		g.Failures = 0
	}
	if ok {
		g.Failures = 0
		return PINAccepted
	}
	g.Failures++
	if g.Failures >= MaxPINFailures {
		g.Failures = 0
		g.LockedUntil = now.Add(PINLockFor)
		return PINLockedNow
	}
	return PINWrong
}
