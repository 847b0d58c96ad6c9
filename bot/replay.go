package bot

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// replayScan is how many dead letters one automatic replay looks through.
const replayScan = 10_000

// gaveUpPrefix starts the reason of a dead letter that ran out of retries
// (also in letters written before Reply.GaveUp existed).
const gaveUpPrefix = "gave up after retr"

// autoReplayable says whether a dead letter goes back by itself once its
// channel delivers again: it died of transient failures (never of a
// permanent refusal, an opt-out or an unreachable address), and was not
// replayed automatically before.
func autoReplayable(r Reply) bool {
	return !r.AutoReplayed && (r.GaveUp || strings.HasPrefix(r.LastError, gaveUpPrefix))
}

// channelFailed notes a transient failure on a channel: the next reply it
// delivers replays the channel's dead letters (delivered).
func (p *Pipeline) channelFailed(channel string) {
	p.replayMu.Lock()
	defer p.replayMu.Unlock()
	p.settled[channel] = false
}

// delivered is called after a reply went out on a channel. The first one
// after a transient failure on it (and the first since this process started,
// which cannot know what happened before) replays the channel's dead letters
// that gave up on transient failures. A replay that fails is tried again with
// the next delivery; a letter is moved atomically, so nothing is replayed twice.
func (p *Pipeline) delivered(ctx context.Context, channel string) {
	p.replayMu.Lock()
	if p.settled[channel] {
		p.replayMu.Unlock()
		return
	}
	p.settled[channel] = true
	p.replayMu.Unlock()
	n, err := p.replayChannel(ctx, channel)
	if err != nil {
		p.channelFailed(channel)
		p.log.Error("could not replay dead letters; trying again with the next delivery", "channel", channel, "replayed", n, "err", err)
		return
	}
	if n > 0 {
		p.log.Info("channel delivers again: dead letters replayed", "channel", channel, "replayed", n)
		p.notify()
	}
}

// replayChannel replays the dead letters of a channel that autoReplayable
// allows, and says how many.
func (p *Pipeline) replayChannel(ctx context.Context, channel string) (int, error) {
	letters, err := p.store.DeadLetters(ctx, replayScan)
	if err != nil {
		return 0, fmt.Errorf("bot: listing dead letters to replay: %w", err)
	}
	if len(letters) == replayScan {
		p.log.Warn("more dead letters than one replay looks through; the rest wait for the next", "channel", channel, "looked_at", replayScan)
	}
	n := 0
	var errs []error
	for _, l := range letters {
		r, err := p.openReply(l.Person, l.Item.Data)
		if err != nil || r.Channel != channel || !autoReplayable(r) {
			continue
		}
		err = p.store.Replay(ctx, l.Person, l.Item.ID, p.now(), p.replayed(l.Person, true))
		switch {
		case err == nil:
			n++
			p.metrics.outbound(channel, "replayed")
		case errors.Is(err, ErrNotFound), errors.Is(err, errNotReplayed):
			// Replayed (or changed) meanwhile, by another process.
		default:
			errs = append(errs, fmt.Errorf("bot: replaying dead letter: %w", err))
		}
	}
	return n, errors.Join(errs...)
}
