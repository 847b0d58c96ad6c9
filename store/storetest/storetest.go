// Package storetest is the conformance suite every bot.Store implementation
// passes: store/redis and store/embedded run it against a fresh store per subtest.
// It checks the contract written on bot.Store, including concurrent use and
// retention, and never waits or reads the wall clock: time is a fake clock
// passed as now, and a backend whose expiry runs on its own clock (Redis) is
// told to let the same time pass (Backend.Elapse).
package storetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/enlace-rfl/enlace/bot"
)

// Backend is a store implementation under test.
type Backend struct {
	// Open returns a new, empty store keeping records for r. It should
	// arrange its own cleanup with t.Cleanup (Run closes the store too, so
	// Close must tolerate that).
	Open func(t *testing.T, r bot.Retention) bot.Store
	// Elapse lets d pass on the store's own clock, for a store whose records
	// expire by it (Redis: every TTL shrinks by d, and what reaches zero is
	// gone). Nil for a store that only reads the time it is given.
	Elapse func(t *testing.T, s bot.Store, d time.Duration)
	// Contents lists every key or record name and every stored value in s,
	// as text, so a test can look for a person's name anywhere in it.
	Contents func(t *testing.T, s bot.Store) []string
	// Share returns a second handle on s's data, as another process would
	// open it, for the tests of what processes share (delivery budgets). Nil
	// for a store one process owns.
	Share func(t *testing.T, s bot.Store) bot.Store
	// Lapses says the store tells a claim that an earlier one ran out
	// (bot.Claim.Lapsed) within one process; a store that tells only after
	// a restart tests that itself.
	Lapses bool
}

// epoch is the fake clock's start. Nothing depends on it being near the wall
// clock: stores take the time from their callers.
var epoch = time.Date(2031, 3, 1, 12, 0, 0, 0, time.UTC)

// testRetention is the retention the suite opens stores with, short enough
// to see each kind expire apart.
var testRetention = bot.Retention{Person: 10 * 24 * time.Hour, DeadLetters: 3 * 24 * time.Hour, OptOut: 30 * 24 * time.Hour}

// Run runs the conformance suite. Subtests run in parallel, each on a store of its own.
func Run(t *testing.T, b Backend) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s bot.Store)
	}{
		{"AcceptDedupe", testAcceptDedupe},
		{"AcceptDuplicateStillReady", testAcceptDuplicateReady},
		{"InboxFIFO", testInboxFIFO},
		{"Claim", testClaim},
		{"ScheduleRelease", testScheduleRelease},
		{"Lock", testLock},
		{"Commit", testCommit},
		{"CommitLockLost", testCommitLockLost},
		{"CommitNotHead", testCommitNotHead},
		{"BeginFinish", testBeginFinish},
		{"ClaimInbound", testClaimInbound},
		{"ClaimOutbound", testClaimOutbound},
		{"ClaimOutboundConcurrent", testClaimOutboundConcurrent},
		{"DedupeMarksBounded", testDedupeMarksBounded},
		{"Erase", testErase},
		{"Outbound", testOutbound},
		{"DeadLetters", testDeadLetters},
		{"Escalations", testEscalations},
		{"ConcurrentAccept", testConcurrentAccept},
		{"ConcurrentClaim", testConcurrentClaim},
		{"ConcurrentLock", testConcurrentLock},
		{"Flags", testFlags},
		{"Aliases", testAliases},
		{"Timers", testTimers},
		{"TimersFireOnceConcurrently", testTimersConcurrent},
		{"TimersErased", testTimersErased},
		{"Reseal", testReseal},
		{"Ping", testPing},
		{"EscalationOnePerID", testEscalationOnePerID},
		{"AcceptKnown", testAcceptKnown},
		{"Expiry", func(t *testing.T, s bot.Store) { testExpiry(t, s, b) }},
		{"Retention", func(t *testing.T, s bot.Store) { testRetentionHolds(t, s, b) }},
		{"AliasRefreshedByUse", func(t *testing.T, s bot.Store) { testAliasRefresh(t, s, b) }},
		{"Counter", func(t *testing.T, s bot.Store) { testCounter(t, s, b) }},
		{"ClaimLapsed", func(t *testing.T, s bot.Store) { testClaimLapsed(t, s, b) }},
		{"Lanes", testLanes},
		{"LanesConcurrentClaim", testLanesConcurrent},
		{"Budget", testBudget},
		{"BudgetAllOrNothing", testBudgetAllOrNothing},
		{"BudgetHold", testBudgetHold},
		{"BudgetConcurrent", func(t *testing.T, s bot.Store) { testBudgetConcurrent(t, s, b) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := b.Open(t, testRetention)
			t.Cleanup(func() { _ = s.Close() })
			tc.fn(t, s)
		})
	}
}

var ctx = context.Background()

// person returns a fresh person key, so subtests never collide even on a shared backend.
func person(t *testing.T) string {
	t.Helper()
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b[:])
}

func item(id string) bot.Item {
	// Data holds bytes that break naive encodings: NUL, the separator-like bytes, non-UTF-8.
	return bot.Item{ID: id, Data: []byte("data-" + id + "\x00:\xff\n")}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantErr(t *testing.T, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("err = %v, want %v", err, want)
	}
}

func sameItem(t *testing.T, got, want bot.Item) {
	t.Helper()
	if got.ID != want.ID || !bytes.Equal(got.Data, want.Data) {
		t.Fatalf("item = {%s %q}, want {%s %q}", got.ID, got.Data, want.ID, want.Data)
	}
}

func sameItems(t *testing.T, got, want []bot.Item) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d items %v, want %d %v", len(got), ids(got), len(want), ids(want))
	}
	for i := range got {
		sameItem(t, got[i], want[i])
	}
}

func ids(items []bot.Item) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.ID
	}
	return out
}

func accept(t *testing.T, s bot.Store, p, key string, msg bot.Item, now time.Time) bool {
	t.Helper()
	ok, err := s.Accept(ctx, p, key, msg, time.Hour, now)
	must(t, err)
	return ok
}

func lock(t *testing.T, s bot.Store, p string) string {
	t.Helper()
	tok, err := s.Lock(ctx, p, time.Minute, epoch)
	must(t, err)
	if tok == "" {
		t.Fatal("Lock returned an empty token")
	}
	return tok
}

// drainInbox handles every inbox message with an empty commit and returns them in order.
func drainInbox(t *testing.T, s bot.Store, p string) []bot.Item {
	t.Helper()
	tok := lock(t, s, p)
	defer func() { must(t, s.Unlock(ctx, p, tok)) }()
	var got []bot.Item
	for {
		it, err := s.NextInbound(ctx, p)
		if errors.Is(err, bot.ErrNotFound) {
			return got
		}
		must(t, err)
		got = append(got, it)
		must(t, s.Commit(ctx, p, tok, bot.Commit{InboundID: it.ID}, epoch))
	}
}

// drainOutbox acknowledges every outbox item and returns them in order.
func drainOutbox(t *testing.T, s bot.Store, p string) []bot.Item {
	t.Helper()
	var got []bot.Item
	for {
		it, err := s.NextOutbound(ctx, p)
		if errors.Is(err, bot.ErrNotFound) {
			return got
		}
		must(t, err)
		got = append(got, it)
		must(t, s.AckOutbound(ctx, p, it.ID))
	}
}

func claimed(t *testing.T, s bot.Store, q bot.Queue, now time.Time, n int) []string {
	t.Helper()
	cs, err := s.Claim(ctx, q, now, time.Minute, n)
	must(t, err)
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Person
	}
	slices.Sort(out)
	return out
}

func pending(t *testing.T, s bot.Store, q bot.Queue) int64 {
	t.Helper()
	n, err := s.Pending(ctx, q)
	must(t, err)
	return n
}

func lettersOf(ls []bot.Letter, p string) []bot.Item {
	var out []bot.Item
	for _, l := range ls {
		if l.Person == p {
			out = append(out, l.Item)
		}
	}
	return out
}

func testAcceptDedupe(t *testing.T, s bot.Store) {
	p, other := person(t), person(t)
	now := epoch
	ttl := time.Minute
	acc := func(p, key string, msg bot.Item, now time.Time) bool {
		t.Helper()
		ok, err := s.Accept(ctx, p, key, msg, ttl, now)
		must(t, err)
		return ok
	}
	if !acc(p, "k1", item("m1"), now) {
		t.Fatal("first Accept reported a duplicate")
	}
	if acc(p, "k1", item("m2"), now.Add(ttl/2)) {
		t.Fatal("same key within dedupeTTL was accepted")
	}
	if !acc(other, "k1", item("o1"), now) {
		t.Fatal("dedupe keys must be per person")
	}
	if !acc(p, "k1", item("m3"), now.Add(ttl+time.Second)) {
		t.Fatal("same key after dedupeTTL was refused")
	}
	if acc(p, "k1", item("m4"), now.Add(ttl+2*time.Second)) {
		t.Fatal("re-accepted key lost its new dedupe mark")
	}
	sameItems(t, drainInbox(t, s, p), []bot.Item{item("m1"), item("m3")})
	sameItems(t, drainInbox(t, s, other), []bot.Item{item("o1")})
}

func testAcceptDuplicateReady(t *testing.T, s bot.Store) {
	p := person(t)
	now := epoch
	accept(t, s, p, "k", item("m1"), now)
	if got := pending(t, s, bot.QueueInbound); got != 1 {
		t.Fatalf("Pending(in) = %d, want 1", got)
	}
	cs, err := s.Claim(ctx, bot.QueueInbound, now, time.Minute, 10)
	must(t, err)
	if len(cs) != 1 || cs[0].Person != p {
		t.Fatalf("Claim = %v, want %s", cs, p)
	}
	// A redelivery (duplicate) must make the person ready again, which moves
	// them, so the old claim no longer releases them.
	if accept(t, s, p, "k", item("m1"), now) {
		t.Fatal("duplicate accepted")
	}
	ok, err := s.Release(ctx, bot.QueueInbound, cs[0])
	must(t, err)
	if ok {
		t.Fatal("Release succeeded although a duplicate rescheduled the person")
	}
	if got := claimed(t, s, bot.QueueInbound, now, 10); !slices.Equal(got, []string{p}) {
		t.Fatalf("after duplicate, Claim = %v, want [%s]", got, p)
	}
}

func testInboxFIFO(t *testing.T, s bot.Store) {
	p := person(t)
	now := epoch
	var want []bot.Item
	for i := range 7 {
		it := item(fmt.Sprintf("m%d", i))
		want = append(want, it)
		accept(t, s, p, it.ID, it, now.Add(time.Duration(i)*time.Millisecond))
	}
	_, err := s.NextInbound(ctx, person(t))
	wantErr(t, err, bot.ErrNotFound)
	got, err := s.NextInbound(ctx, p)
	must(t, err)
	sameItem(t, got, want[0])
	sameItems(t, drainInbox(t, s, p), want)
	if _, err := s.NextInbound(ctx, p); !errors.Is(err, bot.ErrNotFound) {
		t.Fatalf("NextInbound on empty inbox: %v, want ErrNotFound", err)
	}
}

func testClaim(t *testing.T, s bot.Store) {
	now := epoch
	lease := time.Minute
	a, b, c, later := person(t), person(t), person(t), person(t)
	for _, p := range []string{a, b, c} {
		accept(t, s, p, "k", item("m"), now)
	}
	must(t, s.Schedule(ctx, bot.QueueInbound, later, now.Add(time.Hour)))
	if got := pending(t, s, bot.QueueInbound); got != 4 {
		t.Fatalf("Pending(in) = %d, want 4", got)
	}
	if got := pending(t, s, bot.QueueOutbound); got != 0 {
		t.Fatalf("Pending(out) = %d, want 0", got)
	}

	first, err := s.Claim(ctx, bot.QueueInbound, now, lease, 2)
	must(t, err)
	if len(first) != 2 {
		t.Fatalf("Claim(n=2) returned %d claims", len(first))
	}
	for _, cl := range first {
		if d := cl.Until.Sub(now.Add(lease)); d < -time.Millisecond || d > time.Millisecond {
			t.Fatalf("claim Until = %v, want now+lease = %v", cl.Until, now.Add(lease))
		}
	}
	second := claimed(t, s, bot.QueueInbound, now, 10)
	if len(second) != 1 {
		t.Fatalf("second Claim = %v, want the one unclaimed ready person", second)
	}
	all := append([]string{first[0].Person, first[1].Person}, second...)
	slices.Sort(all)
	want := []string{a, b, c}
	slices.Sort(want)
	if !slices.Equal(all, want) {
		t.Fatalf("claimed %v, want %v", all, want)
	}
	if got := claimed(t, s, bot.QueueInbound, now.Add(lease-time.Second), 10); len(got) != 0 {
		t.Fatalf("Claim within the lease = %v, want none", got)
	}
	if got := claimed(t, s, bot.QueueInbound, now.Add(lease+time.Second), 10); !slices.Equal(got, want) {
		t.Fatalf("Claim after the lease = %v, want %v", got, want)
	}
	if got := claimed(t, s, bot.QueueInbound, now.Add(time.Hour), 10); !slices.Contains(got, later) {
		t.Fatalf("Claim at the scheduled time = %v, want it to hold %s", got, later)
	}
	if got := claimed(t, s, bot.QueueOutbound, now.Add(2*time.Hour), 10); len(got) != 0 {
		t.Fatalf("queues must be separate: Claim(out) = %v", got)
	}
	if got := pending(t, s, bot.QueueInbound); got != 4 {
		t.Fatalf("claiming must not remove: Pending(in) = %d, want 4", got)
	}
}

func testScheduleRelease(t *testing.T, s bot.Store) {
	p := person(t)
	now := epoch
	for _, q := range []bot.Queue{bot.QueueInbound, bot.QueueOutbound, bot.LaneQueue("telegram")} {
		must(t, s.Schedule(ctx, q, p, now))
		must(t, s.Schedule(ctx, q, p, now)) // idempotent
		if got := pending(t, s, q); got != 1 {
			t.Fatalf("%s: Pending = %d, want 1", q, got)
		}
		cs, err := s.Claim(ctx, q, now, time.Minute, 1)
		must(t, err)
		if len(cs) != 1 {
			t.Fatalf("%s: Claim returned %d", q, len(cs))
		}
		ok, err := s.Release(ctx, q, cs[0])
		must(t, err)
		if !ok {
			t.Fatalf("%s: Release of an untouched claim failed", q)
		}
		if got := pending(t, s, q); got != 0 {
			t.Fatalf("%s: Pending after Release = %d, want 0", q, got)
		}
		ok, err = s.Release(ctx, q, cs[0])
		must(t, err)
		if ok {
			t.Fatalf("%s: second Release reported success", q)
		}

		must(t, s.Schedule(ctx, q, p, now))
		cs, err = s.Claim(ctx, q, now, time.Minute, 1)
		must(t, err)
		must(t, s.Schedule(ctx, q, p, now.Add(time.Second))) // rescheduled after the claim
		ok, err = s.Release(ctx, q, cs[0])
		must(t, err)
		if ok {
			t.Fatalf("%s: Release succeeded after a reschedule", q)
		}
		if got := claimed(t, s, q, now.Add(time.Second), 10); !slices.Equal(got, []string{p}) {
			t.Fatalf("%s: rescheduled person not claimable: %v", q, got)
		}
	}
}

func testLock(t *testing.T, s bot.Store) {
	p, other := person(t), person(t)
	tok := lock(t, s, p)
	_, err := s.Lock(ctx, p, time.Minute, epoch)
	wantErr(t, err, bot.ErrLocked)
	lock(t, s, other) // locks are per person

	must(t, s.Unlock(ctx, p, "not-the-token"))
	_, err = s.Lock(ctx, p, time.Minute, epoch)
	wantErr(t, err, bot.ErrLocked)

	must(t, s.Unlock(ctx, p, tok))
	tok2 := lock(t, s, p)
	if tok2 == tok {
		t.Fatal("Lock reused a token")
	}
	must(t, s.Unlock(ctx, p, tok)) // stale token: no effect
	_, err = s.Lock(ctx, p, time.Minute, epoch)
	wantErr(t, err, bot.ErrLocked)
	must(t, s.Unlock(ctx, person(t), "x")) // unlocking an unlocked person is fine
}

func testCommit(t *testing.T, s bot.Store) {
	p := person(t)
	now := epoch
	m1, m2 := item("m1"), item("m2")
	accept(t, s, p, "k1", m1, now)
	accept(t, s, p, "k2", m2, now)
	_, err := s.LoadSession(ctx, p, epoch)
	wantErr(t, err, bot.ErrNotFound)

	tok := lock(t, s, p)
	head, err := s.NextInbound(ctx, p)
	must(t, err)
	sameItem(t, head, m1)
	must(t, s.Commit(ctx, p, tok, bot.Commit{
		InboundID:   m1.ID,
		Session:     []byte("s1\x00\xff"),
		SessionTTL:  time.Hour,
		Outbox:      []bot.Item{item("o1"), item("o2")},
		Escalations: []bot.Item{item("e1")},
	}, epoch))
	sess, err := s.LoadSession(ctx, p, epoch)
	must(t, err)
	if string(sess) != "s1\x00\xff" {
		t.Fatalf("session = %q", sess)
	}
	head, err = s.NextInbound(ctx, p)
	must(t, err)
	sameItem(t, head, m2)
	esc, err := s.Escalations(ctx, 100)
	must(t, err)
	sameItems(t, lettersOf(esc, p), []bot.Item{item("e1")})
	if got := claimed(t, s, bot.QueueOutbound, epoch.Add(time.Second), 10); !slices.Equal(got, []string{p}) {
		t.Fatalf("after Commit with outbox, Claim(out) = %v, want [%s]", got, p)
	}

	// Nil session deletes; no inbound ID leaves the inbox alone; outbox appends.
	must(t, s.Commit(ctx, p, tok, bot.Commit{Outbox: []bot.Item{item("o3")}}, epoch))
	_, err = s.LoadSession(ctx, p, epoch)
	wantErr(t, err, bot.ErrNotFound)
	head, err = s.NextInbound(ctx, p)
	must(t, err)
	sameItem(t, head, m2)

	must(t, s.Commit(ctx, p, tok, bot.Commit{InboundID: m2.ID, Session: []byte("s2"), SessionTTL: time.Hour}, epoch))
	_, err = s.NextInbound(ctx, p)
	wantErr(t, err, bot.ErrNotFound)
	sess, err = s.LoadSession(ctx, p, epoch)
	must(t, err)
	if string(sess) != "s2" {
		t.Fatalf("session = %q, want s2", sess)
	}
	must(t, s.Unlock(ctx, p, tok))
	sameItems(t, drainOutbox(t, s, p), []bot.Item{item("o1"), item("o2"), item("o3")})

	// A commit with an empty outbox does not make the person ready in QueueOutbound.
	q := person(t)
	accept(t, s, q, "k", item("m"), now)
	tq := lock(t, s, q)
	must(t, s.Commit(ctx, q, tq, bot.Commit{InboundID: "m", Session: []byte("s"), SessionTTL: time.Hour}, epoch))
	if got := claimed(t, s, bot.QueueOutbound, epoch.Add(time.Hour), 10); slices.Contains(got, q) {
		t.Fatalf("empty-outbox commit made the person ready in QueueOutbound")
	}
}

func testCommitLockLost(t *testing.T, s bot.Store) {
	p := person(t)
	accept(t, s, p, "k1", item("m1"), epoch)
	c := bot.Commit{
		InboundID:   "m1",
		Erase:       true,
		Session:     []byte("s"),
		SessionTTL:  time.Hour,
		Outbox:      []bot.Item{item("o1")},
		Escalations: []bot.Item{item("e1")},
	}
	wantErr(t, s.Commit(ctx, p, "no-lock-held", c, epoch), bot.ErrLockLost)
	lock(t, s, p)
	wantErr(t, s.Commit(ctx, p, "wrong-token", c, epoch), bot.ErrLockLost)

	head, err := s.NextInbound(ctx, p)
	must(t, err)
	sameItem(t, head, item("m1"))
	_, err = s.LoadSession(ctx, p, epoch)
	wantErr(t, err, bot.ErrNotFound)
	_, err = s.NextOutbound(ctx, p)
	wantErr(t, err, bot.ErrNotFound)
	esc, err := s.Escalations(ctx, 100)
	must(t, err)
	if got := lettersOf(esc, p); len(got) != 0 {
		t.Fatalf("refused commit wrote escalations %v", ids(got))
	}
	if ok := accept(t, s, p, "k1", item("m1"), epoch); ok {
		t.Fatal("refused erase commit removed the dedupe marks")
	}
}

// testCommitNotHead checks a commit naming an inbound ID that is not the inbox
// head: it writes nothing and reports ErrNotFound.
func testCommitNotHead(t *testing.T, s bot.Store) {
	p := person(t)
	accept(t, s, p, "k1", item("m1"), epoch)
	accept(t, s, p, "k2", item("m2"), epoch)
	tok := lock(t, s, p)
	err := s.Commit(ctx, p, tok, bot.Commit{InboundID: "m2", Session: []byte("s"), SessionTTL: time.Hour}, epoch)
	wantErr(t, err, bot.ErrNotFound)
	_, err = s.LoadSession(ctx, p, epoch)
	wantErr(t, err, bot.ErrNotFound)
	must(t, s.Unlock(ctx, p, tok))
	sameItems(t, drainInbox(t, s, p), []bot.Item{item("m1"), item("m2")})
}

func testErase(t *testing.T, s bot.Store) {
	p, other := person(t), person(t)
	now := epoch
	// Build up every kind of record for p, and some for another person.
	for _, who := range []string{p, other} {
		accept(t, s, who, "k1", item("m1"), now)
		tok := lock(t, s, who)
		must(t, s.Commit(ctx, who, tok, bot.Commit{
			InboundID:   "m1",
			Session:     []byte("old"),
			SessionTTL:  time.Hour,
			Outbox:      []bot.Item{item("dead1"), item("o1")},
			Escalations: []bot.Item{item("e1")},
		}, epoch))
		must(t, s.Unlock(ctx, who, tok))
		must(t, s.DeadLetter(ctx, who, item("dead1"), epoch))
	}
	accept(t, s, p, "k2", item("m2"), now)
	accept(t, s, p, "k3", item("m3"), now)

	tok := lock(t, s, p)
	must(t, s.Commit(ctx, p, tok, bot.Commit{
		InboundID:   "m2",
		Erase:       true,
		Outbox:      []bot.Item{item("bye")},
		Escalations: []bot.Item{item("e2")},
	}, epoch))
	must(t, s.Unlock(ctx, p, tok))

	_, err := s.LoadSession(ctx, p, epoch)
	wantErr(t, err, bot.ErrNotFound)
	dead, err := s.DeadLetters(ctx, 100)
	must(t, err)
	if got := lettersOf(dead, p); len(got) != 0 {
		t.Fatalf("dead letters survived erase: %v", ids(got))
	}
	sameItems(t, lettersOf(dead, other), []bot.Item{item("dead1")})
	if n, err := s.CountDeadLetters(ctx); err != nil || n != 1 {
		t.Fatalf("CountDeadLetters = %d, %v; want 1", n, err)
	}
	esc, err := s.Escalations(ctx, 100)
	must(t, err)
	sameItems(t, lettersOf(esc, p), []bot.Item{item("e2")}) // applied after the erase
	sameItems(t, lettersOf(esc, other), []bot.Item{item("e1")})
	// The message that arrived after the handled one stays.
	sameItems(t, drainInbox(t, s, p), []bot.Item{item("m3")})
	sameItems(t, drainOutbox(t, s, p), []bot.Item{item("bye")})
	// Dedupe marks are gone, the other person's are not.
	if !accept(t, s, p, "k1", item("again"), now) {
		t.Fatal("dedupe mark survived erase")
	}
	if accept(t, s, other, "k1", item("again"), now) {
		t.Fatal("erase removed another person's dedupe mark")
	}
	sess, err := s.LoadSession(ctx, other, epoch)
	must(t, err)
	if string(sess) != "old" {
		t.Fatalf("other session = %q", sess)
	}

	// Erase happens before the rest: a session in the same commit is kept.
	tok = lock(t, s, p)
	must(t, s.Commit(ctx, p, tok, bot.Commit{InboundID: "again", Erase: true, Session: []byte("fresh"), SessionTTL: time.Hour}, epoch))
	sess, err = s.LoadSession(ctx, p, epoch)
	must(t, err)
	if string(sess) != "fresh" {
		t.Fatalf("session after erase+save = %q, want fresh", sess)
	}
}

func testOutbound(t *testing.T, s bot.Store) {
	p := person(t)
	_, err := s.NextOutbound(ctx, p)
	wantErr(t, err, bot.ErrNotFound)
	wantErr(t, s.AckOutbound(ctx, p, "a"), bot.ErrNotFound)
	wantErr(t, s.UpdateOutbound(ctx, p, item("a")), bot.ErrNotFound)

	a, b, c := item("a"), item("b"), item("c")
	must(t, s.Enqueue(ctx, p, []bot.Item{a, b}, epoch))
	must(t, s.Enqueue(ctx, p, []bot.Item{c}, epoch))
	if got := claimed(t, s, bot.QueueOutbound, epoch.Add(time.Second), 10); !slices.Equal(got, []string{p}) {
		t.Fatalf("after Enqueue, Claim(out) = %v, want [%s]", got, p)
	}
	head, err := s.NextOutbound(ctx, p)
	must(t, err)
	sameItem(t, head, a)

	a2 := bot.Item{ID: "a", Data: []byte("attempt 2\x00")}
	must(t, s.UpdateOutbound(ctx, p, a2))
	head, err = s.NextOutbound(ctx, p)
	must(t, err)
	sameItem(t, head, a2)
	wantErr(t, s.UpdateOutbound(ctx, p, item("b")), bot.ErrNotFound) // not the head
	wantErr(t, s.AckOutbound(ctx, p, "b"), bot.ErrNotFound)
	head, err = s.NextOutbound(ctx, p)
	must(t, err)
	sameItem(t, head, a2)

	must(t, s.AckOutbound(ctx, p, "a"))
	wantErr(t, s.AckOutbound(ctx, p, "a"), bot.ErrNotFound) // already gone
	sameItems(t, drainOutbox(t, s, p), []bot.Item{b, c})
}

func testDeadLetters(t *testing.T, s bot.Store) {
	p1, p2 := person(t), person(t)
	must(t, s.Enqueue(ctx, p1, []bot.Item{item("a"), item("b")}, epoch))
	must(t, s.Enqueue(ctx, p2, []bot.Item{item("c")}, epoch))
	if n, err := s.CountDeadLetters(ctx); err != nil || n != 0 {
		t.Fatalf("CountDeadLetters = %d, %v; want 0", n, err)
	}
	if ls, err := s.DeadLetters(ctx, 10); err != nil || len(ls) != 0 {
		t.Fatalf("DeadLetters = %v, %v; want none", ls, err)
	}

	wantErr(t, s.DeadLetter(ctx, p1, item("b"), epoch), bot.ErrNotFound) // not the head
	aDead := bot.Item{ID: "a", Data: []byte("reason: blocked")}
	must(t, s.DeadLetter(ctx, p1, aDead, epoch))
	cDead := bot.Item{ID: "c", Data: []byte("reason: invalid")}
	must(t, s.DeadLetter(ctx, p2, cDead, epoch.Add(time.Second))) // p1 is the older person
	head, err := s.NextOutbound(ctx, p1)
	must(t, err)
	sameItem(t, head, item("b"))
	_, err = s.NextOutbound(ctx, p2)
	wantErr(t, err, bot.ErrNotFound)

	if n, err := s.CountDeadLetters(ctx); err != nil || n != 2 {
		t.Fatalf("CountDeadLetters = %d, %v; want 2", n, err)
	}
	ls, err := s.DeadLetters(ctx, 10)
	must(t, err)
	want := []bot.Letter{{Person: p1, Item: aDead}, {Person: p2, Item: cDead}}
	if len(ls) != len(want) {
		t.Fatalf("DeadLetters = %v, want %v", ls, want)
	}
	for i := range ls {
		if ls[i].Person != want[i].Person {
			t.Fatalf("DeadLetters[%d].Person = %s, want %s (oldest person first)", i, ls[i].Person, want[i].Person)
		}
		sameItem(t, ls[i].Item, want[i].Item)
	}
	if ls, err := s.DeadLetters(ctx, 1); err != nil || len(ls) != 1 || ls[0].Person != p1 {
		t.Fatalf("DeadLetters(1) = %v, %v; want p1's letter", ls, err)
	}

	// The caller rewrites the letter as it moves (the pipeline resets its
	// attempts): it sees the data DeadLetter gave it, and the outbox gets
	// what it returns. A rewrite that fails leaves the letter where it was.
	aReplayed := bot.Item{ID: "a", Data: []byte("attempts: 0")}
	var seen [][]byte
	rewrite := func(data []byte) ([]byte, error) {
		seen = append(seen, bytes.Clone(data))
		return aReplayed.Data, nil
	}
	errRefused := errors.New("not this one")
	refuse := func([]byte) ([]byte, error) { return nil, errRefused }
	wantErr(t, s.Replay(ctx, p1, "nope", epoch, rewrite), bot.ErrNotFound)
	wantErr(t, s.Replay(ctx, p1, "a", epoch, refuse), errRefused)
	if n, err := s.CountDeadLetters(ctx); err != nil || n != 2 {
		t.Fatalf("after a refused Replay, CountDeadLetters = %d, %v; want 2", n, err)
	}
	must(t, s.Replay(ctx, p1, "a", epoch, rewrite))
	if len(seen) != 1 || !bytes.Equal(seen[0], aDead.Data) {
		t.Fatalf("Replay's rewrite saw %q, want once %q", seen, aDead.Data)
	}
	wantErr(t, s.Replay(ctx, p1, "a", epoch, rewrite), bot.ErrNotFound)
	if n, err := s.CountDeadLetters(ctx); err != nil || n != 1 {
		t.Fatalf("after Replay, CountDeadLetters = %d, %v; want 1", n, err)
	}
	ls, err = s.DeadLetters(ctx, 10)
	must(t, err)
	if len(ls) != 1 || ls[0].Person != p2 {
		t.Fatalf("after Replay, DeadLetters = %v, want only p2's", ls)
	}
	if got := claimed(t, s, bot.QueueOutbound, epoch.Add(time.Second), 10); !slices.Contains(got, p1) {
		t.Fatalf("Replay did not make the person ready: Claim(out) = %v", got)
	}
	sameItems(t, drainOutbox(t, s, p1), []bot.Item{item("b"), aReplayed})

	// Replayed by many at once, a letter moves once: nothing is sent twice.
	must(t, s.Enqueue(ctx, p1, []bot.Item{item("d")}, epoch))
	must(t, s.DeadLetter(ctx, p1, item("d"), epoch))
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		moved int
	)
	for range 8 {
		wg.Go(func() {
			err := s.Replay(ctx, p1, "d", epoch, func(data []byte) ([]byte, error) { return data, nil })
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				moved++
			case !errors.Is(err, bot.ErrNotFound):
				t.Errorf("concurrent Replay: %v", err)
			}
		})
	}
	wg.Wait()
	if moved != 1 {
		t.Fatalf("concurrent Replays moved the letter %d times, want 1", moved)
	}
	sameItems(t, drainOutbox(t, s, p1), []bot.Item{item("d")})
}

func testEscalations(t *testing.T, s bot.Store) {
	if ls, err := s.Escalations(ctx, 10); err != nil || len(ls) != 0 {
		t.Fatalf("Escalations = %v, %v; want none", ls, err)
	}
	p1, p2 := person(t), person(t)
	for _, c := range []struct {
		p   string
		esc []bot.Item
	}{{p1, []bot.Item{item("e1"), item("e2")}}, {p2, []bot.Item{item("e3")}}, {p1, []bot.Item{item("e4")}}} {
		tok := lock(t, s, c.p)
		must(t, s.Commit(ctx, c.p, tok, bot.Commit{Escalations: c.esc}, epoch))
		must(t, s.Unlock(ctx, c.p, tok))
	}
	ls, err := s.Escalations(ctx, 10)
	must(t, err)
	if len(ls) != 4 {
		t.Fatalf("Escalations = %d letters, want 4", len(ls))
	}
	sameItems(t, lettersOf(ls, p1), []bot.Item{item("e1"), item("e2"), item("e4")})
	sameItems(t, lettersOf(ls, p2), []bot.Item{item("e3")})
	if ls, err := s.Escalations(ctx, 2); err != nil || len(ls) != 2 {
		t.Fatalf("Escalations(2) = %d letters, %v; want 2", len(ls), err)
	}
}

func testConcurrentAccept(t *testing.T, s bot.Store) {
	p := person(t)
	now := epoch
	const distinct = 10
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		accepted int
	)
	for g := range 2 * distinct {
		wg.Go(func() {
			k := g % distinct
			ok, err := s.Accept(ctx, p, fmt.Sprintf("key%d", k), item(fmt.Sprintf("m%d-%d", k, g/distinct)), time.Hour, now)
			if err != nil {
				t.Error(err)
				return
			}
			if ok {
				mu.Lock()
				accepted++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if accepted != distinct {
		t.Fatalf("%d accepted, want %d", accepted, distinct)
	}
	got := drainInbox(t, s, p)
	seen := map[string]bool{}
	for _, it := range got {
		k, _, _ := bytes.Cut([]byte(it.ID), []byte("-"))
		if seen[string(k)] {
			t.Fatalf("key %s stored twice", k)
		}
		seen[string(k)] = true
	}
	if len(got) != distinct {
		t.Fatalf("inbox holds %d, want %d", len(got), distinct)
	}
}

func testConcurrentClaim(t *testing.T, s bot.Store) {
	claimedOnceEach(t, s, bot.QueueInbound, 40, 10, 3)
}

// claimedOnceEach schedules people on q, has workers claim them at once in
// batches until none is left, and checks each person was handed out exactly
// once within one lease.
func claimedOnceEach(t *testing.T, s bot.Store, q bot.Queue, people, workers, batch int) {
	t.Helper()
	for range people {
		must(t, s.Schedule(ctx, q, person(t), epoch))
	}
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		got = map[string]int{}
	)
	for range workers {
		wg.Go(func() {
			for {
				cs, err := s.Claim(ctx, q, epoch, time.Minute, batch)
				if err != nil {
					t.Error(err)
					return
				}
				if len(cs) == 0 {
					return
				}
				mu.Lock()
				for _, c := range cs {
					got[c.Person]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(got) != people {
		t.Fatalf("%d people claimed, want %d", len(got), people)
	}
	for p, n := range got {
		if n != 1 {
			t.Fatalf("person %s handed out %d times within one lease", p, n)
		}
	}
}

func testConcurrentLock(t *testing.T, s bot.Store) {
	p := person(t)
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		tokens []string
	)
	for range 20 {
		wg.Go(func() {
			tok, err := s.Lock(ctx, p, time.Minute, epoch)
			if errors.Is(err, bot.ErrLocked) {
				return
			}
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			tokens = append(tokens, tok)
			mu.Unlock()
		})
	}
	wg.Wait()
	if len(tokens) != 1 {
		t.Fatalf("%d workers got the lock, want 1", len(tokens))
	}
}

// elapse lets d pass on the store's own clock, if it has one that counts.
func elapse(t *testing.T, s bot.Store, b Backend, d time.Duration) {
	t.Helper()
	if b.Elapse != nil {
		b.Elapse(t, s, d)
	}
}

// testExpiry lets a session and a lock run out on the fake clock.
func testExpiry(t *testing.T, s bot.Store, b Backend) {
	p := person(t)
	tok := lock(t, s, p)
	must(t, s.Commit(ctx, p, tok, bot.Commit{Session: []byte("short"), SessionTTL: 30 * time.Minute}, epoch))
	must(t, s.Unlock(ctx, p, tok))
	keep := person(t)
	tk := lock(t, s, keep)
	must(t, s.Commit(ctx, keep, tk, bot.Commit{Session: []byte("long"), SessionTTL: 3 * time.Hour}, epoch))

	lp := person(t)
	old, err := s.Lock(ctx, lp, 20*time.Minute, epoch)
	must(t, err)
	if _, err := s.LoadSession(ctx, p, epoch.Add(29*time.Minute)); err != nil {
		t.Fatalf("session gone before its TTL: %v", err)
	}
	later := epoch.Add(time.Hour)
	elapse(t, s, b, time.Hour)

	_, err = s.LoadSession(ctx, p, later)
	wantErr(t, err, bot.ErrNotFound)
	if sess, err := s.LoadSession(ctx, keep, later); err != nil || string(sess) != "long" {
		t.Fatalf("long-lived session = %q, %v", sess, err)
	}
	tok2, err := s.Lock(ctx, lp, 20*time.Minute, later)
	if err != nil {
		t.Fatalf("lock not free after its ttl: %v", err)
	}
	// The old holder's commit is refused now.
	wantErr(t, s.Commit(ctx, lp, old, bot.Commit{Session: []byte("x"), SessionTTL: time.Hour}, later), bot.ErrLockLost)
	must(t, s.Commit(ctx, lp, tok2, bot.Commit{Session: []byte("y"), SessionTTL: time.Hour}, later))
}

func testPing(t *testing.T, s bot.Store) {
	must(t, s.Ping(ctx))
}

func testFlags(t *testing.T, s bot.Store) {
	p := person(t)
	got, err := s.Flags(ctx, p)
	must(t, err)
	if len(got) != 0 {
		t.Fatalf("flags of a new person: got %q, want none", got)
	}
	must(t, s.SetFlag(ctx, p, "unreachable:telegram", true, epoch))
	must(t, s.SetFlag(ctx, p, "optout:sms", true, epoch))
	must(t, s.SetFlag(ctx, p, "optout:sms", true, epoch)) // idempotent
	got, err = s.Flags(ctx, p)
	must(t, err)
	slices.Sort(got)
	if want := []string{"optout:sms", "unreachable:telegram"}; !slices.Equal(got, want) {
		t.Fatalf("flags: got %q, want %q", got, want)
	}
	must(t, s.SetFlag(ctx, p, "unreachable:telegram", false, epoch))
	must(t, s.SetFlag(ctx, p, "never-set", false, epoch))
	if got, _ := s.Flags(ctx, p); !slices.Equal(got, []string{"optout:sms"}) {
		t.Fatalf("after clearing: got %q, want [optout:sms]", got)
	}
	// Erase keeps opt-outs and clears the rest.
	must(t, s.SetFlag(ctx, p, "unreachable:whatsapp", true, epoch))
	tok, err := s.Lock(ctx, p, time.Minute, epoch)
	must(t, err)
	must(t, s.Commit(ctx, p, tok, bot.Commit{Erase: true}, epoch))
	if got, _ := s.Flags(ctx, p); !slices.Equal(got, []string{"optout:sms"}) {
		t.Fatalf("after erase: got %q, want only the opt-out", got)
	}
	must(t, s.SetFlag(ctx, p, "optout:sms", false, epoch))
	if got, _ := s.Flags(ctx, p); len(got) != 0 {
		t.Fatalf("after opting in again: got %q, want none", got)
	}
}

func testAliases(t *testing.T, s bot.Store) {
	from, to, other := person(t), person(t), person(t)
	if _, err := s.Alias(ctx, from, epoch); !errors.Is(err, bot.ErrNotFound) {
		t.Fatalf("alias of nobody: got %v, want ErrNotFound", err)
	}
	must(t, s.SetAlias(ctx, from, to, epoch))
	if got, err := s.Alias(ctx, from, epoch); err != nil || got != to {
		t.Fatalf("alias: got %q, %v, want %q", got, err, to)
	}
	must(t, s.SetAlias(ctx, from, other, epoch)) // re-linked to another number
	if got, _ := s.Alias(ctx, from, epoch); got != other {
		t.Fatalf("alias after re-linking: got %q, want %q", got, other)
	}
	must(t, s.DeleteAlias(ctx, from))
	if _, err := s.Alias(ctx, from, epoch); !errors.Is(err, bot.ErrNotFound) {
		t.Fatalf("alias after delete: got %v, want ErrNotFound", err)
	}
	if err := s.SetAlias(ctx, "not a person{}", to, epoch); err == nil {
		t.Error("an invalid person key was accepted")
	}
}
