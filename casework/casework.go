// Package casework is the staff logic of tracing cases, for caseworkers: the
// list of cases, a case opened (audited), a case taken in an interview at an
// assistance point, assigning, status changes, notes, notifications to the
// enquirer, matches and the caseworker's decision on them, and the export of
// a case. It does no HTTP (package console serves it) and no I/O beyond the
// tracing store, the audit log (staff.Service.Record) and the enquirer's chat
// (Notifier, which bot.Pipeline satisfies; its case events, CaseNotifier, are
// used when the Notifier has them).
//
// Every method takes the acting staff.Actor and needs staff.PermTracing: a
// volunteer or an admin gets ErrForbidden. Every read of personal data is
// recorded in the audit log before anything is returned; every change after
// it is stored. Audit subjects are opaque case ids, never names or codes.
//
// News of a death is never sent by message: there is no template for it, and
// a caseworker's own text is short (300 characters) and meant for practical
// words. Such news is given in a personal contact the caseworker arranges
// (TemplateContactPoint asks the enquirer to come to an assistance point).
//
// Two caseworkers may change one case at once, or a caseworker and the chat:
// a change is written only over the case it was made on (ReplaceCase, atomic
// in the store), else made again on the fresh case (see Service.change).
package casework

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/enlace-rfl/enlace/flows"
	"github.com/enlace-rfl/enlace/keyring"
	"github.com/enlace-rfl/enlace/plaintext"
	"github.com/enlace-rfl/enlace/staff"
	"github.com/enlace-rfl/enlace/store"
	"github.com/enlace-rfl/enlace/tracing"
)

// Notifier reaches the enquirer's chat: the person an address stands for, and
// an event for their session, handled in order with their messages, once per
// id. bot.Pipeline implements it.
type Notifier interface {
	PersonOf(ctx context.Context, channel, address string) (string, error)
	StaffEvent(ctx context.Context, person, id string, in flows.Input) error
}

// CaseNotifier is the better way to the enquirer's chat, when the Notifier
// has it (bot.Pipeline does): the event comes from the channel and address
// the case names, so it reaches an enquirer who never wrote to Enlace (taken
// in an interview) and their answers go back there. Without it, the Service
// sends the same inputs with Notifier.StaffEvent to the enquirer's person key.
type CaseNotifier interface {
	// CaseOpened tells the enquirer the code of a case taken in an
	// interview and asks them for a PIN (flows.StaffTracingOpened).
	CaseOpened(ctx context.Context, c *tracing.Case) error
	// CaseUpdateEvent brings them the teaser of update entry (flows.StaffTracingUpdate).
	CaseUpdateEvent(ctx context.Context, c *tracing.Case, entry string) error
	// CasePINReset tells them a caseworker cleared their PIN and asks for a
	// new one, once per reset (id).
	CasePINReset(ctx context.Context, c *tracing.Case, id string) error
}

// Config is what a Service is built from.
type Config struct {
	Cases    tracing.Store
	Keys     *keyring.Keyring
	Staff    *staff.Service
	Notifier Notifier
	// Clock returns the time; time.Now when nil.
	Clock func() time.Time
	// Retention is how long a case is kept after it closes, or after its last
	// change while open (ENLACE_CASE_RETENTION; DefaultRetention when 0).
	Retention time.Duration
	// Logger gets operational messages: case ids and errors, never personal data.
	Logger *slog.Logger
}

// DefaultRetention is the case retention when Config.Retention is 0: 180 days.
const DefaultRetention = 180 * 24 * time.Hour

// Limits of what a caseworker writes.
const (
	MaxNoteRunes    = 2000 // a note
	MaxOwnTextRunes = 300  // the own text of a notification (TemplateOwnText)
	MaxParamRunes   = 200  // a template's parameter (the contact point)
	MaxNameRunes    = 200  // a name
	MaxMatches      = 50   // matches listed for a case
)

// Errors the API turns into clear answers. Their messages name no person.
var (
	// ErrForbidden: the role does not include staff.PermTracing.
	ErrForbidden = fmt.Errorf("casework: %w", staff.ErrForbidden)
	// ErrNotFound: no such case (never stored, expired or deleted).
	ErrNotFound = errors.New("casework: no such case")
	// ErrBadID: a case, entry or account id that cannot be one.
	ErrBadID = errors.New("casework: malformed id")
	// ErrInvalid: bad input (errors.As an *InvalidError says which field).
	ErrInvalid = errors.New("casework: invalid input")
	// ErrNoConsent: a case without the enquirer's tracing consent cannot be kept.
	ErrNoConsent = errors.New("casework: the enquirer's consent to tracing is needed to keep a case")
	// ErrTransition: a status change the rules do not allow (tracing.CanTransition).
	ErrTransition = tracing.ErrTransition
	// ErrWithdrawn: the person withdrew the case or erased their data; it can
	// no longer change, be notified or matched.
	ErrWithdrawn = errors.New("casework: the case was withdrawn by the person")
	// ErrNotMatchable: a match decision about a case that may not be matched
	// (no tracing consent, withdrawn, erased).
	ErrNotMatchable = errors.New("casework: the case may not be matched")
	// ErrSameCase: a case matched with itself.
	ErrSameCase = errors.New("casework: a case does not match itself")
	// ErrNotCaseworker: the account to assign to is missing, disabled or not a caseworker.
	ErrNotCaseworker = errors.New("casework: the account is not an enabled caseworker")
	// ErrConflict: the case kept changing meanwhile; try again.
	ErrConflict = errors.New("casework: the case changed meanwhile; try again")
	// ErrEntryReused: a notification's entry names one sent before with
	// another template, parameter or text; nothing is sent.
	ErrEntryReused = errors.New("casework: this entry names another notification")
	// ErrNotNotified: the change is kept but could not be handed to the
	// enquirer's chat; the same request again (same entry) retries it.
	ErrNotNotified = errors.New("casework: the enquirer's chat could not be reached")
)

// InvalidError says which input field is wrong and why (never its value).
type InvalidError struct {
	Field   string
	Problem string
}

func (e *InvalidError) Error() string { return "casework: " + e.Field + ": " + e.Problem }

// Unwrap makes an InvalidError an ErrInvalid.
func (e *InvalidError) Unwrap() error { return ErrInvalid }

func invalid(field, problem string) error { return &InvalidError{Field: field, Problem: problem} }

// Service is the caseworkers' logic of tracing cases. It keeps the match
// index of every matchable case in memory (personal data, in memory only),
// filled by Load at start and on every change. It is safe for concurrent use.
type Service struct {
	cfg   Config
	log   *slog.Logger
	index *tracing.Index
	locks [64]sync.Mutex

	mu   sync.Mutex
	seen map[string]time.Time // case id → Record.Updated of what the index holds
}

// New builds a Service; call Load before serving matches.
func New(cfg Config) *Service {
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Retention <= 0 {
		cfg.Retention = DefaultRetention
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{cfg: cfg, log: log, index: tracing.NewIndex(), seen: map[string]time.Time{}}
}

func (s *Service) now() time.Time { return s.cfg.Clock() }

func allowed(by staff.Actor) error {
	if !by.Role.Can(staff.PermTracing) {
		return ErrForbidden
	}
	return nil
}

func validID(id string) bool { return store.ValidName(id) && len(id) <= 64 }

// newCaseID is a random opaque case id: "c" and 20 hex digits (never all
// digits: the audit log refuses what could be a phone number).
func newCaseID() string { return "c" + randomHex(10) }

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("casework: crypto/rand failed: " + err.Error()) // never fails on supported platforms
	}
	return hex.EncodeToString(b)
}

// lock is the in-process lock of one case's changes.
func (s *Service) lock(id string) *sync.Mutex {
	h := fnv.New32a()
	_, _ = h.Write([]byte(id))
	return &s.locks[h.Sum32()%uint32(len(s.locks))]
}

// read returns a case's record and the case opened.
func (s *Service) read(ctx context.Context, id string, now time.Time) (tracing.Record, *tracing.Case, error) {
	if !validID(id) {
		return tracing.Record{}, nil, ErrBadID
	}
	rec, err := s.cfg.Cases.GetCase(ctx, id, now)
	if errors.Is(err, tracing.ErrNotFound) {
		return rec, nil, ErrNotFound
	}
	if err != nil {
		return rec, nil, fmt.Errorf("casework: reading case %s: %w", id, err)
	}
	c, err := tracing.OpenCase(s.cfg.Keys, id, rec.Sealed)
	if err != nil {
		return rec, nil, fmt.Errorf("casework: case %s: %w", id, err)
	}
	return rec, c, nil
}

// errUnchanged, from a change function, means there is nothing to write.
var errUnchanged = tracing.ErrUnchanged

// change applies f to case id and stores the result, resealed, with its
// expiry worked out again. f may change the record's Caseworker and Waiting
// too. A withdrawn or erased case does not change (ErrWithdrawn).
//
// Changes are serialized in the process by the case's lock, and written by
// tracing.ChangeCase over the sealed bytes f started from: a change made
// meanwhile by another process or the chat is never overwritten (f runs again
// on the fresh case), and a case erased meanwhile is not brought back.
func (s *Service) change(ctx context.Context, id string, f func(rec *tracing.Record, c *tracing.Case, now time.Time) error) (tracing.Record, *tracing.Case, error) {
	if !validID(id) {
		return tracing.Record{}, nil, ErrBadID
	}
	mu := s.lock(id)
	mu.Lock()
	defer mu.Unlock()
	written := false
	// Optimistic: each lost race means another writer got through.
	rec, c, err := tracing.ChangeCase(ctx, s.cfg.Cases, s.cfg.Keys, id, s.cfg.Retention, s.now, 50,
		func(rec *tracing.Record, c *tracing.Case, now time.Time) error {
			if c.Erased || c.Closing == tracing.ClosedWithdrawn {
				return ErrWithdrawn
			}
			err := f(rec, c, now)
			written = err == nil
			return err
		})
	switch {
	case errors.Is(err, tracing.ErrNotFound):
		return rec, c, ErrNotFound
	case errors.Is(err, tracing.ErrChanged):
		return tracing.Record{}, nil, ErrConflict
	case errors.Is(err, ErrWithdrawn):
		return rec, c, ErrWithdrawn
	case err != nil && (c == nil || written): // reading, sealing or writing, not f
		return rec, c, fmt.Errorf("casework: case %s: %w", id, err)
	case err != nil:
		return rec, c, err
	}
	if written {
		s.indexPut(c, rec.Updated)
	}
	return rec, c, nil
}

// indexPut files (or, when not matchable, removes) c in the match index.
func (s *Service) indexPut(c *tracing.Case, updated time.Time) {
	s.index.Put(c)
	s.mu.Lock()
	s.seen[c.ID] = updated
	s.mu.Unlock()
}

func (s *Service) indexRemove(id string) {
	s.index.Remove(id)
	s.mu.Lock()
	delete(s.seen, id)
	s.mu.Unlock()
}

// Load fills the match index from the store: every case, opened; only the
// matchable ones are kept. Called again (serve does, periodically), it opens
// only the cases that changed since and drops the ones gone, so cases opened
// in the chat or by another process are matched too. It returns how many
// cases the index holds.
func (s *Service) Load(ctx context.Context) (int, error) {
	now := s.now()
	present := map[string]bool{}
	for off := 0; ; off += tracing.MaxListLimit {
		recs, err := s.cfg.Cases.ListCases(ctx, tracing.ListQuery{Offset: off, Limit: tracing.MaxListLimit}, now)
		if err != nil {
			return s.index.Len(), fmt.Errorf("casework: loading cases: %w", err)
		}
		for _, rec := range recs {
			present[rec.ID] = true
			s.mu.Lock()
			at, known := s.seen[rec.ID]
			s.mu.Unlock()
			if known && at.Equal(rec.Updated) {
				continue
			}
			c, err := tracing.OpenCase(s.cfg.Keys, rec.ID, rec.Sealed)
			if err != nil {
				s.log.Warn("case unreadable, not matched", "case", rec.ID, "err", err)
				continue
			}
			s.indexPut(c, rec.Updated)
		}
		if len(recs) < tracing.MaxListLimit {
			break
		}
	}
	s.mu.Lock()
	var gone []string
	for id := range s.seen {
		if !present[id] {
			gone = append(gone, id)
		}
	}
	s.mu.Unlock()
	for _, id := range gone {
		s.indexRemove(id)
	}
	return s.index.Len(), nil
}

// View is a case as a caseworker opens it: the case (never its PIN hash or
// PIN state) and the store's fields about it. An erased case shows only that
// it was withdrawn by the person.
type View struct {
	Case       tracing.Case
	Caseworker string
	Waiting    time.Time
	Expires    time.Time
}

// Withdrawn reports whether the person withdrew the case or erased their data.
func (v View) Withdrawn() bool { return v.Case.Erased || v.Case.Closing == tracing.ClosedWithdrawn }

func viewOf(rec tracing.Record, c *tracing.Case) View {
	out := *c
	out.PINHash, out.PIN = "", tracing.PINGuard{}
	if c.Erased {
		out = tracing.Case{ID: c.ID, Status: tracing.StatusClosed, Closing: tracing.ClosedWithdrawn,
			Created: c.Created, Updated: c.Updated, Closed: c.Closed, Erased: true}
	}
	return View{Case: out, Caseworker: rec.Caseworker, Waiting: rec.Waiting, Expires: rec.Expires}
}

// Get opens a case (audited before it is shown).
func (s *Service) Get(ctx context.Context, by staff.Actor, id string) (View, error) {
	if err := allowed(by); err != nil {
		return View{}, err
	}
	rec, c, err := s.read(ctx, id, s.now())
	if err != nil {
		return View{}, err
	}
	if err := s.cfg.Staff.Record(ctx, by, staff.ActionCaseView, id); err != nil {
		return View{}, err
	}
	return viewOf(rec, c), nil
}

// Export returns a case whole, for the tracing network or the person's
// request for their data (audited). Like Get, never the PIN hash.
func (s *Service) Export(ctx context.Context, by staff.Actor, id string) (View, error) {
	if err := allowed(by); err != nil {
		return View{}, err
	}
	rec, c, err := s.read(ctx, id, s.now())
	if err != nil {
		return View{}, err
	}
	if err := s.cfg.Staff.Record(ctx, by, staff.ActionCaseExport, id); err != nil {
		return View{}, err
	}
	return viewOf(rec, c), nil
}

// Updates returns the notifications sent on a case, oldest first, with their
// delivery (audited).
func (s *Service) Updates(ctx context.Context, by staff.Actor, id string) ([]tracing.Update, error) {
	if err := allowed(by); err != nil {
		return nil, err
	}
	_, c, err := s.read(ctx, id, s.now())
	if err != nil {
		return nil, err
	}
	if err := s.cfg.Staff.Record(ctx, by, staff.ActionCaseUpdates, id); err != nil {
		return nil, err
	}
	return c.Updates, nil
}

// checkText trims a text and checks it is 1 to max characters.
func checkText(field, text string, limit int) (string, error) {
	text = plaintext.Clean(text)
	switch {
	case text == "":
		return "", invalid(field, "is empty")
	case utf8.RuneCountInString(text) > limit:
		return "", invalid(field, fmt.Sprintf("is longer than %d characters", limit))
	}
	return text, nil
}
