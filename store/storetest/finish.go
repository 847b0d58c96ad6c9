package storetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/enlace-rfl/enlace/bot"
)

// simulatedClaim makes p look claimed in q (ready again only after a lease)
// without claiming from the shared queue, where parallel tests have people too.
func simulatedClaim(t *testing.T, s bot.Store, q bot.Queue, p string) bot.Claim {
	t.Helper()
	c := bot.Claim{Person: p, Until: epoch.Add(time.Minute)}
	must(t, s.Schedule(ctx, q, p, c.Until))
	return c
}

// testBeginFinish: BeginInbound locks and reads; Finish commits, reads the
// next message, schedules the replies into their lane, and after the last
// message releases the person and the lock, unless they were made ready again.
func testBeginFinish(t *testing.T, s bot.Store) {
	p := person(t)
	lane := bot.LaneQueue("fin" + p[:8])
	m1, m2 := item("m1"), item("m2")
	accept(t, s, p, "k1", m1, epoch)
	accept(t, s, p, "k2", m2, epoch)
	must(t, s.SetFlag(ctx, p, "unreachable:sms", true, epoch))
	c := simulatedClaim(t, s, bot.QueueInbound, p)

	b, err := s.BeginInbound(ctx, p, time.Minute, epoch)
	must(t, err)
	if b.Token == "" || b.Session != nil || !slices.Equal(b.Flags, []string{"unreachable:sms"}) {
		t.Fatalf("BeginInbound = token %q session %q flags %q, want a token, no session, the flag", b.Token, b.Session, b.Flags)
	}
	sameItem(t, b.Head, m1)
	_, err = s.BeginInbound(ctx, p, time.Minute, epoch)
	wantErr(t, err, bot.ErrLocked)
	_, err = s.Lock(ctx, p, time.Minute, epoch)
	wantErr(t, err, bot.ErrLocked)

	// A wrong token writes nothing; neither does an inbound ID not at the head.
	_, err = s.Finish(ctx, p, "not-the-token", bot.Commit{InboundID: m1.ID, Session: []byte("x")}, &c, epoch)
	wantErr(t, err, bot.ErrLockLost)
	_, err = s.Finish(ctx, p, b.Token, bot.Commit{InboundID: m2.ID, Session: []byte("x")}, &c, epoch)
	wantErr(t, err, bot.ErrNotFound)
	if head, err := s.NextInbound(ctx, p); err != nil || head.ID != m1.ID {
		t.Fatalf("after refused Finishes the inbox head is %v (%v), want m1", head.ID, err)
	}

	// The first reply goes straight into its lane; the next message comes back under the lock.
	b2, err := s.Finish(ctx, p, b.Token, bot.Commit{InboundID: m1.ID, Session: []byte("s1\x00\xff"), SessionTTL: time.Hour,
		Outbox: []bot.Item{item("o1")}, Lane: lane}, &c, epoch)
	must(t, err)
	if b2.Token != b.Token || string(b2.Session) != "s1\x00\xff" || !slices.Equal(b2.Flags, []string{"unreachable:sms"}) {
		t.Fatalf("Finish with a message left = token %q session %q flags %q, want the same token, s1, the flag", b2.Token, b2.Session, b2.Flags)
	}
	sameItem(t, b2.Head, m2)
	if got := claimed(t, s, lane, epoch, 10); !slices.Equal(got, []string{p}) {
		t.Fatalf("after a commit into an empty outbox, Claim(lane) = %v, want [%s]", got, p)
	}

	// The last message: released and unlocked in the same step.
	b3, err := s.Finish(ctx, p, b.Token, bot.Commit{InboundID: m2.ID, Session: []byte("s2"), SessionTTL: time.Hour,
		Outbox: []bot.Item{item("o2")}, Lane: lane}, &c, epoch)
	must(t, err)
	if b3.Token != "" || b3.Head.ID != "" || string(b3.Session) != "s2" {
		t.Fatalf("last Finish = token %q head %q session %q, want no token, no head, s2", b3.Token, b3.Head.ID, b3.Session)
	}
	if ok, err := s.Release(ctx, bot.QueueInbound, c); err != nil || ok {
		t.Fatalf("the person is still in the inbound queue after the last Finish (release: %v, %v)", ok, err)
	}
	tok := lock(t, s, p) // the lock is free
	must(t, s.Unlock(ctx, p, tok))
	sameItems(t, drainOutbox(t, s, p), []bot.Item{item("o1"), item("o2")})

	// Made ready again since the claim (a message arrived as it was handled):
	// the person stays ready, so nothing is stranded.
	q := person(t)
	accept(t, s, q, "k", item("m"), epoch)
	cq := simulatedClaim(t, s, bot.QueueInbound, q)
	bq, err := s.BeginInbound(ctx, q, time.Minute, epoch)
	must(t, err)
	must(t, s.Schedule(ctx, bot.QueueInbound, q, epoch))
	bq, err = s.Finish(ctx, q, bq.Token, bot.Commit{InboundID: "m", Session: []byte("s"), SessionTTL: time.Hour}, &cq, epoch)
	must(t, err)
	if bq.Token != "" {
		t.Fatalf("Finish of the last message kept the lock")
	}
	if ok, err := s.Release(ctx, bot.QueueInbound, bot.Claim{Person: q, Until: epoch}); err != nil || !ok {
		t.Fatalf("a person made ready during the handling was released with the claim (%v, %v)", ok, err)
	}

	// Without a claim to release, Finish keeps the lock even with the inbox empty.
	r := person(t)
	accept(t, s, r, "k", item("m"), epoch)
	br, err := s.BeginInbound(ctx, r, time.Minute, epoch)
	must(t, err)
	br2, err := s.Finish(ctx, r, br.Token, bot.Commit{InboundID: "m"}, nil, epoch)
	must(t, err)
	if br2.Token != br.Token || br2.Head.ID != "" || br2.Session != nil {
		t.Fatalf("Finish without release = token %q head %q session %q, want the lock kept, nothing left", br2.Token, br2.Head.ID, br2.Session)
	}
	if _, err := s.Lock(ctx, r, time.Minute, epoch); !errors.Is(err, bot.ErrLocked) {
		t.Fatalf("lock after Finish without release: %v, want ErrLocked", err)
	}
	must(t, s.Unlock(ctx, r, br.Token))

	// A commit into an outbox that already holds replies makes the person
	// ready in QueueOutbound (the router finds the head's lane), not in Lane.
	u := person(t)
	must(t, s.Enqueue(ctx, u, []bot.Item{item("old")}, epoch))
	accept(t, s, u, "k", item("m"), epoch)
	bu, err := s.BeginInbound(ctx, u, time.Minute, epoch)
	must(t, err)
	_, err = s.Finish(ctx, u, bu.Token, bot.Commit{InboundID: "m", Outbox: []bot.Item{item("new")}, Lane: lane}, nil, epoch)
	must(t, err)
	if got := claimed(t, s, lane, epoch, 10); slices.Contains(got, u) {
		t.Fatalf("a commit behind an older reply scheduled the person in the new reply's lane")
	}
	must(t, s.Unlock(ctx, u, bu.Token))
}
