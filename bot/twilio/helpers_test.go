package twilio

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/enlace-rfl/enlace/bot"
	"github.com/enlace-rfl/enlace/bot/faketime"
	"github.com/enlace-rfl/enlace/flows"
	"github.com/enlace-rfl/enlace/locales"
)

const (
	testSID   = "AC0123456789abcdef0123456789abcdef"
	testToken = "f00dfeedf00dfeedf00dfeedf00dfeed"
	testFrom  = "+15005550006"
	testWA    = "whatsapp:+14155238886"
	testTmpl  = "HX0123456789abcdef0123456789abcdef"
	testMG    = "MG0123456789abcdef0123456789abcdef"
	publicURL = "https://enlace.example.org"
)

// notice is a notice the adapter asked the pipeline to queue.
type recordedNotice struct {
	Msg          bot.Message
	TextID       string
	OptOutNotice bool
}

// recorder is the pipeline as the adapter sees it, keeping what it is told:
// the adapter, not the pipeline, is under test here (the end-to-end tests in
// cmd/enlace run the real one).
type recorder struct {
	mu          sync.Mutex
	seen        map[string]bool
	accepted    []bot.Message
	notices     []recordedNotice
	optOut      map[string]bool // channel + " " + number
	unreachable map[string]bool
	receipts    []string // "person id ref delivered"
	entries     []string // "person conv entry status via error"
	lastInbound map[string]time.Time
	err         error
	budgetWait  time.Duration // what TakeFrom answers
	takes       []string      // channel of each TakeFrom
}

// TakeFrom records that a send drew from another channel's budget.
func (r *recorder) TakeFrom(ctx context.Context, channel string, rep bot.Reply) (time.Duration, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.takes = append(r.takes, channel)
	return r.budgetWait, nil
}

// LastInbound: the recorder keeps no sessions; tests that need a durable
// window set lastInbound.
func (r *recorder) LastInbound(ctx context.Context, channel, address string) (time.Time, bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	at, ok := r.lastInbound[channel+" "+address]
	return at, ok, nil
}

func (r *recorder) Receipt(ctx context.Context, person, id, ref string, delivered bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return r.err
	}
	r.receipts = append(r.receipts, fmt.Sprintf("%s %s %s %v", person, id, ref, delivered))
	return nil
}

func (r *recorder) EntryStatus(ctx context.Context, person, conv, entry string, st bot.EntryStatus) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.entries = append(r.entries, strings.TrimSpace(fmt.Sprintf("%s %s %s %s %s %s", person, conv, entry, st.Status, st.Via, st.Error)))
	return nil
}

func newRecorder() *recorder {
	return &recorder{seen: map[string]bool{}, optOut: map[string]bool{}, unreachable: map[string]bool{}}
}

func (r *recorder) Accept(ctx context.Context, m bot.Message) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return false, r.err
	}
	if r.seen[m.Channel+m.ID] {
		return false, nil
	}
	r.seen[m.Channel+m.ID] = true
	r.accepted = append(r.accepted, m)
	return true, nil
}

func (r *recorder) AcceptNotice(ctx context.Context, m bot.Message, text flows.Text, optOutNotice bool) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return false, r.err
	}
	if r.seen[m.Channel+m.ID] {
		return false, nil
	}
	r.seen[m.Channel+m.ID] = true
	r.notices = append(r.notices, recordedNotice{m, text.ID, optOutNotice})
	return true, nil
}

func (r *recorder) SetOptOut(ctx context.Context, channel, address string, out bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return r.err
	}
	r.optOut[channel+" "+address] = out
	return nil
}

func (r *recorder) SetReachable(ctx context.Context, channel, address string, reachable bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return r.err
	}
	r.unreachable[channel+" "+address] = !reachable
	return nil
}

func (r *recorder) OptedOut(ctx context.Context, channel, address string) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return false, r.err
	}
	return r.optOut[channel+" "+address], nil
}

func (r *recorder) Person(channel, address string) string {
	return "hash-of-" + bot.Identity(channel, address) + "-padding"
}

func catalog(t testing.TB) *locales.Catalog {
	t.Helper()
	c, err := locales.Load()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// newAdapter builds an adapter for tests; change cfg's zero fields in mod.
func newAdapter(t testing.TB, p Pipeline, mod func(*Config)) *Adapter {
	t.Helper()
	cfg := Config{
		AccountSID: testSID, AuthToken: testToken, From: testFrom, WhatsAppFrom: testWA,
		PublicURL: publicURL, Rate: 1000, Catalog: catalog(t),
		Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)),
	}
	clk := faketime.New()
	cfg.Clock, cfg.Sleep = clk.Now, clk.Sleep
	if mod != nil {
		mod(&cfg)
	}
	a, err := New(cfg, p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// sample is one entry of testdata/webhook_samples.json.
type sample struct {
	Name   string            `json:"name"`
	Params map[string]string `json:"params"`
}

func samples(t testing.TB) map[string]map[string]string {
	t.Helper()
	raw, err := os.ReadFile("testdata/webhook_samples.json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Samples []sample `json:"samples"`
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]string{}
	for _, s := range f.Samples {
		out[s.Name] = s.Params
	}
	return out
}
