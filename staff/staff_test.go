package staff_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/enlace-rfl/enlace/staff"
	"github.com/enlace-rfl/enlace/staff/stafftest"
)

var ctx = context.Background()

func actions(t *testing.T, e *stafftest.Env) []string {
	t.Helper()
	var out []string
	for from := int64(0); ; {
		page, next, err := e.Service.AuditPage(ctx, from, 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, en := range page {
			out = append(out, en.Action)
		}
		if next == 0 {
			return out
		}
		from = next
	}
}

func TestAddValidates(t *testing.T) {
	e := stafftest.New(t, staff.Config{})
	for _, tc := range []struct {
		name  string
		role  staff.Role
		langs []string
	}{
		{"a", staff.RoleVolunteer, []string{"es"}},           // too short
		{"María López", staff.RoleVolunteer, []string{"es"}}, // not a login name
		{"maria", "boss", []string{"es"}},                    // no such role
		{"maria", staff.RoleVolunteer, []string{"de"}},       // no such language
		{"maria", staff.RoleVolunteer, nil},                  // no language
	} {
		if _, _, err := e.Service.Add(ctx, staff.Operator, tc.name, tc.role, tc.langs); err == nil {
			t.Errorf("Add(%q, %q, %q) accepted", tc.name, tc.role, tc.langs)
		}
	}
	if _, _, err := e.Service.Add(ctx, staff.Operator, "Maria", staff.RoleVolunteer, []string{"es", "ht", "es"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.Service.Add(ctx, staff.Operator, "maria", staff.RoleAdmin, []string{"en"}); !errors.Is(err, staff.ErrExists) {
		t.Fatalf("a second maria: %v, want ErrExists", err)
	}
	list, err := e.Service.List(ctx)
	if err != nil || len(list) != 1 || list[0].Name != "maria" || strings.Join(list[0].Languages, ",") != "es,ht" || list[0].Enrolled {
		t.Fatalf("List = %+v, %v", list, err)
	}
}

func TestEnrolment(t *testing.T) {
	e := stafftest.New(t, staff.Config{})
	a, token, err := e.Service.Add(ctx, staff.Operator, "maria", staff.RoleVolunteer, []string{"es"})
	if err != nil {
		t.Fatal(err)
	}
	if link := staff.EnrolLink("https://console.example.org/", token); !strings.HasPrefix(link, "https://console.example.org/enrol?t="+a.ID+".") {
		t.Fatalf("EnrolLink = %s", link)
	}
	enr, err := e.Service.Enrolment(ctx, token)
	if err != nil {
		t.Fatal(err)
	}
	if enr.Account.ID != a.ID || len(enr.Secret) < 32 || !strings.HasPrefix(enr.URI, "otpauth://totp/Enlace:maria?") || !strings.Contains(enr.URI, "secret="+enr.Secret) {
		t.Fatalf("Enrolment = %+v", enr)
	}
	code := e.Code(t, enr.Secret)
	if _, err := e.Service.Enrol(ctx, token, "short", code, "10.0.0.1"); !errors.Is(err, staff.ErrWeakPassword) {
		t.Fatalf("short password: %v", err)
	}
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	if _, err := e.Service.Enrol(ctx, token, stafftest.Password, wrong, "10.0.0.1"); !errors.Is(err, staff.ErrBadCode) {
		t.Fatalf("wrong code: %v", err)
	}
	if _, err := e.Service.Enrol(ctx, a.ID+".x", stafftest.Password, code, "10.0.0.1"); !errors.Is(err, staff.ErrBadToken) {
		t.Fatalf("forged token: %v", err)
	}
	got, err := e.Service.Enrol(ctx, token, stafftest.Password, code, "10.0.0.1")
	if err != nil || !got.Enrolled {
		t.Fatalf("Enrol = %+v, %v", got, err)
	}
	if _, err := e.Service.Enrol(ctx, token, stafftest.Password, code, "10.0.0.1"); !errors.Is(err, staff.ErrBadToken) {
		t.Fatalf("the link worked twice: %v", err)
	}
	// The code used to enrol cannot log in.
	if _, _, err := e.Service.Login(ctx, "maria", stafftest.Password, code, "10.0.0.1"); !errors.Is(err, staff.ErrBadLogin) {
		t.Fatalf("enrolment code reused at login: %v", err)
	}
}

func TestEnrolmentExpires(t *testing.T) {
	e := stafftest.New(t, staff.Config{})
	_, token, err := e.Service.Add(ctx, staff.Operator, "maria", staff.RoleVolunteer, []string{"es"})
	if err != nil {
		t.Fatal(err)
	}
	e.Clock.Advance(24*time.Hour - time.Second)
	if _, err := e.Service.Enrolment(ctx, token); err != nil {
		t.Fatalf("link dead before 24 h: %v", err)
	}
	e.Clock.Advance(time.Second)
	if _, err := e.Service.Enrolment(ctx, token); !errors.Is(err, staff.ErrBadToken) {
		t.Fatalf("link alive after 24 h: %v", err)
	}
}

func TestLoginOnceTOTP(t *testing.T) {
	e := stafftest.New(t, staff.Config{})
	m := e.Enrol(t, "maria", staff.RoleVolunteer, "es", "ht")
	code := e.Code(t, m.Secret)
	a, tok, err := e.Service.Login(ctx, "MARIA", m.Password, code, "10.0.0.1")
	if err != nil || a.ID != m.ID || len(tok) != 64 {
		t.Fatalf("Login = %+v, %q, %v", a, tok, err)
	}
	if _, _, err := e.Service.Login(ctx, "maria", m.Password, code, "10.0.0.1"); !errors.Is(err, staff.ErrBadLogin) {
		t.Fatalf("the same code twice: %v, want ErrBadLogin", err)
	}
	e.Clock.Advance(30 * time.Second)
	if _, _, err := e.Service.Login(ctx, "maria", m.Password, e.Code(t, m.Secret), "10.0.0.1"); err != nil {
		t.Fatalf("next step's code: %v", err)
	}
	e.Clock.Advance(30 * time.Second)
	if _, _, err := e.Service.Login(ctx, "maria", "wrong password!!", e.Code(t, m.Secret), "10.0.0.1"); !errors.Is(err, staff.ErrBadLogin) {
		t.Fatalf("wrong password: %v", err)
	}
	if _, _, err := e.Service.Login(ctx, "nobody", m.Password, e.Code(t, m.Secret), "10.0.0.1"); !errors.Is(err, staff.ErrBadLogin) {
		t.Fatalf("unknown name: %v", err)
	}
	got := strings.Join(actions(t, e), " ")
	if want := "staff.add staff.enrol login login.failed login login.failed login.failed"; got != want {
		t.Fatalf("audit actions\n got %s\nwant %s", got, want)
	}
}

// TestConcurrentLoginsOneCode: twenty logins race with one code; one wins.
func TestConcurrentLoginsOneCode(t *testing.T) {
	e := stafftest.New(t, staff.Config{AccountLimit: 100, AddrLimit: 100})
	m := e.Enrol(t, "maria", staff.RoleVolunteer)
	code := e.Code(t, m.Secret)
	var wg sync.WaitGroup
	var mu sync.Mutex
	won := 0
	for range 20 {
		wg.Go(func() {
			_, _, err := e.Service.Login(ctx, "maria", m.Password, code, "10.0.0.1")
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				won++
			} else if !errors.Is(err, staff.ErrBadLogin) {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if won != 1 {
		t.Fatalf("%d logins succeeded with one code, want 1", won)
	}
}

func TestLoginRateLimits(t *testing.T) {
	e := stafftest.New(t, staff.Config{})
	m := e.Enrol(t, "maria", staff.RoleVolunteer)
	for range 5 {
		if _, _, err := e.Service.Login(ctx, "maria", "not the password", "123456", "10.0.0.1"); !errors.Is(err, staff.ErrBadLogin) {
			t.Fatal(err)
		}
	}
	_, _, err := e.Service.Login(ctx, "maria", m.Password, e.Code(t, m.Secret), "10.0.0.2")
	var rl *staff.RateLimitedError
	if !errors.As(err, &rl) || rl.RetryAfter <= 0 || rl.RetryAfter > 15*time.Minute {
		t.Fatalf("sixth login of the name: %v, want RateLimitedError", err)
	}
	e.Clock.Advance(rl.RetryAfter)
	if _, _, err := e.Service.Login(ctx, "maria", m.Password, e.Code(t, m.Secret), "10.0.0.2"); err != nil {
		t.Fatalf("after the window: %v", err)
	}

	// Per address: twenty failures over many names lock the address, not the names.
	e.Clock.Advance(15 * time.Minute)
	for i := range 20 {
		_, _, _ = e.Service.Login(ctx, "guess"+string(rune('a'+i)), "x", "1", "10.9.9.9")
	}
	if _, _, err := e.Service.Login(ctx, "maria", m.Password, e.Code(t, m.Secret), "10.9.9.9"); !errors.As(err, &rl) {
		t.Fatalf("21st login from the address: %v, want RateLimitedError", err)
	}
	if _, _, err := e.Service.Login(ctx, "maria", m.Password, e.Code(t, m.Secret), "10.0.0.3"); err != nil {
		t.Fatalf("same name from another address: %v", err)
	}
}

func TestSessions(t *testing.T) {
	e := stafftest.New(t, staff.Config{SessionIdle: 30 * time.Minute, SessionMax: 2 * time.Hour})
	m := e.Enrol(t, "maria", staff.RoleVolunteer)

	tok := e.Login(t, m)
	if a, err := e.Service.Session(ctx, tok); err != nil || a.ID != m.ID {
		t.Fatalf("Session = %+v, %v", a, err)
	}
	if _, err := e.Service.Session(ctx, strings.Repeat("0", 64)); !errors.Is(err, staff.ErrBadToken) {
		t.Fatalf("unknown session: %v", err)
	}
	// Idle timeout, renewed by use.
	for range 4 {
		e.Clock.Advance(29 * time.Minute)
		if _, err := e.Service.Session(ctx, tok); err != nil {
			t.Fatalf("used every 29 min, signed out: %v", err)
		}
	}
	// Absolute lifetime: 2 h however busy (4*29 min + 30 s since the login).
	e.Clock.Advance(4 * time.Minute)
	if _, err := e.Service.Session(ctx, tok); !errors.Is(err, staff.ErrBadToken) {
		t.Fatalf("session past its lifetime: %v", err)
	}
	tok = e.Login(t, m)
	e.Clock.Advance(30 * time.Minute)
	if _, err := e.Service.Session(ctx, tok); !errors.Is(err, staff.ErrBadToken) {
		t.Fatalf("idle session: %v", err)
	}
	// SessionLive looks without counting as use: an open page's event
	// stream does not keep an unattended console signed in.
	tok = e.Login(t, m)
	e.Clock.Advance(20 * time.Minute)
	if err := e.Service.SessionLive(ctx, tok); err != nil {
		t.Fatalf("a session used 20 min ago: %v", err)
	}
	e.Clock.Advance(20 * time.Minute)
	if err := e.Service.SessionLive(ctx, tok); !errors.Is(err, staff.ErrBadToken) {
		t.Fatalf("a session only looked at for 40 min: %v, want signed out", err)
	}

	// Logout ends one session; logout everywhere ends all.
	t1, t2, t3 := e.Login(t, m), e.Login(t, m), e.Login(t, m)
	if err := e.Service.Logout(ctx, t1, "10.0.0.1"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Service.Session(ctx, t1); !errors.Is(err, staff.ErrBadToken) {
		t.Fatalf("after logout: %v", err)
	}
	if _, err := e.Service.Session(ctx, t2); err != nil {
		t.Fatalf("logout ended another session: %v", err)
	}
	if err := e.Service.LogoutEverywhere(ctx, staff.ActorOf(m.Account, "10.0.0.1"), m.ID); err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{t2, t3} {
		if _, err := e.Service.Session(ctx, tok); !errors.Is(err, staff.ErrBadToken) {
			t.Fatalf("after sign out everywhere: %v", err)
		}
	}
	tok = e.Login(t, m)
	if err := e.Service.Disable(ctx, staff.Operator, m.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Service.Session(ctx, tok); !errors.Is(err, staff.ErrBadToken) {
		t.Fatalf("session of a disabled account: %v", err)
	}
	if _, _, err := e.Service.Login(ctx, m.Name, m.Password, e.Code(t, m.Secret), "10.0.0.1"); !errors.Is(err, staff.ErrBadLogin) {
		t.Fatalf("login of a disabled account: %v", err)
	}
}

func TestReset(t *testing.T) {
	e := stafftest.New(t, staff.Config{})
	m := e.Enrol(t, "maria", staff.RoleCaseworker, "fr")
	tok := e.Login(t, m)
	link, err := e.Service.Reset(ctx, staff.Operator, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Service.Session(ctx, tok); !errors.Is(err, staff.ErrBadToken) {
		t.Fatalf("session survives a reset: %v", err)
	}
	if _, _, err := e.Service.Login(ctx, m.Name, m.Password, e.Code(t, m.Secret), "10.0.0.1"); !errors.Is(err, staff.ErrBadLogin) {
		t.Fatalf("old password and secret work after a reset: %v", err)
	}
	enr, err := e.Service.Enrolment(ctx, link)
	if err != nil || enr.Secret == m.Secret {
		t.Fatalf("reset enrolment = %+v, %v (want a new secret)", enr, err)
	}
	if _, err := e.Service.Enrol(ctx, link, "another long password", e.Code(t, enr.Secret), "10.0.0.1"); err != nil {
		t.Fatal(err)
	}
}

func TestAPITokens(t *testing.T) {
	e := stafftest.New(t, staff.Config{})
	m := e.Enrol(t, "maria", staff.RoleAdmin, "en")
	tok, info, err := e.Service.IssueToken(ctx, staff.Operator, m.ID)
	if err != nil || !strings.HasPrefix(tok, "enlace_"+m.ID+"_"+info.ID+"_") {
		t.Fatalf("IssueToken = %q, %+v, %v", tok, info, err)
	}
	a, err := e.Service.TokenAccount(ctx, tok, "10.1.1.1")
	if err != nil || a.ID != m.ID || a.Role != staff.RoleAdmin {
		t.Fatalf("TokenAccount = %+v, %v", a, err)
	}
	if len(a.Tokens) != 1 || a.Tokens[0].ID != info.ID {
		t.Fatalf("account lists tokens %+v", a.Tokens)
	}
	for _, bad := range []string{"", "enlace_", tok[:len(tok)-1] + "0", strings.Replace(tok, info.ID, "0123456789abcdef", 1), tok + "x"} {
		if bad == tok {
			continue
		}
		if _, err := e.Service.TokenAccount(ctx, bad, "10.1.1.1"); !errors.Is(err, staff.ErrBadToken) {
			t.Errorf("TokenAccount(%q) = %v", bad, err)
		}
	}
	// The stored account holds no token secret.
	rec, err := e.Store.Account(ctx, m.ID)
	if err != nil || bytes.Contains(rec, []byte(tok[len(tok)-64:])) {
		t.Fatalf("token secret found in the stored record (%v)", err)
	}
	if err := e.Service.RevokeToken(ctx, staff.Operator, m.ID, info.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Service.TokenAccount(ctx, tok, "10.1.1.1"); !errors.Is(err, staff.ErrBadToken) {
		t.Fatalf("revoked token: %v", err)
	}
	if err := e.Service.RevokeToken(ctx, staff.Operator, m.ID, info.ID); !errors.Is(err, staff.ErrNotFound) {
		t.Fatalf("revoking twice: %v", err)
	}
	got := strings.Join(actions(t, e), " ")
	if want := "staff.add staff.enrol token.issue token.use token.revoke"; got != want {
		t.Fatalf("audit actions\n got %s\nwant %s", got, want)
	}
}

func TestAuditEntries(t *testing.T) {
	e := stafftest.New(t, staff.Config{})
	by := staff.Actor{ID: "0123456789abcdef", Role: staff.RoleVolunteer, Addr: "10.2.2.2"}
	if err := e.Service.Record(ctx, by, "conversation.open", "conv_1"); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"+525512345678", "5512345678", "María", "a b", strings.Repeat("x", 129)} {
		if err := e.Service.Record(ctx, by, "x", bad); !errors.Is(err, staff.ErrBadSubject) {
			t.Errorf("subject %q: %v", bad, err)
		}
	}
	page, _, err := e.Service.AuditPage(ctx, 0, 10)
	if err != nil || len(page) != 1 {
		t.Fatalf("AuditPage = %+v, %v", page, err)
	}
	en := page[0]
	if en.Seq != 1 || !en.Time.Equal(stafftest.Start) || en.Staff != by.ID || en.Role != by.Role || en.Action != "conversation.open" ||
		en.Subject != "conv_1" || en.Addr != "10.2.2.2" || en.Prev != "" || len(en.Hash) != 32 {
		t.Fatalf("entry = %+v", en)
	}
	var buf bytes.Buffer
	if err := e.Service.ExportAudit(ctx, &buf); err != nil {
		t.Fatal(err)
	}
	var back staff.Entry
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil || back != en {
		t.Fatalf("export = %s (%v)", buf.Bytes(), err)
	}
}

func TestAuditVerifyAndExpire(t *testing.T) {
	e := stafftest.New(t, staff.Config{AuditTTL: 48 * time.Hour})
	if rep, err := e.Service.VerifyAudit(ctx); err != nil || rep.Entries != 0 {
		t.Fatalf("empty log: %+v, %v", rep, err)
	}
	for i := range 30 {
		if err := e.Service.Record(ctx, staff.Operator, "test", ""); err != nil {
			t.Fatal(err)
		}
		if i%10 == 9 {
			e.Clock.Advance(24 * time.Hour)
		}
	}
	rep, err := e.Service.VerifyAudit(ctx)
	if err != nil || rep.Entries != 30 || rep.From != 1 || rep.To != 30 {
		t.Fatalf("VerifyAudit = %+v, %v", rep, err)
	}
	// Now is day 3: entries of day 0 are older than 48 h.
	n, err := e.Service.ExpireAudit(ctx)
	if err != nil || n != 10 {
		t.Fatalf("ExpireAudit removed %d, %v; want 10", n, err)
	}
	if rep, err := e.Service.VerifyAudit(ctx); err != nil || rep.Entries != 20 || rep.From != 11 {
		t.Fatalf("after expiry VerifyAudit = %+v, %v", rep, err)
	}
	if n, _ := e.Service.ExpireAudit(ctx); n != 0 {
		t.Fatalf("second ExpireAudit removed %d", n)
	}
	// Trimming more than expiry did, with a made-up hash, is noticed.
	if err := e.Store.TrimAudit(ctx, 12, "made-up"); err != nil {
		t.Fatal(err)
	}
	var broken *staff.AuditBrokenError
	if _, err := e.Service.VerifyAudit(ctx); !errors.As(err, &broken) || broken.Seq != 13 {
		t.Fatalf("after a forged trim: %v", err)
	}
}
