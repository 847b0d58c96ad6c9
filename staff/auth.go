package staff

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Enrolment is what the enrolment page shows: whose account it is and the
// TOTP secret to add to an authenticator app.
type Enrolment struct {
	Account Account
	Secret  string // base32, as typed into an app
	URI     string // otpauth://totp/... as a QR code holds it
	Expires time.Time
}

// splitToken splits "<account id><sep><secret>".
func splitToken(token string, sep byte) (id, secret string, ok bool) {
	id, secret, ok = strings.Cut(strings.TrimSpace(token), string(sep))
	return id, secret, ok && validID(id) && len(secret) == 64
}

// enrolment checks an enrolment token and returns its account.
func (s *Service) enrolment(ctx context.Context, token string) (*account, error) {
	id, secret, ok := splitToken(token, '.')
	if !ok {
		return nil, ErrBadToken
	}
	a, _, err := s.load(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil, ErrBadToken
	}
	if err != nil {
		return nil, err
	}
	if a.EnrolHash == "" || a.Disabled || !s.Now().Before(a.EnrolExpires) ||
		subtle.ConstantTimeCompare([]byte(a.EnrolHash), []byte(s.cfg.Keys.Hash(hashSecret, secret))) != 1 {
		return nil, ErrBadToken
	}
	return a, nil
}

// Enrolment returns what the enrolment page of token shows, without using the token up.
func (s *Service) Enrolment(ctx context.Context, token string) (Enrolment, error) {
	a, err := s.enrolment(ctx, token)
	if err != nil {
		return Enrolment{}, err
	}
	return Enrolment{Account: a.public(), Secret: a.TOTPSecret, URI: totpURI(a.Name, a.TOTPSecret), Expires: a.EnrolExpires}, nil
}

// Enrol completes an enrolment: it sets the password, checks that the person's
// authenticator gives the right code, and uses the token up. It returns the
// account, now able to log in.
func (s *Service) Enrol(ctx context.Context, token, password, code, addr string) (Account, error) {
	a, err := s.enrolment(ctx, token)
	if err != nil {
		return Account{}, err
	}
	hash, err := hashPassword(password)
	if err != nil {
		return Account{}, err
	}
	now := s.Now()
	secretHash := a.EnrolHash
	a, err = s.update(ctx, a.ID, func(a *account) error {
		if a.EnrolHash != secretHash || !now.Before(a.EnrolExpires) || a.Disabled {
			return ErrBadToken // used or replaced meanwhile
		}
		step := matchTOTP(a.TOTPSecret, code, now, a.TOTPStep)
		if step == 0 {
			return ErrBadCode
		}
		a.Password, a.TOTPStep, a.Enrolled = hash, step, true
		a.EnrolHash, a.EnrolExpires = "", time.Time{}
		return nil
	})
	if err != nil {
		return Account{}, err
	}
	if err := s.Record(ctx, Actor{ID: a.ID, Role: a.Role, Addr: addr}, ActionEnrol, a.ID); err != nil {
		return Account{}, err
	}
	return a.public(), nil
}

// session is the stored (sealed) form of a console session.
type session struct {
	Account  string    `json:"account"`
	Epoch    int64     `json:"epoch"`
	Created  time.Time `json:"created"`
	LastSeen time.Time `json:"last_seen"`
}

// Login checks a login name, password and TOTP code and opens a new session,
// returning the session token the console keeps in its cookie. Every failure
// is ErrBadLogin (or *RateLimitedError once the name or address failed too
// often) and is audited; so is every success.
func (s *Service) Login(ctx context.Context, name, password, code, addr string) (Account, string, error) {
	now := s.Now()
	folded, _ := FoldName(name)
	nameKey := s.cfg.Keys.Hash(hashLogin, "name:"+folded)
	addrKey := s.cfg.Keys.Hash(hashLogin, "addr:"+addr)
	if err := s.checkLimits(ctx, nameKey, addrKey, now); err != nil {
		var rl *RateLimitedError
		if errors.As(err, &rl) {
			if err := s.Record(ctx, Actor{ID: "-", Role: "-", Addr: addr}, ActionLoginLimited, ""); err != nil {
				return Account{}, "", err
			}
		}
		return Account{}, "", err
	}
	a, err := s.checkLogin(ctx, folded, password, code, now)
	if errors.Is(err, ErrBadLogin) {
		staffID := "-"
		role := Role("-")
		if a != nil {
			staffID, role = a.ID, a.Role
		}
		if err := s.fail(ctx, nameKey, addrKey); err != nil {
			return Account{}, "", err
		}
		if err := s.Record(ctx, Actor{ID: staffID, Role: role, Addr: addr}, ActionLoginFailed, staffID); err != nil {
			return Account{}, "", err
		}
		return Account{}, "", ErrBadLogin
	}
	if err != nil {
		return Account{}, "", err
	}
	token, err := s.newSession(ctx, a, now)
	if err != nil {
		return Account{}, "", err
	}
	if err := s.Record(ctx, ActorOf(a.public(), addr), ActionLogin, a.ID); err != nil {
		return Account{}, "", err
	}
	return a.public(), token, nil
}

func (s *Service) checkLimits(ctx context.Context, nameKey, addrKey string, now time.Time) error {
	for _, l := range []struct {
		key   string
		limit int64
	}{{nameKey, s.cfg.AccountLimit}, {addrKey, s.cfg.AddrLimit}} {
		n, err := s.cfg.Store.Failures(ctx, l.key, now, s.cfg.LoginWindow)
		if err != nil {
			return err
		}
		if n >= l.limit {
			return &RateLimitedError{RetryAfter: windowEnd(now, s.cfg.LoginWindow).Sub(now)}
		}
	}
	return nil
}

// windowEnd is when the fixed window holding now ends.
func windowEnd(now time.Time, window time.Duration) time.Time {
	w := int64(window)
	return time.Unix(0, (now.UnixNano()/w+1)*w)
}

func (s *Service) fail(ctx context.Context, keys ...string) error {
	now := s.Now()
	for _, k := range keys {
		if _, err := s.cfg.Store.AddFailure(ctx, k, now, s.cfg.LoginWindow); err != nil {
			return err
		}
	}
	return nil
}

// checkLogin returns the account when name, password and code are right,
// recording the code's time step so it is never accepted again. On
// ErrBadLogin the account is returned when the name was known (for the audit).
func (s *Service) checkLogin(ctx context.Context, folded, password, code string, now time.Time) (*account, error) {
	id, err := s.cfg.Store.AccountByName(ctx, s.cfg.Keys.Hash(hashName, folded))
	if errors.Is(err, ErrNotFound) || folded == "" {
		_, _ = checkPassword(dummyHash, password) // as slow as a real check
		return nil, ErrBadLogin
	}
	if err != nil {
		return nil, err
	}
	a, _, err := s.load(ctx, id)
	if err != nil {
		return nil, err
	}
	if !a.Enrolled || a.Disabled || a.Password == "" {
		_, _ = checkPassword(dummyHash, password)
		return a, ErrBadLogin
	}
	ok, err := checkPassword(a.Password, password)
	if err != nil {
		return nil, err
	}
	if !ok {
		return a, ErrBadLogin
	}
	var bad bool
	updated, err := s.update(ctx, id, func(a *account) error {
		bad = false
		step := matchTOTP(a.TOTPSecret, code, now, a.TOTPStep)
		if step == 0 || !a.Enrolled || a.Disabled {
			bad = true
			return ErrBadLogin
		}
		a.TOTPStep = step
		return nil
	})
	if bad {
		return a, ErrBadLogin
	}
	if err != nil {
		return nil, err
	}
	return updated, nil
}

func (s *Service) newSession(ctx context.Context, a *account, now time.Time) (string, error) {
	token := randomHex(32)
	if err := s.putSession(ctx, token, session{Account: a.ID, Epoch: a.Epoch, Created: now, LastSeen: now}); err != nil {
		return "", err
	}
	return token, nil
}

func (s *Service) putSession(ctx context.Context, token string, ss session) error {
	b, err := json.Marshal(ss)
	if err != nil {
		return fmt.Errorf("staff: encoding session: %w", err)
	}
	expires := ss.LastSeen.Add(s.cfg.SessionIdle)
	if end := ss.Created.Add(s.cfg.SessionMax); end.Before(expires) {
		expires = end
	}
	return s.cfg.Store.PutSession(ctx, s.cfg.Keys.Hash(hashSession, token), s.cfg.Keys.Seal(purposeSession, staffOwner, b), ss.LastSeen, expires)
}

// Session returns the account a session token belongs to, and keeps the
// session alive (its idle timeout restarts). Unknown, idle, too old, signed
// out everywhere, disabled: ErrBadToken.
func (s *Service) Session(ctx context.Context, token string) (Account, error) {
	return s.session(ctx, token, true)
}

// SessionLive reports whether a session is still signed in (ErrBadToken when
// not) without counting it as use: an open page's event stream asks it, and
// must not keep an unattended console signed in past its idle timeout.
func (s *Service) SessionLive(ctx context.Context, token string) error {
	_, err := s.session(ctx, token, false)
	return err
}

// session is Session; touch writes the last-seen time.
func (s *Service) session(ctx context.Context, token string, touch bool) (Account, error) {
	if len(token) != 64 {
		return Account{}, ErrBadToken
	}
	now := s.Now()
	key := s.cfg.Keys.Hash(hashSession, token)
	rec, err := s.cfg.Store.Session(ctx, key, now)
	if errors.Is(err, ErrNotFound) {
		return Account{}, ErrBadToken
	}
	if err != nil {
		return Account{}, err
	}
	b, err := s.cfg.Keys.Open(purposeSession, staffOwner, rec)
	if err != nil {
		return Account{}, ErrBadToken
	}
	var ss session
	if err := json.Unmarshal(b, &ss); err != nil {
		return Account{}, ErrBadToken
	}
	if !now.Before(ss.LastSeen.Add(s.cfg.SessionIdle)) || !now.Before(ss.Created.Add(s.cfg.SessionMax)) {
		_ = s.cfg.Store.DeleteSession(ctx, key)
		return Account{}, ErrBadToken
	}
	a, _, err := s.load(ctx, ss.Account)
	if errors.Is(err, ErrNotFound) {
		return Account{}, ErrBadToken
	}
	if err != nil {
		return Account{}, err
	}
	if a.Disabled || !a.Enrolled || a.Epoch != ss.Epoch {
		_ = s.cfg.Store.DeleteSession(ctx, key)
		return Account{}, ErrBadToken
	}
	// Write the new last-seen time at most once a minute: idle timeouts are
	// minutes long, and a page load makes several requests.
	if touch && now.Sub(ss.LastSeen) >= time.Minute {
		ss.LastSeen = now
		if err := s.putSession(ctx, token, ss); err != nil {
			return Account{}, err
		}
	}
	return a.public(), nil
}

// Logout ends one session.
func (s *Service) Logout(ctx context.Context, token, addr string) error {
	a, err := s.Session(ctx, token)
	if err != nil {
		return nil // nothing to end
	}
	if err := s.cfg.Store.DeleteSession(ctx, s.cfg.Keys.Hash(hashSession, token)); err != nil {
		return err
	}
	return s.Record(ctx, ActorOf(a, addr), ActionLogout, a.ID)
}

// LogoutEverywhere ends every session of the account (all devices).
func (s *Service) LogoutEverywhere(ctx context.Context, by Actor, id string) error {
	if _, err := s.update(ctx, id, func(a *account) error { a.Epoch++; return nil }); err != nil {
		return err
	}
	return s.Record(ctx, by, ActionLogoutEverywhere, id)
}

// tokenPrefix starts every personal API token, so a leaked one is recognisable
// (secret scanners) and never mistaken for a session.
const tokenPrefix = "enlace_"

// IssueToken makes a new personal API token for the account: it acts with the
// account's role and works until revoked or the account is disabled. The
// token is returned once and stored only as a keyed hash.
func (s *Service) IssueToken(ctx context.Context, by Actor, id string) (string, Token, error) {
	secret := randomHex(32)
	t := Token{ID: newID(), Created: s.Now()}
	if _, err := s.update(ctx, id, func(a *account) error {
		if a.TokenHashes == nil {
			a.TokenHashes = map[string]string{}
		}
		a.TokenHashes[t.ID] = s.cfg.Keys.Hash(hashSecret, secret)
		a.Tokens = append(a.Tokens, t)
		return nil
	}); err != nil {
		return "", Token{}, err
	}
	if err := s.Record(ctx, by, ActionTokenIssue, t.ID); err != nil {
		return "", Token{}, err
	}
	return tokenPrefix + id + "_" + t.ID + "_" + secret, t, nil
}

// RevokeToken ends a personal API token of the account.
func (s *Service) RevokeToken(ctx context.Context, by Actor, id, tokenID string) error {
	if _, err := s.update(ctx, id, func(a *account) error {
		if _, ok := a.TokenHashes[tokenID]; !ok {
			return ErrNotFound
		}
		delete(a.TokenHashes, tokenID)
		for i, t := range a.Tokens {
			if t.ID == tokenID {
				a.Tokens = append(a.Tokens[:i], a.Tokens[i+1:]...)
				break
			}
		}
		return nil
	}); err != nil {
		return err
	}
	return s.Record(ctx, by, ActionTokenRevoke, tokenID)
}

// TokenAccount returns the account a personal API token acts for, and audits
// the use (action token.use, subject the token id). Unknown, revoked,
// disabled: ErrBadToken.
func (s *Service) TokenAccount(ctx context.Context, token, addr string) (Account, error) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(token), tokenPrefix)
	parts := strings.Split(rest, "_")
	if !ok || len(parts) != 3 || !validID(parts[0]) || !validID(parts[1]) || len(parts[2]) != 64 {
		return Account{}, ErrBadToken
	}
	a, _, err := s.load(ctx, parts[0])
	if errors.Is(err, ErrNotFound) {
		return Account{}, ErrBadToken
	}
	if err != nil {
		return Account{}, err
	}
	want, found := a.TokenHashes[parts[1]]
	if !found || a.Disabled || subtle.ConstantTimeCompare([]byte(want), []byte(s.cfg.Keys.Hash(hashSecret, parts[2]))) != 1 {
		return Account{}, ErrBadToken
	}
	pub := a.public()
	if err := s.Record(ctx, ActorOf(pub, addr), ActionTokenUse, parts[1]); err != nil {
		return Account{}, err
	}
	return pub, nil
}
