package bot

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"
)

// Pace is a channel's delivery lane and the budget its sends draw from. The
// budget lives in the store (Budgets), so every process on it draws from the
// same one: N processes together send no more than Rate from one sender.
type Pace struct {
	// Lane names the lane (a store.ValidName, the same in every process):
	// the sender identity its replies leave from, such as the Telegram bot
	// or a Twilio number or Messaging Service.
	Lane string
	// Rate is how many messages a second the sender may send to everyone
	// together, Burst how many at once (at least 1); 0 paces nothing.
	Rate  float64
	Burst float64
	// PerRecipient is the least time between two messages to one recipient
	// (Telegram: a second per chat); 0 for none.
	PerRecipient time.Duration
	// Account groups the lanes of one provider account (a Twilio account's
	// SMS and WhatsApp senders): a "slow down" for the account (a Twilio
	// 429) holds every lane of it. Empty: the lane stands alone.
	Account string
}

// Paced is implemented by channels whose sends are paced by a shared budget.
type Paced interface {
	Pace() Pace
	// Cost is how many provider messages r takes (the parts of a long text,
	// a map pin): the tokens its send draws.
	Cost(r Reply) int
}

// noLane serves replies for a channel that is not configured: its workers
// only move them to dead letters.
const noLane = "none"

// laneBucket names a lane's own bucket in the store.
const laneBucket = "lane"

// lane is one delivery lane: a queue of its own in the store, served by its
// own workers, so that a lane waiting for its budget never holds up another,
// nor the handling of inbound messages.
type lane struct {
	name    string
	channel string // the channel whose replies leave from it (metrics)
	queue   Queue
	pace    Pace
	wake    chan struct{}

	mu   sync.Mutex
	hold time.Time // the budget is spent until then: claim nothing before (a hint; the store decides)
}

func (l *lane) notify() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// held says until when the lane waits for its budget, if it does at now.
func (l *lane) held(now time.Time) (time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.hold, l.hold.After(now)
}

func (l *lane) holdUntil(t time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if t.After(l.hold) {
		l.hold = t
	}
}

// laneOf is the lane replies on a channel leave from (noLane for a channel
// that is not configured). Lanes are made on first use.
func (p *Pipeline) laneOf(channel string) *lane {
	p.mu.Lock()
	defer p.mu.Unlock()
	name, pace := noLane, Pace{}
	if ch, ok := p.channels[channel]; ok {
		name = ch.Name()
		if pc, ok := ch.(Paced); ok {
			pace = pc.Pace()
			name = pace.Lane
		}
	}
	return p.laneLocked(name, channel, pace)
}

func (p *Pipeline) laneLocked(name, channel string, pace Pace) *lane {
	if l, ok := p.lanes[name]; ok {
		return l
	}
	pace.Burst = max(pace.Burst, 1)
	l := &lane{name: name, channel: channel, queue: LaneQueue(name), pace: pace, wake: make(chan struct{}, 1)}
	p.lanes[name] = l
	return l
}

// outboxLane is the queue of the lane an outbox item leaves from: its
// channel's, or noLane's for one that cannot be read (dead-lettered there).
func (p *Pipeline) outboxLane(person string, it Item) Queue {
	r, err := p.openReply(person, it.Data)
	if err != nil {
		return p.laneOf("").queue
	}
	return p.laneOf(r.Channel).queue
}

// laneByQueue is the lane whose queue is q, if this process has it.
func (p *Pipeline) laneByQueue(q Queue) *lane {
	name, ok := q.Lane()
	if !ok {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lanes[name]
}

// allLanes lists the lanes of every configured channel, and noLane, by name.
func (p *Pipeline) allLanes() []*lane {
	p.mu.Lock()
	var names []string
	for n := range p.channels {
		names = append(names, n)
	}
	p.mu.Unlock()
	seen := map[*lane]bool{p.laneOf(""): true}
	out := []*lane{p.laneOf("")}
	sort.Strings(names)
	for _, n := range names {
		if l := p.laneOf(n); !seen[l] {
			seen[l] = true
			out = append(out, l)
		}
	}
	return out
}

// DispatchReady moves the people with new outbound messages (QueueOutbound)
// to the lane of their outbox head, at the head's not-before time, and
// returns how many it moved. Handling workers run it: it never waits on a
// provider.
func (p *Pipeline) DispatchReady(ctx context.Context) (int, error) {
	claims, err := p.store.Claim(ctx, QueueOutbound, p.now(), p.cfg.Lease, p.cfg.Batch)
	if err != nil {
		return 0, fmt.Errorf("bot: claiming outbound work: %w", err)
	}
	var errs []error
	for _, c := range claims {
		errs = append(errs, p.dispatch(ctx, c))
	}
	return len(claims), errors.Join(errs...)
}

// dispatch moves one person to the lane of their outbox head. A crash
// before the release leaves them in QueueOutbound too, to be moved again:
// harmless, as is a head that changed meanwhile (the lane that meets a head
// not its own passes it on).
func (p *Pipeline) dispatch(ctx context.Context, c Claim) error {
	item, err := p.store.NextOutbound(ctx, c.Person)
	if errors.Is(err, ErrNotFound) {
		_, err := p.store.Release(ctx, QueueOutbound, c)
		return err
	}
	if err != nil {
		return fmt.Errorf("bot: reading outbox: %w", err)
	}
	now := p.now()
	l, at := p.laneOf(""), now // an unreadable head is dead-lettered there
	if r, err := p.openReply(c.Person, item.Data); err == nil {
		l = p.laneOf(r.Channel)
		if r.NotBefore.After(now) {
			at = r.NotBefore
		}
	}
	if err := p.store.Schedule(ctx, l.queue, c.Person, at); err != nil {
		return fmt.Errorf("bot: scheduling delivery: %w", err)
	}
	if _, err := p.store.Release(ctx, QueueOutbound, c); err != nil {
		return fmt.Errorf("bot: releasing claim: %w", err)
	}
	if !at.After(now) {
		l.notify()
	}
	return nil
}

// lanePass claims up to n people ready in the lane and delivers their outbox
// heads. It counts the people it claimed as well as the replies it sent.
// Claiming takes each one's outbox lock, reads the head and, for a head with
// a ticket, draws its cost from the lane's budget, in one step
// (ClaimOutbound): a reply that must wait for the budget is rescheduled by
// the store, never tried.
func (p *Pipeline) lanePass(ctx context.Context, l *lane, n int) (sent, claimed int, err error) {
	if _, held := l.held(p.now()); held {
		return 0, 0, nil
	}
	ds, err := p.store.ClaimOutbound(ctx, l.queue, p.now(), p.cfg.Lease, p.cfg.LockTTL, lockedRetry, n, p.laneBudget(l))
	if err != nil {
		return 0, 0, fmt.Errorf("bot: claiming %s deliveries: %w", l.name, err)
	}
	var errs []error
	for _, d := range ds {
		switch {
		case d.Locked:
			continue // another sender has this outbox; the store looks again shortly
		case d.Wait > 0:
			if d.WholeLane {
				l.holdUntil(p.now().Add(d.Wait))
			}
			p.metrics.outbound(l.channel, "paced")
			continue
		}
		if until, held := l.held(p.now()); held && !d.Paid {
			// The lane's budget ran out during this batch: the rest wait
			// for it, without an attempt.
			errs = append(errs, p.store.Schedule(ctx, l.queue, d.Person, until), p.unlockOutbox(ctx, d))
			continue
		}
		ok, err := p.sendNext(ctx, l, d)
		if ok {
			sent++
		}
		errs = append(errs, err)
	}
	return sent, len(ds), errors.Join(errs...)
}

// laneBudget is the budget l's sends draw from, as ClaimOutbound takes it.
func (p *Pipeline) laneBudget(l *lane) LaneBudget {
	b := LaneBudget{Lane: l.name, Rate: l.pace.Rate, Burst: l.pace.Burst}
	if d := l.pace.PerRecipient; d > 0 {
		b.PerRecipient = 1 / d.Seconds()
	}
	return b
}

// ticket is the ID r's outbox item is stored under: r's own ID with a
// ticket (TicketID) when its channel is paced, so that claiming it draws its
// cost from its lane's budget.
func (p *Pipeline) ticket(r Reply) string {
	ch, ok := p.channel(r.Channel)
	if !ok {
		return r.ID
	}
	pc, ok := ch.(Paced)
	if !ok {
		return r.ID
	}
	l, recipient := p.laneOf(r.Channel), ""
	if l.pace.Rate <= 0 && l.pace.PerRecipient <= 0 {
		return r.ID
	}
	if l.pace.PerRecipient > 0 {
		recipient = p.recipientBucket(l, r).Name
	}
	return TicketID(r.ID, pc.Cost(r), recipient)
}

// buckets are the budget buckets a reply on lane l draws from: the lane's,
// then the recipient's (by keyed hash).
func (p *Pipeline) buckets(l *lane, r Reply) []Bucket {
	var bs []Bucket
	if l.pace.Rate > 0 {
		bs = append(bs, Bucket{Name: laneBucket, Rate: l.pace.Rate, Burst: l.pace.Burst})
	}
	if d := l.pace.PerRecipient; d > 0 {
		bs = append(bs, p.recipientBucket(l, r))
	}
	return bs
}

func (p *Pipeline) recipientBucket(l *lane, r Reply) Bucket {
	return Bucket{Name: p.keys.Hash("pace", Identity(r.Channel, r.To))[:32], Rate: 1 / l.pace.PerRecipient.Seconds(), Burst: 1}
}

// takeBudget draws what r costs from l's budget. wait > 0: not now; whole
// says the lane itself is spent (everyone on it waits), not only r's recipient.
func (p *Pipeline) takeBudget(ctx context.Context, l *lane, ch Channel, r Reply) (wait time.Duration, whole bool, err error) {
	pc, ok := ch.(Paced)
	bs := p.buckets(l, r)
	if !ok || len(bs) == 0 {
		return 0, false, nil
	}
	wait, short, err := p.store.TakeBudget(ctx, l.name, bs, max(pc.Cost(r), 1), p.now())
	if err != nil {
		return 0, false, fmt.Errorf("bot: taking from the %s budget: %w", l.name, err)
	}
	return wait, wait > 0 && bs[short].Name == laneBucket, nil
}

// TakeFrom draws what r costs on channel from that channel's lane budget,
// for a channel that sends r from another channel's sender (a WhatsApp
// message outside the 24-hour window goes by SMS). wait > 0 says not now:
// the caller returns ErrThrottled with it, so the reply waits, untried.
func (p *Pipeline) TakeFrom(ctx context.Context, channel string, r Reply) (time.Duration, error) {
	ch, ok := p.channel(channel)
	if !ok {
		return 0, nil
	}
	l := p.laneOf(channel)
	r.Channel = channel
	wait, whole, err := p.takeBudget(ctx, l, ch, r)
	if whole {
		l.holdUntil(p.now().Add(wait))
	}
	return wait, err
}

// holdBudget makes everyone on the lane (whole), or r's recipient, wait
// until at, as the provider asked, in every process.
func (p *Pipeline) holdBudget(ctx context.Context, l *lane, r Reply, whole bool, at time.Time) error {
	var b Bucket
	switch {
	case whole && l.pace.Account != "":
		// The whole account: every lane of it, in every process (the budgets
		// are in the store).
		for _, o := range p.allLanes() {
			if o.pace.Account == l.pace.Account {
				if err := p.holdLane(ctx, o, at); err != nil {
					return err
				}
			}
		}
		return nil
	case whole:
		return p.holdLane(ctx, l, at)
	case l.pace.PerRecipient > 0:
		b = p.recipientBucket(l, r)
	default:
		return nil
	}
	if err := p.store.HoldBudget(ctx, l.name, b, at, p.now()); err != nil {
		return fmt.Errorf("bot: holding the %s budget: %w", l.name, err)
	}
	return nil
}

// holdLane holds a whole lane's budget until at.
func (p *Pipeline) holdLane(ctx context.Context, l *lane, at time.Time) error {
	l.holdUntil(at)
	b := Bucket{Name: laneBucket, Rate: max(l.pace.Rate, 1), Burst: l.pace.Burst}
	if err := p.store.HoldBudget(ctx, l.name, b, at, p.now()); err != nil {
		return fmt.Errorf("bot: holding the %s budget: %w", l.name, err)
	}
	return nil
}
