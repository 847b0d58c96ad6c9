package storetest

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/enlace-rfl/enlace/bot"
)

// testCounter counts uses up to the limit, starts a new window once the old
// one ended on the caller's clock, and never passes the limit however many
// callers take at once.
func testCounter(t *testing.T, s bot.Store, b Backend) {
	name := person(t)
	take := func(at time.Time) bool {
		t.Helper()
		ok, err := s.Take(ctx, name, 3, 24*time.Hour, at)
		must(t, err)
		return ok
	}
	for i := range 3 {
		if !take(epoch.Add(time.Duration(i) * time.Hour)) {
			t.Fatalf("use %d refused under the limit", i+1)
		}
	}
	if take(epoch.Add(23 * time.Hour)) {
		t.Fatal("fourth use within the window counted")
	}
	elapse(t, s, b, 24*time.Hour)
	if !take(epoch.Add(24 * time.Hour)) {
		t.Fatal("use refused once the window ended")
	}

	// A marker: true only the first time.
	mark := person(t)
	for i, want := range []bool{true, false, false} {
		ok, err := s.Take(ctx, mark, 1, 30*24*time.Hour, epoch.Add(time.Duration(i)*time.Hour))
		must(t, err)
		if ok != want {
			t.Fatalf("marker take %d = %v, want %v", i+1, ok, want)
		}
	}
	// Sweep keeps an open window.
	must(t, s.Sweep(ctx, epoch.Add(48*time.Hour)))
	if ok, err := s.Take(ctx, mark, 1, 30*24*time.Hour, epoch.Add(48*time.Hour)); err != nil || ok {
		t.Fatalf("marker after sweep = %v, %v; want kept", ok, err)
	}

	// Concurrent takes never pass the limit.
	busy := person(t)
	var wg sync.WaitGroup
	var took atomic.Int32
	for range 20 {
		wg.Go(func() {
			ok, err := s.Take(ctx, busy, 5, time.Hour, epoch)
			if err != nil {
				t.Error(err)
			}
			if ok {
				took.Add(1)
			}
		})
	}
	wg.Wait()
	if n := took.Load(); n != 5 {
		t.Fatalf("%d concurrent takes counted, want 5", n)
	}
	if _, err := s.Take(ctx, "bad name", 1, time.Hour, epoch); err == nil {
		t.Fatal("invalid name accepted")
	}
}
