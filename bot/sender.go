package bot

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"
)

// SendReady routes the people with new outbound messages to their lanes and
// delivers what is ready now in every lane, one reply per person per pass
// so that each recipient is paced, and returns how many replies it delivered.
//
// Delivery is at least once at the provider boundary: a crash after the
// provider accepted a reply and before the outbox head was removed sends that
// one reply again after restart. Every step before it (commit, claim, retry,
// dead letter) is idempotent, so no other crash duplicates or loses a reply.
func (p *Pipeline) SendReady(ctx context.Context) (int, error) {
	sent, _, err := p.sendReady(ctx)
	return sent, err
}

// sendReady is SendReady, also saying how many people it claimed.
func (p *Pipeline) sendReady(ctx context.Context) (sent, claimed int, err error) {
	d, derr := p.DispatchReady(ctx)
	errs := []error{derr}
	claimed = d
	for _, l := range p.allLanes() {
		s, c, err := p.lanePass(ctx, l, p.cfg.Batch)
		sent += s
		claimed += c
		errs = append(errs, err)
	}
	return sent, claimed, errors.Join(errs...)
}

// sendNext delivers the head of one person's outbox and schedules what follows.
// The claim's lease alone is not exclusive (a new reply reschedules the person
// while a send is in flight), so a lock of the outbox makes sure only one sender
// ever holds its head.
func (p *Pipeline) sendNext(ctx context.Context, l *lane, c Claim) (bool, error) {
	lock := c.Person + outboxLockSuffix
	token, err := p.store.Lock(ctx, lock, p.cfg.LockTTL, p.now())
	if errors.Is(err, ErrLocked) {
		// Another sender has this outbox; look again shortly rather than when
		// this claim's lease runs out.
		return false, p.store.Schedule(ctx, l.queue, c.Person, p.now().Add(lockedRetry))
	}
	if err != nil {
		return false, fmt.Errorf("bot: locking outbox: %w", err)
	}
	defer func() {
		if err := p.store.Unlock(context.WithoutCancel(ctx), lock, token); err != nil {
			p.log.Warn("unlock failed", "person", logID(c.Person), "err", err)
		}
	}()
	for {
		sent, next, err := p.sendHead(ctx, l, c)
		if !next || err != nil {
			return sent, err
		}
	}
}

// sendHead tries the head of the outbox once. next says the head was moved to
// dead letters without a try, so the one after it may go now.
//
// A reply that must wait (held back, or its lane's budget or its recipient's
// spent) is scheduled for when it may go and left as it is: waiting is never
// an attempt, and no worker sleeps on it. The provider call and the
// acknowledgement after it have deadlines of their own, so a slow provider
// can never leave a delivered reply unacknowledged (and sent again).
func (p *Pipeline) sendHead(ctx context.Context, l *lane, c Claim) (sent, next bool, err error) {
	item, err := p.store.NextOutbound(ctx, c.Person)
	if errors.Is(err, ErrNotFound) {
		_, err := p.store.Release(ctx, l.queue, c)
		return false, false, err
	}
	if err != nil {
		return false, false, fmt.Errorf("bot: reading outbox: %w", err)
	}
	r, err := p.openReply(c.Person, item.Data)
	if err != nil {
		return false, true, p.deadLetterUnreadable(ctx, c.Person, item, err)
	}
	now := p.now()
	if dst := p.laneOf(r.Channel); dst != l {
		// The head leaves from another lane (it became the head while the
		// person waited here): pass them on.
		at := now
		if r.NotBefore.After(now) {
			at = r.NotBefore
		}
		if err := p.store.Schedule(ctx, dst.queue, c.Person, at); err != nil {
			return false, false, fmt.Errorf("bot: scheduling delivery: %w", err)
		}
		_, err := p.store.Release(ctx, l.queue, c)
		dst.notify()
		return false, false, err
	}
	if r.NotBefore.After(now) {
		// Held back (throttled, backing off, paced): come back then.
		return false, false, p.store.Schedule(ctx, l.queue, c.Person, r.NotBefore)
	}
	ch, reason, err := p.sendable(ctx, r)
	if err != nil {
		return false, false, err
	}
	if reason != "" {
		return false, true, p.deadLetter(ctx, c.Person, item.ID, r, reason)
	}
	wait, whole, err := p.takeBudget(ctx, l, ch, r)
	if err != nil {
		return false, false, err
	}
	if wait > 0 {
		if whole {
			l.holdUntil(now.Add(wait))
		}
		p.metrics.outbound(r.Channel, "paced")
		return false, false, p.store.Schedule(ctx, l.queue, c.Person, now.Add(wait))
	}
	p.crash("before-send")
	sendCtx, cancelSend := context.WithTimeout(context.WithoutCancel(ctx), p.cfg.SendTimeout)
	sendErr := ch.Send(sendCtx, r)
	cancelSend()
	ackCtx, cancelAck := context.WithTimeout(context.WithoutCancel(ctx), p.cfg.AckTimeout)
	defer cancelAck()
	return p.sendOutcome(ackCtx, l, c, item.ID, ch, r, sendErr)
}

// sendOutcome handles what a channel said about a reply: each outcome has
// its function.
func (p *Pipeline) sendOutcome(ctx context.Context, l *lane, c Claim, id string, ch Channel, r Reply, sendErr error) (sent, next bool, err error) {
	person := c.Person
	var throttled *ErrThrottled
	switch {
	case sendErr == nil:
		return true, false, p.sent(ctx, l, c, id, ch, r)
	case errors.As(sendErr, &throttled):
		return false, false, p.throttled(ctx, l, person, id, r, throttled)
	case errors.Is(sendErr, ErrUnreachable), errors.Is(sendErr, ErrRejected):
		return false, true, p.undeliverable(ctx, person, id, r, sendErr)
	}
	return p.failed(ctx, l, person, id, r, sendErr)
}

// sendable returns the channel a reply goes on, or the reason it must not be
// sent (no such channel, or its address opted out or cannot be reached).
func (p *Pipeline) sendable(ctx context.Context, r Reply) (Channel, string, error) {
	ch, ok := p.channel(r.Channel)
	if !ok {
		return nil, "no channel configured", nil
	}
	reason, blocked, err := p.blocked(ctx, r)
	if err != nil || blocked {
		return nil, reason, err
	}
	return ch, "", nil
}

// deadLetterUnreadable moves a reply nobody can open to dead letters.
func (p *Pipeline) deadLetterUnreadable(ctx context.Context, person string, item Item, openErr error) error {
	p.log.Error("unreadable reply moved to dead letters", "person", logID(person), "err", openErr)
	if err := p.store.DeadLetter(ctx, person, item, p.now()); err != nil {
		return fmt.Errorf("bot: dead-lettering: %w", err)
	}
	p.metrics.outbound("unknown", "dead")
	return nil
}

// sent acknowledges a delivered reply and schedules the person's next one:
// now, or when the channel allows the next message to this chat. With
// nothing left it releases the person from the lane at once, rather than
// have a later pass claim them to find the outbox empty.
func (p *Pipeline) sent(ctx context.Context, l *lane, c Claim, id string, ch Channel, r Reply) error {
	person := c.Person
	p.crash("after-send")
	// Sending is delivery as far as a channel without delivery reports can
	// tell; the receipt is recorded before the reply leaves the outbox, so a
	// crash in between repeats neither. Channels that report delivery later
	// tell the person then.
	if dr, ok := ch.(DeliveryReporter); !ok || !dr.ReportsDelivery() {
		if err := p.receipt(ctx, r, true); err != nil {
			return err
		}
	}
	if err := p.entryStatus(ctx, person, r, EntryStatus{Status: sentStatus(ch)}); err != nil {
		return err
	}
	if err := p.store.AckOutbound(ctx, person, id); err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("bot: acknowledging reply: %w", err)
	}
	p.metrics.outbound(r.Channel, "sent")
	p.delivered(ctx, r.Channel)
	head, err := p.store.NextOutbound(ctx, person)
	if errors.Is(err, ErrNotFound) {
		// A reply committed meanwhile made the person ready again, so the
		// release (only if their ready time is still the claim's) keeps them.
		if _, err := p.store.Release(ctx, l.queue, c); err != nil {
			return fmt.Errorf("bot: releasing claim: %w", err)
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("bot: reading outbox: %w", err)
	}
	next := p.now()
	if pacer, ok := ch.(Pacer); ok {
		next = next.Add(pacer.MinInterval())
		if err := p.holdNext(ctx, person, head, r, next); err != nil {
			return err
		}
	}
	// The next head is most likely on this lane too; one that is not is
	// passed on when this lane meets it.
	return p.store.Schedule(ctx, l.queue, person, next)
}

// throttled holds a reply for exactly as long as the provider asked, and
// with it its recipient, or the whole lane when the provider throttles the
// sender (a Twilio 429 is the account's), in every process. It is not an
// attempt.
func (p *Pipeline) throttled(ctx context.Context, l *lane, person, id string, r Reply, t *ErrThrottled) error {
	p.metrics.outbound(r.Channel, "throttled")
	p.log.Warn("throttled by provider", "channel", r.Channel, "person", logID(person), "retry_after", t.RetryAfter, "lane", t.Lane)
	r.NotBefore = p.now().Add(t.RetryAfter)
	if err := p.holdBudget(ctx, l, r, t.Lane, r.NotBefore); err != nil {
		return err
	}
	if err := p.rewrite(ctx, person, id, r); err != nil {
		return err
	}
	return p.store.Schedule(ctx, l.queue, person, r.NotBefore)
}

// undeliverable dead-letters a reply the provider will never deliver, marking
// an unreachable address so that nothing more is tried there until the
// address writes again (or, opted out with the provider, opts in again).
func (p *Pipeline) undeliverable(ctx context.Context, person, id string, r Reply, sendErr error) error {
	flag := ""
	switch {
	case errors.Is(sendErr, ErrOptedOut):
		flag = stoppedFlag(r.Channel)
	case errors.Is(sendErr, ErrUnreachable):
		flag = unreachableFlag(r.Channel)
	}
	if flag != "" {
		to, err := p.PersonOf(ctx, r.Channel, r.To)
		if err != nil {
			return err
		}
		if err := p.store.SetFlag(ctx, to, flag, true, p.now()); err != nil {
			return fmt.Errorf("bot: recording reachability: %w", err)
		}
	}
	if err := p.deadLetter(ctx, person, id, r, redact(sendErr)); err != nil {
		return err
	}
	return p.teaserFallback(ctx, person, r) // a tracing teaser tries the next channel
}

// failed counts a transient failure: the reply is tried again after a
// backoff, until it has been failing for its channel's RetryFor; then it goes
// to dead letters, to be replayed when the channel delivers again.
func (p *Pipeline) failed(ctx context.Context, l *lane, person, id string, r Reply, sendErr error) (sent, next bool, err error) {
	now := p.now()
	p.channelFailed(r.Channel)
	r.Attempts++
	r.LastError = redact(sendErr)
	if r.FailingSince.IsZero() {
		r.FailingSince = now
	}
	retryFor := p.cfg.retryFor(r.Channel)
	giveUp := r.FailingSince.Add(retryFor)
	if !now.Before(giveUp) {
		r.GaveUp = true
		return false, true, p.deadLetter(ctx, person, id, r, fmt.Sprintf("gave up after retrying for %s (%d attempts): %s", retryFor, r.Attempts, redact(sendErr)))
	}
	p.metrics.outbound(r.Channel, "retry")
	// The last try is when the retry time ends, however long the backoff.
	delay := min(p.backoff(r.Attempts), giveUp.Sub(now))
	p.log.Warn("send failed, will retry", "channel", r.Channel, "person", logID(person), "attempt", r.Attempts, "in", delay, "err", r.LastError)
	r.NotBefore = now.Add(delay)
	if err := p.rewrite(ctx, person, id, r); err != nil {
		return false, false, err
	}
	return false, false, p.store.Schedule(ctx, l.queue, person, r.NotBefore)
}

// blocked says whether a reply must not be sent: its address opted out of the
// channel or cannot be reached there.
func (p *Pipeline) blocked(ctx context.Context, r Reply) (string, bool, error) {
	person, err := p.PersonOf(ctx, r.Channel, r.To)
	if err != nil {
		return "", false, err
	}
	flags, err := p.store.Flags(ctx, person)
	if err != nil {
		return "", false, fmt.Errorf("bot: reading recipient flags: %w", err)
	}
	for _, f := range flags {
		switch {
		case f == optOutFlag(r.Channel) && !r.OptOutNotice:
			return "recipient opted out of " + r.Channel, true, nil
		case f == unreachableFlag(r.Channel):
			return "recipient unreachable on " + r.Channel + " until they write again", true, nil
		case f == stoppedFlag(r.Channel):
			return "recipient unreachable on " + r.Channel + ": opted out with the provider until they send START", true, nil
		}
	}
	return "", false, nil
}

// phoneLike matches what could be a phone number or a chat id in a provider's
// error text: seven or more digits, possibly with spaces, dashes or a plus.
var phoneLike = regexp.MustCompile(`\+?\d[\d \-().]{5,}\d`)

// redact removes number-like runs from an error before it is logged or kept as
// a dead letter's reason: providers sometimes echo the recipient's number.
func redact(err error) string {
	return phoneLike.ReplaceAllString(err.Error(), "[number]")
}

// outboxLockSuffix names the lock of a person's outbox, apart from the lock
// held while their inbound messages are handled.
const outboxLockSuffix = "_out"

// rewrite stores a changed reply back at the head of the outbox.
func (p *Pipeline) rewrite(ctx context.Context, person, id string, r Reply) error {
	item, err := p.sealReply(person, r)
	if err != nil {
		return err
	}
	item.ID = id
	if err := p.store.UpdateOutbound(ctx, person, item); err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("bot: recording attempt: %w", err)
	}
	return nil
}

// holdNext holds item, the reply now at the head of the outbox (the one after sent),
// until at, when it goes to the same chat: the channel's pace per chat.
func (p *Pipeline) holdNext(ctx context.Context, person string, item Item, sent Reply, at time.Time) error {
	r, err := p.openReply(person, item.Data)
	if err != nil || r.Channel != sent.Channel || r.To != sent.To || !r.NotBefore.Before(at) {
		return nil // unreadable (the sender will dead-letter it), another chat, or held longer already
	}
	r.NotBefore = at
	return p.rewrite(ctx, person, item.ID, r)
}

// backoff is the delay before retry number attempt: doubling from BackoffBase,
// capped at BackoffMax.
func (p *Pipeline) backoff(attempt int) time.Duration {
	d := p.cfg.BackoffBase
	for i := 1; i < attempt && d < p.cfg.BackoffMax; i++ {
		d *= 2
	}
	return min(d, p.cfg.BackoffMax)
}

func (p *Pipeline) deadLetter(ctx context.Context, person, id string, r Reply, reason string) error {
	if err := p.receipt(ctx, r, false); err != nil {
		return err
	}
	r.LastError = reason
	if err := p.entryStatus(ctx, person, r, EntryStatus{Status: "failed", Error: reason}); err != nil {
		return err
	}
	item, err := p.sealReply(person, r)
	if err != nil {
		return err
	}
	item.ID = id
	if err := p.store.DeadLetter(ctx, person, item, p.now()); err != nil {
		return fmt.Errorf("bot: dead-lettering: %w", err)
	}
	p.metrics.outbound(r.Channel, "dead")
	p.log.Error("reply moved to dead letters", "channel", r.Channel, "person", logID(person), "reason", reason)
	return nil
}

// DeadLetter is a dead letter as an operator sees it: no message text, no address.
type DeadLetter struct {
	Person    string    `json:"person"`
	ID        string    `json:"id"`
	Channel   string    `json:"channel"`
	Created   time.Time `json:"created"`
	Attempts  int       `json:"attempts"`
	Reason    string    `json:"reason"`
	Proactive bool      `json:"proactive,omitempty"`
}

// DeadLetters lists dead letters for an operator.
func (p *Pipeline) DeadLetters(ctx context.Context, limit int) ([]DeadLetter, error) {
	letters, err := p.store.DeadLetters(ctx, limit)
	if err != nil {
		return nil, fmt.Errorf("bot: listing dead letters: %w", err)
	}
	out := make([]DeadLetter, 0, len(letters))
	for _, l := range letters {
		d := DeadLetter{Person: l.Person, ID: l.Item.ID, Reason: "unreadable"}
		if r, err := p.openReply(l.Person, l.Item.Data); err == nil {
			d.Channel, d.Created, d.Attempts, d.Reason, d.Proactive = r.Channel, r.Created, r.Attempts, r.LastError, r.Proactive
		}
		out = append(out, d)
	}
	return out, nil
}

// Replay puts a dead letter back at the end of its outbox as if it had never
// been tried: no attempts, no backoff, a full RetryFor ahead of it.
func (p *Pipeline) Replay(ctx context.Context, person, id string) error {
	if err := p.store.Replay(ctx, person, id, p.now(), p.replayed(person, false)); err != nil {
		return fmt.Errorf("bot: replaying dead letter: %w", err)
	}
	p.notify()
	return nil
}

// errNotReplayed is how an automatic replay leaves a letter where it is.
var errNotReplayed = errors.New("not replayed automatically")

// replayed rewrites a dead letter as it goes back to the outbox: its attempts,
// backoff and retry time start again. An automatic replay takes only letters
// that gave up on a transient failure and were not replayed automatically
// before (errNotReplayed otherwise), and marks them.
func (p *Pipeline) replayed(person string, auto bool) func([]byte) ([]byte, error) {
	return func(data []byte) ([]byte, error) {
		r, err := p.openReply(person, data)
		if err != nil {
			if auto {
				return nil, errNotReplayed
			}
			return data, nil // unreadable: the sender dead-letters it again, and says why
		}
		if auto {
			if !autoReplayable(r) {
				return nil, errNotReplayed
			}
			r.AutoReplayed = true
		}
		r.Attempts, r.FailingSince, r.NotBefore, r.LastError, r.GaveUp = 0, time.Time{}, time.Time{}, "", false
		if r.ReceiptTo != "" {
			// Its sender was told it failed; a receipt names the reply, so a
			// new name lets them hear that it arrived after all.
			r.ID = newID()
		}
		item, err := p.sealReply(person, r)
		if err != nil {
			return nil, err
		}
		return item.Data, nil
	}
}

// sentStatus is what a reply the channel took is known as: "sent" where the
// channel reports nothing more, "accepted" where it reports delivery later.
func sentStatus(ch Channel) string {
	if dr, ok := ch.(DeliveryReporter); ok && dr.ReportsDelivery() {
		return "accepted"
	}
	return "sent"
}
