package console

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/enlace-rfl/enlace/staff"
)

// view is a page's own data.
type view map[string]any

// pageData is what every template gets.
type pageData struct {
	L       Lang
	Account *staff.Account
	Langs   []langLink
	Nav     []navLink
	V       view
}

type langLink struct {
	Code, Name, Href string
	Current          bool
}

type navLink struct {
	Label, Href string
	Current     bool
}

var funcs = template.FuncMap{
	"join": strings.Join,
	"utc":  func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") },
	"date": func(t time.Time) string { return t.UTC().Format("2006-01-02") },
	// group splits a TOTP key into groups of four, as people copy it.
	"group": func(s string) string {
		var b strings.Builder
		for i, r := range s {
			if i > 0 && i%4 == 0 {
				b.WriteByte(' ')
			}
			b.WriteRune(r)
		}
		return b.String()
	},
	"safeURL": func(s string) template.URL {
		if strings.HasPrefix(s, "otpauth://") || strings.HasPrefix(s, "data:image/png;base64,") {
			return template.URL(s)
		}
		return ""
	},
	"roleKey": func(r staff.Role) string { return "role." + string(r) },
	// reasonKey, outcomeKey, stateKey, statusKey name an inbox value's text.
	"reasonKey": func(r string) string {
		return textKey("inbox", "reason", r, []string{"danger", "missed_checkin", "asked_for_help", "repeated_misunderstanding", "tracing_locked"})
	},
	"outcomeKey": func(o string) string {
		return textKey("conv", "outcome", o, []string{"answered", "referred", "emergency", "no_response"})
	},
	"stateKey": func(st any) string {
		return textKey("inbox", "state", fmt.Sprint(st), []string{"waiting", "claimed", "closed"})
	},
	"statusKey": func(st string) string {
		return textKey("conv", "status", st, []string{"queued", "accepted", "sending", "sent", "delivered", "read", "undelivered", "failed"})
	},
}

func init() {
	for k, f := range caseFuncs { // the case pages' helpers (cases_pages.go)
		funcs[k] = f
	}
}

func parsePages() (map[string]*template.Template, error) {
	files, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, f := range files {
		name := strings.TrimSuffix(path.Base(f), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", f)
		if err != nil {
			return nil, fmt.Errorf("console: template %s: %w", name, err)
		}
		pages[name] = t
	}
	return pages, nil
}

// navItems are the header's links, by permission (empty: everyone).
var navItems = []struct {
	perm  staff.Permission
	label string
	href  string
}{
	{"", "nav.home", "/"},
	{staff.PermInbox, "nav.inbox", "/inbox"},
	{staff.PermAdmin, "nav.inbox", "/inbox"}, // to reassign
	{staff.PermTracing, "nav.cases", "/cases"},
	{staff.PermDirectory, "nav.directory", "/directory"},
	{staff.PermAdmin, "nav.staff", "/admin/staff"},
	{staff.PermAudit, "nav.audit", "/admin/audit"},
}

// render writes page name with status. acct is the signed-in account, or nil.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, acct *staff.Account, v view) {
	var accountLangs []string
	if acct != nil {
		accountLangs = acct.Languages
	}
	if v == nil {
		v = view{}
	}
	if _, ok := v["Title"]; !ok {
		v["Title"] = name + ".title"
	}
	l := Lang{Code: pickLang(r, accountLangs), c: s.cat}
	if q := r.URL.Query().Get("lang"); q == l.Code {
		setCookie(w, langCookie, q, 365*24*time.Hour) // a link with ?lang= keeps its language on the next page
	}
	d := pageData{L: l, V: v}
	if acct != nil && acct.ID == "" {
		acct = nil // only a language hint (the enrolment pages)
	}
	d.Account = acct
	next := r.URL.RequestURI()
	if r.Method != http.MethodGet {
		next = r.URL.Path
	}
	for _, code := range langs {
		d.Langs = append(d.Langs, langLink{Code: code, Name: Lang{Code: code, c: s.cat}.Name(),
			Href: "/lang?l=" + code + "&next=" + url.QueryEscape(next), Current: code == l.Code})
	}
	if acct != nil {
		for _, n := range navItems {
			if n.perm == "" || acct.Can(n.perm) {
				if n.href == "/inbox" && !s.hasInbox || n.href == "/cases" && !s.hasCases || n.href == "/directory" && s.cfg.Places == nil ||
					slices.ContainsFunc(d.Nav, func(x navLink) bool { return x.Href == n.href }) {
					continue
				}
				d.Nav = append(d.Nav, navLink{Label: l.T(n.label), Href: n.href, Current: r.URL.Path == n.href})
			}
		}
	}
	t, ok := s.pages[name]
	if !ok {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", d); err != nil {
		s.log.Error("console template", "page", name, "err", err)
		http.Error(w, l.T("error.internal"), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// textKey is the text key group.kind_v when v is a known value, else
// group.kind_other.
func textKey(group, kind, v string, known []string) string {
	prefix := group + "." + kind + "_"
	for _, k := range known {
		if k == v {
			return prefix + v
		}
	}
	return prefix + "other"
}

// renderPart writes one template of a page (a fragment, no layout).
func (s *Server) renderPart(w http.ResponseWriter, r *http.Request, page, part string, acct *staff.Account, v view) {
	var accountLangs []string
	if acct != nil {
		accountLangs = acct.Languages
	}
	l := Lang{Code: pickLang(r, accountLangs), c: s.cat}
	t, ok := s.pages[page]
	if !ok {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, part, pageData{L: l, Account: acct, V: v}); err != nil {
		s.log.Error("console template", "page", page, "part", part, "err", err)
		http.Error(w, l.T("error.internal"), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(buf.Bytes())
}
