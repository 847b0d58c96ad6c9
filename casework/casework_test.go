package casework_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/enlace-rfl/enlace/casework"
	"github.com/enlace-rfl/enlace/flows"
	"github.com/enlace-rfl/enlace/staff"
	"github.com/enlace-rfl/enlace/staff/stafftest"
	"github.com/enlace-rfl/enlace/store/teststores"
	"github.com/enlace-rfl/enlace/tracing"
)

var ctx = context.Background()

// caseStore is what each store opened for the tests gives.
type caseStore = teststores.Store

// event is one staff event the notifier was given.
type event struct {
	Person, ID string
	In         flows.Input
}

// notifier records the events for the enquirers' chats, and fails when told.
type notifier struct {
	mu     sync.Mutex
	events []event
	fail   error
}

func personOf(channel, address string) string {
	h := sha256.Sum256([]byte(channel + ":" + address))
	return "p" + hex.EncodeToString(h[:8])
}

func (n *notifier) PersonOf(_ context.Context, channel, address string) (string, error) {
	return personOf(channel, address), nil
}

func (n *notifier) StaffEvent(_ context.Context, person, id string, in flows.Input) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.fail != nil {
		return n.fail
	}
	n.events = append(n.events, event{person, id, in})
	return nil
}

func (n *notifier) take() []event {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := n.events
	n.events = nil
	return out
}

type env struct {
	t      *testing.T
	st     caseStore
	staff  *stafftest.Env
	notify *notifier
	svc    *casework.Service
}

func newEnv(t *testing.T, open func(t *testing.T) (caseStore, *stafftest.Env)) *env {
	t.Helper()
	st, se := open(t)
	e := &env{t: t, st: st, staff: se, notify: &notifier{}}
	e.svc = e.service()
	if _, err := e.svc.Load(ctx); err != nil {
		t.Fatal(err)
	}
	return e
}

// service is a Service on the env's store (a second one stands for another process).
func (e *env) service() *casework.Service {
	return casework.New(casework.Config{Cases: e.st, Keys: e.staff.Keys, Staff: e.staff.Service, Notifier: e.notify,
		Clock: e.staff.Clock.Now, Retention: 30 * 24 * time.Hour})
}

func (e *env) actor(name string, role staff.Role) staff.Actor {
	e.t.Helper()
	a, _, err := e.staff.Service.Add(ctx, staff.Operator, name, role, []string{"es"})
	if err != nil {
		e.t.Fatal(err)
	}
	return staff.ActorOf(a, "192.0.2.1")
}

// audited counts the audit entries of action (with subject, when not empty).
func (e *env) audited(action, subject string) int {
	e.t.Helper()
	entries, err := e.staff.Service.AuditRecent(ctx, 10000)
	if err != nil {
		e.t.Fatal(err)
	}
	n := 0
	for _, en := range entries {
		if en.Action == action && (subject == "" || en.Subject == subject) {
			n++
		}
	}
	return n
}

func interview(name string, year int) casework.Interview {
	return casework.Interview{
		Sought: tracing.Sought{Person: tracing.Person{FullName: name, Sex: tracing.SexMale, BirthYear: year, Nationality: "HN"},
			Relationship: tracing.RelSibling, LastPlace: tracing.Place{PlaceID: "3530597", Name: "Ciudad de México", Country: "MX"},
			LastContact: tracing.Month{Year: 2025, Month: 11}, What: tracing.SeparatedOnRoute},
		Enquirer: "Ana Hernández", Channel: "whatsapp", Address: "+50499123456", Lang: "es", ConsentTracing: true,
	}
}

func (e *env) create(by staff.Actor, in casework.Interview) casework.Created {
	e.t.Helper()
	c, err := e.svc.CreateInterview(ctx, by, in)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// put stores a case as the chat would (status new, no caseworker).
func (e *env) put(c *tracing.Case) {
	e.t.Helper()
	now := e.staff.Clock.Now()
	if c.Code == "" {
		code, err := tracing.NewCode()
		if err != nil {
			e.t.Fatal(err)
		}
		c.Code = code
	}
	if c.Status == "" {
		c.Status = tracing.StatusNew
	}
	if c.Created.IsZero() {
		c.Created, c.Updated = now, now
	}
	rec, err := tracing.NewRecord(e.staff.Keys, c, "p"+c.ID, "", now, 30*24*time.Hour)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.st.PutCase(ctx, rec, now); err != nil {
		e.t.Fatal(err)
	}
}

func TestCasework(t *testing.T) {
	for name, open := range teststores.WithStaff() {
		t.Run(name, func(t *testing.T) {
			t.Run("forbidden", func(t *testing.T) { testForbidden(t, newEnv(t, open)) })
			t.Run("interview", func(t *testing.T) { testInterview(t, newEnv(t, open)) })
			t.Run("reads audited", func(t *testing.T) { testReadsAudited(t, newEnv(t, open)) })
			t.Run("updates", func(t *testing.T) { testUpdates(t, newEnv(t, open)) })
			t.Run("transitions", func(t *testing.T) { testTransitions(t, newEnv(t, open)) })
			t.Run("assign and notes", func(t *testing.T) { testAssignNotes(t, newEnv(t, open)) })
			t.Run("matching", func(t *testing.T) { testMatching(t, newEnv(t, open)) })
			t.Run("list", func(t *testing.T) { testList(t, newEnv(t, open)) })
			t.Run("erased", func(t *testing.T) { testErased(t, newEnv(t, open)) })
			t.Run("concurrent changes", func(t *testing.T) { testConcurrent(t, newEnv(t, open)) })
		})
	}
}

// testForbidden: a volunteer (and an admin) get ErrForbidden from every
// method, before anything is read, written, sent or audited.
func testForbidden(t *testing.T, e *env) {
	cw := e.actor("carla", staff.RoleCaseworker)
	id := e.create(cw, interview("José Luis Hernández García", 1990)).Case.ID
	e.notify.take()
	other := e.create(cw, interview("Jose Luis Hernandes", 1990)).Case.ID
	e.notify.take()
	for _, who := range []staff.Actor{e.actor("vera", staff.RoleVolunteer), e.actor("adam", staff.RoleAdmin)} {
		calls := map[string]func() error{
			"List":            func() error { _, err := e.svc.List(ctx, who, casework.Filter{}); return err },
			"Get":             func() error { _, err := e.svc.Get(ctx, who, id); return err },
			"Export":          func() error { _, err := e.svc.Export(ctx, who, id); return err },
			"Updates":         func() error { _, err := e.svc.Updates(ctx, who, id); return err },
			"CreateInterview": func() error { _, err := e.svc.CreateInterview(ctx, who, interview("X Y", 1990)); return err },
			"Assign":          func() error { _, err := e.svc.Assign(ctx, who, id, ""); return err },
			"Transition": func() error {
				_, err := e.svc.Transition(ctx, who, id, tracing.StatusSearching, "")
				return err
			},
			"AddNote": func() error { _, err := e.svc.AddNote(ctx, who, id, "note"); return err },
			"SendUpdate": func() error {
				_, err := e.svc.SendUpdate(ctx, who, id, casework.Notification{Template: tracing.TemplateStillSearching})
				return err
			},
			"Matches":      func() error { _, err := e.svc.Matches(ctx, who, id); return err },
			"ConfirmMatch": func() error { _, err := e.svc.ConfirmMatch(ctx, who, id, other); return err },
			"DismissMatch": func() error { _, err := e.svc.DismissMatch(ctx, who, id, other); return err },
		}
		for method, call := range calls {
			err := call()
			if !errors.Is(err, casework.ErrForbidden) || !errors.Is(err, staff.ErrForbidden) {
				t.Errorf("%s %s: got %v, want ErrForbidden", who.Role, method, err)
			}
		}
		entries, err := e.staff.Service.AuditRecent(ctx, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, en := range entries {
			if en.Staff == who.ID && en.Action != staff.ActionStaffAdd {
				t.Errorf("%s: audited %s though refused", who.Role, en.Action)
			}
		}
	}
	if ev := e.notify.take(); len(ev) != 0 {
		t.Errorf("refused calls reached the chat: %+v", ev)
	}
	v, err := e.svc.Get(ctx, cw, id)
	if err != nil {
		t.Fatal(err)
	}
	if v.Case.Status != tracing.StatusOpen || len(v.Case.Notes) != 0 || len(v.Case.Updates) != 0 {
		t.Errorf("refused calls changed the case: %+v", v.Case)
	}
}

// testInterview: a case taken at an assistance point is stored open, assigned
// to the caseworker, under the enquirer's person key, and their chat gets the
// code (tracing_opened); bad input is refused with the field named.
func testInterview(t *testing.T, e *env) {
	cw := e.actor("carla", staff.RoleCaseworker)
	in := interview("José Luis Hernández García", 1990)
	in.Address = "+504 9912 3456" // as the caseworker types it
	got := e.create(cw, in)
	c := got.Case
	if !got.Notified || c.Status != tracing.StatusOpen || got.Caseworker != cw.ID || !c.Code.Valid() || !c.Consent.Tracing {
		t.Fatalf("created %+v", got)
	}
	if c.Reach.Address != "+50499123456" || c.Reach.Channel != "whatsapp" || c.Enquirer.FullName != "Ana Hernández" {
		t.Errorf("reach %+v, enquirer %+v", c.Reach, c.Enquirer)
	}
	rec, err := e.st.GetCase(ctx, c.ID, e.staff.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if want := personOf("whatsapp", "+50499123456"); rec.EnquirerKey != want || rec.Caseworker != cw.ID {
		t.Errorf("record enquirer %q caseworker %q, want %q %q", rec.EnquirerKey, rec.Caseworker, want, cw.ID)
	}
	if id, err := e.st.CaseByCode(ctx, tracing.CodeKey(e.staff.Keys, c.Code), e.staff.Clock.Now()); err != nil || id != c.ID {
		t.Errorf("case by code: %q %v", id, err)
	}
	ev := e.notify.take()
	want := []event{{rec.EnquirerKey, "case-opened-" + c.ID, flows.Input{Action: flows.StaffTracingOpened, Case: c.ID, Text: c.Code.String()}}}
	if !slices.Equal(ev, want) {
		t.Errorf("events %+v, want %+v", ev, want)
	}
	if n := e.audited(staff.ActionCaseCreate, c.ID); n != 1 {
		t.Errorf("case.create audited %d times", n)
	}

	// The chat cannot be reached: the case is kept, Notified says so.
	e.notify.fail = errors.New("bot: not found")
	got = e.create(cw, interview("María Pérez", 1980))
	e.notify.fail = nil
	if got.Notified {
		t.Error("Notified though the chat failed")
	}
	if _, err := e.svc.Get(ctx, cw, got.Case.ID); err != nil {
		t.Errorf("case not kept: %v", err)
	}

	bad := []struct {
		label string
		edit  func(*casework.Interview)
		want  error
	}{
		{"no consent", func(in *casework.Interview) { in.ConsentTracing = false }, casework.ErrNoConsent},
		{"no name", func(in *casework.Interview) { in.Sought.FullName = "  " }, casework.ErrInvalid},
		{"no enquirer", func(in *casework.Interview) { in.Enquirer = "" }, casework.ErrInvalid},
		{"channel", func(in *casework.Interview) { in.Channel = "email" }, casework.ErrInvalid},
		{"phone", func(in *casework.Interview) { in.Address = "12345" }, casework.ErrInvalid},
		{"telegram id", func(in *casework.Interview) { in.Channel, in.Address = "telegram", "@ana" }, casework.ErrInvalid},
		{"language", func(in *casework.Interview) { in.Lang = "de" }, casework.ErrInvalid},
		{"sex", func(in *casework.Interview) { in.Sought.Sex = "m" }, casework.ErrInvalid},
		{"birth year", func(in *casework.Interview) { in.Sought.BirthYear = 3000 }, casework.ErrInvalid},
		{"nationality", func(in *casework.Interview) { in.Sought.Nationality = "honduras" }, casework.ErrInvalid},
		{"month", func(in *casework.Interview) { in.Sought.LastContact.Month = 13 }, casework.ErrInvalid},
		{"relationship", func(in *casework.Interview) { in.Sought.Relationship = "cousin" }, casework.ErrInvalid},
	}
	for _, b := range bad {
		in := interview("José Luis Hernández García", 1990)
		b.edit(&in)
		if _, err := e.svc.CreateInterview(ctx, cw, in); !errors.Is(err, b.want) {
			t.Errorf("%s: got %v, want %v", b.label, err, b.want)
		}
	}
	if ev := e.notify.take(); len(ev) != 0 {
		t.Errorf("refused interviews reached the chat: %+v", ev)
	}
}

// testReadsAudited: every read of personal data leaves one audit entry
// naming the case (the list: none).
func testReadsAudited(t *testing.T, e *env) {
	cw := e.actor("carla", staff.RoleCaseworker)
	id := e.create(cw, interview("José Luis Hernández García", 1990)).Case.ID
	reads := []struct {
		action, subject string
		read            func() error
	}{
		{staff.ActionCaseList, "", func() error { _, err := e.svc.List(ctx, cw, casework.Filter{}); return err }},
		{staff.ActionCaseView, id, func() error { _, err := e.svc.Get(ctx, cw, id); return err }},
		{staff.ActionCaseUpdates, id, func() error { _, err := e.svc.Updates(ctx, cw, id); return err }},
		{staff.ActionMatchList, id, func() error { _, err := e.svc.Matches(ctx, cw, id); return err }},
		{staff.ActionCaseExport, id, func() error { _, err := e.svc.Export(ctx, cw, id); return err }},
	}
	for _, r := range reads {
		before := e.audited(r.action, r.subject)
		if err := r.read(); err != nil {
			t.Fatalf("%s: %v", r.action, err)
		}
		if n := e.audited(r.action, r.subject) - before; n != 1 {
			t.Errorf("%s: %d audit entries, want 1", r.action, n)
		}
	}
	// A case that is not there is not audited, and says so.
	if _, err := e.svc.Get(ctx, cw, "c0000000000000000000a"); !errors.Is(err, casework.ErrNotFound) {
		t.Errorf("missing case: %v", err)
	}
	if _, err := e.svc.Get(ctx, cw, "no/such{id}"); !errors.Is(err, casework.ErrBadID) {
		t.Errorf("malformed id: %v", err)
	}
}

// testUpdates: a notification is kept queued and reaches the chat as
// tracing_update; the same entry again makes no second update.
func testUpdates(t *testing.T, e *env) {
	cw := e.actor("carla", staff.RoleCaseworker)
	created := e.create(cw, interview("José Luis Hernández García", 1990))
	id := created.Case.ID
	e.notify.take()
	e.staff.Clock.Advance(time.Minute)
	u, err := e.svc.SendUpdate(ctx, cw, id, casework.Notification{Entry: "e1", Template: tracing.TemplateContactPoint, Param: "Casa del Migrante, Tapachula"})
	if err != nil {
		t.Fatal(err)
	}
	if u.ID != "u-e1" || u.Status() != tracing.DeliveryQueued || u.By != cw.ID || u.Param != "Casa del Migrante, Tapachula" {
		t.Errorf("update %+v", u)
	}
	person := personOf("whatsapp", "+50499123456")
	want := []event{{person, "u-e1", flows.Input{Action: flows.StaffTracingUpdate, Case: id, Entry: "u-e1"}}}
	if ev := e.notify.take(); !slices.Equal(ev, want) {
		t.Errorf("events %+v, want %+v", ev, want)
	}
	if n := e.audited(staff.ActionCaseNotify, id); n != 1 {
		t.Errorf("case.notify audited %d times", n)
	}
	// Sent again (a retry): one update; the chat is told again, and dedupes it by id.
	if _, err := e.svc.SendUpdate(ctx, cw, id, casework.Notification{Entry: "e1", Template: tracing.TemplateContactPoint, Param: "Casa del Migrante, Tapachula"}); err != nil {
		t.Fatal(err)
	}
	if ev := e.notify.take(); !slices.Equal(ev, want) {
		t.Errorf("retry: events %+v, want %+v", ev, want)
	}
	// The chat is down: the update is kept queued, the error says so.
	e.notify.fail = errors.New("down")
	_, err = e.svc.SendUpdate(ctx, cw, id, casework.Notification{Entry: "e2", Template: tracing.TemplateOwnText, Text: "Seguimos buscando en Tapachula."})
	e.notify.fail = nil
	if !errors.Is(err, casework.ErrNotNotified) {
		t.Errorf("chat down: %v", err)
	}
	ups, err := e.svc.Updates(ctx, cw, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(ups) != 2 || ups[0].ID != "u-e1" || ups[1].ID != "u-e2" || ups[1].Status() != tracing.DeliveryQueued {
		t.Errorf("updates %+v", ups)
	}
	long := make([]rune, casework.MaxOwnTextRunes+1)
	for i := range long {
		long[i] = 'a'
	}
	bad := []casework.Notification{
		{Template: "death"},
		{Template: tracing.TemplateOwnText},
		{Template: tracing.TemplateOwnText, Text: string(long)},
		{Template: tracing.TemplateContactPoint},
		{Template: tracing.TemplateNews, Text: "extra"},
	}
	for _, n := range bad {
		if _, err := e.svc.SendUpdate(ctx, cw, id, n); !errors.Is(err, casework.ErrInvalid) {
			t.Errorf("%+v: got %v, want ErrInvalid", n, err)
		}
	}
	if _, err := e.svc.SendUpdate(ctx, cw, id, casework.Notification{Entry: "bad entry", Template: tracing.TemplateNews}); !errors.Is(err, casework.ErrBadID) {
		t.Errorf("bad entry: %v", err)
	}
	if ev := e.notify.take(); len(ev) != 0 {
		t.Errorf("refused updates reached the chat: %+v", ev)
	}
}

// testTransitions follows the status rules through the service.
func testTransitions(t *testing.T, e *env) {
	cw := e.actor("carla", staff.RoleCaseworker)
	id := e.create(cw, interview("José Luis Hernández García", 1990)).Case.ID
	steps := []struct {
		to     tracing.Status
		reason tracing.ClosingReason
		want   error
	}{
		{tracing.StatusLocated, "", casework.ErrTransition}, // open → located skips searching
		{tracing.StatusSearching, "", nil},
		{tracing.StatusClosed, tracing.ClosedReunited, casework.ErrTransition}, // not located yet
		{tracing.StatusClosed, "", casework.ErrInvalid},                        // a reason is needed
		{tracing.StatusClosed, "lost", casework.ErrInvalid},
		{"found", "", casework.ErrInvalid},
		{tracing.StatusOpen, tracing.ClosedReunited, casework.ErrTransition}, // a reason only with closed
		{tracing.StatusLocated, "", nil},
		{tracing.StatusClosed, tracing.ClosedContactRestored, nil},
		{tracing.StatusOpen, "", casework.ErrTransition}, // contact restored does not reopen
	}
	for _, s := range steps {
		v, err := e.svc.Transition(ctx, cw, id, s.to, s.reason)
		if !errors.Is(err, s.want) || s.want != nil && err == nil {
			t.Fatalf("→ %s %s: got %v, want %v", s.to, s.reason, err, s.want)
		}
		if err == nil && (v.Case.Status != s.to || v.Case.Closing != s.reason) {
			t.Errorf("→ %s %s: case is %s %s", s.to, s.reason, v.Case.Status, v.Case.Closing)
		}
	}
	v, err := e.svc.Get(ctx, cw, id)
	if err != nil {
		t.Fatal(err)
	}
	if !v.Case.Closed.Equal(e.staff.Clock.Now()) || !v.Expires.Equal(v.Case.Closed.Add(30*24*time.Hour)) {
		t.Errorf("closed %v, expires %v", v.Case.Closed, v.Expires)
	}
	if n := e.audited(staff.ActionCaseStatus, id); n != 3 {
		t.Errorf("case.status audited %d times, want 3", n)
	}
}

// testAssignNotes: assigning (to oneself, to another caseworker, not to a
// volunteer) and notes sealed in the case.
func testAssignNotes(t *testing.T, e *env) {
	carla := e.actor("carla", staff.RoleCaseworker)
	dario := e.actor("dario", staff.RoleCaseworker)
	vera := e.actor("vera", staff.RoleVolunteer)
	c := &tracing.Case{ID: "chat1", Consent: tracing.Consent{Tracing: true}, Sought: tracing.Sought{Person: tracing.Person{FullName: "Rosa Martínez"}}}
	e.put(c)
	v, err := e.svc.Assign(ctx, dario, c.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	if v.Caseworker != dario.ID || v.Case.Status != tracing.StatusOpen {
		t.Errorf("assigned to self: %s %s", v.Caseworker, v.Case.Status)
	}
	if v, err = e.svc.Assign(ctx, dario, c.ID, carla.ID); err != nil || v.Caseworker != carla.ID {
		t.Errorf("assigned to carla: %v %v", v.Caseworker, err)
	}
	for _, to := range []string{vera.ID, "0123456789abcdef"} {
		if _, err := e.svc.Assign(ctx, dario, c.ID, to); !errors.Is(err, casework.ErrNotCaseworker) {
			t.Errorf("assign to %s: %v", to, err)
		}
	}
	if n := e.audited(staff.ActionCaseAssign, c.ID); n != 2 {
		t.Errorf("case.assign audited %d times", n)
	}
	mine, err := e.svc.List(ctx, carla, casework.Filter{Caseworker: carla.ID})
	if err != nil || len(mine) != 1 || mine[0].ID != c.ID {
		t.Errorf("carla's cases: %+v %v", mine, err)
	}

	e.staff.Clock.Advance(time.Hour)
	n, err := e.svc.AddNote(ctx, carla, c.ID, "  Llamó la hermana; vuelve el lunes.  ")
	if err != nil {
		t.Fatal(err)
	}
	if n.Text != "Llamó la hermana; vuelve el lunes." || n.By != carla.ID || !n.At.Equal(e.staff.Clock.Now()) {
		t.Errorf("note %+v", n)
	}
	if _, err := e.svc.AddNote(ctx, carla, c.ID, " "); !errors.Is(err, casework.ErrInvalid) {
		t.Errorf("empty note: %v", err)
	}
	v, err = e.svc.Get(ctx, carla, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Case.Notes) != 1 || v.Case.Notes[0] != n || !v.Waiting.Equal(n.At) {
		t.Errorf("notes %+v, waiting %v", v.Case.Notes, v.Waiting)
	}
	rec, err := e.st.GetCase(ctx, c.ID, e.staff.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(rec.Sealed, []byte("hermana")) {
		t.Error("the note is in the store in clear")
	}
	if rec.EnquirerKey != "pchat1" {
		t.Errorf("a change lost the enquirer key: %q", rec.EnquirerKey)
	}
}

// testMatching: "Jose Luis Hernandes" finds "José Luis Hernández García",
// never a case without consent, withdrawn or erased; decisions are kept on
// both cases; a service started later finds the same after Load.
func testMatching(t *testing.T, e *env) {
	cw := e.actor("carla", staff.RoleCaseworker)
	target := e.create(cw, interview("José Luis Hernández García", 1990)).Case.ID
	query := e.create(cw, interview("Jose Luis Hernandes", 1990)).Case.ID
	noConsent := &tracing.Case{ID: "noconsent", Sought: tracing.Sought{Person: tracing.Person{FullName: "José Luis Hernández García", Sex: tracing.SexMale, BirthYear: 1990}}}
	withdrawn := &tracing.Case{ID: "withdrawn", Consent: tracing.Consent{Tracing: true}, Sought: noConsent.Sought}
	erased := &tracing.Case{ID: "erased", Consent: tracing.Consent{Tracing: true}, Sought: noConsent.Sought}
	for _, c := range []*tracing.Case{noConsent, withdrawn, erased} {
		e.put(c)
	}
	if _, err := e.svc.Load(ctx); err != nil {
		t.Fatal(err)
	}
	// Withdrawn by the caseworker (the person asked by phone); erased by the chat.
	if _, err := e.svc.Transition(ctx, cw, withdrawn.ID, tracing.StatusClosed, tracing.ClosedWithdrawn); err != nil {
		t.Fatal(err)
	}
	erased.Withdraw(e.staff.Clock.Now())
	e.put(erased) // behind the service's back: Matches checks the store

	ids := func(ms []casework.MatchView) []string {
		var out []string
		for _, m := range ms {
			out = append(out, m.CaseID)
		}
		return out
	}
	ms, err := e.svc.Matches(ctx, cw, query)
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(ms); !slices.Equal(got, []string{target}) {
		t.Fatalf("matches of %q: %v, want only %s", "Jose Luis Hernandes", got, target)
	}
	m := ms[0]
	if m.Score < tracing.MinScore || m.Kind != tracing.SameSought || m.Status != tracing.StatusOpen || m.Decision != nil || len(m.Reasons) == 0 {
		t.Errorf("match %+v", m)
	}
	if !slices.ContainsFunc(m.Reasons, func(r tracing.Reason) bool { return r.Code == tracing.NameSoundsAlike }) {
		t.Errorf("reasons %+v lack name_sounds_alike", m.Reasons)
	}
	for _, id := range []string{noConsent.ID, withdrawn.ID, erased.ID} {
		if ms, err := e.svc.Matches(ctx, cw, id); err != nil || len(ms) != 0 {
			t.Errorf("%s has matches %v (%v)", id, ids(ms), err)
		}
		if _, err := e.svc.ConfirmMatch(ctx, cw, target, id); !errors.Is(err, casework.ErrNotMatchable) {
			t.Errorf("confirm with %s: %v", id, err)
		}
	}

	// Listing changed nothing.
	if v, err := e.svc.Get(ctx, cw, query); err != nil || len(v.Case.MatchDecisions) != 0 {
		t.Errorf("listing matches changed the case: %+v %v", v.Case.MatchDecisions, err)
	}
	d, err := e.svc.DismissMatch(ctx, cw, query, target)
	if err != nil {
		t.Fatal(err)
	}
	if d.Decision != tracing.MatchDismissed || d.Other != target || d.By != cw.ID {
		t.Errorf("decision %+v", d)
	}
	if d, err = e.svc.ConfirmMatch(ctx, cw, query, target); err != nil || d.Decision != tracing.MatchConfirmed {
		t.Errorf("confirm: %+v %v", d, err)
	}
	for _, pair := range [][2]string{{query, target}, {target, query}} {
		ms, err := e.svc.Matches(ctx, cw, pair[0])
		if err != nil || len(ms) != 1 || ms[0].Decision == nil || ms[0].Decision.Decision != tracing.MatchConfirmed || ms[0].CaseID != pair[1] {
			t.Errorf("matches of %s after confirm: %+v %v", pair[0], ms, err)
		}
		v, _ := e.svc.Get(ctx, cw, pair[0])
		if len(v.Case.MatchDecisions) != 1 {
			t.Errorf("%s keeps %d decisions, want 1 (the latest)", pair[0], len(v.Case.MatchDecisions))
		}
	}
	if e.audited(staff.ActionMatchDismiss, query+":"+target) != 1 || e.audited(staff.ActionMatchConfirm, query+":"+target) != 1 {
		t.Error("decisions not audited")
	}
	if _, err := e.svc.ConfirmMatch(ctx, cw, query, query); !errors.Is(err, casework.ErrSameCase) {
		t.Errorf("confirm with itself: %v", err)
	}
	if _, err := e.svc.ConfirmMatch(ctx, cw, query, "c0000000000000000000a"); !errors.Is(err, casework.ErrNotFound) {
		t.Errorf("confirm with a missing case: %v", err)
	}

	// Another process, started later, finds the same once loaded.
	later := e.service()
	if n, err := later.Load(ctx); err != nil || n != 2 {
		t.Fatalf("Load: %d cases in the index (%v), want 2", n, err)
	}
	if ms, err := later.Matches(ctx, cw, query); err != nil || !slices.Equal(ids(ms), []string{target}) {
		t.Errorf("after Load: %v %v", ids(ms), err)
	}
}

// testList: filters and paging; an erased case shows only that it was withdrawn.
func testList(t *testing.T, e *env) {
	cw := e.actor("carla", staff.RoleCaseworker)
	clock := e.staff.Clock
	mk := func(id, name, nat, country, place string, year int) {
		e.put(&tracing.Case{ID: id, Consent: tracing.Consent{Tracing: true}, Sought: tracing.Sought{
			Person: tracing.Person{FullName: name, Nationality: nat, BirthYear: year}, LastPlace: tracing.Place{Country: country, PlaceID: place}}})
		clock.Advance(time.Hour)
	}
	mk("a1", "Ana Uno", "HN", "MX", "3530597", 2010)   // 16 at the clock's 2026
	mk("a2", "Berta Dos", "HT", "MX", "3514783", 1980) // 46
	mk("a3", "Carlos Tres", "HN", "GT", "", 0)
	mk("a4", "Dina Cuatro", "SV", "US", "", 1950) // 76
	if _, err := e.svc.Transition(ctx, cw, "a3", tracing.StatusOpen, ""); err != nil {
		t.Fatal(err)
	}
	gone := &tracing.Case{ID: "a5", Consent: tracing.Consent{Tracing: true}, Sought: tracing.Sought{Person: tracing.Person{FullName: "Elena Cinco"}}}
	e.put(gone)
	gone.Withdraw(clock.Now())
	e.put(gone)
	clock.Advance(time.Hour)

	cases := []struct {
		label string
		f     casework.Filter
		want  []string
	}{
		{"all, longest waiting first", casework.Filter{}, []string{"a1", "a2", "a4", "a3", "a5"}},
		{"new", casework.Filter{Statuses: []tracing.Status{tracing.StatusNew}}, []string{"a1", "a2", "a4"}},
		{"open or closed", casework.Filter{Statuses: []tracing.Status{tracing.StatusOpen, tracing.StatusClosed}}, []string{"a3", "a5"}},
		{"nationality", casework.Filter{Nationality: "HN"}, []string{"a1", "a3"}},
		{"country", casework.Filter{Place: "MX"}, []string{"a1", "a2"}},
		{"place id", casework.Filter{Place: "3514783"}, []string{"a2"}},
		{"minors", casework.Filter{MaxAge: 17}, []string{"a1"}},
		{"18 to 60", casework.Filter{MinAge: 18, MaxAge: 60}, []string{"a2"}},
		{"over 60", casework.Filter{MinAge: 60}, []string{"a4"}},
		{"waiting 3 hours or more", casework.Filter{WaitingFor: 3 * time.Hour}, []string{"a1", "a2"}}, // a4: 2 hours
		{"page", casework.Filter{Offset: 1, Limit: 2}, []string{"a2", "a4"}},
		{"filtered page", casework.Filter{Place: "MX", Offset: 1, Limit: 1}, []string{"a2"}},
		{"past the end", casework.Filter{Offset: 10}, nil},
	}
	for _, c := range cases {
		got, err := e.svc.List(ctx, cw, c.f)
		if err != nil {
			t.Fatalf("%s: %v", c.label, err)
		}
		var ids []string
		for _, s := range got {
			ids = append(ids, s.ID)
		}
		if !slices.Equal(ids, c.want) {
			t.Errorf("%s: %v, want %v", c.label, ids, c.want)
		}
	}
	all, _ := e.svc.List(ctx, cw, casework.Filter{})
	for _, s := range all {
		switch s.ID {
		case "a1":
			if s.Sought != "Ana Uno" || s.Status != tracing.StatusNew || s.Withdrawn {
				t.Errorf("a1: %+v", s)
			}
		case "a5":
			if s.Sought != "" || !s.Withdrawn || s.Status != tracing.StatusClosed {
				t.Errorf("erased case in the list: %+v", s)
			}
		}
	}
	bad := []casework.Filter{
		{Statuses: []tracing.Status{"lost"}}, {Nationality: "hn"}, {Place: "mexico city"}, {MinAge: -1},
		{MinAge: 30, MaxAge: 20}, {Limit: 501}, {Offset: -1}, {WaitingFor: -time.Hour},
	}
	for _, f := range bad {
		if _, err := e.svc.List(ctx, cw, f); !errors.Is(err, casework.ErrInvalid) {
			t.Errorf("%+v: got %v, want ErrInvalid", f, err)
		}
	}
}

// testErased: a case the person erased shows only "withdrawn by the person"
// and changes no more.
func testErased(t *testing.T, e *env) {
	cw := e.actor("carla", staff.RoleCaseworker)
	created := e.create(cw, interview("José Luis Hernández García", 1990))
	e.notify.take()
	c := created.Case
	full, err := e.svc.Export(ctx, cw, c.ID)
	if err != nil || full.Case.Sought.FullName == "" || full.Case.Reach.Address == "" {
		t.Fatalf("export %+v %v", full, err)
	}
	rec, err := e.st.GetCase(ctx, c.ID, e.staff.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	stored, err := tracing.OpenCase(e.staff.Keys, c.ID, rec.Sealed)
	if err != nil {
		t.Fatal(err)
	}
	stored.PINHash = "argon2id$secret"
	stored.Withdraw(e.staff.Clock.Now())
	stored.PINHash = "argon2id$secret" // even if a store kept it, a view never shows it
	next, err := tracing.NewRecord(e.staff.Keys, stored, rec.EnquirerKey, rec.Caseworker, rec.Waiting, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.st.PutCase(ctx, next, e.staff.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	for label, get := range map[string]func() (casework.View, error){
		"get":    func() (casework.View, error) { return e.svc.Get(ctx, cw, c.ID) },
		"export": func() (casework.View, error) { return e.svc.Export(ctx, cw, c.ID) },
	} {
		v, err := get()
		if err != nil {
			t.Fatal(err)
		}
		want := tracing.Case{ID: c.ID, Status: tracing.StatusClosed, Closing: tracing.ClosedWithdrawn,
			Created: c.Created, Updated: e.staff.Clock.Now(), Closed: e.staff.Clock.Now(), Erased: true}
		if fmt.Sprint(v.Case) != fmt.Sprint(want) || !v.Withdrawn() {
			t.Errorf("%s: %+v, want only withdrawn %+v", label, v.Case, want)
		}
	}
	if _, err := e.svc.AddNote(ctx, cw, c.ID, "x"); !errors.Is(err, casework.ErrWithdrawn) {
		t.Errorf("note on an erased case: %v", err)
	}
	if _, err := e.svc.SendUpdate(ctx, cw, c.ID, casework.Notification{Template: tracing.TemplateNews}); !errors.Is(err, casework.ErrWithdrawn) {
		t.Errorf("update on an erased case: %v", err)
	}
	if ev := e.notify.take(); len(ev) != 0 {
		t.Errorf("an erased case's enquirer was notified: %+v", ev)
	}
}

// testConcurrent: caseworkers adding notes to one case at once lose none.
func testConcurrent(t *testing.T, e *env) {
	carla := e.actor("carla", staff.RoleCaseworker)
	dario := e.actor("dario", staff.RoleCaseworker)
	id := e.create(carla, interview("José Luis Hernández García", 1990)).Case.ID
	// Dario works in another process: a Service of its own on the same store,
	// so only the store's ReplaceCase keeps the two from losing notes.
	other := e.service()
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 10 {
		wg.Go(func() { _, err := e.svc.AddNote(ctx, carla, id, fmt.Sprintf("carla %d", i)); errs <- err })
		wg.Go(func() { _, err := other.AddNote(ctx, dario, id, fmt.Sprintf("dario %d", i)); errs <- err })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	v, err := e.svc.Get(ctx, carla, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Case.Notes) != 20 {
		t.Errorf("%d notes kept, want 20", len(v.Case.Notes))
	}
}

// TestFindableMatches: an Enlace user who said they are safe and agreed to
// be found matches the request of a relative who looks for them, shown as
// findable (the caseworker asks them before telling anyone where they are);
// in the list it is marked findable too.
func TestFindableMatches(t *testing.T) {
	for name, open := range teststores.WithStaff() {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, open)
			cw := e.actor("carla", staff.RoleCaseworker)
			me := tracing.Person{FullName: "José Luis Hernández García", BirthYear: 1992}
			findable := &tracing.Case{ID: "kfindable1", Kind: tracing.KindFindable, Consent: tracing.Consent{Tracing: true},
				Enquirer: me, Sought: tracing.Sought{Person: me}, Reach: tracing.Reach{Channel: "sms", Address: "+5215512345678", Lang: "es"}}
			e.put(findable)
			query := e.create(cw, interview("Jose Luis Hernandes", 1993)).Case.ID
			if _, err := e.svc.Load(ctx); err != nil {
				t.Fatal(err)
			}
			ms, err := e.svc.Matches(ctx, cw, query)
			if err != nil {
				t.Fatal(err)
			}
			if len(ms) != 1 || ms[0].CaseID != findable.ID || !ms[0].Findable || ms[0].Score < tracing.MinScore {
				t.Fatalf("matches %+v: want the findable person", ms)
			}
			list, err := e.svc.List(ctx, cw, casework.Filter{})
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, s := range list {
				if s.ID == findable.ID {
					found = s.Findable && s.Sought == me.FullName
				} else if s.Findable {
					t.Errorf("a request listed as findable: %+v", s)
				}
			}
			if !found {
				t.Errorf("the findable person is not listed as such: %+v", list)
			}
		})
	}
}
