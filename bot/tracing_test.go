package bot_test

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/enlace-rfl/enlace/bot"
	"github.com/enlace-rfl/enlace/flows"
	"github.com/enlace-rfl/enlace/keyring"
	"github.com/enlace-rfl/enlace/tracing"
)

// auditLog records what the pipeline audits.
type auditLog struct {
	mu      sync.Mutex
	entries []string
}

func (a *auditLog) record(_ context.Context, action, subject string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.entries = append(a.entries, action+" "+subject)
	return nil
}

func (a *auditLog) actions() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	for _, e := range a.entries {
		out = append(out, strings.Fields(e)[0])
	}
	return out
}

// tracingPipeline is a pipeline that keeps tracing cases in st, with cheap
// PIN hashes (the costs are in every hash, so this changes nothing else).
func tracingPipeline(t *testing.T, st bot.Store, clk func() time.Time, audit *auditLog, channels ...bot.Channel) *bot.Pipeline {
	t.Helper()
	keys, err := keyring.Parse(testKey)
	if err != nil {
		t.Fatal(err)
	}
	cases, ok := st.(tracing.Store)
	if !ok {
		t.Fatalf("%T keeps no tracing cases", st)
	}
	cfg := testConfig
	cfg.PINParams = tracing.PINParams{Time: 1, MemoryK: 64, Threads: 1}
	return bot.New(bot.Options{
		Config: cfg, Store: st, Cases: cases, Audit: audit.record, Keys: keys,
		Engine:  flows.New(flows.Config{Tracing: true}, catalog),
		Catalog: catalog, Channels: channels, Clock: clk,
	})
}

var codeInText = regexp.MustCompile(`RFL-[0-9A-Z]{4}-[0-9A-Z]{3}`)

// say sends one message from an address and returns what came back to it.
type handset struct {
	t       *testing.T
	p       *bot.Pipeline
	ch      *recorder
	address string
	n       int
}

func (ph *handset) say(text string) []string {
	ph.t.Helper()
	before := len(ph.ch.texts(ph.address))
	ph.n++
	accept(ph.t, ph.p, bot.Message{Channel: ph.ch.name, ID: fmt.Sprintf("%s-%d", ph.address, ph.n), From: ph.address,
		Input: flows.Input{Kind: flows.InputText, Text: text}})
	drain(ph.t, ph.p)
	return ph.ch.texts(ph.address)[before:]
}

// openRequest walks a Spanish SMS user through a tracing request and returns its code.
func openRequest(t *testing.T, ph *handset, name, pin string) string {
	t.Helper()
	var script []string
	if ph.ch.name != "telegram" {
		script = []string{"hola", "1", "1"} // Spanish, agree (Telegram users did with /start)
	} else {
		script = []string{"1", "1"}
	}
	for _, in := range append(script, "Buscar a un familiar", "1", "1", "1", name, "1", "2", "1992", "1", "3", "María López", "Tapachula", "3/2026", "1", "1") {
		ph.say(in)
	}
	got := ph.say("1") // send it
	code := codeInText.FindString(strings.Join(got, "\n"))
	if code == "" {
		t.Fatalf("no case code in %q", got)
	}
	ph.say(pin) // chosen, then typed again
	if got := ph.say(pin); !slices.Contains(got, catalog.Text("es", "tracing.pin.saved", nil)) {
		t.Fatalf("after the PIN: %q", got)
	}
	return code
}

// TestTracingCodeAndPIN: a request opened by SMS gets a code; from another
// number on WhatsApp the code and PIN show it; an unknown code and a wrong
// PIN answer alike; three wrong PINs lock it for a day, with an escalation
// and audit entries; a day later the right PIN opens it.
func TestTracingCodeAndPIN(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			st := b.open(t)
			defer st.Close()
			clk := newClock()
			sms, wa := newRecorder("sms"), newRecorder("whatsapp")
			audit := &auditLog{}
			p := tracingPipeline(t, st, clk.Now, audit, sms, wa)
			enquirer := &handset{t: t, p: p, ch: sms, address: "+5215512345678"}
			code := openRequest(t, enquirer, "José Luis Hernández García", "4821")

			other := &handset{t: t, p: p, ch: wa, address: "+50431234567"}
			wrong := catalog.Text("es", "tracing.wrong", nil)
			unknown := "RFL-" + strings.Repeat("2", 6)
			for _, c := range tracing.CodeAlphabet {
				if cd, err := tracing.ParseCode(unknown[4:] + string(c)); err == nil && cd.String() != code {
					unknown = cd.String()
					break
				}
			}
			first := func(got []string) string {
				if len(got) == 0 {
					return ""
				}
				return strings.SplitN(got[0], "\n\n", 2)[0]
			}
			equal(t, "unknown code", []string{first(other.say(unknown + " 4821"))}, []string{wrong})
			equal(t, "wrong PIN 1", []string{first(other.say(code + " 1357"))}, []string{wrong})
			other.say(code)
			equal(t, "wrong PIN 2", []string{first(other.say("2468"))}, []string{wrong})
			locked := catalog.Text("es", "tracing.locked", nil)
			equal(t, "wrong PIN 3", []string{first(other.say(code + " 9753"))}, []string{locked})
			equal(t, "right PIN while locked", []string{first(other.say(code + " 4821"))}, []string{locked})
			equal(t, "audit", audit.actions(), []string{bot.AuditPINFailed, bot.AuditPINFailed, bot.AuditPINFailed, bot.AuditPINLocked})
			// The enquirer's own phone is told, once, without the code.
			warned := 0
			for _, r := range sms.replies() {
				if r.Text == catalog.Text("es", "tracing.locked.owner", nil) {
					warned++
				}
				if strings.Contains(r.Text, code) && strings.Contains(r.Text, "3") && strings.Contains(r.Text, "24") {
					t.Errorf("the warning shows the code: %q", r.Text)
				}
			}
			if warned != 1 {
				t.Errorf("the enquirer was warned %d times of the lock, want once", warned)
			}
			esc, err := st.Escalations(context.Background(), 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(esc) != 1 {
				t.Errorf("escalations: %d, want one for the lock", len(esc))
			}

			clk.Advance(25 * time.Hour)
			got := other.say(code + " 4821")
			if len(got) < 1 || !strings.Contains(got[0], code) || !strings.Contains(got[0], catalog.Text("es", "tracing.nonews", nil)) {
				t.Fatalf("the right PIN a day later: %q", got)
			}
		})
	}
}

// TestTracingTeaser: a caseworker's update reaches the enquirer as the teaser
// alone (no name, place or number); the PIN shows it; its delivery steps and
// reading are recorded on the case; the reply reaches the case.
func TestTracingTeaser(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			st := b.open(t)
			defer st.Close()
			clk := newClock()
			sms := newRecorder("sms")
			p := tracingPipeline(t, st, clk.Now, &auditLog{}, sms)
			enquirer := &handset{t: t, p: p, ch: sms, address: "+5215512345678"}
			code := openRequest(t, enquirer, "María Fernanda López", "4821")
			c := addUpdate(t, st, clk.Now(), code, tracing.Update{ID: "u1", Template: tracing.TemplateContactPoint, Param: "Cruz Roja Tapachula, Calle 5"})

			before := len(sms.texts(enquirer.address))
			if err := p.CaseUpdateEvent(context.Background(), c, "u1"); err != nil {
				t.Fatal(err)
			}
			drain(t, p)
			teaser := sms.texts(enquirer.address)[before:]
			equal(t, "teaser", teaser, want("es", "tracing.teaser"))
			for _, secret := range []string{"María", "López", "Tapachula", "Cruz Roja", code, "5512345678"} {
				if strings.Contains(teaser[0], secret) {
					t.Errorf("the teaser %q reveals %q", teaser[0], secret)
				}
			}
			got := enquirer.say("4821")
			if len(got) < 1 || !strings.Contains(got[0], "Cruz Roja Tapachula, Calle 5") {
				t.Fatalf("after the PIN: %q", got)
			}
			enquirer.say("1")
			enquirer.say("Gracias, iré mañana")
			c = caseByCode(t, st, clk.Now(), code)
			u := c.Updates[0]
			var steps []string
			for _, d := range u.Delivery {
				steps = append(steps, d.Channel+":"+d.Status)
			}
			equal(t, "delivery steps", steps, []string{"sms:sent", "sms:read"})
			if u.Status() != tracing.DeliveryRead {
				t.Errorf("status %q, want read", u.Status())
			}
			if len(c.Replies) != 1 || c.Replies[0].Text != "Gracias, iré mañana" {
				t.Errorf("replies %+v", c.Replies)
			}
		})
	}
}

// TestTracingTeaserFallsBackToSMS: a teaser Telegram refuses (the person
// blocked the bot: 403) goes to the number they shared, by SMS, and both
// steps are on the update.
func TestTracingTeaserFallsBackToSMS(t *testing.T) {
	b := backends(t)[0]
	st := b.open(t)
	defer st.Close()
	clk := newClock()
	tg, sms := newRecorder("telegram"), newRecorder("sms")
	p := tracingPipeline(t, st, clk.Now, &auditLog{}, tg, sms)
	user := &handset{t: t, p: p, ch: tg, address: "424242"}
	accept(t, p, bot.Message{Channel: "telegram", ID: "start", From: "424242", Input: flows.Input{Kind: flows.InputCommand, Command: "start"}})
	drain(t, p)
	code := openRequest(t, user, "Jean-Baptiste Pierre", "4821")
	accept(t, p, bot.Message{Channel: "telegram", ID: "share", From: "424242", Input: flows.Input{Kind: flows.InputContact, Phone: "+50588776655", Own: true}})
	drain(t, p)
	c := addUpdate(t, st, clk.Now(), code, tracing.Update{ID: "u1", Template: tracing.TemplateStillSearching})

	tg.fail = func(r bot.Reply, _ int) error {
		return fmt.Errorf("telegram: 403 Forbidden: bot was blocked by the user: %w", bot.ErrUnreachable)
	}
	if err := p.CaseUpdateEvent(context.Background(), c, "u1"); err != nil {
		t.Fatal(err)
	}
	drain(t, p)
	equal(t, "teaser by SMS", sms.texts("+50588776655"), want("es", "tracing.teaser"))
	var steps []string
	for _, d := range caseByCode(t, st, clk.Now(), code).Updates[0].Delivery {
		steps = append(steps, d.Channel+":"+d.Status)
		if d.Channel == "telegram" && !strings.Contains(d.Error, "403") {
			t.Errorf("the failed step says %q: want the 403", d.Error)
		}
		if d.Channel == "sms" && d.Status == tracing.DeliveryQueued && !strings.Contains(d.Error, "telegram") {
			t.Errorf("the SMS step says %q: want that it falls back from Telegram", d.Error)
		}
	}
	equal(t, "delivery steps", steps, []string{"telegram:failed", "sms:queued", "sms:sent"})
}

// caseByCode reads a case back from the store by its code.
func caseByCode(t *testing.T, st bot.Store, now time.Time, code string) *tracing.Case {
	t.Helper()
	keys, _ := keyring.Parse(testKey)
	cd, err := tracing.ParseCode(code)
	if err != nil {
		t.Fatal(err)
	}
	cs := st.(tracing.Store)
	id, err := cs.CaseByCode(context.Background(), tracing.CodeKey(keys, cd), now)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := cs.GetCase(context.Background(), id, now)
	if err != nil {
		t.Fatal(err)
	}
	c, err := tracing.OpenCase(keys, rec.ID, rec.Sealed)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// addUpdate adds an update to a case as a caseworker would.
func addUpdate(t *testing.T, st bot.Store, now time.Time, code string, u tracing.Update) *tracing.Case {
	t.Helper()
	keys, _ := keyring.Parse(testKey)
	c := caseByCode(t, st, now, code)
	cs := st.(tracing.Store)
	rec, err := cs.GetCase(context.Background(), c.ID, now)
	if err != nil {
		t.Fatal(err)
	}
	c.Updates = append(c.Updates, u)
	next, err := tracing.NewRecord(keys, c, rec.EnquirerKey, rec.Caseworker, rec.Waiting, 180*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := cs.PutCase(context.Background(), next, now); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestEraseWithdrawsCases: a person with two tracing requests erases their
// data; each case reads "withdrawn" and nothing else (no name, no place, no
// way to reach them, no PIN), nothing in the store names the person, the old
// sealed case is gone, and it can never match.
func TestEraseWithdrawsCases(t *testing.T) {
	for _, b := range rawBackends(t) {
		t.Run(b.name, func(t *testing.T) {
			st := b.open(t)
			clk := newClock()
			sms := newRecorder("sms")
			p := tracingPipeline(t, st, clk.Now, &auditLog{}, sms)
			enquirer := &handset{t: t, p: p, ch: sms, address: "+5215512345678"}
			person := p.Person("sms", enquirer.address)
			first := openRequest(t, enquirer, "José Luis Hernández García", "4821")
			enquirer.say("menu")
			second := openRequest2(t, enquirer, "Ana Lucía Pérez", "2468")
			oldSealed := caseRecordOf(t, st, clk.Now(), first).Sealed
			enquirer.say("borrar")
			if got := enquirer.say("1"); len(got) == 0 || !strings.Contains(got[len(got)-1], catalog.Text("es", "erase.done", nil)) {
				t.Fatalf("erase: %q", got)
			}
			for _, code := range []string{first, second} {
				c := caseByCode(t, st, clk.Now(), code)
				if !c.Erased || c.Status != tracing.StatusClosed || c.Closing != tracing.ClosedWithdrawn ||
					c.Sought.FullName != "" || c.Reach != (tracing.Reach{}) || c.PINHash != "" || c.Matchable() {
					t.Errorf("case %s after erase: %+v", code, c)
				}
			}
			if bytesEqual(caseRecordOf(t, st, clk.Now(), first).Sealed, oldSealed) {
				t.Error("the case's old sealed data is still stored")
			}
			st.Close()
			after := b.dump(t)
			if left := after.keysWith(person); len(left) > 0 {
				t.Errorf("records left after erase: %q", left)
			}
			for _, v := range after.values {
				if strings.Contains(string(v), person) {
					t.Errorf("a stored value still names the person after erase: %q", v)
				}
			}
		})
	}
}

// openRequest2 opens a second request from the menu of someone who agreed already.
func openRequest2(t *testing.T, ph *handset, name, pin string) string {
	t.Helper()
	for _, in := range []string{"Buscar a un familiar", "1", "1", "2", name, "1", "1", "30", "2", "1", "Rosa Pérez", "1", "2026", "4"} {
		ph.say(in)
	}
	ph.say("1")
	got := ph.say("1")
	code := codeInText.FindString(strings.Join(got, "\n"))
	if code == "" {
		t.Fatalf("no case code in %q", got)
	}
	ph.say(pin)
	ph.say(pin) // typed again
	return code
}

func caseRecordOf(t *testing.T, st bot.Store, now time.Time, code string) tracing.Record {
	t.Helper()
	c := caseByCode(t, st, now, code)
	rec, err := st.(tracing.Store).GetCase(context.Background(), c.ID, now)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

func bytesEqual(a, b []byte) bool { return string(a) == string(b) }

// TestInterviewCaseReachesANewNumber: a case a caseworker took in an
// interview reaches a number that never wrote to Enlace, in the enquirer's
// language: the code, then the PIN question; the PIN they write is kept
// (hashed) and opens the case from another phone.
func TestInterviewCaseReachesANewNumber(t *testing.T) {
	b := backends(t)[1]
	st := b.open(t)
	defer st.Close()
	clk := newClock()
	sms, wa := newRecorder("sms"), newRecorder("whatsapp")
	p := tracingPipeline(t, st, clk.Now, &auditLog{}, sms, wa)
	keys, _ := keyring.Parse(testKey)
	code, err := tracing.NewCode()
	if err != nil {
		t.Fatal(err)
	}
	c := &tracing.Case{ID: "kinterview1", Code: code, Status: tracing.StatusNew, Consent: tracing.Consent{Tracing: true},
		Sought: tracing.Sought{Person: tracing.Person{FullName: "Wilner Joseph"}}, Created: clk.Now(), Updated: clk.Now(),
		Reach: tracing.Reach{Channel: "sms", Address: "+50937001234", Lang: "ht"}}
	rec, err := tracing.NewRecord(keys, c, p.Person("sms", "+50937001234"), "", clk.Now(), 180*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.(tracing.Store).PutCase(context.Background(), rec, clk.Now()); err != nil {
		t.Fatal(err)
	}
	for range 2 { // the same event twice (a retried form) tells them once
		if err := p.CaseOpened(context.Background(), c); err != nil {
			t.Fatal(err)
		}
	}
	drain(t, p)
	got := sms.texts("+50937001234")
	opened := catalog.Text("ht", "tracing.opened", map[string]string{"Code": code.String()})
	if len(got) != 1 || !strings.Contains(got[0], opened) || !strings.Contains(got[0], catalog.Text("ht", "tracing.pin.ask", nil)) {
		t.Fatalf("to the enquirer: %q", got)
	}
	enquirer := &handset{t: t, p: p, ch: sms, address: "+50937001234"}
	if got := enquirer.say("4817"); len(got) == 0 || !strings.Contains(got[0], catalog.Text("ht", "tracing.pin.again", nil)) {
		t.Fatalf("after the PIN: %q, want it asked again", got)
	}
	if got := enquirer.say("4817"); len(got) == 0 || !strings.Contains(got[0], catalog.Text("ht", "tracing.pin.saved", nil)) {
		t.Fatalf("after the PIN: %q", got)
	}
	other := &handset{t: t, p: p, ch: wa, address: "+50938887777"}
	if got := other.say(code.String() + " 4817"); len(got) == 0 || !strings.Contains(got[0], code.String()) {
		t.Fatalf("from another phone: %q", got)
	}
}
