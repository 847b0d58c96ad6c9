package bot

import "context"

// SetCrashHook lets the external tests stop a process between two pipeline steps.
func SetCrashHook(p *Pipeline, f func(step string)) { p.crashHook = f }

// HandlePass is one handling pass (HandleReady), saying how many people it claimed.
func HandlePass(ctx context.Context, p *Pipeline) (claimed int, err error) {
	_, claimed, err = p.handleReady(ctx)
	return claimed, err
}

// LanePass is one delivery pass on the lane of channel, saying how many
// people it claimed.
func LanePass(ctx context.Context, p *Pipeline, channel string) (claimed int, err error) {
	_, claimed, err = p.lanePass(ctx, p.laneOf(channel), p.cfg.Batch)
	return claimed, err
}
