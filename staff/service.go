package staff

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"
)

// Config is what a Service is built from. Zero durations and limits take the
// defaults below.
type Config struct {
	Store Store
	Keys  Sealer
	// Clock returns the time; time.Now when nil. Tests pass a fake clock.
	Clock func() time.Time
	// EnrolTTL is how long an enrolment link works (24 h).
	EnrolTTL time.Duration
	// SessionIdle signs a session out after this long without a request (30 min).
	SessionIdle time.Duration
	// SessionMax is a session's absolute lifetime, however busy (12 h).
	SessionMax time.Duration
	// AuditTTL is how long audit entries are kept (400 days).
	AuditTTL time.Duration
	// LoginWindow is the window failed logins are counted in (15 min);
	// AccountLimit and AddrLimit are the failures allowed in it per login name
	// (5) and per client address (20) before logins are refused until it ends.
	LoginWindow  time.Duration
	AccountLimit int64
	AddrLimit    int64
	// Logger gets operational messages, never names, addresses or secrets.
	Logger *slog.Logger
}

// Defaults.
const (
	DefaultEnrolTTL     = 24 * time.Hour
	DefaultSessionIdle  = 30 * time.Minute
	DefaultSessionMax   = 12 * time.Hour
	DefaultAuditTTL     = 400 * 24 * time.Hour
	DefaultLoginWindow  = 15 * time.Minute
	DefaultAccountLimit = 5
	DefaultAddrLimit    = 20
)

// Service is the staff domain: accounts, enrolment, sign-in, tokens and audit.
// It is safe for concurrent use.
type Service struct {
	cfg Config
	log *slog.Logger
}

// New returns a Service. cfg.Store and cfg.Keys are required.
func New(cfg Config) *Service {
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.EnrolTTL, DefaultEnrolTTL)
	def(&cfg.SessionIdle, DefaultSessionIdle)
	def(&cfg.SessionMax, DefaultSessionMax)
	def(&cfg.AuditTTL, DefaultAuditTTL)
	def(&cfg.LoginWindow, DefaultLoginWindow)
	if cfg.AccountLimit <= 0 {
		cfg.AccountLimit = DefaultAccountLimit
	}
	if cfg.AddrLimit <= 0 {
		cfg.AddrLimit = DefaultAddrLimit
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{cfg: cfg, log: log}
}

// Now is the service's clock.
func (s *Service) Now() time.Time { return s.cfg.Clock() }

// Config returns the effective configuration (defaults filled in).
func (s *Service) Config() Config { return s.cfg }

// Errors the Service returns. Messages shown to people are translated by the
// console from these, never from err.Error().
var (
	// ErrBadLogin means the name, password or code is wrong, or the account is
	// disabled or not enrolled: the caller is never told which.
	ErrBadLogin = errors.New("staff: wrong name, password or code")
	// ErrBadToken means an enrolment link, API token or session is unknown,
	// expired, revoked or belongs to a disabled account.
	ErrBadToken = errors.New("staff: invalid or expired token")
	// ErrBadCode means an enrolment's TOTP code is wrong or was already used.
	ErrBadCode = errors.New("staff: wrong or reused code")
	// ErrForbidden means the account's role does not allow the action.
	ErrForbidden = errors.New("staff: not allowed for this role")
)

// RateLimitedError means too many failed logins: try again after RetryAfter.
type RateLimitedError struct{ RetryAfter time.Duration }

func (e *RateLimitedError) Error() string {
	return fmt.Sprintf("staff: too many failed logins, try again in %s", e.RetryAfter.Round(time.Second))
}

// Actor is who does something, as the audit log records it.
type Actor struct {
	ID   string
	Role Role
	Addr string // the client's address, "" when not over the network
}

// RoleOperator is the audit role of someone running the enlace command on the
// server itself (who can already read the store).
const RoleOperator Role = "operator"

// RoleSystem is the audit role of Enlace itself: the pipeline recording what
// happened to a case without any staff member (wrong PINs, a lock).
const RoleSystem Role = "system"

// Operator is the actor of CLI commands.
var Operator = Actor{ID: "cli", Role: RoleOperator, Addr: "local"}

// ActorOf returns the actor for an account acting from addr.
func ActorOf(a Account, addr string) Actor { return Actor{ID: a.ID, Role: a.Role, Addr: addr} }

// Sealing purposes and hash kinds.
const (
	purposeAccount = "staff-account"
	purposeSession = "staff-session"
	purposeAudit   = "staff-audit"
	hashName       = "staff-name"
	hashSecret     = "staff-secret"
	hashSession    = "staff-session"
	hashLogin      = "staff-login"
	hashAudit      = "staff-audit"
)

// newID is a random 16-hex-digit id with at least one letter: the audit log
// refuses an all-digit subject, which could be a phone number.
func newID() string {
	for {
		if id := randomHex(8); strings.ContainsAny(id, "abcdef") {
			return id
		}
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("staff: crypto/rand failed: " + err.Error()) // never fails on supported platforms
	}
	return hex.EncodeToString(b)
}

func (s *Service) seal(a *account) ([]byte, error) {
	b, err := json.Marshal(a)
	if err != nil {
		return nil, fmt.Errorf("staff: encoding account: %w", err)
	}
	return s.cfg.Keys.Seal(purposeAccount, staffOwner, b), nil
}

func (s *Service) open(rec []byte) (*account, error) {
	b, err := s.cfg.Keys.Open(purposeAccount, staffOwner, rec)
	if err != nil {
		return nil, fmt.Errorf("staff: opening account: %w", err)
	}
	var a account
	if err := json.Unmarshal(b, &a); err != nil {
		return nil, fmt.Errorf("staff: decoding account: %w", err)
	}
	return &a, nil
}

func (s *Service) load(ctx context.Context, id string) (*account, []byte, error) {
	if !validID(id) {
		return nil, nil, ErrNotFound
	}
	rec, err := s.cfg.Store.Account(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	a, err := s.open(rec)
	if err != nil {
		return nil, nil, err
	}
	return a, rec, nil
}

// update applies change to the account id and stores it, retrying when
// another writer got there first (change is re-run on the fresh record).
func (s *Service) update(ctx context.Context, id string, change func(a *account) error) (*account, error) {
	for range 100 {
		a, old, err := s.load(ctx, id)
		if err != nil {
			return nil, err
		}
		if err := change(a); err != nil {
			return nil, err
		}
		rec, err := s.seal(a)
		if err != nil {
			return nil, err
		}
		err = s.cfg.Store.UpdateAccount(ctx, id, old, rec)
		if errors.Is(err, ErrConflict) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return a, nil
	}
	return nil, fmt.Errorf("staff: account %s: %w (gave up retrying)", id, ErrConflict)
}

// validID reports whether s could be an account or token id (hex, 16 chars).
func validID(s string) bool {
	if len(s) != 16 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// Add creates an account that is not enrolled yet and returns it with its
// enrolment token (see EnrolLink), valid for Config.EnrolTTL.
func (s *Service) Add(ctx context.Context, by Actor, name string, role Role, langs []string) (Account, string, error) {
	folded, err := FoldName(name)
	if err != nil {
		return Account{}, "", err
	}
	if _, err := ParseRole(string(role)); err != nil {
		return Account{}, "", err
	}
	langs, err = ParseLanguages(strings.Join(langs, ","))
	if err != nil {
		return Account{}, "", err
	}
	now := s.Now()
	a := &account{Account: Account{ID: newID(), Name: folded, Role: role, Languages: langs, Created: now}}
	token, err := s.newEnrolment(a, now)
	if err != nil {
		return Account{}, "", err
	}
	rec, err := s.seal(a)
	if err != nil {
		return Account{}, "", err
	}
	if err := s.cfg.Store.CreateAccount(ctx, a.ID, s.cfg.Keys.Hash(hashName, folded), rec); err != nil {
		if errors.Is(err, ErrExists) {
			return Account{}, "", fmt.Errorf("staff: the login name %q is taken: %w", folded, ErrExists)
		}
		return Account{}, "", err
	}
	if err := s.Record(ctx, by, ActionStaffAdd, a.ID); err != nil {
		return Account{}, "", err
	}
	return a.public(), token, nil
}

func (a *account) public() Account {
	out := a.Account
	out.Tokens = append([]Token(nil), a.Tokens...)
	return out
}

// newEnrolment gives a a fresh enrolment token and TOTP secret; the password
// and sessions end (a reset is an enrolment again).
func (s *Service) newEnrolment(a *account, now time.Time) (string, error) {
	key, err := newTOTPKey(a.Name)
	if err != nil {
		return "", err
	}
	secret := randomHex(32)
	a.Password, a.TOTPSecret, a.TOTPStep, a.Enrolled = "", key.Secret(), 0, false
	a.EnrolHash = s.cfg.Keys.Hash(hashSecret, secret)
	a.EnrolExpires = now.Add(s.cfg.EnrolTTL)
	a.Epoch++
	return a.ID + "." + secret, nil
}

// List returns every account, by name.
func (s *Service) List(ctx context.Context) ([]Account, error) {
	recs, err := s.cfg.Store.Accounts(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Account, 0, len(recs))
	for _, rec := range recs {
		a, err := s.open(rec)
		if err != nil {
			return nil, err
		}
		out = append(out, a.public())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Get returns the account id.
func (s *Service) Get(ctx context.Context, id string) (Account, error) {
	a, _, err := s.load(ctx, id)
	if err != nil {
		return Account{}, err
	}
	return a.public(), nil
}

// Find returns the account with this id or login name.
func (s *Service) Find(ctx context.Context, idOrName string) (Account, error) {
	if validID(idOrName) {
		if a, err := s.Get(ctx, idOrName); err == nil {
			return a, nil
		}
	}
	folded, err := FoldName(idOrName)
	if err != nil {
		return Account{}, ErrNotFound
	}
	id, err := s.cfg.Store.AccountByName(ctx, s.cfg.Keys.Hash(hashName, folded))
	if err != nil {
		return Account{}, err
	}
	return s.Get(ctx, id)
}

// Disable stops the account at once: its sessions and tokens stop working and
// it cannot log in; Enable undoes it.
func (s *Service) Disable(ctx context.Context, by Actor, id string) error {
	if _, err := s.update(ctx, id, func(a *account) error { a.Disabled = true; a.Epoch++; return nil }); err != nil {
		return err
	}
	return s.Record(ctx, by, ActionStaffDisable, id)
}

// Enable lets a disabled account log in again.
func (s *Service) Enable(ctx context.Context, by Actor, id string) error {
	if _, err := s.update(ctx, id, func(a *account) error { a.Disabled = false; return nil }); err != nil {
		return err
	}
	return s.Record(ctx, by, ActionStaffEnable, id)
}

// Reset ends the account's password, second factor and sessions and returns a
// new enrolment token: the person enrols again (a lost phone, a forgotten password).
func (s *Service) Reset(ctx context.Context, by Actor, id string) (string, error) {
	var token string
	if _, err := s.update(ctx, id, func(a *account) error {
		t, err := s.newEnrolment(a, s.Now())
		token = t
		return err
	}); err != nil {
		return "", err
	}
	if err := s.Record(ctx, by, ActionStaffReset, id); err != nil {
		return "", err
	}
	return token, nil
}

// EnrolLink is the console address of an enrolment token under base (the
// console's public URL).
func EnrolLink(base, token string) string {
	return strings.TrimRight(base, "/") + "/enrol?t=" + token
}
