package embedded_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/enlace-rfl/enlace/bot"
)

// TestBeginArrival: a message may be handled as it arrives only when its
// person is free (unlocked, nothing in their inbox) and it is not marked
// seen; its commit writes the mark, and a commit whose mark is already there
// writes nothing and says ErrDuplicate.
func TestBeginArrival(t *testing.T) {
	ctx := context.Background()
	st := open(t, filepath.Join(t.TempDir(), "enlace.db"))
	now := time.Date(2031, 3, 1, 12, 0, 0, 0, time.UTC)
	const p = "p1"

	b, seen, ok, err := st.BeginArrival(ctx, p, "mark1", time.Minute, now)
	if err != nil || !ok || seen || b.Token == "" {
		t.Fatalf("a free person: %+v seen=%v ok=%v %v; want the lock", b, seen, ok, err)
	}
	if _, seen, ok, err := st.BeginArrival(ctx, p, "mark2", time.Minute, now); err != nil || ok || seen {
		t.Fatalf("while locked: seen=%v ok=%v %v; want not ok, nothing taken", seen, ok, err)
	}
	c := bot.Commit{Session: []byte("s1"), SessionTTL: time.Hour, Mark: &bot.Mark{Key: "mark1", TTL: time.Hour}}
	after, err := st.Finish(ctx, p, b.Token, c, &bot.Claim{Person: p}, now)
	if err != nil || after.Token != "" {
		t.Fatalf("Finish with the mark: %+v, %v; want the person released", after, err)
	}
	if fresh, err := st.Accept(ctx, p, "mark1", bot.Item{ID: "i1", Data: []byte("x")}, time.Hour, now); err != nil || fresh {
		t.Fatalf("Accept of the marked message: fresh=%v %v; want a duplicate", fresh, err)
	}
	if _, seen, ok, err := st.BeginArrival(ctx, p, "mark1", time.Minute, now); err != nil || ok || !seen {
		t.Fatalf("the marked message again: seen=%v ok=%v %v; want seen", seen, ok, err)
	}

	// A message waiting in the inbox makes the next one wait behind it.
	if fresh, err := st.Accept(ctx, p, "mark3", bot.Item{ID: "i3", Data: []byte("x")}, time.Hour, now); err != nil || !fresh {
		t.Fatalf("Accept: %v %v", fresh, err)
	}
	if _, seen, ok, err := st.BeginArrival(ctx, p, "mark4", time.Minute, now); err != nil || ok || seen {
		t.Fatalf("behind a waiting message: seen=%v ok=%v %v; want not ok", seen, ok, err)
	}
	tok, err := st.Lock(ctx, p, time.Minute, now)
	if err != nil {
		t.Fatalf("BeginArrival left the person locked: %v", err)
	}

	// A commit whose mark is there already writes nothing.
	writes := st.WriteTransactions()
	dup := bot.Commit{Session: []byte("s2"), SessionTTL: time.Hour, Mark: &bot.Mark{Key: "mark3", TTL: time.Hour}, Outbox: []bot.Item{{ID: "o1", Data: []byte("r")}}}
	if _, err := st.Finish(ctx, p, tok, dup, nil, now); !errors.Is(err, bot.ErrDuplicate) {
		t.Fatalf("Finish with a mark already there: %v, want ErrDuplicate", err)
	}
	if got, err := st.LoadSession(ctx, p, now); err != nil || string(got) != "s1" {
		t.Errorf("session after the refused commit: %q, %v; want s1", got, err)
	}
	if _, err := st.NextOutbound(ctx, p); !errors.Is(err, bot.ErrNotFound) {
		t.Errorf("outbox after the refused commit: %v, want empty", err)
	}
	if got := st.WriteTransactions() - writes; got != 0 {
		t.Errorf("%d write transactions committed for the refused commit, want none", got)
	}
	bad := bot.Commit{InboundID: "i3", Mark: &bot.Mark{Key: "mark5", TTL: time.Hour}}
	if _, err := st.Finish(ctx, p, tok, bad, nil, now); err == nil {
		t.Error("Finish with a mark and an inbound ID: no error")
	}
}

// TestPacedClaimWritesNothing: a person whose reply must wait for the lane's
// budget waits in memory (bot.Deferrer), not by a write: claims that find
// the budget spent cost no write transaction, the person is not claimed
// again before the wait ends, and is when it has.
func TestPacedClaimWritesNothing(t *testing.T) {
	ctx := context.Background()
	st := open(t, filepath.Join(t.TempDir(), "enlace.db"))
	now := time.Date(2031, 3, 1, 12, 0, 0, 0, time.UTC)
	lane := bot.LaneQueue("sms-1")
	budget := bot.LaneBudget{Lane: "sms-1", Rate: 1, Burst: 1}
	for _, p := range []string{"p1", "p2"} {
		if err := st.Enqueue(ctx, p, []bot.Item{{ID: bot.TicketID("r"+p, 1, ""), Data: []byte("x")}}, now); err != nil {
			t.Fatal(err)
		}
		if err := st.Schedule(ctx, lane, p, now); err != nil {
			t.Fatal(err)
		}
	}
	claim := func(at time.Time) (paid, waiting int) {
		t.Helper()
		ds, err := st.ClaimOutbound(ctx, lane, at, time.Minute, time.Minute, time.Second, 2, budget)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range ds {
			switch {
			case d.Paid:
				paid++
				if err := st.Unlock(ctx, bot.OutboxLock(d.Person), d.Token); err != nil {
					t.Fatal(err)
				}
			case d.Wait > 0:
				waiting++
			}
		}
		return paid, waiting
	}
	if paid, waiting := claim(now); paid != 1 || waiting != 1 {
		t.Fatalf("first claim: %d paid, %d waiting; want one of each (a budget of one)", paid, waiting)
	}
	writes := st.WriteTransactions()
	for i := range 10 {
		if paid, waiting := claim(now.Add(time.Duration(i*50) * time.Millisecond)); paid+waiting != 0 {
			t.Fatalf("claim %d within the wait: %d paid, %d waiting; want nobody claimed", i, paid, waiting)
		}
	}
	if got := st.WriteTransactions() - writes; got != 0 {
		t.Errorf("%d write transactions while the budget was spent, want none", got)
	}
	if paid, _ := claim(now.Add(1100 * time.Millisecond)); paid != 1 {
		t.Errorf("after the wait: %d paid, want the person who waited", paid)
	}
}
