package bot

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/enlace-rfl/enlace/store"
)

// Queue names one of the work queues a Store keeps: people with inbound
// messages waiting to be handled (QueueInbound), people with new outbound
// messages waiting to be routed to a delivery lane (QueueOutbound), and one
// queue per delivery lane (LaneQueue): people whose next reply leaves from
// that lane's sender.
type Queue string

// The fixed work queues. Commit, Enqueue and Replay make a person ready in
// QueueOutbound; the pipeline moves them on to the lane of their outbox head.
const (
	QueueInbound  Queue = "in"
	QueueOutbound Queue = "out"
)

// laneQueuePrefix starts the name of every lane queue.
const laneQueuePrefix = "out-"

// LaneQueue is the queue of the delivery lane named lane (a store.ValidName,
// such as "telegram" or "sms"): the people whose outbox head leaves from it.
// Stores keep any number of them, each claimed apart from the others, so a
// slow lane never holds up another.
func LaneQueue(lane string) Queue { return Queue(laneQueuePrefix + lane) }

// Lane returns the lane q is the queue of, and whether it is a lane queue
// with a valid lane name at all.
func (q Queue) Lane() (string, bool) {
	lane, ok := strings.CutPrefix(string(q), laneQueuePrefix)
	return lane, ok && store.ValidName(lane)
}

// Valid reports whether a store keeps q: QueueInbound, QueueOutbound or a
// LaneQueue with a valid name.
func (q Queue) Valid() bool {
	_, lane := q.Lane()
	return q == QueueInbound || q == QueueOutbound || lane
}

// Errors a Store returns.
var (
	// ErrLocked means another worker holds the person's lock.
	ErrLocked = errors.New("person is locked by another worker")
	// ErrLockLost means the lock token no longer matches: the lock expired and
	// someone else took it, so the commit was refused and nothing was written.
	ErrLockLost = errors.New("lock lost before commit")
	// ErrNotFound means the addressed item does not exist (or is no longer at the head).
	ErrNotFound = errors.New("not found")
	// ErrDuplicate means a commit's Mark was already there: the message was
	// recorded before, and nothing was written.
	ErrDuplicate = errors.New("message already recorded")
)

// DedupeMarks is how many dedupe marks a store keeps per person at most
// (Accept): a provider redelivers a message within minutes, long before a
// person sends this many after it, and the bound keeps an active person's
// marks small (in Redis, a compact sorted set of short members).
const DedupeMarks = 128

// Item is one opaque, already sealed record in a person's inbox, outbox, dead
// letters or escalations. ID carries no personal data: it is random, or, for
// an inbound message, made from its dedupe mark (the same for every delivery).
type Item struct {
	ID   string
	Data []byte
}

// Claim is a lease on one person in a queue. Until is the lease deadline; the
// store uses it as the claim's token when the claim is released.
//
// Lapsed, on a delivery lane, when not zero, says that an earlier try of the
// outbox head never finished (its process died, most likely) and is when
// that try began, or the earliest it could have: the head may have reached
// the provider since, and the sender asks a provider that can tell before
// sending it again (Reply.Unsure). A Redis store marks each try in the
// person's keys (SendMarker); the embedded store, which keeps its claims in
// memory, takes everyone waiting in a lane when the process before was
// killed, from when they were ready.
type Claim struct {
	Person string
	Until  time.Time
	Lapsed time.Time
}

// Commit is everything one handled inbound message changes, applied atomically.
type Commit struct {
	// InboundID is the ID of the inbox head being handled; it is removed. Empty
	// for commits that are not about an inbound message.
	InboundID string
	// Erase deletes every record held about the person (session, inbox except
	// messages that arrived after the one handled, outbox, dead letters,
	// escalations, dedupe marks, timers, flags other than opt-outs) before the
	// rest of the commit is applied.
	Erase bool
	// Session is the new sealed session; nil deletes it.
	Session []byte
	// SessionTTL is how long an untouched session is kept.
	SessionTTL time.Duration
	// Outbox items are appended, in order, to the person's outbox.
	Outbox []Item
	// Escalations are added to the person's escalations and indexed for
	// volunteers. One whose ID the person already holds replaces that one in
	// place (so a repeated request for help stays one open escalation).
	Escalations []Item
	// SetTimers sets (or moves) the person's timers by ID; CancelTimers removes
	// them. Both are applied after Erase, with the rest of the commit.
	SetTimers    []Timer
	CancelTimers []string
	// Mark, for a message handled as it arrived (HandlingStore) and never
	// kept in the inbox, is its dedupe mark, written as Accept writes it,
	// before Erase. When the person already has it, the commit writes
	// nothing and fails with ErrDuplicate. InboundID is then empty.
	Mark *Mark
	// Lane is the delivery lane queue of Outbox[0]. When the outbox was empty
	// before the commit, so that Outbox[0] becomes its head, the commit makes
	// the person ready in Lane at now, not in QueueOutbound: no hop through
	// the router. Empty (or an outbox already holding replies): QueueOutbound.
	Lane Queue
}

// Mark is a message's dedupe mark (Accept's dedupeKey) and how long it is kept.
type Mark struct {
	Key string
	TTL time.Duration
}

// HandlingStore is a store on which a message may be handled as it arrives,
// before the webhook is answered, so that its commit is also its record: one
// write instead of accepting it and committing it apart. The embedded store
// is one (one process owns the file, and every write is an fsync); Redis is
// not, since accepting there must stay one round trip.
type HandlingStore interface {
	// BeginArrival takes the person's lock (ttl lockTTL) and reads their
	// session and flags, as BeginInbound does, when nobody holds the lock,
	// their inbox is empty and dedupeKey is not among their marks; ok is
	// false otherwise, with nothing taken, and seen says the mark is there.
	BeginArrival(ctx context.Context, person, dedupeKey string, lockTTL time.Duration, now time.Time) (b Begun, seen, ok bool, err error)
}

// Begun is what a worker reads about a person it claimed in the same step
// as it takes (or keeps) their lock: BeginInbound and Finish return it.
type Begun struct {
	// Token holds the person's lock; empty once Finish released the person.
	Token string
	// Head is the oldest message of the inbox; its ID is empty when there is none.
	Head Item
	// Session is the sealed session (nil when none, or expired by now).
	Session []byte
	// Flags are the person's flags, as Flags lists them.
	Flags []string
}

// Timer is a durable one-shot timer of a person (a check-in reminder, a
// deadline). Its ID names it within the person, e.g. "checkin".
type Timer struct {
	ID string
	At time.Time
}

// TimerClaim is a due timer leased to one process until Until.
type TimerClaim struct {
	Person string
	ID     string
	At     time.Time // when it was due
	Until  time.Time
}

// RecordKind names a kind of sealed record a store holds.
type RecordKind string

// The kinds of sealed record, as Reseal names them.
const (
	RecordSession    RecordKind = "session"
	RecordInbound    RecordKind = "in"
	RecordOutbound   RecordKind = "out"
	RecordDeadLetter RecordKind = "dead"
	RecordEscalation RecordKind = "esc"
)

// Sealed is one sealed record of a person, as Reseal hands it over. For the
// list kinds (inbox, outbox, dead letters, escalations) ID is the item's.
type Sealed struct {
	Person string
	Kind   RecordKind
	ID     string
	Data   []byte
}

// Letter is a dead letter as an operator sees it.
type Letter struct {
	Person string
	Item   Item
}

// Retention is how long a store keeps what it holds about a person: every
// record expires, so nothing outlives what the person was told. Zero fields
// get the defaults in parentheses.
type Retention struct {
	// Person is how long a person's records (inbox, outbox, escalations,
	// timers, flags, identity links) are kept after the last write to them;
	// each commit of the person's own conversation refreshes them all. It
	// should equal ENLACE_SESSION_TTL (90 days).
	Person time.Duration
	// DeadLetters is how long a person's dead letters are kept after the
	// latest one (30 days; never longer than Person).
	DeadLetters time.Duration
	// OptOut is how long an opt-out ("optout:" flags) is kept after the last
	// STOP, erase or not, so that nobody who said STOP is written to again by
	// mistake (2 years).
	OptOut time.Duration
}

// Defaults of Retention.
const (
	DefaultPersonRetention     = 90 * 24 * time.Hour
	DefaultDeadLetterRetention = 30 * 24 * time.Hour
	DefaultOptOutRetention     = 2 * 365 * 24 * time.Hour
)

// WithDefaults returns r with zero fields set to their defaults, and
// DeadLetters no longer than Person.
func (r Retention) WithDefaults() Retention {
	if r.Person <= 0 {
		r.Person = DefaultPersonRetention
	}
	if r.DeadLetters <= 0 {
		r.DeadLetters = DefaultDeadLetterRetention
	}
	r.DeadLetters = min(r.DeadLetters, r.Person)
	if r.OptOut <= 0 {
		r.OptOut = DefaultOptOutRetention
	}
	return r
}

// OptOutFlagPrefix starts the flags kept after an erase, with their own
// retention (Retention.OptOut).
const OptOutFlagPrefix = "optout:"

// Store is what the pipeline needs from storage. Persons are keyed hashes
// (hex), never addresses. Every method is safe for concurrent use, and for the
// Redis store across processes. Implementations: store/redis and store/embedded;
// store/storetest is the conformance suite both pass.
//
// A store never reads the wall clock: every method that needs the time takes
// now from its caller (the pipeline's clock), so tests run on a fake clock.
// Every record about a person expires (Retention, fixed when the store is
// opened); Sweep removes what expired by now.
type Store interface {
	Counter
	Budgets
	// Accept appends msg to the person's inbox unless dedupeKey was already
	// accepted for that person within dedupeTTL, and makes the person ready in
	// QueueInbound. It reports false for a duplicate (nothing appended; the
	// person is still made ready, so a redelivery after a crash is not stranded).
	// A person's dedupe marks are bounded: past DedupeMarks unexpired ones,
	// accepting a new one forgets the oldest.
	Accept(ctx context.Context, person, dedupeKey string, msg Item, dedupeTTL time.Duration, now time.Time) (bool, error)
	// AcceptKnown is Accept for a person who has a session: when they have
	// none (they erased their data, or it expired) it writes nothing at all
	// and returns ErrNotFound. Delivery receipts and timers use it, so that
	// they never bring back a person who is gone.
	AcceptKnown(ctx context.Context, person, dedupeKey string, msg Item, dedupeTTL time.Duration, now time.Time) (bool, error)

	// Claim leases up to n people of q whose ready time is at or before now,
	// moving their ready time to now+lease, so other workers skip them until the
	// lease runs out (a crashed worker's people come back then).
	Claim(ctx context.Context, q Queue, now time.Time, lease time.Duration, n int) ([]Claim, error)
	// Schedule makes the person ready in q at the given time (added if absent,
	// otherwise moved). It is idempotent.
	Schedule(ctx context.Context, q Queue, person string, at time.Time) error
	// Release removes the person from q only if nobody scheduled them since c
	// was claimed (their ready time is still c.Until). It reports whether it removed them.
	Release(ctx context.Context, q Queue, c Claim) (bool, error)
	// Pending counts the people in q (queue depth for metrics).
	Pending(ctx context.Context, q Queue) (int64, error)

	// Lock takes the person's lock until now+ttl and returns its token, or ErrLocked.
	Lock(ctx context.Context, person string, ttl time.Duration, now time.Time) (string, error)
	// Unlock releases the lock if token still holds it.
	Unlock(ctx context.Context, person, token string) error

	// NextInbound returns the oldest message in the person's inbox, or ErrNotFound.
	NextInbound(ctx context.Context, person string) (Item, error)
	// LoadSession returns the sealed session, or ErrNotFound (also once it
	// expired by now).
	LoadSession(ctx context.Context, person string, now time.Time) ([]byte, error)
	// Commit applies c atomically if token still holds the person's lock at
	// now, otherwise it returns ErrLockLost and writes nothing. It then makes
	// the person ready in QueueOutbound when the outbox is not empty. A commit
	// that saves a session refreshes the retention of all the person's records
	// (but dead letters and opt-outs).
	Commit(ctx context.Context, person, token string, c Commit, now time.Time) error
	// BeginInbound is Lock (ErrLocked when another worker holds it), then
	// NextInbound, LoadSession and Flags, in one step.
	BeginInbound(ctx context.Context, person string, lockTTL time.Duration, now time.Time) (Begun, error)
	// Finish is Commit (the same errors; nothing is written on one), then,
	// in the same atomic step, what handling the person needs next: their
	// new inbox head, session and (with a head) flags, under the lock still held. When
	// release is not nil and the inbox is empty after the commit, it also
	// does Release(QueueInbound, *release) and Unlock, and the returned
	// Token is empty.
	Finish(ctx context.Context, person, token string, c Commit, release *Claim, now time.Time) (Begun, error)
	// ClaimInbound is Claim on QueueInbound, then BeginInbound on each person
	// claimed, in one step where the store can (one round trip on one
	// Redis). A person another worker holds is made ready again at
	// now+retry and comes back Locked. Steps.ClaimInbound is the same in steps.
	ClaimInbound(ctx context.Context, now time.Time, lease, lockTTL, retry time.Duration, n int) ([]Claimed, error)
	// ClaimOutbound is Claim on the lane queue q, then, for each person
	// claimed, their outbox lock (OutboxLock, ttl lockTTL), outbox head,
	// flags and alias, and, when the head has a ticket (TicketID), its cost
	// drawn from budget (Delivery says how it went), in one step where the
	// store can. A person whose outbox is empty is released and not
	// returned; one whose outbox another sender holds is made ready again at
	// now+retry and comes back Locked. Steps.ClaimOutbound is the same in steps.
	ClaimOutbound(ctx context.Context, q Queue, now time.Time, lease, lockTTL, retry time.Duration, n int, budget LaneBudget) ([]Delivery, error)
	// FinishOutbound ends a delivery: it removes the outbox head if its ID
	// is ack (nothing when ack is empty or the head is another), then makes
	// the person ready in q at next if the outbox still holds a reply, or
	// else releases c from q (Release's rule), and unlocks the outbox lock
	// token holds; in one step where the store can.
	FinishOutbound(ctx context.Context, person, token string, q Queue, c Claim, ack string, next, now time.Time) error

	// Enqueue appends items to the person's outbox (proactive messages) and makes
	// the person ready in QueueOutbound.
	Enqueue(ctx context.Context, person string, items []Item, now time.Time) error
	// NextOutbound returns the head of the person's outbox, or ErrNotFound.
	NextOutbound(ctx context.Context, person string) (Item, error)
	// UpdateOutbound replaces the outbox head's data if its ID is item.ID (to
	// count attempts), or returns ErrNotFound.
	UpdateOutbound(ctx context.Context, person string, item Item) error
	// AckOutbound removes the outbox head if its ID is id, or returns ErrNotFound.
	AckOutbound(ctx context.Context, person, id string) error
	// DeadLetter moves the outbox head with this id to the person's dead
	// letters, replacing its data with item.Data (which records the reason).
	DeadLetter(ctx context.Context, person string, item Item, now time.Time) error
	// DeadLetters lists up to limit dead letters across all people, oldest person first.
	DeadLetters(ctx context.Context, limit int) ([]Letter, error)
	// Replay moves the dead letter with this id back to the tail of the
	// person's outbox, its data replaced with what rewrite returns for its
	// current data (the pipeline resets its attempts there), and makes the
	// person ready in QueueOutbound. It is atomic: a letter is replayed once,
	// however many callers replay it at the same time, and rewrite decides on
	// the data as it is moved (it may be called again if the letter changed
	// meanwhile). ErrNotFound: no such letter. An error from rewrite leaves the
	// letter where it is and is returned.
	Replay(ctx context.Context, person, id string, now time.Time, rewrite func(data []byte) ([]byte, error)) error
	// CountDeadLetters counts dead letters across all people.
	CountDeadLetters(ctx context.Context) (int64, error)

	// Escalations lists up to limit escalations across all people.
	Escalations(ctx context.Context, limit int) ([]Letter, error)

	// ClaimTimers leases up to n timers due at or before now, across all
	// people, moving them out of reach of other processes until now+lease; a
	// process that dies lets them fire later rather than never.
	ClaimTimers(ctx context.Context, now time.Time, lease time.Duration, n int) ([]TimerClaim, error)
	// FinishTimer drops a claimed timer from the due set unless it was set
	// again since it was claimed. The timer itself is removed by the commit
	// that handles its firing (Commit.CancelTimers).
	FinishTimer(ctx context.Context, c TimerClaim) error
	// Timers lists the person's timers.
	Timers(ctx context.Context, person string) ([]Timer, error)

	// SetAlias makes person from stand for person to: a Telegram identity that
	// shared its own phone number is that number's person. Alias resolves it
	// (ErrNotFound when from is nobody's alias) and keeps the link for
	// Retention.Person from now; DeleteAlias undoes it.
	SetAlias(ctx context.Context, from, to string, now time.Time) error
	Alias(ctx context.Context, from string, now time.Time) (string, error)
	DeleteAlias(ctx context.Context, from string) error

	// SetFlag sets (on) or clears a named flag of a person, such as
	// "unreachable:telegram", "stopped:sms" or "optout:sms". Flags carry no personal data.
	// Commit.Erase clears every flag except those starting with "optout:": a
	// person who said STOP must stay unsent-to after erasing their data.
	// Opt-outs are kept for Retention.OptOut from now, other flags for
	// Retention.Person.
	SetFlag(ctx context.Context, person, flag string, on bool, now time.Time) error
	// Flags lists the flags set for a person (none: an empty slice).
	Flags(ctx context.Context, person string) ([]string, error)

	// Sweep removes what expired by now and the index entries it leaves
	// behind. Run calls it every SweepInterval.
	Sweep(ctx context.Context, now time.Time) error

	// Reseal calls f on every sealed record the store holds (sessions,
	// inboxes, outboxes, dead letters, escalations) and replaces the record's
	// data with what f returns, unless f returns nil or the record changed
	// meanwhile (then it was written anew, with the current key). Records keep
	// their place and expiry. It returns how many records it replaced; an
	// error from f stops it. Safe while other processes use the store.
	Reseal(ctx context.Context, f func(Sealed) ([]byte, error)) (int, error)

	// Ping reports whether the store is reachable.
	Ping(ctx context.Context) error
	// Close releases the store's resources.
	Close() error
}

// Counter counts uses of a name that must outlive the person who used it: a
// safe contact's daily "I am safe" messages, whether a number ever heard from
// Enlace. Names are keyed hashes (ValidName), never addresses. Erase does not
// touch them; they expire on their own.
type Counter interface {
	// Take counts one use of name unless it was used limit times already in
	// its window, and reports whether it counted. A window starts at the
	// first use and lasts ttl from then (now from the caller); once it ended,
	// the next use starts a new one. It is atomic: concurrent callers never
	// count more than limit uses in one window. Take(name, 1, ttl) is true
	// only the first time within ttl.
	Take(ctx context.Context, name string, limit int, ttl time.Duration, now time.Time) (bool, error)
}

// SweepInterval is how often Run asks the store to Sweep.
const SweepInterval = time.Minute

// Bucket is one token bucket of a delivery lane's budget: Rate tokens a
// second, at most Burst held. Name is a store.ValidName within the lane (the
// lane's own bucket, a recipient's keyed hash).
type Bucket struct {
	Name  string
	Rate  float64
	Burst float64
}

// Budgets are the token buckets that pace delivery, shared by every process
// on a store: N processes together send no more than one budget allows. The
// Redis store keeps them in Redis (one script per take, every bucket of a lane
// in one hash slot); the embedded store in the process that owns its file.
type Budgets interface {
	// TakeBudget takes cost tokens from every bucket of bs (of lane) when
	// each holds at least one token at now (a cost above one leaves a debt that
	// later takes wait out), and returns wait 0. Otherwise it takes nothing
	// and returns how long until the emptiest of them has a token, and its
	// index in bs. A bucket never seen is full. It is atomic across buckets
	// and processes.
	TakeBudget(ctx context.Context, lane string, bs []Bucket, cost int, now time.Time) (wait time.Duration, short int, err error)
	// HoldBudget gives no token of bucket b of lane before until (a
	// provider asked everyone on it to wait), and one at until.
	HoldBudget(ctx context.Context, lane string, b Bucket, until, now time.Time) error
}
