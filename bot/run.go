package bot

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Run handles and delivers messages until ctx is cancelled. On cancellation it
// lets every pass in flight finish (the store keeps anything not yet done, so a
// later start picks it up) and then returns.
//
// Handling and delivery are apart: Config.Workers handling workers fire
// timers, handle inbound messages and move new replies to their lanes, and
// never call a provider; each delivery lane (one per sender identity:
// the Telegram bot, a Twilio number or Messaging Service) has
// Config.LaneWorkers workers of its own that claim only that lane's ready
// replies. A lane waiting for its budget holds up nothing else.
func (p *Pipeline) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() { p.sweepLoop(ctx) })
	for i := 0; i < p.cfg.Workers; i++ {
		wg.Go(func() { p.loop(ctx) })
	}
	for _, l := range p.allLanes() {
		n := p.cfg.LaneWorkers
		if l.name == noLane {
			n = 1 // only dead-letters replies of channels not configured
		}
		for range n {
			wg.Go(func() { p.laneLoop(ctx, l) })
		}
	}
	wg.Wait()
}

// laneLoop delivers a lane's ready replies until ctx is cancelled. When the
// lane's budget is spent it looks again when the budget allows, not before.
func (p *Pipeline) laneLoop(ctx context.Context, l *lane) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-l.wake:
		case <-timer.C:
		}
		work := context.WithoutCancel(ctx)
		for {
			s, c, err := p.lanePass(work, l, 1)
			if err != nil {
				p.log.Error("delivery pass failed", "lane", l.name, "err", err)
				break
			}
			if s+c == 0 || ctx.Err() != nil {
				break
			}
		}
		d := p.cfg.Poll
		if until, held := l.held(p.now()); held {
			d = min(d, until.Sub(p.now()))
		}
		timer.Reset(d)
	}
}

func (p *Pipeline) loop(ctx context.Context) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.wake:
		case <-timer.C:
		}
		// In-flight work is not cut short by shutdown.
		work := context.WithoutCancel(ctx)
		for {
			n, err := p.pass(work)
			if err != nil {
				p.log.Error("pipeline pass failed", "err", err)
				break
			}
			if n == 0 || ctx.Err() != nil {
				break
			}
		}
		timer.Reset(p.cfg.Poll)
	}
}

// sweepLoop asks the store to remove what expired, on the pipeline's clock,
// every SweepInterval (the interval itself is only a cadence).
func (p *Pipeline) sweepLoop(ctx context.Context) {
	t := time.NewTicker(SweepInterval)
	defer t.Stop()
	for {
		if err := p.Sweep(ctx); err != nil && ctx.Err() == nil {
			p.log.Error("sweeping expired records failed", "err", err)
		}
		if _, err := p.ReleaseStaleClaims(ctx); err != nil && ctx.Err() == nil {
			p.log.Error("releasing stale claims failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Sweep removes from the store what expired by the pipeline's now.
func (p *Pipeline) Sweep(ctx context.Context) error {
	if err := p.store.Sweep(ctx, p.now()); err != nil {
		return fmt.Errorf("bot: sweeping: %w", err)
	}
	return nil
}

// pass does one round of handling: timers, inbound messages, and moving new
// replies to their lanes. It counts the people it claimed as well as the work
// it did: a pass that only met people with nothing left to do (their queue
// entry outlived their work) has still moved them out of the way, and the
// people behind them are ready too.
func (p *Pipeline) pass(ctx context.Context) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Lease)
	defer cancel()
	f, ferr := p.FireTimers(ctx)
	h, hc, herr := p.handleReady(ctx)
	d, derr := p.DispatchReady(ctx)
	return f + h + hc + d, errors.Join(ferr, herr, derr)
}

// Drain handles and delivers until nothing is ready now, and reports the first
// error. Replies waiting for a retry, or for their lane's budget, later are
// left for Run. The terminal simulator and tests use it.
func (p *Pipeline) Drain(ctx context.Context) error {
	for {
		n, err := p.pass(ctx)
		if err == nil {
			var s, c int
			s, c, err = p.sendReady(ctx)
			n += s + c
		}
		if err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
	}
}
