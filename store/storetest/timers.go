package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/enlace-rfl/enlace/bot"
)

// commitTimers sets and cancels timers in a commit of their own.
func commitTimers(t *testing.T, s bot.Store, p string, set []bot.Timer, cancel []string) {
	t.Helper()
	tok, err := s.Lock(ctx, p, time.Minute, epoch)
	must(t, err)
	must(t, s.Commit(ctx, p, tok, bot.Commit{Session: []byte("s"), SetTimers: set, CancelTimers: cancel}, epoch))
	must(t, s.Unlock(ctx, p, tok))
}

// claimsOf keeps the claims of one person (other subtests share the due set).
func claimsOf(t *testing.T, s bot.Store, p string, now time.Time, lease time.Duration) []bot.TimerClaim {
	t.Helper()
	cs, err := s.ClaimTimers(ctx, now, lease, 1000)
	must(t, err)
	var out []bot.TimerClaim
	for _, c := range cs {
		if c.Person == p {
			out = append(out, c)
		}
	}
	return out
}

func testTimers(t *testing.T, s bot.Store) {
	p := person(t)
	// Far in the future, so other subtests' claims never see these timers early.
	base := epoch.Add(24 * 365 * time.Hour).Truncate(time.Millisecond)
	commitTimers(t, s, p, []bot.Timer{{ID: "checkin", At: base}, {ID: "reminder", At: base.Add(-time.Hour)}}, nil)
	ts, err := s.Timers(ctx, p)
	must(t, err)
	if len(ts) != 2 || ts[0].ID != "checkin" || !ts[0].At.Equal(base) || ts[1].ID != "reminder" {
		t.Fatalf("timers: got %+v", ts)
	}
	if got := claimsOf(t, s, p, base.Add(-2*time.Hour), time.Minute); len(got) != 0 {
		t.Fatalf("claimed before due: %+v", got)
	}
	got := claimsOf(t, s, p, base.Add(-time.Hour), time.Minute)
	if len(got) != 1 || got[0].ID != "reminder" || !got[0].At.Equal(base.Add(-time.Hour)) {
		t.Fatalf("claim at the reminder's time: got %+v, want the reminder with its due time", got)
	}
	if again := claimsOf(t, s, p, base.Add(-time.Hour+30*time.Second), time.Minute); len(again) != 0 {
		t.Fatalf("claimed twice within the lease: %+v", again)
	}
	// The process that claimed it died: it fires late rather than never.
	late := claimsOf(t, s, p, base.Add(-time.Hour+2*time.Minute), time.Minute)
	if len(late) != 1 || late[0].ID != "reminder" {
		t.Fatalf("after the lease: got %+v, want the reminder again", late)
	}
	must(t, s.FinishTimer(ctx, late[0]))
	if gone := claimsOf(t, s, p, base.Add(-time.Minute), time.Minute); len(gone) != 0 {
		t.Fatalf("finished timer claimed again: %+v", gone)
	}
	// Set again while claimed: finishing the old claim must not drop the new time.
	c := claimsOf(t, s, p, base, time.Minute)
	if len(c) != 1 || c[0].ID != "checkin" {
		t.Fatalf("checkin claim: got %+v", c)
	}
	commitTimers(t, s, p, []bot.Timer{{ID: "checkin", At: base.Add(48 * time.Hour)}}, []string{"reminder"})
	must(t, s.FinishTimer(ctx, c[0]))
	next := claimsOf(t, s, p, base.Add(48*time.Hour), time.Minute)
	if len(next) != 1 || !next[0].At.Equal(base.Add(48*time.Hour)) {
		t.Fatalf("re-set timer: got %+v, want it due at its new time", next)
	}
	ts, _ = s.Timers(ctx, p)
	if len(ts) != 1 || ts[0].ID != "checkin" {
		t.Fatalf("after cancelling the reminder: got %+v", ts)
	}
}

func testTimersConcurrent(t *testing.T, s bot.Store) {
	p := person(t)
	at := epoch.Add(2 * 24 * 365 * time.Hour).Truncate(time.Millisecond)
	var set []bot.Timer
	for i := range 20 {
		set = append(set, bot.Timer{ID: "t" + string(rune('a'+i)), At: at})
	}
	commitTimers(t, s, p, set, nil)
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 5 {
				cs, err := s.ClaimTimers(ctx, at, time.Hour, 3)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				for _, c := range cs {
					if c.Person == p {
						seen[c.ID]++
					}
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != 20 {
		t.Errorf("claimed %d distinct timers, want 20", len(seen))
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("timer %s claimed %d times within one lease", id, n)
		}
	}
}

func testTimersErased(t *testing.T, s bot.Store) {
	p := person(t)
	at := epoch.Add(3 * 24 * 365 * time.Hour).Truncate(time.Millisecond)
	commitTimers(t, s, p, []bot.Timer{{ID: "checkin", At: at}}, nil)
	tok, err := s.Lock(ctx, p, time.Minute, epoch)
	must(t, err)
	must(t, s.Commit(ctx, p, tok, bot.Commit{Erase: true}, epoch))
	if ts, _ := s.Timers(ctx, p); len(ts) != 0 {
		t.Errorf("timers after erase: %+v", ts)
	}
	if got := claimsOf(t, s, p, at, time.Minute); len(got) != 0 {
		t.Errorf("an erased timer fired: %+v", got)
	}
}
