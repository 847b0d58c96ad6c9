package bot

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"time"
)

// SendReady routes the people with new outbound messages to their lanes and
// delivers what is ready now in every lane, one reply per person per pass
// so that each recipient is paced, and returns how many replies it delivered.
//
// Delivery is at least once at the provider boundary: a crash after the
// provider accepted a reply and before the outbox head was removed leaves
// the head to be tried again after restart. That try is unsure
// (Reply.Unsure), and a channel that can ask its provider what it sent
// (Twilio) sends only what did not go; others (Telegram) send that one reply
// again. Every step before it (commit, claim, retry, dead letter) is
// idempotent, so no other crash duplicates or loses a reply.
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

// sendNext tries the outbox head ClaimOutbound read under d's lock, and
// ends with the lock released: by FinishOutbound with the acknowledgement,
// or on its own. A head moved to dead letters without a try makes the person
// ready again at once, for the reply after it.
func (p *Pipeline) sendNext(ctx context.Context, l *lane, d Delivery) (bool, error) {
	sent, next, finished, err := p.sendHead(ctx, l, d)
	if !finished {
		err = errors.Join(err, p.unlockOutbox(ctx, d))
	}
	if next && err == nil {
		err = p.store.Schedule(ctx, l.queue, d.Person, p.now())
		l.notify()
	}
	return sent, err
}

// unlockOutbox releases the outbox lock d holds.
func (p *Pipeline) unlockOutbox(ctx context.Context, d Delivery) error {
	if d.Token == "" {
		return nil
	}
	if err := p.store.Unlock(context.WithoutCancel(ctx), outboxLock(d.Person), d.Token); err != nil {
		return fmt.Errorf("bot: unlocking outbox: %w", err)
	}
	return nil
}

// sendHead tries the head of the outbox once. next says the head was moved to
// dead letters without a try, so the one after it may go now; finished says
// the outbox lock was released with the acknowledgement.
//
// A reply that must wait (held back, or its lane's budget or its recipient's
// spent) is scheduled for when it may go and left as it is: waiting is never
// an attempt, and no worker sleeps on it. The provider call and the
// acknowledgement after it have deadlines of their own, so a slow provider
// can never leave a delivered reply unacknowledged (and sent again).
func (p *Pipeline) sendHead(ctx context.Context, l *lane, d Delivery) (sent, next, finished bool, err error) {
	c, item := d.Claim, d.Head
	r, err := p.openReply(c.Person, item.Data)
	if err != nil {
		return false, true, false, p.deadLetterUnreadable(ctx, c.Person, item, err)
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
			return false, false, false, fmt.Errorf("bot: scheduling delivery: %w", err)
		}
		_, err := p.store.Release(ctx, l.queue, c)
		dst.notify()
		return false, false, false, err
	}
	if r.NotBefore.After(now) {
		// Held back (throttled, backing off, paced): come back then.
		return false, false, false, p.store.Schedule(ctx, l.queue, c.Person, r.NotBefore)
	}
	ch, reason, err := p.sendable(ctx, d, r)
	if err != nil {
		return false, false, false, err
	}
	if reason != "" {
		return false, true, false, p.deadLetter(ctx, c.Person, item.ID, r, reason)
	}
	if !d.Paid {
		wait, whole, err := p.takeBudget(ctx, l, ch, r)
		if err != nil {
			return false, false, false, err
		}
		if wait > 0 {
			if whole {
				l.holdUntil(now.Add(wait))
			}
			p.metrics.outbound(r.Channel, "paced")
			return false, false, false, p.store.Schedule(ctx, l.queue, c.Person, now.Add(wait))
		}
	}
	if !d.Lapsed.IsZero() && r.Unsure.IsZero() {
		// An earlier try never finished: it may have sent the reply since it
		// began (and no earlier than the reply was made).
		r.Unsure = later(d.Lapsed, r.Created)
	}
	p.crash("before-send")
	sendCtx, cancelSend := context.WithTimeout(context.WithoutCancel(ctx), p.cfg.SendTimeout)
	sendErr := ch.Send(sendCtx, r)
	cancelSend()
	if unsureOutcome(sendErr) && r.Unsure.IsZero() {
		r.Unsure = now // the try began after it; kept by the retry's rewrite
	}
	ackCtx, cancelAck := context.WithTimeout(context.WithoutCancel(ctx), p.cfg.AckTimeout)
	defer cancelAck()
	return p.sendOutcome(ackCtx, l, d, item.ID, ch, r, sendErr)
}

// sendOutcome handles what a channel said about a reply: each outcome has
// its function.
func (p *Pipeline) sendOutcome(ctx context.Context, l *lane, d Delivery, id string, ch Channel, r Reply, sendErr error) (sent, next, finished bool, err error) {
	person := d.Person
	var throttled *ErrThrottled
	switch {
	case sendErr == nil:
		return true, false, true, p.sent(ctx, l, d, id, ch, r)
	case errors.As(sendErr, &throttled):
		return false, false, false, p.throttled(ctx, l, person, id, r, throttled)
	case errors.Is(sendErr, ErrUnreachable), errors.Is(sendErr, ErrRejected):
		return false, true, false, p.undeliverable(ctx, person, id, r, sendErr)
	}
	sent, next, err = p.failed(ctx, l, person, id, r, sendErr)
	return sent, next, false, err
}

// later is the later of two times.
func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// unsureOutcome says whether a failed send may still have reached the
// provider: any failure but a refusal or a throttle of the whole reply,
// which say it did not.
func unsureOutcome(err error) bool {
	var throttled *ErrThrottled
	if errors.As(err, &throttled) {
		return throttled.Partial
	}
	return err != nil && !errors.Is(err, ErrUnreachable) && !errors.Is(err, ErrRejected)
}

// sendable returns the channel a reply goes on, or the reason it must not be
// sent (no such channel, or its address opted out or cannot be reached).
func (p *Pipeline) sendable(ctx context.Context, d Delivery, r Reply) (Channel, string, error) {
	ch, ok := p.channel(r.Channel)
	if !ok {
		return nil, "no channel configured", nil
	}
	flags, err := p.recipientFlags(ctx, d, r)
	if err != nil {
		return nil, "", err
	}
	if reason, blocked := blockedBy(flags, r); blocked {
		return nil, reason, nil
	}
	return ch, "", nil
}

// recipientFlags are the flags of the person r goes to: the outbox owner's,
// read with the claim, when r goes to the owner (their own identity, not an
// alias of someone else's, or an identity that is their alias), or else
// read now.
func (p *Pipeline) recipientFlags(ctx context.Context, d Delivery, r Reply) ([]string, error) {
	h := p.Person(r.Channel, r.To)
	if h == d.Person && d.Alias == "" || slices.Contains(d.Flags, aliasFlag(h)) {
		return d.Flags, nil
	}
	person, err := p.PersonOf(ctx, r.Channel, r.To)
	if err != nil {
		return nil, err
	}
	flags, err := p.store.Flags(ctx, person)
	if err != nil {
		return nil, fmt.Errorf("bot: reading recipient flags: %w", err)
	}
	return flags, nil
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

// sent acknowledges a delivered reply and, in the same step, makes the
// person ready for their next one (now, or when the channel allows the next
// message to this chat), or, with nothing left, releases them from the lane
// at once, rather than have a later pass claim them to find the outbox
// empty; and unlocks the outbox (FinishOutbound).
func (p *Pipeline) sent(ctx context.Context, l *lane, d Delivery, id string, ch Channel, r Reply) error {
	person := d.Person
	p.crash("after-send")
	// Sending is delivery as far as a channel without delivery reports can
	// tell; the receipt is recorded before the reply leaves the outbox, so a
	// crash in between repeats neither. Channels that report delivery later
	// tell the person then.
	if dr, ok := ch.(DeliveryReporter); !ok || !dr.ReportsDelivery() {
		if err := afterSend(ctx, func(ctx context.Context) error { return p.receipt(ctx, r, true) }); err != nil {
			return errors.Join(err, p.unlockOutbox(ctx, d))
		}
	}
	if err := afterSend(ctx, func(ctx context.Context) error {
		return p.entryStatus(ctx, person, r, EntryStatus{Status: sentStatus(ch)})
	}); err != nil {
		return errors.Join(err, p.unlockOutbox(ctx, d))
	}
	next := p.now()
	if pacer, ok := ch.(Pacer); ok {
		// The recipient's bucket holds the next message to this chat back
		// in every process; this spares a claim that would only wait.
		next = next.Add(pacer.MinInterval())
	}
	// The next head is most likely on this lane too; one that is not is
	// passed on when this lane meets it.
	if err := afterSend(ctx, func(ctx context.Context) error {
		return p.store.FinishOutbound(ctx, person, d.Token, l.queue, d.Claim, id, next, p.now())
	}); err != nil {
		return fmt.Errorf("bot: acknowledging reply: %w", err)
	}
	p.metrics.outbound(r.Channel, "sent")
	p.delivered(ctx, r.Channel)
	return nil
}

// Retrying the writes after a send. Once a provider has accepted a reply,
// a write that fails (a Redis failover under way, a connection reset, a
// write the new primary never saw) would leave the reply at the head of the
// outbox, to be sent again when the claim runs out. Every one of those writes
// is idempotent (the receipt is deduplicated by the reply's ID, a status is
// set, FinishOutbound removes the head only if it is still this reply), so
// each is tried again until it succeeds or the acknowledgement's own deadline
// (Config.AckTimeout) passes.
const (
	afterSendFirstRetry = 50 * time.Millisecond
	afterSendMaxRetry   = time.Second
)

// afterSend runs write until it succeeds or ctx is done, waiting a little
// longer after each failure, and returns the last error.
func afterSend(ctx context.Context, write func(context.Context) error) error {
	wait := afterSendFirstRetry
	for {
		err := write(ctx)
		if err == nil {
			return nil
		}
		if Sleep(ctx, wait) != nil {
			return err
		}
		wait = min(2*wait, afterSendMaxRetry)
	}
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

// blockedBy says whether a reply must not be sent, by the flags of the
// person it goes to: its address opted out of the channel or cannot be
// reached there.
func blockedBy(flags []string, r Reply) (string, bool) {
	for _, f := range flags {
		switch {
		case f == optOutFlag(r.Channel) && !r.OptOutNotice:
			return "recipient opted out of " + r.Channel, true
		case f == unreachableFlag(r.Channel):
			return "recipient unreachable on " + r.Channel + " until they write again", true
		case f == stoppedFlag(r.Channel):
			return "recipient unreachable on " + r.Channel + ": opted out with the provider until they send START", true
		}
	}
	return "", false
}

// phoneLike matches what could be a phone number or a chat id in a provider's
// error text: seven or more digits, possibly with spaces, dashes or a plus.
var phoneLike = regexp.MustCompile(`\+?\d[\d \-().]{5,}\d`)

// redact removes number-like runs from an error before it is logged or kept as
// a dead letter's reason: providers sometimes echo the recipient's number.
func redact(err error) string {
	return phoneLike.ReplaceAllString(err.Error(), "[number]")
}

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
