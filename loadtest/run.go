package loadtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	tgadapter "github.com/enlace-rfl/enlace/bot/telegram"
	"github.com/enlace-rfl/enlace/bot/telegram/telegramtest"
	"github.com/enlace-rfl/enlace/bot/twilio"
	"github.com/enlace-rfl/enlace/bot/twilio/twiliotest"
)

// What serve is told about the providers. The stand-ins accept only these.
const (
	botToken    = "7000000001:AAH-enlace_loadtest_token"
	twilioFrom  = "+15005550006"
	whatsFrom   = "whatsapp:+14155238886"
	publicURL   = "https://enlace.loadtest.invalid"
	webhookPath = "/webhooks/telegram"
)

// postTimeout bounds one webhook post, as Twilio's 15 s and Telegram's own
// timeouts do; a post that takes longer is posted again (same id).
const postTimeout = 30 * time.Second

// standins is the TB the stand-ins run with outside a test: what they
// refuse is kept for the report, and their cleanups run at the end.
type standins struct {
	mu       sync.Mutex
	problems []string
	cleanups []func()
}

func (s *standins) Helper() {}

func (s *standins) Cleanup(f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cleanups = append(s.cleanups, f)
}

func (s *standins) Errorf(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.problems = append(s.problems, fmt.Sprintf(format, args...))
}

func (s *standins) Fatalf(format string, args ...any) { s.Errorf(format, args...) }

// close runs the cleanups, last first (the Bot API stand-in reports what it
// refused then), and returns every problem.
func (s *standins) close() []string {
	s.mu.Lock()
	cleanups := s.cleanups
	s.cleanups = nil
	s.mu.Unlock()
	for _, f := range slices.Backward(cleanups) {
		f()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.problems)
}

// runner is one load test in progress.
type runner struct {
	cfg     Config
	people  []*person
	env     []string
	targets targets
	client  *http.Client

	tgAPI                    *telegramtest.Server
	twAPI                    *twiliotest.API
	tgSecret, twSID, twToken string

	accepted  [][]bool // per person and message, set once it was accepted
	acceptMu  sync.Mutex
	nAccepted atomic.Int64
	retried   atomic.Int64
	latencies []time.Duration
	firstPost time.Time
	lastOK    time.Time

	killMu           sync.Mutex
	killAt           []time.Time
	killErr          error
	actErr           error // what Act returned
	actStart, actEnd time.Time
	killing          sync.WaitGroup
	nextN            atomic.Int64 // numbers the serves started
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// hasEnv tells whether env sets name to something.
func hasEnv(env []string, name string) bool {
	for _, kv := range env {
		if k, v, _ := strings.Cut(kv, "="); k == name && strings.TrimSpace(v) != "" {
			return true
		}
	}
	return false
}

// Run runs one load test and reports what the stand-ins received. An error
// means the test could not run (a serve did not start, serve refused a
// webhook as wrongly signed); lost or doubled replies are in the Report.
func Run(ctx context.Context, cfg Config) (Report, error) {
	if err := cfg.Check(); err != nil {
		return Report{}, fmt.Errorf("loadtest: %w", err)
	}
	if cfg.Serves > 1 && !hasEnv(cfg.Env, "REDIS_URL") {
		return Report{}, fmt.Errorf("loadtest: -serves %d needs REDIS_URL: the embedded store belongs to one process", cfg.Serves)
	}
	if len(cfg.Command) == 0 {
		self, err := os.Executable()
		if err != nil {
			return Report{}, fmt.Errorf("loadtest: finding the enlace binary to run: %w", err)
		}
		cfg.Command = []string{self}
	}
	var seed [4]byte
	_, _ = rand.Read(seed[:])
	d := ids{run: 100 + int(binary.BigEndian.Uint16(seed[:2]))%900, nsid: binary.BigEndian.Uint32(seed[:])}
	r := &runner{cfg: cfg, people: makePeople(cfg, d), tgSecret: randomHex(24), twSID: "AC" + randomHex(16), twToken: randomHex(16)}
	r.accepted = make([][]bool, len(r.people))
	for i, p := range r.people {
		r.accepted[i] = make([]bool, len(p.script))
	}
	tb := &standins{}
	defer tb.close()
	r.tgAPI = telegramtest.New(tb, botToken)
	r.twAPI = twiliotest.NewAPI(tb, r.twSID, r.twToken)

	env := slices.Clone(cfg.Env)
	if !hasEnv(env, "ENLACE_SECRET_KEY") {
		key := make([]byte, 32)
		_, _ = rand.Read(key)
		env = append(env, "ENLACE_SECRET_KEY=lt:"+base64.StdEncoding.EncodeToString(key))
	}
	if !hasEnv(env, "REDIS_URL") {
		dir, err := os.MkdirTemp("", "enlace-loadtest-")
		if err != nil {
			return Report{}, fmt.Errorf("loadtest: a data directory for the embedded store: %w", err)
		}
		defer os.RemoveAll(dir)
		env = append(env, "ENLACE_DATA_DIR="+dir)
	}
	env = append(env,
		"ENLACE_ADDR=127.0.0.1:0", "ENLACE_METRICS_ADDR=off", "ENLACE_CONSOLE_ADDR=off", "ENLACE_PUBLIC_URL="+publicURL,
		"TELEGRAM_BOT_TOKEN="+botToken, "TELEGRAM_API_URL="+r.tgAPI.URL, "TELEGRAM_MODE=webhook", "TELEGRAM_WEBHOOK_SECRET="+r.tgSecret,
		"TWILIO_ACCOUNT_SID="+r.twSID, "TWILIO_AUTH_TOKEN="+r.twToken, "TWILIO_FROM="+twilioFrom,
		"TWILIO_WHATSAPP_FROM="+whatsFrom, "TWILIO_API_URL="+r.twAPI.URL, "TWILIO_RATE="+strconv.FormatFloat(cfg.TwilioRate, 'g', -1, 64))
	r.env = env
	r.client = &http.Client{Timeout: postTimeout, Transport: &http.Transport{MaxIdleConnsPerHost: cfg.Concurrency, MaxIdleConns: cfg.Concurrency * cfg.Serves}}

	learned := map[string][][]string{}
	for _, p := range r.people {
		if learned[p.channel] != nil {
			continue
		}
		l, err := learn(ctx, cfg.Command, cfg.Env, p.channel)
		if err != nil {
			return Report{}, err
		}
		learned[p.channel] = l
	}
	expected := make([][]part, len(r.people))
	for i, p := range r.people {
		expected[i] = expect(p, learned[p.channel])
	}
	defer func() {
		for _, p := range r.targets.all() {
			p.kill() // only on an early return: stopServes empties the list
		}
	}()
	for range cfg.Serves {
		p, err := r.start(ctx)
		if err != nil {
			return Report{}, err
		}
		r.targets.add(p)
	}

	t := newTally(r.people, expected)
	var tgSeen, twSeen int
	pace := newPace()
	ingest := func() {
		calls := r.tgAPI.Calls("")
		for _, c := range calls[tgSeen:] {
			if !strings.HasPrefix(c.Method, "send") {
				continue
			}
			pace.add(c.ChatID(), c.At)
			text := c.Params["text"]
			if c.Method == "sendVenue" {
				text = c.Params["title"] + "\n" + c.Params["address"]
			}
			t.add(c.ChatID(), text, c.At)
		}
		tgSeen = len(calls)
		tw := r.twAPI.Calls()
		for _, c := range tw[twSeen:] {
			if c.Status >= 200 && c.Status < 300 {
				t.add(c.Form.Get("To"), c.Form.Get("Body"), c.At)
			}
		}
		twSeen = len(tw)
	}

	postErr := r.post(ctx)
	r.killing.Wait()
	if postErr == nil {
		postErr = r.killErr
	}
	var allAt time.Time
	if postErr == nil {
		allAt = r.await(ctx, t, ingest)
	}
	ingest()
	stopErr := r.stopServes()
	problems := tb.close()
	if postErr != nil {
		return Report{}, postErr
	}
	rep := r.report(t, pace, allAt)
	rep.Problems = problems
	if r.actErr != nil {
		rep.Problems = append(rep.Problems, "the action during the run: "+r.actErr.Error())
	}
	if stopErr != nil {
		rep.Problems = append(rep.Problems, stopErr.Error())
	}
	return rep, nil
}

// start starts one more serve.
func (r *runner) start(ctx context.Context) (*serveProc, error) {
	return startServe(ctx, r.cfg.Command, r.env, int(r.nextN.Add(1)), r.cfg.LogDir)
}

// stopServes stops every serve as an orchestrator would, and says which did
// not end well.
func (r *runner) stopServes() error {
	var errs []error
	for _, p := range r.targets.all() {
		r.targets.remove(p)
		errs = append(errs, p.stop(time.Minute))
	}
	return errors.Join(errs...)
}

// post posts every person's messages in order (one at a time each, the next
// once the last was accepted), people in turn, at cfg.Rate.
func (r *runner) post(ctx context.Context) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	limit := rate.NewLimiter(rate.Inf, 1)
	if r.cfg.Rate > 0 {
		limit = rate.NewLimiter(rate.Limit(r.cfg.Rate), 1)
	}
	ready := make(chan *person, len(r.people))
	var left sync.WaitGroup
	for _, p := range r.people {
		left.Add(1)
		ready <- p
	}
	go func() { left.Wait(); close(ready) }()
	stopProgress := r.progress(ctx)
	defer stopProgress()
	r.firstPost = time.Now()
	var workers sync.WaitGroup
	for range r.cfg.Concurrency {
		workers.Go(func() {
			for p := range ready {
				if ctx.Err() != nil {
					left.Done()
					continue
				}
				if err := limit.Wait(ctx); err != nil {
					left.Done()
					continue
				}
				m := p.script[p.next]
				lat, err := r.deliver(ctx, p, m)
				if err != nil {
					cancel(err)
					left.Done()
					continue
				}
				r.accept(p, m, lat)
				p.next++
				if p.next < len(p.script) {
					ready <- p
				} else {
					left.Done()
				}
			}
		})
	}
	workers.Wait()
	if err := context.Cause(ctx); err != nil {
		return err
	}
	return nil
}

// progress notes how many messages were accepted every few seconds, until
// the function it returns is called.
func (r *runner) progress(ctx context.Context) func() {
	if r.cfg.Progress == nil {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		tick := time.NewTicker(5 * time.Second)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-done:
				return
			case <-tick.C:
				fmt.Fprintf(r.cfg.Progress, "loadtest: %d of %d messages accepted\n", r.nAccepted.Load(), r.cfg.Messages)
			}
		}
	}()
	return func() { close(done) }
}

// accept records an accepted message, and kills a serve when it is time.
func (r *runner) accept(p *person, m message, lat time.Duration) {
	r.acceptMu.Lock()
	r.accepted[p.index][m.index] = true
	r.latencies = append(r.latencies, lat)
	r.lastOK = time.Now()
	r.acceptMu.Unlock()
	n := r.nAccepted.Add(1)
	if r.cfg.KillAfter > 0 && n == int64(r.cfg.KillAfter) {
		r.killing.Go(r.killOne)
	}
	if r.cfg.Act != nil && n == int64(max(1, r.cfg.ActAfter)) {
		r.killing.Go(func() {
			start := time.Now()
			err := r.cfg.Act()
			r.killMu.Lock()
			r.actErr, r.actStart, r.actEnd = err, start, time.Now()
			r.killMu.Unlock()
		})
	}
}

// killOne SIGKILLs the first serve taking webhooks, then starts another in
// its place.
func (r *runner) killOne() {
	live := r.targets.all()
	if len(live) == 0 {
		return
	}
	p := live[0]
	r.targets.remove(p)
	p.kill()
	r.killMu.Lock()
	r.killAt = append(r.killAt, time.Now())
	r.killMu.Unlock()
	q, err := r.start(context.Background())
	if err != nil {
		r.killErr = err
		return
	}
	r.targets.add(q)
}

// deliver posts one message until serve answers 2xx, as the providers do: a
// post that fails or gets 5xx is posted again with the same id (Telegram
// redelivers an update, Twilio tries its fallback URL), to the next serve. It
// returns how long the post that was accepted took. A 4xx means serve refuses
// the webhook as such (a wrong signature or secret): the test stops.
func (r *runner) deliver(ctx context.Context, p *person, m message) (time.Duration, error) {
	var body []byte
	var header http.Header
	var path string
	if p.channel == telegram {
		body = telegramUpdate(p, m, time.Now())
		header = http.Header{"Content-Type": {"application/json"}, tgadapter.SecretHeader: {r.tgSecret}}
		path = webhookPath
	} else {
		to := twilioFrom
		if p.channel == whatsapp {
			to = whatsFrom
		}
		form := twilioForm(p, m, to, r.twSID)
		body = []byte(form.Encode())
		header = http.Header{"Content-Type": {"application/x-www-form-urlencoded"},
			"X-Twilio-Signature": {twiliotest.Sign(r.twToken, publicURL+twilio.InboundPath, form)}}
		path = twilio.InboundPath
	}
	pause := 50 * time.Millisecond
	for {
		base := r.targets.pick()
		if base != "" {
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+path, bytes.NewReader(body))
			if err != nil {
				return 0, fmt.Errorf("loadtest: %w", err)
			}
			req.Header = header.Clone()
			start := time.Now()
			resp, err := r.client.Do(req)
			took := time.Since(start)
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				switch {
				case resp.StatusCode >= 200 && resp.StatusCode < 300:
					return took, nil
				case resp.StatusCode >= 400 && resp.StatusCode < 500 && resp.StatusCode != http.StatusTooManyRequests:
					return 0, fmt.Errorf("loadtest: serve answered %s to a %s webhook: it refuses what the providers send, so nothing can be measured", resp.Status, p.channel)
				}
			}
		}
		if ctx.Err() != nil {
			return 0, context.Cause(ctx)
		}
		r.retried.Add(1)
		select {
		case <-ctx.Done():
			return 0, context.Cause(ctx)
		case <-time.After(pause):
		}
		pause = min(2*pause, 2*time.Second)
	}
}

// await ingests what the stand-ins received until every accepted message is
// answered, then for cfg.Linger more; or until cfg.Wait passed since the last
// message was accepted. It returns when the last expected reply arrived
// (zero if some never did).
func (r *runner) await(ctx context.Context, t *tally, ingest func()) time.Time {
	give := time.NewTimer(r.cfg.Wait)
	defer give.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var all time.Time
	lastNote := time.Now()
	var linger <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return all
		case <-give.C:
			return all
		case <-linger:
			return all
		case <-tick.C:
		}
		ingest()
		c := t.count(r.accepted, nil, r.firstPost)
		if r.cfg.Progress != nil && time.Since(lastNote) >= 5*time.Second {
			fmt.Fprintf(r.cfg.Progress, "loadtest: %d of %d replies at the stand-ins\n", c.replied, c.expected)
			lastNote = time.Now()
		}
		if all.IsZero() && c.lost == 0 {
			all = c.last
			linger = time.After(r.cfg.Linger)
		}
	}
}

// pace counts Telegram sends by the second of the stand-in's clock they
// reached it in, overall and per chat.
type pace struct {
	perSecond map[int64]int
	perChat   map[string]int
	sent      int
}

func newPace() *pace { return &pace{perSecond: map[int64]int{}, perChat: map[string]int{}} }

func (p *pace) add(chat string, at time.Time) {
	p.sent++
	p.perSecond[at.Unix()]++
	p.perChat[chat+"@"+strconv.FormatInt(at.Unix(), 10)]++
}

func (p *pace) max() (overall, chat int) {
	for _, n := range p.perSecond {
		overall = max(overall, n)
	}
	for _, n := range p.perChat {
		chat = max(chat, n)
	}
	return overall, chat
}

// percentile is the p-th percentile (0..1) of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}
