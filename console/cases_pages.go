package console

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/enlace-rfl/enlace/casework"
	"github.com/enlace-rfl/enlace/staff"
	"github.com/enlace-rfl/enlace/tracing"
)

// casePageRoutes adds the caseworkers' pages when the console has tracing
// cases: the list with its filters, the form for a request taken in an
// interview, a case (every opening audited by casework) and its forms, and
// the export. Forms post, then redirect to the case (POST-redirect-GET); an
// error comes back as ?e=code and is shown in the viewer's language.
// Volunteers never reach these pages (staff.PermTracing).
func (s *Server) casePageRoutes() {
	if s.cfg.Cases == nil {
		return
	}
	s.hasCases = true
	s.AddHomeCard(staff.PermTracing, "nav.cases", "home.cases_help", "/cases")
	s.Handle("GET /cases", staff.PermTracing, s.casesPage)
	s.Handle("GET /cases/new", staff.PermTracing, s.caseNewPage)
	s.Handle("POST /cases/new", staff.PermTracing, s.caseCreate)
	s.Handle("GET /cases/{id}", staff.PermTracing, s.casePage)
	s.Handle("GET /cases/{id}/export", staff.PermTracing, s.caseExportPage)
	s.Handle("POST /cases/{id}/{action}", staff.PermTracing, s.caseAction)
}

// caseStatuses are the statuses in their order, for filters and forms.
var caseStatuses = []tracing.Status{tracing.StatusNew, tracing.StatusOpen, tracing.StatusSearching, tracing.StatusLocated, tracing.StatusClosed}

// closingReasons a caseworker may choose (withdrawn is the person's).
var closingReasons = []tracing.ClosingReason{tracing.ClosedContactRestored, tracing.ClosedReunited, tracing.ClosedUnableToLocate, tracing.ClosedWithdrawn}

// nationalities offered in the filter and the interview form.
var nationalities = []string{"HN", "GT", "SV", "NI", "MX", "HT", "VE", "CU", "CO", "EC", "US"}

// caseRow is one line of the case list.
type caseRow struct {
	casework.Summary
	CaseworkerName string
	Days           int
}

// caseFilter reads the list's filters from the query, and says which are set.
func caseFilter(q url.Values, a staff.Account) (casework.Filter, view) {
	f := casework.Filter{Nationality: strings.ToUpper(q.Get("nationality")), Place: strings.TrimSpace(q.Get("place"))}
	set := view{"Status": q.Get("status"), "Nationality": f.Nationality, "Place": f.Place,
		"MinAge": q.Get("min_age"), "MaxAge": q.Get("max_age"), "Days": q.Get("days"), "Mine": q.Get("mine")}
	switch st := tracing.Status(q.Get("status")); {
	case st == "" || st == "active":
		f.Statuses = []tracing.Status{tracing.StatusNew, tracing.StatusOpen, tracing.StatusSearching, tracing.StatusLocated}
		set["Status"] = "active"
	case tracing.KnownStatus(st):
		f.Statuses = []tracing.Status{st}
	default:
		set["Status"] = "all"
	}
	f.MinAge, _ = strconv.Atoi(q.Get("min_age"))
	f.MaxAge, _ = strconv.Atoi(q.Get("max_age"))
	f.MinAge, f.MaxAge = max(f.MinAge, 0), max(f.MaxAge, 0)
	if d, err := strconv.Atoi(q.Get("days")); err == nil && d > 0 && d < 3650 {
		f.WaitingFor = time.Duration(d) * 24 * time.Hour
	}
	if q.Get("mine") == "1" {
		f.Caseworker = a.ID
	}
	f.Offset, _ = strconv.Atoi(q.Get("offset"))
	f.Offset = max(f.Offset, 0)
	f.Limit = 50
	return f, set
}

func (s *Server) casesPage(w http.ResponseWriter, r *http.Request, a staff.Account) {
	f, set := caseFilter(r.URL.Query(), a)
	list, err := s.cfg.Cases.List(r.Context(), s.actor(r, a), f)
	if err != nil {
		s.casePageError(w, r, a, err)
		return
	}
	now := s.cfg.Staff.Now()
	n := s.names(r.Context())
	rows := make([]caseRow, 0, len(list))
	for _, c := range list {
		row := caseRow{Summary: c, Days: int(now.Sub(c.Waiting) / (24 * time.Hour))}
		if h := n.holder(c.Caseworker); h != nil {
			row.CaseworkerName = h.Name
		}
		rows = append(rows, row)
	}
	pv := view{"Title": "cases.title", "Rows": rows, "F": set, "Statuses": caseStatuses, "Nationalities": nationalities}
	if len(list) == f.Limit {
		q := r.URL.Query()
		q.Set("offset", strconv.Itoa(f.Offset+f.Limit))
		pv["Next"] = "/cases?" + q.Encode()
	}
	s.render(w, r, http.StatusOK, "cases", &a, pv)
}

// caseErrors are the error codes a case form's redirect carries, and their texts.
var caseErrors = map[string]string{
	"invalid":       "case.err_invalid",
	"transition":    "case.err_transition",
	"withdrawn":     "case.err_withdrawn",
	"not_matchable": "case.err_not_matchable",
	"caseworker":    "case.err_caseworker",
	"conflict":      "case.err_conflict",
	"not_notified":  "case.err_not_notified",
	"consent":       "case.err_consent",
}

// caseErrorCode is the ?e= code of a casework error, "" for one that is no
// fault of the form.
func caseErrorCode(err error) string {
	switch {
	case errors.Is(err, casework.ErrInvalid):
		return "invalid"
	case errors.Is(err, casework.ErrTransition):
		return "transition"
	case errors.Is(err, casework.ErrWithdrawn):
		return "withdrawn"
	case errors.Is(err, casework.ErrNotMatchable), errors.Is(err, casework.ErrSameCase):
		return "not_matchable"
	case errors.Is(err, casework.ErrNotCaseworker):
		return "caseworker"
	case errors.Is(err, casework.ErrConflict), errors.Is(err, casework.ErrEntryReused):
		return "conflict"
	case errors.Is(err, casework.ErrNotNotified):
		return "not_notified"
	case errors.Is(err, casework.ErrNoConsent):
		return "consent"
	}
	return ""
}

// casePageError answers a case page that cannot be shown.
func (s *Server) casePageError(w http.ResponseWriter, r *http.Request, a staff.Account, err error) {
	switch {
	case errors.Is(err, casework.ErrNotFound), errors.Is(err, casework.ErrBadID):
		s.render(w, r, http.StatusNotFound, "error", &a, view{"Title": "error.notfound_title", "Message": "case.gone"})
	case errors.Is(err, casework.ErrForbidden):
		s.render(w, r, http.StatusForbidden, "error", &a, view{"Title": "error.forbidden_title", "Message": "error.forbidden"})
	case caseErrorCode(err) != "":
		s.render(w, r, http.StatusBadRequest, "error", &a, view{"Title": "error.bad_request_title", "Message": caseErrors[caseErrorCode(err)]})
	default:
		s.internal(w, r, err)
	}
}

// caseworkers lists the enabled caseworker accounts, for the assign form.
func (s *Server) caseworkers(r *http.Request) []staff.Account {
	all, err := s.cfg.Staff.List(r.Context())
	if err != nil {
		return nil
	}
	var out []staff.Account
	for _, acc := range all {
		if acc.Role == staff.RoleCaseworker && !acc.Disabled {
			out = append(out, acc)
		}
	}
	return out
}

// updateRow is one notification as the case page shows it.
type updateRow struct {
	tracing.Update
	ByName string
}

// noteRow is one note as the case page shows it.
type noteRow struct {
	tracing.Note
	ByName string
}

func (s *Server) casePage(w http.ResponseWriter, r *http.Request, a staff.Account) {
	id := r.PathValue("id")
	by := s.actor(r, a)
	v, err := s.cfg.Cases.Get(r.Context(), by, id)
	if err != nil {
		s.casePageError(w, r, a, err)
		return
	}
	n := s.names(r.Context())
	pv := view{"Title": "case.title", "C": v.Case, "W": v, "Statuses": caseStatuses, "Closings": closingReasons,
		"Templates": tracing.Templates, "Entry": newEntryID(), "Caseworkers": s.caseworkers(r)}
	if h := n.holder(v.Caseworker); h != nil {
		pv["CaseworkerName"] = h.Name
	}
	var ups []updateRow
	for _, u := range v.Case.Updates {
		row := updateRow{Update: u}
		if h := n.holder(u.By); h != nil {
			row.ByName = h.Name
		}
		ups = append(ups, row)
	}
	var notes []noteRow
	for _, nt := range v.Case.Notes {
		row := noteRow{Note: nt}
		if h := n.holder(nt.By); h != nil {
			row.ByName = h.Name
		}
		notes = append(notes, row)
	}
	pv["Updates"], pv["Notes"] = ups, notes
	if !v.Withdrawn() {
		ms, err := s.cfg.Cases.Matches(r.Context(), by, id)
		if err != nil && !errors.Is(err, casework.ErrNotMatchable) {
			s.casePageError(w, r, a, err)
			return
		}
		pv["Matches"] = ms
	}
	q := r.URL.Query()
	if key, ok := caseErrors[q.Get("e")]; ok {
		pv["Error"] = key
	}
	switch {
	case q.Has("created"):
		pv["Notice"] = "case.created_notice"
	case q.Has("paper"):
		pv["Notice"] = "case.created_paper"
	case q.Has("sent"):
		pv["Notice"] = "case.sent_notice"
	case q.Has("pinreset"):
		pv["Notice"] = "case.pin_reset_notice"
	}
	s.render(w, r, http.StatusOK, "case", &a, pv)
}

func (s *Server) caseExportPage(w http.ResponseWriter, r *http.Request, a staff.Account) {
	v, err := s.cfg.Cases.Export(r.Context(), s.actor(r, a), r.PathValue("id"))
	if err != nil {
		s.casePageError(w, r, a, err)
		return
	}
	b, err := json.MarshalIndent(v.Case, "", "  ")
	if err != nil {
		s.internal(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="case-`+v.Case.ID+`.json"`)
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(b)
}

func (s *Server) caseNewPage(w http.ResponseWriter, r *http.Request, a staff.Account) {
	pv := caseNewView(url.Values{})
	if key, ok := caseErrors[r.URL.Query().Get("e")]; ok {
		pv["Error"] = key
	}
	s.render(w, r, http.StatusOK, "case_new", &a, pv)
}

// caseNewView is the interview form's view, filled with f.
func caseNewView(f url.Values) view {
	return view{"Title": "case_new.title", "Nationalities": nationalities, "Relationships": casework.Relationships,
		"Circumstances": casework.Circumstances, "Sexes": casework.Sexes, "Channels": casework.Channels, "F": f}
}

// interviewFields names an interview's fields (casework.InvalidError.Field)
// by the form's labels.
var interviewFields = map[string]string{
	"sought.full_name": "case_new.name", "sought.other_names": "case.other_names", "sought.sex": "case.sex",
	"sought.birth_year": "case_new.birth", "sought.nationality": "case.nationality", "sought.relationship": "case.relationship",
	"sought.last_place.name": "case_new.place", "sought.last_place.country": "case_new.place_country",
	"sought.last_place.place_id": "case_new.place", "sought.last_contact.month": "case_new.when",
	"sought.last_contact.year": "case_new.when", "sought.what": "case.what", "enquirer": "case.enquirer_name",
	"channel": "case_new.channel", "address": "case_new.address", "lang": "case_new.lang", "safe_contact": "case_new.safe_contact",
}

// interviewOf reads the interview form.
func interviewOf(f url.Values, now time.Time) casework.Interview {
	in := casework.Interview{
		Enquirer: strings.TrimSpace(f.Get("enquirer")), Channel: f.Get("channel"),
		Address: strings.TrimSpace(f.Get("address")), Lang: f.Get("lang"), SafeContact: strings.TrimSpace(f.Get("safe_contact")),
		ConsentTracing: f.Get("consent_tracing") == "1", ConsentShareNetwork: f.Get("consent_network") == "1",
	}
	sp := &in.Sought
	sp.FullName = strings.TrimSpace(f.Get("name"))
	for _, o := range strings.Split(f.Get("other_names"), ",") {
		if o = strings.TrimSpace(o); o != "" {
			sp.OtherNames = append(sp.OtherNames, o)
		}
	}
	sp.Sex = tracing.Sex(f.Get("sex"))
	if y, err := strconv.Atoi(f.Get("birth_year")); err == nil {
		sp.BirthYear = y
		if y > 0 && y <= 120 { // an age, not a year
			sp.BirthYear = tracing.BirthYearFromAge(y, now)
		}
	}
	sp.Nationality = strings.ToUpper(f.Get("nationality"))
	sp.Relationship = tracing.Relationship(f.Get("relationship"))
	sp.LastPlace = tracing.Place{Name: strings.TrimSpace(f.Get("place")), Country: strings.ToUpper(f.Get("place_country"))}
	if m, err := time.Parse("2006-01", f.Get("last_contact")); err == nil {
		sp.LastContact = tracing.Month{Year: m.Year(), Month: int(m.Month())}
	}
	sp.What = tracing.Circumstance(f.Get("what"))
	return in
}

func (s *Server) caseCreate(w http.ResponseWriter, r *http.Request, a staff.Account) {
	if !s.parseForm(w, r) {
		return
	}
	in := interviewOf(r.PostForm, s.cfg.Staff.Now())
	created, err := s.cfg.Cases.CreateInterview(r.Context(), s.actor(r, a), in)
	if err != nil {
		if code := caseErrorCode(err); code != "" {
			// The form comes back as it was typed, in the answer (what was
			// typed is personal data and never goes into a URL), saying
			// which field to look at.
			pv := caseNewView(r.PostForm)
			pv["Error"] = caseErrors[code]
			var bad *casework.InvalidError
			if errors.As(err, &bad) {
				if label, ok := interviewFields[bad.Field]; ok {
					pv["Error"], pv["ErrorField"] = "case_new.err_field", label
				}
			}
			s.render(w, r, http.StatusUnprocessableEntity, "case_new", &a, pv)
			return
		}
		s.casePageError(w, r, a, err)
		return
	}
	flag := "created"
	if !created.Notified {
		flag = "paper"
	}
	http.Redirect(w, r, "/cases/"+url.PathEscape(created.Case.ID)+"?"+flag+"=1", http.StatusSeeOther)
}

func (s *Server) caseAction(w http.ResponseWriter, r *http.Request, a staff.Account) {
	if !s.parseForm(w, r) {
		return
	}
	id, f, by, ctx := r.PathValue("id"), r.PostForm, s.actor(r, a), r.Context()
	var err error
	done := ""
	switch r.PathValue("action") {
	case "assign":
		to := f.Get("to")
		if to == "me" {
			to = ""
		}
		_, err = s.cfg.Cases.Assign(ctx, by, id, to)
	case "status":
		_, err = s.cfg.Cases.Transition(ctx, by, id, tracing.Status(f.Get("status")), tracing.ClosingReason(f.Get("closing")))
	case "note":
		_, err = s.cfg.Cases.AddNote(ctx, by, id, f.Get("text"))
	case "update":
		_, err = s.cfg.Cases.SendUpdate(ctx, by, id, casework.Notification{Entry: f.Get("entry"),
			Template: tracing.Template(f.Get("template")), Param: f.Get("param"), Text: f.Get("text")})
		done = "sent=1"
	case "pin-reset":
		var to *casework.NewReach
		if addr := strings.TrimSpace(f.Get("address")); addr != "" {
			to = &casework.NewReach{Channel: f.Get("channel"), Address: addr}
		}
		_, err = s.cfg.Cases.ResetPIN(ctx, by, id, to)
		done = "pinreset=1"
	case "confirm", "dismiss":
		other := f.Get("other")
		if r.PathValue("action") == "confirm" {
			_, err = s.cfg.Cases.ConfirmMatch(ctx, by, id, other)
		} else {
			_, err = s.cfg.Cases.DismissMatch(ctx, by, id, other)
		}
	default:
		s.notFound(w, r)
		return
	}
	target := "/cases/" + url.PathEscape(id)
	if err != nil {
		code := caseErrorCode(err)
		if code == "" {
			s.casePageError(w, r, a, err)
			return
		}
		http.Redirect(w, r, target+"?e="+code, http.StatusSeeOther)
		return
	}
	if done != "" {
		target += "?" + done
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// statusKey-like helpers for the case pages.
var caseFuncs = map[string]any{
	"caseStatusKey": func(st tracing.Status) string {
		return textKey("case", "status", string(st), statusStrings())
	},
	"closingKey": func(c tracing.ClosingReason) string {
		return textKey("case", "closing", string(c), []string{"contact_restored", "reunited", "unable_to_locate", "withdrawn"})
	},
	"templateKey": func(t tracing.Template) string {
		return textKey("case", "template", string(t), []string{"news", "contact_point", "still_searching", "safe_wants_contact", "own_text"})
	},
	// channels are what an enquirer can be reached on.
	"channels": func() []string { return casework.Channels },
	"deliveryKey": func(d string) string {
		return textKey("case", "delivery", d, []string{"queued", "sent", "delivered", "failed", "read"})
	},
	"relKey": func(r tracing.Relationship) string {
		return textKey("case", "rel", string(r), []string{"child", "parent", "sibling", "spouse", "other_relative", "friend"})
	},
	"whatKey": func(c tracing.Circumstance) string {
		return textKey("case", "what", string(c), []string{"separated_on_route", "detained", "deported", "lost_contact", "other"})
	},
	"sexKey": func(x tracing.Sex) string {
		return textKey("case", "sex", string(x), []string{"female", "male", "other"})
	},
	"reasonCodeKey": func(c tracing.ReasonCode) string {
		return textKey("match", "reason", string(c), reasonCodes())
	},
	"matchKindKey": func(k tracing.MatchKind) string {
		return textKey("match", "kind", string(k), []string{"same_sought", "sought_is_enquirer", "seeks_enquirer", "reciprocal"})
	},
	"month": func(m tracing.Month) string {
		if m.IsZero() {
			return ""
		}
		if m.Month == 0 {
			return strconv.Itoa(m.Year)
		}
		return strconv.Itoa(m.Month) + "/" + strconv.Itoa(m.Year)
	},
	"itoa":   strconv.Itoa,
	"hasStr": func(list []string, s string) bool { return slices.Contains(list, s) },
}

func statusStrings() []string {
	out := make([]string, len(caseStatuses))
	for i, s := range caseStatuses {
		out[i] = string(s)
	}
	return out
}

func reasonCodes() []string {
	return []string{"name_same", "name_accents", "name_nickname", "name_sounds_alike", "name_spelling", "name_initial",
		"name_order", "surnames_swapped", "name_part_missing", "name_part_differs", "other_name", "name_common",
		"birth_year_same", "birth_year_near", "birth_year_far", "sex_same", "sex_differs", "nationality_same",
		"nationality_differs", "place_same", "country_same", "last_contact_near"}
}
