package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/enlace-rfl/enlace/casework"
	"github.com/enlace-rfl/enlace/staff"
	"github.com/enlace-rfl/enlace/tracing"
)

// casesAPIRoutes adds the caseworkers' tracing API (documented in
// openapi.json) when the console has cases. Every operation needs
// staff.PermTracing: a volunteer's or an admin's token gets 403.
func (s *Server) casesAPIRoutes() {
	if s.cfg.Cases == nil {
		return
	}
	p := staff.PermTracing
	s.HandleAPI("GET /api/v1/cases", p, s.apiCases)
	s.HandleAPI("POST /api/v1/cases", p, s.apiCreateCase)
	s.HandleAPI("GET /api/v1/cases/{id}", p, s.apiCase)
	s.HandleAPI("POST /api/v1/cases/{id}/assign", p, s.apiAssignCase)
	s.HandleAPI("POST /api/v1/cases/{id}/status", p, s.apiCaseStatus)
	s.HandleAPI("POST /api/v1/cases/{id}/notes", p, s.apiCaseNote)
	s.HandleAPI("POST /api/v1/cases/{id}/pin/reset", p, s.apiResetPIN)
	s.HandleAPI("GET /api/v1/cases/{id}/updates", p, s.apiCaseUpdates)
	s.HandleAPI("POST /api/v1/cases/{id}/updates", p, s.apiSendUpdate)
	s.HandleAPI("GET /api/v1/cases/{id}/matches", p, s.apiMatches)
	s.HandleAPI("POST /api/v1/cases/{id}/matches/{other}/confirm", p, s.apiDecide(tracing.MatchConfirmed))
	s.HandleAPI("POST /api/v1/cases/{id}/matches/{other}/dismiss", p, s.apiDecide(tracing.MatchDismissed))
	s.HandleAPI("GET /api/v1/cases/{id}/export", p, s.apiExportCase)
}

// CaseSummary is one case in the list.
type CaseSummary struct {
	ID             string                `json:"id"`
	Status         tracing.Status        `json:"status"`
	Closing        tracing.ClosingReason `json:"closing,omitempty"`
	Caseworker     *Holder               `json:"caseworker,omitempty"`
	WaitingSince   time.Time             `json:"waiting_since"`
	WaitingSeconds int64                 `json:"waiting_seconds"`
	Created        time.Time             `json:"created"`
	Sought         string                `json:"sought"`
	Findable       bool                  `json:"findable,omitempty"`
	Withdrawn      bool                  `json:"withdrawn"`
	Unreadable     bool                  `json:"unreadable,omitempty"`
}

// CaseList is the answer of GET /cases.
type CaseList struct {
	Cases  []CaseSummary `json:"cases"`
	Offset int           `json:"offset"`
	Limit  int           `json:"limit"`
}

// withdrawnText is what an erased case shows instead of its data.
const withdrawnText = "withdrawn by the person"

// CaseItem is a case opened by a caseworker. An erased case has only its id,
// status, times, withdrawn and summary.
type CaseItem struct {
	ID             string                `json:"id"`
	Code           string                `json:"code,omitempty"`
	Status         tracing.Status        `json:"status"`
	Closing        tracing.ClosingReason `json:"closing,omitempty"`
	Caseworker     *Holder               `json:"caseworker,omitempty"`
	WaitingSince   time.Time             `json:"waiting_since"`
	Created        time.Time             `json:"created"`
	Updated        time.Time             `json:"updated"`
	Closed         *time.Time            `json:"closed,omitempty"`
	Expires        time.Time             `json:"expires"`
	Withdrawn      bool                  `json:"withdrawn"`
	Findable       bool                  `json:"findable,omitempty"`
	Summary        string                `json:"summary,omitempty"`
	Enquirer       *tracing.Person       `json:"enquirer,omitempty"`
	Reach          *tracing.Reach        `json:"reach,omitempty"`
	Sought         *tracing.Sought       `json:"sought,omitempty"`
	Consent        *tracing.Consent      `json:"consent,omitempty"`
	Notes          []NoteItem            `json:"notes"`
	Updates        []UpdateItem          `json:"updates"`
	Replies        []ReplyItem           `json:"replies"`
	MatchDecisions []DecisionItem        `json:"match_decisions"`
}

// ReplyItem is what the enquirer wrote back. The inbound message's ID, which
// keeps a repeated step from keeping it twice, is the store's business only.
type ReplyItem struct {
	Text    string    `json:"text"`
	Channel string    `json:"channel"`
	At      time.Time `json:"at"`
}

// NoteItem is a caseworker's note.
type NoteItem struct {
	By   *Holder   `json:"by"`
	Text string    `json:"text"`
	At   time.Time `json:"at"`
}

// UpdateItem is a notification to the enquirer with its delivery.
type UpdateItem struct {
	ID       string                 `json:"id"`
	Template tracing.Template       `json:"template"`
	Param    string                 `json:"param,omitempty"`
	Text     string                 `json:"text,omitempty"`
	By       *Holder                `json:"by"`
	Created  time.Time              `json:"created"`
	Read     *time.Time             `json:"read,omitempty"`
	Status   string                 `json:"status"`
	Delivery []tracing.DeliveryStep `json:"delivery"`
}

// DecisionItem is a caseworker's decision on a match.
type DecisionItem struct {
	Case     string           `json:"case"`
	Other    string           `json:"other"`
	Decision tracing.Decision `json:"decision"`
	By       *Holder          `json:"by"`
	At       time.Time        `json:"at"`
}

// CaseCreated is the answer to an interview case.
type CaseCreated struct {
	Case     CaseItem `json:"case"`
	Notified bool     `json:"notified"`
	Message  string   `json:"message"`
}

// UpdateList is the answer of GET /cases/{id}/updates.
type UpdateList struct {
	Updates []UpdateItem `json:"updates"`
}

// MatchItem is one possible match of a case.
type MatchItem struct {
	Case     string            `json:"case_id"`
	Kind     tracing.MatchKind `json:"kind"`
	Score    int               `json:"score"`
	Reasons  []tracing.Reason  `json:"reasons"`
	Status   tracing.Status    `json:"status"`
	Findable bool              `json:"findable,omitempty"`
	Decision *DecisionItem     `json:"decision,omitempty"`
}

// MatchList is the answer of GET /cases/{id}/matches.
type MatchList struct {
	Matches []MatchItem `json:"matches"`
}

// CaseExport is the answer of GET /cases/{id}/export.
type CaseExport struct {
	Exported time.Time `json:"exported"`
	Case     CaseItem  `json:"case"`
}

func (n *names) caseItem(v casework.View) CaseItem {
	c := v.Case
	out := CaseItem{ID: c.ID, Status: c.Status, Closing: c.Closing, Caseworker: n.holder(v.Caseworker),
		WaitingSince: v.Waiting.UTC(), Created: c.Created.UTC(), Updated: c.Updated.UTC(), Closed: timePtr(c.Closed),
		Expires: v.Expires.UTC(), Withdrawn: v.Withdrawn(),
		Notes: []NoteItem{}, Updates: []UpdateItem{}, Replies: []ReplyItem{}, MatchDecisions: []DecisionItem{}}
	if c.Erased {
		out.Summary = withdrawnText
		return out
	}
	out.Code, out.Findable = c.Code.String(), c.Findable()
	out.Enquirer, out.Reach, out.Sought, out.Consent = &c.Enquirer, &c.Reach, &c.Sought, &c.Consent
	for _, note := range c.Notes {
		out.Notes = append(out.Notes, NoteItem{By: n.holder(note.By), Text: note.Text, At: note.At.UTC()})
	}
	for _, u := range c.Updates {
		out.Updates = append(out.Updates, n.update(u))
	}
	for _, r := range c.Replies {
		out.Replies = append(out.Replies, ReplyItem{Text: r.Text, Channel: r.Channel, At: r.At.UTC()})
	}
	for _, d := range c.MatchDecisions {
		out.MatchDecisions = append(out.MatchDecisions, n.decision(c.ID, d))
	}
	return out
}

func (n *names) update(u tracing.Update) UpdateItem {
	out := UpdateItem{ID: u.ID, Template: u.Template, Param: u.Param, Text: u.Text, By: n.holder(u.By),
		Created: u.Created.UTC(), Read: timePtr(u.Read), Status: u.Status(), Delivery: []tracing.DeliveryStep{}}
	for _, d := range u.Delivery {
		d.Status = tracing.DeliveryOf(d.Status) // one recorded before the states were named
		out.Delivery = append(out.Delivery, d)
	}
	return out
}

func (n *names) decision(id string, d tracing.MatchDecision) DecisionItem {
	by := n.holder(d.By)
	if by == nil {
		by = &Holder{}
	}
	return DecisionItem{Case: id, Other: d.Other, Decision: d.Decision, By: by, At: d.At.UTC()}
}

// caseFilters are the query parameters GET /cases takes.
var caseFilters = map[string]bool{"status": true, "caseworker": true, "nationality": true, "place": true,
	"min_age": true, "max_age": true, "waiting_hours": true, "offset": true, "limit": true}

// parseFilter reads GET /cases' query; a is the viewer (caseworker=me).
func parseFilter(r *http.Request, a staff.Account) (casework.Filter, string) {
	q := r.URL.Query()
	for k := range q {
		if !caseFilters[k] {
			return casework.Filter{}, fmt.Sprintf("unknown parameter %q (status, caseworker, nationality, place, min_age, max_age, waiting_hours, offset, limit)", k)
		}
	}
	var f casework.Filter
	for _, v := range q["status"] {
		for st := range strings.SplitSeq(v, ",") {
			if st = strings.TrimSpace(st); st != "" {
				f.Statuses = append(f.Statuses, tracing.Status(st))
			}
		}
	}
	f.Caseworker = q.Get("caseworker")
	if f.Caseworker == "me" {
		f.Caseworker = a.ID
	}
	f.Nationality, f.Place = q.Get("nationality"), q.Get("place")
	var hours int
	ints := []struct {
		name     string
		dst      *int
		min, max int
	}{
		{"min_age", &f.MinAge, 0, 120}, {"max_age", &f.MaxAge, 0, 120}, {"waiting_hours", &hours, 0, 24 * 3650},
		{"offset", &f.Offset, 0, 1 << 30}, {"limit", &f.Limit, 1, tracing.MaxListLimit},
	}
	for _, p := range ints {
		v := q.Get(p.name)
		if v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < p.min || n > p.max {
			return f, fmt.Sprintf("%s is a whole number from %d to %d", p.name, p.min, p.max)
		}
		*p.dst = n
	}
	f.WaitingFor = time.Duration(hours) * time.Hour
	return f, ""
}

func (s *Server) apiCases(w http.ResponseWriter, r *http.Request, a staff.Account) {
	f, problem := parseFilter(r, a)
	if problem != "" {
		apiError(w, http.StatusBadRequest, "bad_request", problem)
		return
	}
	list, err := s.cfg.Cases.List(r.Context(), s.actor(r, a), f)
	if err != nil {
		s.casesError(w, r, err)
		return
	}
	offset, limit := tracing.ListQuery{Offset: f.Offset, Limit: f.Limit}.PageBounds()
	n := s.names(r.Context())
	now := s.cfg.Staff.Now()
	out := CaseList{Cases: make([]CaseSummary, 0, len(list)), Offset: offset, Limit: limit}
	for _, c := range list {
		out.Cases = append(out.Cases, CaseSummary{ID: c.ID, Status: c.Status, Closing: c.Closing, Caseworker: n.holder(c.Caseworker),
			WaitingSince: c.Waiting.UTC(), WaitingSeconds: int64(max(now.Sub(c.Waiting), 0) / time.Second), Created: c.Created.UTC(),
			Sought: c.Sought, Findable: c.Findable, Withdrawn: c.Withdrawn, Unreadable: c.Unreadable})
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) apiCase(w http.ResponseWriter, r *http.Request, a staff.Account) {
	v, err := s.cfg.Cases.Get(r.Context(), s.actor(r, a), r.PathValue("id"))
	s.caseAnswer(w, r, http.StatusOK, v, err)
}

func (s *Server) caseAnswer(w http.ResponseWriter, r *http.Request, status int, v casework.View, err error) {
	if err != nil {
		s.casesError(w, r, err)
		return
	}
	writeJSON(w, status, s.names(r.Context()).caseItem(v))
}

// InterviewRequest is the body of POST /cases: a case taken in an interview.
type InterviewRequest struct {
	Sought      tracing.Sought `json:"sought"`
	Enquirer    string         `json:"enquirer"`
	Channel     string         `json:"channel"`
	Address     string         `json:"address"`
	Lang        string         `json:"lang"`
	SafeContact string         `json:"safe_contact,omitempty"`
	Consent     struct {
		Tracing      bool `json:"tracing"`
		ShareNetwork bool `json:"share_network"`
	} `json:"consent"`
}

func (s *Server) apiCreateCase(w http.ResponseWriter, r *http.Request, a staff.Account) {
	var req InterviewRequest
	if !readJSON(w, r, &req) {
		return
	}
	c, err := s.cfg.Cases.CreateInterview(r.Context(), s.actor(r, a), casework.Interview{
		Sought: req.Sought, Enquirer: req.Enquirer, Channel: req.Channel, Address: req.Address, Lang: req.Lang,
		SafeContact: req.SafeContact, ConsentTracing: req.Consent.Tracing, ConsentShareNetwork: req.Consent.ShareNetwork,
	})
	if err != nil {
		s.casesError(w, r, err)
		return
	}
	out := CaseCreated{Case: s.names(r.Context()).caseItem(c.View), Notified: c.Notified,
		Message: "the enquirer's chat was sent the case code and asked to choose a PIN"}
	if !c.Notified {
		out.Message = "the case is kept, but the enquirer's chat could not be reached: give them the case code on paper"
	}
	writeJSON(w, http.StatusCreated, out)
}

// AssignCaseRequest is the body of assign: the caseworker account id, or
// empty for the viewer.
type AssignCaseRequest struct {
	Staff string `json:"staff"`
}

func (s *Server) apiAssignCase(w http.ResponseWriter, r *http.Request, a staff.Account) {
	var req AssignCaseRequest
	if !readJSON(w, r, &req) {
		return
	}
	if req.Staff != "" && !staffID.MatchString(req.Staff) {
		apiError(w, http.StatusBadRequest, "bad_request", "staff is the id of a caseworker account (16 hex digits), or empty for yourself")
		return
	}
	v, err := s.cfg.Cases.Assign(r.Context(), s.actor(r, a), r.PathValue("id"), req.Staff)
	s.caseAnswer(w, r, http.StatusOK, v, err)
}

// PINResetRequest is the optional body of a PIN reset: the phone the
// enquirer has now, when theirs was lost or taken (none: the case's).
type PINResetRequest struct {
	Channel string `json:"channel"`
	Address string `json:"address"`
	Lang    string `json:"lang,omitempty"`
}

func (s *Server) apiResetPIN(w http.ResponseWriter, r *http.Request, a staff.Account) {
	var to *casework.NewReach
	if r.ContentLength != 0 {
		var req PINResetRequest
		if !readJSON(w, r, &req) {
			return
		}
		if req != (PINResetRequest{}) {
			to = &casework.NewReach{Channel: req.Channel, Address: req.Address, Lang: req.Lang}
		}
	}
	v, err := s.cfg.Cases.ResetPIN(r.Context(), s.actor(r, a), r.PathValue("id"), to)
	s.caseAnswer(w, r, http.StatusOK, v, err)
}

// StatusRequest is the body of status: where the case goes, and why when it closes.
type StatusRequest struct {
	Status tracing.Status        `json:"status"`
	Reason tracing.ClosingReason `json:"reason,omitempty"`
}

func (s *Server) apiCaseStatus(w http.ResponseWriter, r *http.Request, a staff.Account) {
	var req StatusRequest
	if !readJSON(w, r, &req) {
		return
	}
	v, err := s.cfg.Cases.Transition(r.Context(), s.actor(r, a), r.PathValue("id"), req.Status, req.Reason)
	s.caseAnswer(w, r, http.StatusOK, v, err)
}

// NoteRequest is the body of a case note.
type NoteRequest struct {
	Text string `json:"text"`
}

func (s *Server) apiCaseNote(w http.ResponseWriter, r *http.Request, a staff.Account) {
	var req NoteRequest
	if !readJSON(w, r, &req) {
		return
	}
	note, err := s.cfg.Cases.AddNote(r.Context(), s.actor(r, a), r.PathValue("id"), req.Text)
	if err != nil {
		s.casesError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, NoteItem{By: s.names(r.Context()).holder(note.By), Text: note.Text, At: note.At.UTC()})
}

func (s *Server) apiCaseUpdates(w http.ResponseWriter, r *http.Request, a staff.Account) {
	ups, err := s.cfg.Cases.Updates(r.Context(), s.actor(r, a), r.PathValue("id"))
	if err != nil {
		s.casesError(w, r, err)
		return
	}
	n := s.names(r.Context())
	out := UpdateList{Updates: make([]UpdateItem, 0, len(ups))}
	for _, u := range ups {
		out.Updates = append(out.Updates, n.update(u))
	}
	writeJSON(w, http.StatusOK, out)
}

// UpdateRequest is the body of POST /cases/{id}/updates.
type UpdateRequest struct {
	Entry    string           `json:"entry,omitempty"`
	Template tracing.Template `json:"template"`
	Param    string           `json:"param,omitempty"`
	Text     string           `json:"text,omitempty"`
}

func (s *Server) apiSendUpdate(w http.ResponseWriter, r *http.Request, a staff.Account) {
	var req UpdateRequest
	if !readJSON(w, r, &req) {
		return
	}
	u, err := s.cfg.Cases.SendUpdate(r.Context(), s.actor(r, a), r.PathValue("id"),
		casework.Notification{Entry: req.Entry, Template: req.Template, Param: req.Param, Text: req.Text})
	if err != nil {
		s.casesError(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, s.names(r.Context()).update(u))
}

func (s *Server) apiMatches(w http.ResponseWriter, r *http.Request, a staff.Account) {
	id := r.PathValue("id")
	ms, err := s.cfg.Cases.Matches(r.Context(), s.actor(r, a), id)
	if err != nil {
		s.casesError(w, r, err)
		return
	}
	n := s.names(r.Context())
	out := MatchList{Matches: make([]MatchItem, 0, len(ms))}
	for _, m := range ms {
		it := MatchItem{Case: m.CaseID, Kind: m.Kind, Score: m.Score, Reasons: m.Reasons, Status: m.Status, Findable: m.Findable}
		if it.Reasons == nil {
			it.Reasons = []tracing.Reason{}
		}
		if m.Decision != nil {
			d := n.decision(id, *m.Decision)
			it.Decision = &d
		}
		out.Matches = append(out.Matches, it)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) apiDecide(d tracing.Decision) func(w http.ResponseWriter, r *http.Request, a staff.Account) {
	return func(w http.ResponseWriter, r *http.Request, a staff.Account) {
		decide := s.cfg.Cases.ConfirmMatch
		if d == tracing.MatchDismissed {
			decide = s.cfg.Cases.DismissMatch
		}
		id := r.PathValue("id")
		md, err := decide(r.Context(), s.actor(r, a), id, r.PathValue("other"))
		if err != nil {
			s.casesError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, s.names(r.Context()).decision(id, md))
	}
}

func (s *Server) apiExportCase(w http.ResponseWriter, r *http.Request, a staff.Account) {
	id := r.PathValue("id")
	v, err := s.cfg.Cases.Export(r.Context(), s.actor(r, a), id)
	if err != nil {
		s.casesError(w, r, err)
		return
	}
	w.Header().Set("Content-Disposition", `attachment; filename="case-`+v.Case.ID+`.json"`)
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, CaseExport{Exported: s.cfg.Staff.Now().UTC(), Case: s.names(r.Context()).caseItem(v)})
}

// casesError turns a casework error into a clear answer; only an unexpected
// one is a 500. Messages name no person and echo no input.
func (s *Server) casesError(w http.ResponseWriter, r *http.Request, err error) {
	var bad *casework.InvalidError
	switch {
	case errors.Is(err, casework.ErrForbidden):
		apiError(w, http.StatusForbidden, "forbidden", "tracing cases are for caseworkers")
	case errors.Is(err, casework.ErrNotFound):
		apiError(w, http.StatusNotFound, "not_found", "no such case (or it expired)")
	case errors.Is(err, casework.ErrBadID):
		apiError(w, http.StatusBadRequest, "bad_id", "an id is 1 to 64 letters, digits, - or _")
	case errors.As(err, &bad):
		apiError(w, http.StatusBadRequest, "invalid", bad.Field+" "+bad.Problem)
	case errors.Is(err, casework.ErrNoConsent):
		apiError(w, http.StatusUnprocessableEntity, "no_consent", "a case is kept only with the enquirer's consent to tracing (consent.tracing: true, confirmed by you)")
	case errors.Is(err, casework.ErrSameCase):
		apiError(w, http.StatusBadRequest, "same_case", "a case does not match itself")
	case errors.Is(err, casework.ErrNotCaseworker):
		apiError(w, http.StatusBadRequest, "not_caseworker", "this account is missing, disabled or not a caseworker")
	case errors.Is(err, casework.ErrTransition):
		apiError(w, http.StatusConflict, "transition", "this status change is not allowed: "+strings.TrimPrefix(err.Error(), "tracing: status change not allowed: "))
	case errors.Is(err, casework.ErrWithdrawn):
		apiError(w, http.StatusConflict, "withdrawn", "the case was "+withdrawnText+": it no longer changes, and its enquirer is not written to")
	case errors.Is(err, casework.ErrNotMatchable):
		apiError(w, http.StatusConflict, "not_matchable", "one of the cases may not be matched (no tracing consent, withdrawn or erased)")
	case errors.Is(err, casework.ErrConflict):
		apiError(w, http.StatusConflict, "changed", "the case kept changing meanwhile: read it again and retry")
	case errors.Is(err, casework.ErrEntryReused):
		apiError(w, http.StatusConflict, "entry_reused", "this entry was sent before with another template, param or text: give a new entry (or none) for a new notification")
	case errors.Is(err, casework.ErrNotNotified):
		apiError(w, http.StatusServiceUnavailable, "not_sent", "the update is kept, queued, but the enquirer's chat could not be reached: send the same entry again to retry")
	case errors.Is(err, context.Canceled):
	default:
		s.log.Error("cases api request failed", "path", r.URL.Path, "err", err)
		apiError(w, http.StatusInternalServerError, "internal", "try again later")
	}
}
