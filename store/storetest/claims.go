package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/enlace-rfl/enlace/bot"
)

// testClaimInbound: claiming from QueueInbound takes each person's lock and
// reads their inbox head, session and flags in the same step; a person
// another worker holds comes back Locked and ready again at the retry time.
func testClaimInbound(t *testing.T, s bot.Store) {
	a, b := person(t), person(t)
	for _, p := range []string{a, b} {
		if _, err := s.Accept(ctx, p, "m-"+p, item("in1"), time.Hour, epoch); err != nil {
			t.Fatal(err)
		}
	}
	must(t, s.SetFlag(ctx, a, "stopped:sms", true, epoch))
	tok, err := s.Lock(ctx, a, time.Minute, epoch)
	must(t, err)
	must(t, s.Commit(ctx, a, tok, bot.Commit{Session: []byte("sess-a"), SessionTTL: time.Hour}, epoch))
	must(t, s.Unlock(ctx, a, tok))
	other, err := s.Lock(ctx, b, time.Minute, epoch)
	must(t, err)

	cs, err := s.ClaimInbound(ctx, epoch, time.Minute, time.Minute, 5*time.Second, 10)
	must(t, err)
	if len(cs) != 2 {
		t.Fatalf("ClaimInbound returned %d people, want 2", len(cs))
	}
	for _, c := range cs {
		switch c.Person {
		case a:
			if c.Locked || c.Begun.Token == "" || c.Begun.Head.ID != "in1" || string(c.Begun.Session) != "sess-a" || !slices.Equal(c.Begun.Flags, []string{"stopped:sms"}) {
				t.Errorf("a: %+v, want their lock, inbox head, session and flags", c)
			}
			if _, err := s.Lock(ctx, a, time.Minute, epoch); !errors.Is(err, bot.ErrLocked) {
				t.Errorf("a's lock after ClaimInbound: Lock = %v, want ErrLocked", err)
			}
			if _, err := s.Finish(ctx, a, c.Begun.Token, bot.Commit{InboundID: "in1", Session: []byte("sess-a2")}, &c.Claim, epoch); err != nil {
				t.Errorf("Finish with the claimed token: %v", err)
			}
		case b:
			if !c.Locked || c.Begun.Token != "" {
				t.Errorf("b, locked by another worker: %+v, want Locked", c)
			}
		default:
			t.Errorf("claimed a stranger %s", c.Person)
		}
	}
	if cs, err := s.ClaimInbound(ctx, epoch.Add(time.Second), time.Minute, time.Minute, 5*time.Second, 10); err != nil || len(cs) != 0 {
		t.Fatalf("within the lease and the retry: claimed %+v, %v; want none", cs, err)
	}
	must(t, s.Unlock(ctx, b, other))
	cs, err = s.ClaimInbound(ctx, epoch.Add(5*time.Second), time.Minute, time.Minute, 5*time.Second, 10)
	must(t, err)
	if len(cs) != 1 || cs[0].Person != b || cs[0].Locked || cs[0].Begun.Head.ID != "in1" || cs[0].Begun.Session != nil {
		t.Fatalf("at the retry time: %+v, want b with their head and no session", cs)
	}
	if cs, err := s.ClaimInbound(ctx, epoch, time.Minute, time.Millisecond/2, time.Second, 1); err == nil && len(cs) > 0 {
		t.Errorf("a lock ttl under a millisecond: claimed %+v, want an error or nobody", cs)
	}
}

// testClaimOutbound: claiming a lane takes each person's outbox lock, reads
// the head, flags and alias, and draws a ticketed head's cost from the
// lane's budget in the same step; a short budget draws nothing, leaves the
// person unlocked and ready when it has a token again; an empty outbox is
// released. FinishOutbound acknowledges and, in the same step, schedules
// the next reply or releases the person, and unlocks.
func testClaimOutbound(t *testing.T, s bot.Store) {
	lane := bot.LaneQueue("sms")
	budget := bot.LaneBudget{Lane: "sms", Rate: 1, Burst: 1, PerRecipient: 0.25}
	a, empty, plain := person(t), person(t), person(t)
	first, second, third := bot.TicketID("r1", 1, "rcptA"), bot.TicketID("r2", 1, "rcptB"), bot.TicketID("r3", 1, "rcptA")
	must(t, s.Enqueue(ctx, a, []bot.Item{item(first), item(second), item(third)}, epoch))
	must(t, s.Enqueue(ctx, plain, []bot.Item{item("plain1")}, epoch))
	must(t, s.SetFlag(ctx, a, "alias:tg1", true, epoch))
	for _, p := range []string{a, empty, plain} {
		must(t, s.Schedule(ctx, lane, p, epoch))
	}

	ds, err := s.ClaimOutbound(ctx, lane, epoch, time.Minute, time.Minute, time.Second, 10, budget)
	must(t, err)
	got := map[string]bot.Delivery{}
	for _, d := range ds {
		got[d.Person] = d
	}
	if _, ok := got[empty]; ok || len(ds) != 2 {
		t.Fatalf("claimed %+v, want a and plain (empty is released)", ds)
	}
	if pending(t, s, lane) != 2 {
		t.Errorf("after the claim: %d people in the lane, want 2 (the empty outbox released)", pending(t, s, lane))
	}
	d := got[a]
	if d.Locked || d.Token == "" || d.Head.ID != first || !d.Paid || d.Wait != 0 || !slices.Equal(d.Flags, []string{"alias:tg1"}) || d.Alias != "" {
		t.Fatalf("a: %+v, want their outbox lock, head, flags, paid", d)
	}
	if p := got[plain]; p.Paid || p.Token == "" || p.Head.ID != "plain1" {
		t.Errorf("a head without a ticket: %+v, want it unpaid, with its lock", p)
	}
	if _, err := s.Lock(ctx, bot.OutboxLock(a), time.Minute, epoch); !errors.Is(err, bot.ErrLocked) {
		t.Errorf("a's outbox lock after ClaimOutbound: Lock = %v, want ErrLocked", err)
	}
	next := epoch.Add(100 * time.Millisecond)
	must(t, s.FinishOutbound(ctx, a, d.Token, lane, d.Claim, first, next, epoch))
	if h, err := s.NextOutbound(ctx, a); err != nil || h.ID != second {
		t.Fatalf("after FinishOutbound: head %v, %v; want the second reply", h.ID, err)
	}
	tok, err := s.Lock(ctx, bot.OutboxLock(a), time.Minute, epoch)
	if err != nil {
		t.Fatalf("FinishOutbound left the outbox locked: %v", err)
	}
	must(t, s.Unlock(ctx, bot.OutboxLock(a), tok))
	if cs := claimed(t, s, lane, next.Add(-time.Millisecond), 10); len(cs) != 0 {
		t.Fatalf("before the next ready time FinishOutbound set: claimed %v", cs)
	}
	// The lane's bucket (one a second) is spent: the second reply waits, untried.
	ds, err = s.ClaimOutbound(ctx, lane, next, time.Minute, time.Minute, time.Second, 10, budget)
	must(t, err)
	if len(ds) != 1 || ds[0].Person != a || ds[0].Wait <= 0 || !ds[0].WholeLane || ds[0].Token != "" || ds[0].Paid {
		t.Fatalf("with the lane's budget spent: %+v, want a waiting for the lane, unlocked", ds)
	}
	until := next.Add(ds[0].Wait)
	if tok, err := s.Lock(ctx, bot.OutboxLock(a), time.Minute, next); err != nil {
		t.Fatalf("a waiting for budget is still locked: %v", err)
	} else {
		must(t, s.Unlock(ctx, bot.OutboxLock(a), tok))
	}
	if ds, err := s.ClaimOutbound(ctx, lane, until.Add(-time.Millisecond), time.Minute, time.Minute, time.Second, 10, budget); err != nil || len(ds) != 0 {
		t.Fatalf("before the budget has a token: claimed %+v, %v", ds, err)
	}
	ds, err = s.ClaimOutbound(ctx, lane, until, time.Minute, time.Minute, time.Second, 10, budget)
	must(t, err)
	if len(ds) != 1 || !ds[0].Paid || ds[0].Head.ID != second {
		t.Fatalf("when the lane has a token: %+v, want the second reply paid", ds)
	}
	must(t, s.FinishOutbound(ctx, a, ds[0].Token, lane, ds[0].Claim, second, until.Add(time.Second), until))
	// A second later the lane has a token again, but the first recipient's
	// bucket (one in four seconds) not yet: the third waits for them alone.
	at := until.Add(time.Second)
	ds, err = s.ClaimOutbound(ctx, lane, at, time.Minute, time.Minute, time.Second, 10, budget)
	must(t, err)
	if len(ds) != 1 || ds[0].Wait <= 0 || ds[0].WholeLane {
		t.Fatalf("with the recipient's budget spent: %+v, want a waiting for their recipient only", ds)
	}
	at = at.Add(ds[0].Wait)
	ds, err = s.ClaimOutbound(ctx, lane, at, time.Minute, time.Minute, time.Second, 10, budget)
	must(t, err)
	if len(ds) != 1 || !ds[0].Paid || ds[0].Head.ID != third {
		t.Fatalf("when both buckets have a token: %+v, want the third reply paid", ds)
	}
	must(t, s.FinishOutbound(ctx, a, ds[0].Token, lane, ds[0].Claim, third, at, at))
	if _, err := s.NextOutbound(ctx, a); !errors.Is(err, bot.ErrNotFound) {
		t.Errorf("after the last acknowledgement: NextOutbound = %v, want ErrNotFound", err)
	}
	if cs := claimed(t, s, lane, at.Add(time.Hour), 10); slices.Contains(cs, a) {
		t.Errorf("a with an empty outbox is still in the lane")
	}
	// Another sender holds plain's outbox: plain comes back Locked, ready
	// again at the retry time.
	p := got[plain]
	must(t, s.FinishOutbound(ctx, plain, p.Token, lane, p.Claim, "", at, epoch))
	if got := pending(t, s, lane); got != 1 {
		t.Fatalf("plain, acknowledged nothing: %d in the lane, want them kept", got)
	}
	hold, err := s.Lock(ctx, bot.OutboxLock(plain), time.Hour, at)
	must(t, err)
	ds, err = s.ClaimOutbound(ctx, lane, at, time.Minute, time.Minute, time.Second, 10, budget)
	must(t, err)
	if len(ds) != 1 || !ds[0].Locked {
		t.Fatalf("plain's outbox held by another: %+v, want Locked", ds)
	}
	must(t, s.Unlock(ctx, bot.OutboxLock(plain), hold))
	if cs := claimed(t, s, lane, at.Add(time.Second), 10); !slices.Equal(cs, []string{plain}) {
		t.Errorf("at the retry time: claimed %v, want plain", cs)
	}
}

// testClaimOutboundConcurrent: workers claiming one lane with
// ClaimOutbound and acknowledging with FinishOutbound deliver every reply
// once, in each person's order.
func testClaimOutboundConcurrent(t *testing.T, s bot.Store) {
	lane := bot.LaneQueue("sms")
	const people, replies, workers = 12, 3, 4
	var ids []string
	for range people {
		p := person(t)
		var items []bot.Item
		for j := range replies {
			items = append(items, item(bot.TicketID(p[:8]+"r"+string(rune('a'+j)), 1, "")))
		}
		must(t, s.Enqueue(ctx, p, items, epoch))
		must(t, s.Schedule(ctx, lane, p, epoch))
		for _, it := range items {
			ids = append(ids, it.ID)
		}
	}
	var mu sync.Mutex
	sent := map[string][]string{}
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range 200 {
				ds, err := s.ClaimOutbound(ctx, lane, epoch, time.Minute, time.Minute, 0, 2, bot.LaneBudget{Lane: "sms"})
				if err != nil {
					t.Error(err)
					return
				}
				if len(ds) == 0 && pending(t, s, lane) == 0 {
					return
				}
				for _, d := range ds {
					if d.Locked || d.Token == "" {
						continue
					}
					mu.Lock()
					sent[d.Person] = append(sent[d.Person], d.Head.ID)
					mu.Unlock()
					if err := s.FinishOutbound(ctx, d.Person, d.Token, lane, d.Claim, d.Head.ID, epoch, epoch); err != nil {
						t.Error(err)
					}
				}
			}
		})
	}
	wg.Wait()
	var all []string
	for _, got := range sent {
		if !slices.IsSorted(got) {
			t.Errorf("a person's replies went out of order: %v", got)
		}
		all = append(all, got...)
	}
	slices.Sort(all)
	slices.Sort(ids)
	if !slices.Equal(all, ids) {
		t.Errorf("delivered %d replies, want each of %d once", len(all), len(ids))
	}
}

// testDedupeMarksBounded: a person's dedupe marks are bounded
// (bot.DedupeMarks): past the bound the oldest is forgotten, the newest are
// still recognised.
func testDedupeMarksBounded(t *testing.T, s bot.Store) {
	p := person(t)
	now := epoch
	for i := range bot.DedupeMarks + 2 {
		now = now.Add(time.Second)
		if fresh, err := s.Accept(ctx, p, fmt.Sprintf("mark%04d", i), item(fmt.Sprintf("m%d", i)), 48*time.Hour, now); err != nil || !fresh {
			t.Fatalf("message %d: fresh %v, %v", i, fresh, err)
		}
	}
	for i := bot.DedupeMarks + 1; i >= 2; i -= 31 {
		if fresh, err := s.Accept(ctx, p, fmt.Sprintf("mark%04d", i), item("again"), 48*time.Hour, now); err != nil || fresh {
			t.Fatalf("message %d again, among the last %d: fresh %v, %v; want a duplicate", i, bot.DedupeMarks, fresh, err)
		}
	}
	if fresh, err := s.Accept(ctx, p, "mark0000", item("oldest"), 48*time.Hour, now); err != nil || !fresh {
		t.Fatalf("the oldest mark, past the bound: fresh %v, %v; want it forgotten", fresh, err)
	}
}

// testClaimLapsed: a try of an outbox head that never finished (its claimant
// died) is told to the next claim of the same head (Claim.Lapsed: when the
// first such try began), however the person came to be ready again (a commit
// schedules them at any time), and through claims that found the outbox
// locked or the budget spent; the acknowledgement that removes the head ends
// it. Only for a store that tells within one process (Backend.Lapses).
func testClaimLapsed(t *testing.T, s bot.Store, b Backend) {
	if !b.Lapses {
		t.Skip("the store tells lapsed claims only after a restart (its own test)")
	}
	lane := bot.LaneQueue("sms")
	budget := bot.LaneBudget{Lane: "sms", Rate: 1, Burst: 1}
	a, other := person(t), person(t)
	first, second := bot.TicketID("r1", 1, ""), bot.TicketID("r2", 1, "")
	must(t, s.Enqueue(ctx, a, []bot.Item{item(first), item(second)}, epoch))
	must(t, s.Schedule(ctx, lane, a, epoch))
	claim := func(at time.Time, n int) bot.Delivery {
		t.Helper()
		ds, err := s.ClaimOutbound(ctx, lane, at, time.Minute, time.Minute, time.Second, n, budget)
		must(t, err)
		if len(ds) != 1 {
			t.Fatalf("claimed %+v at %v, want one person", ds, at)
		}
		return ds[0]
	}
	dies := func(at time.Time) time.Time { // the claimant dies: lease and lock run out
		t.Helper()
		if b.Elapse != nil {
			b.Elapse(t, s, 2*time.Minute)
		}
		return at.Add(2 * time.Minute)
	}
	if d := claim(epoch, 10); !d.Lapsed.IsZero() || !d.Paid || d.Head.ID != first {
		t.Fatalf("first claim: %+v, want a paid head, not lapsed", d)
	}
	at := dies(epoch)
	// A commit for the person makes them ready again meanwhile.
	must(t, s.Schedule(ctx, lane, a, at))

	tok, err := s.Lock(ctx, bot.OutboxLock(a), time.Minute, at)
	must(t, err)
	if d := claim(at, 10); !d.Locked {
		t.Fatalf("with the outbox held by another: %+v, want Locked", d)
	}
	must(t, s.Unlock(ctx, bot.OutboxLock(a), tok))
	at = at.Add(time.Second)
	d := claim(at, 10)
	if !d.Lapsed.Equal(epoch) || !d.Paid || d.Head.ID != first {
		t.Fatalf("after the claim ran out (and one that found the outbox locked): %+v, want the head lapsed since the first try (%v)", d, epoch)
	}
	at = dies(at)

	// The lane's budget is spent by another's reply: the claim waits, lapsed still.
	must(t, s.Enqueue(ctx, other, []bot.Item{item(bot.TicketID("o1", 1, ""))}, epoch))
	must(t, s.Schedule(ctx, lane, other, epoch))
	if d := claim(at, 1); d.Person != other || !d.Paid {
		t.Fatalf("the other's claim: %+v, want it paid", d)
	}
	d = claim(at, 10)
	if d.Person != a || d.Wait <= 0 {
		t.Fatalf("with the budget spent: %+v, want a waiting", d)
	}
	at = at.Add(d.Wait)
	d = claim(at, 10)
	if !d.Lapsed.Equal(epoch) || !d.Paid {
		t.Fatalf("after waiting for the budget: %+v, want the head lapsed since %v still", d, epoch)
	}
	next := at.Add(time.Second)
	must(t, s.FinishOutbound(ctx, a, d.Token, lane, d.Claim, first, next, at))
	if d := claim(next, 10); !d.Lapsed.IsZero() || d.Head.ID != second {
		t.Fatalf("after the acknowledgement: %+v, want the next head, not lapsed", d)
	}
}
