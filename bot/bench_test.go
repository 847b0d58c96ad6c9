package bot_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	redisstore "github.com/enlace-rfl/enlace/store/redis"
	"github.com/enlace-rfl/enlace/store/redis/redistest"
)

// BenchmarkPipelineRedis measures the whole pipeline on a real Redis: accept
// one inbound message, handle it (lock, session, engine, atomic commit) and
// deliver the reply, from BENCH_CONCURRENCY goroutines (8 by default, matching
// `redis-benchmark -c 8` in bench.sh). Each message comes from a new person at
// the language step, the most common first message.
func BenchmarkPipelineRedis(b *testing.B) {
	srv := redistest.Start(b)
	st, err := redisstore.Open(context.Background(), srv.URL, redisstore.Options{Prefix: srv.NewPrefix()})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	rec := newRecorder("sms")
	p := newPipeline(b, st, time.Now, rec)
	var n atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(benchConcurrency() / max(1, runtimeProcs()))
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			i := n.Add(1)
			m := msg(fmt.Sprintf("+52155%08d", i), fmt.Sprintf("SM%d", i), "hola")
			if _, err := p.Accept(ctx, m); err != nil {
				b.Error(err)
				return
			}
			if err := p.Drain(ctx); err != nil {
				b.Error(err)
				return
			}
		}
	})
	elapsed := time.Since(start)
	// A person another worker held is looked at again 100ms later: wait for it.
	for deadline := time.Now().Add(10 * time.Second); rec.count() < int(n.Load()) && time.Now().Before(deadline); {
		if err := p.Drain(context.Background()); err != nil {
			b.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := rec.count(); got != int(n.Load()) {
		b.Fatalf("delivered %d replies for %d messages", got, n.Load())
	}
	b.ReportMetric(float64(n.Load())/elapsed.Seconds(), "msg/s")
}

// BenchmarkRedisOneRoundTrip is the baseline BenchmarkPipelineRedis is read
// against (issue 13): one go-redis script call (EVALSHA, one round trip) per
// operation, from the same number of goroutines, on the same kind of server.
// The pipeline's msg/s over this one's op/s is the share of Redis's ceiling
// per round trip that a whole message reaches.
func BenchmarkRedisOneRoundTrip(b *testing.B) {
	srv := redistest.Start(b)
	st, err := redisstore.Open(context.Background(), srv.URL, redisstore.Options{Prefix: srv.NewPrefix()})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	script := goredis.NewScript(`redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2]) return 1`)
	key := srv.NewPrefix() + ":baseline"
	var n atomic.Int64
	b.SetParallelism(benchConcurrency() / max(1, runtimeProcs()))
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			i := n.Add(1)
			if err := script.Run(ctx, st.Client(), []string{key}, i, strconv.FormatInt(i, 10)).Err(); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(n.Load())/time.Since(start).Seconds(), "op/s")
}

// BenchmarkRedisMemoryPerPerson reports what Redis holds for an onboarded,
// idle person (issue 13: at most 1 KiB, dedupe marks included): b.N people
// each write "hola", choose Spanish and agree (three messages, three replies
// delivered), then the memory of every key under the store's prefix
// (MEMORY USAGE, the indexes shared by everyone included) is divided by the
// number of people. The same Redis serves nothing else under that prefix.
func BenchmarkRedisMemoryPerPerson(b *testing.B) {
	srv := redistest.Start(b)
	prefix := srv.NewPrefix()
	st, err := redisstore.Open(context.Background(), srv.URL, redisstore.Options{Prefix: prefix})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	clk := newClock()
	p := newPipeline(b, st, clk.Now, newRecorder("sms"))
	people := max(b.N, 200)
	for i := range people {
		from := fmt.Sprintf("+52155%08d", i)
		for j, text := range []string{"hola", "1", "1"} {
			if _, err := p.Accept(ctx, msg(from, fmt.Sprintf("SM%d-%d", i, j), text)); err != nil {
				b.Fatal(err)
			}
		}
		if i%50 == 49 {
			drain(b, p)
		}
	}
	drain(b, p)
	clk.Advance(time.Minute)
	drain(b, p)
	var total, keys int64
	iter := st.Client().Scan(ctx, 0, prefix+"*", 1000).Iterator()
	for iter.Next(ctx) {
		n, err := st.Client().MemoryUsage(ctx, iter.Val()).Result()
		if err != nil {
			b.Fatal(err)
		}
		total += n
		keys++
	}
	if err := iter.Err(); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(total)/float64(people), "bytes/person")
	b.ReportMetric(float64(keys)/float64(people), "keys/person")
}

// BenchmarkPipelineRedisRun is the pipeline as `enlace serve` runs it: its
// handling and lane workers (Run) on a real Redis, while BENCH_CONCURRENCY
// goroutines accept b.N messages from b.N new people as webhooks would. It
// reports messages a second from the first accept until the channel has
// every reply: what BenchmarkRedisOneRoundTrip's op/s is read against.
func BenchmarkPipelineRedisRun(b *testing.B) {
	srv := redistest.Start(b)
	st, err := redisstore.Open(context.Background(), srv.URL, redisstore.Options{Prefix: srv.NewPrefix()})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	rt := &roundTrips{}
	st.Client().AddHook(rt)
	rec := newRecorder("sms")
	cfg := testConfig
	cfg.Poll = 5 * time.Millisecond
	p := newPipelineWith(b, st, time.Now, cfg, rec)
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); p.Run(ctx) }()
	defer func() { stop(); <-done }()
	var n atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(benchConcurrency() / max(1, runtimeProcs()))
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			if _, err := p.Accept(ctx, msg(fmt.Sprintf("+52156%08d", i), fmt.Sprintf("SR%d", i), "hola")); err != nil {
				b.Error(err)
				return
			}
		}
	})
	// A failure timeout only: the figure is the time the replies took.
	for deadline := time.Now().Add(time.Minute); rec.count() < int(n.Load()) && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	elapsed := time.Since(start)
	if got := rec.count(); got != int(n.Load()) {
		b.Fatalf("delivered %d replies for %d messages", got, n.Load())
	}
	b.ReportMetric(float64(n.Load())/elapsed.Seconds(), "msg/s")
	b.ReportMetric(float64(rt.n.Load())/float64(n.Load()), "roundtrips/msg")
}

// BenchmarkRedisMemoryActivePerson reports what Redis holds for a person
// who wrote 500 messages within the dedupe window (48 h) and is then idle:
// bounded (bot.DedupeMarks), where it grew with every message before. 20
// people, memory of every key under the store's prefix divided by 20.
func BenchmarkRedisMemoryActivePerson(b *testing.B) {
	srv := redistest.Start(b)
	prefix := srv.NewPrefix()
	st, err := redisstore.Open(context.Background(), srv.URL, redisstore.Options{Prefix: prefix})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	clk := newClock()
	p := newPipeline(b, st, clk.Now, newRecorder("sms"))
	const people, messages = 20, 500
	for i := range people {
		from := fmt.Sprintf("+52157%08d", i)
		for j := range messages {
			text := "menu"
			if j < 3 {
				text = []string{"hola", "1", "1"}[j]
			}
			if _, err := p.Accept(ctx, msg(from, fmt.Sprintf("SA%d-%d", i, j), text)); err != nil {
				b.Fatal(err)
			}
			if j%20 == 19 {
				drain(b, p)
				clk.Advance(time.Second)
			}
		}
		drain(b, p)
	}
	clk.Advance(time.Minute)
	drain(b, p)
	var total int64
	iter := st.Client().Scan(ctx, 0, prefix+"*", 1000).Iterator()
	for iter.Next(ctx) {
		n, err := st.Client().MemoryUsage(ctx, iter.Val()).Result()
		if err != nil {
			b.Fatal(err)
		}
		total += n
		if os.Getenv("BENCH_MEMORY_KEYS") != "" {
			b.Logf("%6d %s", n, iter.Val())
		}
	}
	if err := iter.Err(); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(total)/people, "bytes/person")
}
