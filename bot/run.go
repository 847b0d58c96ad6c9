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
func (p *Pipeline) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() { p.sweepLoop(ctx) })
	for i := 0; i < p.cfg.Workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.loop(ctx)
		}()
	}
	wg.Wait()
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

// pass does one round of handling and sending. It counts the people it
// claimed as well as the work it did: a pass that only met people with
// nothing left to do (their queue entry outlived their work) has still moved
// them out of the way, and the people behind them are ready too.
func (p *Pipeline) pass(ctx context.Context) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Lease)
	defer cancel()
	f, ferr := p.FireTimers(ctx)
	h, hc, herr := p.handleReady(ctx)
	s, sc, serr := p.sendReady(ctx)
	return f + h + s + hc + sc, errors.Join(ferr, herr, serr)
}

// Drain handles and delivers until nothing is ready now, and reports the first
// error. Replies waiting for a retry later are left for Run. The terminal
// simulator and tests use it.
func (p *Pipeline) Drain(ctx context.Context) error {
	for {
		n, err := p.pass(ctx)
		if err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
	}
}
