package bot_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/enlace-rfl/enlace/bot"
	"github.com/enlace-rfl/enlace/bot/faketime"
	"github.com/enlace-rfl/enlace/flows"
	"github.com/enlace-rfl/enlace/keyring"
	"github.com/enlace-rfl/enlace/locales"
	"github.com/enlace-rfl/enlace/store/embedded"
	redisstore "github.com/enlace-rfl/enlace/store/redis"
	"github.com/enlace-rfl/enlace/store/redis/redistest"
)

// testKey is a fixed key so that a child process and its parent share data.
const testKey = "t1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

// backend opens the same store again and again (as a restarted process would).
type backend struct {
	name string
	open func(t testing.TB) bot.Store
	// env lets a child process open the same store.
	env []string
	// elapse lets d pass on the store's own clock (Redis's TTLs); nil when the
	// store reads only the time it is given.
	elapse func(t testing.TB, d time.Duration)
}

// backends returns a real embedded store and a real Redis store for a test.
func backends(t *testing.T) []backend {
	t.Helper()
	path := filepath.Join(t.TempDir(), "enlace.db")
	srv := redistest.Start(t)
	prefix := srv.NewPrefix()
	return []backend{
		{name: "embedded", env: []string{"TEST_STORE=embedded", "TEST_PATH=" + path}, open: func(t testing.TB) bot.Store {
			st, err := embedded.Open(path, embedded.Options{})
			if err != nil {
				t.Fatal(err)
			}
			return st
		}},
		{name: "redis", env: []string{"TEST_STORE=redis", "TEST_REDIS_URL=" + srv.URL, "TEST_PREFIX=" + prefix}, open: func(t testing.TB) bot.Store {
			st, err := redisstore.Open(context.Background(), srv.URL, redisstore.Options{Prefix: prefix})
			if err != nil {
				t.Fatal(err)
			}
			return st
		}, elapse: func(t testing.TB, d time.Duration) {
			st, err := redisstore.Open(context.Background(), srv.URL, redisstore.Options{Prefix: prefix})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			redistest.Elapse(t, st.Client(), prefix, d)
		}},
	}
}

// clock is a fake clock that tests move forward, so a test can jump past a
// backoff or a retention period without sleeping (the adapters' faketime).
type clock = faketime.Clock

func newClock() *clock { return faketime.New() }

// recorder is a channel that records what it delivers and can be told to fail.
type recorder struct {
	name string
	mu   sync.Mutex
	sent []bot.Reply
	// fail, when set, decides the outcome of each attempt.
	fail func(r bot.Reply, attempt int) error
	try  map[string]int
	// triedTo lists, per address, the ids of the replies tried there.
	triedTo map[string][]string
}

func newRecorder(name string) *recorder {
	return &recorder{name: name, try: map[string]int{}, triedTo: map[string][]string{}}
}

func (r *recorder) Name() string { return r.name }

func (r *recorder) Send(ctx context.Context, rep bot.Reply) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.try[rep.ID] == 0 {
		r.triedTo[rep.To] = append(r.triedTo[rep.To], rep.ID)
	}
	r.try[rep.ID]++
	if r.fail != nil {
		if err := r.fail(rep, r.try[rep.ID]); err != nil {
			return err
		}
	}
	r.sent = append(r.sent, rep)
	return nil
}

// texts lists what was delivered to one address, in order.
func (r *recorder) texts(to string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, s := range r.sent {
		if s.To == to {
			out = append(out, s.Text)
		}
	}
	return out
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.sent)
}

// replies are the replies delivered so far, in order.
func (r *recorder) replies() []bot.Reply {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.sent)
}

var catalog = func() *locales.Catalog {
	c, err := locales.Load()
	if err != nil {
		panic(err)
	}
	return c
}()

// newPipeline builds a pipeline over st with the real engine and translations.
func newPipeline(t testing.TB, st bot.Store, clk func() time.Time, channels ...bot.Channel) *bot.Pipeline {
	t.Helper()
	return newPipelineWith(t, st, clk, testConfig, channels...)
}

var (
	testConfig = bot.Config{RetryFor: 8 * time.Second, BackoffBase: time.Second, BackoffMax: 4 * time.Second, Lease: 5 * time.Second, LockTTL: 5 * time.Second}
	shortLocks = bot.Config{Lease: time.Second, LockTTL: time.Second}
)

func newPipelineWith(t testing.TB, st bot.Store, clk func() time.Time, cfg bot.Config, channels ...bot.Channel) *bot.Pipeline {
	t.Helper()
	return pipelineOf(t, st, clk, cfg, flows.New(flows.Config{}, catalog), channels...)
}

// enginePipeline builds a pipeline over st with another engine (the real one
// wrapped with a rule, standing in for a flow the test needs).
func enginePipeline(t testing.TB, st bot.Store, clk func() time.Time, engine bot.Engine, channels ...bot.Channel) *bot.Pipeline {
	t.Helper()
	return pipelineOf(t, st, clk, testConfig, engine, channels...)
}

func pipelineOf(t testing.TB, st bot.Store, clk func() time.Time, cfg bot.Config, engine bot.Engine, channels ...bot.Channel) *bot.Pipeline {
	t.Helper()
	keys, err := keyring.Parse(testKey)
	if err != nil {
		t.Fatal(err)
	}
	return bot.New(bot.Options{
		Config:   cfg,
		Store:    st,
		Keys:     keys,
		Engine:   engine,
		Catalog:  catalog,
		Channels: channels,
		Clock:    clk,
	})
}

func msg(from, id, text string) bot.Message {
	return bot.Message{Channel: "sms", ID: id, From: from, Input: flows.Input{Kind: flows.InputText, Text: text}}
}

// want renders message IDs in a language, as the person should read them.
func want(lang string, ids ...string) []string {
	var out []string
	for _, id := range ids {
		out = append(out, catalog.Text(lang, id, nil))
	}
	return out
}

func accept(t testing.TB, p *bot.Pipeline, m bot.Message) bool {
	t.Helper()
	ok, err := p.Accept(context.Background(), m)
	if err != nil {
		t.Fatalf("accept: %v", err)
	}
	return ok
}

func drain(t testing.TB, p *bot.Pipeline) {
	t.Helper()
	if err := p.Drain(context.Background()); err != nil {
		t.Fatalf("drain: %v", err)
	}
}

func equal(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s:\n got  %q\n want %q", what, got, want)
	}
}

var errFlaky = errors.New("provider answered 503")

func flowsOutput(id string) flows.Output { return flows.Output{Text: flows.Text{ID: id}} }

func benchConcurrency() int {
	if v, err := strconv.Atoi(os.Getenv("BENCH_CONCURRENCY")); err == nil && v > 0 {
		return v
	}
	return 8
}

func runtimeProcs() int { return runtime.GOMAXPROCS(0) }

// intro is the introduction a number Enlace never talked with reads before
// its first message from Enlace, in lang.
func intro(lang string) string { return catalog.Text(lang, "intro.relative", nil) }

// afterIntro checks that what a number read starts with the introduction in
// lang, and has it only once, and returns what came after it.
func afterIntro(t *testing.T, lang string, got []string) []string {
	t.Helper()
	if len(got) == 0 || got[0] != intro(lang) {
		t.Errorf("first message %q, want the introduction in %s first", got, lang)
		return got
	}
	if n := countText(got, intro(lang)); n != 1 {
		t.Errorf("introduced %d times in %q, want once", n, got)
	}
	return got[1:]
}
