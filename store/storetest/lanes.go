package storetest

import (
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/enlace-rfl/enlace/bot"
)

// testLanes: each delivery lane is a queue of its own, claimed apart from
// QueueOutbound and from every other lane; a bad lane name is refused.
func testLanes(t *testing.T, s bot.Store) {
	tg, sms := bot.LaneQueue("telegram"), bot.LaneQueue("sms")
	a, b, c := person(t), person(t), person(t)
	if got := pending(t, s, tg); got != 0 {
		t.Fatalf("a lane never used: Pending = %d, want 0", got)
	}
	if got := claimed(t, s, tg, epoch, 10); len(got) != 0 {
		t.Fatalf("a lane never used: claimed %v", got)
	}
	must(t, s.Schedule(ctx, tg, a, epoch))
	must(t, s.Schedule(ctx, sms, b, epoch))
	must(t, s.Schedule(ctx, sms, c, epoch.Add(time.Minute)))
	must(t, s.Schedule(ctx, bot.QueueOutbound, c, epoch))
	if got := pending(t, s, sms); got != 2 {
		t.Fatalf("sms lane: Pending = %d, want 2", got)
	}
	if got := claimed(t, s, tg, epoch, 10); !slices.Equal(got, []string{a}) {
		t.Fatalf("telegram lane claimed %v, want only its own person", got)
	}
	if got := claimed(t, s, sms, epoch, 10); !slices.Equal(got, []string{b}) {
		t.Fatalf("sms lane claimed %v, want the one ready now", got)
	}
	if got := claimed(t, s, bot.QueueOutbound, epoch, 10); !slices.Equal(got, []string{c}) {
		t.Fatalf("QueueOutbound claimed %v, want only its own person", got)
	}
	if got := claimed(t, s, sms, epoch.Add(time.Minute), 10); !slices.Contains(got, c) {
		t.Fatalf("sms lane at its time: claimed %v, want %s", got, c)
	}
	for _, bad := range []bot.Queue{"out-", "out-a b", "out-{x}", "nope"} {
		if err := s.Schedule(ctx, bad, a, epoch); err == nil {
			t.Errorf("Schedule on queue %q: no error", bad)
		}
		if _, err := s.Claim(ctx, bad, epoch, time.Minute, 1); err == nil {
			t.Errorf("Claim on queue %q: no error", bad)
		}
	}
}

// testLanesConcurrent: many workers claiming one lane get each person once.
func testLanesConcurrent(t *testing.T, s bot.Store) {
	claimedOnceEach(t, s, bot.LaneQueue("sms"), 30, 6, 2)
}

func take(t *testing.T, s bot.Budgets, lane string, bs []bot.Bucket, cost int, now time.Time) (time.Duration, int) {
	t.Helper()
	w, short, err := s.TakeBudget(ctx, lane, bs, cost, now)
	must(t, err)
	return w, short
}

// testBudget: a bucket gives its burst at once, then Rate tokens a second on
// the caller's clock; a cost above one is a debt paid in waiting.
func testBudget(t *testing.T, s bot.Store) {
	lane := person(t)
	b := []bot.Bucket{{Name: "lane", Rate: 2, Burst: 2}}
	for i := range 2 {
		if w, _ := take(t, s, lane, b, 1, epoch); w != 0 {
			t.Fatalf("take %d of a burst of 2: wait %s", i, w)
		}
	}
	if w, short := take(t, s, lane, b, 1, epoch); w != 500*time.Millisecond || short != 0 {
		t.Fatalf("third take: wait %s short %d, want 500ms and bucket 0", w, short)
	}
	if w, _ := take(t, s, lane, b, 1, epoch.Add(499*time.Millisecond)); w <= 0 {
		t.Fatalf("took a token before it was due")
	}
	if w, _ := take(t, s, lane, b, 1, epoch.Add(500*time.Millisecond)); w != 0 {
		t.Fatalf("at its time: wait %s", w)
	}
	// Other lanes, and other buckets of the lane, are apart.
	if w, _ := take(t, s, person(t), b, 1, epoch); w != 0 {
		t.Fatalf("another lane waited %s", w)
	}
	// A debt: three messages at once from a bucket of one.
	one := []bot.Bucket{{Name: "r", Rate: 1, Burst: 1}}
	if w, _ := take(t, s, lane, one, 3, epoch); w != 0 {
		t.Fatalf("a full bucket refused a cost of 3: wait %s", w)
	}
	if w, _ := take(t, s, lane, one, 1, epoch.Add(time.Second)); w != 2*time.Second {
		t.Fatalf("after a debt of 2: wait %s, want 2s", w)
	}
	// A clock behind the last take (another process's) refills nothing.
	if w, _ := take(t, s, lane, one, 1, epoch.Add(-time.Hour)); w <= 0 {
		t.Fatalf("an earlier clock took a token")
	}
	if _, _, err := s.TakeBudget(ctx, "bad lane", b, 1, epoch); err == nil {
		t.Fatal("a bad lane name: no error")
	}
	if _, _, err := s.TakeBudget(ctx, lane, []bot.Bucket{{Name: "x", Rate: 0, Burst: 1}}, 1, epoch); err == nil {
		t.Fatal("a zero rate: no error")
	}
}

// testBudgetAllOrNothing: a take from a lane's bucket and a recipient's takes
// from both or neither, and says which one was short.
func testBudgetAllOrNothing(t *testing.T, s bot.Store) {
	lane := person(t)
	laneB := bot.Bucket{Name: "lane", Rate: 10, Burst: 2}
	chat := bot.Bucket{Name: person(t), Rate: 1, Burst: 1}
	if w, _ := take(t, s, lane, []bot.Bucket{laneB, chat}, 1, epoch); w != 0 {
		t.Fatalf("first take waited %s", w)
	}
	if w, short := take(t, s, lane, []bot.Bucket{laneB, chat}, 1, epoch); w != time.Second || short != 1 {
		t.Fatalf("the chat's second take: wait %s short %d, want 1s and bucket 1", w, short)
	}
	// The refused take left the lane's second token where it was.
	if w, _ := take(t, s, lane, []bot.Bucket{laneB}, 1, epoch); w != 0 {
		t.Fatalf("a refused take spent the lane's token: wait %s", w)
	}
	if w, short := take(t, s, lane, []bot.Bucket{laneB, {Name: person(t), Rate: 1, Burst: 1}}, 1, epoch); w != 100*time.Millisecond || short != 0 {
		t.Fatalf("an empty lane: wait %s short %d, want 100ms and bucket 0", w, short)
	}
}

// testBudgetHold: a hold (a provider's 429) gives no token before its end,
// one at it, whatever the bucket held.
func testBudgetHold(t *testing.T, s bot.Store) {
	lane := person(t)
	b := bot.Bucket{Name: "lane", Rate: 30, Burst: 30}
	must(t, s.HoldBudget(ctx, lane, b, epoch.Add(10*time.Second), epoch))
	if w, short := take(t, s, lane, []bot.Bucket{b}, 1, epoch.Add(time.Second)); w != 9*time.Second || short != 0 {
		t.Fatalf("held: wait %s short %d, want 9s", w, short)
	}
	if w, _ := take(t, s, lane, []bot.Bucket{b}, 1, epoch.Add(10*time.Second)); w != 0 {
		t.Fatalf("at the hold's end: wait %s", w)
	}
	if w, _ := take(t, s, lane, []bot.Bucket{b}, 1, epoch.Add(10*time.Second)); w <= 0 {
		t.Fatal("the hold's end gave more than one token at once")
	}
}

// testBudgetConcurrent: takers at one instant, from two handles on the data
// where the store is shared by processes, together get the burst and no more.
func testBudgetConcurrent(t *testing.T, s bot.Store, b Backend) {
	handles := []bot.Budgets{s}
	if b.Share != nil {
		handles = append(handles, b.Share(t, s))
	}
	lane := person(t)
	bs := []bot.Bucket{{Name: "lane", Rate: 1, Burst: 5}}
	var got atomic.Int32
	var wg sync.WaitGroup
	for i := range 20 {
		h := handles[i%len(handles)]
		wg.Go(func() {
			w, _, err := h.TakeBudget(ctx, lane, bs, 1, epoch)
			if err != nil {
				t.Error(err)
			}
			if w == 0 {
				got.Add(1)
			}
		})
	}
	wg.Wait()
	if got.Load() != 5 {
		t.Fatalf("%d takers got a token from a burst of 5 (%d handles)", got.Load(), len(handles))
	}
}
