package bot_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/enlace-rfl/enlace/bot"
	"github.com/enlace-rfl/enlace/flows"
	"github.com/enlace-rfl/enlace/store/redis/redistest"
)

// TestTimersFireOnceAcrossThreeProcesses: three pipelines, each with its own
// client as three serve processes would have, share a three-master Redis
// Cluster, or a Sentinel-managed primary with one replica (wait_replicas=1)
// that fails over while the timers fire. Many people each set a reminder
// through one of them; when the reminders come due the three fire them at
// once, over and over: every person hears it exactly once, and no timer is
// left.
func TestTimersFireOnceAcrossThreeProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Redis Cluster and a Sentinel-managed Redis")
	}
	cases := []struct {
		name  string
		start func(t *testing.T) (url, prefix string, act func(context.Context) error)
	}{
		{"cluster", func(t *testing.T) (string, string, func(context.Context) error) {
			c := redistest.StartCluster(t)
			return c.URL, c.Prefix, nil
		}},
		{"sentinel-failover", func(t *testing.T) (string, string, func(context.Context) error) {
			s := redistest.StartSentinel(t)
			return s.URL + "&wait_replicas=1", s.Prefix, func(ctx context.Context) error {
				_, err := s.Failover(ctx)
				return err
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			url, prefix, act := tc.start(t)
			const people, processes = 45, 3
			rec := newRecorder("sms")
			clk := newClock()
			var ps []*bot.Pipeline
			stores := processStores(t, url, prefix, processes)
			first := stores[0]
			for _, st := range stores {
				cfg := testConfig
				cfg.Batch = 2 // each pass fires a few, so the passes interleave with the failover
				ps = append(ps, pipelineOf(t, st, clk.Now, cfg, remindingEngine{flows.New(flows.Config{}, catalog)}, rec))
			}
			from := func(i int) string { return fmt.Sprintf("+52155%08d", 8000+i) }
			for i := range people {
				p := ps[i%processes]
				for j, text := range []string{"hola", "1", "1", "remind me"} {
					accept(t, p, msg(from(i), fmt.Sprintf("TM%d-%d", i, j), text))
					drainUntilDone(t, p)
				}
			}
			help := catalog.Text("es", "help.text", nil)
			for i := range people {
				if n := countText(rec.texts(from(i)), help); n != 0 {
					t.Fatalf("person %d heard the reminder before it was due (%d times)", i, n)
				}
			}
			before := rec.count()
			clk.Advance(time.Hour + time.Minute)
			acted := make(chan error, 1)
			var wg sync.WaitGroup
			if act != nil {
				// The failover begins as the three begin firing.
				wg.Go(func() {
					ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
					defer cancel()
					acted <- act(ctx)
					t.Logf("failover done with %d of %d reminders delivered", rec.count()-before, people)
				})
			}
			for _, p := range ps {
				wg.Go(func() {
					for range 40 {
						// Errors are expected while a failover runs; what
						// was left is found again in the next rounds.
						ctx := context.Background()
						_, _ = p.FireTimers(ctx)
						_, _ = p.HandleReady(ctx)
						_, _ = p.SendReady(ctx)
						time.Sleep(50 * time.Millisecond) // lets the three interleave
					}
				})
			}
			wg.Wait()
			if act != nil {
				if err := <-acted; err != nil {
					t.Fatalf("failover: %v", err)
				}
			}
			// What a failed write left behind comes back when its lease
			// ends (fake time) or its lock expires (Redis's own time).
			for range 30 {
				missing := 0
				for i := range people {
					if countText(rec.texts(from(i)), help) == 0 {
						missing++
					}
				}
				if missing == 0 {
					break
				}
				clk.Advance(time.Minute)
				time.Sleep(time.Second)
				for _, p := range ps {
					_ = p.Drain(context.Background())
				}
			}
			for range 3 { // anything doubled would come now
				clk.Advance(time.Minute)
				for _, p := range ps {
					drainUntilDone(t, p)
				}
			}
			for i := range people {
				if n := countText(rec.texts(from(i)), help); n != 1 {
					t.Errorf("person %d heard the reminder %d times, want exactly once", i, n)
				}
				if ts, err := first.Timers(context.Background(), ps[0].Person("sms", from(i))); err != nil || len(ts) != 0 {
					t.Errorf("person %d: timers left %+v, %v; want none", i, ts, err)
				}
			}
		})
	}
}

// drainUntilDone drains p, trying again for a while when a write fails (a
// failover's READONLY, a replica not yet following): it fails the test only
// when the store never comes back.
func drainUntilDone(t *testing.T, p *bot.Pipeline) {
	t.Helper()
	var err error
	for range 100 {
		if err = p.Drain(context.Background()); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond) // waiting for the store to come back
	}
	t.Fatalf("drain: %v", err)
}
