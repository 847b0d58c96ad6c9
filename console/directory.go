package console

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/enlace-rfl/enlace/places"
	"github.com/enlace-rfl/enlace/staff"
	"github.com/enlace-rfl/enlace/textmatch"
)

// The directory status page (/directory) and its API (/api/v1/places): staff
// with staff.PermDirectory (admins) mark places open, full or closed. The
// time is the staff service's clock, given to the store; the shelter finder
// reads the store on every search, so it shows the change at once. Every
// change is audited (staff.ActionPlaceStatus, subject the place's id) before
// it is made. The directory is no one's personal data: viewing it is not
// audited.

// placeID is the form of a place's id (places.Place.Validate).
var placeID = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// placeStatuses are the statuses in the order the page offers them.
var placeStatuses = []places.Status{places.StatusOpen, places.StatusFull, places.StatusClosed}

// errBadStatus: the status is not open, full or closed.
var errBadStatus = errors.New("console: a status is open, full or closed")

// maxQuery bounds a directory search.
const maxQuery = 200

func init() {
	// placeStatusKey and placeKindKey name a directory value's text.
	funcs["placeStatusKey"] = func(st places.Status) string {
		return textKey("directory", "status", string(st), []string{"open", "full", "closed"})
	}
	funcs["placeKindKey"] = func(k places.Kind) string {
		known := make([]string, len(places.Kinds))
		for i, k := range places.Kinds {
			known[i] = string(k)
		}
		return textKey("directory", "kind", string(k), known)
	}
}

// directoryRoutes adds the directory status page and its API when the
// console has a directory.
func (s *Server) directoryRoutes() {
	if s.cfg.Places == nil {
		return
	}
	s.AddHomeCard(staff.PermDirectory, "nav.directory", "home.directory_help", "/directory")
	s.Handle("GET /directory", staff.PermDirectory, s.directoryPage)
	s.Handle("POST /directory/{id}/status", staff.PermDirectory, s.directorySet)
	s.HandleAPI("GET /api/v1/places", staff.PermDirectory, s.apiPlaces)
	s.HandleAPI("POST /api/v1/places/{id}/status", staff.PermDirectory, s.apiPlaceStatus)
}

// Places returns the directory the console manages (nil when none).
func (s *Server) Places() places.Store { return s.cfg.Places }

// findPlaces returns the places whose id, name, organization, town, state or
// country contain every word of q (case and accents ignored), of status st
// ("" for any), ordered by id.
func (s *Server) findPlaces(ctx context.Context, q string, st places.Status) ([]places.Place, error) {
	all, err := s.cfg.Places.AllPlaces(ctx)
	if err != nil {
		return nil, err
	}
	words := strings.Fields(textmatch.Normalize(q))
	var out []places.Place
	for _, p := range all {
		if st != "" && p.Status != st {
			continue
		}
		hay := textmatch.Normalize(strings.Join([]string{p.ID, p.Name, p.Organization, p.City, p.Admin1, p.Country}, " "))
		if !slices.ContainsFunc(words, func(w string) bool { return !strings.Contains(hay, w) }) {
			out = append(out, p)
		}
	}
	return out, nil
}

// setPlaceStatus marks a place, audited first: a change whose audit entry
// cannot be written is not made.
func (s *Server) setPlaceStatus(ctx context.Context, by staff.Actor, id string, st places.Status) (places.Place, error) {
	if !placeID.MatchString(id) {
		return places.Place{}, places.ErrNotFound
	}
	if !places.ValidStatus(st) {
		return places.Place{}, errBadStatus
	}
	if _, err := s.cfg.Places.Place(ctx, id); err != nil {
		return places.Place{}, err
	}
	if err := s.cfg.Staff.Record(ctx, by, staff.ActionPlaceStatus, placeSubject(id)); err != nil {
		return places.Place{}, err
	}
	if err := s.cfg.Places.SetPlaceStatus(ctx, id, st, s.cfg.Staff.Now()); err != nil {
		return places.Place{}, err
	}
	return s.cfg.Places.Place(ctx, id)
}

// placeSubject is a place's id as an audit subject. The audit refuses a
// subject of digits only (it could be a phone number), so such an id is
// recorded as "place:<id>".
func placeSubject(id string) string {
	if strings.Trim(id, "0123456789") == "" {
		return "place:" + id
	}
	return id
}

// directoryRow is one place as the page shows it.
type directoryRow struct {
	places.Place
	// Set: the status of this place was just changed (the notice's place).
	Set bool
}

func (s *Server) directoryPage(w http.ResponseWriter, r *http.Request, a staff.Account) {
	q := r.URL.Query()
	search := strings.TrimSpace(q.Get("q"))
	if len(search) > maxQuery {
		search = search[:maxQuery]
	}
	st := places.Status(q.Get("status"))
	if !places.ValidStatus(st) {
		st = ""
	}
	ps, err := s.findPlaces(r.Context(), search, st)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	set := q.Get("set")
	rows := make([]directoryRow, len(ps))
	pv := view{"Q": search, "Status": st, "Statuses": placeStatuses, "Count": len(ps)}
	for i, p := range ps {
		rows[i] = directoryRow{Place: p, Set: p.ID == set}
		if rows[i].Set {
			pv["SetPlace"] = p
		}
	}
	pv["Rows"] = rows
	switch q.Get("e") {
	case "status":
		pv["Error"] = "directory.err_status"
	case "not_found":
		pv["Error"] = "directory.err_not_found"
	}
	s.render(w, r, http.StatusOK, "directory", &a, pv)
}

// directorySet marks a place from the page's form, then goes back to the
// list as it was searched (POST-redirect-GET), at the place.
func (s *Server) directorySet(w http.ResponseWriter, r *http.Request, a staff.Account) {
	if !s.parseForm(w, r) {
		return
	}
	id := r.PathValue("id")
	back := url.Values{}
	if q := strings.TrimSpace(r.PostForm.Get("q")); q != "" {
		back.Set("q", q)
	}
	if st := places.Status(r.PostForm.Get("filter")); places.ValidStatus(st) {
		back.Set("status", string(st))
	}
	anchor := ""
	_, err := s.setPlaceStatus(r.Context(), s.actor(r, a), id, places.Status(r.PostForm.Get("status")))
	switch {
	case errors.Is(err, errBadStatus):
		back.Set("e", "status")
	case errors.Is(err, places.ErrNotFound):
		back.Set("e", "not_found")
	case err != nil:
		s.internal(w, r, err)
		return
	default:
		back.Set("set", id)
		anchor = "#place-" + id // placeID's characters need no escaping
	}
	http.Redirect(w, r, "/directory?"+back.Encode()+anchor, http.StatusSeeOther)
}

// DirectoryPlace is a place as the API shows it to staff.
type DirectoryPlace struct {
	ID          string        `json:"id"`
	Name        string        `json:"name"`
	Kind        places.Kind   `json:"kind"`
	City        string        `json:"city,omitempty"`
	Admin1      string        `json:"admin1,omitempty"`
	Country     string        `json:"country"`
	Status      places.Status `json:"status"`
	StatusSince *time.Time    `json:"status_since,omitempty"`
}

// DirectoryPlaceList is the answer of GET /places.
type DirectoryPlaceList struct {
	Places []DirectoryPlace `json:"places"`
}

// PlaceStatusRequest is the body of POST /places/{id}/status.
type PlaceStatusRequest struct {
	Status places.Status `json:"status"`
}

func directoryPlace(p places.Place) DirectoryPlace {
	return DirectoryPlace{ID: p.ID, Name: p.Name, Kind: p.Kind, City: p.City, Admin1: p.Admin1, Country: p.Country,
		Status: p.Status, StatusSince: timePtr(p.StatusSince)}
}

func (s *Server) apiPlaces(w http.ResponseWriter, r *http.Request, a staff.Account) {
	q := r.URL.Query()
	if len(q.Get("q")) > maxQuery {
		apiError(w, http.StatusBadRequest, "bad_request", "q is at most 200 bytes")
		return
	}
	st := places.Status(q.Get("status"))
	if st != "" && !places.ValidStatus(st) {
		apiError(w, http.StatusBadRequest, "bad_status", "status is open, full or closed")
		return
	}
	ps, err := s.findPlaces(r.Context(), q.Get("q"), st)
	if err != nil {
		s.placesError(w, r, err)
		return
	}
	out := DirectoryPlaceList{Places: make([]DirectoryPlace, 0, len(ps))}
	for _, p := range ps {
		out.Places = append(out.Places, directoryPlace(p))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) apiPlaceStatus(w http.ResponseWriter, r *http.Request, a staff.Account) {
	id := r.PathValue("id")
	if !placeID.MatchString(id) {
		apiError(w, http.StatusBadRequest, "bad_id", "a place id is 1 to 64 letters, digits, _ . or -")
		return
	}
	var req PlaceStatusRequest
	if !readJSON(w, r, &req) {
		return
	}
	p, err := s.setPlaceStatus(r.Context(), s.actor(r, a), id, req.Status)
	if err != nil {
		s.placesError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, directoryPlace(p))
}

// placesError turns a directory error into a clear answer; only an
// unexpected one is a 500.
func (s *Server) placesError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, errBadStatus):
		apiError(w, http.StatusBadRequest, "bad_status", "status is open, full or closed")
	case errors.Is(err, places.ErrNotFound):
		apiError(w, http.StatusNotFound, "not_found", "no place of the directory has this id")
	case errors.Is(err, context.Canceled):
	default:
		s.log.Error("directory api request failed", "path", r.URL.Path, "err", err)
		apiError(w, http.StatusInternalServerError, "internal", "try again later")
	}
}
