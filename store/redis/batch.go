package redis

import (
	"context"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// Group commit. On one Redis (standalone, or a Sentinel-managed primary),
// the scripts that callers run at the same time go to Redis together, as one
// pipeline: one write and one read on each side instead of one per script,
// and, with wait_replicas, one WAIT for the whole batch. Nobody waits for
// company: a call that finds a turn free is sent at once, alone; calls that
// arrive while every turn is taken queue, and when a batch is answered the
// first of the queued calls sends the whole queue. Under load batches grow by
// themselves; idle, a call costs what it always did. Each script is still its
// own atomic step, run in the order the calls were queued: a batch is only
// fewer round trips, never a transaction.
type batcher struct {
	c goredis.UniversalClient
	// turns is how many batches may be in flight at once (batchTurns).
	turns int

	mu       sync.Mutex
	inFlight int
	queue    []*call
}

// batchTurns is how many batches may be in flight at once: enough that a
// caller rarely waits for a whole batch ahead of it, few enough that the
// batches fill under load (BENCHMARKS.md, group commit).
const batchTurns = 4

// call is one script run, alone or in a batch.
type call struct {
	sc   *goredis.Script
	keys []string
	args []any
	// replicas asks for a WAIT for that many replicas after the script
	// (replicated); 0 for none.
	replicas int

	// Set by the batch that ran the call, before it wakes the caller.
	cmd    *goredis.Cmd
	waited *goredis.Cmd // the batch's WAIT, when replicas > 0

	// Under batcher.mu. sent: the call is in a batch on its way. batch: the
	// batch this call must send itself (the queue when a turn came free).
	sent  bool
	batch []*call
	wake  chan struct{}
}

// run runs sc in the next batch and returns its outcome.
func (b *batcher) run(ctx context.Context, sc *goredis.Script, keys []string, args ...any) *goredis.Cmd {
	c := b.do(ctx, &call{sc: sc, keys: keys, args: args})
	return c.cmd
}

// runWait runs sc in the next batch, followed there by a WAIT for that
// many replicas, and returns both outcomes.
func (b *batcher) runWait(ctx context.Context, replicas int, sc *goredis.Script, keys []string, args ...any) (cmd, waited *goredis.Cmd) {
	c := b.do(ctx, &call{sc: sc, keys: keys, args: args, replicas: replicas})
	return c.cmd, c.waited
}

// do sends c alone when a turn is free, else queues it until its batch has
// been answered (or it sends that batch itself). A call whose context ends
// while it is queued is dropped unsent and answers the context's error.
func (b *batcher) do(ctx context.Context, c *call) *call {
	c.wake = make(chan struct{}, 1)
	b.mu.Lock()
	if b.inFlight < b.turns {
		// Nothing is queued while a turn is free.
		b.inFlight++
		c.sent = true
		b.mu.Unlock()
		b.send(ctx, []*call{c})
		return c
	}
	b.queue = append(b.queue, c)
	b.mu.Unlock()
	select {
	case <-c.wake:
	case <-ctx.Done():
		b.mu.Lock()
		if !c.sent {
			b.drop(c)
			b.mu.Unlock()
			c.cmd = goredis.NewCmd(ctx)
			c.cmd.SetErr(ctx.Err())
			c.waited = c.cmd
			return c
		}
		b.mu.Unlock()
		<-c.wake
	}
	b.mu.Lock()
	batch := c.batch
	b.mu.Unlock()
	if batch != nil {
		// The others in it are waiting: it goes whatever happens to ctx.
		b.send(context.WithoutCancel(ctx), batch)
	}
	return c
}

// drop takes c out of the queue (under mu).
func (b *batcher) drop(c *call) {
	for i, q := range b.queue {
		if q == c {
			b.queue = append(b.queue[:i], b.queue[i+1:]...)
			return
		}
	}
}

// send runs batch (which holds a turn), hands the turn and the calls queued
// meanwhile to the first of them, and wakes the batch's callers.
func (b *batcher) send(ctx context.Context, batch []*call) {
	b.exec(ctx, batch, false)
	var again []*call
	for _, c := range batch {
		if err := c.cmd.Err(); err != nil && goredis.HasErrorPrefix(err, "NOSCRIPT") {
			again = append(again, c) // Redis restarted, or a new primary: load and run
		}
	}
	if len(again) > 0 {
		b.exec(ctx, again, true)
	}
	b.mu.Lock()
	if len(b.queue) > 0 {
		next := b.queue
		b.queue = nil
		for _, c := range next {
			c.sent = true
		}
		next[0].batch = next
		next[0].wake <- struct{}{}
	} else {
		b.inFlight--
	}
	b.mu.Unlock()
	for _, c := range batch {
		if c.batch == nil {
			c.wake <- struct{}{}
		}
	}
}

// exec runs the calls' scripts in one round trip (EVAL, which loads them,
// when eval), with one WAIT after them for the most replicas any call asks
// for. Each call holds its own outcome.
func (b *batcher) exec(ctx context.Context, batch []*call, eval bool) {
	replicas := 0
	for _, c := range batch {
		replicas = max(replicas, c.replicas)
	}
	if len(batch) == 1 && replicas == 0 && !eval {
		c := batch[0]
		c.cmd = c.sc.Run(ctx, b.c, c.keys, c.args...)
		return
	}
	pipe := b.c.Pipeline()
	for _, c := range batch {
		if eval {
			c.cmd = c.sc.Eval(ctx, pipe, c.keys, c.args...)
		} else {
			c.cmd = c.sc.EvalSha(ctx, pipe, c.keys, c.args...)
		}
	}
	var waited *goredis.Cmd
	if replicas > 0 {
		waited = pipe.Do(ctx, "WAIT", replicas, waitTimeout.Milliseconds())
	}
	_, _ = pipe.Exec(ctx) // each command holds its own outcome
	for _, c := range batch {
		if c.replicas > 0 {
			c.waited = waited
		}
	}
}

// waitTimeout bounds how long a write waits for its replicas.
const waitTimeout = time.Second
