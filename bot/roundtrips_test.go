package bot_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/enlace-rfl/enlace/bot"
	redisstore "github.com/enlace-rfl/enlace/store/redis"
	"github.com/enlace-rfl/enlace/store/redis/redistest"
)

// roundTrips counts the round trips a go-redis client makes: one per command,
// one per pipeline, one per script (EVALSHA; the scripts are loaded first).
type roundTrips struct{ n atomic.Int64 }

func (c *roundTrips) DialHook(next goredis.DialHook) goredis.DialHook { return next }

func (c *roundTrips) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		c.n.Add(1)
		return next(ctx, cmd)
	}
}

func (c *roundTrips) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		c.n.Add(1)
		return next(ctx, cmds)
	}
}

// count runs f and returns how many round trips it made.
func (c *roundTrips) count(f func() error) (int, error) {
	before := c.n.Load()
	err := f()
	return int(c.n.Load() - before), err
}

// Issue 13's ceilings, counted on a real redis-server: accepting a webhook
// message, and everything from there until its reply is acknowledged (and the
// person leaves every queue). Passes that claim nobody are the polling a
// worker does whatever the load, not a message's cost, and are left out.
const (
	maxAcceptRoundTrips  = 1
	maxMessageRoundTrips = 5
)

// TestRoundTripsPerMessage counts the Redis round trips of one inbound
// message, step by step: accept, handle (claim, lock, session, commit,
// release), route to the lane, deliver (lane claim, budget, send,
// acknowledge), and what is left once the queues are found empty; on a
// channel without a budget, and on one paced as Telegram is (30 a second
// for the sender, one a second per chat), whose budget is drawn too.
func TestRoundTripsPerMessage(t *testing.T) {
	for _, tc := range []struct {
		name string
		pace *bot.Pace
	}{
		{"unpaced", nil},
		{"paced", &bot.Pace{Lane: "sms", Rate: 30, Burst: 1, PerRecipient: time.Second}},
	} {
		t.Run(tc.name, func(t *testing.T) { roundTripsPerMessage(t, tc.pace) })
	}
}

func roundTripsPerMessage(t *testing.T, pace *bot.Pace) {
	srv := redistest.Start(t)
	st, err := redisstore.Open(context.Background(), srv.URL, redisstore.Options{Prefix: srv.NewPrefix()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rt := &roundTrips{}
	st.Client().AddHook(rt)
	clk := newClock()
	rec := newRecorder("sms")
	var ch bot.Channel = rec
	if pace != nil {
		pc := newPaced("sms", clk, *pace)
		rec, ch = pc.recorder, pc
	}
	p := newPipeline(t, st, clk.Now, ch)
	ctx := context.Background()

	// The first message loads every script; the second is the one counted.
	accept(t, p, msg("+5215500000001", "SM-warm", "hola"))
	drain(t, p)
	clk.Advance(time.Second) // the warm reply's budget is back

	idle, err := rt.count(func() error { return p.Drain(ctx) })
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	var order []string
	add := func(step string, n int) {
		if _, ok := counts[step]; !ok {
			order = append(order, step)
		}
		counts[step] += n
	}
	n, err := rt.count(func() error { _, err := p.Accept(ctx, msg("+5215500000002", "SM-counted", "hola")); return err })
	if err != nil {
		t.Fatal(err)
	}
	add("accept", n)
	// Each kind of pass runs until it claims nobody; only passes that claimed
	// someone are the message's.
	passes := []struct {
		step string
		run  func() (int, error)
	}{
		{"handle", func() (int, error) { return bot.HandlePass(ctx, p) }},
		{"route", func() (int, error) { return p.DispatchReady(ctx) }},
		{"deliver", func() (int, error) { return bot.LanePass(ctx, p, "sms") }},
	}
	for _, ps := range passes {
		for i := 0; ; i++ {
			var claimed int
			n, err := rt.count(func() error { var err error; claimed, err = ps.run(); return err })
			if err != nil {
				t.Fatal(err)
			}
			if claimed == 0 {
				break
			}
			step := ps.step
			if i > 0 {
				step += " (again: nothing left)"
			}
			add(step, n)
		}
	}
	if got := rec.count(); got != 2 {
		t.Fatalf("delivered %d replies, want 2", got)
	}
	left, err := rt.count(func() error { return p.Drain(ctx) })
	if err != nil {
		t.Fatal(err)
	}
	if left != idle {
		t.Errorf("a drain after the message made %d round trips, an idle one %d: the passes above missed work", left, idle)
	}
	total := 0
	var report string
	for _, s := range order {
		total += counts[s]
		report += fmt.Sprintf("  %-32s %d\n", s, counts[s])
	}
	t.Logf("Redis round trips for one inbound message (an idle Drain makes %d):\n%s  %-32s %d", idle, report, "total", total)
	if counts["accept"] > maxAcceptRoundTrips {
		t.Errorf("accepting took %d round trips, want at most %d", counts["accept"], maxAcceptRoundTrips)
	}
	if total > maxMessageRoundTrips {
		t.Errorf("one message took %d round trips, want at most %d", total, maxMessageRoundTrips)
	}
}
