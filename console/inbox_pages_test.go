package console_test

import (
	"bufio"
	"context"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/enlace-rfl/enlace/staff"
	"github.com/enlace-rfl/enlace/store/teststores"
)

var convLink = regexp.MustCompile(`href="/inbox/([A-Za-z0-9_-]+)"`)
var entryField = regexp.MustCompile(`name="entry" value="([A-Za-z0-9_-]+)"`)

// TestInboxPages follows a Kreyòl SMS through the pages without JavaScript:
// the list, the event stream when someone claims, a second volunteer told who
// holds it, an empty reply refused in the viewer's language, a reply that
// reaches the phone once even when the form is posted twice, and close.
func TestInboxPages(t *testing.T) {
	s := newInboxSite(t, teststores.WithStaff()["embedded"])
	s.escalate(marie)
	site := &site{Env: s.env, srv: s.srv}
	anne := s.env.Enrol(t, "anne", staff.RoleVolunteer, "ht")
	bea := s.env.Enrol(t, "bea", staff.RoleVolunteer, "ht", "fr")
	a := site.signIn(t, anne)
	b := site.signIn(t, bea)

	resp, body := do(t, a, site.req(t, "GET", "/inbox", nil))
	m := convLink.FindStringSubmatch(body)
	if resp.StatusCode != 200 || m == nil || !strings.Contains(body, "Mande yon moun") || strings.Contains(body, marie[6:]) {
		t.Fatalf("inbox page %d:\n%s", resp.StatusCode, body)
	}
	id := m[1]

	// Bea's page listens; Anne's claim reaches it as an event without personal data.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	er := site.req(t, "GET", "/inbox/events", nil).WithContext(ctx)
	stream, err := b.Do(er)
	if err != nil || stream.StatusCode != 200 || stream.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("events: %v %+v", err, stream)
	}
	defer stream.Body.Close()
	lines := bufio.NewScanner(stream.Body)
	for lines.Scan() && lines.Text() != ": ready" {
	}
	if resp, _ := do(t, a, site.req(t, "POST", "/inbox/"+id+"/claim", url.Values{})); resp.StatusCode != 303 || resp.Header.Get("Location") != "/inbox/"+id {
		t.Fatalf("claim: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	var data string
	for lines.Scan() {
		if d, ok := strings.CutPrefix(lines.Text(), "data: "); ok {
			data = d
			break
		}
	}
	if data != `{"id":"`+id+`","state":"claimed"}` {
		t.Fatalf("event data %q", data)
	}
	cancel()

	// Bea's list no longer shows it (a volunteer sees what waits and what
	// they hold); her claim (an old page) is refused with the holder's name.
	if _, body := do(t, b, site.req(t, "GET", "/inbox/list", nil)); strings.Contains(body, id) || !strings.Contains(body, "Pèsonn pa ap tann") || strings.Contains(body, "<html") {
		t.Fatalf("bea's list fragment:\n%s", body)
	}
	resp, _ = do(t, b, site.req(t, "POST", "/inbox/"+id+"/claim", url.Values{}))
	loc := resp.Header.Get("Location")
	if resp.StatusCode != 303 || !strings.Contains(loc, "e=held") {
		t.Fatalf("second claim: %d %s", resp.StatusCode, loc)
	}
	if _, body := do(t, b, site.req(t, "GET", loc, nil)); !strings.Contains(body, "Se anne ki gen konvèsasyon sa a.") {
		t.Fatalf("bea is not told who holds it:\n%s", body)
	}

	// While Anne holds it the bot is silent and what the person writes shows.
	if got := s.write(marie, "Mwen bezwen èd, tanpri"); len(got) != 0 {
		t.Fatalf("the bot answered while a volunteer holds it: %+v", got)
	}
	// Anne's page: masked address, reply form with a server-made entry id.
	_, body = do(t, a, site.req(t, "GET", "/inbox/"+id, nil))
	e := entryField.FindStringSubmatch(body)
	if e == nil || !strings.Contains(body, "•••• 34") || strings.Contains(body, marie[1:]) || !strings.Contains(body, "Mwen bezwen èd, tanpri") {
		t.Fatalf("conversation page:\n%s", body)
	}
	resp, _ = do(t, a, site.req(t, "POST", "/inbox/"+id+"/reply", url.Values{"entry": {e[1]}, "text": {"  "}}))
	if _, body := do(t, a, site.req(t, "GET", resp.Header.Get("Location"), nil)); !strings.Contains(body, "Ekri yon bagay anvan.") {
		t.Fatalf("empty reply not refused in Kreyòl (%s):\n%s", resp.Header.Get("Location"), body)
	}
	for range 2 { // a double tap
		resp, _ = do(t, a, site.req(t, "POST", "/inbox/"+id+"/reply", url.Values{"entry": {e[1]}, "text": {"Bonjou, se Anne. Kote ou ye?"}}))
		if resp.StatusCode != 303 || resp.Header.Get("Location") != "/inbox/"+id {
			t.Fatalf("reply: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	if sent := s.drain(); len(sent) != 1 || sent[0].Text != "Bonjou, se Anne. Kote ou ye?" {
		t.Fatalf("the phone got %+v", sent)
	}
	if _, body := do(t, a, site.req(t, "GET", "/inbox/"+id, nil)); !strings.Contains(body, "Repons anne") {
		t.Fatalf("the reply is not in the transcript:\n%s", body)
	}

	// Unmask needs a reason; with one the full number shows on that answer only.
	resp, _ = do(t, a, site.req(t, "POST", "/inbox/"+id+"/unmask", url.Values{"reason": {""}}))
	if !strings.Contains(resp.Header.Get("Location"), "e=no_reason") {
		t.Fatalf("unmask without a reason: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if _, body := do(t, a, site.req(t, "POST", "/inbox/"+id+"/unmask", url.Values{"reason": {"call back"}})); !strings.Contains(body, marie[1:]) {
		t.Fatal("unmask with a reason does not show the address")
	}

	resp, _ = do(t, a, site.req(t, "POST", "/inbox/"+id+"/close", url.Values{"outcome": {"answered"}}))
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "/inbox?closed=1" {
		t.Fatalf("close: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if sent := s.drain(); len(sent) != 1 {
		t.Fatalf("closing sent %+v", sent)
	}
	if _, body := do(t, a, site.req(t, "GET", "/inbox", nil)); strings.Contains(body, id) {
		t.Fatalf("closed conversation still listed:\n%s", body)
	}
}

// TestInboxCannedReplies: the holder's reply box offers ready answers in the
// person's language (Kreyòl), whatever the page's (French); without
// JavaScript a link puts one in the box, and it goes to the phone as sent.
func TestInboxCannedReplies(t *testing.T) {
	s := newInboxSite(t, teststores.WithStaff()["embedded"])
	s.escalate(marie)
	site := &site{Env: s.env, srv: s.srv}
	jean := site.signIn(t, s.env.Enrol(t, "jean", staff.RoleVolunteer, "fr", "ht"))
	_, body := do(t, jean, site.req(t, "GET", "/inbox", nil))
	id := convLink.FindStringSubmatch(body)[1]

	// Not before the claim: only the holder replies.
	if _, body := do(t, jean, site.req(t, "GET", "/inbox/"+id, nil)); strings.Contains(body, `id="canned"`) {
		t.Fatal("ready answers before the claim")
	}
	do(t, jean, site.req(t, "POST", "/inbox/"+id+"/claim", url.Values{}))
	_, body = do(t, jean, site.req(t, "GET", "/inbox/"+id, nil))
	for _, want := range []string{"Réponses prêtes en Kreyòl", "Nou li mesaj ou. Yon volontè ap reponn ou isit la.",
		"Si ou an danje kounye a, rele 911.", `href="/inbox/` + id + `?canned=where#reply-text"`} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if strings.Contains(body, "Où êtes-vous") {
		t.Error("the ready answers are in the page's language, not the person's")
	}
	_, body = do(t, jean, site.req(t, "GET", "/inbox/"+id+"?canned=where", nil))
	const where = "Kote ou ye kounye a? Ekri non vil la."
	if !strings.Contains(body, `lang="ht">`+where+`</textarea>`) {
		t.Fatalf("?canned=where does not fill the box:\n%s", body)
	}
	if _, body := do(t, jean, site.req(t, "GET", "/inbox/"+id+"?canned=%3Cb%3E", nil)); !strings.Contains(body, `lang="ht"></textarea>`) {
		t.Fatal("an unknown ready answer fills the box")
	}
	e := entryField.FindStringSubmatch(body)
	do(t, jean, site.req(t, "POST", "/inbox/"+id+"/reply", url.Values{"entry": {e[1]}, "text": {where}}))
	if sent := s.drain(); len(sent) != 1 || sent[0].Text != where {
		t.Fatalf("the phone got %+v", sent)
	}
}

// TestInboxAdminReassign: an admin sees the list and a conversation's page
// without anything the person wrote, and gives it to a volunteer who
// speaks the person's language (Kreyòl), audited; someone who does not
// speak it, or is disabled, is not offered and is refused; a volunteer
// may not reassign.
func TestInboxAdminReassign(t *testing.T) {
	s := newInboxSite(t, teststores.WithStaff()["embedded"])
	s.escalate(marie)
	s.write(marie, "Mwen nan Tapachula")
	site := &site{Env: s.env, srv: s.srv}
	anneM := s.env.Enrol(t, "anne", staff.RoleVolunteer, "ht")
	bea := s.env.Enrol(t, "bea", staff.RoleCaseworker, "fr", "ht")
	carl := s.env.Enrol(t, "carl", staff.RoleVolunteer, "es")
	dora := s.env.Enrol(t, "dora", staff.RoleVolunteer, "ht")
	if err := s.env.Service.Disable(ctx, staff.Operator, dora.ID); err != nil {
		t.Fatal(err)
	}
	anne := site.signIn(t, anneM)
	boss := site.signIn(t, s.env.Enrol(t, "boss", staff.RoleAdmin, "en"))

	resp, body := do(t, boss, site.req(t, "GET", "/inbox", nil))
	m := convLink.FindStringSubmatch(body)
	if resp.StatusCode != 200 || m == nil || !strings.Contains(body, `href="/inbox"`) {
		t.Fatalf("the admin's inbox: %d\n%s", resp.StatusCode, body)
	}
	id := m[1]
	do(t, anne, site.req(t, "POST", "/inbox/"+id+"/claim", url.Values{}))

	resp, body = do(t, boss, site.req(t, "GET", "/inbox/"+id, nil))
	if resp.StatusCode != 200 || !strings.Contains(body, "anne has it") || !strings.Contains(body, "Give it to a volunteer") {
		t.Fatalf("the admin's conversation page: %d\n%s", resp.StatusCode, body)
	}
	for _, secret := range []string{"Tapachula", "moun", "•••• 34", marie[4:], `action="/inbox/` + id + `/reply"`, `/unmask"`} {
		if strings.Contains(body, secret) {
			t.Errorf("the admin's page shows %q", secret)
		}
	}
	for who, offered := range map[string]bool{bea.ID: true, anneM.ID: true, carl.ID: false, dora.ID: false} {
		if got := strings.Contains(body, `value="`+who+`"`); got != offered {
			t.Errorf("account %s offered: %v, want %v", who, got, offered)
		}
	}
	if n := s.audited("conversation.open"); n != 0 {
		t.Fatalf("the admin's page opened the conversation (%d audited)", n)
	}

	// Carl (Spanish) and Dora (disabled) are refused, even posted by hand.
	for _, who := range []string{carl.ID, dora.ID, "nobody", ""} {
		resp, _ := do(t, boss, site.req(t, "POST", "/inbox/"+id+"/assign", url.Values{"staff": {who}}))
		if loc := resp.Header.Get("Location"); resp.StatusCode != 303 || loc != "/inbox/"+id+"?e=assign" {
			t.Fatalf("assign to %q: %d %s", who, resp.StatusCode, loc)
		}
	}
	if _, body := do(t, boss, site.req(t, "GET", "/inbox/"+id+"?e=assign", nil)); !strings.Contains(body, "Choose an enabled volunteer who speaks the person") {
		t.Fatalf("the refusal is not told:\n%s", body)
	}
	// A volunteer may not reassign.
	if resp, _ := do(t, anne, site.req(t, "POST", "/inbox/"+id+"/assign", url.Values{"staff": {bea.ID}})); resp.StatusCode != 403 {
		t.Fatalf("a volunteer's assign: %d", resp.StatusCode)
	}

	resp, _ = do(t, boss, site.req(t, "POST", "/inbox/"+id+"/assign", url.Values{"staff": {bea.ID}}))
	if loc := resp.Header.Get("Location"); resp.StatusCode != 303 || loc != "/inbox/"+id+"?assigned=1" {
		t.Fatalf("assign to bea: %d %s", resp.StatusCode, loc)
	}
	if _, body := do(t, boss, site.req(t, "GET", "/inbox/"+id+"?assigned=1", nil)); !strings.Contains(body, "bea has it now.") {
		t.Fatalf("after assigning:\n%s", body)
	}
	c, err := s.st.Conversation(ctx, id, s.env.Clock.Now())
	if err != nil || c.Holder != bea.ID {
		t.Fatalf("the conversation's holder: %q, %v; want bea", c.Holder, err)
	}
	if n := s.audited("conversation.assign"); n != 1 {
		t.Fatalf("%d assignments audited, want 1", n)
	}
	// Anne no longer has it; Bea does, and may reply.
	if resp, _ := do(t, anne, site.req(t, "GET", "/inbox/"+id, nil)); resp.StatusCode != 403 {
		t.Fatalf("anne's page after the reassignment: %d, want 403", resp.StatusCode)
	}
	b := site.signIn(t, bea)
	if _, body := do(t, b, site.req(t, "GET", "/inbox/"+id, nil)); !strings.Contains(body, `action="/inbox/`+id+`/reply"`) || !strings.Contains(body, "Mwen nan Tapachula") {
		t.Fatalf("bea's page after the reassignment:\n%s", body)
	}
}

// TestInboxPersonLeft: the person leaves while a volunteer holds the
// conversation (MENU): the page says it is closed and offers no reply, where
// it once still said "yours" and threw a typed reply away.
func TestInboxPersonLeft(t *testing.T) {
	s := newInboxSite(t, teststores.WithStaff()["embedded"])
	s.escalate(marie)
	site := &site{Env: s.env, srv: s.srv}
	anne := s.env.Enrol(t, "anne", staff.RoleVolunteer, "ht")
	a := site.signIn(t, anne)
	_, body := do(t, a, site.req(t, "GET", "/inbox", nil))
	m := convLink.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("inbox:\n%s", body)
	}
	id := m[1]
	if resp, _ := do(t, a, site.req(t, "POST", "/inbox/"+id+"/claim", url.Values{})); resp.StatusCode != 303 {
		t.Fatalf("claim: %d", resp.StatusCode)
	}
	s.write(marie, "meni") // the person leaves
	_, body = do(t, a, site.req(t, "GET", "/inbox/"+id, nil))
	state := regexp.MustCompile(`<span id="state">([^<]*)</span>`).FindStringSubmatch(body)
	if state == nil || !closedWords(t)[state[1]] {
		t.Errorf("the state after the person left: %q, want closed", state)
	}
	for _, gone := range []string{`id="reply-text"`, `id="release"`, `id="close"`} {
		if strings.Contains(body, gone) {
			t.Errorf("a closed conversation still offers %s", gone)
		}
	}
}

// closedWords are "closed" (inbox.state_closed) in every console language.
func closedWords(t *testing.T) map[string]bool {
	t.Helper()
	files, err := filepath.Glob("locales/*.toml")
	if err != nil || len(files) != 5 {
		t.Fatalf("console locales: %v %v", files, err)
	}
	out := map[string]bool{}
	re := regexp.MustCompile(`(?m)^"inbox\.state_closed" = "([^"]+)"$`)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if m := re.FindSubmatch(b); m != nil {
			out[string(m[1])] = true
		}
	}
	return out
}
