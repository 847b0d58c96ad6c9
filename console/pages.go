package console

import (
	"bytes"
	"encoding/base64"
	"errors"
	"image/png"
	"net/http"
	"time"

	"github.com/pquerna/otp"

	"github.com/enlace-rfl/enlace/staff"
)

// maxForm bounds a form post.
const maxForm = 16 << 10

func (s *Server) parseForm(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		s.render(w, r, http.StatusBadRequest, "error", nil, view{"Title": "error.bad_request_title", "Message": "error.bad_request"})
		return false
	}
	return true
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	if _, _, err := s.account(r); err == nil {
		http.Redirect(w, r, localPath(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	v := view{"Next": localPath(r.URL.Query().Get("next"))}
	if r.URL.Query().Has("signed_out") {
		v["Notice"] = "login.signed_out"
	}
	s.render(w, r, http.StatusOK, "login", nil, v)
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	name, next := r.PostForm.Get("name"), localPath(r.PostForm.Get("next"))
	v := view{"Name": name, "Next": next}
	// Renewed at login: a session the browser already had ends here.
	if _, old, err := s.account(r); err == nil {
		_ = s.cfg.Staff.Logout(r.Context(), old, s.cfg.ClientAddr(r))
	}
	_, token, err := s.cfg.Staff.Login(r.Context(), name, r.PostForm.Get("password"), r.PostForm.Get("code"), s.cfg.ClientAddr(r))
	var rl *staff.RateLimitedError
	switch {
	case errors.As(err, &rl):
		v["Error"], v["Minutes"] = "login.limited", int(rl.RetryAfter.Minutes())+1
		s.render(w, r, http.StatusTooManyRequests, "login", nil, v)
		return
	case errors.Is(err, staff.ErrBadLogin):
		v["Error"] = "login.bad"
		s.render(w, r, http.StatusUnauthorized, "login", nil, v)
		return
	case err != nil:
		s.internal(w, r, err)
		return
	}
	setCookie(w, sessionCookie, token, s.cfg.Staff.Config().SessionMax)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if _, token, err := s.account(r); err == nil {
		if err := s.cfg.Staff.Logout(r.Context(), token, s.cfg.ClientAddr(r)); err != nil {
			s.internal(w, r, err)
			return
		}
	}
	clearCookie(w, sessionCookie)
	http.Redirect(w, r, "/login?signed_out=1", http.StatusSeeOther)
}

func (s *Server) logoutEverywhere(w http.ResponseWriter, r *http.Request, a staff.Account) {
	if err := s.cfg.Staff.LogoutEverywhere(r.Context(), staff.ActorOf(a, s.cfg.ClientAddr(r)), a.ID); err != nil {
		s.internal(w, r, err)
		return
	}
	clearCookie(w, sessionCookie)
	http.Redirect(w, r, "/login?signed_out=1", http.StatusSeeOther)
}

func (s *Server) setLang(w http.ResponseWriter, r *http.Request) {
	l := r.URL.Query().Get("l")
	for _, code := range langs {
		if code == l {
			setCookie(w, langCookie, l, 365*24*time.Hour)
		}
	}
	http.Redirect(w, r, localPath(r.URL.Query().Get("next")), http.StatusSeeOther)
}

// enrolView is what the enrolment page shows for a valid token.
func (s *Server) enrolView(enr staff.Enrolment, token string) view {
	v := view{"Token": token, "Enrolment": enr, "Min": staff.MinPasswordLen}
	if k, err := otp.NewKeyFromURL(enr.URI); err == nil {
		if img, err := k.Image(240, 240); err == nil {
			var buf bytes.Buffer
			if png.Encode(&buf, img) == nil {
				v["QR"] = "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes())
			}
		}
	}
	return v
}

func (s *Server) enrolPage(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("t")
	enr, err := s.cfg.Staff.Enrolment(r.Context(), token)
	if errors.Is(err, staff.ErrBadToken) {
		s.render(w, r, http.StatusNotFound, "error", nil, view{"Title": "enrol.title", "Message": "enrol.bad_link"})
		return
	}
	if err != nil {
		s.internal(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "enrol", &staff.Account{Languages: enr.Account.Languages}, s.enrolView(enr, token))
}

func (s *Server) enrol(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	token := r.PostForm.Get("t")
	enr, err := s.cfg.Staff.Enrolment(r.Context(), token)
	if errors.Is(err, staff.ErrBadToken) {
		s.render(w, r, http.StatusNotFound, "error", nil, view{"Title": "enrol.title", "Message": "enrol.bad_link"})
		return
	}
	if err != nil {
		s.internal(w, r, err)
		return
	}
	langOf := &staff.Account{Languages: enr.Account.Languages}
	v := s.enrolView(enr, token)
	pw := r.PostForm.Get("password")
	if pw != r.PostForm.Get("password2") {
		v["Error"] = "enrol.mismatch"
		s.render(w, r, http.StatusUnprocessableEntity, "enrol", langOf, v)
		return
	}
	_, err = s.cfg.Staff.Enrol(r.Context(), token, pw, r.PostForm.Get("code"), s.cfg.ClientAddr(r))
	switch {
	case errors.Is(err, staff.ErrWeakPassword):
		v["Error"] = "enrol.weak"
	case errors.Is(err, staff.ErrBadCode):
		v["Error"] = "enrol.bad_code"
	case errors.Is(err, staff.ErrBadToken):
		s.render(w, r, http.StatusNotFound, "error", nil, view{"Title": "enrol.title", "Message": "enrol.bad_link"})
		return
	case err != nil:
		s.internal(w, r, err)
		return
	default:
		s.render(w, r, http.StatusOK, "enrolled", langOf, view{"Name": enr.Account.Name})
		return
	}
	s.render(w, r, http.StatusUnprocessableEntity, "enrol", langOf, v)
}

func (s *Server) home(w http.ResponseWriter, r *http.Request, a staff.Account) {
	type homeCard struct{ Title, Help, Href string }
	var cards []homeCard
	for _, c := range s.cards {
		if c.perm == "" || a.Can(c.perm) {
			cards = append(cards, homeCard{c.title, c.help, c.href})
		}
	}
	s.render(w, r, http.StatusOK, "home", &a, view{"Cards": cards})
}

func (s *Server) staffList(w http.ResponseWriter, r *http.Request, a staff.Account) {
	list, err := s.cfg.Staff.List(r.Context())
	if err != nil {
		s.internal(w, r, err)
		return
	}
	if err := s.cfg.Staff.Record(r.Context(), staff.ActorOf(a, s.cfg.ClientAddr(r)), staff.ActionStaffList, ""); err != nil {
		s.internal(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "staff", &a, view{"Accounts": list})
}

// auditShown is how many entries the audit page shows.
const auditShown = 200

func (s *Server) auditPage(w http.ResponseWriter, r *http.Request, a staff.Account) {
	entries, err := s.cfg.Staff.AuditRecent(r.Context(), auditShown)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	if err := s.cfg.Staff.Record(r.Context(), staff.ActorOf(a, s.cfg.ClientAddr(r)), staff.ActionAuditView, ""); err != nil {
		s.internal(w, r, err)
		return
	}
	// Who did it, by name: an id alone says nothing to an admin (the id
	// stays, for an account that is gone and for the export).
	n := s.names(r.Context())
	who := map[string]string{}
	for _, e := range entries {
		if h := n.holder(e.Staff); h != nil && h.Name != "" {
			who[e.Staff] = h.Name
		}
	}
	s.render(w, r, http.StatusOK, "audit", &a, view{"Entries": entries, "Count": len(entries), "Who": who})
}

func (s *Server) auditExport(w http.ResponseWriter, r *http.Request, a staff.Account) {
	if err := s.cfg.Staff.Record(r.Context(), staff.ActorOf(a, s.cfg.ClientAddr(r)), staff.ActionAuditExport, ""); err != nil {
		s.internal(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("Content-Disposition", `attachment; filename="enlace-audit-`+s.cfg.Staff.Now().UTC().Format("20060102-1504")+`.jsonl"`)
	if err := s.cfg.Staff.ExportAudit(r.Context(), w); err != nil {
		s.log.Error("audit export failed midway", "err", err)
	}
}
