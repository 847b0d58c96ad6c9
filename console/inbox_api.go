package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"regexp"
	"strings"
	"time"
	"unicode"

	"github.com/enlace-rfl/enlace/bot"
	"github.com/enlace-rfl/enlace/inbox"
	"github.com/enlace-rfl/enlace/staff"
)

// maxAPIBody bounds the JSON body of an inbox API request: a reply is at
// most 1000 characters, four bytes each at worst, plus its envelope.
const maxAPIBody = 16 << 10

// staffID is the form of an account id.
var staffID = regexp.MustCompile(`^[0-9a-f]{16}$`)

// inboxAPIRoutes adds the volunteer inbox's API (documented in openapi.json)
// when the console has an inbox. The inbox checks roles and languages itself;
// assigning is for admins.
func (s *Server) inboxAPIRoutes() {
	if s.cfg.Inbox == nil {
		return
	}
	s.HandleAPI("GET /api/v1/conversations", "", s.apiConversations)
	s.HandleAPI("GET /api/v1/conversations/{id}", "", s.apiConversation)
	s.HandleAPI("POST /api/v1/conversations/{id}/claim", "", s.apiClaim)
	s.HandleAPI("POST /api/v1/conversations/{id}/release", "", s.apiRelease)
	s.HandleAPI("POST /api/v1/conversations/{id}/reply", "", s.apiReply)
	s.HandleAPI("POST /api/v1/conversations/{id}/notes", "", s.apiNote)
	s.HandleAPI("POST /api/v1/conversations/{id}/close", "", s.apiClose)
	s.HandleAPI("POST /api/v1/conversations/{id}/unmask", "", s.apiUnmask)
	s.HandleAPI("POST /api/v1/conversations/{id}/assign", staff.PermAdmin, s.apiAssign)
}

// ConversationItem is one open conversation in the inbox list: no personal data.
type ConversationItem struct {
	ID       string    `json:"id"`
	State    string    `json:"state"`
	Reason   string    `json:"reason"`
	Priority int       `json:"priority"`
	Lang     string    `json:"lang"`
	Channel  string    `json:"channel"`
	Queued   time.Time `json:"queued"`
	Waiting  int64     `json:"waiting_seconds"`
	Holder   *Holder   `json:"holder,omitempty"`
	Mine     bool      `json:"mine"`
	Speaks   bool      `json:"speaks"`
}

// Holder is the staff member who holds a conversation.
type Holder struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// ConversationList is the answer of GET /conversations.
type ConversationList struct {
	Conversations []ConversationItem `json:"conversations"`
}

// ConversationView is an opened conversation.
type ConversationView struct {
	ConversationItem
	Opened      time.Time   `json:"opened"`
	Address     string      `json:"address"`
	WindowOpen  bool        `json:"window_open"`
	WindowUntil *time.Time  `json:"window_until,omitempty"`
	Entries     []EntryItem `json:"entries"`
}

// EntryItem is one transcript entry.
type EntryItem struct {
	ID     string       `json:"id"`
	From   string       `json:"from"`
	Staff  *Holder      `json:"staff,omitempty"`
	Kind   string       `json:"kind,omitempty"`
	Text   string       `json:"text"`
	At     *time.Time   `json:"at,omitempty"`
	Status *EntryStatus `json:"status,omitempty"`
}

// EntryStatus is what is known of a reply's delivery.
type EntryStatus struct {
	Status string     `json:"status,omitempty"`
	Via    string     `json:"via,omitempty"`
	At     *time.Time `json:"at,omitempty"`
	Error  string     `json:"error,omitempty"`
}

// ConversationState is the answer to claim, release, assign and close.
type ConversationState struct {
	ID      string  `json:"id"`
	State   string  `json:"state"`
	Holder  *Holder `json:"holder,omitempty"`
	Outcome string  `json:"outcome,omitempty"`
}

// EntryAccepted is the answer to a reply or a note.
type EntryAccepted struct {
	Entry  string `json:"entry"`
	Status string `json:"status"`
}

// Unmasked is the answer to unmask.
type Unmasked struct {
	Address string `json:"address"`
}

// Conflict is the body of a 409: the conversation is held by another staff
// member (Holder says who), held by nobody (claim it first) or closed.
type Conflict struct {
	Error   string  `json:"error"`
	Message string  `json:"message"`
	Holder  *Holder `json:"holder,omitempty"`
}

// names looks up staff display names once per request.
type names struct {
	s    *Server
	ctx  context.Context
	seen map[string]*Holder
}

func (s *Server) names(ctx context.Context) *names {
	return &names{s: s, ctx: ctx, seen: map[string]*Holder{}}
}

// holder is the staff member id as a Holder; an account that is gone keeps its id.
func (n *names) holder(id string) *Holder {
	if id == "" {
		return nil
	}
	if h, ok := n.seen[id]; ok {
		return h
	}
	h := &Holder{ID: id}
	if a, err := n.s.cfg.Staff.Get(n.ctx, id); err == nil {
		h.Name = a.Name
	}
	n.seen[id] = h
	return h
}

func (n *names) item(it inbox.Item) ConversationItem {
	return ConversationItem{ID: it.ID, State: string(it.State), Reason: it.Reason, Priority: it.Priority, Lang: it.Lang,
		Channel: it.Channel, Queued: it.Queued.UTC(), Waiting: int64(max(it.Waiting, 0) / time.Second),
		Holder: n.holder(it.Holder), Mine: it.Mine, Speaks: it.Speaks}
}

func (n *names) state(c bot.Conversation) ConversationState {
	return ConversationState{ID: c.ID, State: string(c.State), Holder: n.holder(c.Holder), Outcome: c.Outcome}
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func (s *Server) actor(r *http.Request, a staff.Account) staff.Actor {
	return staff.ActorOf(a, s.cfg.ClientAddr(r))
}

func (s *Server) apiConversations(w http.ResponseWriter, r *http.Request, a staff.Account) {
	items, err := s.cfg.Inbox.List(r.Context(), a)
	if err != nil {
		s.inboxError(w, r, err)
		return
	}
	n := s.names(r.Context())
	out := ConversationList{Conversations: make([]ConversationItem, 0, len(items))}
	for _, it := range items {
		out.Conversations = append(out.Conversations, n.item(it))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) apiConversation(w http.ResponseWriter, r *http.Request, a staff.Account) {
	v, err := s.cfg.Inbox.Open(r.Context(), s.actor(r, a), a, r.PathValue("id"))
	if err != nil {
		s.inboxError(w, r, err)
		return
	}
	n := s.names(r.Context())
	out := ConversationView{ConversationItem: n.item(v.Item), Opened: v.Opened.UTC(), Address: v.Address,
		WindowOpen: v.WindowOpen, WindowUntil: timePtr(v.WindowUntil), Entries: make([]EntryItem, 0, len(v.Entries))}
	for _, e := range v.Entries {
		item := EntryItem{ID: e.ID, From: e.From, Staff: n.holder(e.Staff), Kind: e.Kind, Text: e.Text, At: timePtr(e.At)}
		if e.Status != (bot.EntryStatus{}) {
			item.Status = &EntryStatus{Status: e.Status.Status, Via: e.Status.Via, At: timePtr(e.Status.At), Error: e.Status.Error}
		}
		out.Entries = append(out.Entries, item)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) apiClaim(w http.ResponseWriter, r *http.Request, a staff.Account) {
	c, err := s.cfg.Inbox.Claim(r.Context(), s.actor(r, a), a, r.PathValue("id"))
	s.stateAnswer(w, r, c, err)
}

func (s *Server) apiRelease(w http.ResponseWriter, r *http.Request, a staff.Account) {
	c, err := s.cfg.Inbox.Release(r.Context(), s.actor(r, a), a, r.PathValue("id"))
	s.stateAnswer(w, r, c, err)
}

// TextRequest is the body of a reply or a note: entry is an id the client
// makes once per message (a retry with the same entry sends it once).
type TextRequest struct {
	Entry string `json:"entry"`
	Text  string `json:"text"`
}

func (s *Server) apiReply(w http.ResponseWriter, r *http.Request, a staff.Account) {
	var req TextRequest
	if !readJSON(w, r, &req) {
		return
	}
	if err := s.cfg.Inbox.Reply(r.Context(), s.actor(r, a), a, r.PathValue("id"), req.Entry, req.Text); err != nil {
		s.inboxError(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, EntryAccepted{Entry: "r-" + req.Entry, Status: "queued"})
}

func (s *Server) apiNote(w http.ResponseWriter, r *http.Request, a staff.Account) {
	var req TextRequest
	if !readJSON(w, r, &req) {
		return
	}
	if err := s.cfg.Inbox.Note(r.Context(), s.actor(r, a), a, r.PathValue("id"), req.Entry, req.Text); err != nil {
		s.inboxError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, EntryAccepted{Entry: "n-" + req.Entry, Status: "saved"})
}

// CloseRequest is the body of close.
type CloseRequest struct {
	Outcome string `json:"outcome"`
}

func (s *Server) apiClose(w http.ResponseWriter, r *http.Request, a staff.Account) {
	var req CloseRequest
	if !readJSON(w, r, &req) {
		return
	}
	c, err := s.cfg.Inbox.Close(r.Context(), s.actor(r, a), a, r.PathValue("id"), req.Outcome)
	s.stateAnswer(w, r, c, err)
}

// UnmaskRequest is the body of unmask: why the full address is needed.
type UnmaskRequest struct {
	Reason string `json:"reason"`
}

func (s *Server) apiUnmask(w http.ResponseWriter, r *http.Request, a staff.Account) {
	var req UnmaskRequest
	if !readJSON(w, r, &req) {
		return
	}
	addr, err := s.cfg.Inbox.Unmask(r.Context(), s.actor(r, a), a, r.PathValue("id"), req.Reason)
	if err != nil {
		s.inboxError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, Unmasked{Address: addr})
}

// AssignRequest is the body of assign: the account id to give it to.
type AssignRequest struct {
	Staff string `json:"staff"`
}

func (s *Server) apiAssign(w http.ResponseWriter, r *http.Request, a staff.Account) {
	var req AssignRequest
	if !readJSON(w, r, &req) {
		return
	}
	if !staffID.MatchString(req.Staff) {
		apiError(w, http.StatusBadRequest, "bad_request", "staff is the id of the account to assign the conversation to (16 hex digits)")
		return
	}
	to, err := s.cfg.Staff.Get(r.Context(), req.Staff)
	if errors.Is(err, staff.ErrNotFound) {
		apiError(w, http.StatusBadRequest, "unknown_staff", "no staff account has this id")
		return
	}
	if err != nil {
		s.inboxError(w, r, err)
		return
	}
	if to.Disabled || !to.Can(staff.PermInbox) {
		apiError(w, http.StatusBadRequest, "staff_not_inbox", "this account is disabled or its role does not work in the inbox")
		return
	}
	c, err := s.cfg.Inbox.Assign(r.Context(), s.actor(r, a), a, r.PathValue("id"), to)
	s.stateAnswer(w, r, c, err)
}

func (s *Server) stateAnswer(w http.ResponseWriter, r *http.Request, c bot.Conversation, err error) {
	if err != nil {
		s.inboxError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.names(r.Context()).state(c))
}

// readJSON decodes a request's JSON body into v, answering 400 when it is
// not one (wrong type, unknown fields, too long, trailing data).
func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		apiError(w, http.StatusBadRequest, "bad_request", "send a JSON body with Content-Type: application/json")
		return false
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxAPIBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			apiError(w, http.StatusBadRequest, "too_long", fmt.Sprintf("the body is longer than %d bytes", maxAPIBody))
			return false
		}
		apiError(w, http.StatusBadRequest, "bad_request", "the body is not the JSON object this operation takes: "+jsonProblem(err))
		return false
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		apiError(w, http.StatusBadRequest, "bad_request", "the body has more than one JSON value")
		return false
	}
	return true
}

// jsonProblem describes a decoding error without echoing the body (which
// may hold personal data).
func jsonProblem(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("malformed JSON at byte %d", syn.Offset)
	case errors.As(err, &typ):
		field := jsonPath(typ.Field)
		if field == "" {
			field = "the body"
		}
		return fmt.Sprintf("%s must be %s, not %s", field, jsonKind(typ.Type), article(typ.Value))
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "it is empty or cut short"
	}
	// unknown field "x": names the field only, without the decoder's prefix.
	return strings.TrimPrefix(err.Error(), "json: ")
}

// jsonPath is a decoder's field path as the JSON has it: an embedded Go
// struct's name ("sought.Person.birth_year") is no part of the body.
func jsonPath(field string) string {
	var parts []string
	for _, p := range strings.Split(field, ".") {
		if p != "" && !unicode.IsUpper([]rune(p)[0]) {
			parts = append(parts, p)
		}
	}
	return strings.Join(parts, ".")
}

// jsonKind names what a Go type is in JSON, never the Go type itself.
func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	}
	return "another kind of value"
}

// article puts "a" or "an" before a JSON kind the decoder found ("string",
// "number", "array", "object", "bool").
func article(kind string) string {
	switch kind {
	case "array", "object":
		return "an " + kind
	case "bool":
		return "true or false"
	case "":
		return "that"
	}
	return "a " + kind
}

// inboxError turns an inbox error into a clear answer; only an unexpected one is a 500.
func (s *Server) inboxError(w http.ResponseWriter, r *http.Request, err error) {
	var held *bot.HeldError
	switch {
	case errors.As(err, &held) && held.Holder == "":
		writeJSON(w, http.StatusConflict, Conflict{Error: "not_claimed", Message: "nobody holds this conversation: claim it first"})
	case errors.As(err, &held):
		h := s.names(r.Context()).holder(held.Holder)
		msg := "another staff member holds this conversation"
		if h != nil && h.Name != "" {
			msg = h.Name + " holds this conversation"
		}
		writeJSON(w, http.StatusConflict, Conflict{Error: "held", Message: msg, Holder: h})
	case errors.Is(err, inbox.ErrClosed):
		writeJSON(w, http.StatusConflict, Conflict{Error: "closed", Message: "the conversation is closed"})
	case errors.Is(err, inbox.ErrNotFound):
		apiError(w, http.StatusNotFound, "not_found", "no such conversation (or its data was erased)")
	case errors.Is(err, inbox.ErrForbidden):
		apiError(w, http.StatusForbidden, "forbidden", "this account may not do this to this conversation (its role, its languages, or it is not the holder)")
	case errors.Is(err, inbox.ErrBadID):
		apiError(w, http.StatusBadRequest, "bad_id", "an id is 1 to 64 letters, digits, - or _")
	case errors.Is(err, inbox.ErrEmpty):
		apiError(w, http.StatusBadRequest, "empty", "the text is empty")
	case errors.Is(err, inbox.ErrTooLong):
		apiError(w, http.StatusBadRequest, "too_long", strings.TrimPrefix(err.Error(), "inbox: "))
	case errors.Is(err, inbox.ErrBadOutcome):
		apiError(w, http.StatusBadRequest, "bad_outcome", fmt.Sprintf("outcome is one of %v", inbox.Outcomes))
	case errors.Is(err, inbox.ErrNoReason):
		apiError(w, http.StatusBadRequest, "no_reason", "give the reason the full address is needed")
	case errors.Is(err, inbox.ErrEntryReused):
		apiError(w, http.StatusConflict, "entry_reused", "this entry was sent before with another text, which is not sent: give a new entry for a new reply")
	case errors.Is(err, context.Canceled):
	default:
		s.log.Error("inbox api request failed", "path", r.URL.Path, "err", err)
		apiError(w, http.StatusInternalServerError, "internal", "try again later")
	}
}
