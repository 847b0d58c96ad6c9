package console

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/enlace-rfl/enlace/bot"
	"github.com/enlace-rfl/enlace/inbox"
	"github.com/enlace-rfl/enlace/staff"
)

// inboxPageRoutes adds the volunteer inbox's pages when the console has an
// inbox: the list (with a fragment the page's script re-fetches on each
// Server-Sent Event), the events, a conversation and its forms. Every form
// posts, then redirects to the conversation (POST-redirect-GET); an error
// comes back as ?e=code and is shown in the viewer's language.
func (s *Server) inboxPageRoutes() {
	if s.cfg.Inbox == nil {
		return
	}
	s.hasInbox = true
	s.AddHomeCard(staff.PermInbox, "nav.inbox", "home.inbox_help", "/inbox")
	s.AddHomeCard(staff.PermAdmin, "nav.inbox", "home.inbox_admin_help", "/inbox")
	// Admins see the list and reassign (inbox_assign.go), never a transcript.
	s.Handle("GET /inbox", "", s.inboxViewer(s.inboxPage))
	s.Handle("GET /inbox/list", "", s.inboxViewer(s.inboxList))
	s.Handle("GET /inbox/events", "", s.inboxViewer(s.inboxEvents))
	s.Handle("GET /inbox/{id}", "", s.inboxViewer(s.convPage))
	s.Handle("POST /inbox/{id}/assign", staff.PermAdmin, s.convAssign)
	s.Handle("POST /inbox/{id}/{action}", staff.PermInbox, s.convAction)
}

// inboxRow is one line of the inbox list.
type inboxRow struct {
	inbox.Item
	HolderName string
	Minutes    int
}

func (s *Server) inboxRows(r *http.Request, a staff.Account) ([]inboxRow, error) {
	items, err := s.cfg.Inbox.List(r.Context(), a)
	if err != nil {
		return nil, err
	}
	n := s.names(r.Context())
	rows := make([]inboxRow, 0, len(items))
	for _, it := range items {
		row := inboxRow{Item: it, Minutes: int(max(it.Waiting, 0) / time.Minute)}
		if h := n.holder(it.Holder); h != nil {
			row.HolderName = h.Name
		}
		rows = append(rows, row)
	}
	return rows, nil
}

func (s *Server) inboxPage(w http.ResponseWriter, r *http.Request, a staff.Account) {
	rows, err := s.inboxRows(r, a)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	pv := view{"Rows": rows}
	s.formError(r, s.names(r.Context()), pv)
	if r.URL.Query().Has("closed") {
		pv["Notice"] = "inbox.closed_notice"
	}
	s.render(w, r, http.StatusOK, "inbox", &a, pv)
}

// inboxList is the list alone (the "list" template of inbox.html), for the
// page's script to swap in.
func (s *Server) inboxList(w http.ResponseWriter, r *http.Request, a staff.Account) {
	rows, err := s.inboxRows(r, a)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	s.renderPart(w, r, "inbox", "list", &a, view{"Rows": rows})
}

// sseHeartbeat keeps idle proxies from closing the event stream; at each
// beat the stream also ends for a session that ended meanwhile (Config.Heartbeat).
const sseHeartbeat = 25 * time.Second

// inboxEvents streams a notice per conversation change as Server-Sent
// Events: the conversation id and its state only, never personal data; the
// page re-fetches its list, which checks what the viewer may see.
func (s *Server) inboxEvents(w http.ResponseWriter, r *http.Request, a staff.Account) {
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	events, err := s.cfg.Inbox.Subscribe(r.Context())
	if err != nil {
		s.internal(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte("retry: 3000\n: ready\n\n"))
	fl.Flush()
	tick := time.NewTicker(s.heartbeat)
	defer tick.Stop()
	token := ""
	if c, err := r.Cookie(sessionCookie); err == nil {
		token = c.Value
	}
	for {
		select {
		case <-r.Context().Done():
			return
		case <-tick.C:
			if err := s.cfg.Staff.SessionLive(r.Context(), token); errors.Is(err, staff.ErrBadToken) {
				// Signed out, timed out or disabled: the page reloads to the login.
				_, _ = w.Write([]byte("event: signedout\ndata: {}\n\n"))
				fl.Flush()
				return
			}
			if _, err := w.Write([]byte(": ping\n\n")); err != nil {
				return
			}
		case e, ok := <-events:
			if !ok {
				return
			}
			if !validEventID(e.ID) {
				continue
			}
			if _, err := w.Write([]byte("event: conversation\ndata: {\"id\":\"" + e.ID + "\",\"state\":\"" + stateWord(e.State) + "\"}\n\n")); err != nil {
				return
			}
		}
		fl.Flush()
	}
}

// validEventID keeps an event's id safe to write into the stream as is.
func validEventID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func stateWord(st bot.ConvState) string {
	switch st {
	case bot.ConvWaiting, bot.ConvClaimed, bot.ConvClosed:
		return string(st)
	}
	return "gone"
}

// convErrors are the error codes a form redirect carries, and their texts.
var convErrors = map[string]string{
	"held":        "conv.err_held",
	"not_claimed": "conv.err_not_claimed",
	"closed":      "conv.err_closed",
	"forbidden":   "conv.err_forbidden",
	"empty":       "conv.err_empty",
	"too_long":    "conv.err_too_long",
	"outcome":     "conv.err_outcome",
	"no_reason":   "conv.err_no_reason",
	"reused":      "conv.err_reused",
	"stale":       "conv.err_stale",
}

// newEntryID is the idempotency id of a reply or note form: posting the same
// form twice (a double tap, a resend) makes one entry.
func newEntryID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return "w" + hex.EncodeToString(b)
}

// entryRow is one transcript entry as the page shows it.
type entryRow struct {
	inbox.EntryView
	StaffName string
}

func (s *Server) convPage(w http.ResponseWriter, r *http.Request, a staff.Account) {
	if !a.Can(staff.PermInbox) {
		s.adminConv(w, r, a)
		return
	}
	s.showConv(w, r, a, "")
}

func (s *Server) showConv(w http.ResponseWriter, r *http.Request, a staff.Account, unmasked string) {
	id := r.PathValue("id")
	v, err := s.cfg.Inbox.Open(r.Context(), s.actor(r, a), a, id)
	if err != nil {
		s.pageError(w, r, a, err)
		return
	}
	n := s.names(r.Context())
	entries := make([]entryRow, 0, len(v.Entries))
	for _, e := range v.Entries {
		row := entryRow{EntryView: e}
		if h := n.holder(e.Staff); h != nil {
			row.StaffName = h.Name
		}
		entries = append(entries, row)
	}
	pv := view{"Title": "conv.title", "C": v, "Entries": entries, "Outcomes": inbox.Outcomes,
		"Entry": newEntryID(), "Unmasked": unmasked}
	if h := n.holder(v.Holder); h != nil && v.State == bot.ConvClaimed {
		pv["HolderName"] = h.Name
	}
	if v.Mine {
		pv["Canned"] = s.cannedReplies(v.Lang, v.ID)
		pv["Prefill"] = s.cannedText(v.Lang, r.URL.Query().Get("canned"))
	}
	s.formError(r, n, pv)
	s.render(w, r, http.StatusOK, "inbox_conv", &a, pv)
}

// formError puts the error a form redirect carries (?e=code, ?by=holder)
// into a page's view.
func (s *Server) formError(r *http.Request, n *names, pv view) {
	q := r.URL.Query()
	key, ok := convErrors[q.Get("e")]
	if !ok {
		return
	}
	pv["Error"] = key
	if by := q.Get("by"); q.Get("e") == "held" && staffID.MatchString(by) {
		if h := n.holder(by); h != nil && h.Name != "" {
			pv["ErrorName"] = h.Name
		}
	}
}

// pageError answers a conversation page that cannot be shown.
func (s *Server) pageError(w http.ResponseWriter, r *http.Request, a staff.Account, err error) {
	switch {
	case errors.Is(err, inbox.ErrNotFound), errors.Is(err, inbox.ErrBadID):
		s.render(w, r, http.StatusNotFound, "error", &a, view{"Title": "error.notfound_title", "Message": "conv.gone"})
	case errors.Is(err, inbox.ErrForbidden):
		s.render(w, r, http.StatusForbidden, "error", &a, view{"Title": "error.forbidden_title", "Message": "conv.err_forbidden"})
	default:
		s.internal(w, r, err)
	}
}

// errorCode is the ?e= code of an inbox error (and the holder for "held").
func errorCode(err error) (code, by string) {
	var held *bot.HeldError
	switch {
	case errors.As(err, &held) && held.Holder == "":
		return "not_claimed", ""
	case errors.As(err, &held):
		return "held", held.Holder
	case errors.Is(err, inbox.ErrClosed):
		return "closed", ""
	case errors.Is(err, inbox.ErrForbidden):
		return "forbidden", ""
	case errors.Is(err, inbox.ErrEmpty):
		return "empty", ""
	case errors.Is(err, inbox.ErrTooLong):
		return "too_long", ""
	case errors.Is(err, inbox.ErrBadOutcome):
		return "outcome", ""
	case errors.Is(err, inbox.ErrNoReason):
		return "no_reason", ""
	case errors.Is(err, inbox.ErrEntryReused):
		return "reused", ""
	}
	return "", ""
}

func (s *Server) convAction(w http.ResponseWriter, r *http.Request, a staff.Account) {
	if !s.parseForm(w, r) {
		return
	}
	id, f, by := r.PathValue("id"), r.PostForm, s.actor(r, a)
	ctx := r.Context()
	var err error
	switch r.PathValue("action") {
	case "claim":
		_, err = s.cfg.Inbox.Claim(ctx, by, a, id)
	case "release":
		_, err = s.cfg.Inbox.Release(ctx, by, a, id)
	case "reply", "note":
		if f.Get("entry") == "" {
			// A form without its entry (an old page, a hand-made post): the
			// page again, with a fresh form, rather than "no such conversation".
			http.Redirect(w, r, "/inbox/"+url.PathEscape(id)+"?e=stale", http.StatusSeeOther)
			return
		}
		if r.PathValue("action") == "reply" {
			err = s.cfg.Inbox.Reply(ctx, by, a, id, f.Get("entry"), f.Get("text"))
		} else {
			err = s.cfg.Inbox.Note(ctx, by, a, id, f.Get("entry"), f.Get("text"))
		}
	case "close":
		if _, err = s.cfg.Inbox.Close(ctx, by, a, id, f.Get("outcome")); err == nil {
			http.Redirect(w, r, "/inbox?closed=1", http.StatusSeeOther)
			return
		}
	case "unmask":
		var addr string
		if addr, err = s.cfg.Inbox.Unmask(ctx, by, a, id, f.Get("reason")); err == nil {
			// Shown on this answer only: the full address never goes into a URL.
			s.showConv(w, r, a, addr)
			return
		}
	default:
		s.notFound(w, r)
		return
	}
	if err != nil {
		code, holder := errorCode(err)
		if code == "" {
			s.pageError(w, r, a, err)
			return
		}
		q := url.Values{"e": {code}}
		target := "/inbox/" + url.PathEscape(id)
		if holder != "" {
			// Someone else holds it: this viewer may no longer open it, so the
			// inbox says who has it.
			q.Set("by", holder)
			target = "/inbox"
		}
		http.Redirect(w, r, target+"?"+q.Encode(), http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/inbox/"+url.PathEscape(id), http.StatusSeeOther)
}
