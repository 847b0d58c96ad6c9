package redis

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/enlace-rfl/enlace/store/redis/redistest"
)

// gate is a go-redis hook that holds the first single command sent (the
// first batch, alone) until it is opened, and counts the pipelines of
// scripts and the scripts in them (not those go-redis sends to set up a
// connection).
type gate struct {
	open      chan struct{}
	held      chan struct{}
	once      sync.Once
	pipelines atomic.Int64
	piped     atomic.Int64
}

func newGate() *gate { return &gate{open: make(chan struct{}), held: make(chan struct{})} }

func (g *gate) DialHook(next goredis.DialHook) goredis.DialHook { return next }

func (g *gate) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		first := false
		g.once.Do(func() { first = true })
		if first {
			close(g.held)
			<-g.open
		}
		return next(ctx, cmd)
	}
}

func (g *gate) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		scripts := 0
		for _, c := range cmds {
			if n := c.Name(); n == "evalsha" || n == "eval" {
				scripts++
			}
		}
		if scripts > 0 {
			g.pipelines.Add(1)
			g.piped.Add(int64(scripts))
		}
		return next(ctx, cmds)
	}
}

// echoScript counts a run per key and answers its argument.
var echoScript = goredis.NewScript(`redis.call('INCR', KEYS[1]) return ARGV[1]`)

func newBatchClient(t *testing.T) (goredis.UniversalClient, string) {
	t.Helper()
	srv := redistest.Start(t)
	opt, err := goredis.ParseURL(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	c := goredis.NewClient(opt)
	t.Cleanup(func() { _ = c.Close() })
	return c, srv.NewPrefix()
}

// waitQueued waits until n calls wait in b's queue.
func waitQueued(t *testing.T, b *batcher, n int) {
	t.Helper()
	for range 10000 {
		b.mu.Lock()
		got := len(b.queue)
		b.mu.Unlock()
		if got == n {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("never saw %d calls queued", n)
}

// heldBatch is a batcher with one turn, taken by a first call that the
// gate holds in flight until release, which waits for its answer.
type heldBatch struct {
	c      goredis.UniversalClient
	prefix string
	g      *gate
	b      *batcher
	first  chan error
}

func holdFirstBatch(t *testing.T) *heldBatch {
	t.Helper()
	c, prefix := newBatchClient(t)
	h := &heldBatch{c: c, prefix: prefix, g: newGate(), b: &batcher{c: c, turns: 1}, first: make(chan error, 1)}
	c.AddHook(h.g)
	go func() {
		got, err := h.b.run(context.Background(), echoScript, []string{prefix + ":first"}, "first").Text()
		if err == nil && got != "first" {
			err = fmt.Errorf("answered %q", got)
		}
		h.first <- err
	}()
	<-h.g.held
	return h
}

func (h *heldBatch) release(t *testing.T) {
	t.Helper()
	close(h.g.open)
	if err := <-h.first; err != nil {
		t.Errorf("the first call: %v", err)
	}
}

// runs is how many times the calls on key ran.
func (h *heldBatch) runs(t *testing.T, key string) int {
	t.Helper()
	n, err := h.c.Get(context.Background(), h.prefix+key).Int()
	if err != nil && !errors.Is(err, goredis.Nil) {
		t.Fatal(err)
	}
	return n
}

// TestBatchSendsTheQueueTogether: calls that arrive while a batch is in
// flight go together, as one pipeline, each with its own answer, each run
// once.
func TestBatchSendsTheQueueTogether(t *testing.T) {
	h := holdFirstBatch(t)
	ctx := context.Background()
	const queued = 12
	answers := make([]string, queued)
	errs := make([]error, queued)
	var wg sync.WaitGroup
	for i := range queued {
		wg.Go(func() {
			answers[i], errs[i] = h.b.run(ctx, echoScript, []string{fmt.Sprintf("%s:n:%d", h.prefix, i)}, "answer-"+strconv.Itoa(i)).Text()
		})
	}
	waitQueued(t, h.b, queued)
	h.release(t)
	wg.Wait()
	for i := range answers {
		if errs[i] != nil || answers[i] != "answer-"+strconv.Itoa(i) {
			t.Errorf("call %d: %q, %v", i, answers[i], errs[i])
		}
		if n := h.runs(t, fmt.Sprintf(":n:%d", i)); n != 1 {
			t.Errorf("call %d ran %d times", i, n)
		}
	}
	if p, n := h.g.pipelines.Load(), h.g.piped.Load(); p != 1 || n != queued {
		t.Errorf("%d pipelines of %d commands, want 1 of %d", p, n, queued)
	}
	if h.b.inFlight != 0 || len(h.b.queue) != 0 {
		t.Errorf("left %d in flight, %d queued", h.b.inFlight, len(h.b.queue))
	}
}

// TestBatchCancelledWhileQueued: a call whose context ends while it waits
// for a turn is taken out of the queue and never runs; the others do.
func TestBatchCancelledWhileQueued(t *testing.T) {
	h := holdFirstBatch(t)
	ctx := context.Background()
	cctx, cancel := context.WithCancel(ctx)
	gone := make(chan error, 1)
	go func() { gone <- h.b.run(cctx, echoScript, []string{h.prefix + ":cancelled"}, "x").Err() }()
	kept := make(chan error, 1)
	go func() { kept <- h.b.run(ctx, echoScript, []string{h.prefix + ":kept"}, "x").Err() }()
	waitQueued(t, h.b, 2)
	cancel()
	if err := <-gone; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled call: %v, want context.Canceled", err)
	}
	waitQueued(t, h.b, 1)
	h.release(t)
	if err := <-kept; err != nil {
		t.Errorf("kept call: %v", err)
	}
	if n := h.runs(t, ":cancelled"); n != 0 {
		t.Errorf("the cancelled call ran %d times", n)
	}
	if n := h.runs(t, ":kept"); n != 1 {
		t.Errorf("kept call ran %d times", n)
	}
}

// TestBatchLoadsScriptsRedisForgot: a batch of a script Redis does not
// have (never loaded, or forgotten by a restart or a failover) still runs
// every call, once.
func TestBatchLoadsScriptsRedisForgot(t *testing.T) {
	h := holdFirstBatch(t)
	ctx := context.Background()
	unseen := goredis.NewScript(`redis.call('INCR', KEYS[1]) return 'unseen'`)
	const queued = 5
	errs := make(chan error, queued)
	for i := range queued {
		go func() { errs <- h.b.run(ctx, unseen, []string{fmt.Sprintf("%s:f:%d", h.prefix, i)}).Err() }()
	}
	waitQueued(t, h.b, queued)
	h.release(t)
	for range queued {
		if err := <-errs; err != nil {
			t.Errorf("a script Redis did not have: %v", err)
		}
	}
	for i := range queued {
		if n := h.runs(t, fmt.Sprintf(":f:%d", i)); n != 1 {
			t.Errorf("call %d ran %d times", i, n)
		}
	}
	// One batch of EVALSHA, refused, then one of EVAL.
	if p, n := h.g.pipelines.Load(), h.g.piped.Load(); p != 2 || n != 2*queued {
		t.Errorf("%d pipelines of %d scripts, want 2 of %d", p, n, 2*queued)
	}
}

// TestBatchUnderLoad: many callers at once, with several batches in flight,
// each get their own answer and run once (run with -race).
func TestBatchUnderLoad(t *testing.T) {
	c, prefix := newBatchClient(t)
	ctx := context.Background()
	b := &batcher{c: c, turns: 3}
	const callers, each = 40, 25
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			for j := range each {
				want := fmt.Sprintf("%d/%d", i, j)
				got, err := b.run(ctx, echoScript, []string{prefix + ":load:" + want}, want).Text()
				if err != nil || got != want {
					t.Errorf("%s: %q, %v", want, got, err)
				}
			}
		})
	}
	wg.Wait()
	keys, err := c.Keys(ctx, prefix+":load:*").Result()
	if err != nil || len(keys) != callers*each {
		t.Fatalf("%d keys (%v), want %d", len(keys), err, callers*each)
	}
	if b.inFlight != 0 || len(b.queue) != 0 {
		t.Errorf("left %d in flight, %d queued", b.inFlight, len(b.queue))
	}
}

// TestBatchConnectionLost: when Redis is gone, every call in a batch says so.
func TestBatchConnectionLost(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	c := goredis.NewClient(&goredis.Options{Addr: addr, MaxRetries: -1, DialTimeout: 200 * time.Millisecond, DialerRetries: 1})
	defer c.Close()
	b := &batcher{c: c, turns: 1}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if err := b.run(context.Background(), echoScript, []string{"k"}, "x").Err(); err == nil {
				t.Error("no error with Redis gone")
			}
		})
	}
	wg.Wait()
}
