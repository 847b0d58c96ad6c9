package console_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/enlace-rfl/enlace/console"
	"github.com/enlace-rfl/enlace/staff"
	"github.com/enlace-rfl/enlace/staff/stafftest"
)

var ctx = context.Background()

// site is a console on a real TLS listener with a staff service on a real store.
type site struct {
	*stafftest.Env
	srv *httptest.Server
}

func newSite(t *testing.T) *site {
	t.Helper()
	env := stafftest.New(t, staff.Config{})
	c, err := console.New(console.Config{Staff: env.Service})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewTLSServer(c)
	t.Cleanup(srv.Close)
	return &site{Env: env, srv: srv}
}

// client is a browser-like client: a cookie jar, redirects not followed.
func (s *site) client(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := *s.srv.Client() // a copy: Client() returns one shared client
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

// req builds a request as a browser on the same site would send it.
func (s *site) req(t *testing.T, method, path string, form url.Values) *http.Request {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	r, err := http.NewRequest(method, s.srv.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("Origin", s.srv.URL)
		r.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	return r
}

func do(t *testing.T, c *http.Client, r *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := c.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// signIn logs m in through the login form and returns the client holding the session.
func (s *site) signIn(t *testing.T, m stafftest.Member) *http.Client {
	t.Helper()
	c := s.client(t)
	resp, body := do(t, c, s.req(t, "POST", "/login", url.Values{"name": {m.Name}, "password": {m.Password}, "code": {s.Code(t, m.Secret)}}))
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login answered %d: %s", resp.StatusCode, body)
	}
	s.Clock.Advance(30e9)
	return c
}

func TestNoSessionGoesToLogin(t *testing.T) {
	s := newSite(t)
	c := s.client(t)
	for path, want := range map[string]string{
		"/":            "/login",
		"/admin/staff": "/login?next=%2Fadmin%2Fstaff",
		"/admin/audit": "/login?next=%2Fadmin%2Faudit",
	} {
		resp, _ := do(t, c, s.req(t, "GET", path, nil))
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != want {
			t.Errorf("GET %s = %d to %q, want 303 to %q", path, resp.StatusCode, resp.Header.Get("Location"), want)
		}
	}
	// A made-up cookie is no session either.
	r := s.req(t, "GET", "/", nil)
	r.AddCookie(&http.Cookie{Name: "__Host-enlace_session", Value: strings.Repeat("a", 64)})
	if resp, _ := do(t, c, r); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("forged session: %d", resp.StatusCode)
	}
}

func TestLoginSetsAStrictHostCookie(t *testing.T) {
	s := newSite(t)
	m := s.Enrol(t, "maria", staff.RoleVolunteer, "ht", "es")
	c := s.client(t)
	resp, _ := do(t, c, s.req(t, "POST", "/login", url.Values{"name": {"maria"}, "password": {m.Password},
		"code": {s.Code(t, m.Secret)}, "next": {"/admin/audit"}}))
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin/audit" {
		t.Fatalf("login = %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	set := resp.Header.Get("Set-Cookie")
	for _, want := range []string{"__Host-enlace_session=", "Path=/", "HttpOnly", "Secure", "SameSite=Strict"} {
		if !strings.Contains(set, want) {
			t.Errorf("Set-Cookie %q lacks %q", set, want)
		}
	}
	if strings.Contains(set, "Domain=") {
		t.Errorf("Set-Cookie %q names a domain", set)
	}
	resp, body := do(t, c, s.req(t, "GET", "/", nil))
	if resp.StatusCode != 200 || !strings.Contains(body, "maria") || !strings.Contains(body, `lang="ht"`) {
		t.Fatalf("home = %d, in the volunteer's first language?\n%s", resp.StatusCode, body)
	}
	// An open redirect is not followed.
	c2 := s.client(t)
	s.Clock.Advance(30e9)
	resp, _ = do(t, c2, s.req(t, "POST", "/login", url.Values{"name": {"maria"}, "password": {m.Password},
		"code": {s.Code(t, m.Secret)}, "next": {"//evil.example/x"}}))
	if loc := resp.Header.Get("Location"); loc != "/" {
		t.Fatalf("next=//evil.example redirected to %q", loc)
	}
}

func TestLoginErrors(t *testing.T) {
	s := newSite(t)
	m := s.Enrol(t, "maria", staff.RoleVolunteer, "en")
	c := s.client(t)
	code := s.Code(t, m.Secret)
	if resp, _ := do(t, c, s.req(t, "POST", "/login", url.Values{"name": {"maria"}, "password": {m.Password}, "code": {code}})); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("first login: %d", resp.StatusCode)
	}
	// The same code again, from another browser: refused.
	resp, body := do(t, s.client(t), s.req(t, "POST", "/login?lang=en", url.Values{"name": {"maria"}, "password": {m.Password}, "code": {code}}))
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "Wrong name, password or code") {
		t.Fatalf("reused code: %d\n%s", resp.StatusCode, body)
	}
	for range 4 {
		do(t, s.client(t), s.req(t, "POST", "/login", url.Values{"name": {"maria"}, "password": {"wrong"}, "code": {"000000"}}))
	}
	resp, body = do(t, s.client(t), s.req(t, "POST", "/login?lang=en", url.Values{"name": {"maria"}, "password": {m.Password}, "code": {s.Code(t, m.Secret)}}))
	if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(body, "Too many wrong tries") {
		t.Fatalf("sixth try: %d\n%s", resp.StatusCode, body)
	}
	// A body too big for a form.
	resp, _ = do(t, s.client(t), s.req(t, "POST", "/login", url.Values{"name": {strings.Repeat("x", 1<<20)}}))
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("1 MiB form: %d", resp.StatusCode)
	}
}

func TestCrossSitePostRefused(t *testing.T) {
	s := newSite(t)
	m := s.Enrol(t, "maria", staff.RoleVolunteer)
	c := s.signIn(t, m)
	for _, hdr := range []map[string]string{
		{"Sec-Fetch-Site": "cross-site"},
		{"Origin": "https://evil.example"},
	} {
		for _, path := range []string{"/logout/everywhere", "/logout", "/login"} {
			r := s.req(t, "POST", path, url.Values{"name": {"maria"}})
			r.Header.Del("Sec-Fetch-Site")
			r.Header.Del("Origin")
			for k, v := range hdr {
				r.Header.Set(k, v)
			}
			if resp, _ := do(t, c, r); resp.StatusCode != http.StatusForbidden {
				t.Errorf("cross-site POST %s with %v = %d, want 403", path, hdr, resp.StatusCode)
			}
		}
	}
	// Still signed in: nothing above took effect.
	if resp, _ := do(t, c, s.req(t, "GET", "/", nil)); resp.StatusCode != 200 {
		t.Fatalf("after refused cross-site posts, home = %d", resp.StatusCode)
	}
}

func TestVolunteerCannotOpenAdminPages(t *testing.T) {
	s := newSite(t)
	vol := s.signIn(t, s.Enrol(t, "vol", staff.RoleVolunteer))
	adm := s.signIn(t, s.Enrol(t, "boss", staff.RoleAdmin, "en"))
	for _, path := range []string{"/admin/staff", "/admin/audit", "/admin/audit/export"} {
		if resp, _ := do(t, vol, s.req(t, "GET", path, nil)); resp.StatusCode != http.StatusForbidden {
			t.Errorf("volunteer GET %s = %d, want 403", path, resp.StatusCode)
		}
		if resp, _ := do(t, adm, s.req(t, "GET", path, nil)); resp.StatusCode != 200 {
			t.Errorf("admin GET %s = %d, want 200", path, resp.StatusCode)
		}
	}
	_, body := do(t, adm, s.req(t, "GET", "/admin/staff", nil))
	if !strings.Contains(body, "vol") || !strings.Contains(body, "boss") {
		t.Fatalf("staff list lacks the accounts:\n%s", body)
	}
	resp, body := do(t, adm, s.req(t, "GET", "/admin/audit/export", nil))
	if ct := resp.Header.Get("Content-Type"); ct != "application/x-ndjson" || !strings.Contains(body, `"action":"login"`) {
		t.Fatalf("export: %s\n%s", ct, body)
	}
}

func TestSignOutAndEverywhere(t *testing.T) {
	s := newSite(t)
	m := s.Enrol(t, "maria", staff.RoleVolunteer)
	a, b, c := s.signIn(t, m), s.signIn(t, m), s.signIn(t, m)
	if resp, _ := do(t, a, s.req(t, "POST", "/logout", url.Values{})); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	if resp, _ := do(t, a, s.req(t, "GET", "/", nil)); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("after logout home = %d", resp.StatusCode)
	}
	if resp, _ := do(t, b, s.req(t, "GET", "/", nil)); resp.StatusCode != 200 {
		t.Fatalf("logout ended another session: %d", resp.StatusCode)
	}
	if resp, _ := do(t, b, s.req(t, "POST", "/logout/everywhere", url.Values{})); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout everywhere: %d", resp.StatusCode)
	}
	for _, cl := range []*http.Client{b, c} {
		if resp, _ := do(t, cl, s.req(t, "GET", "/", nil)); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("after sign out everywhere home = %d", resp.StatusCode)
		}
	}
}

func TestSecurityHeaders(t *testing.T) {
	s := newSite(t)
	for _, path := range []string{"/login", "/static/console.css", "/nope", "/api/v1/openapi.json"} {
		resp, _ := do(t, s.client(t), s.req(t, "GET", path, nil))
		csp := resp.Header.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'none'", "script-src 'self'", "frame-ancestors 'none'", "form-action 'self'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: CSP %q lacks %q", path, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe") {
			t.Errorf("%s: CSP allows unsafe sources: %q", path, csp)
		}
		for k, v := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer"} {
			if resp.Header.Get(k) != v {
				t.Errorf("%s: %s = %q, want %q", path, k, resp.Header.Get(k), v)
			}
		}
	}
}

func TestEnrolmentPages(t *testing.T) {
	s := newSite(t)
	_, token, err := s.Service.Add(ctx, staff.Operator, "nadege", staff.RoleVolunteer, []string{"ht", "fr"})
	if err != nil {
		t.Fatal(err)
	}
	c := s.client(t)
	if resp, body := do(t, c, s.req(t, "GET", "/enrol?t=nope", nil)); resp.StatusCode != 404 || !strings.Contains(body, "Lyen sa a pa mache") && !strings.Contains(body, "Este enlace no funciona") {
		t.Fatalf("bad link: %d\n%s", resp.StatusCode, body)
	}
	enr, err := s.Service.Enrolment(ctx, token)
	if err != nil {
		t.Fatal(err)
	}
	resp, body := do(t, c, s.req(t, "GET", "/enrol?t="+url.QueryEscape(token), nil))
	if resp.StatusCode != 200 || !strings.Contains(body, `lang="ht"`) || !strings.Contains(body, enr.Secret[:4]+" ") ||
		!strings.Contains(body, `href="otpauth://totp/Enlace:nadege?`) || !strings.Contains(body, `src="data:image/png;base64,`) {
		t.Fatalf("enrolment page: %d\n%s", resp.StatusCode, body)
	}
	form := url.Values{"t": {token}, "password": {"a long enough pass"}, "password2": {"not the same one!"}, "code": {s.Code(t, enr.Secret)}}
	if resp, _ := do(t, c, s.req(t, "POST", "/enrol", form)); resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("mismatched passwords: %d", resp.StatusCode)
	}
	form.Set("password2", "a long enough pass")
	if resp, body := do(t, c, s.req(t, "POST", "/enrol", form)); resp.StatusCode != 200 || !strings.Contains(body, "Kont ou pare") {
		t.Fatalf("enrol: %d\n%s", resp.StatusCode, body)
	}
	if resp, _ := do(t, c, s.req(t, "POST", "/enrol", form)); resp.StatusCode != 404 {
		t.Fatalf("the link worked twice: %d", resp.StatusCode)
	}
}

func TestLanguageMenu(t *testing.T) {
	s := newSite(t)
	c := s.client(t)
	resp, _ := do(t, c, s.req(t, "GET", "/lang?l=pt&next=%2Flogin", nil))
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" {
		t.Fatalf("/lang = %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, body := do(t, c, s.req(t, "GET", "/login", nil))
	if !strings.Contains(body, `lang="pt"`) || !strings.Contains(body, "Senha") {
		t.Fatalf("after choosing pt:\n%s", body)
	}
	r := s.req(t, "GET", "/login", nil)
	r.Header.Set("Accept-Language", "fr-CA,fr;q=0.9")
	if _, body := do(t, s.client(t), r); !strings.Contains(body, "Mot de passe") {
		t.Fatalf("Accept-Language fr-CA did not give French")
	}
	// Browsers drop tabs and line breaks from a URL and read a backslash as
	// a slash: each of these would leave the site.
	for _, next := range []string{"https://evil.example", "//evil.example", "/\\evil.example", "/\t/evil.example", "/\n/evil.example",
		"/\r\n/evil.example", "\t//evil.example", "/%2F/evil.example", "/ /evil.example", "javascript:alert(1)", "/\x7f/evil.example"} {
		resp, _ := do(t, c, s.req(t, "GET", "/lang?l=pt&next="+url.QueryEscape(next), nil))
		if loc := resp.Header.Get("Location"); loc != "/" {
			t.Errorf("open redirect through /lang with next=%q: %q", next, loc)
		}
	}
	for _, next := range []string{"/inbox", "/cases?status=open", "/cases/k1#notes"} {
		resp, _ := do(t, c, s.req(t, "GET", "/lang?l=pt&next="+url.QueryEscape(next), nil))
		if loc := resp.Header.Get("Location"); loc != next {
			t.Errorf("next=%q went to %q", next, loc)
		}
	}
}
