package console

import (
	_ "embed"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/enlace-rfl/enlace/staff"
)

//go:embed openapi.json
var openAPI []byte

// APIError is the body of every API error.
type APIError struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

func apiError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, APIError{Error: code, Message: msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// WriteJSON writes v as the JSON body of an API answer (for API handlers
// other packages add with HandleAPI).
func WriteJSON(w http.ResponseWriter, status int, v any) { writeJSON(w, status, v) }

// WriteAPIError writes an API error body: code is a stable machine word, msg a
// sentence for developers (never personal data).
func WriteAPIError(w http.ResponseWriter, status int, code, msg string) {
	apiError(w, status, code, msg)
}

// apiAccount authenticates an API request: a personal token in
// "Authorization: Bearer", or else the console session.
func (s *Server) apiAccount(r *http.Request) (staff.Account, error) {
	if h := r.Header.Get("Authorization"); h != "" {
		// The scheme is case-insensitive (RFC 9110): "bearer" is Bearer.
		scheme, tok, ok := strings.Cut(strings.TrimSpace(h), " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return staff.Account{}, staff.ErrBadToken
		}
		tok = strings.TrimSpace(tok)
		return s.cfg.Staff.TokenAccount(r.Context(), tok, s.cfg.ClientAddr(r))
	}
	a, _, err := s.account(r)
	return a, err
}

// HandleAPI adds an API endpoint for accounts with permission p (any
// authenticated account when p is empty).
func (s *Server) HandleAPI(pattern string, p staff.Permission, fn func(w http.ResponseWriter, r *http.Request, a staff.Account)) {
	s.mux.Handle(pattern, s.api(p, fn))
}

func (s *Server) api(p staff.Permission, fn func(w http.ResponseWriter, r *http.Request, a staff.Account)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, err := s.apiAccount(r)
		if errors.Is(err, staff.ErrBadToken) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="enlace"`)
			apiError(w, http.StatusUnauthorized, "unauthorized", "send a personal token as Authorization: Bearer, or sign in to the console")
			return
		}
		if err != nil {
			s.log.Error("api authentication failed", "err", err)
			apiError(w, http.StatusInternalServerError, "internal", "try again later")
			return
		}
		if p != "" && !a.Can(p) {
			apiError(w, http.StatusForbidden, "forbidden", "this role may not use this endpoint")
			return
		}
		fn(w, r, a)
	})
}

func (s *Server) apiRoutes() {
	s.mux.HandleFunc("GET /api/v1/openapi.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(openAPI)
	})
	s.HandleAPI("GET /api/v1/whoami", "", s.apiWhoami)
	s.HandleAPI("GET /api/v1/audit", staff.PermAudit, s.apiAudit)
	s.inboxAPIRoutes()
	s.casesAPIRoutes()
}

// Me is the whoami answer.
type Me struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	Role      staff.Role `json:"role"`
	Languages []string   `json:"languages"`
}

func (s *Server) apiWhoami(w http.ResponseWriter, r *http.Request, a staff.Account) {
	writeJSON(w, http.StatusOK, Me{ID: a.ID, Name: a.Name, Role: a.Role, Languages: a.Languages})
}

// AuditPage is the audit answer.
type AuditPage struct {
	Entries []staff.Entry `json:"entries"`
	Next    int64         `json:"next"`
}

func (s *Server) apiAudit(w http.ResponseWriter, r *http.Request, a staff.Account) {
	q := r.URL.Query()
	from, limit := int64(0), 100
	if v := q.Get("from"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			apiError(w, http.StatusBadRequest, "bad_request", "from is a whole number of 0 or more")
			return
		}
		from = n
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			apiError(w, http.StatusBadRequest, "bad_request", "limit is a whole number from 1 to 1000")
			return
		}
		limit = n
	}
	if err := s.cfg.Staff.Record(r.Context(), staff.ActorOf(a, s.cfg.ClientAddr(r)), staff.ActionAuditView, ""); err != nil {
		apiError(w, http.StatusInternalServerError, "internal", "try again later")
		return
	}
	entries, next, err := s.cfg.Staff.AuditPage(r.Context(), from, limit)
	if err != nil {
		apiError(w, http.StatusInternalServerError, "internal", "try again later")
		return
	}
	if entries == nil {
		entries = []staff.Entry{}
	}
	writeJSON(w, http.StatusOK, AuditPage{Entries: entries, Next: next})
}

// OpenAPI returns the OpenAPI 3 document of the API (served at /api/v1/openapi.json).
func OpenAPI() []byte { return append([]byte(nil), openAPI...) }
