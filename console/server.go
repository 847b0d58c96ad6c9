package console

import (
	"context"
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/enlace-rfl/enlace/casework"
	"github.com/enlace-rfl/enlace/inbox"
	"github.com/enlace-rfl/enlace/places"
	"github.com/enlace-rfl/enlace/staff"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Cookie names. The __Host- prefix makes the browser refuse the cookie unless
// it is Secure, has Path=/ and no Domain: no other host can set or read it.
const (
	sessionCookie = "__Host-enlace_session"
	langCookie    = "__Host-enlace_lang"
)

// Config is what a console Server is built from.
type Config struct {
	Staff  *staff.Service
	Logger *slog.Logger
	// ClientAddr returns the address a request comes from, for the audit log
	// and per-address login limits; the connection's remote host when nil.
	// Behind a proxy, read the proxy's header here.
	ClientAddr func(r *http.Request) string
	// Inbox is the volunteer inbox the console's conversation pages and
	// API work on; nil: the console has no inbox.
	Inbox *inbox.Service
	// Cases is the caseworkers' tracing cases the API works on; nil: the
	// console has no tracing API.
	Cases *casework.Service
	// Places is the directory of places whose status the Directory page
	// and API set; nil: the console has no directory.
	Places places.Store
	// Heartbeat is how often an open inbox's event stream is kept alive and
	// its session checked (25s when zero).
	Heartbeat time.Duration
}

// Server is the console: pages and API on one http.Handler.
type Server struct {
	cfg   Config
	log   *slog.Logger
	cat   catalog
	pages map[string]*template.Template
	mux   *http.ServeMux
	h     http.Handler
	// cards are the home page's sections, by permission.
	cards []card
	// hasInbox and hasCases are set once the inbox's and the cases' pages are added.
	hasInbox, hasCases bool
	heartbeat          time.Duration
}

// card is one section of the home page.
type card struct {
	perm              staff.Permission
	title, help, href string
}

// AddHomeCard adds a section to the home page of accounts with permission p:
// a link to href titled by the text key title, explained by the key help.
func (s *Server) AddHomeCard(p staff.Permission, title, help, href string) {
	s.cards = append(s.cards, card{perm: p, title: title, help: help, href: href})
}

// New builds the console.
func New(cfg Config) (*Server, error) {
	if cfg.Staff == nil {
		return nil, errors.New("console: Config.Staff is required")
	}
	if cfg.ClientAddr == nil {
		cfg.ClientAddr = remoteHost
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cat, err := loadCatalog()
	if err != nil {
		return nil, err
	}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: log, cat: cat, pages: pages, mux: http.NewServeMux(), heartbeat: cfg.Heartbeat}
	if s.heartbeat <= 0 {
		s.heartbeat = sseHeartbeat
	}
	s.routes()
	s.AddHomeCard(staff.PermAdmin, "nav.staff", "home.staff_help", "/admin/staff")
	s.AddHomeCard(staff.PermAudit, "nav.audit", "home.audit_help", "/admin/audit")
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(s.crossSite))
	s.h = securityHeaders(cop.Handler(s.mux))
	return s, nil
}

// Inbox returns the volunteer inbox the console works on (nil when none).
func (s *Server) Inbox() *inbox.Service { return s.cfg.Inbox }

// Cases returns the tracing cases the API works on (nil when none).
func (s *Server) Cases() *casework.Service { return s.cfg.Cases }

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.h.ServeHTTP(w, r) }

func (s *Server) routes() {
	static, _ := fs.Sub(staticFS, "static")
	s.mux.Handle("GET /static/", http.StripPrefix("/static/", staticFiles(http.FileServerFS(static))))
	s.mux.HandleFunc("GET /login", s.loginPage)
	s.mux.HandleFunc("POST /login", s.login)
	s.mux.HandleFunc("GET /enrol", s.enrolPage)
	s.mux.HandleFunc("POST /enrol", s.enrol)
	s.mux.HandleFunc("GET /lang", s.setLang)
	s.mux.HandleFunc("POST /logout", s.logout)
	s.mux.Handle("POST /logout/everywhere", s.page(staff.Permission(""), s.logoutEverywhere))
	s.mux.Handle("GET /{$}", s.page(staff.Permission(""), s.home))
	s.mux.Handle("GET /admin/staff", s.page(staff.PermAdmin, s.staffList))
	s.mux.Handle("GET /admin/audit", s.page(staff.PermAudit, s.auditPage))
	s.mux.Handle("GET /admin/audit/export", s.page(staff.PermAudit, s.auditExport))
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })
	s.apiRoutes()
	s.inboxPageRoutes()
	s.casePageRoutes()
	s.directoryRoutes()
	s.mux.HandleFunc("/", s.notFound)
}

// Handle adds a console page for accounts with permission p (any signed-in
// account when p is empty): other packages (the inbox, tracing) add their
// pages this way. fn gets the signed-in account.
func (s *Server) Handle(pattern string, p staff.Permission, fn func(w http.ResponseWriter, r *http.Request, a staff.Account)) {
	s.mux.Handle(pattern, s.page(p, fn))
}

// securityHeaders sets the headers every response carries.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
			"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
		h.Set("Strict-Transport-Security", "max-age=63072000")
		h.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

// staticFiles lets embedded assets be cached (they change only with a new binary).
func staticFiles(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		next.ServeHTTP(w, r)
	})
}

func remoteHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// account returns the signed-in account of a request, from its session cookie.
func (s *Server) account(r *http.Request) (staff.Account, string, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return staff.Account{}, "", staff.ErrBadToken
	}
	a, err := s.cfg.Staff.Session(r.Context(), c.Value)
	return a, c.Value, err
}

// page wraps a page handler: no session → the login page; a role without p → 403.
func (s *Server) page(p staff.Permission, fn func(w http.ResponseWriter, r *http.Request, a staff.Account)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, _, err := s.account(r)
		if errors.Is(err, staff.ErrBadToken) {
			clearCookie(w, sessionCookie)
			target := "/login"
			if r.Method == http.MethodGet && r.URL.Path != "/" {
				target += "?next=" + url.QueryEscape(r.URL.RequestURI())
			}
			http.Redirect(w, r, target, http.StatusSeeOther)
			return
		}
		if err != nil {
			s.internal(w, r, err)
			return
		}
		if p != "" && !a.Can(p) {
			s.render(w, r, http.StatusForbidden, "error", &a, view{"Title": "error.forbidden_title", "Message": "error.forbidden"})
			return
		}
		fn(w, r, a)
	})
}

func setCookie(w http.ResponseWriter, name, value string, maxAge time.Duration) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: int(maxAge / time.Second),
		Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode})
}

func clearCookie(w http.ResponseWriter, name string) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/", MaxAge: -1,
		Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode})
}

// localPath keeps a post-login redirect on this site: a path of this site
// and nothing else, or "/". Browsers drop tabs and line breaks from a URL
// and read a backslash as a slash, so "/\t/evil.example" would leave the
// site: any control character, space or backslash refuses the path whole.
func localPath(next string) string {
	for i := 0; i < len(next); i++ {
		if c := next[i]; c <= ' ' || c == '\\' || c == 0x7f {
			return "/"
		}
	}
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.Opaque != "" || !strings.HasPrefix(u.Path, "/") || strings.HasPrefix(u.Path, "//") {
		return "/"
	}
	return next
}

func (s *Server) internal(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, context.Canceled) {
		return
	}
	s.log.Error("console request failed", "path", r.URL.Path, "err", err)
	s.render(w, r, http.StatusInternalServerError, "error", nil, view{"Title": "error.internal_title", "Message": "error.internal"})
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/api/") {
		apiError(w, http.StatusNotFound, "not_found", "no such API path")
		return
	}
	var acct *staff.Account
	if a, _, err := s.account(r); err == nil {
		acct = &a
	}
	s.render(w, r, http.StatusNotFound, "error", acct, view{"Title": "error.notfound_title", "Message": "error.notfound"})
}

func (s *Server) crossSite(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/api/") {
		apiError(w, http.StatusForbidden, "cross_site", "cross-site requests are refused")
		return
	}
	s.render(w, r, http.StatusForbidden, "error", nil, view{"Title": "error.forbidden_title", "Message": "error.cross_site"})
}
