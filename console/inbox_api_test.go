package console_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/enlace-rfl/enlace/bot"
	"github.com/enlace-rfl/enlace/console"
	"github.com/enlace-rfl/enlace/console/apitest"
	"github.com/enlace-rfl/enlace/flows"
	"github.com/enlace-rfl/enlace/inbox"
	"github.com/enlace-rfl/enlace/locales"
	"github.com/enlace-rfl/enlace/staff"
	"github.com/enlace-rfl/enlace/staff/stafftest"
	"github.com/enlace-rfl/enlace/store/teststores"
)

// inboxStore is what each store opened for the tests gives.
type inboxStore = teststores.Store

// smsPhone records what reaches the person's phone.
type smsPhone struct {
	mu   sync.Mutex
	sent []bot.Reply
}

func (p *smsPhone) Name() string { return "sms" }
func (p *smsPhone) Send(_ context.Context, r bot.Reply) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sent = append(p.sent, r)
	return nil
}

func (p *smsPhone) take() []bot.Reply {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.sent
	p.sent = nil
	return out
}

// inboxSite is a console with the inbox on a real store and pipeline, and a
// validator of its answers.
type inboxSite struct {
	t    *testing.T
	env  *stafftest.Env
	st   inboxStore
	pipe *bot.Pipeline
	sms  *smsPhone
	srv  *httptest.Server
	v    *apitest.Validator
	n    int
}

func newInboxSite(t *testing.T, open func(t *testing.T) (inboxStore, *stafftest.Env)) *inboxSite {
	t.Helper()
	return newInboxSiteBeating(t, open, 0)
}

// newInboxSiteBeating is newInboxSite with the event stream's heartbeat
// (0: the console's own).
func newInboxSiteBeating(t *testing.T, open func(t *testing.T) (inboxStore, *stafftest.Env), heartbeat time.Duration) *inboxSite {
	t.Helper()
	st, env := open(t)
	cat, err := locales.Load()
	if err != nil {
		t.Fatal(err)
	}
	s := &inboxSite{t: t, env: env, st: st, sms: &smsPhone{}, v: apitest.New(t)}
	s.pipe = bot.New(bot.Options{
		Config: bot.Config{ClaimTimeout: 10 * time.Minute}, Store: st, Conversations: st, Keys: env.Keys,
		Engine: flows.New(flows.Config{Places: storeDirectory{st}, Towns: gazetteerTowns(t)}, cat), Catalog: cat, Channels: []bot.Channel{s.sms}, Clock: env.Clock.Now,
	})
	in := inbox.New(inbox.Config{Conversations: st, Pipeline: s.pipe, Staff: env.Service, ClaimTimeout: 10 * time.Minute, Clock: env.Clock.Now})
	c, err := console.New(console.Config{Staff: env.Service, Inbox: in, Places: st, Heartbeat: heartbeat})
	if err != nil {
		t.Fatal(err)
	}
	s.srv = httptest.NewTLSServer(c)
	t.Cleanup(s.srv.Close)
	return s
}

// write sends an SMS from a number and runs the pipeline until it is done.
func (s *inboxSite) write(from, text string) []bot.Reply {
	s.t.Helper()
	s.n++
	m := bot.Message{Channel: "sms", From: from, ID: fmt.Sprintf("SM%d", s.n), Input: flows.Input{Kind: flows.InputText, Text: text}}
	if _, err := s.pipe.Accept(context.Background(), m); err != nil {
		s.t.Fatal(err)
	}
	return s.drain()
}

func (s *inboxSite) drain() []bot.Reply {
	s.t.Helper()
	s.env.Clock.Advance(time.Second)
	if err := s.pipe.Drain(context.Background()); err != nil {
		s.t.Fatal(err)
	}
	return s.sms.take()
}

// member is a staff account with a personal API token.
type member struct {
	staff.Account
	token string
}

func (s *inboxSite) member(name string, role staff.Role, langs ...string) member {
	s.t.Helper()
	a, _, err := s.env.Service.Add(ctx, staff.Operator, name, role, langs)
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
// is) and checks the answer against openapi.json; out, when not nil, gets
// the decoded body.
func (s *inboxSite) call(t *testing.T, m member, method, path string, body any, out any) int {
	t.Helper()
	var rd *bytes.Reader
	switch b := body.(type) {
	case nil:
		rd = bytes.NewReader(nil)
	case string:
		rd = bytes.NewReader([]byte(b))
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
	if m.token != "" {
		r.Header.Set("Authorization", "Bearer "+m.token)
	}
	status, b := s.v.Do(t, s.srv.Client(), r)
	if out != nil && len(b) > 0 {
		reflect.ValueOf(out).Elem().SetZero() // nothing left from an earlier answer
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v\n%s", method, path, err, b)
		}
	}
	return status
}

func (s *inboxSite) audited(action string) int {
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

const marie = "+50937001234"

// escalate takes a Kreyòl speaker through language and consent and has
// them ask for a person.
func (s *inboxSite) escalate(from string) {
	s.t.Helper()
	s.write(from, "bonjou")
	s.write(from, "4") // Kreyòl
	s.write(from, "1") // agree
	if ack := s.write(from, "mwen bezwen pale ak yon moun"); len(ack) != 1 || !strings.Contains(ack[0].Text, "volontè") {
		s.t.Fatalf("acknowledgement: %+v", ack)
	}
}

type apiList struct {
	Conversations []struct {
		ID, State, Reason, Lang, Channel string
		WaitingSeconds                   int64 `json:"waiting_seconds"`
		Holder                           *console.Holder
		Mine, Speaks                     bool
	}
}

type apiView struct {
	ID, State, Address string
	Holder             *console.Holder
	Entries            []console.EntryItem
}

type apiConflict struct {
	Error, Message string
	Holder         *console.Holder
}

// TestInboxAPIHandoff follows a Kreyòl SMS through the API: listed for a
// Kreyòl volunteer, twenty concurrent claims, replies, close; on both stores.
func TestInboxAPIHandoff(t *testing.T) {
	for name, open := range teststores.WithStaff() {
		t.Run(name, func(t *testing.T) {
			s := newInboxSite(t, open)
			s.escalate(marie)
			ana := s.member("ana", staff.RoleVolunteer, "ht", "fr")
			bob := s.member("bob", staff.RoleVolunteer, "es")

			var list apiList
			if st := s.call(t, ana, "GET", "/conversations", nil, &list); st != 200 || len(list.Conversations) != 1 {
				t.Fatalf("Ana's inbox: %d %+v", st, list)
			}
			it := list.Conversations[0]
			if it.Lang != "ht" || it.Reason != flows.ReasonAskedForHelp || it.Channel != "sms" || !it.Speaks || it.Mine || it.State != "waiting" || it.Holder != nil {
				t.Fatalf("Ana's inbox: %+v", it)
			}
			id := it.ID
			if st := s.call(t, bob, "GET", "/conversations", nil, &list); st != 200 || len(list.Conversations) != 1 || list.Conversations[0].Speaks {
				t.Fatalf("Bob's inbox (Spanish only): %d %+v", st, list)
			}
			// The list holds no personal data.
			raw := s.rawGet(t, ana, "/conversations")
			for _, secret := range []string{"37001234", "moun", "••••"} {
				if strings.Contains(raw, secret) {
					t.Fatalf("the list shows %q: %s", secret, raw)
				}
			}

			// Twenty volunteers claim it at once: one 200, nineteen 409
			// naming the winner, one claim in the audit.
			var team []member
			for i := range 20 {
				team = append(team, s.member(fmt.Sprintf("volunteer-%d", i), staff.RoleVolunteer, "ht"))
			}
			var wg sync.WaitGroup
			var mu sync.Mutex
			var winners []member
			var conflicts []apiConflict
			for _, m := range team {
				wg.Go(func() {
					var c apiConflict
					st := s.call(t, m, "POST", "/conversations/"+id+"/claim", nil, &c)
					mu.Lock()
					defer mu.Unlock()
					switch st {
					case 200:
						winners = append(winners, m)
					case 409:
						conflicts = append(conflicts, c)
					default:
						t.Errorf("claim answered %d", st)
					}
				})
			}
			wg.Wait()
			if len(winners) != 1 || len(conflicts) != 19 || s.audited(inbox.ActionClaim) != 1 {
				t.Fatalf("claims: %d won, %d conflicts, %d audited; want 1, 19, 1", len(winners), len(conflicts), s.audited(inbox.ActionClaim))
			}
			holder := winners[0]
			for _, c := range conflicts {
				if c.Error != "held" || c.Holder == nil || c.Holder.ID != holder.ID || c.Holder.Name != holder.Name || !strings.Contains(c.Message, holder.Name) {
					t.Fatalf("a refused claim: %+v, want it held by %s (%s)", c, holder.Name, holder.ID)
				}
			}
			other := team[0]
			if other.ID == holder.ID {
				other = team[1]
			}
			var state console.ConversationState
			if st := s.call(t, holder, "POST", "/conversations/"+id+"/claim", nil, &state); st != 200 || state.State != "claimed" || state.Holder.ID != holder.ID {
				t.Fatalf("the holder claiming again: %d %+v", st, state)
			}
			if n := s.audited(inbox.ActionClaim); n != 1 {
				t.Fatalf("claiming one's own claim audited: %d claims", n)
			}
			s.drain()
			// Ana no longer sees it: it is held by someone else.
			if st := s.call(t, ana, "GET", "/conversations", nil, &list); st != 200 || len(list.Conversations) != 0 {
				t.Fatalf("Ana's inbox after the claim: %d %+v", st, list)
			}
			if st := s.call(t, holder, "GET", "/conversations", nil, &list); st != 200 || len(list.Conversations) != 1 || !list.Conversations[0].Mine {
				t.Fatalf("the holder's inbox: %d %+v", st, list)
			}

			// A reply by someone who does not hold it is refused, and nothing is sent.
			reply := map[string]string{"entry": "c1", "text": "Bonjou"}
			if st := s.call(t, other, "POST", "/conversations/"+id+"/reply", reply, nil); st != 403 && st != 409 {
				t.Fatalf("a reply by a non-holder: %d, want 403 or 409", st)
			}
			if got := s.drain(); len(got) != 0 {
				t.Fatalf("a refused reply was sent: %+v", got)
			}
			// The holder's reply, sent twice (a retry), goes once.
			reply = map[string]string{"entry": "c2", "text": "Bonjou, mwen la pou ede w."}
			var acc console.EntryAccepted
			for range 2 {
				if st := s.call(t, holder, "POST", "/conversations/"+id+"/reply", reply, &acc); st != 202 || acc.Status != "queued" {
					t.Fatalf("the holder's reply: %d %+v", st, acc)
				}
			}
			sent := s.drain()
			if len(sent) != 1 || sent[0].Text != reply["text"] || sent[0].To != marie || sent[0].Channel != "sms" {
				t.Fatalf("the reply: got %+v, want one SMS to the person", sent)
			}
			// The same entry with another text (a form edited after a post
			// that did arrive) is refused, not dropped without a word.
			var reused struct{ Error string }
			if st := s.call(t, holder, "POST", "/conversations/"+id+"/reply", map[string]string{"entry": "c2", "text": "Kote ou ye?"}, &reused); st != 409 || reused.Error != "entry_reused" {
				t.Fatalf("a reused entry: %d %+v", st, reused)
			}
			if got := s.drain(); len(got) != 0 {
				t.Fatalf("a reused entry sent %+v", got)
			}
			var view apiView
			if st := s.call(t, holder, "GET", "/conversations/"+id, nil, &view); st != 200 {
				t.Fatalf("open: %d", st)
			}
			last := view.Entries[len(view.Entries)-1]
			if last.ID != acc.Entry || last.From != "reply" || last.Staff == nil || last.Staff.Name != holder.Name || last.Status == nil || last.Status.Status != "sent" || last.Status.Via != "sms" {
				t.Fatalf("the reply's entry: %+v %+v", last, last.Status)
			}
			if view.Address != inbox.Mask(marie) || strings.Contains(s.rawGet(t, holder, "/conversations/"+id), marie) {
				t.Fatalf("the view shows the address %q, want it masked", view.Address)
			}
			// The provider reports the delivery: the view shows it.
			conv, err := s.st.Conversation(ctx, id, s.env.Clock.Now())
			if err != nil {
				t.Fatal(err)
			}
			if err := s.pipe.EntryStatus(ctx, conv.Person, id, sent[0].Entry, bot.EntryStatus{Status: "delivered"}); err != nil {
				t.Fatal(err)
			}
			s.call(t, holder, "GET", "/conversations/"+id, nil, &view)
			if last := view.Entries[len(view.Entries)-1]; last.Status == nil || last.Status.Status != "delivered" {
				t.Fatalf("after the delivery report: %+v", last)
			}
			if n := s.audited(inbox.ActionOpen); n != 3 {
				t.Fatalf("%d opens audited, want 3", n)
			}
			// What a phone cannot show (a NUL, a direction override, a tab) never reaches it.
			dirty := map[string]string{"entry": "c3", "text": "\u0000Kote\tou ye?\u202e"}
			if st := s.call(t, holder, "POST", "/conversations/"+id+"/reply", dirty, &acc); st != 202 {
				t.Fatalf("a reply with control characters: %d", st)
			}
			if got := s.drain(); len(got) != 1 || got[0].Text != "Kote ou ye?" {
				t.Fatalf("the phone got %+v, want the text without its control characters", got)
			}

			// Close: 409 for another volunteer, 200 for the holder, then it leaves the list.
			closeBody := map[string]string{"outcome": "answered"}
			if st := s.call(t, other, "POST", "/conversations/"+id+"/close", closeBody, nil); st != 403 && st != 409 {
				t.Fatalf("close by a non-holder: %d", st)
			}
			if st := s.call(t, holder, "POST", "/conversations/"+id+"/close", closeBody, &state); st != 200 || state.State != "closed" || state.Outcome != "answered" {
				t.Fatalf("close: %d %+v", st, state)
			}
			if got := s.drain(); len(got) != 1 || !strings.Contains(got[0].Text, "MENI") {
				t.Fatalf("closing: got %+v, want one short message", got)
			}
			if st := s.call(t, holder, "GET", "/conversations", nil, &list); st != 200 || len(list.Conversations) != 0 {
				t.Fatalf("a closed conversation is still listed: %+v", list)
			}
			var c apiConflict
			if st := s.call(t, holder, "POST", "/conversations/"+id+"/close", closeBody, &c); st != 409 || c.Error != "closed" {
				t.Fatalf("closing again: %d %+v", st, c)
			}
		})
	}
}

func (s *inboxSite) rawGet(t *testing.T, m member, path string) string {
	t.Helper()
	r, err := http.NewRequest("GET", s.srv.URL+"/api/v1"+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Authorization", "Bearer "+m.token)
	_, b := s.v.Do(t, s.srv.Client(), r)
	return string(b)
}

// TestInboxAPIRefuses: permissions and bad input get clear answers (400,
// 401, 403, 404, 409), never a 500, each as openapi.json describes it.
func TestInboxAPIRefuses(t *testing.T) {
	for name, open := range teststores.WithStaff() {
		t.Run(name, func(t *testing.T) {
			s := newInboxSite(t, open)
			s.escalate(marie)
			ana := s.member("ana", staff.RoleVolunteer, "ht")
			bea := s.member("bea", staff.RoleCaseworker, "ht")
			boss := s.member("boss", staff.RoleAdmin, "en")
			var list apiList
			if st := s.call(t, boss, "GET", "/conversations", nil, &list); st != 200 || len(list.Conversations) != 1 {
				t.Fatalf("the admin's list: %d %+v", st, list)
			}
			id := list.Conversations[0].ID
			conv := "/conversations/" + id
			long := strings.Repeat("é", 1001)
			for _, c := range []struct {
				name         string
				who          member
				method, path string
				body         any
				status       int
				code         string
			}{
				{"no token", member{}, "GET", "/conversations", nil, 401, "unauthorized"},
				{"no token claim", member{}, "POST", conv + "/claim", nil, 401, "unauthorized"},
				{"admin opens", boss, "GET", conv, nil, 403, "forbidden"},
				{"admin unmasks", boss, "POST", conv + "/unmask", map[string]string{"reason": "x"}, 403, "forbidden"},
				{"admin claims", boss, "POST", conv + "/claim", nil, 403, "forbidden"},
				{"volunteer assigns", ana, "POST", conv + "/assign", map[string]string{"staff": ana.ID}, 403, "forbidden"},
				{"unknown conversation", ana, "GET", "/conversations/nosuchconversation", nil, 404, "not_found"},
				{"unknown conversation claim", ana, "POST", "/conversations/nosuchconversation/claim", nil, 404, "not_found"},
				{"malformed id", ana, "GET", "/conversations/a%20b", nil, 400, "bad_id"},
				{"malformed id claim", ana, "POST", "/conversations/" + strings.Repeat("x", 65) + "/claim", nil, 400, "bad_id"},
				{"not JSON", ana, "POST", conv + "/reply", "{entry", 400, "bad_request"},
				{"two JSON values", ana, "POST", conv + "/reply", `{"entry":"e1","text":"a"}{}`, 400, "bad_request"},
				{"unknown field", ana, "POST", conv + "/reply", map[string]string{"entry": "e1", "text": "a", "to": "+1"}, 400, "bad_request"},
				{"wrong type", ana, "POST", conv + "/reply", map[string]any{"entry": 1, "text": "a"}, 400, "bad_request"},
				{"no body", ana, "POST", conv + "/close", "", 400, "bad_request"},
				{"huge body", ana, "POST", conv + "/notes", map[string]string{"entry": "e1", "text": strings.Repeat("a", 20000)}, 400, "too_long"},
				{"empty reply", ana, "POST", conv + "/reply", map[string]string{"entry": "e1", "text": "  "}, 400, "empty"},
				{"long reply", ana, "POST", conv + "/reply", map[string]string{"entry": "e1", "text": long}, 400, "too_long"},
				{"bad entry id", ana, "POST", conv + "/reply", map[string]string{"entry": "../e", "text": "a"}, 400, "bad_id"},
				{"no entry id", ana, "POST", conv + "/notes", map[string]string{"text": "a"}, 400, "bad_id"},
				{"bad outcome", ana, "POST", conv + "/close", map[string]string{"outcome": "done"}, 400, "bad_outcome"},
				{"no reason", ana, "POST", conv + "/unmask", map[string]string{"reason": " "}, 400, "no_reason"},
				{"assign: bad staff id", boss, "POST", conv + "/assign", map[string]string{"staff": "ana"}, 400, "bad_request"},
				{"assign: unknown staff", boss, "POST", conv + "/assign", map[string]string{"staff": "0123456789abcdef"}, 400, "unknown_staff"},
				{"assign: to an admin", boss, "POST", conv + "/assign", map[string]string{"staff": boss.ID}, 400, "staff_not_inbox"},
				{"reply before claiming", ana, "POST", conv + "/reply", map[string]string{"entry": "e1", "text": "Bonjou"}, 409, "not_claimed"},
				{"close before claiming", ana, "POST", conv + "/close", map[string]string{"outcome": "answered"}, 403, "forbidden"},
			} {
				var e struct{ Error, Message string }
				if st := s.call(t, c.who, c.method, c.path, c.body, &e); st != c.status || e.Error != c.code || e.Message == "" {
					t.Errorf("%s: %d %+v, want %d %s", c.name, st, e, c.status, c.code)
				}
			}
			if got := s.drain(); len(got) != 0 {
				t.Fatalf("refused requests sent %+v", got)
			}

			// What a Kreyòl volunteer may do: a note, the address with a reason (audited).
			var acc console.EntryAccepted
			if st := s.call(t, ana, "POST", conv+"/notes", map[string]string{"entry": "n1", "text": "li nan Tapachula"}, &acc); st != 201 || acc.Status != "saved" {
				t.Fatalf("note: %d %+v", st, acc)
			}
			var un console.Unmasked
			if st := s.call(t, ana, "POST", conv+"/unmask", map[string]string{"reason": "to call back"}, &un); st != 200 || un.Address != marie || s.audited(inbox.ActionUnmask) != 1 {
				t.Fatalf("unmask: %d %+v, %d audited", st, un, s.audited(inbox.ActionUnmask))
			}
			// The admin gives it to Bea, then to Ana; Bea no longer holds it.
			var state console.ConversationState
			if st := s.call(t, boss, "POST", conv+"/assign", map[string]string{"staff": bea.ID}, &state); st != 200 || state.State != "claimed" || state.Holder.Name != "bea" {
				t.Fatalf("assign to Bea: %d %+v", st, state)
			}
			var c apiConflict
			if st := s.call(t, ana, "POST", conv+"/claim", nil, &c); st != 409 || c.Holder == nil || c.Holder.Name != "bea" {
				t.Fatalf("Ana claims Bea's: %d %+v", st, c)
			}
			if st := s.call(t, ana, "POST", conv+"/release", nil, nil); st != 403 && st != 409 {
				t.Fatalf("Ana releases Bea's: %d", st)
			}
			if st := s.call(t, bea, "POST", conv+"/release", nil, &state); st != 200 || state.State != "waiting" || state.Holder != nil {
				t.Fatalf("Bea releases: %d %+v", st, state)
			}
			if st := s.call(t, boss, "POST", conv+"/assign", map[string]string{"staff": ana.ID}, &state); st != 200 || state.Holder.ID != ana.ID {
				t.Fatalf("assign to Ana: %d %+v", st, state)
			}
			// The admin may close any conversation.
			if st := s.call(t, boss, "POST", conv+"/close", map[string]string{"outcome": "referred"}, &state); st != 200 || state.State != "closed" {
				t.Fatalf("the admin closes: %d %+v", st, state)
			}
			for _, p := range []string{"/claim", "/release"} {
				if st := s.call(t, ana, "POST", conv+p, nil, &c); st != 409 && st != 403 {
					t.Errorf("%s of a closed conversation: %d", p, st)
				}
			}
		})
	}
}

// TestInboxAPISession: the console session works as the token does; a
// cross-site request is refused.
func TestInboxAPISession(t *testing.T) {
	s := newInboxSite(t, teststores.WithStaff()["embedded"])
	s.escalate(marie)
	site := &site{Env: s.env, srv: s.srv}
	vol := s.env.Enrol(t, "vol", staff.RoleVolunteer, "ht")
	c := site.signIn(t, vol)
	r := site.req(t, "GET", "/api/v1/conversations", nil)
	st, body := s.v.Do(t, c, r)
	var list apiList
	if err := json.Unmarshal(body, &list); st != 200 || err != nil || len(list.Conversations) != 1 {
		t.Fatalf("list with a session: %d %s", st, body)
	}
	claim := func(origin string) int {
		r := site.req(t, "POST", "/api/v1/conversations/"+list.Conversations[0].ID+"/claim", nil)
		r.Header.Set("Origin", origin)
		r.Header.Set("Sec-Fetch-Site", map[bool]string{true: "same-origin", false: "cross-site"}[origin == s.srv.URL])
		st, _ := s.v.Do(t, c, r)
		return st
	}
	if st := claim("https://evil.example"); st != 403 {
		t.Fatalf("a cross-site claim: %d", st)
	}
	if st := claim(s.srv.URL); st != 200 {
		t.Fatalf("a same-site claim: %d", st)
	}
}
