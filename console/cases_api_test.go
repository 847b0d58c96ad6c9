package console_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/enlace-rfl/enlace/casework"
	"github.com/enlace-rfl/enlace/console"
	"github.com/enlace-rfl/enlace/console/apitest"
	"github.com/enlace-rfl/enlace/flows"
	"github.com/enlace-rfl/enlace/staff"
	"github.com/enlace-rfl/enlace/staff/stafftest"
	"github.com/enlace-rfl/enlace/store/teststores"
	"github.com/enlace-rfl/enlace/tracing"
)

// caseStore is what each store opened for the tests gives.
type caseStore = teststores.Store

// chatEvents records the staff events for the enquirers' chats (bot.Pipeline
// in serve), and fails when told.
type chatEvents struct {
	mu     sync.Mutex
	events []flows.Input
	people []string
	fail   error
}

func (c *chatEvents) PersonOf(_ context.Context, channel, address string) (string, error) {
	return "p" + strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, address), nil
}

func (c *chatEvents) StaffEvent(_ context.Context, person, _ string, in flows.Input) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fail != nil {
		return c.fail
	}
	c.events, c.people = append(c.events, in), append(c.people, person)
	return nil
}

func (c *chatEvents) take() []flows.Input {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.events
	c.events, c.people = nil, nil
	return out
}

// casesSite is a console with the tracing API on a real store, and a
// validator of its answers.
type casesSite struct {
	t    *testing.T
	env  *stafftest.Env
	st   caseStore
	chat *chatEvents
	srv  *httptest.Server
	v    *apitest.Validator
}

func newCasesSite(t *testing.T, open func(t *testing.T) (caseStore, *stafftest.Env)) *casesSite {
	t.Helper()
	st, env := open(t)
	s := &casesSite{t: t, env: env, st: st, chat: &chatEvents{}, v: apitest.New(t)}
	cases := casework.New(casework.Config{Cases: st, Keys: env.Keys, Staff: env.Service, Notifier: s.chat, Clock: env.Clock.Now})
	if _, err := cases.Load(ctx); err != nil {
		t.Fatal(err)
	}
	c, err := console.New(console.Config{Staff: env.Service, Cases: cases})
	if err != nil {
		t.Fatal(err)
	}
	s.srv = httptest.NewTLSServer(c)
	t.Cleanup(s.srv.Close)
	return s
}

func (s *casesSite) member(name string, role staff.Role) member {
	s.t.Helper()
	a, _, err := s.env.Service.Add(ctx, staff.Operator, name, role, []string{"es"})
	if err != nil {
		s.t.Fatal(err)
	}
	tok, _, err := s.env.Service.IssueToken(ctx, staff.Operator, a.ID)
	if err != nil {
		s.t.Fatal(err)
	}
	return member{a, tok}
}

// call sends an API request as m (body: a JSON value, or a string sent as
// is), checks the answer against openapi.json, decodes it into out (when not
// nil) and returns its status and headers. An answer of 500 fails the test.
func (s *casesSite) call(t *testing.T, m member, method, path string, body, out any) (int, http.Header) {
	t.Helper()
	var rd io.Reader = http.NoBody
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	r, err := http.NewRequest(method, s.srv.URL+"/api/v1"+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	r.Header.Set("Authorization", "Bearer "+m.token)
	resp, err := s.srv.Client().Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	s.v.Check(t, r, resp.StatusCode, resp.Header, b)
	if resp.StatusCode >= 500 && resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("%s %s answered %d: %s", method, path, resp.StatusCode, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v\n%s", method, path, err, b)
		}
	}
	return resp.StatusCode, resp.Header
}

func (s *casesSite) audited(action string) int {
	s.t.Helper()
	entries, err := s.env.Service.AuditRecent(ctx, 10000)
	if err != nil {
		s.t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if e.Action == action {
			n++
		}
	}
	return n
}

func interviewBody(name string) map[string]any {
	return map[string]any{
		"sought": map[string]any{"full_name": name, "sex": "male", "birth_year": 1990, "nationality": "HN",
			"relationship": "sibling", "last_place": map[string]any{"place_id": "3530597", "name": "Ciudad de México", "country": "MX"},
			"last_contact": map[string]any{"year": 2025, "month": 11}, "what": "separated_on_route"},
		"enquirer": "Ana Hernández", "channel": "whatsapp", "address": "+504 9912 3456", "lang": "es",
		"consent": map[string]any{"tracing": true, "share_network": false},
	}
}

// apiCase is what the tests read of a case.
type apiCase struct {
	ID, Code, Status, Closing, Summary string
	Withdrawn                          bool
	Caseworker                         *console.Holder
	Sought                             *tracing.Sought
	Reach                              *tracing.Reach
	Notes                              []console.NoteItem
	Updates                            []console.UpdateItem
	MatchDecisions                     []console.DecisionItem `json:"match_decisions"`
}

type apiError struct{ Error, Message string }

// TestCasesAPIForbidden: a volunteer's (and an admin's) token gets 403 on
// every tracing endpoint, and nothing is read, written or sent.
func TestCasesAPIForbidden(t *testing.T) {
	s := newCasesSite(t, teststores.WithStaff()["embedded"])
	cw := s.member("carla", staff.RoleCaseworker)
	var created struct{ Case apiCase }
	if st, _ := s.call(t, cw, "POST", "/cases", interviewBody("José Luis Hernández García"), &created); st != 201 {
		t.Fatalf("create: %d", st)
	}
	id := created.Case.ID
	s.chat.take()
	ops := []struct {
		method, path string
		body         any
	}{
		{"GET", "/cases", nil},
		{"GET", "/cases?status=new", nil},
		{"POST", "/cases", interviewBody("María Pérez")},
		{"GET", "/cases/" + id, nil},
		{"POST", "/cases/" + id + "/assign", map[string]string{}},
		{"POST", "/cases/" + id + "/status", map[string]string{"status": "searching"}},
		{"POST", "/cases/" + id + "/notes", map[string]string{"text": "nota"}},
		{"GET", "/cases/" + id + "/updates", nil},
		{"POST", "/cases/" + id + "/updates", map[string]string{"template": "news"}},
		{"GET", "/cases/" + id + "/matches", nil},
		{"POST", "/cases/" + id + "/matches/cother/confirm", nil},
		{"POST", "/cases/" + id + "/matches/cother/dismiss", nil},
		{"GET", "/cases/" + id + "/export", nil},
	}
	before := s.audited(staff.ActionCaseView)
	for _, who := range []member{s.member("vera", staff.RoleVolunteer), s.member("adam", staff.RoleAdmin)} {
		for _, op := range ops {
			var e apiError
			if st, _ := s.call(t, who, op.method, op.path, op.body, &e); st != 403 || e.Error != "forbidden" {
				t.Errorf("%s %s %s: %d %+v, want 403 forbidden", who.Role, op.method, op.path, st, e)
			}
		}
	}
	if len(s.chat.take()) != 0 || s.audited(staff.ActionCaseView) != before || s.audited(staff.ActionCaseCreate) != 1 {
		t.Error("a refused request reached the chat or the audit log as a case action")
	}
}

// TestCasesAPI follows a case through the API on both stores: an interview,
// the list, assign, status, notes, a notification and its delivery, matches
// and the decision, export, and a case the person erased.
func TestCasesAPI(t *testing.T) {
	for name, open := range teststores.WithStaff() {
		t.Run(name, func(t *testing.T) {
			s := newCasesSite(t, open)
			carla := s.member("carla", staff.RoleCaseworker)
			dario := s.member("dario", staff.RoleCaseworker)

			var created struct {
				Case     apiCase
				Notified bool
				Message  string
			}
			if st, _ := s.call(t, carla, "POST", "/cases", interviewBody("José Luis Hernández García"), &created); st != 201 || !created.Notified {
				t.Fatalf("interview: %d %+v", st, created)
			}
			target := created.Case
			if target.Status != "open" || target.Caseworker == nil || target.Caseworker.ID != carla.ID || target.Caseworker.Name != "carla" ||
				!strings.HasPrefix(target.Code, "RFL-") || target.Reach.Address != "+50499123456" {
				t.Errorf("created %+v", target)
			}
			ev := s.chat.take()
			if len(ev) != 1 || ev[0].Action != flows.StaffTracingOpened || ev[0].Case != target.ID || ev[0].Text != target.Code {
				t.Errorf("chat events %+v, want tracing_opened with the code", ev)
			}

			s.env.Clock.Advance(time.Minute)
			body := interviewBody("Jose Luis Hernandes")
			body["address"] = "+50499000111"
			if st, _ := s.call(t, dario, "POST", "/cases", body, &created); st != 201 {
				t.Fatalf("second interview: %d", st)
			}
			query := created.Case.ID
			s.chat.take()

			// The list, with filters.
			var list struct {
				Cases []struct {
					ID, Status, Sought string
					Caseworker         *console.Holder
					Withdrawn          bool
				}
				Offset, Limit int
			}
			if st, _ := s.call(t, carla, "GET", "/cases", nil, &list); st != 200 || len(list.Cases) != 2 || list.Limit != 50 {
				t.Fatalf("list: %d %+v", st, list)
			}
			if list.Cases[0].ID != target.ID || list.Cases[0].Sought != "José Luis Hernández García" {
				t.Errorf("longest waiting first: %+v", list.Cases)
			}
			s.env.Clock.Advance(2 * time.Hour)
			for q, want := range map[string]int{
				"?caseworker=me": 1, "?status=open,searching": 2, "?status=new": 0, "?nationality=HN": 2, "?nationality=HT": 0,
				"?place=MX": 2, "?place=3530597": 2, "?min_age=30&max_age=40": 2, "?max_age=20": 0, "?waiting_hours=1": 2,
				"?waiting_hours=3": 0, "?limit=1&offset=1": 1,
			} {
				if st, _ := s.call(t, carla, "GET", "/cases"+q, nil, &list); st != 200 || len(list.Cases) != want {
					t.Errorf("list%s: %d, %d cases, want %d", q, st, len(list.Cases), want)
				}
			}

			// Assign, status, notes.
			var c apiCase
			if st, _ := s.call(t, carla, "POST", "/cases/"+query+"/assign", map[string]string{"staff": carla.ID}, &c); st != 200 || c.Caseworker.ID != carla.ID {
				t.Errorf("assign: %d %+v", st, c.Caseworker)
			}
			if st, _ := s.call(t, carla, "POST", "/cases/"+query+"/status", map[string]string{"status": "searching"}, &c); st != 200 || c.Status != "searching" {
				t.Errorf("status searching: %d %+v", st, c.Status)
			}
			var e apiError
			if st, _ := s.call(t, carla, "POST", "/cases/"+query+"/status", map[string]string{"status": "closed", "reason": "reunited"}, &e); st != 409 || e.Error != "transition" || !strings.Contains(e.Message, "searching cannot close as reunited") {
				t.Errorf("reunited before located: %d %+v", st, e)
			}
			var note console.NoteItem
			if st, _ := s.call(t, dario, "POST", "/cases/"+query+"/notes", map[string]string{"text": "La hermana llama el lunes."}, &note); st != 201 || note.By.ID != dario.ID || note.Text != "La hermana llama el lunes." {
				t.Errorf("note: %d %+v", st, note)
			}

			// A notification: queued and sent to the chat; its delivery as the pipeline records it.
			var u console.UpdateItem
			upd := map[string]string{"entry": "n1", "template": "contact_point", "param": "Casa del Migrante, Tapachula"}
			if st, _ := s.call(t, carla, "POST", "/cases/"+query+"/updates", upd, &u); st != 202 || u.ID != "u-n1" || u.Status != "queued" || len(u.Delivery) != 0 {
				t.Errorf("update: %d %+v", st, u)
			}
			if ev := s.chat.take(); len(ev) != 1 || ev[0].Action != flows.StaffTracingUpdate || ev[0].Case != query || ev[0].Entry != "u-n1" {
				t.Errorf("chat events %+v, want tracing_update u-n1", ev)
			}
			// The same entry with other words is refused, and nothing goes to the chat.
			var reused struct{ Error string }
			other := map[string]string{"entry": "n1", "template": "own_text", "text": "Venga el lunes"}
			if st, _ := s.call(t, carla, "POST", "/cases/"+query+"/updates", other, &reused); st != 409 || reused.Error != "entry_reused" {
				t.Errorf("a reused entry: %d %+v", st, reused)
			}
			if ev := s.chat.take(); len(ev) != 0 {
				t.Errorf("a reused entry reached the chat: %+v", ev)
			}
			s.deliver(query, "u-n1", tracing.DeliveryStep{Channel: "whatsapp", Status: tracing.DeliveryFailed, At: s.env.Clock.Now(), Error: "63016"},
				tracing.DeliveryStep{Channel: "sms", Status: tracing.DeliveryDelivered, At: s.env.Clock.Now()})
			var ups struct{ Updates []console.UpdateItem }
			if st, _ := s.call(t, carla, "GET", "/cases/"+query+"/updates", nil, &ups); st != 200 || len(ups.Updates) != 1 ||
				ups.Updates[0].Status != "delivered" || len(ups.Updates[0].Delivery) != 2 || ups.Updates[0].Delivery[0].Error != "63016" {
				t.Errorf("updates: %d %+v", st, ups)
			}

			// Matches: "Jose Luis Hernandes" finds "José Luis Hernández García".
			var ms struct {
				Matches []struct {
					CaseID   string `json:"case_id"`
					Kind     string
					Score    int
					Reasons  []tracing.Reason
					Decision *console.DecisionItem
				}
			}
			if st, _ := s.call(t, carla, "GET", "/cases/"+query+"/matches", nil, &ms); st != 200 || len(ms.Matches) != 1 || ms.Matches[0].CaseID != target.ID || ms.Matches[0].Score < 50 || len(ms.Matches[0].Reasons) == 0 {
				t.Fatalf("matches: %d %+v", st, ms)
			}
			var d console.DecisionItem
			if st, _ := s.call(t, carla, "POST", "/cases/"+query+"/matches/"+target.ID+"/confirm", nil, &d); st != 200 || d.Decision != tracing.MatchConfirmed || d.Other != target.ID || d.By.ID != carla.ID {
				t.Errorf("confirm: %d %+v", st, d)
			}
			if st, _ := s.call(t, carla, "GET", "/cases/"+target.ID+"/matches", nil, &ms); st != 200 || len(ms.Matches) != 1 || ms.Matches[0].Decision == nil || ms.Matches[0].Decision.Decision != tracing.MatchConfirmed {
				t.Errorf("the other side's matches: %d %+v", st, ms)
			}

			// What the enquirer wrote back shows as written, without the
			// inbound message's ID (the store's, to keep it once).
			s.rewrite(query, func(c *tracing.Case) {
				c.Replies = append(c.Replies, tracing.Message{ID: "SMc0ffee", Text: "Gracias, llamo mañana", Channel: "sms", At: s.env.Clock.Now()})
			})
			if raw := s.raw(t, carla, "/cases/"+query); !strings.Contains(raw, "Gracias, llamo mañana") || strings.Contains(raw, "SMc0ffee") {
				t.Errorf("a reply: %s", raw)
			}

			// Export: the whole case as a file; audited.
			var exp struct {
				Exported time.Time
				Case     apiCase
			}
			st, h := s.call(t, carla, "GET", "/cases/"+query+"/export", nil, &exp)
			if st != 200 || !strings.Contains(h.Get("Content-Disposition"), "case-"+query+".json") || exp.Case.Sought.FullName != "Jose Luis Hernandes" ||
				len(exp.Case.Notes) != 1 || len(exp.Case.Updates) != 1 || len(exp.Case.MatchDecisions) != 1 {
				t.Errorf("export: %d %q %+v", st, h.Get("Content-Disposition"), exp.Case)
			}
			for action, want := range map[string]int{staff.ActionCaseList: 13, staff.ActionCaseCreate: 2, staff.ActionCaseAssign: 1, staff.ActionCaseStatus: 1,
				staff.ActionCaseNote: 1, staff.ActionCaseNotify: 1, staff.ActionCaseUpdates: 1, staff.ActionMatchList: 2, staff.ActionMatchConfirm: 1, staff.ActionCaseExport: 1} {
				if n := s.audited(action); n != want {
					t.Errorf("%s audited %d times, want %d", action, n, want)
				}
			}

			// The person erases their data: all that shows is "withdrawn by the person".
			s.erase(target.ID)
			raw := s.raw(t, carla, "/cases/"+target.ID)
			if err := json.Unmarshal([]byte(raw), &c); err != nil {
				t.Fatal(err)
			}
			if !c.Withdrawn || c.Summary != "withdrawn by the person" || c.Status != "closed" || c.Closing != "withdrawn" {
				t.Errorf("erased case: %s", raw)
			}
			for _, secret := range []string{"Hern", "50499", "RFL-", "Ana", "sought", "reach"} {
				if strings.Contains(raw, secret) {
					t.Errorf("an erased case shows %q: %s", secret, raw)
				}
			}
			if st, _ := s.call(t, carla, "POST", "/cases/"+target.ID+"/updates", map[string]string{"template": "news"}, &e); st != 409 || e.Error != "withdrawn" {
				t.Errorf("notifying an erased case: %d %+v", st, e)
			}
			if st, _ := s.call(t, carla, "GET", "/cases/"+query+"/matches", nil, &ms); st != 200 || len(ms.Matches) != 0 {
				t.Errorf("an erased case is still a match: %+v", ms)
			}
		})
	}
}

// raw GETs path as m and returns the body (validated).
func (s *casesSite) raw(t *testing.T, m member, path string) string {
	t.Helper()
	var v json.RawMessage
	if st, _ := s.call(t, m, "GET", path, nil, &v); st != 200 {
		t.Fatalf("GET %s: %d", path, st)
	}
	return string(v)
}

// rewrite changes a stored case behind the API, as the chat does.
func (s *casesSite) rewrite(id string, f func(c *tracing.Case)) {
	s.t.Helper()
	now := s.env.Clock.Now()
	rec, err := s.st.GetCase(ctx, id, now)
	if err != nil {
		s.t.Fatal(err)
	}
	c, err := tracing.OpenCase(s.env.Keys, id, rec.Sealed)
	if err != nil {
		s.t.Fatal(err)
	}
	f(c)
	next, err := tracing.NewRecord(s.env.Keys, c, rec.EnquirerKey, rec.Caseworker, rec.Waiting, time.Hour)
	if err != nil {
		s.t.Fatal(err)
	}
	if err := s.st.PutCase(ctx, next, now); err != nil {
		s.t.Fatal(err)
	}
}

// deliver records delivery steps of an update, as the pipeline does.
func (s *casesSite) deliver(id, update string, steps ...tracing.DeliveryStep) {
	s.rewrite(id, func(c *tracing.Case) {
		for i := range c.Updates {
			if c.Updates[i].ID == update {
				c.Updates[i].Delivery = append(c.Updates[i].Delivery, steps...)
			}
		}
	})
}

func (s *casesSite) erase(id string) {
	s.rewrite(id, func(c *tracing.Case) { c.Withdraw(s.env.Clock.Now()) })
}

// TestCasesAPIBadInput: every bad request gets a clear 4xx JSON error, never
// a 500 or a panic, and nothing is stored or sent.
func TestCasesAPIBadInput(t *testing.T) {
	s := newCasesSite(t, teststores.WithStaff()["embedded"])
	cw := s.member("carla", staff.RoleCaseworker)
	vol := s.member("vera", staff.RoleVolunteer)
	var created struct{ Case apiCase }
	if st, _ := s.call(t, cw, "POST", "/cases", interviewBody("José Luis Hernández García"), &created); st != 201 {
		t.Fatalf("create: %d", st)
	}
	id := created.Case.ID
	nc := &tracing.Case{ID: "nocons", Status: tracing.StatusNew, Sought: tracing.Sought{Person: tracing.Person{FullName: "José Luis Hernández García"}}}
	code, _ := tracing.NewCode()
	nc.Code, nc.Created, nc.Updated = code, s.env.Clock.Now(), s.env.Clock.Now()
	rec, err := tracing.NewRecord(s.env.Keys, nc, "pnc", "", nc.Created, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.st.PutCase(ctx, rec, nc.Created); err != nil {
		t.Fatal(err)
	}
	s.chat.take()
	with := func(edit func(b map[string]any)) map[string]any {
		b := interviewBody("María Pérez")
		edit(b)
		return b
	}
	long := strings.Repeat("a", 301)
	cases := []struct {
		label, method, path string
		body                any
		status              int
		code                string
	}{
		{"unknown filter", "GET", "/cases?name=Maria", nil, 400, "bad_request"},
		{"limit 0", "GET", "/cases?limit=0", nil, 400, "bad_request"},
		{"limit word", "GET", "/cases?limit=ten", nil, 400, "bad_request"},
		{"unknown status", "GET", "/cases?status=lost", nil, 400, "invalid"},
		{"lower-case nationality", "GET", "/cases?nationality=hn", nil, 400, "invalid"},
		{"bad caseworker", "GET", "/cases?caseworker=a%7Bb%7D", nil, 400, "bad_id"},
		{"age range", "GET", "/cases?min_age=40&max_age=30", nil, 400, "invalid"},
		{"no body", "POST", "/cases", nil, 400, "bad_request"},
		{"not JSON", "POST", "/cases", "{sought", 400, "bad_request"},
		{"unknown field", "POST", "/cases", with(func(b map[string]any) { b["pin"] = "1234" }), 400, "bad_request"},
		{"wrong type", "POST", "/cases", with(func(b map[string]any) { b["sought"] = "José" }), 400, "bad_request"},
		{"two values", "POST", "/cases", `{"enquirer":"a"}{}`, 400, "bad_request"},
		{"no consent", "POST", "/cases", with(func(b map[string]any) { b["consent"] = map[string]bool{"tracing": false, "share_network": true} }), 422, "no_consent"},
		{"no sought name", "POST", "/cases", with(func(b map[string]any) { b["sought"] = map[string]any{"full_name": " "} }), 400, "invalid"},
		{"bad phone", "POST", "/cases", with(func(b map[string]any) { b["address"] = "555" }), 400, "invalid"},
		{"bad channel", "POST", "/cases", with(func(b map[string]any) { b["channel"] = "email" }), 400, "invalid"},
		{"bad language", "POST", "/cases", with(func(b map[string]any) { b["lang"] = "de" }), 400, "invalid"},
		{"huge body", "POST", "/cases", with(func(b map[string]any) { b["enquirer"] = strings.Repeat("a", 20000) }), 400, "too_long"},
		{"missing case", "GET", "/cases/c0000000000000000000a", nil, 404, "not_found"},
		{"bad id", "GET", "/cases/a.b", nil, 400, "bad_id"},
		{"bad id, long", "GET", "/cases/" + strings.Repeat("x", 100), nil, 400, "bad_id"},
		{"assign to a volunteer", "POST", "/cases/" + id + "/assign", map[string]string{"staff": vol.ID}, 400, "not_caseworker"},
		{"assign to no account", "POST", "/cases/" + id + "/assign", map[string]string{"staff": "0123456789abcdef"}, 400, "not_caseworker"},
		{"assign to a name", "POST", "/cases/" + id + "/assign", map[string]string{"staff": "carla"}, 400, "bad_request"},
		{"unknown status", "POST", "/cases/" + id + "/status", map[string]string{"status": "found"}, 400, "invalid"},
		{"close without reason", "POST", "/cases/" + id + "/status", map[string]string{"status": "closed"}, 400, "invalid"},
		{"transition", "POST", "/cases/" + id + "/status", map[string]string{"status": "located"}, 409, "transition"},
		{"status of a missing case", "POST", "/cases/cmissing/status", map[string]string{"status": "open"}, 404, "not_found"},
		{"empty note", "POST", "/cases/" + id + "/notes", map[string]string{"text": " "}, 400, "invalid"},
		{"long note", "POST", "/cases/" + id + "/notes", map[string]string{"text": strings.Repeat("a", 2001)}, 400, "invalid"},
		{"no template about death", "POST", "/cases/" + id + "/updates", map[string]string{"template": "death"}, 400, "invalid"},
		{"own text too long", "POST", "/cases/" + id + "/updates", map[string]string{"template": "own_text", "text": long}, 400, "invalid"},
		{"own text empty", "POST", "/cases/" + id + "/updates", map[string]string{"template": "own_text"}, 400, "invalid"},
		{"contact point without param", "POST", "/cases/" + id + "/updates", map[string]string{"template": "contact_point"}, 400, "invalid"},
		{"bad entry", "POST", "/cases/" + id + "/updates", map[string]string{"template": "news", "entry": "a b"}, 400, "bad_id"},
		{"match itself", "POST", "/cases/" + id + "/matches/" + id + "/confirm", nil, 400, "same_case"},
		{"match a missing case", "POST", "/cases/" + id + "/matches/cmissing/dismiss", nil, 404, "not_found"},
		{"match a case without consent", "POST", "/cases/" + id + "/matches/nocons/confirm", nil, 409, "not_matchable"},
		{"export a missing case", "GET", "/cases/cmissing/export", nil, 404, "not_found"},
	}
	for _, c := range cases {
		var e apiError
		st, _ := s.call(t, cw, c.method, c.path, c.body, &e)
		if st != c.status || e.Error != c.code || e.Message == "" {
			t.Errorf("%s: %d %+v, want %d %s", c.label, st, e, c.status, c.code)
		}
	}
	var ms struct{ Matches []json.RawMessage }
	if st, _ := s.call(t, cw, "GET", "/cases/nocons/matches", nil, &ms); st != 200 || len(ms.Matches) != 0 {
		t.Errorf("a case without consent has matches: %d %+v", st, ms)
	}
	if ev := s.chat.take(); len(ev) != 0 {
		t.Errorf("bad requests reached the chat: %+v", ev)
	}

	// The chat cannot be reached: 503 not_sent, the update is kept, and the
	// same entry again sends it without a second update.
	s.chat.fail = errors.New("down")
	var e apiError
	if st, _ := s.call(t, cw, "POST", "/cases/"+id+"/updates", map[string]string{"template": "still_searching", "entry": "r1"}, &e); st != 503 || e.Error != "not_sent" {
		t.Errorf("chat down: %d %+v", st, e)
	}
	s.chat.fail = nil
	var u console.UpdateItem
	if st, _ := s.call(t, cw, "POST", "/cases/"+id+"/updates", map[string]string{"template": "still_searching", "entry": "r1"}, &u); st != 202 || u.ID != "u-r1" {
		t.Errorf("retry: %d %+v", st, u)
	}
	var ups struct{ Updates []console.UpdateItem }
	if st, _ := s.call(t, cw, "GET", "/cases/"+id+"/updates", nil, &ups); st != 200 || len(ups.Updates) != 1 {
		t.Errorf("after the retry: %d %+v", st, ups)
	}
	// An interview when the chat is down: the case is kept, notified false.
	s.chat.fail = errors.New("down")
	var cc struct {
		Notified bool
		Message  string
	}
	if st, _ := s.call(t, cw, "POST", "/cases", interviewBody("María Pérez"), &cc); st != 201 || cc.Notified || !strings.Contains(cc.Message, "paper") {
		t.Errorf("interview, chat down: %d %+v", st, cc)
	}
}

// TestCasesAPIResetPIN: a caseworker clears the PIN of a case (the chat is
// asked for a new one, audited); a volunteer's token gets 403; an unknown
// case is 404; every answer is as openapi.json says.
func TestCasesAPIResetPIN(t *testing.T) {
	for name, open := range teststores.WithStaff() {
		t.Run(name, func(t *testing.T) {
			s := newCasesSite(t, open)
			cw := s.member("carla", staff.RoleCaseworker)
			vol := s.member("victor", staff.RoleVolunteer)
			var created struct{ Case apiCase }
			if st, _ := s.call(t, cw, "POST", "/cases", interviewBody("José Luis Hernández García"), &created); st != 201 {
				t.Fatalf("create: %d", st)
			}
			id := created.Case.ID
			s.chat.take()
			if st, _ := s.call(t, vol, "POST", "/cases/"+id+"/pin/reset", nil, nil); st != 403 {
				t.Errorf("volunteer: %d, want 403", st)
			}
			if ev := s.chat.take(); len(ev) != 0 {
				t.Errorf("a refused reset reached the chat: %+v", ev)
			}
			if st, _ := s.call(t, cw, "POST", "/cases/"+id+"/pin/reset", nil, nil); st != 200 {
				t.Fatalf("reset: %d", st)
			}
			if ev := s.chat.take(); len(ev) != 1 || ev[0].Action != flows.StaffTracingOpened || ev[0].Outcome != flows.CasePINReset || ev[0].Case != id {
				t.Errorf("the chat got %+v, want to be asked for a new PIN", ev)
			}
			// The enquirer's phone was taken: the reset moves the case to the
			// one they have now, and only that one is asked for the PIN.
			var bad struct{ Error string }
			if st, _ := s.call(t, cw, "POST", "/cases/"+id+"/pin/reset", map[string]string{"channel": "whatsapp", "address": "555"}, &bad); st != 400 || bad.Error != "invalid" {
				t.Errorf("a bad new number: %d %+v", st, bad)
			}
			if ev := s.chat.take(); len(ev) != 0 {
				t.Errorf("a refused reset reached the chat: %+v", ev)
			}
			var moved apiCase
			if st, _ := s.call(t, cw, "POST", "/cases/"+id+"/pin/reset", map[string]string{"channel": "whatsapp", "address": "+502 5555 0000"}, &moved); st != 200 ||
				moved.Reach.Address != "+50255550000" || moved.Reach.Channel != "whatsapp" {
				t.Fatalf("reset to a new phone: %d %+v", st, moved.Reach)
			}
			s.chat.mu.Lock()
			ev, people := s.chat.events, s.chat.people
			s.chat.mu.Unlock()
			if len(ev) != 1 || ev[0].Outcome != flows.CasePINReset || people[0] != "p50255550000" {
				t.Errorf("the chats told %v %+v, want only the new phone's asked for a PIN", people, ev)
			}
			s.chat.take()
			if st, _ := s.call(t, cw, "POST", "/cases/kdoesnotexist0/pin/reset", nil, nil); st != 404 {
				t.Errorf("unknown case: %d, want 404", st)
			}
			entries, err := s.env.Service.AuditRecent(ctx, 1000)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, e := range entries {
				if e.Action == staff.ActionCasePINReset && e.Subject == id {
					n++
				}
			}
			if n != 2 {
				t.Errorf("case.pin_reset audited %d times, want 2", n)
			}
		})
	}
}

// TestAPIErrorsSpeakJSON: a body of the wrong shape is answered in JSON's
// words (an object, a string, a whole number), never Go's types or the
// decoder's prefix; the token's scheme is case-insensitive.
func TestAPIErrorsSpeakJSON(t *testing.T) {
	s := newCasesSite(t, teststores.WithStaff()["embedded"])
	cw := s.member("carla", staff.RoleCaseworker)
	for _, tc := range []struct{ body, want string }{
		{`[]`, "the body must be an object, not an array"},
		{`{"sought":"José"}`, "sought must be an object, not a string"},
		{`{"sought":{"full_name":"José","birth_year":"1990"}}`, "sought.birth_year must be a whole number, not a string"},
		{`{"x":1}`, `unknown field "x"`},
	} {
		var e struct{ Error, Message string }
		if st, _ := s.call(t, cw, "POST", "/cases", tc.body, &e); st != 400 || !strings.HasSuffix(e.Message, tc.want) {
			t.Errorf("%s: %d %q, want 400 ending %q", tc.body, st, e.Message, tc.want)
		}
		for _, leak := range []string{"console.", "tracing.", "json:", " int", "[]"} {
			if strings.Contains(e.Message, leak) {
				t.Errorf("%s: the message %q shows %q", tc.body, e.Message, leak)
			}
		}
	}
	r, err := http.NewRequest("GET", s.srv.URL+"/api/v1/cases", nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Authorization", "bearer "+cw.token)
	resp, err := s.srv.Client().Do(r)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("a lower-case bearer scheme: %d, want 200", resp.StatusCode)
	}
}
