// Package stafftest helps tests that need staff accounts: a fake clock (faketime), a
// staff.Service on a real embedded store with a real keyring, and enrolled
// accounts whose TOTP codes the test computes from the fake clock.
package stafftest

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/enlace-rfl/enlace/bot/faketime"
	"github.com/enlace-rfl/enlace/keyring"
	"github.com/enlace-rfl/enlace/staff"
	"github.com/enlace-rfl/enlace/store/embedded"
)

// Start is where test clocks start: a Tuesday morning, on a TOTP step boundary.
var Start = time.Date(2026, 3, 3, 9, 0, 0, 0, time.UTC)

// Env is a staff service with everything it is built from.
type Env struct {
	Service *staff.Service
	Store   *embedded.Store
	Keys    *keyring.Keyring
	Clock   *faketime.Clock
}

// New returns an Env on a fresh embedded store in a temporary directory.
// cfg's Store, Keys and Clock are filled in; other fields are kept.
func New(t testing.TB, cfg staff.Config) *Env {
	t.Helper()
	st, err := embedded.Open(filepath.Join(t.TempDir(), "enlace.db"), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return NewOn(t, st, cfg)
}

// NewOn is New on an embedded store the caller opened; with st nil, on
// cfg.Store (e.g. a Redis store), and Env.Store is nil.
func NewOn(t testing.TB, st *embedded.Store, cfg staff.Config) *Env {
	t.Helper()
	if st != nil {
		cfg.Store = st
	}
	spec, err := keyring.NewSpec("test")
	if err != nil {
		t.Fatal(err)
	}
	keys, err := keyring.Parse(spec)
	if err != nil {
		t.Fatal(err)
	}
	clock := faketime.At(Start)
	cfg.Keys, cfg.Clock = keys, clock.Now
	return &Env{Service: staff.New(cfg), Store: st, Keys: keys, Clock: clock}
}

// Password is the password Enrol gives every account.
const Password = "correct horse battery"

// Member is an enrolled account and what its owner knows.
type Member struct {
	staff.Account
	Password string
	Secret   string // TOTP secret, for Code
}

// Enrol adds and enrols an account and moves the clock past the TOTP step
// used to enrol, so the member's next Code is accepted.
func (e *Env) Enrol(t testing.TB, name string, role staff.Role, langs ...string) Member {
	t.Helper()
	ctx := context.Background()
	if len(langs) == 0 {
		langs = []string{"es"}
	}
	_, token, err := e.Service.Add(ctx, staff.Operator, name, role, langs)
	if err != nil {
		t.Fatal(err)
	}
	enr, err := e.Service.Enrolment(ctx, token)
	if err != nil {
		t.Fatal(err)
	}
	a, err := e.Service.Enrol(ctx, token, Password, e.Code(t, enr.Secret), "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	e.Clock.Advance(30 * time.Second)
	return Member{Account: a, Password: Password, Secret: enr.Secret}
}

// Code is the TOTP code of secret at the clock's time.
func (e *Env) Code(t testing.TB, secret string) string {
	t.Helper()
	c, err := staff.TOTPCode(secret, e.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Login logs m in and returns the session token, then moves the clock to the
// next TOTP step.
func (e *Env) Login(t testing.TB, m Member) string {
	t.Helper()
	_, tok, err := e.Service.Login(context.Background(), m.Name, m.Password, e.Code(t, m.Secret), "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	e.Clock.Advance(30 * time.Second)
	return tok
}
