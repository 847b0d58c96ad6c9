package bot

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Claimed is one person ClaimInbound claimed from QueueInbound: their lock
// taken, and what BeginInbound reads with it. Locked says another worker
// holds them: the store made them ready again at the retry time, and Begun
// is empty.
type Claimed struct {
	Claim
	Begun  Begun
	Locked bool
}

// LaneBudget is what a delivery lane's sends draw from (Budgets): the
// lane's own bucket (Rate a second, Burst at once; Rate 0: none) and, when
// PerRecipient is above 0, one bucket per recipient of PerRecipient tokens a
// second (burst 1), named by the ticket of the reply (TicketID).
type LaneBudget struct {
	Lane         string
	Rate, Burst  float64
	PerRecipient float64
}

// buckets are the buckets a reply with the recipient bucket name recipient
// ("" for none) draws from, the lane's first.
func (b LaneBudget) buckets(recipient string) []Bucket {
	var bs []Bucket
	if b.Rate > 0 {
		bs = append(bs, Bucket{Name: laneBucket, Rate: b.Rate, Burst: max(b.Burst, 1)})
	}
	if b.PerRecipient > 0 && recipient != "" {
		bs = append(bs, Bucket{Name: recipient, Rate: b.PerRecipient, Burst: 1})
	}
	return bs
}

// Delivery is one person ClaimOutbound claimed from a lane queue, with their
// outbox lock (Token) and outbox head. When the head carries a ticket
// (TicketID) and the lane has a budget, the store drew the ticket's cost
// from it in the same step: Paid. When the budget was short it drew
// nothing, made the person ready again in the lane at now+Wait and unlocked
// them (Token is empty); WholeLane says the lane's own bucket was the short
// one (everyone on the lane waits), not only the recipient's.
type Delivery struct {
	Claim
	Token string
	// Locked says another sender holds the outbox: the store made the
	// person ready again at the retry time.
	Locked bool
	Head   Item
	// Flags are the person's flags (Flags); Alias is the person their own
	// identity stands for when it is a Telegram alias (Alias), else "".
	Flags     []string
	Alias     string
	Paid      bool
	Wait      time.Duration
	WholeLane bool
}

// A ticket rides at the end of an outbox item's ID, after the reply's own
// ID: "_t", the cost of its send in provider messages, "_", and the name of
// the recipient's bucket in its lane's budget ("0" for none). It holds no
// personal data (the bucket name is a keyed hash) and lets a store draw a
// reply's budget in the step that claims it, without opening the sealed reply.
const ticketMark = "_t"

// TicketID is id with a ticket for a send costing cost tokens from the
// recipient bucket named recipient ("" for none): still a store.ValidName.
func TicketID(id string, cost int, recipient string) string {
	if recipient == "" {
		recipient = "0"
	}
	return id + ticketMark + strconv.Itoa(max(cost, 1)) + "_" + recipient
}

// ParseTicket reads the ticket at the end of an item ID: the cost and the
// recipient bucket ("" for none); ok is false for an ID without one.
func ParseTicket(id string) (cost int, recipient string, ok bool) {
	i := strings.LastIndex(id, ticketMark)
	if i < 0 {
		return 0, "", false
	}
	n, rest, found := strings.Cut(id[i+len(ticketMark):], "_")
	cost, err := strconv.Atoi(n)
	if !found || err != nil || cost < 1 || rest == "" || strings.ContainsAny(rest, "_-") {
		return 0, "", false
	}
	if rest == "0" {
		rest = ""
	}
	return cost, rest, true
}

// Steps is how a store without a faster way (the embedded store, a Redis
// Cluster whose queues are in other slots) does ClaimInbound, ClaimOutbound
// and FinishOutbound: with its other methods, one after another, with the
// same outcome.
type Steps struct{ Store Store }

// Deferrer is a store whose claims on queues live in memory (the embedded
// store, which one process owns). Defer makes its claim c on a person in q
// last until at, when c still stands, and reports whether it did: a person
// who must wait (for the lane's budget, for another sender) then waits
// without a write, where Schedule would write their new ready time. A
// restart forgets it, and the person is ready at once: the budget and the
// reply's own not-before time still decide when it goes.
type Deferrer interface {
	Defer(q Queue, c Claim, at time.Time) bool
}

// SendMarker is implemented by stores that mark each try of an outbox head
// in the person's own keys (Redis): MarkSending marks a try of headID
// beginning at now, and returns when an earlier try of the same head began
// that never finished (zero when none): its mark is still there. The steps
// that remove the head (AckOutbound, DeadLetter, FinishOutbound) or rewrite
// it after a try (UpdateOutbound: the reply then says itself whether it is
// unsure) remove the mark.
type SendMarker interface {
	MarkSending(ctx context.Context, person, headID string, now time.Time) (time.Time, error)
}

// LapseKeeper is implemented by stores whose claim tells Lapsed only once
// (the embedded store after a kill): KeepLapsed has the next claim of c's
// person in q say c's Lapsed again, as nothing was tried in between.
type LapseKeeper interface {
	KeepLapsed(q Queue, c Claim)
}

// later makes the person of c ready in q again at at: in memory where the
// store keeps its claims there, else by Schedule; a lapsed claim stays lapsed
// (LapseKeeper).
func (s Steps) later(ctx context.Context, q Queue, c Claim, at time.Time) error {
	if k, ok := s.Store.(LapseKeeper); ok && !c.Lapsed.IsZero() {
		k.KeepLapsed(q, c)
	}
	if d, ok := s.Store.(Deferrer); ok && d.Defer(q, c, at) {
		return nil
	}
	return s.Store.Schedule(ctx, q, c.Person, at)
}

// ClaimInbound is Store.ClaimInbound in steps: Claim, then BeginInbound for
// each person claimed.
func (s Steps) ClaimInbound(ctx context.Context, now time.Time, lease, lockTTL, retry time.Duration, n int) ([]Claimed, error) {
	claims, err := s.Store.Claim(ctx, QueueInbound, now, lease, n)
	if err != nil {
		return nil, err
	}
	out := make([]Claimed, 0, len(claims))
	for _, c := range claims {
		b, err := s.Store.BeginInbound(ctx, c.Person, lockTTL, now)
		if errors.Is(err, ErrLocked) {
			if err := s.Store.Schedule(ctx, QueueInbound, c.Person, now.Add(retry)); err != nil {
				return out, err
			}
			out = append(out, Claimed{Claim: c, Locked: true})
			continue
		}
		if err != nil {
			return out, err
		}
		out = append(out, Claimed{Claim: c, Begun: b})
	}
	return out, nil
}

// outboxLock names the lock of a person's outbox, apart from the lock held
// while their inbound messages are handled.
func outboxLock(person string) string { return person + "_out" }

// OutboxLock is the name Store.Lock takes a person's outbox lock under: a
// store that takes it in a script of its own takes the same lock.
func OutboxLock(person string) string { return outboxLock(person) }

// ClaimOutbound is Store.ClaimOutbound in steps: Claim, then for each person
// the outbox lock, head, budget and flags.
func (s Steps) ClaimOutbound(ctx context.Context, q Queue, now time.Time, lease, lockTTL, retry time.Duration, n int, budget LaneBudget) ([]Delivery, error) {
	claims, err := s.Store.Claim(ctx, q, now, lease, n)
	if err != nil {
		return nil, err
	}
	out := make([]Delivery, 0, len(claims))
	for _, c := range claims {
		d, keep, err := s.claimOne(ctx, q, c, now, lockTTL, retry, budget)
		if err != nil {
			return out, err
		}
		if keep {
			out = append(out, d)
		}
	}
	return out, nil
}

func (s Steps) claimOne(ctx context.Context, q Queue, c Claim, now time.Time, lockTTL, retry time.Duration, budget LaneBudget) (Delivery, bool, error) {
	d := Delivery{Claim: c}
	lock := outboxLock(c.Person)
	tok, err := s.Store.Lock(ctx, lock, lockTTL, now)
	if errors.Is(err, ErrLocked) {
		d.Locked = true
		return d, true, s.later(ctx, q, c, now.Add(retry))
	}
	if err != nil {
		return d, false, err
	}
	unlock := func() error { return s.Store.Unlock(ctx, lock, tok) }
	head, err := s.Store.NextOutbound(ctx, c.Person)
	if errors.Is(err, ErrNotFound) {
		if _, err := s.Store.Release(ctx, q, c); err != nil {
			return d, false, err
		}
		return d, false, unlock()
	}
	if err != nil {
		return d, false, errors.Join(err, unlock())
	}
	d.Head = head
	if cost, recipient, ok := ParseTicket(head.ID); ok {
		if bs := budget.buckets(recipient); len(bs) > 0 {
			wait, short, err := s.Store.TakeBudget(ctx, budget.Lane, bs, cost, now)
			if err != nil {
				return d, false, errors.Join(err, unlock())
			}
			if wait > 0 {
				d.Wait, d.WholeLane = wait, bs[short].Name == laneBucket
				if err := s.later(ctx, q, c, now.Add(wait)); err != nil {
					return d, false, errors.Join(err, unlock())
				}
				return d, true, unlock()
			}
		}
		d.Paid = true
	}
	if d.Flags, err = s.Store.Flags(ctx, c.Person); err != nil {
		return d, false, errors.Join(err, unlock())
	}
	switch d.Alias, err = s.Store.Alias(ctx, c.Person, now); {
	case errors.Is(err, ErrNotFound):
		d.Alias = ""
	case err != nil:
		return d, false, errors.Join(err, unlock())
	}
	if m, ok := s.Store.(SendMarker); ok {
		if d.Lapsed, err = m.MarkSending(ctx, c.Person, head.ID, now); err != nil {
			return d, false, errors.Join(err, unlock())
		}
	}
	d.Token = tok
	return d, true, nil
}

// FinishOutbound is Store.FinishOutbound in steps: AckOutbound, then
// Schedule or Release, then Unlock.
func (s Steps) FinishOutbound(ctx context.Context, person, token string, q Queue, c Claim, ack string, next, now time.Time) error {
	if ack != "" {
		if err := s.Store.AckOutbound(ctx, person, ack); err != nil && !errors.Is(err, ErrNotFound) {
			return fmt.Errorf("acknowledging: %w", err)
		}
	}
	_, err := s.Store.NextOutbound(ctx, person)
	switch {
	case errors.Is(err, ErrNotFound):
		// A reply committed meanwhile made the person ready again, so the
		// release (only if their ready time is still the claim's) keeps them.
		_, err = s.Store.Release(ctx, q, c)
	case err == nil:
		err = s.Store.Schedule(ctx, q, person, next)
	}
	return errors.Join(err, s.Store.Unlock(ctx, outboxLock(person), token))
}
