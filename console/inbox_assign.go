package console

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/enlace-rfl/enlace/inbox"
	"github.com/enlace-rfl/enlace/staff"
)

// Admins reassign from the pages. An admin never reads a conversation (the
// inbox refuses Open without staff.PermInbox): their conversation page
// (inbox_assign.html) shows what the list shows, who has it, and a form that
// gives it to an enabled volunteer or caseworker who speaks the
// conversation's language. inbox.Service.Assign checks the roles again and
// records the audit entry (conversation.assign).

// inboxViewer wraps the inbox's list pages: staff of the inbox, and admins
// (who see every open conversation, to reassign).
func (s *Server) inboxViewer(fn func(w http.ResponseWriter, r *http.Request, a staff.Account)) func(w http.ResponseWriter, r *http.Request, a staff.Account) {
	return func(w http.ResponseWriter, r *http.Request, a staff.Account) {
		if !a.Can(staff.PermInbox) && !a.Can(staff.PermAdmin) {
			s.render(w, r, http.StatusForbidden, "error", &a, view{"Title": "error.forbidden_title", "Message": "error.forbidden"})
			return
		}
		fn(w, r, a)
	}
}

// openItem is the open conversation id as an admin's list shows it.
func (s *Server) openItem(r *http.Request, a staff.Account, id string) (inbox.Item, error) {
	items, err := s.cfg.Inbox.List(r.Context(), a)
	if err != nil {
		return inbox.Item{}, err
	}
	for _, it := range items {
		if it.ID == id {
			return it, nil
		}
	}
	return inbox.Item{}, inbox.ErrNotFound
}

// assignees are the accounts a conversation in lang may be given to:
// enrolled, enabled, of the inbox, speaking lang; by name.
func (s *Server) assignees(r *http.Request, lang string) ([]staff.Account, error) {
	all, err := s.cfg.Staff.List(r.Context())
	if err != nil {
		return nil, err
	}
	var out []staff.Account
	for _, a := range all {
		if a.Enrolled && !a.Disabled && a.Can(staff.PermInbox) && a.Speaks(lang) {
			out = append(out, a)
		}
	}
	slices.SortFunc(out, func(x, y staff.Account) int { return strings.Compare(x.Name, y.Name) })
	return out, nil
}

// adminConv is an admin's conversation page: no transcript, no address.
func (s *Server) adminConv(w http.ResponseWriter, r *http.Request, a staff.Account) {
	it, err := s.openItem(r, a, r.PathValue("id"))
	if err != nil {
		s.pageError(w, r, a, err)
		return
	}
	who, err := s.assignees(r, it.Lang)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	n := s.names(r.Context())
	pv := view{"Title": "conv.title", "C": it, "Assignees": who, "Minutes": int(max(it.Waiting, 0) / time.Minute)}
	if h := n.holder(it.Holder); h != nil {
		pv["HolderName"] = h.Name
	}
	switch r.URL.Query().Get("e") {
	case "assign":
		pv["Error"] = "conv.err_assign"
	case "forbidden":
		pv["Error"] = "conv.err_forbidden"
	}
	if r.URL.Query().Has("assigned") && pv["HolderName"] != nil {
		pv["Notice"] = true
	}
	s.render(w, r, http.StatusOK, "inbox_assign", &a, pv)
}

// convAssign gives a conversation to the account the form names, when it
// may take it: enrolled, enabled, of the inbox, and speaking the
// conversation's language.
func (s *Server) convAssign(w http.ResponseWriter, r *http.Request, a staff.Account) {
	if !s.parseForm(w, r) {
		return
	}
	id := r.PathValue("id")
	back := "/inbox/" + url.PathEscape(id)
	it, err := s.openItem(r, a, id)
	if err != nil {
		s.pageError(w, r, a, err)
		return
	}
	to, err := staff.Account{}, error(nil)
	if staffID.MatchString(r.PostForm.Get("staff")) {
		to, err = s.cfg.Staff.Get(r.Context(), r.PostForm.Get("staff"))
	} else {
		err = staff.ErrNotFound
	}
	switch {
	case errors.Is(err, staff.ErrNotFound):
		http.Redirect(w, r, back+"?e=assign", http.StatusSeeOther)
		return
	case err != nil:
		s.internal(w, r, err)
		return
	}
	if !to.Enrolled || to.Disabled || !to.Can(staff.PermInbox) || !to.Speaks(it.Lang) {
		http.Redirect(w, r, back+"?e=assign", http.StatusSeeOther)
		return
	}
	if _, err := s.cfg.Inbox.Assign(r.Context(), s.actor(r, a), a, id, to); err != nil {
		if code, _ := errorCode(err); code == "closed" || code == "forbidden" {
			http.Redirect(w, r, back+"?e="+code, http.StatusSeeOther)
			return
		}
		s.pageError(w, r, a, err)
		return
	}
	http.Redirect(w, r, back+"?assigned=1", http.StatusSeeOther)
}
