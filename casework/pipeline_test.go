package casework_test

import (
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/enlace-rfl/enlace/bot"
	"github.com/enlace-rfl/enlace/casework"
	"github.com/enlace-rfl/enlace/flows"
	"github.com/enlace-rfl/enlace/locales"
	"github.com/enlace-rfl/enlace/staff"
	"github.com/enlace-rfl/enlace/staff/stafftest"
	"github.com/enlace-rfl/enlace/store/embedded"
	"github.com/enlace-rfl/enlace/tracing"
)

// The pipeline is the Service's Notifier in serve, by its case events.
var _ casework.CaseNotifier = (*bot.Pipeline)(nil)

// smsPhone records what reaches the phones on SMS.
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

func (p *smsPhone) take() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, r := range p.sent {
		out = append(out, r.To+": "+r.Text)
	}
	p.sent = nil
	return out
}

// TestInterviewReachesThePhone: with the real pipeline as the Notifier, a
// case taken in an interview sends the enquirer (who never wrote to Enlace)
// its code and asks for a PIN; their PIN is kept; a notification reaches them
// as the teaser alone and its delivery is recorded on the update.
func TestInterviewReachesThePhone(t *testing.T) {
	st, err := embedded.Open(filepath.Join(t.TempDir(), "enlace.db"), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	se := stafftest.NewOn(t, st, staff.Config{})
	cat, err := locales.Load()
	if err != nil {
		t.Fatal(err)
	}
	phone := &smsPhone{}
	pipe := bot.New(bot.Options{
		Config: bot.Config{PINParams: tracing.PINParams{Time: 1, MemoryK: 64, Threads: 1}}, Store: st, Cases: st, Keys: se.Keys,
		Engine: flows.New(flows.Config{Tracing: true}, cat), Catalog: cat, Channels: []bot.Channel{phone}, Clock: se.Clock.Now,
	})
	drain := func() []string {
		t.Helper()
		se.Clock.Advance(time.Second)
		if err := pipe.Drain(ctx); err != nil {
			t.Fatal(err)
		}
		return phone.take()
	}
	svc := casework.New(casework.Config{Cases: st, Keys: se.Keys, Staff: se.Service, Notifier: pipe, Clock: se.Clock.Now})
	a, _, err := se.Service.Add(ctx, staff.Operator, "carla", staff.RoleCaseworker, []string{"es"})
	if err != nil {
		t.Fatal(err)
	}
	cw := staff.ActorOf(a, "192.0.2.1")

	in := interview("José Luis Hernández García", 1990)
	in.Channel, in.Address = "sms", "+50499123456"
	created, err := svc.CreateInterview(ctx, cw, in)
	if err != nil || !created.Notified {
		t.Fatalf("interview: %+v %v", created, err)
	}
	code := created.Case.Code.String()
	got := drain()
	if len(got) == 0 || !strings.HasPrefix(got[0], "+50499123456: ") || !strings.Contains(strings.Join(got, "\n"), code) {
		t.Fatalf("the enquirer's phone got %q, want the code %s", got, code)
	}
	for i, id := range []string{"SM1", "SM1b"} { // the PIN, then the same again
		if _, err := pipe.Accept(ctx, bot.Message{Channel: "sms", From: "+50499123456", ID: id, Input: flows.Input{Kind: flows.InputText, Text: "4821"}}); err != nil {
			t.Fatal(err)
		}
		if got := drain(); len(got) == 0 {
			t.Fatalf("no answer to the PIN's %d. typing", i+1)
		}
	}
	rec, err := st.GetCase(ctx, created.Case.ID, se.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	c, err := tracing.OpenCase(se.Keys, rec.ID, rec.Sealed)
	if err != nil || c.PINHash == "" {
		t.Fatalf("the enquirer's PIN is not kept: %v", err)
	}
	if rec.Caseworker != a.ID {
		t.Errorf("the chat's change lost the caseworker: %q", rec.Caseworker)
	}

	u, err := svc.SendUpdate(ctx, cw, created.Case.ID, casework.Notification{Entry: "n1", Template: tracing.TemplateContactPoint, Param: "Cruz Roja Tapachula"})
	if err != nil {
		t.Fatal(err)
	}
	got = drain()
	if want := "+50499123456: " + cat.Text("es", "tracing.teaser", nil); len(got) != 1 || got[0] != want {
		t.Fatalf("teaser %q, want %q", got, want)
	}
	ups, err := svc.Updates(ctx, cw, created.Case.ID)
	if err != nil || len(ups) != 1 || ups[0].ID != u.ID || ups[0].Status() != tracing.DeliverySent {
		t.Fatalf("updates %+v %v, want one sent", ups, err)
	}

	// Three wrong PINs lock it; the enquirer forgot the PIN and comes to an
	// assistance point: the caseworker clears it, the chat asks for a new
	// one, and the new one reads the case at once, lock gone.
	n := 1
	say := func(text string) []string {
		t.Helper()
		n++
		if _, err := pipe.Accept(ctx, bot.Message{Channel: "sms", From: "+50499123456", ID: "SM" + strconv.Itoa(n), Input: flows.Input{Kind: flows.InputText, Text: text}}); err != nil {
			t.Fatal(err)
		}
		return drain()
	}
	for _, pin := range []string{"1357", "2468", "9753"} {
		say(code + " " + pin)
	}
	if got := strings.Join(say(code+" 4821"), "\n"); !strings.Contains(got, cat.Text("es", "tracing.locked", nil)) {
		t.Fatalf("after three wrong PINs: %q, want locked", got)
	}
	if _, err := svc.ResetPIN(ctx, cw, created.Case.ID, nil); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(drain(), "\n"); !strings.Contains(got, cat.Text("es", "tracing.pin.reset", map[string]string{"Code": code})) ||
		!strings.Contains(got, cat.Text("es", "tracing.pin.ask", nil)) {
		t.Fatalf("after the reset the phone got %q, want to be asked for a new PIN", got)
	}
	say("6093")
	say("6093") // typed again
	if got := strings.Join(say(code+" 6093"), "\n"); !strings.Contains(got, code) || strings.Contains(got, cat.Text("es", "tracing.locked", nil)) {
		t.Fatalf("the new PIN: %q, want the case", got)
	}
	if e := entriesOf(t, se, "case.pin_reset"); e != 1 {
		t.Errorf("case.pin_reset audited %d times, want 1", e)
	}
}

func entriesOf(t *testing.T, se *stafftest.Env, action string) int {
	t.Helper()
	entries, err := se.Service.AuditRecent(ctx, 1000)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if e.Action == action {
			n++
		}
	}
	return n
}
