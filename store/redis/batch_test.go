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

// TestBatchSendsTheQueueTogether: calls that arrive while a batch is in
// flight go together, as one pipeline, each with its own answer, each run
// once.
func TestBatchSendsTheQueueTogether(t *testing.T) {
	c, prefix := newBatchClient(t)
	ctx := context.Background()
	if err := echoScript.Load(ctx, c).Err(); err != nil {
		t.Fatal(err)
	}
	g := newGate()
	c.AddHook(g)
	b := &batcher{c: c, turns: 1}
	const queued = 12
	answers := make([]string, queued+1)
	errs := make([]error, queued+1)
	var wg sync.WaitGroup
	call := func(i int) {
		defer wg.Done()
		answers[i], errs[i] = b.run(ctx, echoScript, []string{fmt.Sprintf("%s:n:%d", prefix, i)}, "answer-"+strconv.Itoa(i)).Text()
	}
	wg.Add(1)
	go call(0)
	<-g.held // the first batch, alone, is in flight
	for i := 1; i <= queued; i++ {
		wg.Add(1)
		go call(i)
	}
	waitQueued(t, b, queued)
	close(g.open)
	wg.Wait()
	for i := range answers {
		if errs[i] != nil || answers[i] != "answer-"+strconv.Itoa(i) {
			t.Errorf("call %d: %q, %v", i, answers[i], errs[i])
		}
		if n, err := c.Get(ctx, fmt.Sprintf("%s:n:%d", prefix, i)).Int(); err != nil || n != 1 {
			t.Errorf("call %d ran %d times (%v)", i, n, err)
		}
	}
	if p, n := g.pipelines.Load(), g.piped.Load(); p != 1 || n != queued {
		t.Errorf("%d pipelines of %d commands, want 1 of %d", p, n, queued)
	}
	if b.inFlight != 0 || len(b.queue) != 0 {
		t.Errorf("left %d in flight, %d queued", b.inFlight, len(b.queue))
	}
}

// TestBatchCancelledWhileQueued: a call whose context ends while it waits
// for a turn is taken out of the queue and never runs; the others do.
func TestBatchCancelledWhileQueued(t *testing.T) {
	c, prefix := newBatchClient(t)
	ctx := context.Background()
	g := newGate()
	c.AddHook(g)
	b := &batcher{c: c, turns: 1}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = b.run(ctx, echoScript, []string{prefix + ":first"}, "x").Err()
	}()
	<-g.held
	cctx, cancel := context.WithCancel(ctx)
	gone := make(chan error, 1)
	go func() { gone <- b.run(cctx, echoScript, []string{prefix + ":cancelled"}, "x").Err() }()
	kept := make(chan error, 1)
	go func() { kept <- b.run(ctx, echoScript, []string{prefix + ":kept"}, "x").Err() }()
	waitQueued(t, b, 2)
	cancel()
	if err := <-gone; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled call: %v, want context.Canceled", err)
	}
	waitQueued(t, b, 1)
	close(g.open)
	wg.Wait()
	if err := <-kept; err != nil {
		t.Errorf("kept call: %v", err)
	}
	if n, _ := c.Exists(ctx, prefix+":cancelled").Result(); n != 0 {
		t.Error("the cancelled call ran")
	}
	if n, _ := c.Get(ctx, prefix+":kept").Int(); n != 1 {
		t.Errorf("kept call ran %d times", n)
	}
}

// TestBatchLoadsScriptsRedisForgot: a batch of a script Redis does not
// have (never loaded, or forgotten by a restart or a failover) still runs
// every call, once.
func TestBatchLoadsScriptsRedisForgot(t *testing.T) {
	c, prefix := newBatchClient(t)
	ctx := context.Background()
	g := newGate()
	c.AddHook(g)
	b := &batcher{c: c, turns: 1}
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := b.run(ctx, echoScript, []string{prefix + ":first"}, "x").Err(); err != nil {
			t.Error(err)
		}
	})
	<-g.held
	unseen := goredis.NewScript(`redis.call('INCR', KEYS[1]) return 'unseen'`)
	const queued = 5
	errs := make(chan error, queued)
	for i := range queued {
		go func() { errs <- b.run(ctx, unseen, []string{fmt.Sprintf("%s:f:%d", prefix, i)}).Err() }()
	}
	waitQueued(t, b, queued)
	close(g.open)
	wg.Wait()
	for range queued {
		if err := <-errs; err != nil {
			t.Errorf("a script Redis did not have: %v", err)
		}
	}
	for i := range queued {
		if n, _ := c.Get(ctx, fmt.Sprintf("%s:f:%d", prefix, i)).Int(); n != 1 {
			t.Errorf("call %d ran %d times", i, n)
		}
	}
	// One batch of EVALSHA, refused, then one of EVAL.
	if p, n := g.pipelines.Load(), g.piped.Load(); p != 2 || n != 2*queued {
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
