package storetest

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/enlace-rfl/enlace/bot"
)

// naming lists the lines of the store's contents that name any of who.
func naming(t *testing.T, s bot.Store, b Backend, who ...string) []string {
	t.Helper()
	var out []string
	for _, line := range b.Contents(t, s) {
		for _, w := range who {
			if strings.Contains(line, w) {
				out = append(out, line)
				break
			}
		}
	}
	return out
}

// finishIdle does what workers do with people found ready with nothing to
// do: they release them from the queue.
func finishIdle(t *testing.T, s bot.Store, now time.Time) {
	t.Helper()
	for _, q := range []bot.Queue{bot.QueueInbound, bot.QueueOutbound} {
		cs, err := s.Claim(ctx, q, now, time.Minute, 1000)
		must(t, err)
		for _, c := range cs {
			next := s.NextInbound
			if q == bot.QueueOutbound {
				next = s.NextOutbound
			}
			if _, err := next(ctx, c.Person); errors.Is(err, bot.ErrNotFound) {
				_, err := s.Release(ctx, q, c)
				must(t, err)
			} else {
				must(t, err)
			}
		}
	}
}

// passTo lets the fake clock run from *now to then: the store's own clock
// too, then a sweep and the workers' round.
func passTo(t *testing.T, s bot.Store, b Backend, now *time.Time, then time.Time) {
	t.Helper()
	elapse(t, s, b, then.Sub(*now))
	*now = then
	must(t, s.Sweep(ctx, then))
	finishIdle(t, s, then)
}

// testRetentionHolds gives two people one of every record, lets one of them
// go silent and the other keep writing, and checks that each kind of record
// goes at the end of its retention, and that in the end nothing names the
// silent person anywhere in the store: no key, no index or queue entry, no value.
func testRetentionHolds(t *testing.T, s bot.Store, b Backend) {
	silent, active, telegram := person(t), person(t), person(t)
	r := testRetention
	build := func(p string) {
		accept(t, s, p, "k1", item("m1"), epoch)
		tok := lock(t, s, p)
		must(t, s.Commit(ctx, p, tok, bot.Commit{
			InboundID: "m1", Session: []byte("sess"), SessionTTL: r.Person,
			Outbox: []bot.Item{item("o1"), item("o2")}, Escalations: []bot.Item{item("e1")},
			SetTimers: []bot.Timer{{ID: "checkin", At: epoch.Add(5 * 24 * time.Hour)}},
		}, epoch))
		must(t, s.Unlock(ctx, p, tok))
		must(t, s.DeadLetter(ctx, p, bot.Item{ID: "o1", Data: []byte("reason")}, epoch))
		must(t, s.SetFlag(ctx, p, "unreachable:sms", true, epoch))
		must(t, s.SetFlag(ctx, p, "optout:whatsapp", true, epoch))
		accept(t, s, p, "k2", item("m2"), epoch) // never handled
	}
	build(silent)
	build(active)
	must(t, s.SetAlias(ctx, telegram, silent, epoch))
	if len(naming(t, s, b, silent)) == 0 {
		t.Fatal("the store's contents do not name the person: the test looks in the wrong place")
	}

	now := epoch
	passTo(t, s, b, &now, epoch.Add(r.DeadLetters+time.Minute))
	if n, err := s.CountDeadLetters(ctx); err != nil || n != 0 {
		t.Fatalf("after the dead-letter retention: %d dead letters (%v), want none", n, err)
	}
	if ls, _ := s.DeadLetters(ctx, 10); len(ls) != 0 {
		t.Fatalf("after the dead-letter retention: dead letters %v", ls)
	}
	if it, err := s.NextOutbound(ctx, silent); err != nil || it.ID != "o2" {
		t.Fatalf("outbox before the person's retention ends: %v, %v; want o2", it.ID, err)
	}

	// The active person writes again: all but dead letters and opt-outs are kept longer.
	passTo(t, s, b, &now, epoch.Add(8*24*time.Hour))
	tok, err := s.Lock(ctx, active, time.Minute, now)
	must(t, err)
	must(t, s.Commit(ctx, active, tok, bot.Commit{Session: []byte("again"), SessionTTL: r.Person}, now))
	must(t, s.Unlock(ctx, active, tok))

	passTo(t, s, b, &now, epoch.Add(r.Person+time.Minute))
	if _, err := s.LoadSession(ctx, silent, now); !errors.Is(err, bot.ErrNotFound) {
		t.Errorf("session after the retention: %v, want ErrNotFound", err)
	}
	for name, next := range map[string]func() (bot.Item, error){
		"inbox":  func() (bot.Item, error) { return s.NextInbound(ctx, silent) },
		"outbox": func() (bot.Item, error) { return s.NextOutbound(ctx, silent) },
	} {
		if it, err := next(); !errors.Is(err, bot.ErrNotFound) {
			t.Errorf("%s after the retention: %v, %v; want ErrNotFound", name, it.ID, err)
		}
	}
	esc, err := s.Escalations(ctx, 10)
	must(t, err)
	if got := lettersOf(esc, silent); len(got) != 0 {
		t.Errorf("escalations after the retention: %v", ids(got))
	}
	if ts, _ := s.Timers(ctx, silent); len(ts) != 0 {
		t.Errorf("timers after the retention: %+v", ts)
	}
	if got := claimsOf(t, s, silent, now, time.Minute); len(got) != 0 {
		t.Errorf("an expired timer fired: %+v", got)
	}
	if _, err := s.Alias(ctx, telegram, now); !errors.Is(err, bot.ErrNotFound) {
		t.Errorf("identity link after the retention: %v, want ErrNotFound", err)
	}
	if got, _ := s.Flags(ctx, silent); !slices.Equal(got, []string{"optout:whatsapp"}) {
		t.Errorf("flags after the retention: %q, want only the opt-out", got)
	}
	left := naming(t, s, b, silent, telegram)
	for _, line := range left {
		// Only the opt-out, and what holds it (a bucket path in front of it).
		holds := slices.ContainsFunc(left, func(l string) bool {
			return strings.Contains(l, "optout") && strings.HasPrefix(l, line+"/")
		})
		if !strings.Contains(line, "optout") && !holds {
			t.Errorf("left after the retention: %q", line)
		}
	}
	// The active person's records were refreshed by their last commit.
	if sess, err := s.LoadSession(ctx, active, now); err != nil || string(sess) != "again" {
		t.Errorf("active person's session: %q, %v", sess, err)
	}
	if it, err := s.NextOutbound(ctx, active); err != nil || it.ID != "o2" {
		t.Errorf("active person's outbox: %v, %v; want o2", it.ID, err)
	}
	if got := lettersOf(esc, active); len(got) != 1 {
		t.Errorf("active person's escalations: %v", ids(got))
	}
	if ts, _ := s.Timers(ctx, active); len(ts) != 1 {
		t.Errorf("active person's timers: %+v", ts)
	}
	if got, _ := s.Flags(ctx, active); !slices.Equal(got, []string{"optout:whatsapp", "unreachable:sms"}) {
		t.Errorf("active person's flags: %q", got)
	}

	passTo(t, s, b, &now, epoch.Add(r.OptOut+time.Minute))
	if got, _ := s.Flags(ctx, silent); len(got) != 0 {
		t.Errorf("flags after the opt-out retention: %q", got)
	}
	if left := naming(t, s, b, silent, telegram); len(left) > 0 {
		t.Errorf("records naming the person after every retention: %q", left)
	}
}

// testAliasRefresh checks that an identity link in use does not expire.
func testAliasRefresh(t *testing.T, s bot.Store, b Backend) {
	from, to := person(t), person(t)
	must(t, s.SetAlias(ctx, from, to, epoch))
	now := epoch
	for range 3 {
		passTo(t, s, b, &now, now.Add(testRetention.Person*9/10))
		if got, err := s.Alias(ctx, from, now); err != nil || got != to {
			t.Fatalf("alias in use at %v: %q, %v; want %q", now.Sub(epoch), got, err, to)
		}
	}
	passTo(t, s, b, &now, now.Add(testRetention.Person+time.Minute))
	if _, err := s.Alias(ctx, from, now); !errors.Is(err, bot.ErrNotFound) {
		t.Fatalf("alias unused for the retention: %v, want ErrNotFound", err)
	}
}

// testAcceptKnown checks that a receipt or timer for a person who is gone
// writes nothing, not even a queue entry or a dedupe mark.
func testAcceptKnown(t *testing.T, s bot.Store) {
	p, stranger := person(t), person(t)
	if _, err := s.AcceptKnown(ctx, stranger, "r1", item("r1"), time.Hour, epoch); !errors.Is(err, bot.ErrNotFound) {
		t.Fatalf("AcceptKnown for nobody: %v, want ErrNotFound", err)
	}
	if n := pending(t, s, bot.QueueInbound); n != 0 {
		t.Fatalf("AcceptKnown for nobody queued them: Pending(in) = %d", n)
	}
	accept(t, s, p, "k1", item("m1"), epoch)
	tok := lock(t, s, p)
	must(t, s.Commit(ctx, p, tok, bot.Commit{InboundID: "m1", Session: []byte("s"), SessionTTL: time.Hour}, epoch))
	ok, err := s.AcceptKnown(ctx, p, "r1", item("r1"), time.Hour, epoch)
	if err != nil || !ok {
		t.Fatalf("AcceptKnown for a person with a session: %v, %v", ok, err)
	}
	if ok, err := s.AcceptKnown(ctx, p, "r1", item("r1again"), time.Hour, epoch); err != nil || ok {
		t.Fatalf("AcceptKnown twice: %v, %v; want a duplicate", ok, err)
	}
	must(t, s.Commit(ctx, p, tok, bot.Commit{InboundID: "r1", Erase: true}, epoch))
	must(t, s.Unlock(ctx, p, tok))
	if _, err := s.AcceptKnown(ctx, p, "r2", item("r2"), time.Hour, epoch); !errors.Is(err, bot.ErrNotFound) {
		t.Fatalf("AcceptKnown after erase: %v, want ErrNotFound", err)
	}
	if _, err := s.NextInbound(ctx, p); !errors.Is(err, bot.ErrNotFound) {
		t.Fatalf("AcceptKnown after erase left an inbox: %v", err)
	}
}

// testEscalationOnePerID checks that an escalation with an ID the person
// already holds replaces it in place.
func testEscalationOnePerID(t *testing.T, s bot.Store) {
	p := person(t)
	commitEsc := func(items ...bot.Item) {
		tok := lock(t, s, p)
		must(t, s.Commit(ctx, p, tok, bot.Commit{Escalations: items}, epoch))
		must(t, s.Unlock(ctx, p, tok))
	}
	commitEsc(bot.Item{ID: "help", Data: []byte("v1")}, bot.Item{ID: "checkin", Data: []byte("c1")})
	for range 30 {
		commitEsc(bot.Item{ID: "help", Data: []byte("v2")})
	}
	esc, err := s.Escalations(ctx, 100)
	must(t, err)
	sameItems(t, lettersOf(esc, p), []bot.Item{{ID: "help", Data: []byte("v2")}, {ID: "checkin", Data: []byte("c1")}})
}
