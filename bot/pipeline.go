package bot

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/enlace-rfl/enlace/flows"
	"github.com/enlace-rfl/enlace/keyring"
	"github.com/enlace-rfl/enlace/store"
	"github.com/enlace-rfl/enlace/tracing"
)

// Config tunes the pipeline. Zero values get the defaults in parentheses.
type Config struct {
	DedupeTTL  time.Duration // how long a channel message id is remembered (48h)
	SessionTTL time.Duration // how long an untouched session is kept (90 days)
	Lease      time.Duration // how long a worker may hold a person before others may take them (30s)
	LockTTL    time.Duration // the per-person lock (30s)
	// RetryFor is how long a reply that fails for a transient reason (the
	// provider is down, a timeout) is retried, from its first failed attempt,
	// before it becomes a dead letter (12h). RetryForChannel sets it per
	// channel ("sms", "whatsapp", "telegram"); a channel without an entry has RetryFor.
	RetryFor        time.Duration
	RetryForChannel map[string]time.Duration
	BackoffBase     time.Duration // first retry delay, doubled each attempt (2s)
	BackoffMax      time.Duration // longest retry delay (10m)
	Batch           int           // people claimed per pass (16)
	Workers         int           // concurrent handling workers in Run (4)
	// LaneWorkers is how many workers deliver on each lane in Run (8): a
	// provider call takes a round trip, so a lane of 30/s needs several.
	LaneWorkers int
	// SendTimeout bounds one provider call (20s, under LockTTL); AckTimeout
	// the store writes after it (10s), on a deadline of their own.
	SendTimeout time.Duration
	AckTimeout  time.Duration
	Poll        time.Duration // how often Run looks for work when not notified (250ms)
	// HandleOnArrival, on a HandlingStore (the embedded store), has Accept
	// handle a message at once when nothing of its person is waiting or
	// being handled: its commit, which also marks it seen, is its record,
	// written before the webhook is answered. A message that finds its
	// person busy is recorded and handled in turn, as without it.
	HandleOnArrival bool
	// ClaimTimeout is how long a volunteer's claim of a conversation lasts
	// without a reply before it returns to the queue (15m); TranscriptTTL is
	// how long a closed conversation is kept (30 days).
	ClaimTimeout  time.Duration
	TranscriptTTL time.Duration
	// CaseRetention is how long a tracing case is kept once closed (180 days).
	CaseRetention time.Duration
	// PINParams are the costs of PIN hashes (tracing.DefaultPINParams when zero).
	PINParams tracing.PINParams
	// NotifyChat is a Telegram chat of the volunteers on duty that hears of
	// every new conversation (language and reason only), in NotifyLang (es).
	NotifyChat string
	NotifyLang string
}

func (c *Config) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.DedupeTTL, 48*time.Hour)
	def(&c.SessionTTL, 90*24*time.Hour)
	def(&c.CaseRetention, 180*24*time.Hour)
	def(&c.Lease, 30*time.Second)
	def(&c.LockTTL, 30*time.Second)
	def(&c.BackoffBase, 2*time.Second)
	def(&c.BackoffMax, 10*time.Minute)
	def(&c.Poll, 250*time.Millisecond)
	def(&c.RetryFor, DefaultRetryFor)
	def(&c.ClaimTimeout, 15*time.Minute)
	if c.NotifyLang == "" {
		c.NotifyLang = "es"
	}
	def(&c.TranscriptTTL, 30*24*time.Hour)
	if c.Batch <= 0 {
		c.Batch = 16
	}
	if c.Workers <= 0 {
		c.Workers = 4
	}
	if c.LaneWorkers <= 0 {
		c.LaneWorkers = 8
	}
	def(&c.SendTimeout, 20*time.Second)
	def(&c.AckTimeout, 10*time.Second)
}

// DefaultRetryFor is Config.RetryFor's default.
const DefaultRetryFor = 12 * time.Hour

// retryFor is how long replies on a channel are retried.
func (c Config) retryFor(channel string) time.Duration {
	if d, ok := c.RetryForChannel[channel]; ok && d > 0 {
		return d
	}
	return c.RetryFor
}

// Pipeline carries every message of every channel: Accept records an inbound
// message durably; Run (or Drain) handles it and delivers the replies.
type Pipeline struct {
	cfg      Config
	store    Store
	conv     Conversations // nil: no volunteer inbox
	cases    tracing.Store // nil: no tracing requests
	auditFn  func(ctx context.Context, action, subject string) error
	keys     *keyring.Keyring
	engine   Engine
	cat      flows.Catalog
	channels map[string]Channel
	now      func() time.Time
	log      *slog.Logger
	metrics  *Metrics
	wake     chan struct{}

	// crashHook, when set (tests only), is called between steps with the step's
	// name; a test process exits there to show that nothing is lost.
	crashHook func(step string)

	mu    sync.Mutex       // guards channels and lanes after start
	lanes map[string]*lane // delivery lanes by name (bot/lanes.go)

	// settled[channel] is true while nothing failed on the channel since its
	// dead letters were last replayed (see delivered).
	replayMu sync.Mutex
	settled  map[string]bool
}

// lockedRetry is how soon a person held by another worker is looked at again.
const lockedRetry = 100 * time.Millisecond

// Engine is the conversation the pipeline runs; flows.Engine is the one.
type Engine interface {
	Step(ctx context.Context, s flows.Session, in flows.Input, from flows.Sender, now time.Time) flows.Result
}

// Options are the parts a Pipeline is built from.
type Options struct {
	Config Config
	Store  Store
	// Conversations keeps the volunteer inbox (usually the same store); nil
	// keeps escalations only.
	Conversations Conversations
	// Cases keeps tracing cases (usually the same store); nil offers no
	// tracing requests.
	Cases tracing.Store
	// Audit records what the pipeline does to a case that staff must see
	// (wrong PINs, a lock) in the staff audit; nil records nothing.
	Audit    func(ctx context.Context, action, subject string) error
	Keys     *keyring.Keyring
	Engine   Engine
	Catalog  flows.Catalog
	Channels []Channel
	Clock    func() time.Time // time.Now when nil
	Logger   *slog.Logger     // slog.Default() when nil
	Metrics  *Metrics         // none when nil
}

// New builds a pipeline.
func New(o Options) *Pipeline {
	o.Config.defaults()
	p := &Pipeline{
		cfg: o.Config, store: o.Store, conv: o.Conversations, cases: o.Cases, auditFn: o.Audit, keys: o.Keys, engine: o.Engine, cat: o.Catalog,
		channels: map[string]Channel{}, now: o.Clock, log: o.Logger, metrics: o.Metrics,
		wake: make(chan struct{}, 1), settled: map[string]bool{}, lanes: map[string]*lane{},
	}
	if p.now == nil {
		p.now = time.Now
	}
	if p.log == nil {
		p.log = slog.Default()
	}
	for _, ch := range o.Channels {
		p.channels[ch.Name()] = ch
	}
	return p
}

// AddChannel registers a channel for delivery.
func (p *Pipeline) AddChannel(ch Channel) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.channels[ch.Name()] = ch
}

func (p *Pipeline) channel(name string) (Channel, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	ch, ok := p.channels[name]
	return ch, ok
}

// Person returns the keyed hash a channel address is stored under. SMS and
// WhatsApp share one identity per phone number: the same number on either is
// one person with two ways to reach them.
func (p *Pipeline) Person(channel, address string) string {
	return p.keys.Hash("address", Identity(channel, address))
}

// PersonOf is the person an address stands for: Person, or, for a Telegram
// user who shared their own phone number, that number's person (SetAlias).
func (p *Pipeline) PersonOf(ctx context.Context, channel, address string) (string, error) {
	h := p.Person(channel, address)
	if channel != "telegram" { // only Telegram identities are ever aliases
		return h, nil
	}
	to, err := p.store.Alias(ctx, h, p.now())
	switch {
	case errors.Is(err, ErrNotFound):
		return h, nil
	case err != nil:
		return "", fmt.Errorf("bot: resolving identity: %w", err)
	}
	return to, nil
}

// LastInbound says when an address last wrote to Enlace on a channel, as the
// person's session remembers it (known is false when there is no session, or
// their last message came from elsewhere). WhatsApp's 24-hour window is
// decided from it, so it holds across restarts and processes.
func (p *Pipeline) LastInbound(ctx context.Context, channel, address string) (at time.Time, known bool, err error) {
	person, err := p.PersonOf(ctx, channel, address)
	if err != nil {
		return time.Time{}, false, err
	}
	s, ok, err := p.readSession(ctx, person)
	if err != nil || !ok || s.Channel != channel {
		return time.Time{}, false, err
	}
	return s.Updated, true, nil
}

// aliasFlag marks, on a person, an identity that stands for them, so that
// erasing the person removes the link too.
func aliasFlag(from string) string { return "alias:" + from }

// link makes the Telegram identity from stand for the phone number's person
// to, inside the handling of from's message s (whose commit already holds
// from's new session, sealed). The person continues where they were: if the
// number has no conversation yet, from's session (sealed again, for to) and
// timers move to it; otherwise the number's conversation wins and from's is
// dropped. s's commit is changed so that from keeps nothing of its own.
func (p *Pipeline) link(ctx context.Context, from, to string, s *step) error {
	c := &s.commit
	timers, err := p.store.Timers(ctx, from)
	if err != nil {
		return fmt.Errorf("bot: linking: %w", err)
	}
	token, err := p.store.Lock(ctx, to, p.cfg.LockTTL, p.now())
	if err != nil {
		return fmt.Errorf("bot: linking: %w", err)
	}
	defer p.store.Unlock(context.WithoutCancel(ctx), to, token)
	_, err = p.store.LoadSession(ctx, to, p.now())
	switch {
	case errors.Is(err, ErrNotFound):
		sealed, err := p.sealSession(to, s.session)
		if err != nil {
			return err
		}
		move := Commit{Session: sealed, SessionTTL: p.cfg.SessionTTL, SetTimers: slices.Clone(c.SetTimers)}
		for _, t := range timers {
			if !slices.Contains(c.CancelTimers, t.ID) {
				move.SetTimers = append(move.SetTimers, t)
			}
		}
		if err := p.store.Commit(ctx, to, token, move, p.now()); err != nil {
			return fmt.Errorf("bot: linking: %w", err)
		}
	case err != nil:
		return fmt.Errorf("bot: linking: %w", err)
	}
	if err := p.store.SetFlag(ctx, to, aliasFlag(from), true, p.now()); err != nil {
		return fmt.Errorf("bot: linking: %w", err)
	}
	if err := p.store.SetAlias(ctx, from, to, p.now()); err != nil {
		return fmt.Errorf("bot: linking: %w", err)
	}
	c.Session, c.SetTimers = nil, nil
	for _, t := range timers {
		c.CancelTimers = append(c.CancelTimers, t.ID)
	}
	return nil
}

// aliasesOf lists the identities that stand for a person (to remove with them).
func (p *Pipeline) aliasesOf(ctx context.Context, person string) ([]string, error) {
	flags, err := p.store.Flags(ctx, person)
	if err != nil {
		return nil, fmt.Errorf("bot: reading aliases: %w", err)
	}
	var out []string
	for _, f := range flags {
		if from, ok := strings.CutPrefix(f, "alias:"); ok {
			out = append(out, from)
		}
	}
	return out, nil
}

// Identity is the canonical form of an address: "tel:+E164" for phone
// channels, "<channel>:<id>" for the others.
func Identity(channel, address string) string {
	switch channel {
	case "sms", "whatsapp":
		return "tel:" + address
	}
	return channel + ":" + address
}

// Flag names kept per person by SetReachable and SetOptOut. A stopped
// address opted out with the provider (ErrOptedOut).
func unreachableFlag(channel string) string { return "unreachable:" + channel }
func stoppedFlag(channel string) string     { return "stopped:" + channel }
func optOutFlag(channel string) string      { return OptOutFlagPrefix + channel }

// SetReachable records whether an address can be reached on its channel (a
// Telegram user who blocked the bot cannot; one who sent /start again can).
// Replies to an unreachable address go to dead letters without being tried.
// Any message from the address makes it reachable again (Accept); making it
// reachable also lifts an opt-out with the provider (an SMS START).
func (p *Pipeline) SetReachable(ctx context.Context, channel, address string, reachable bool) error {
	person, err := p.PersonOf(ctx, channel, address)
	if err != nil {
		return err
	}
	return p.setReachable(ctx, person, channel, reachable)
}

func (p *Pipeline) setReachable(ctx context.Context, person, channel string, reachable bool) error {
	if err := p.store.SetFlag(ctx, person, unreachableFlag(channel), !reachable, p.now()); err != nil {
		return fmt.Errorf("bot: recording reachability: %w", err)
	}
	if !reachable {
		return nil
	}
	if err := p.store.SetFlag(ctx, person, stoppedFlag(channel), false, p.now()); err != nil {
		return fmt.Errorf("bot: recording reachability: %w", err)
	}
	return nil
}

// heard makes an address that was marked unreachable on a channel reachable
// again, as a message from it shows: a phone that was off (or a Telegram
// user who had blocked the bot) is back. It is done as the message is
// handled, from the flags read with the lock, so the usual message costs no
// round trip for it. An opt-out with the provider stays.
func (p *Pipeline) heard(ctx context.Context, h *handling, channel string) error {
	flag := unreachableFlag(channel)
	i := slices.Index(h.begun.Flags, flag)
	if i < 0 {
		return nil
	}
	if err := p.store.SetFlag(ctx, h.claim.Person, flag, false, p.now()); err != nil {
		return fmt.Errorf("bot: recording reachability: %w", err)
	}
	h.begun.Flags = slices.Delete(slices.Clone(h.begun.Flags), i, i+1)
	p.log.Info("address wrote again: reachable", "channel", channel, "person", logID(h.claim.Person))
	return nil
}

// SetOptOut records that an address asked for no more messages on a channel
// (SMS STOP), or asked for them again (START). Opt-outs outlive an erase.
func (p *Pipeline) SetOptOut(ctx context.Context, channel, address string, out bool) error {
	person, err := p.PersonOf(ctx, channel, address)
	if err != nil {
		return err
	}
	if err := p.store.SetFlag(ctx, person, optOutFlag(channel), out, p.now()); err != nil {
		return fmt.Errorf("bot: recording opt-out: %w", err)
	}
	return nil
}

// OptedOut reports whether an address has opted out of a channel (SetOptOut).
func (p *Pipeline) OptedOut(ctx context.Context, channel, address string) (bool, error) {
	person, err := p.PersonOf(ctx, channel, address)
	if err != nil {
		return false, err
	}
	flags, err := p.store.Flags(ctx, person)
	if err != nil {
		return false, fmt.Errorf("bot: reading opt-out: %w", err)
	}
	return slices.Contains(flags, optOutFlag(channel)), nil
}

// logID is how a person appears in logs: a short prefix of their keyed hash.
func logID(person string) string {
	if len(person) > 12 {
		return person[:12]
	}
	return person
}

func newID() string {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		panic("bot: crypto/rand failed: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// Accept records an inbound message once. It returns false for a message the
// channel delivered before. When it returns an error the message was not
// recorded and the channel must ask the provider to deliver it again (answer
// non-2xx), so nothing is lost. With Config.HandleOnArrival on a
// HandlingStore, a message whose person is free is handled before Accept
// returns, and its commit is its record.
func (p *Pipeline) Accept(ctx context.Context, m Message) (bool, error) {
	if m.Received.IsZero() {
		m.Received = p.now()
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return false, fmt.Errorf("bot: encoding inbound message: %w", err)
	}
	person, err := p.PersonOf(ctx, m.Channel, m.From)
	if err != nil {
		return false, err
	}
	if hs, ok := p.store.(HandlingStore); ok && p.cfg.HandleOnArrival {
		if fresh, done, err := p.handleOnArrival(ctx, hs, person, m, raw); done {
			return fresh, err
		}
	}
	return p.accept(ctx, person, m, raw)
}

// dedupeKey is the mark that says a channel's message was recorded: 64 bits
// of a keyed hash, ample among one person's DedupeMarks.
func (p *Pipeline) dedupeKey(m Message) string {
	return p.keys.Hash("message", m.Channel+":"+m.ID)[:16]
}

// inboundID is the ID of the inbound message a dedupe mark marks: the same
// for every delivery of one message, so what handling it writes outside its
// commit (a volunteer conversation's entry, say) is keyed the same however
// often it is handled, and nothing of the message is in it.
func inboundID(dedupe string) string { return "in" + dedupe }

// handleOnArrival handles m as it arrives (Config.HandleOnArrival): done is
// false, with nothing written, when its person has messages waiting or is
// being handled, and m must be recorded to wait its turn.
func (p *Pipeline) handleOnArrival(ctx context.Context, hs HandlingStore, person string, m Message, raw []byte) (fresh, done bool, err error) {
	// A provider that hangs up meanwhile does not stop what was begun: it is
	// finished within the lock's time, durable and deduplicated, so the
	// provider's redelivery, if any, is a duplicate.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.cfg.LockTTL)
	defer cancel()
	dedupe := p.dedupeKey(m)
	b, seen, ok, err := hs.BeginArrival(ctx, person, dedupe, p.cfg.LockTTL, p.now())
	switch {
	case err != nil:
		p.metrics.inbound(m.Channel, "error")
		return false, true, fmt.Errorf("bot: accepting message: %w", err)
	case seen:
		p.metrics.inbound(m.Channel, "duplicate")
		return false, true, nil
	case !ok:
		return false, false, nil
	}
	b.Head = Item{ID: inboundID(dedupe), Data: p.keys.Seal(sealInbound, person, raw)}
	h := &handling{claim: Claim{Person: person}, begun: b, mark: &Mark{Key: dedupe, TTL: p.cfg.DedupeTTL}}
	// Messages that came meanwhile were stored and queued: the workers handle
	// them, and the webhook is answered after its own.
	defer p.unlockHeld(ctx, h, b.Token)
	err = p.handleOne(ctx, h)
	switch {
	case errors.Is(err, ErrDuplicate):
		// The same message was recorded meanwhile (a provider delivering
		// twice at once): that copy is handled in turn.
		p.metrics.inbound(m.Channel, "duplicate")
		return false, true, nil
	case err != nil:
		p.metrics.inbound(m.Channel, "error")
		return false, true, fmt.Errorf("bot: accepting message: %w", err)
	}
	p.metrics.inbound(m.Channel, "accepted")
	p.log.Debug("inbound", "channel", m.Channel, "person", logID(person), "outcome", "handled on arrival")
	return true, true, nil
}

// accept records a message for a person once (see Accept).
func (p *Pipeline) accept(ctx context.Context, person string, m Message, raw []byte) (bool, error) {
	return p.acceptWith(ctx, p.store.Accept, person, m, raw)
}

// acceptKnown records a message for a person who has a session, once; for
// anyone else it records nothing and reports ErrNotFound.
func (p *Pipeline) acceptKnown(ctx context.Context, person string, m Message, raw []byte) (bool, error) {
	return p.acceptWith(ctx, p.store.AcceptKnown, person, m, raw)
}

type acceptFunc func(ctx context.Context, person, dedupeKey string, msg Item, dedupeTTL time.Duration, now time.Time) (bool, error)

func (p *Pipeline) acceptWith(ctx context.Context, acc acceptFunc, person string, m Message, raw []byte) (bool, error) {
	dedupe := p.dedupeKey(m)
	item := Item{ID: inboundID(dedupe), Data: p.keys.Seal(sealInbound, person, raw)}
	fresh, err := acc(ctx, person, dedupe, item, p.cfg.DedupeTTL, p.now())
	outcome := "accepted"
	switch {
	case errors.Is(err, ErrNotFound):
		outcome = "gone"
		err = fmt.Errorf("bot: accepting message: %w", err)
	case err != nil:
		outcome = "error"
		err = fmt.Errorf("bot: accepting message: %w", err)
	case !fresh:
		outcome = "duplicate"
	}
	p.metrics.inbound(m.Channel, outcome)
	p.log.Debug("inbound", "channel", m.Channel, "person", logID(person), "outcome", outcome)
	if err == nil {
		p.notify()
	}
	return fresh, err
}

// notice is a reply a channel gives itself to an inbound message, without the
// conversation seeing it: an opt-out confirmation, the SMS HELP text.
type notice struct {
	Text         flows.Text `json:"text"`
	OptOutNotice bool       `json:"optout_notice,omitempty"`
}

// inboundRecord is an inbound message as stored: a Message, with a notice
// when the channel answered it itself.
type inboundRecord struct {
	Message
	Notice *notice `json:"notice,omitempty"`
}

// AcceptNotice records an inbound message once, like Accept, but instead of
// running the conversation on it, answers it with text alone, in the person's
// language (else m.LangHint, else a guess from the address), after any earlier
// message of theirs. The session is left as it was. optOutNotice marks the
// reply as one that is sent even though the address opted out (Reply.OptOutNotice).
// Deduplicating by m.ID means a redelivered STOP is confirmed once.
func (p *Pipeline) AcceptNotice(ctx context.Context, m Message, text flows.Text, optOutNotice bool) (bool, error) {
	if m.Received.IsZero() {
		m.Received = p.now()
	}
	raw, err := json.Marshal(inboundRecord{Message: m, Notice: &notice{Text: text, OptOutNotice: optOutNotice}})
	if err != nil {
		return false, fmt.Errorf("bot: encoding inbound message: %w", err)
	}
	person, err := p.PersonOf(ctx, m.Channel, m.From)
	if err != nil {
		return false, err
	}
	return p.accept(ctx, person, m, raw)
}

// Send queues a proactive message (to someone other than a person who just
// wrote, or started by staff) through the same outbox as replies.
func (p *Pipeline) Send(ctx context.Context, channel, to, lang string, out flows.Output) error {
	r := p.render(channel, to, lang, out)
	r.Proactive = true
	person, err := p.PersonOf(ctx, channel, to)
	if err != nil {
		return err
	}
	item, err := p.sealReply(person, r)
	if err != nil {
		return err
	}
	if err := p.store.Enqueue(ctx, person, []Item{item}, p.now()); err != nil {
		return fmt.Errorf("bot: queueing proactive message: %w", err)
	}
	p.notify()
	return nil
}

func (p *Pipeline) notify() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

func (p *Pipeline) crash(step string) {
	if p.crashHook != nil {
		p.crashHook(step)
	}
}

// HandleReady handles the inbound messages of the people who are ready now and
// returns how many messages it handled.
func (p *Pipeline) HandleReady(ctx context.Context) (int, error) {
	handled, _, err := p.handleReady(ctx)
	return handled, err
}

// handleReady is HandleReady, also saying how many people it claimed.
func (p *Pipeline) handleReady(ctx context.Context) (handled, claimed int, err error) {
	cs, err := p.store.ClaimInbound(ctx, p.now(), p.cfg.Lease, p.cfg.LockTTL, lockedRetry, p.cfg.Batch)
	if err != nil {
		return 0, 0, fmt.Errorf("bot: claiming inbound work: %w", err)
	}
	var errs []error
	for _, c := range cs {
		if c.Locked {
			// Another worker is handling them; the store looks again shortly.
			continue
		}
		n, err := p.handlePerson(ctx, c)
		handled += n
		if err != nil {
			errs = append(errs, err)
		}
	}
	return handled, len(cs), errors.Join(errs...)
}

// handling is one worker's hold on a person whose inbox it handles: the
// claim, and what the store returned with the lock (ClaimInbound) or with
// the last commit (Finish).
type handling struct {
	claim Claim
	begun Begun
	// mark is the dedupe mark of a message handled as it arrived, for its
	// commit to write (Commit.Mark); nil once written.
	mark *Mark
}

// handlePerson handles one person's inbox, oldest message first, under their
// lock. Claiming them took the lock and read the first message, the session
// and the flags (ClaimInbound); each commit returns the next ones and, after
// the last message, releases the person and the lock (Finish): two round
// trips for a person with one message, on one Redis.
func (p *Pipeline) handlePerson(ctx context.Context, c Claimed) (int, error) {
	h := &handling{claim: c.Claim, begun: c.Begun}
	defer p.unlockHeld(ctx, h, c.Begun.Token)
	n := 0
	for h.begun.Token != "" && h.begun.Head.ID != "" {
		if err := p.handleOne(ctx, h); err != nil {
			return n, err
		}
		n++
	}
	if h.begun.Token != "" {
		if _, err := p.store.Release(ctx, QueueInbound, c.Claim); err != nil {
			return n, fmt.Errorf("bot: releasing claim: %w", err)
		}
	}
	return n, nil
}

// unlockHeld lets go of the lock token took on h's person, unless the last
// commit released it with the person.
func (p *Pipeline) unlockHeld(ctx context.Context, h *handling, token string) {
	if h.begun.Token == "" {
		return
	}
	if err := p.store.Unlock(context.WithoutCancel(ctx), h.claim.Person, token); err != nil {
		p.log.Warn("unlock failed", "person", logID(h.claim.Person), "err", err)
	}
}

// handleOne runs the engine on the person's next inbound message (h.begun)
// and commits the new session and the step's effects (bot/effects.go) in
// one atomic step, which also reads the next message.
func (p *Pipeline) handleOne(ctx context.Context, h *handling) error {
	start := p.now() // for the latency metric only
	person, item, sessionRaw := h.claim.Person, h.begun.Head, h.begun.Session
	rec, err := p.openInbound(person, item.Data)
	if err != nil {
		// An unreadable message (a retired key, a corrupt record) must not block
		// the person's later messages: drop it, keep the session as it was.
		p.log.Error("dropping unreadable inbound message", "person", logID(person), "err", err)
		return p.commit(ctx, h, Commit{InboundID: item.ID, Session: sessionRaw, SessionTTL: p.cfg.SessionTTL}, nil)
	}
	sess := p.sessionOrNew(person, sessionRaw)
	m := rec.Message
	event := m.Channel == timerChannel || m.Channel == receiptChannel || m.Channel == staffChannel
	if !event {
		if err := p.heard(ctx, h, m.Channel); err != nil {
			return err
		}
	}
	if rec.Notice != nil {
		return p.handleNotice(ctx, h, item.ID, sessionRaw, sess, m, *rec.Notice)
	}
	if event && sessionRaw == nil {
		// The person erased their data (or it expired) after this was
		// recorded: there is nobody to tell, and nothing is written.
		return p.commit(ctx, h, Commit{InboundID: item.ID}, nil)
	}
	if event {
		// Timers, receipts and staff speak to the person where they last wrote from.
		m.Channel, m.From, m.ReplyTo = sess.Channel, sess.Address, sess.ReplyTo[sess.Channel]
	}
	res := p.engine.Step(ctx, sess, m.Input, flows.Sender{Channel: m.Channel, Address: m.From, ReplyTo: m.ReplyTo, LangHint: m.LangHint}, p.now())
	s, err := p.build(ctx, person, item.ID, m, res)
	if err != nil {
		return err
	}
	p.crash("before-commit")
	if err := p.commit(ctx, h, s.commit, s.after); err != nil {
		return err
	}
	p.crash("after-commit")
	p.metrics.handled(m.Channel, p.now().Sub(start))
	return nil
}

// loadSession returns the person's sealed session, or nil when there is none.
func (p *Pipeline) loadSession(ctx context.Context, person string) ([]byte, error) {
	sealed, err := p.store.LoadSession(ctx, person, p.now())
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("bot: loading session: %w", err)
	}
	return sealed, nil
}

// sessionOrNew opens a sealed session; none, or one that cannot be read,
// starts a new one.
func (p *Pipeline) sessionOrNew(person string, sealed []byte) flows.Session {
	if sealed == nil {
		return flows.Session{}
	}
	sess, err := p.openSession(person, sealed)
	if err != nil {
		p.log.Error("starting a new session: stored one is unreadable", "person", logID(person), "err", err)
		return flows.Session{}
	}
	return sess
}

// handleNotice answers an inbound message with its notice, keeping the session.
func (p *Pipeline) handleNotice(ctx context.Context, h *handling, inboundID string, sessionRaw []byte, sess flows.Session, m Message, n notice) error {
	person := h.claim.Person
	lang := sess.Lang
	if lang == "" {
		lang = flows.GuessLanguage(flows.Sender{Channel: m.Channel, Address: m.From, LangHint: m.LangHint})
	}
	r := p.render(m.Channel, m.From, lang, flows.Output{Text: n.Text})
	r.Address = exactAddress(m.From, m.ReplyTo)
	r.OptOutNotice = n.OptOutNotice
	item, err := p.sealReply(person, r)
	if err != nil {
		return err
	}
	return p.commit(ctx, h, Commit{
		InboundID: inboundID, Session: sessionRaw, SessionTTL: p.cfg.SessionTTL, Outbox: []Item{item},
	}, nil)
}

// commit applies the commit of one handled message and reads the person's
// next message with it (Store.Finish). Its replies go straight into the lane
// of the first one. When it is the last message, the same step releases the
// person and their lock, unless after hooks must still run under the lock
// (they run once the commit is written; an erase's clean-up, for one).
func (p *Pipeline) commit(ctx context.Context, h *handling, c Commit, after []func(context.Context) error) error {
	if len(c.Outbox) > 0 && c.Lane == "" {
		c.Lane = p.outboxLane(h.claim.Person, c.Outbox[0])
	}
	if h.mark != nil {
		// A message handled as it arrived is not in the inbox: its commit
		// marks it seen instead of removing it.
		c.Mark, c.InboundID = h.mark, ""
	}
	release := &h.claim
	if len(after) > 0 {
		release = nil
	}
	b, err := p.store.Finish(ctx, h.claim.Person, h.begun.Token, c, release, p.now())
	if err != nil {
		return fmt.Errorf("bot: committing: %w", err)
	}
	h.begun, h.mark = b, nil
	if len(c.Outbox) > 0 {
		p.notify()
		if l := p.laneByQueue(c.Lane); l != nil {
			l.notify()
		}
	}
	return runHooks(ctx, after)
}

// route picks where a proactive message to a phone number goes: where that
// number's person last wrote to Enlace from (WhatsApp, or Telegram once they
// linked their number), if they agreed to Enlace keeping data and can be
// reached there; otherwise the channel asked for (SMS). addr is the exact
// address to deliver to when it is not to (Reply.Address).
func (p *Pipeline) route(ctx context.Context, channel, number string) (ch, to, addr string, err error) {
	person := p.Person(channel, number)
	s, ok, err := p.readSession(ctx, person)
	if err != nil {
		return "", "", "", fmt.Errorf("bot: routing: %w", err)
	}
	// The number's own exact address on the channel asked for, if it ever
	// wrote on it (WhatsApp's +521… form).
	addr = exactAddress(number, s.ReplyTo[channel])
	if !ok || s.Consent != flows.ConsentAccepted || s.Address == "" || s.Channel == channel {
		return channel, number, addr, nil
	}
	if _, known := p.channel(s.Channel); !known || (s.Channel != "whatsapp" && s.Channel != "telegram") {
		return channel, number, addr, nil
	}
	flags, err := p.store.Flags(ctx, person)
	if err != nil {
		return "", "", "", fmt.Errorf("bot: routing: %w", err)
	}
	if slices.ContainsFunc(flags, func(f string) bool {
		return f == unreachableFlag(s.Channel) || f == stoppedFlag(s.Channel) || f == optOutFlag(s.Channel)
	}) {
		return channel, number, addr, nil
	}
	return s.Channel, s.Address, exactAddress(s.Address, s.ReplyTo[s.Channel]), nil
}

// phoneChannels address people by phone number.
var phoneChannels = map[string]bool{"sms": true, "whatsapp": true}

// receiptChannel is the channel of the inbound messages receipts produce.
const receiptChannel = "receipt"

// receipt tells the person who sent a proactive message whether it was
// delivered (or failed for good), as an inbound message of theirs, deduplicated
// by the reply, so a crash and a retry never tell them twice.
func (p *Pipeline) receipt(ctx context.Context, r Reply, delivered bool) error {
	if r.ReceiptTo == "" {
		return nil
	}
	return p.Receipt(ctx, r.ReceiptTo, r.ID, r.ReceiptRef, delivered)
}

// Receipt tells person whether their proactive message (reply id, their
// reference ref) was delivered. The first report about a reply wins: later
// ones (a "delivered" after "sent", a status callback repeated) are dropped.
// A person or reply id that cannot be one (a forged or mangled callback) is
// ErrBadReceipt: nothing is recorded, and asking again cannot help.
func (p *Pipeline) Receipt(ctx context.Context, person, id, ref string, delivered bool) error {
	if !store.ValidName(person) || !store.ValidName(id) || ref == "" {
		return ErrBadReceipt
	}
	m := Message{
		Channel: receiptChannel, ID: id, Received: p.now(),
		Input: flows.Input{Kind: flows.InputReceipt, Receipt: ref, Delivered: delivered},
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("bot: encoding receipt: %w", err)
	}
	_, err = p.acceptKnown(ctx, person, m, raw)
	if errors.Is(err, ErrNotFound) {
		// The sender erased their data (or it expired): nobody to tell, and
		// nothing may be written about them again.
		return nil
	}
	if err != nil {
		return fmt.Errorf("bot: recording receipt: %w", err)
	}
	return nil
}

// timerChannel is the channel of the inbound messages timers produce.
const timerChannel = "timer"

// FireTimers turns the timers due now into inbound messages of their people,
// deduplicated by timer and due time, so a timer is handled once even when two
// processes claim it in turn (the first one dying before it finished).
func (p *Pipeline) FireTimers(ctx context.Context) (int, error) {
	claims, err := p.store.ClaimTimers(ctx, p.now(), p.cfg.Lease, p.cfg.Batch)
	if err != nil {
		return 0, fmt.Errorf("bot: claiming timers: %w", err)
	}
	for _, c := range claims {
		m := Message{
			Channel: timerChannel, ID: c.ID + "@" + strconv.FormatInt(c.At.UnixMilli(), 10),
			Input: flows.Input{Kind: flows.InputTimer, Timer: c.ID}, Received: p.now(),
		}
		raw, err := json.Marshal(m)
		if err != nil {
			return 0, fmt.Errorf("bot: encoding timer: %w", err)
		}
		// A timer of a person who is gone (erased, expired) fires nothing.
		if _, err := p.acceptKnown(ctx, c.Person, m, raw); err != nil && !errors.Is(err, ErrNotFound) {
			return 0, err
		}
		p.crash("timer-accepted")
		if err := p.store.FinishTimer(ctx, c); err != nil {
			return 0, fmt.Errorf("bot: finishing timer: %w", err)
		}
	}
	return len(claims), nil
}

// escalationID names a person's escalation by its reason, so that the store
// keeps one open escalation per reason per person (the latest replaces the
// earlier one in place): thirty presses of "talk to a person" are one request.
// It is a keyed hash: the stored ID does not reveal the reason.
func (p *Pipeline) escalationID(reason string) string {
	return p.keys.Hash("escalation", reason)
}

// escalationRecord is an escalation as stored: what happened, and where the
// volunteer can answer.
type escalationRecord struct {
	flows.Escalation
	Channel string `json:"channel"`
	Address string `json:"address"`
}

// render turns a channel-neutral output into a reply in the reader's language.
func (p *Pipeline) render(channel, to, lang string, out flows.Output) Reply {
	r := Reply{
		ID: newID(), Channel: channel, To: to, Lang: lang,
		Text: out.Text.Render(p.cat, lang), Request: out.Request, Created: p.now(), Venue: out.Venue,
	}
	for _, c := range out.Choices {
		r.Choices = append(r.Choices, ReplyChoice{ID: c.ID, Label: c.Label.Render(p.cat, lang)})
	}
	return r
}
